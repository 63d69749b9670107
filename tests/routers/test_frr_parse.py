"""The pragmatic FRR reader: what `--check` needs out of a running-config, nothing more, never a crash."""

from __future__ import annotations

from ipaddress import ip_network

from bgplb.routers.frr_parse import parse
from bgplb.routers.plan import Family, PrefixRule

RUNNING = """\
frr version 8.4.4
frr defaults traditional
hostname opnsense
!
router bgp 64500
 bgp router-id 10.4.0.1
 no bgp ebgp-requires-policy
 neighbor K8S peer-group
 neighbor K8S remote-as 64501
 neighbor 10.4.0.11 peer-group K8S
 neighbor 10.4.0.12 remote-as external
 !
 address-family ipv4 unicast
  maximum-paths 4
  neighbor K8S route-map IN in
  neighbor 10.4.0.12 prefix-list PL in
 exit-address-family
 !
 address-family ipv6 unicast
  neighbor K8S activate
  maximum-paths ibgp 2
 exit-address-family
exit
!
router bgp 65000 vrf blue
 neighbor 1.1.1.1 remote-as 1
exit
!
ip prefix-list PL seq 5 permit 10.4.11.0/24 le 32
ip prefix-list PL permit any
ipv6 prefix-list PL6 seq 10 deny any
!
route-map IN permit 10
 match ip address prefix-list PL
 set local-preference 200
exit
!
route-map IN deny 20
!
some unknown line
"""


def test_reads_the_bgp_parts_and_ignores_the_rest() -> None:
    config = parse(RUNNING)
    assert (config.asn, config.router_id, config.ebgp_requires_policy) == (64500, "10.4.0.1", False)
    assert config.default_ipv4_unicast
    assert config.families == {Family.IPV4, Family.IPV6}
    assert (config.maximum_paths, config.maximum_paths_ibgp) == ({Family.IPV4: 4}, {Family.IPV6: 2})
    assert config.peers["K8S"].remote_as == "64501"
    assert config.peers["10.4.0.11"].group == "K8S"
    assert config.peers["10.4.0.12"].remote_as == "external"
    assert config.peers["K8S"].route_map_in == {Family.IPV4: "IN"}
    assert config.peers["K8S"].activated == {Family.IPV6: True}
    assert config.peers["10.4.0.12"].prefix_list_in == {Family.IPV4: "PL"}
    assert "1.1.1.1" not in config.peers  # another VRF
    assert [(e.seq, e.permit, e.rule) for e in config.prefix_lists["PL"]] == [
        (5, True, PrefixRule(ip_network("10.4.11.0/24"), le=32)),
        (10, True, PrefixRule(ip_network("0.0.0.0/0"), le=32)),
    ]
    assert [(e.seq, e.permit, e.prefix_list, e.other_matches) for e in config.route_maps["IN"]] == [
        (10, True, "PL", 0),
        (20, False, None, 0),
    ]


def test_garbage_does_not_crash() -> None:
    config = parse("router bgp\n neighbor\n address-family\nip prefix-list X seq x permit 300.1.1.1/8\n")
    assert config.asn is None and not config.prefix_lists
