"""deploy/helm/bgplb: the chart passes `helm lint --strict` and, rendered by real Helm (`helm template`,
tests/deploy/k8s_tools.py), produces valid Kubernetes objects that match the plain manifests; each value does
what values.yaml says."""

from __future__ import annotations

import copy
import functools
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.deploy.k8s_tools import Release, helm, render, render_notes
from tests.deploy.test_manifests import (
    DEPLOY,
    K8S_VERSIONS,
    assert_locked_down,
    assert_probes,
    objects,
)

CHART = DEPLOY / "helm" / "bgplb"
VARIANTS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "cilium": {"configSource": "cilium", "cilium": {"secretsNamespace": "cilium-secrets"}},
    "no-crds": {"crds": {"install": False}},
    "bgp-listen": {"speaker": {"bgpListen": True}},
    "layer2": {"speaker": {"layer2": True}},
    "everything": {
        "loadBalancerClass": "example.com/lb",
        "logFormat": "json",
        "metrics": {"enabled": False},
        "imagePullSecrets": [{"name": "regcred"}],
        "image": {"repository": "registry.example/bgplb", "tag": "9.9.9", "pullPolicy": "Always"},
        "controller": {
            "replicas": 2,
            "nodeSelector": {"role": "infra"},
            "tolerations": [{"operator": "Exists"}],
        },
        "speaker": {
            "httpPort": 9473,
            "nodeSelector": {"kubernetes.io/os": None},  # null removes a default, as in Helm
            "tolerations": [],
            "bgpListen": True,
            "layer2": True,
        },
    },
}
RELEASE = Release(name="lb", namespace="metallb-system")


@functools.cache
def _rendered(variant: str) -> tuple[dict[str, Any], ...]:
    return tuple(render(CHART, VARIANTS[variant], RELEASE))


def rendered(variant: str) -> list[dict[str, Any]]:
    """The chart rendered with one of VARIANTS (a fresh copy each time)."""
    return copy.deepcopy(list(_rendered(variant)))


def find(objs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    (obj,) = [o for o in objs if o["kind"] == kind and o["metadata"]["name"] == name]
    return obj


def pod(objs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    return dict(find(objs, kind, name)["spec"]["template"]["spec"])


@pytest.mark.parametrize("variant", VARIANTS)
def test_rendered_objects_are_valid(variant: str) -> None:
    objs = rendered(variant)
    assert objs
    for obj in objs:
        for version in K8S_VERSIONS:
            kubernetes_validate.validate(obj, version, strict=True)


def _identity(obj: dict[str, Any]) -> tuple[str, str, str]:
    return obj["kind"], obj["metadata"]["name"], obj["metadata"].get("namespace", "")


def _strip_labels(obj: dict[str, Any]) -> dict[str, Any]:
    out = yaml.safe_load(yaml.safe_dump(obj))
    out["metadata"].pop("labels", None)
    template = out.get("spec", {}).get("template", {}).get("metadata")
    if template:
        template.pop("labels", None)
        template.pop("annotations", None)
    return dict(out)


BASE = [
    "namespace.yaml",
    *(f"crds/{p.name}" for p in sorted((DEPLOY / "crds").glob("*.yaml"))),
    "rbac/controller.yaml",
    "rbac/speaker.yaml",
    "controller/deployment.yaml",
    "speaker/daemonset.yaml",
]


def test_defaults_match_the_plain_manifests() -> None:
    """Same objects, same specs (labels aside); the Namespace is left to `helm install --create-namespace`."""
    chart = {_identity(o): _strip_labels(o) for o in rendered("defaults")}
    plain = {_identity(o): _strip_labels(o) for o in objects(*BASE) if o["kind"] != "Namespace"}
    assert chart.keys() == plain.keys()
    for key, obj in plain.items():
        assert chart[key] == obj, key


def test_cilium_source_matches_the_cilium_component() -> None:
    objs = rendered("cilium")
    for kind, name in (("Deployment", "bgplb-controller"), ("DaemonSet", "bgplb-speaker")):
        assert "--config-source=cilium" in pod(objs, kind, name)["containers"][0]["args"]
    plain = {_identity(o): _strip_labels(o) for o in objects("cilium/rbac.yaml")}
    for (kind, name, namespace), obj in plain.items():
        expected_namespace = "cilium-secrets" if namespace == "kube-system" else namespace
        chart_obj = _strip_labels(find(objs, kind, name))
        assert chart_obj["metadata"].get("namespace", "") == expected_namespace
        assert chart_obj.get("rules") == obj.get("rules")
        assert chart_obj.get("subjects") == obj.get("subjects")
    assert not [o for o in rendered("defaults") if "cilium" in o["metadata"]["name"]]


def test_crd_toggle() -> None:
    def crds(variant: str) -> set[str]:
        return {o["metadata"]["name"] for o in rendered(variant) if o["kind"] == "CustomResourceDefinition"}

    assert crds("no-crds") == set()
    assert crds("defaults") == {
        o["metadata"]["name"] for o in objects(*BASE) if o["kind"] == "CustomResourceDefinition"
    }


def test_speaker_capabilities_follow_the_values() -> None:
    assert_locked_down(pod(rendered("defaults"), "DaemonSet", "bgplb-speaker"))
    listen = pod(rendered("bgp-listen"), "DaemonSet", "bgplb-speaker")
    assert_locked_down(listen, {"NET_BIND_SERVICE"})
    assert listen["securityContext"]["runAsUser"] == 0  # capabilities are effective for root only
    assert "--bgp-listen-port=179" in listen["containers"][0]["args"]
    layer2 = pod(rendered("layer2"), "DaemonSet", "bgplb-speaker")
    assert_locked_down(layer2, {"NET_RAW"})
    assert_locked_down(
        pod(rendered("everything"), "DaemonSet", "bgplb-speaker"), {"NET_RAW", "NET_BIND_SERVICE"}
    )
    for variant in VARIANTS:
        assert_locked_down(pod(rendered(variant), "Deployment", "bgplb-controller"))


def test_values_reach_the_workloads() -> None:
    objs = rendered("everything")
    controller = find(objs, "Deployment", "bgplb-controller")
    speaker = pod(objs, "DaemonSet", "bgplb-speaker")
    ctl = controller["spec"]["template"]["spec"]
    assert controller["spec"]["replicas"] == 2
    # maps merge with the defaults, as in Helm
    assert ctl["nodeSelector"] == {"kubernetes.io/os": "linux", "role": "infra"}
    assert ctl["tolerations"] == [{"operator": "Exists"}]
    assert "nodeSelector" not in speaker and "tolerations" not in speaker
    for spec in (ctl, speaker):
        (container,) = spec["containers"]
        assert container["image"] == "registry.example/bgplb:9.9.9"
        assert container["imagePullPolicy"] == "Always"
        assert "--lb-class=example.com/lb" in container["args"]
        assert "--log-format=json" in container["args"]
        assert spec["imagePullSecrets"] == [{"name": "regcred"}]
        assert_probes(container)
    assert speaker["containers"][0]["ports"][0]["containerPort"] == 9473
    assert "--http-port=9473" in speaker["containers"][0]["args"]
    assert "annotations" not in controller["spec"]["template"]["metadata"]


def test_metrics_annotations() -> None:
    speaker = find(rendered("defaults"), "DaemonSet", "bgplb-speaker")
    annotations = speaker["spec"]["template"]["metadata"]["annotations"]
    assert annotations == {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": "7473",
        "prometheus.io/path": "/metrics",
    }


def test_release_namespace_is_used() -> None:
    objs = render(CHART, {}, Release(name="x", namespace="lb-system"))
    namespaced = [
        o for o in objs if o["kind"] not in ("ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition")
    ]
    assert {o["metadata"]["namespace"] for o in namespaced} == {"lb-system"}
    subjects = {s["namespace"] for o in objs if "Binding" in o["kind"] for s in o["subjects"]}
    assert subjects == {"lb-system"}


def test_notes_render() -> None:
    text = render_notes(CHART, RELEASE)
    assert "namespace metallb-system" in text and "{{" not in text


@pytest.mark.parametrize("variant", VARIANTS)
def test_helm_lint_strict(variant: str) -> None:
    out = helm("lint", "--strict", str(CHART), "--namespace", RELEASE.namespace, values=VARIANTS[variant])
    assert "1 chart(s) linted, 0 chart(s) failed" in out


def test_chart_files_crds_is_the_deploy_crds_directory() -> None:
    assert (CHART / "files" / "crds").resolve() == (DEPLOY / "crds").resolve()
    assert yaml.safe_load((CHART / "Chart.yaml").read_text())["apiVersion"] == "v2"


def _value_paths(values: Any, prefix: str = "") -> list[str]:
    """Dotted paths of values.yaml's leaves; maps and lists handed to toYaml count as leaves."""
    if isinstance(values, dict) and values and prefix not in TOYAML_VALUES:
        return [
            p for key, value in values.items() for p in _value_paths(value, f"{prefix}.{key}".lstrip("."))
        ]
    return [prefix]


TOYAML_VALUES = {
    "imagePullSecrets",
    "controller.nodeSelector",
    "controller.tolerations",
    "controller.resources",
    "speaker.nodeSelector",
    "speaker.tolerations",
    "speaker.resources",
}


def test_every_value_is_used_and_documented() -> None:
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    templates = "".join(p.read_text() for p in sorted((CHART / "templates").iterdir()))
    docs = (DEPLOY.parent / "docs" / "install-kubernetes.md").read_text()
    for path in _value_paths(values):
        assert f".Values.{path} " in templates or f".Values.{path} |" in templates, path
        assert f"`{path}`" in docs, path
