"""The browser's guards: only allowed Host names are served, and every response tells the browser not to frame
the portal, not to guess content types, to send no referrer to other sites, and to run only the portal's own
scripts (Content-Security-Policy).

NiceGUI writes a few inline scripts into every page and offers no nonce; each page's response gets the SHA-256
hashes of exactly the inline scripts it carries, so a script injected into a page would not run. Vue compiles
templates in the browser and NiceGUI evaluates JavaScript handlers and props, hence `'unsafe-eval'`.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re

from nicegui import app
from starlette.datastructures import MutableHeaders
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .config import Settings

log = logging.getLogger(__name__)

POLICY = {
    'default-src': "'self'",
    'script-src': "'self' 'unsafe-eval'",  # + the hashes of a page's inline scripts
    'style-src': "'self' 'unsafe-inline'",  # Vue and Quasar set style attributes; NiceGUI adds <style> blocks
    'img-src': "'self' data: blob:",
    'font-src': "'self' data:",
    'connect-src': "'self'",  # the page's own socket (same-origin ws:/wss: included)
    'object-src': "'none'",
    'base-uri': "'self'",
    'form-action': "'self'",
    'frame-ancestors': "'none'",
}
HEADERS = {
    'X-Frame-Options': 'DENY',
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'same-origin',
}
INLINE_SCRIPT = re.compile(rb'<script\b([^>]*)>(.*?)</script\s*>', re.DOTALL | re.IGNORECASE)
SCRIPT_SRC = re.compile(rb'\ssrc\s*=', re.IGNORECASE)


def content_security_policy(script_hashes: list[str] | None = None) -> str:
    policy = dict(POLICY)
    if script_hashes:
        policy['script-src'] += ''.join(f" 'sha256-{h}'" for h in dict.fromkeys(script_hashes))
    return '; '.join(f'{name} {value}' for name, value in policy.items())


def inline_script_hashes(html: bytes) -> list[str]:
    """Base64 SHA-256 of each inline script's text, as the browser hashes it (line ends normalised to LF)."""
    hashes = []
    for match in INLINE_SCRIPT.finditer(html):
        if SCRIPT_SRC.search(match.group(1)):
            continue
        text = match.group(2).replace(b'\r\n', b'\n').replace(b'\r', b'\n')
        hashes.append(base64.b64encode(hashlib.sha256(text).digest()).decode())
    return hashes


class SecurityHeaders:
    """Pure ASGI middleware: the headers above on every HTTP response (and on a refused websocket handshake).

    HTML responses are held until their body is complete, to hash their inline scripts into the policy.
    """

    def __init__(self, app_: ASGIApp) -> None:
        self.app = app_

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope['type'] not in ('http', 'websocket'):
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        body: list[bytes] = []

        async def guarded_send(message: Message) -> None:
            nonlocal start
            kind = message['type'].removeprefix('websocket.')
            if kind == 'http.response.start':
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    headers[name] = value
                if headers.get('content-type', '').startswith('text/html'):
                    start = message  # sent with the body, once its scripts are known
                    return
                headers['Content-Security-Policy'] = content_security_policy()
            elif kind == 'http.response.body' and start is not None:
                body.append(message.get('body', b''))
                if message.get('more_body', False):
                    return
                html = b''.join(body)
                MutableHeaders(scope=start)['Content-Security-Policy'] = content_security_policy(
                    inline_script_hashes(html)
                )
                await send(start)
                start = None
                message = {**message, 'body': html}
            await send(message)

        await self.app(scope, receive, guarded_send)


def register(settings: Settings) -> None:
    """Refuse requests for other Host names with 400 (HTTP and websocket), and guard every response.

    Added after the sign-in gate, so that both wrap it (Starlette runs the middleware added last first).
    """
    hosts = settings.allowed_host_names
    log.info('Serving requests for host names %s (more with DDA_ALLOWED_HOSTS)', ', '.join(hosts))
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=hosts, www_redirect=False)
    app.add_middleware(SecurityHeaders)
