"""Who is really connecting: the peer itself, or the client a trusted proxy forwards for.

A pure ASGI middleware, outermost, for HTTP and WebSocket alike. Only when the peer's address is one of
DDA_TRUSTED_PROXIES are `X-Forwarded-For` (the client address: the right-most entry that is not itself a
trusted proxy) and `X-Forwarded-Proto` (https) believed; from anyone else they are ignored. The peer and
whether it is a trusted proxy stay in the scope for the sign-in gate (the identity header counts only from a
trusted proxy). Responses to requests that arrived over HTTPS mark their cookies `Secure`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from .config import IPNetwork

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

PEER = 'dda.peer'  # the address that opened the connection
FROM_TRUSTED_PROXY = 'dda.from_trusted_proxy'


def is_trusted(address: str | None, networks: list[IPNetwork]) -> bool:
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address.strip('[]'))
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip.version == network.version and ip in network for network in networks)


def forwarded_client(values: list[str], networks: list[IPNetwork]) -> str | None:
    """The client a chain of trusted proxies forwards for: the right-most X-Forwarded-For entry that is not
    itself a trusted proxy (entries further left were written by the client and may be forged)."""
    entries = [entry.strip() for value in values for entry in value.split(',') if entry.strip()]
    for entry in reversed(entries):
        try:
            ipaddress.ip_address(entry.strip('[]'))
        except ValueError:
            return None  # garbage in the chain: believe nothing of it
        if not is_trusted(entry, networks):
            return entry.strip('[]')
    return entries[0].strip('[]') if entries else None


class ForwardedByTrustedProxy:
    def __init__(self, app: ASGIApp, networks: list[IPNetwork]) -> None:
        self.app = app
        self.networks = networks

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope['type'] not in ('http', 'websocket'):
            await self.app(scope, receive, send)
            return
        peer = scope['client'][0] if scope.get('client') else None
        trusted = is_trusted(peer, self.networks)
        scope[PEER] = peer
        scope[FROM_TRUSTED_PROXY] = trusted
        if trusted:
            headers = _headers(scope)
            client = forwarded_client(headers.get(b'x-forwarded-for', []), self.networks)
            if client is not None:
                scope['client'] = (client, 0)
            protos = headers.get(b'x-forwarded-proto', [])
            proto = protos[-1].split(',')[-1].strip().lower() if protos else ''
            if proto in ('https', 'http'):
                secure = proto == 'https'
                if scope['type'] == 'websocket':
                    scope['scheme'] = 'wss' if secure else 'ws'
                else:
                    scope['scheme'] = proto
        if scope.get('scheme') not in ('https', 'wss'):
            await self.app(scope, receive, send)
            return

        async def send_secure_cookies(message: Message) -> None:
            if message['type'] == 'http.response.start':
                message['headers'] = [
                    (name, _secure(value) if name.lower() == b'set-cookie' else value)
                    for name, value in message.get('headers', [])
                ]
            await send(message)

        await self.app(scope, receive, send_secure_cookies)


def _headers(scope: Scope) -> dict[bytes, list[str]]:
    found: dict[bytes, list[str]] = {}
    for name, value in scope.get('headers', []):
        found.setdefault(name.lower(), []).append(value.decode('latin-1'))
    return found


def _secure(cookie: bytes) -> bytes:
    attributes = [part.strip().lower() for part in cookie.split(b';')[1:]]
    return cookie if b'secure' in attributes else cookie + b'; secure'
