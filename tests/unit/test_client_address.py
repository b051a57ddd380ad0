"""Which address a request comes from, through trusted reverse proxies only
(backend/config/client_address.py)."""

from __future__ import annotations

import pytest

from backend.config.client_address import address_parse, client_address, networks_parse

PROXIES = networks_parse(["10.0.0.5", "172.16.0.0/12", "2001:db8:ffff::/48"])


def address(remote_addr: str | None, forwarded_for: str | None) -> str | None:
    return client_address(
        remote_addr=remote_addr, forwarded_for=forwarded_for, trusted_proxies=PROXIES
    )


def test_without_trusted_proxies_the_header_is_ignored() -> None:
    assert (
        client_address(remote_addr="10.0.0.5", forwarded_for="203.0.113.7", trusted_proxies=())
        == "10.0.0.5"
    )


def test_a_spoofed_header_from_an_untrusted_peer_is_ignored() -> None:
    assert address("198.51.100.20", "203.0.113.7") == "198.51.100.20"
    # Even naming a trusted proxy does not help a direct client.
    assert address("198.51.100.20", "203.0.113.7, 10.0.0.5") == "198.51.100.20"


def test_one_trusted_proxy_hop() -> None:
    assert address("10.0.0.5", "203.0.113.7") == "203.0.113.7"
    assert address("10.0.0.5", " 203.0.113.7 ") == "203.0.113.7"


def test_two_trusted_proxy_hops() -> None:
    # client -> edge proxy 172.20.1.1 -> inner proxy 10.0.0.5 -> us
    assert address("10.0.0.5", "203.0.113.7, 172.20.1.1") == "203.0.113.7"


def test_what_the_client_wrote_left_of_its_own_address_is_not_believed() -> None:
    # The client sent "X-Forwarded-For: 192.0.2.99"; the proxy appended the real peer.
    assert address("10.0.0.5", "192.0.2.99, 203.0.113.7") == "203.0.113.7"
    assert address("10.0.0.5", "not-an-ip, 203.0.113.7, 172.20.1.1") == "203.0.113.7"


@pytest.mark.parametrize(
    "header",
    ["", "   ", "not-an-ip", "203.0.113.7, garbage", "203.0.113.7,,", "999.1.1.1", "1.2.3.4:x"],
)
def test_a_malformed_or_missing_header_falls_back_to_remote_addr(header: str) -> None:
    assert address("10.0.0.5", header) == "10.0.0.5"
    assert address("10.0.0.5", None) == "10.0.0.5"


def test_ports_ipv6_and_mapped_addresses() -> None:
    assert address("10.0.0.5", "203.0.113.7:51234") == "203.0.113.7"
    assert address("10.0.0.5", "[2001:db8::7]:443") == "2001:db8::7"
    assert address("2001:db8:ffff::1", "2001:db8:1::7") == "2001:db8:1::7"
    # A dual-stack listener reports the IPv4 proxy as ::ffff:10.0.0.5.
    assert address("::ffff:10.0.0.5", "203.0.113.7") == "203.0.113.7"
    assert address_parse("[2001:db8::7]oops") is None


def test_every_hop_a_trusted_proxy_gives_the_left_most() -> None:
    assert address("10.0.0.5", "172.16.0.9, 10.0.0.5") == "172.16.0.9"


def test_no_remote_addr_is_no_address() -> None:
    assert address(None, "203.0.113.7") is None
    assert address("", "203.0.113.7") is None


def test_bad_proxy_entries_are_named() -> None:
    assert networks_parse([" 10.0.0.0/8 ", "::1"])[0].num_addresses == 2**24
    with pytest.raises(ValueError, match=r"'proxy\.internal'"):
        networks_parse(["10.0.0.1", "proxy.internal"])
