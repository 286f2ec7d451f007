"""The emulator over HTTP: a WSGI app on werkzeug's threaded server, in a background thread."""

from __future__ import annotations

import json
import logging
import threading
import uuid
from types import TracebackType
from typing import Any
from urllib.parse import quote

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from . import urls
from .accounts import BackendMaker, GreengrassAccounts
from .models import GreengrassBackend, GreengrassError, InternalServerException
from .responses import GreengrassResponse

log = logging.getLogger(__name__)


class GreengrassApp:
    """WSGI: route, dispatch to the responses, and answer errors the way botocore's rest-json parser reads."""

    def __init__(self, accounts: GreengrassAccounts) -> None:
        self.accounts = accounts

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        return self.handle(request)(environ, start_response)

    def handle(self, request: Request) -> Response:
        # labels such as ARNs arrive percent-encoded; route on the raw path so an encoded '/' stays in place
        raw_path = request.environ.get('RAW_URI') or request.environ.get('REQUEST_URI') or quote(request.path)
        try:
            operation, labels = urls.match(request.method, raw_path)
            backend = self.accounts.for_request(request.headers)
            status, body = GreengrassResponse(backend).dispatch(operation, request, labels)
        except GreengrassError as error:
            return _json(error.status, error.body(), error.code)
        except Exception as error:  # a defect in the emulator: say so like AWS would, and log it loudly
            log.exception('Greengrass emulator failed on %s %s', request.method, raw_path)
            failure = InternalServerException(f'Internal failure in the emulator: {error!r}')
            return _json(failure.status, failure.body(), failure.code)
        return _json(status, body)


def _json(status: int, body: Any, error_code: str | None = None) -> Response:
    headers = {'x-amzn-RequestId': str(uuid.uuid4())}
    if error_code:
        headers['x-amzn-ErrorType'] = error_code  # botocore takes the error code from this header
    return Response(json.dumps(body), status=status, headers=headers, content_type='application/json')


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = '-', size: int | str = '-') -> None:
        """No line per request: the portal polls, and the log would be nothing else."""


class GreengrassServer:
    """`start()` serves host:port (0: a free port) and returns the endpoint URL. `backend` is the home
    account and region; other accounts and regions get their own state (`accounts`), made by `make`."""

    def __init__(
        self,
        host: str = '127.0.0.1',
        port: int = 0,
        backend: GreengrassBackend | None = None,
        make: BackendMaker | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.backend = backend or GreengrassBackend()
        self.accounts = GreengrassAccounts(self.backend, make)
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def endpoint_url(self) -> str:
        if self._server is None:
            raise RuntimeError('the Greengrass emulator is not running')
        return f'http://{self.host}:{self._server.server_port}'

    def start(self) -> str:
        if self._server is None:
            self._server = make_server(
                self.host,
                self.port,
                GreengrassApp(self.accounts),
                threaded=True,
                request_handler=_QuietHandler,
            )
            self._thread = threading.Thread(
                # a short poll keeps stop() quick; the loop only checks its shutdown flag then
                target=self._server.serve_forever,
                kwargs={'poll_interval': 0.05},
                name='greengrass-emulator',
                daemon=True,
            )
            self._thread.start()
        return self.endpoint_url

    def stop(self) -> None:
        """Stop serving and free the port. Idempotent."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> GreengrassServer:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()
