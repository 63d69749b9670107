"""ConfigInvalid/ConfigLoaded decisions: on which objects, with what wording, and only once per error set."""

from __future__ import annotations

from lightkube import AsyncClient

from bgplb.adapters.k8s_event_reasons import EventReason
from bgplb.adapters.k8s_events import ObjectRef
from bgplb.adapters.k8s_source import K8sSource, SourceOptions
from bgplb.config.build import REJECTED
from bgplb.errors import ConfigError
from bgplb.runtime.k8s_config_events import (
    MAX_MESSAGE,
    NOT_IN_FORCE,
    ConfigEvent,
    ConfigEvents,
    error_target,
    invalid_message,
    summary_message,
)

STATE = ObjectRef("bgplb.io/v1alpha1", "ConfigurationState", "metallb-system", "controller", "s1")
POOL = ConfigError("IPAddressPool", "metallb-system/lan", "spec.addresses[1]", "not an address")
PEER = ConfigError("BGPPeer", "metallb-system/router", "spec.holdTime", "too short")
NAMELESS = ConfigError("resource", "", "", "expected a mapping")


def locate(error: ConfigError) -> ObjectRef | None:
    if not error.name:
        return None
    namespace, name = error.name.split("/")
    return ObjectRef("metallb.io/v1beta1", error.kind, namespace, name)


def test_a_rejection_is_reported_once_per_error_set_and_the_fix_once() -> None:
    events = ConfigEvents(locate)
    assert events.changes((), True, STATE) == []  # valid from the start: nothing to say
    first = events.changes((POOL, NAMELESS), True, STATE)
    assert [(e.target.name, e.reason) for e in first] == [
        ("lan", EventReason.CONFIG_INVALID),  # the nameless error is only in the summary
        ("controller", EventReason.CONFIG_INVALID),
    ]
    assert first[0].message == f"spec.addresses[1]: not an address; {REJECTED}"
    assert first[1].message == summary_message((POOL, NAMELESS), True)
    assert "resource: expected a mapping" in first[1].message
    assert events.changes((POOL, NAMELESS), True, STATE) == []  # unchanged: nothing again
    assert len(events.changes((PEER, POOL), True, STATE)) == 3  # a different set: every error again
    assert events.changes((), True, STATE) == [
        ConfigEvent(STATE, EventReason.CONFIG_LOADED, "the configuration is valid and in force again")
    ]
    assert events.changes((), True, STATE) == []
    events.changes((POOL,), True, STATE)
    events.reset()  # a new term of leadership reports the current state once more
    assert len(events.changes((POOL,), True, STATE)) == 2


def test_wording_says_whether_a_configuration_stays_in_force() -> None:
    assert invalid_message(POOL, False) == f"spec.addresses[1]: not an address; {NOT_IN_FORCE}"
    assert invalid_message(NAMELESS, True) == f"expected a mapping; {REJECTED}"
    assert summary_message((POOL, PEER), False) == (
        f"{NOT_IN_FORCE} (2 errors): IPAddressPool metallb-system/lan field spec.addresses[1]: "
        "not an address; BGPPeer metallb-system/router field spec.holdTime: too short"
    )
    many = tuple(ConfigError("IPAddressPool", f"ns/p{i}", "spec.addresses[0]", "x" * 50) for i in range(40))
    long = summary_message(many, True)
    assert len(long) == MAX_MESSAGE and long.endswith("…")


def test_error_targets_come_from_the_mirrored_kinds() -> None:
    client = AsyncClient.__new__(AsyncClient)  # never used: only the watchers' kinds and mirrors are read
    source = K8sSource(client, SourceOptions(metallb=True, cilium=True))
    source.watchers["IPAddressPool"].objects[("metallb-system", "lan")] = {"metadata": {"uid": "u-lan"}}
    assert error_target(POOL, source.watchers) == ObjectRef(
        "metallb.io/v1beta1", "IPAddressPool", "metallb-system", "lan", "u-lan"
    )
    peer = error_target(PEER, source.watchers)
    assert peer == ObjectRef(
        "metallb.io/v1beta2", "BGPPeer", "metallb-system", "router"
    )  # not mirrored: no uid
    cilium = ConfigError("CiliumLoadBalancerIPPool", "blue", "spec.blocks[0].cidr", "bad")
    target = error_target(cilium, source.watchers)
    assert target is not None and (target.kind, target.namespace, target.name) == (
        "CiliumLoadBalancerIPPool",
        "",
        "blue",
    )
    assert target.api_version.startswith("cilium.io/")
    legacy = ConfigError("ConfigMap", "metallb-system/config", "data.config", "bad")
    assert error_target(legacy, source.watchers) == ObjectRef("v1", "ConfigMap", "metallb-system", "config")
    for unnamed in (
        NAMELESS,
        ConfigError("Secret", "metallb-system/s", "", "not mirrored"),
        ConfigError("IPAddressPool", "lan", "", "a namespaced kind needs a namespace"),
        ConfigError("CiliumLoadBalancerIPPool", "ns/blue", "", "a cluster-scoped kind has none"),
    ):
        assert error_target(unnamed, source.watchers) is None
