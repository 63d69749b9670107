"""deploy/: every plain manifest is a valid Kubernetes object (kubernetes-validate, strict), the
kustomizations list them all, and the workloads and RBAC keep the promised security properties."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
# Oldest Kubernetes the manifests support (CEL validation rules on by default from 1.25; 1.29 made them GA)
# and the newest kubernetes-validate knows.
K8S_VERSIONS = ["1.29", kubernetes_validate.utils.latest_version()]
NAMESPACE = "metallb-system"


def manifest_files() -> list[Path]:
    """Every YAML under deploy/ except the Helm chart (rendered in test_helm_chart) and kustomizations."""
    files = []
    for path in sorted(DEPLOY.rglob("*.yaml")):
        rel = path.relative_to(DEPLOY)
        if rel.parts[0] == "helm" or path.name == "kustomization.yaml":
            continue
        files.append(path)
    return files


def load(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def objects(*rel: str) -> list[dict[str, Any]]:
    return [obj for name in rel for obj in load(DEPLOY / name)]


def one(kind: str, name: str, *rel: str) -> dict[str, Any]:
    (obj,) = [o for o in objects(*rel) if o["kind"] == kind and o["metadata"]["name"] == name]
    return obj


FILES = manifest_files()
ALL = [
    (f"{path.relative_to(DEPLOY)}:{obj['kind']}/{obj['metadata']['name']}", obj)
    for path in FILES
    for obj in load(path)
]


def test_the_manifests_are_all_there() -> None:
    kinds = sorted({obj["kind"] for _, obj in ALL})
    assert kinds == [
        "ClusterRole",
        "ClusterRoleBinding",
        "CustomResourceDefinition",
        "DaemonSet",
        "Deployment",
        "Namespace",
        "Role",
        "RoleBinding",
        "ServiceAccount",
    ]


@pytest.mark.parametrize("version", K8S_VERSIONS)
@pytest.mark.parametrize(("name", "obj"), ALL, ids=[name for name, _ in ALL])
def test_valid_against_kubernetes_openapi(name: str, obj: dict[str, Any], version: str) -> None:
    kubernetes_validate.validate(obj, version, strict=True)


def test_the_validator_rejects_a_misspelt_field() -> None:
    deployment = one("Deployment", "bgplb-controller", "controller/deployment.yaml")
    deployment["spec"]["template"]["spec"]["containers"][0]["securityContext"]["readOnlyRootFS"] = True
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, K8S_VERSIONS[0], strict=True)


def _kustomization(rel: str) -> dict[str, Any]:
    return dict(yaml.safe_load((DEPLOY / rel / "kustomization.yaml").read_text()))


def test_kustomizations_list_every_manifest() -> None:
    base = _kustomization(".")
    cilium = _kustomization("cilium")
    assert base["kind"] == "Kustomization" and base["namespace"] == NAMESPACE
    assert cilium["kind"] == "Component"
    listed = [DEPLOY / r for r in base["resources"]] + [DEPLOY / "cilium" / r for r in cilium["resources"]]
    assert all(path.is_file() for path in listed)
    assert sorted(listed) == FILES


def _args(kind: str, name: str, rel: str) -> list[str]:
    return list(one(kind, name, rel)["spec"]["template"]["spec"]["containers"][0]["args"])


def cilium_patched_args(kind: str) -> list[str]:
    """The container args of the Deployment or DaemonSet after the deploy/cilium component's JSON patches."""
    targets = {
        "Deployment": ("bgplb-controller", "controller/deployment.yaml"),
        "DaemonSet": ("bgplb-speaker", "speaker/daemonset.yaml"),
    }
    name, rel = targets[kind]
    args = _args(kind, name, rel)
    (entry,) = [e for e in _kustomization("cilium")["patches"] if e["target"]["kind"] == kind]
    assert entry["target"]["name"] == name
    prefix = "/spec/template/spec/containers/0/args/"
    for op in yaml.safe_load(entry["patch"]):
        assert op["path"].startswith(prefix), op
        index = op["path"].removeprefix(prefix)
        if op["op"] == "replace":
            args[int(index)] = op["value"]
        else:
            assert op == {"op": "add", "path": f"{prefix}-", "value": op["value"]}
            args.append(op["value"])
    return args


def test_cilium_component_patches_the_config_source_arguments() -> None:
    """Both daemons read Cilium's resources and watch BGP password Secrets in Cilium's namespace (the one
    rbac.yaml lets them read)."""
    (secrets_role,) = [o for o in objects("cilium/rbac.yaml") if o["kind"] == "Role"]
    for kind, base in (("Deployment", "controller/deployment.yaml"), ("DaemonSet", "speaker/daemonset.yaml")):
        args = cilium_patched_args(kind)
        (plain,) = [o for o in objects(base) if o["kind"] == kind]
        before = plain["spec"]["template"]["spec"]["containers"][0]["args"]
        assert "--config-source=metallb" in before and "--config-source=metallb" not in args
        assert [a for a in args if a not in before] == [
            "--config-source=cilium",
            f"--cilium-secrets-namespace={secrets_role['metadata']['namespace']}",
        ]


def _pod(kind: str, name: str, rel: str) -> dict[str, Any]:
    return dict(one(kind, name, rel)["spec"]["template"]["spec"])


def _env(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e["valueFrom"]["fieldRef"]["fieldPath"] for e in container["env"]}


def assert_locked_down(pod: dict[str, Any], added: Collection[str] = ()) -> None:
    """Non-root unless a capability is added; read-only root, no escalation, ALL dropped, only `added` in."""
    (container,) = pod["containers"]
    sc = container["securityContext"]
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["capabilities"]["drop"] == ["ALL"]
    assert set(sc["capabilities"].get("add", [])) == set(added)
    assert "privileged" not in sc
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    if not added:
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] != 0


def assert_probes(container: dict[str, Any]) -> None:
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert [p["name"] for p in container["ports"]] == ["http"]


def test_controller_deployment() -> None:
    pod = _pod("Deployment", "bgplb-controller", "controller/deployment.yaml")
    assert_locked_down(pod)
    (container,) = pod["containers"]
    assert container["args"][0] == "controller"
    assert "--leader-elect" in container["args"]
    assert _env(container)["POD_NAMESPACE"] == "metadata.namespace"
    assert_probes(container)
    assert pod["serviceAccountName"] == "bgplb-controller"
    assert not pod.get("hostNetwork")


def test_speaker_daemonset() -> None:
    pod = _pod("DaemonSet", "bgplb-speaker", "speaker/daemonset.yaml")
    assert_locked_down(pod)  # BGP from an unprivileged port: no capability at all
    (container,) = pod["containers"]
    assert container["args"][:2] == ["speaker", "--node=$(NODE_NAME)"]
    assert _env(container)["NODE_NAME"] == "spec.nodeName"
    assert_probes(container)
    assert pod["hostNetwork"] is True and pod["dnsPolicy"] == "ClusterFirstWithHostNet"
    tolerated = {t["key"] for t in pod["tolerations"]}
    assert "node-role.kubernetes.io/control-plane" in tolerated
    assert pod["serviceAccountName"] == "bgplb-speaker"


def test_namespace_allows_host_network() -> None:
    namespace = one("Namespace", NAMESPACE, "namespace.yaml")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "privileged"


def rules(*objs: dict[str, Any]) -> Iterator[tuple[str, str, str]]:
    """(apiGroup, resource, verb) triples granted by the roles."""
    for obj in objs:
        for rule in obj["rules"]:
            for group in rule["apiGroups"]:
                for resource in rule["resources"]:
                    for verb in rule["verbs"]:
                        yield group, resource, verb


READ = {"get", "list", "watch"}


def _writes(grants: set[tuple[str, str, str]]) -> set[tuple[str, str]]:
    return {(group, resource) for group, resource, verb in grants if verb not in READ}


def _grants(component: str) -> tuple[set[tuple[str, str, str]], set[tuple[str, str, str]]]:
    rel = f"rbac/{component}.yaml"
    name = f"bgplb-{component}"
    return set(rules(one("ClusterRole", name, rel))), set(rules(one("Role", name, rel)))


def test_no_wildcards_and_secrets_read_only_in_two_namespaces_never_cluster_wide() -> None:
    """Secrets: get/list/watch (each named Secret is watched with a metadata.name field selector) only
    through Roles in the configuration namespace and Cilium's secrets namespace."""
    secret_roles: dict[tuple[str, str], set[str]] = {}
    for _, obj in ALL:
        if obj["kind"] in ("ClusterRole", "Role"):
            for group, resource, verb in rules(obj):
                assert "*" not in (group, resource, verb), obj["metadata"]["name"]
                if resource == "secrets":
                    assert obj["kind"] == "Role", obj["metadata"]["name"]
                    key = (obj["metadata"]["namespace"], obj["metadata"]["name"])
                    secret_roles.setdefault(key, set()).add(verb)
    assert secret_roles == {
        ("metallb-system", "bgplb-controller"): READ,
        ("metallb-system", "bgplb-speaker"): READ,
        ("kube-system", "bgplb-cilium-secrets"): READ,
    }


def test_speaker_is_read_only_except_events_and_its_status_objects() -> None:
    cluster, namespaced = _grants("speaker")
    assert _writes(cluster) == {("", "events"), ("events.k8s.io", "events")}
    assert _writes(namespaced) == {
        ("bgplb.io", "servicebgpstatuses"),
        ("bgplb.io", "servicebgpstatuses/status"),
        ("bgplb.io", "configurationstates"),
        ("bgplb.io", "configurationstates/status"),
    }
    assert ("discovery.k8s.io", "endpointslices", "watch") in cluster
    assert ("", "nodes", "watch") in cluster
    assert ("metallb.io", "bgppeers", "watch") in namespaced
    assert ("", "configmaps", "watch") in namespaced


def test_controller_writes_service_status_events_leases_and_status_only() -> None:
    cluster, namespaced = _grants("controller")
    assert _writes(cluster) == {
        ("", "services/status"),
        ("", "services"),  # the metallb.io/ip-allocated-from-pool annotation (a merge patch)
        ("", "events"),
        ("events.k8s.io", "events"),
    }
    # on the Service itself only `patch` (the annotation): no update, create or delete
    assert {verb for group, resource, verb in cluster if (group, resource) == ("", "services")} == {
        *READ,
        "patch",
    }
    assert _writes(namespaced) == {
        ("metallb.io", "ipaddresspools/status"),
        ("coordination.k8s.io", "leases"),
        ("bgplb.io", "configurationstates"),
        ("bgplb.io", "configurationstates/status"),
    }


def test_bindings_point_at_the_service_accounts() -> None:
    for _, obj in ALL:
        if obj["kind"] in ("ClusterRoleBinding", "RoleBinding"):
            for subject in obj["subjects"]:
                assert subject["kind"] == "ServiceAccount"
                assert subject["name"] in ("bgplb-controller", "bgplb-speaker")
                assert subject["namespace"] == NAMESPACE
