"""The address of the client behind a request, seen through the reverse proxies we trust.

Behind a reverse proxy every request comes from the proxy's address (REMOTE_ADDR); the
client's address is in X-Forwarded-For, which each proxy extends on the right. Anyone can
send that header, so it is believed only when REMOTE_ADDR is a trusted proxy
(FV_TRUSTED_PROXIES), and then only from the right: the right-most address that is not a
trusted proxy is the client. Whatever the client wrote further left is never read.

Django-free (settings/base.py validates FV_TRUSTED_PROXIES with `networks_parse`).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def networks_parse(entries: Iterable[str]) -> tuple[IPNetwork, ...]:
    """IP addresses and CIDR blocks ("10.0.0.5", "10.0.0.0/8", "2001:db8::/32"). A block
    with host bits set ("10.0.0.5/8") is taken as its network. ValueError names a bad one."""
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError:
            raise ValueError(f"not an IP address or CIDR block: {entry!r}") from None
    return tuple(networks)


def address_parse(raw: str) -> IPAddress | None:
    """One X-Forwarded-For entry: an address, possibly with a port ("192.0.2.1:4711",
    "[2001:db8::1]:4711") as some proxies write it; None when it is none of these."""
    text = raw.strip()
    port = ""
    if text.startswith("["):
        text, _bracket, rest = text[1:].partition("]")
        if rest:
            port = rest.removeprefix(":") if rest.startswith(":") else "not a port"
    elif text.count(":") == 1:  # IPv4 with a port (an IPv6 address has 2+ colons)
        text, _colon, port = text.partition(":")
    if port and not port.isdigit():
        return None
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    # A dual-stack listener reports IPv4 peers as ::ffff:a.b.c.d.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: IPAddress, trusted_proxies: Sequence[IPNetwork]) -> bool:
    return any(address in network for network in trusted_proxies)


def client_address(
    *,
    remote_addr: str | None,
    forwarded_for: str | None,
    trusted_proxies: Sequence[IPNetwork],
) -> str | None:
    """The client's address. REMOTE_ADDR unless it is a trusted proxy; then X-Forwarded-For
    read from the right, skipping trusted proxies (several hops), up to the first address
    that is not one. A malformed entry on that way, or no header, gives REMOTE_ADDR back;
    when every entry is a trusted proxy the left-most is the origin."""
    if not remote_addr:
        return None
    peer = address_parse(remote_addr)
    if peer is None or not _trusted(peer, trusted_proxies) or not forwarded_for:
        return remote_addr
    hops = forwarded_for.split(",")
    origin: IPAddress | None = None
    for hop in reversed(hops):
        address = address_parse(hop)
        if address is None:
            return remote_addr
        if not _trusted(address, trusted_proxies):
            return str(address)
        origin = address
    return str(origin) if origin is not None else remote_addr
