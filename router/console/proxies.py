"""Who is on the other end of a console request, and did their browser use https, when a reverse proxy
may stand in front of the router.

X-Forwarded-For, X-Forwarded-Proto and Forwarded are believed only when the direct peer is one of the
trusted proxies (Settings.console_trusted_proxies, loopback by default): from anyone else they are
whatever the client chose to write. The client address is the right-most X-Forwarded-For entry that is
not itself a trusted proxy — the entries to its left were written by the client and prove nothing.
(Of RFC 7239 Forwarded only ``proto`` is read; proxies that send it send X-Forwarded-For as well.)
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from aiohttp import web

__all__ = ["Networks", "parse_networks", "client_ip", "came_over_tls"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Networks = tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]


def parse_networks(entries: Iterable[str]) -> Networks:
    """Addresses or networks ("10.0.0.2", "10.0.1.0/24", "::1"); a malformed entry raises ValueError, so a
    typo in the setting stops the start instead of silently trusting nobody (or everybody)."""
    try:
        return tuple(ipaddress.ip_network(e.strip(), strict=False) for e in entries if e.strip())
    except ValueError as exc:
        raise ValueError(f"CONSOLE_TRUSTED_PROXIES: {exc}") from None


def _address(value: str | None) -> IPAddress | None:
    value = (value or "").strip().strip('"')
    if value.startswith("[") and "]" in value:  # "[2001:db8::1]:4711"
        value = value[1:value.index("]")]
    elif value.count(":") == 1:  # "203.0.113.7:4711"
        value = value.split(":", 1)[0]
    try:
        ip = ipaddress.ip_address(value)
    except ValueError:
        return None
    return ip.ipv4_mapped or ip if isinstance(ip, ipaddress.IPv6Address) else ip


def _trusted(ip: IPAddress | None, trusted: Networks) -> bool:
    return ip is not None and any(ip.version == net.version and ip in net for net in trusted)


def client_ip(request: web.Request, trusted: Networks) -> str:
    """The client's address: the direct peer, or what a trusted proxy says it saw."""
    peer = _address(request.remote)
    if not _trusted(peer, trusted):
        return str(peer) if peer else (request.remote or "?")
    hops = [h for line in request.headers.getall("X-Forwarded-For", ()) for h in line.split(",") if h.strip()]
    for hop in reversed(hops):
        ip = _address(hop)
        if ip is None:  # garbled: stop at the last address a trusted hop vouched for
            break
        peer = ip
        if not _trusted(ip, trusted):
            break
    return str(peer)


def came_over_tls(request: web.Request, trusted: Networks) -> bool:
    """True when the browser's connection was https: to us directly, or to a trusted proxy that says so."""
    if request.secure:
        return True
    if not _trusted(_address(request.remote), trusted):
        return False
    proto = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
    if not proto and request.forwarded:
        proto = str(request.forwarded[0].get("proto", "")).lower()
    return proto == "https"
