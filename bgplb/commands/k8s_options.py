"""What `bgplb controller` and `bgplb speaker` share: their common flags and the kubeconfig lookup."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from lightkube.config.kubeconfig import KubeConfig
from lightkube.core.exceptions import ConfigError as KubeConfigError

from bgplb.runtime.k8s_config_source import ConfigSource
from bgplb.runtime.k8s_logs import LogFormat

LogFormatOption = Annotated[LogFormat, typer.Option("--log-format", help="text or json")]
LogLevelOption = Annotated[str, typer.Option("--log-level", help="debug, info, warning, error")]
ConfigSourceOption = Annotated[
    ConfigSource, typer.Option("--config-source", help="metallb or cilium resources")
]
LbClassOption = Annotated[
    str | None, typer.Option("--lb-class", help="only Services of this spec.loadBalancerClass")
]
CiliumSecretsOption = Annotated[
    str, typer.Option("--cilium-secrets-namespace", help="where Cilium keeps BGP password Secrets")
]
KubeconfigOption = Annotated[
    Path | None, typer.Option("--kubeconfig", help="kubeconfig file (default: in-cluster or ~/.kube)")
]


def load_kube_config(path: Path | None) -> KubeConfig:
    """The kubeconfig at `path`, else $KUBECONFIG / ~/.kube/config / the service account; exit 2 if none."""
    try:
        return KubeConfig.from_file(path) if path is not None else KubeConfig.from_env()
    except (KubeConfigError, OSError, ValueError) as exc:
        typer.echo(f"error: no usable kubeconfig: {exc}", err=True)
        raise typer.Exit(2) from None
