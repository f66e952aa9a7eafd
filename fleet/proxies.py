"""Who is really asking: the connection's own address, and what a trusted reverse proxy says.

Behind a TLS-terminating proxy the connection comes from the proxy, which says in
`X-Forwarded-For` and `X-Forwarded-Proto` whom it serves and over what. Those headers are
believed only from `fleet.trusted_proxies` (uvicorn's own middleware rewrites the request's
client and scheme, so logs name the browser and the Secure cookie follows https at the proxy);
anyone else could write them. Single sign-on (fleet/sso.py) must not trust a forwarded address at
all: it asks who the connection itself came from, kept here before anything is rewritten.
`assist fleet serve` turns uvicorn's own proxy handling off, so that this is the only one.
"""

from __future__ import annotations

import ipaddress
from typing import Any, Sequence

from starlette.requests import Request
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

#: Where the connection's own address is kept in the request's state.
PEER = "peer"

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class TrustedProxies:
    """ASGI middleware: notes the connection's own address, then believes forwarded headers only
    from the trusted proxies."""

    def __init__(self, app: Any, proxies: Sequence[str]) -> None:
        self.forwarded = ProxyHeadersMiddleware(app, trusted_hosts=list(proxies))

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket"):
            client = scope.get("client")
            scope.setdefault("state", {})[PEER] = client[0] if client else ""
        await self.forwarded(scope, receive, send)


def peer(request: Request) -> str:
    """The address the request's connection came from (never one a header claims)."""
    return str(request.scope.get("state", {}).get(PEER, ""))


def networks(proxies: Sequence[str]) -> tuple[Network, ...]:
    """The settings' addresses and networks (checked when the settings were read)."""
    return tuple(ipaddress.ip_network(proxy) for proxy in proxies)


def trusted(address: str, among: Sequence[Network]) -> bool:
    """Whether `address` is one of the trusted proxies'."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:  # an IPv4 peer on a dual-stack socket
        ip = ip.ipv4_mapped
    return any(ip in network for network in among)
