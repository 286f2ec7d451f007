"""The demo's alert channel: a small JSON web hook on 127.0.0.1 that logs each message it receives.

The portal sends to it like to any channel, through Apprise's own `json://` type, so the demo shows an alert
end to end (recorded with the refresh that saw the transition, sent after commit, listed on /alerts)."""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

log = logging.getLogger(__name__)


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        try:
            message = json.loads(self.rfile.read(int(self.headers.get('Content-Length') or 0)))
            title, body = str(message.get('title', '')), str(message.get('message', ''))
        except (ValueError, AttributeError):
            self.send_response(400)
        else:
            log.info('Alert received by the demo channel: %s\n%s', title, body)
            self.send_response(200)
        self.send_header('Content-Length', '0')
        self.end_headers()

    def log_message(self, *_: Any) -> None:  # one line per request would repeat what do_POST logs
        pass


class AlertLog:
    """The web hook; `url` is the Apprise URL that reaches it."""

    def __init__(self) -> None:
        self._server = ThreadingHTTPServer(('127.0.0.1', 0), _Handler)
        self.url = f'json://127.0.0.1:{self._server.server_address[1]}/demo-alerts'
        self._thread = threading.Thread(target=self._server.serve_forever, name='demo-alerts', daemon=True)

    def start(self) -> AlertLog:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
