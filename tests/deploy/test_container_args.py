"""The daemons' container args in deploy/ (plain, with the Cilium component, and the rendered chart) are
parsed by the real `bgplb controller` / `bgplb speaker` parsers, so a flag cannot drift from the code."""

from __future__ import annotations

import re
from typing import Any

import pytest
import typer
from typer.main import get_command

from bgplb.cli import app
from tests.deploy.test_helm_chart import VARIANTS, find, rendered
from tests.deploy.test_manifests import cilium_patched_args, one

WORKLOADS = {"controller": ("Deployment", "bgplb-controller"), "speaker": ("DaemonSet", "bgplb-speaker")}
PLAIN = {"controller": "controller/deployment.yaml", "speaker": "speaker/daemonset.yaml"}
_ENV_REF = re.compile(r"\$\(([A-Z_][A-Z0-9_]*)\)")


def parse(args: list[str], env: dict[str, str]) -> tuple[str, dict[str, Any]]:
    """Run container args through the typer app's parser (no command is invoked): (command, parameters).

    `$(VAR)` is expanded as the kubelet does, from the container's env (which must define it)."""
    expanded = []
    for arg in args:
        for var in _ENV_REF.findall(arg):
            assert var in env, f"{arg} refers to ${var}, which the container's env does not define"
        expanded.append(_ENV_REF.sub(lambda m: env[m.group(1)], arg))
    name, rest = expanded[0], expanded[1:]
    command = get_command(app).commands[name]  # type: ignore[attr-defined]  # a TyperGroup
    with command.make_context(name, rest) as ctx:
        return name, dict(ctx.params)


def container_env(container: dict[str, Any]) -> dict[str, str]:
    """Sample values for the container's downward-API variables."""
    return {e["name"]: f"sample-{e['name'].lower().replace('_', '-')}" for e in container.get("env", [])}


def workload_args(obj: dict[str, Any]) -> tuple[list[str], dict[str, str]]:
    (container,) = obj["spec"]["template"]["spec"]["containers"]
    return list(container["args"]), container_env(container)


@pytest.mark.parametrize("daemon", WORKLOADS)
def test_plain_manifest_args_parse(daemon: str) -> None:
    kind, name = WORKLOADS[daemon]
    args, env = workload_args(one(kind, name, PLAIN[daemon]))
    command, params = parse(args, env)
    assert command == daemon
    assert params["config_source"].value == "metallb"
    assert params["namespace"] == env["POD_NAMESPACE"]
    if daemon == "speaker":
        assert params["node"] == env["NODE_NAME"]
    else:
        assert params["leader_elect"] is True


@pytest.mark.parametrize("daemon", WORKLOADS)
def test_cilium_component_args_parse(daemon: str) -> None:
    kind, name = WORKLOADS[daemon]
    _, env = workload_args(one(kind, name, PLAIN[daemon]))
    _, params = parse(cilium_patched_args(kind), env)
    assert params["config_source"].value == "cilium"
    assert params["cilium_secrets_namespace"] == "kube-system"


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("daemon", WORKLOADS)
def test_rendered_chart_args_parse(variant: str, daemon: str) -> None:
    kind, name = WORKLOADS[daemon]
    args, env = workload_args(find(rendered(variant), kind, name))
    command, params = parse(args, env)
    assert command == daemon
    values = VARIANTS[variant]
    assert params["config_source"].value == values.get("configSource", "metallb")
    if values.get("configSource") == "cilium":
        assert params["cilium_secrets_namespace"] == values["cilium"]["secretsNamespace"]
    else:
        assert not any(a.startswith("--cilium-secrets-namespace") for a in args)
    assert params["lb_class"] == (values.get("loadBalancerClass") or None)
    if daemon == "speaker":
        listen = values.get("speaker", {}).get("bgpListen", False)
        assert params["bgp_listen_port"] == (179 if listen else 0)


def test_a_flag_the_command_lacks_is_refused() -> None:
    env = {"POD_NAMESPACE": "ns"}
    assert parse(["controller", "--namespace=$(POD_NAMESPACE)"], env)[1]["namespace"] == "ns"
    with pytest.raises(Exception, match="No such option: --bgp-listen-port"):
        parse(["controller", "--namespace=$(POD_NAMESPACE)", "--bgp-listen-port=179"], env)
    with pytest.raises(typer.BadParameter):
        parse(["speaker", "--node=n", "--config-source=calico"], env)
    with pytest.raises(AssertionError, match="NODE_NAME"):
        parse(["speaker", "--node=$(NODE_NAME)"], env)
