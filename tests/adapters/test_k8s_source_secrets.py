"""K8sSource's Secrets, watched one by one by name, against the API-server double over real HTTP."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

from bgplb.adapters.k8s_source import K8sSource
from bgplb.adapters.k8s_watch import RestartReason
from bgplb.config.build import build_config
from tests.adapters.test_k8s_source import NS, fast_source, peer, secret, service
from tests.k8s_double.helpers import background, eventually, serving
from tests.k8s_double.server import ApiServerDouble
from tests.k8s_double.store import KIND_BY_PATH

SECRETS = KIND_BY_PATH[("", "secrets")]
PEERS = KIND_BY_PATH[("metallb.io", "bgppeers")]


def rotate(api: ApiServerDouble, name: str, password: bytes) -> None:
    api.store.patch(SECRETS, NS, name, {"data": {"password": base64.b64encode(password).decode()}})


def secret_tasks() -> set[str]:
    return {t.get_name() for t in asyncio.all_tasks() if t.get_name().startswith("k8s-watch Secret")}


def peers_in(source: K8sSource) -> set[str]:
    return {r["metadata"]["name"] for r in source.view().resources if r["kind"] == "BGPPeer"}


async def test_rotated_password_marks_dirty_with_its_watch_event() -> None:
    async with serving() as (api, client):
        api.seed("Secret", "secrets", secret("auth", b"old"))
        api.seed("BGPPeer", "bgppeers", peer("router", "auth"), group="metallb.io")
        source = fast_source(client)
        async with background(source.run()):
            await source.wait_synced()
            watcher = source.secret_watchers[(NS, "auth")]
            source.dirty.clear()
            rotate(api, "auth", b"new")
            await eventually(source.dirty.is_set, what="the rotation to wake the loop")
            assert source.password(NS, "auth") == "new"
            assert watcher.stats.events == 1 and watcher.stats.lists == 1
            # a change to another key of the Secret is not kept, so it wakes no one
            source.dirty.clear()
            api.store.patch(SECRETS, NS, "auth", {"data": {"other": "Y2hhbmdlZA=="}})
            await eventually(lambda: watcher.stats.events == 2, what="the second event")
            assert not source.dirty.is_set()


async def test_watchers_follow_the_configuration_and_stopped_ones_leave_no_task() -> None:
    async with serving() as (api, client):
        api.seed("Secret", "secrets", secret("s1", b"one"))
        api.seed("Secret", "secrets", secret("s2", b"two"))
        api.seed("BGPPeer", "bgppeers", peer("router", "s1"), group="metallb.io")
        source = fast_source(client)
        async with background(source.run()):
            await source.wait_synced()
            assert set(source.secret_watchers) == {(NS, "s1")}
            assert secret_tasks() == {f"k8s-watch Secret {NS}/s1"}
            api.store.patch(PEERS, NS, "router", {"spec": {"passwordSecret": {"name": "s2"}}})
            await eventually(lambda: source.password(NS, "s2") == "two", what="the new Secret")
            assert set(source.secret_watchers) == {(NS, "s2")}
            assert source.password(NS, "s1") is None
            assert secret_tasks() == {f"k8s-watch Secret {NS}/s2"}  # s1's task is finished, not leaked
            await eventually(lambda: api.watching("secrets") == 1, what="s1's watch to close")
            api.store.delete(PEERS, NS, "router")
            await eventually(lambda: not source.secret_watchers, what="no Secret named any more")
            assert secret_tasks() == set()
            api.store.create(PEERS, NS, peer("again", "s1"))
            await eventually(lambda: source.password(NS, "s1") == "one", what="s1 watched again")
        assert secret_tasks() == set()  # cancelling the source ends its Secret watchers too


async def test_missing_secret_is_absent_until_created() -> None:
    async with serving() as (api, client):
        api.seed("BGPPeer", "bgppeers", peer("router", "later"), group="metallb.io")
        source = fast_source(client)
        async with background(source.run()):
            await source.wait_synced()
            assert source.password(NS, "later") is None
            assert not [r for r in source.view().resources if r["kind"] == "Secret"]
            assert any("later" in str(e) for e in build_config(source.view().resources).errors)
            source.dirty.clear()
            api.store.create(SECRETS, NS, secret("later", b"pw"))
            await eventually(source.dirty.is_set, what="the creation to wake the loop")
            assert source.password(NS, "later") == "pw"
            assert build_config(source.view().resources).config is not None
            assert (
                sum(w.stats.restarts.get(RestartReason.ERROR, 0) for w in source.secret_watchers.values())
                == 0
            )


async def test_configuration_reaches_the_loop_only_with_its_secrets_read() -> None:
    async with serving() as (api, client):
        api.seed("Secret", "secrets", secret("auth-b", b"pw-b"))
        seen: list[tuple[set[str], str | None, bool]] = []
        services = KIND_BY_PATH[("", "services")]

        def woken() -> None:  # what the loop would read each time it is woken
            view = source.view()
            has_web = any(s.ref.name.startswith("web") for s in view.snapshot.services)
            seen.append((peers_in(source), source.password(NS, "auth-b"), has_web))

        source = K8sSource(client, fast_source(client).options, on_change=woken)
        async with background(source.run()):
            await source.wait_synced()
            api.delays[("GET", "/secrets")] = 0.3  # the new Secret's first list is slow
            api.store.create(PEERS, NS, peer("b", "auth-b"))
            for index in range(5):  # meanwhile other changes wake the loop
                await asyncio.sleep(0.05)
                api.store.create(services, "default", service(f"web-{index}"))
            await eventually(lambda: "b" in peers_in(source), what="the new peer")
        woken_with_b = [password for peers, password, _ in seen if "b" in peers]
        assert woken_with_b and all(password == "pw-b" for password in woken_with_b)
        # the window was exercised: the loop ran on Service changes while the peer was held back
        assert any(has_web and "b" not in peers for peers, _, has_web in seen)


async def test_unreadable_secret_does_not_hold_the_configuration_and_is_retried() -> None:
    async with serving() as (api, client):
        api.seed("Secret", "secrets", secret("auth", b"pw"))
        api.seed("BGPPeer", "bgppeers", peer("router", "auth"), group="metallb.io")
        api.failing[("GET", "/secrets")] = 403  # RBAC not (yet) granted
        source = fast_source(client)
        async with background(source.run()):
            await asyncio.wait_for(source.wait_synced(), 3.0)
            assert peers_in(source) == {"router"}
            assert source.password(NS, "auth") is None
            assert any("auth" in str(e) for e in build_config(source.view().resources).errors)
            watcher = source.secret_watchers[(NS, "auth")]
            await eventually(lambda: watcher.stats.restarts.get(RestartReason.ERROR, 0) >= 2, what="retries")
            source.dirty.clear()
            del api.failing[("GET", "/secrets")]
            await eventually(lambda: source.password(NS, "auth") == "pw", what="the Secret once allowed")
            assert source.dirty.is_set()


async def test_secret_watch_410_relists_and_sees_what_changed_meanwhile() -> None:
    async with serving() as (api, client):
        api.seed("Secret", "secrets", secret("auth", b"old"))
        api.seed("BGPPeer", "bgppeers", peer("router", "auth"), group="metallb.io")
        source = fast_source(client)
        async with background(source.run()):
            await source.wait_synced()
            await eventually(lambda: api.watching("secrets") == 1, what="the Secret's watch")
            api.refuse_watches = True
            api.drop_watches(abort=True)
            rotate(api, "auth", b"new")
            api.compact()
            api.refuse_watches = False
            await eventually(lambda: source.password(NS, "auth") == "new", what="the relist")
            watcher = source.secret_watchers[(NS, "auth")]
            assert watcher.stats.restarts.get(RestartReason.GONE) == 1
            assert watcher.stats.lists == 2


def cilium_peer_config(secret_name: str) -> dict[str, Any]:
    return {
        "apiVersion": "cilium.io/v2alpha1",
        "kind": "CiliumBGPPeerConfig",
        "metadata": {"name": "pc"},
        "spec": {"authSecretRef": secret_name},
    }


async def test_cilium_secrets_are_watched_in_cilium_secrets_namespace() -> None:
    async with serving() as (api, client):
        api.seed(
            "Secret",
            "secrets",
            {"metadata": {"name": "bgp-auth", "namespace": "cilium-secrets"}, "data": {"password": "cHc="}},
        )
        api.seed(
            "CiliumBGPPeerConfig", "ciliumbgppeerconfigs", cilium_peer_config("bgp-auth"), group="cilium.io"
        )
        source = fast_source(client, cilium=True, metallb=False, cilium_secrets_namespace="cilium-secrets")
        async with background(source.run()):
            await source.wait_synced()
            assert source.password("cilium-secrets", "bgp-auth") == "pw"
        paths = {p for _, p, _ in api.requests if "/secrets" in p}
        assert paths == {"/api/v1/namespaces/cilium-secrets/secrets"}
