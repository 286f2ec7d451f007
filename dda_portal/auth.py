"""Sign-in: who is asking, the `/login` page, and the gate in front of every other page.

Three ways, from the settings (Settings.auth_mode):
- open: bound to a loopback address with no users configured; everyone is LOCAL_PERSON (local and demo use);
- password: users and argon2 hashes from DDA_USERS_FILE / DDA_USERS. A right password earns a one-time
  ticket, redeemed by a plain HTTP request that gives the browser a *new* session id (the id handed out to
  the anonymous sign-in form opens nothing); the store keeps which session ids are signed in (hashed), since
  when (12 h from sign-in), and sign-out deletes them, so every replica on the database honours the same
  sign-ins (sign_ins.py: a short cache in front);
- header: an authenticating reverse proxy puts the user name in DDA_AUTH_HEADER; it counts only on connections
  from DDA_TRUSTED_PROXIES (see forwarded.py) and only when sent once; roles come from the users list, else
  DDA_AUTH_DEFAULT_ROLE in every use case. Listed people with a password hash may also use the sign-in form.

Every socket of a page must belong to the page's own session, and every event must come over the page's own
socket (NiceGUI routes events by the client id alone, which is written in the page).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from functools import wraps
from typing import Any
from urllib.parse import quote

import nicegui.nicegui as nicegui_core
from fastapi import Request
from fastapi.responses import PlainTextResponse, RedirectResponse, Response
from nicegui import Client, app, background_tasks, context, core, ui
from starlette.middleware.base import BaseHTTPMiddleware

from .config import Settings
from .domain.access import LOCAL_PERSON, LoginThrottle, Person, safe_next
from .forwarded import FROM_TRUSTED_PROXY
from .passwords import hash_password, password_matches
from .sign_ins import SignIns
from .store import Store
from .workers import SIGN_IN

log = logging.getLogger(__name__)

__all__ = ['Gate', 'hash_password', 'password_matches', 'person_badge', 'register', 'session_id_of']

PUBLIC_PATHS = {'/login', '/login/complete', '/healthz', '/readyz', '/favicon.ico'}
PUBLIC_PREFIXES = ('/_nicegui',)  # NiceGUI's scripts, styles and the socket of an already served page
MAX_NAME_CHARS = 128
MAX_PASSWORD_CHARS = 1024
SESSION_SECONDS = 12 * 3600  # a sign-in lasts 12 h from the moment of signing in
TICKET_SECONDS = 60
WRONG = 'Wrong user name or password.'
API_PREFIX = '/api/'  # the JSON API: its own bearer tokens (api.py), never a browser's sign-in

# who an action runs for when no page asks: the person of the API token a request came with (`Gate.acting`)
_ACTING: contextvars.ContextVar[Person | None] = contextvars.ContextVar('acting', default=None)


def session_id_of(request: Request | None) -> str | None:
    """NiceGUI's id of the browser session a request (page load, socket) came with."""
    if request is None or 'session' not in request.scope:
        return None
    value = request.session.get('id')
    return value if isinstance(value, str) else None


@dataclass(frozen=True)
class Ticket:
    name: str
    session_id: str  # the browser that typed the password: only it may redeem the ticket
    expires: float


@dataclass(frozen=True)
class Earned:
    code: str  # what the browser sees of its ticket


class Gate:
    """Knows who is asking, from a request (pages, middleware) or from the page a handler runs on."""

    def __init__(self, settings: Settings, store: Store) -> None:
        self.mode = settings.auth_mode
        self.accounts = settings.users
        self.header = settings.auth_header or ''
        self.default_role = settings.auth_default_role
        self.places = settings.places  # what a person's roles make visible
        self.passwords = any(a.password_hash for a in self.accounts.values())
        # per name at one address, and per address: nobody locks a person out from elsewhere. Counted per
        # replica: tries spread over N replicas get N times as many before each wait
        self.by_name_and_address = LoginThrottle()
        self.by_address = LoginThrottle(free_failures=10)
        self.clock = time.monotonic  # tests freeze it
        self.wall_clock = time.time  # sign-in ages outlive restarts
        self.sign_ins = SignIns(store)
        # tickets live only in this process: the browser redeems its ticket right after the form, and the
        # load balancer's sticky sessions keep it on this replica between the two
        self._tickets: dict[str, Ticket] = {}

    # ---- who is asking ----------------------------------------------------------------------------

    def header_values(self, request: Request) -> list[str]:
        return request.headers.getlist(self.header) if self.mode == 'header' else []

    def person_for(self, request: Request | None) -> Person | None:
        if self.mode == 'open':
            return LOCAL_PERSON
        if request is None:
            return None
        if self.mode == 'header' and request.scope.get(FROM_TRUSTED_PROXY):
            values = self.header_values(request)
            name = values[0].strip() if len(values) == 1 else ''
            if name and len(name) <= MAX_NAME_CHARS:
                account = self.accounts.get(name)
                return account.person(name) if account else Person(name, self.default_role)
        return self._signed_in(session_id_of(request))

    async def load(self, request: Request) -> None:
        """Read the request's sign-in off the event loop unless cached: what the request's page and handlers
        ask then comes from the cache (the middleware and the socket handshake call this first)."""
        session_id = session_id_of(request)
        if self.passwords and session_id is not None:
            await self.sign_ins.load(session_id)

    @contextlib.contextmanager
    def acting(self, person: Person) -> Iterator[None]:
        """Actions within (this task and what it awaits) are judged for `person`: the JSON API's token."""
        reset = _ACTING.set(person)
        try:
            yield
        finally:
            _ACTING.reset(reset)

    async def load_current(self) -> None:
        """`load` for the page the running handler acts on."""
        if _ACTING.get() is not None:
            return
        with contextlib.suppress(RuntimeError):  # no page: current() answers without the store
            await self.load(context.client.request)

    def current(self) -> Person | None:
        """The person on whose page the running handler acts (None once they signed out), or the one it acts
        for (`acting`)."""
        acting = _ACTING.get()
        if acting is not None:
            return acting
        try:
            request = context.client.request
        except RuntimeError:
            return None if self.mode != 'open' else LOCAL_PERSON
        return self.person_for(request)

    def _signed_in(self, session_id: str | None) -> Person | None:
        if session_id is None or not self.passwords:
            return None
        entry = self.sign_ins.get(session_id)
        if entry is None or self.wall_clock() - entry.since > SESSION_SECONDS:
            return None  # expired rows are deleted at the next sign-in
        account = self.accounts.get(entry.name)
        return account.person(entry.name) if account else None  # removed users are out at once

    # ---- signing in and out -----------------------------------------------------------------------

    async def sign_in(self, name: str, password: str, address: str, session_id: str | None) -> Earned | str:
        """The code of a ticket the browser redeems at /login/complete, or why not (never which of name or
        password was wrong). Each try is counted before its password is checked."""
        if not name or len(name) > MAX_NAME_CHARS or len(password) > MAX_PASSWORD_CHARS or not session_id:
            return WRONG
        pair, place = [f'{name.casefold()}|{address}'], [address]
        now = self.clock()
        wait = max(self.by_name_and_address.wait_left(pair, now), self.by_address.wait_left(place, now))
        if wait > 0:
            return f'Too many failed sign-ins. Try again in {wait:.0f} s.'
        self.by_name_and_address.failed(pair, now)
        self.by_address.failed(place, now)
        matches = await SIGN_IN.run(password_matches, self.accounts.get(name), password)  # never behind AWS
        if not matches:
            log.info('Failed sign-in for %r from %s', name, address)
            return WRONG
        self.by_name_and_address.succeeded(pair)
        self.by_address.undo(place)
        self._tickets = {k: t for k, t in self._tickets.items() if t.expires > now}
        code = secrets.token_urlsafe(32)
        self._tickets[code] = Ticket(name, session_id, now + TICKET_SECONDS)
        log.info('%s signed in from %s', name, address)
        return Earned(code)

    def redeem(self, code: str, session_id: str | None) -> str | None:
        """The name a ticket signs in, once, and only for the browser that earned it."""
        ticket = self._tickets.pop(code, None)
        if ticket is None or ticket.expires < self.clock() or ticket.session_id != session_id:
            return None
        return ticket.name

    def start_session(self, request: Request, name: str) -> None:
        """A new session id for the signed-in browser; the one it had before opens nothing. Blocking (a
        write to the store): called from a worker thread."""
        new = str(uuid.uuid4())
        self.sign_ins.start(new, name, self.wall_clock(), SESSION_SECONDS, ended=session_id_of(request))
        request.session['id'] = new

    async def sign_out(self) -> None:
        """End the session on the server: its sign-in is deleted from the store (every replica stops
        honouring it), every open tab of it here goes to the sign-in form and loses its live connection."""
        session = session_id_of(context.client.request)
        if session is None:
            return
        await SIGN_IN.run(self.sign_ins.end, session)
        for client in list(Client.instances.values()):
            if _client_session(client) == session:
                with client:
                    ui.navigate.to('/login')
                background_tasks.create(_close(client), name='close signed-out tab')

    # ---- sockets ----------------------------------------------------------------------------------

    def socket_may_join(self, client: Client, socket_session: str | None) -> bool:
        """A socket joins a page only from the page's own browser session, and only while the page's person
        is still signed in (the sign-in form is public)."""
        try:
            request = client.request
        except RuntimeError:
            return False
        if socket_session != session_id_of(request):
            return False
        path = request.url.path
        return path in PUBLIC_PATHS or self.person_for(request) is not None


async def _close(client: Client) -> None:
    await asyncio.sleep(0.5)  # the navigation to the sign-in form goes out first
    for sid, _ in list(core.sio.manager.get_participants('/', client.id)):
        await core.sio.disconnect(sid)  # NiceGUI deletes the page once it does not come back; it may not


def _client_session(client: Client) -> str | None:
    try:
        return session_id_of(client.request)
    except RuntimeError:  # a client without an HTTP request
        return None


# NiceGUI's own socket handlers, wrapped once per process whatever the number of portals built
_SOCKET_HANDLERS: dict[str, Callable[..., Any]] = {}


def guard_sockets(gate: Gate) -> None:
    """Handshakes from another browser session are refused; events, JavaScript answers, acks and logs are
    taken only from a socket that joined the client they name."""
    if not _SOCKET_HANDLERS:
        _SOCKET_HANDLERS.update(core.sio.handlers['/'])
    original_handshake = _SOCKET_HANDLERS['handshake']

    @wraps(original_handshake)
    async def handshake(sid: str, data: dict[str, Any]) -> bool:
        client = Client.instances.get(str(data.get('client_id')))
        if client is not None and not sid.startswith('test-'):  # NiceGUI's simulated user has no socket
            environ = core.sio.get_environ(sid) or {}
            scope = environ.get('asgi.scope') or {}
            socket_session = (scope.get('session') or {}).get('id')
            with contextlib.suppress(RuntimeError):  # a client without an HTTP request is refused below
                await gate.load(client.request)
            if not gate.socket_may_join(client, socket_session):
                log.warning('Refused a socket for a page of another session (from %s)', scope.get('client'))
                return False
        return bool(await original_handshake(sid, data))

    core.sio.on('handshake', handshake)
    nicegui_core._on_handshake = handshake  # the implicit handshake at connect calls it by this name

    for name in ('event', 'javascript_response', 'ack', 'log'):
        core.sio.on(name, _own_socket_only(name, _SOCKET_HANDLERS[name]))


def _own_socket_only(name: str, handler: Callable[[str, dict[str, Any]], Any]) -> Callable[..., Any]:
    @wraps(handler)
    def guarded(sid: str, message: dict[str, Any]) -> Any:
        if not isinstance(message, dict) or message.get('client_id') not in core.sio.rooms(sid):
            log.warning('Refused a socket %s message for a page that socket did not open', name)
            return None
        return handler(sid, message)

    return guarded


class SignInRequired(BaseHTTPMiddleware):
    """Every page but sign-in and health needs a known person: the form (password) or 401 (header only)."""

    def __init__(self, app_: Callable[..., Awaitable[None]], gate: Gate) -> None:
        super().__init__(app_)
        self.gate = gate

    async def dispatch(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        if self.gate.mode == 'header' and len(self.gate.header_values(request)) > 1:
            return PlainTextResponse(f'Refused: the {self.gate.header} header was sent more than once.', 400)
        path = request.url.path
        if path == '/login':
            await self.gate.load(request)  # the form sends a signed-in browser on
        public = path in PUBLIC_PATHS or path.startswith(
            (*PUBLIC_PREFIXES, API_PREFIX)
        )  # API: its own tokens
        if self.gate.mode == 'open' or public:
            return await call_next(request)
        await self.gate.load(request)
        if self.gate.person_for(request) is not None:
            return await call_next(request)
        if self.gate.mode == 'header' and not self.gate.passwords:
            return PlainTextResponse(
                f'Sign-in required: no {self.gate.header} header from the authenticating proxy.',
                status_code=401,
            )
        wanted = path + (f'?{request.url.query}' if request.url.query else '')
        return RedirectResponse(f'/login?next={quote(wanted, safe="")}', status_code=303)


def register(gate: Gate) -> None:
    if gate.mode != 'open':
        app.add_middleware(SignInRequired, gate=gate)
    guard_sockets(gate)

    @app.get('/login/complete', include_in_schema=False)
    def complete_sign_in(request: Request, code: str = '', next: str = '/') -> RedirectResponse:
        name = gate.redeem(code, session_id_of(request))
        if name is None:
            return RedirectResponse(f'/login?next={quote(safe_next(next), safe="")}', status_code=303)
        gate.start_session(request, name)
        return RedirectResponse(safe_next(next), status_code=303)

    @ui.page('/login')
    def login_page(request: Request, next: str = '/') -> RedirectResponse | None:
        target = safe_next(next)
        if not gate.passwords or gate.person_for(request) is not None:
            return RedirectResponse(target, status_code=303)
        ui.page_title('Sign in · DDA Portal')
        address = (
            request.client.host if request.client else 'unknown'
        )  # a trusted proxy's client, else the peer
        session = session_id_of(request)

        async def try_sign_in() -> None:
            problem.set_text('')
            button.props('loading')
            try:
                outcome = await gate.sign_in(
                    str(name.value or '').strip(), str(password.value or ''), address, session
                )
            finally:
                button.props(remove='loading')
            if isinstance(outcome, str):
                problem.set_text(outcome)
                password.set_value('')
                return
            ui.navigate.to(f'/login/complete?code={outcome.code}&next={quote(target, safe="")}')

        with ui.card().classes('absolute-center w-96').mark('login-card'):
            ui.label('DDA Portal').classes('text-2xl font-bold')
            ui.label('Sign in to follow models from training to devices.').classes('text-grey-8')
            name = (
                ui.input('User name')
                .props(f'autofocus autocomplete=username maxlength={MAX_NAME_CHARS}')
                .classes('w-full')
                .mark('login-name')
                .on('keydown.enter', try_sign_in)
            )
            password = (
                ui.input('Password', password=True, password_toggle_button=True)
                .props(f'autocomplete=current-password maxlength={MAX_PASSWORD_CHARS}')
                .classes('w-full')
                .mark('login-password')
                .on('keydown.enter', try_sign_in)
            )
            problem = ui.label().classes('text-negative').props('role=alert').mark('login-problem')
            button = (
                ui.button('Sign in', on_click=try_sign_in).props('no-caps').classes('w-full').mark('sign-in')
            )
        return None


def person_badge(gate: Gate) -> None:
    """The header's `name · role` and `Sign out` (sessions signed in with a password; a proxy signs out
    itself)."""
    person = gate.current()
    if gate.mode == 'open' or person is None:
        return
    ui.label(f'{person.name} · {person.label}').classes('text-sm text-white').mark('signed-in-as')
    if gate._signed_in(_client_session(context.client)) is not None:

        async def sign_out() -> None:
            await gate.sign_out()  # this tab and the session's others go to the sign-in form

        ui.button('Sign out', icon='logout', on_click=sign_out).props('flat dense color=white no-caps').mark(
            'sign-out'
        )
