"""`bgplb speaker --node NAME`: the Kubernetes speaker of one node (the DaemonSet's container command).

Flags as deploy/speaker/daemonset.yaml and the Helm chart pass them. The API server is found with
`--kubeconfig`, else $KUBECONFIG / ~/.kube/config, else the Pod's service account (in-cluster). Exit codes:
0 after SIGTERM/SIGINT, 1 when a supervised task failed, 2 for bad arguments or no usable kubeconfig.
See docs/install-kubernetes.md ("How the speaker works").
"""

from __future__ import annotations

import asyncio
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
from bgplb.runtime.k8s_logs import LogFormat, configure
from bgplb.runtime.k8s_speaker import DEFAULT_HTTP_PORT, K8sSpeaker, SpeakerOptions
from bgplb.runtime.speaker import parse_router_id


def speaker(
    *,
    node: Annotated[str, typer.Option("--node", "-n", help="this node's name (downward API spec.nodeName)")],
    namespace: Annotated[
        str, typer.Option("--namespace", help="bgplb's namespace: configuration and status objects")
    ] = "metallb-system",
    http_port: Annotated[
        int, typer.Option("--http-port", help="port of /metrics, /healthz, /readyz and /status")
    ] = DEFAULT_HTTP_PORT,
    log_format: LogFormatOption = LogFormat.TEXT,
    log_level: LogLevelOption = "info",
    config_source: ConfigSourceOption = ConfigSource.METALLB,
    lb_class: LbClassOption = None,
    bgp_listen_port: Annotated[
        int, typer.Option("--bgp-listen-port", help="also accept BGP connections on this port (0: dial only)")
    ] = 0,
    cilium_secrets_namespace: CiliumSecretsOption = "kube-system",
    resync: Annotated[float, typer.Option("--resync", help="seconds between full reconcile passes")] = 30.0,
    router_id: Annotated[str | None, typer.Option("--router-id", help="BGP identifier A.B.C.D")] = None,
    kubeconfig: KubeconfigOption = None,
) -> None:
    """Announce this node's LoadBalancer addresses over BGP, configured from the cluster, until SIGTERM."""
    if not node:
        typer.echo("error: --node is empty (set it from the downward API: spec.nodeName)", err=True)
        raise typer.Exit(2)
    if not 0 < http_port < 65536 or not 0 <= bgp_listen_port < 65536 or resync <= 0:
        typer.echo("error: --http-port, --bgp-listen-port or --resync out of range", err=True)
        raise typer.Exit(2)
    try:
        rid = parse_router_id(router_id)
    except ValueError as exc:
        typer.echo(f"error: --router-id: {exc}", err=True)
        raise typer.Exit(2) from None
    config = load_kube_config(kubeconfig)
    configure(log_format, log_level)
    options = SpeakerOptions(
        node=node,
        namespace=namespace,
        http_port=http_port,
        config_source=config_source,
        lb_class=lb_class or None,
        cilium_secrets_namespace=cilium_secrets_namespace,
        resync=resync,
        router_id=rid,
        bgp_listen_port=bgp_listen_port,
    )
    raise typer.Exit(asyncio.run(_main(config, options)))


async def _main(config: KubeConfig, options: SpeakerOptions) -> int:
    client = AsyncClient(config=config)
    try:
        return await K8sSpeaker(client, options).run()
    finally:
        await client.close()
