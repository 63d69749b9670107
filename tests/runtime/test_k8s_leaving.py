"""Which Services stop being ours, what the allocator may not hand out meanwhile, and the leader's memory."""

from __future__ import annotations

from ipaddress import ip_address
from typing import Any

from bgplb.config.build import build_config
from bgplb.config.models import Config
from bgplb.planning.allocation import allocate
from bgplb.planning.snapshot import IPAddress, Service, ServiceRef, Snapshot
from bgplb.runtime.k8s_leaving import Cleanup, LeaveReason, Leaving, leaving, other_class, waiting

OURS = ("bgplb.io/lb",)
X, Y, OUTSIDE = ip_address("10.0.0.10"), ip_address("10.0.0.11"), ip_address("192.168.7.7")


def config() -> Config:
    pool = {
        "apiVersion": "metallb.io/v1beta1",
        "kind": "IPAddressPool",
        "metadata": {"name": "lan", "namespace": "metallb-system"},
        "spec": {"addresses": ["10.0.0.10-10.0.0.12"]},
    }
    built = build_config([pool])
    assert built.config is not None, built.errors
    return built.config


def svc(name: str, *ips: IPAddress, **fields: Any) -> Service:
    return Service(ServiceRef("default", name), current_ips=ips, **fields)


def find(
    *services: Service, annotated: frozenset[str] = frozenset(), unset: bool = True
) -> dict[str, Leaving]:
    found = leaving(
        services, config(), lambda ref: ref.name in annotated, classes=OURS, handle_unset_class=unset
    )
    return {ref.name: leave for ref, leave in found.items()}


def test_a_service_no_longer_load_balancer_leaves_with_our_address_or_our_annotation() -> None:
    found = find(
        svc("web", X, type="ClusterIP"),
        svc("tagged", type="NodePort"),  # no address left, only the annotation we wrote
        svc("foreign", OUTSIDE, type="ClusterIP"),  # an address we never gave, no annotation
        svc("kept", Y),  # still ours
        annotated=frozenset({"tagged"}),
    )
    assert found == {
        "web": Leaving(
            (X,),
            LeaveReason.NOT_LOAD_BALANCER,
            "default/web: the Service is of type ClusterIP, no longer LoadBalancer",
        ),
        "tagged": Leaving(
            (),
            LeaveReason.NOT_LOAD_BALANCER,
            "default/tagged: the Service is of type NodePort, no longer LoadBalancer",
        ),
    }


def test_another_class_leaves_only_with_an_address_of_our_pools() -> None:
    other = {"load_balancer_class": "example.com/other"}
    found = find(
        svc("moved", X, **other),
        svc("theirs", OUTSIDE, **other),
        svc("annotated", OUTSIDE, **other),  # the annotation alone: another MetalLB writes it too
        svc("unset", Y),  # no class, while this controller handles only its own class
        annotated=frozenset({"annotated"}),
        unset=False,
    )
    assert set(found) == {"moved", "unset"}
    assert found["moved"].reason is found["unset"].reason is LeaveReason.OTHER_CLASS
    assert found["moved"].detail == "default/moved: loadBalancerClass example.com/other is not handled here"
    assert "no loadBalancerClass, and this controller handles bgplb.io/lb" in found["unset"].detail
    assert other_class(svc("moved", X, **other), OURS, True)
    assert not other_class(svc("web", X, type="ClusterIP"), OURS, True)
    assert not other_class(svc("kept", X), OURS, True)


def test_reserved_addresses_are_not_picked_and_an_explicit_request_waits() -> None:
    web = svc("web", X, type="ClusterIP")
    auto = svc("auto")
    asks = svc("asks", requested_ips=(X,))
    snapshot = Snapshot(services=(web, auto))
    assert allocate(snapshot, config()).assignments[auto.ref].ips == (X,)  # the allocator ignores web
    gone = leaving(snapshot.services, config(), lambda ref: False, classes=OURS, handle_unset_class=True)
    held = {ip for leave in gone.values() for ip in leave.ips}
    allocation = allocate(snapshot, config(), reserved=held)
    assert allocation.assignments[auto.ref].ips == (Y,)
    assert waiting(allocation, {s.ref: s for s in snapshot.services}, gone) == set()
    snapshot = Snapshot(services=(web, auto, asks))
    allocation = allocate(snapshot, config(), reserved=held)
    assert allocation.assignments[asks.ref].ips == (X,)  # granted by the allocator ...
    assert waiting(allocation, {s.ref: s for s in snapshot.services}, gone) == {asks.ref}  # ... written later
    assert waiting(allocation, {s.ref: s for s in snapshot.services}, {}) == set()
    mine = svc("asks", X, requested_ips=(X,))  # already shows it (e.g. shared): nothing new, no wait
    snapshot = Snapshot(services=(web, mine))
    allocation = allocate(snapshot, config(), reserved=held)
    assert waiting(allocation, {s.ref: s for s in snapshot.services}, gone) == set()


def test_cleanup_reports_once_and_cedes_addresses_written_back_to_another_class() -> None:
    cleanup = Cleanup()
    web, theirs = ServiceRef("default", "web"), ServiceRef("default", "theirs")
    gone = {
        web: Leaving((X,), LeaveReason.NOT_LOAD_BALANCER, "web"),
        theirs: Leaving((Y,), LeaveReason.OTHER_CLASS, "theirs"),
    }
    assert cleanup.writes(gone, lambda ref: True) == sorted(gone.items())
    assert [cleanup.event_due(ref, leave) for ref, leave in gone.items()] == [True, True]
    assert [cleanup.event_due(ref, leave) for ref, leave in gone.items()] == [False, False]
    for ref, leave in gone.items():
        cleanup.written(ref, leave)
    # both show the same addresses again: web is cleared again, theirs is left to its implementation
    assert cleanup.writes(gone, lambda ref: True) == [(web, gone[web])]
    assert cleanup.ceded == {theirs}
    assert cleanup.writes(gone, lambda ref: False) == []  # a clean mirror needs no write
    cleanup.prune({theirs: gone[theirs]}, lambda ref: False)  # web left the set; theirs is ours again
    assert cleanup.event_due(web, gone[web])  # a new departure is reported again
    assert cleanup.writes(gone, lambda ref: True) == sorted(gone.items())
