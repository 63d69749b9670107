"""`bgplb controller`: the Kubernetes controller (the Deployment's container command).

Flags as deploy/controller/deployment.yaml and the Helm chart pass them; the replica's identity for leader
election is $POD_NAME (downward API), else the host name. The API server is found with `--kubeconfig`, else
$KUBECONFIG / ~/.kube/config, else the Pod's service account (in-cluster). Exit codes: 0 after
SIGTERM/SIGINT, 1 when a supervised task failed, 2 for bad arguments or no usable kubeconfig.
"""

from __future__ import annotations

import asyncio
import os
import socket
from typing import Annotated

import typer
from lightkube import AsyncClient
from lightkube.config.kubeconfig import KubeConfig

from bgplb.commands.k8s_options import (
    CiliumSecretsOption,
    ConfigSourceOption,
    KubeconfigOption,
    LbClassOption,
    LogFormatOption,
    LogLevelOption,
    load_kube_config,
)
from bgplb.runtime.k8s_config_source import ConfigSource
from bgplb.runtime.k8s_controller import DEFAULT_HTTP_PORT, ControllerOptions, K8sController
from bgplb.runtime.k8s_logs import LogFormat, configure


def controller(
    *,
    namespace: Annotated[
        str, typer.Option("--namespace", help="bgplb's namespace: configuration, Lease, status objects")
    ] = "metallb-system",
    leader_elect: Annotated[
        bool, typer.Option("--leader-elect/--no-leader-elect", help="allocate only while holding the Lease")
    ] = True,
    lease_name: Annotated[
        str, typer.Option("--lease-name", help="the leader-election Lease")
    ] = "bgplb-controller",
    http_port: Annotated[
        int, typer.Option("--http-port", help="port of /metrics, /healthz and /readyz")
    ] = DEFAULT_HTTP_PORT,
    log_format: LogFormatOption = LogFormat.TEXT,
    log_level: LogLevelOption = "info",
    config_source: ConfigSourceOption = ConfigSource.METALLB,
    lb_class: LbClassOption = None,
    cilium_secrets_namespace: CiliumSecretsOption = "kube-system",
    ip_mode: Annotated[
        bool, typer.Option("--ip-mode/--no-ip-mode", help="write ingress ipMode: VIP (Kubernetes 1.29+)")
    ] = True,
    resync: Annotated[float, typer.Option("--resync", help="seconds between full reconcile passes")] = 300.0,
    kubeconfig: KubeconfigOption = None,
) -> None:
    """Give LoadBalancer Services their addresses, configured from the cluster, until SIGTERM."""
    if not 0 < http_port < 65536 or resync <= 0:
        typer.echo("error: --http-port or --resync out of range", err=True)
        raise typer.Exit(2)
    config = load_kube_config(kubeconfig)
    configure(log_format, log_level)
    options = ControllerOptions(
        identity=os.environ.get("POD_NAME") or socket.gethostname(),
        namespace=namespace,
        leader_elect=leader_elect,
        lease_name=lease_name,
        http_port=http_port,
        config_source=config_source,
        lb_class=lb_class or None,
        cilium_secrets_namespace=cilium_secrets_namespace,
        ip_mode=ip_mode,
        resync=resync,
    )
    raise typer.Exit(asyncio.run(_main(config, options)))


async def _main(config: KubeConfig, options: ControllerOptions) -> int:
    client = AsyncClient(config=config, field_manager="bgplb-controller")
    try:
        return await K8sController(client, options).run()
    finally:
        await client.close()
