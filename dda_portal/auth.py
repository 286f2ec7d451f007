"""Sign-in: who is asking, the `/login` page, and the gate in front of every other page.

Three ways, from the settings (Settings.auth_mode):
- open: bound to a loopback address with no users configured; everyone is LOCAL_PERSON (local and demo use);
- password: users and argon2 hashes from DDA_USERS_FILE / DDA_USERS; a signed session cookie remembers who
  signed in (NiceGUI's user storage, signed with DDA_STORAGE_SECRET);
- header: an authenticating reverse proxy puts the user name in DDA_AUTH_HEADER; roles come from the users
  list, else DDA_AUTH_DEFAULT_ROLE. The proxy must strip that header from what clients send.
"""

from __future__ import annotations

import getpass
import logging
import sys
import time
from collections.abc import Awaitable, Callable
from functools import cache
from urllib.parse import quote

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Request
from fastapi.responses import PlainTextResponse, RedirectResponse, Response
from nicegui import Client, app, context, run, ui
from starlette.middleware.base import BaseHTTPMiddleware

from .config import Account, Settings
from .domain.access import LOCAL_PERSON, LoginThrottle, Person, safe_next

log = logging.getLogger(__name__)

PUBLIC_PATHS = {'/login', '/healthz', '/readyz', '/favicon.ico'}
PUBLIC_PREFIXES = ('/_nicegui',)  # NiceGUI's scripts, styles and the socket of an already served page
MAX_NAME_CHARS = 128
MAX_PASSWORD_CHARS = 1024
SESSION_KEY = 'signed_in_as'
WRONG = 'Wrong user name or password.'

_hasher = PasswordHasher()


@cache
def _unknown_user_hash() -> str:
    """Checked when the name is unknown, so that it costs as much time as a wrong password (made on the
    first failed sign-in, not at every start)."""
    return _hasher.hash('not a password of anyone')


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_matches(account: Account | None, password: str) -> bool:
    stored = account.password_hash if account else None
    try:
        _hasher.verify(stored or _unknown_user_hash(), password)
    except (VerificationError, InvalidHashError):
        return False
    return stored is not None


class Gate:
    """Knows who is asking, from a request (pages, middleware) or from the page a handler runs on."""

    def __init__(self, settings: Settings) -> None:
        self.mode = settings.auth_mode
        self.accounts = settings.users
        self.header = settings.auth_header or ''
        self.default_role = settings.auth_default_role
        self.throttle = LoginThrottle()
        self.clock = time.monotonic  # tests freeze it

    def person_for(self, request: Request | None) -> Person | None:
        if self.mode == 'open':
            return LOCAL_PERSON
        if request is None:
            return None
        if self.mode == 'header':
            name = request.headers.get(self.header, '').strip()
            if not name or len(name) > MAX_NAME_CHARS:
                return None
            account = self.accounts.get(name)
            return Person(name, account.role if account else self.default_role)
        signed_in = app.storage.user.get(SESSION_KEY)
        account = self.accounts.get(signed_in) if isinstance(signed_in, str) else None
        return Person(str(signed_in), account.role) if account else None  # removed users are out at once

    def current(self) -> Person | None:
        """The person on whose page the running handler acts (None once they signed out)."""
        return self.person_for(context.client.request)

    async def sign_in(self, name: str, password: str, address: str) -> str | None:
        """Sign the session in; why not, when it fails (never which of name or password was wrong)."""
        if not name or len(name) > MAX_NAME_CHARS or len(password) > MAX_PASSWORD_CHARS:
            return WRONG
        keys = [f'user:{name.casefold()}', f'address:{address}']
        wait = self.throttle.wait_left(keys, self.clock())
        if wait > 0:
            return f'Too many failed sign-ins. Try again in {wait:.0f} s.'
        account = self.accounts.get(name)
        matches = await run.io_bound(password_matches, account, password)
        if not matches:
            self.throttle.failed(keys, self.clock())
            log.info('Failed sign-in for %r from %s', name, address)
            return WRONG
        self.throttle.succeeded(keys)
        app.storage.user[SESSION_KEY] = name
        log.info('%s signed in from %s', name, address)
        return None

    def sign_out(self) -> None:
        """End the session, and send every open tab of it to the sign-in form (they showed live data)."""
        app.storage.user.pop(SESSION_KEY, None)
        session = context.client.request.session.get('id')
        for client in list(Client.instances.values()):
            try:
                same = client.request.session.get('id') == session
            except (RuntimeError, AssertionError):  # a client without an HTTP request or session
                continue
            if same:
                with client:
                    ui.navigate.to('/login')


class SignInRequired(BaseHTTPMiddleware):
    """Every page but sign-in and health needs a known person: the form (password) or 401 (header)."""

    def __init__(self, app_: Callable[..., Awaitable[None]], gate: Gate) -> None:
        super().__init__(app_)
        self.gate = gate

    async def dispatch(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        path = request.url.path
        if self.gate.mode == 'open' or path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES):
            return await call_next(request)
        if self.gate.person_for(request) is not None:
            return await call_next(request)
        if self.gate.mode == 'header':
            return PlainTextResponse(
                f'Sign-in required: the authenticating proxy sent no {self.gate.header} header.',
                status_code=401,
            )
        wanted = path + (f'?{request.url.query}' if request.url.query else '')
        return RedirectResponse(f'/login?next={quote(wanted, safe="")}', status_code=303)


def register(gate: Gate) -> None:
    if gate.mode != 'open':
        app.add_middleware(SignInRequired, gate=gate)

    @ui.page('/login')
    def login_page(request: Request, next: str = '/') -> RedirectResponse | None:
        target = safe_next(next)
        if gate.mode != 'password' or gate.person_for(request) is not None:
            return RedirectResponse(target, status_code=303)
        ui.page_title('Sign in · DDA Portal')
        ui.colors(primary='#1f4e79')
        address = request.client.host if request.client else 'unknown'

        async def try_sign_in() -> None:
            problem.set_text('')
            button.props('loading')
            try:
                refused = await gate.sign_in(
                    str(name.value or '').strip(), str(password.value or ''), address
                )
            finally:
                button.props(remove='loading')
            if refused:
                problem.set_text(refused)
                password.set_value('')
                return
            ui.navigate.to(target)

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
    """The header's `name · role` and `Sign out` (password sign-in only: a proxy signs out itself)."""
    person = gate.current()
    if gate.mode == 'open' or person is None:
        return
    ui.label(f'{person.name} · {person.role.label}').classes('text-sm text-white').mark('signed-in-as')
    if gate.mode == 'password':

        def sign_out() -> None:
            gate.sign_out()  # this tab and the session's others go to the sign-in form

        ui.button('Sign out', icon='logout', on_click=sign_out).props('flat dense color=white no-caps').mark(
            'sign-out'
        )


def print_password_hash() -> None:
    """`python main.py --hash-password`: prompt twice on a terminal, else read one line from stdin."""
    if sys.stdin.isatty():
        password = getpass.getpass('Password: ')
        if getpass.getpass('Again: ') != password:
            raise SystemExit('The two passwords differ.')
    else:
        password = sys.stdin.readline().rstrip('\n')
    if not password:
        raise SystemExit('An empty password cannot be hashed.')
    print(hash_password(password))
