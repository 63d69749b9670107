"""The kustomizations built by real kustomize (v4.5.4, tests/deploy/k8s_tools.py): the base `deploy/` and the
base with the Cilium component, as a user's overlay (seed 002: Argo CD points at a kustomization) would.

The output must be what the user gets: every object valid against the Kubernetes OpenAPI schemas (strict),
everything in the namespace the kustomization sets (except cluster-scoped kinds), the image rewritten by the
`images` entry, and with the component: both daemons started with `--config-source=cilium` and Cilium's
secrets namespace, plus the Cilium RBAC."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.deploy.k8s_tools import kustomize
from tests.deploy.test_manifests import DEPLOY, K8S_VERSIONS, NAMESPACE, manifest_files

CLUSTER_SCOPED = {"Namespace", "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding"}


def overlay(tmp_path: Path, *, cilium: bool) -> Path:
    """A user's kustomization that takes bgplb's base (and the Cilium component) by relative path."""
    root = tmp_path / "overlay"
    root.mkdir()
    (root / "bgplb").symlink_to(DEPLOY, target_is_directory=True)
    body: dict[str, Any] = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": ["bgplb"],
    }
    if cilium:
        body["components"] = ["bgplb/cilium"]
    (root / "kustomization.yaml").write_text(yaml.safe_dump(body))
    return root


def args_of(objs: list[dict[str, Any]], kind: str) -> list[str]:
    (workload,) = [o for o in objs if o["kind"] == kind]
    (container,) = workload["spec"]["template"]["spec"]["containers"]
    return list(container["args"])


@pytest.fixture(scope="module")
def base() -> list[dict[str, Any]]:
    return kustomize(DEPLOY)


def test_the_base_builds_every_plain_manifest(base: list[dict[str, Any]]) -> None:
    plain = {
        (obj["kind"], obj["metadata"]["name"])
        for path in manifest_files()
        if path.parent.name != "cilium"
        for obj in yaml.safe_load_all(path.read_text())
        if obj
    }
    assert {(obj["kind"], obj["metadata"]["name"]) for obj in base} == plain


@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_the_built_objects_are_valid(base: list[dict[str, Any]], version: str) -> None:
    for obj in base:
        kubernetes_validate.validate(obj, version, strict=True)


def test_namespaced_objects_land_in_the_namespace(base: list[dict[str, Any]]) -> None:
    for obj in base:
        if obj["kind"] not in CLUSTER_SCOPED:
            assert obj["metadata"]["namespace"] == NAMESPACE, obj["metadata"]["name"]
    subjects = [s for o in base if o["kind"].endswith("Binding") for s in o["subjects"]]
    assert subjects and all(s["namespace"] == NAMESPACE for s in subjects)


def test_the_images_entry_sets_the_image(base: list[dict[str, Any]]) -> None:
    wanted = yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())["images"][0]
    for obj in base:
        if obj["kind"] in ("Deployment", "DaemonSet"):
            (container,) = obj["spec"]["template"]["spec"]["containers"]
            assert container["image"] == f"{wanted['newName']}:{wanted['newTag']}"


def test_a_users_overlay_of_the_base_equals_the_base(tmp_path: Path, base: list[dict[str, Any]]) -> None:
    assert kustomize(overlay(tmp_path, cilium=False)) == base


def test_the_cilium_component_switches_both_daemons(tmp_path: Path, base: list[dict[str, Any]]) -> None:
    built = kustomize(overlay(tmp_path, cilium=True))
    for kind in ("Deployment", "DaemonSet"):
        before, after = args_of(base, kind), args_of(built, kind)
        assert "--config-source=metallb" in before and "--config-source=metallb" not in after
        assert "--config-source=cilium" in after
        assert "--cilium-secrets-namespace=kube-system" in after
        assert len(after) == len(before) + 1
    added = {(o["kind"], o["metadata"]["name"]) for o in built} - {
        (o["kind"], o["metadata"]["name"]) for o in base
    }
    assert {kind for kind, _ in added} >= {"ClusterRole", "ClusterRoleBinding"}
    for obj in built:
        kubernetes_validate.validate(obj, K8S_VERSIONS[-1], strict=True)
