"""Settings: read once from the environment (prefix DDA_) and the command line, validated at start."""

from __future__ import annotations

import argparse
import ipaddress
import os
import re
import socket
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import apprise
from apprise.utils.parse import parse_urls
from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .accounts import Account, read_users_file
from .domain import alerts, attempts
from .domain.access import Role
from .use_cases import Place, RoleArn, S3Uri, UseCase, UseCasesFile, places_of, use_cases_from

LOOPBACK_NAMES = {'localhost'}
MIN_SECRET_CHARS = 16
LOOPBACK_HOST_NAMES = ('localhost', '127.0.0.1', '[::1]')
WILDCARD_ADDRESSES = {'0.0.0.0', '[::]', ''}  # listening on every address names no host
HOST_PATTERN = re.compile(r'(\*\.)?[a-z0-9_-]+(\.[a-z0-9_-]+)*|\[[0-9a-f:.]+\]')


def default_replica_id() -> str:
    return f'{socket.gethostname()}:{os.getpid()}'


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix='DDA_', extra='ignore')

    database_url: str = Field('sqlite:///data/dda-portal.db', description='SQLAlchemy URL of the store')
    host: str = '127.0.0.1'
    port: int = Field(8080, ge=1, le=65535)
    refresh_seconds: float = Field(30.0, gt=0, description='seconds between two AWS refreshes')
    history_days: int = Field(30, ge=1, description='how far back the first refresh looks')
    sync_overlap_seconds: int = Field(
        300, ge=0, description='re-list jobs modified this long before the watermark'
    )
    sync_enabled: bool = Field(True, description='run the periodic refresh (tests switch it off)')
    replica_id: str = Field(
        default_factory=default_replica_id, description='names this portal among replicas (default host:pid)'
    )
    leader_retry_seconds: float | None = Field(
        None,
        gt=0,
        description='how often a replica tries to lead (default: a third of the refresh, at most 5 s)',
    )
    targets_file: Path | None = None
    use_cases_file: UseCasesFile | None = Field(None, description='TOML: [use_cases.NAME] account, role…')
    sagemaker_role_arn: RoleArn | None = Field(None, description='IAM role SageMaker assumes to compile')
    compile_output_s3: S3Uri | None = Field(
        None, description='where compiled models go (default: beside the training output)'
    )
    auto_compile_targets: str = Field('', description='comma-separated target ids compiled automatically')
    framework: str = 'PYTORCH'
    framework_version: str = '1.8'
    input_shape: str = '[1,3,224,224]'
    compile_max_runtime_seconds: int = Field(900, ge=60, le=86400)
    auto_package: bool = Field(False, description='package every newly completed compilation as a component')
    component_name_template: str = Field(
        'model-{name}-{target}', description='{name}: training job, {target}'
    )
    greengrass_enabled: bool = Field(True, description='read Greengrass components and core devices')
    device_refresh_seconds: float = Field(300.0, gt=0, description='seconds between two device inventories')
    storage_secret: str | None = Field(None, description='signs the session cookie (needed with sign-in)')
    users_file: Path | None = Field(None, description='TOML file: [users.NAME] role or roles, password_hash')
    users: dict[str, Account] = Field(default_factory=dict, description='JSON: {"NAME": {"role": …}}')
    auth_header: str | None = Field(None, description='trusted header with the user name, set by a proxy')
    auth_default_role: Role = Field(Role.OPERATOR, description='role of proxy users not listed in users')
    trusted_proxies: str = Field(
        '', description='comma-separated addresses or CIDR ranges of the proxies whose headers count'
    )
    insecure_no_auth: bool = Field(False, description='allow a non-loopback address without sign-in')
    allowed_hosts: str = Field(
        '', description='comma-separated Host names served besides loopback names and DDA_HOST'
    )
    alert_urls: str = Field('', description='Apprise URLs alerts go to (commas or spaces between them)')
    alert_rules: str = Field(alerts.DEFAULT_RULES, description='which transitions are sent')
    public_url: str | None = Field(None, description='where alert links point (default http://HOST:PORT)')
    alert_retry_seconds: float = Field(30.0, ge=0, description='wait after a failed send; doubles each try')
    alert_tries: int = Field(8, ge=1, description='tries before an alert is marked undeliverable')
    alert_check_seconds: float = Field(10.0, gt=0, description='how often alerts due are sent')
    demo: bool = False
    demo_step_seconds: float = Field(8.0, gt=0, description='demo simulator pace')

    @field_validator('targets_file', 'users_file', 'use_cases_file')
    @classmethod
    def _file_exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f'no such file: {value}')
        return value

    @field_validator(
        'sagemaker_role_arn', 'compile_output_s3', 'auth_header', 'storage_secret', mode='before'
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == '' else value

    @field_validator('trusted_proxies')
    @classmethod
    def _networks(cls, value: str) -> str:
        for entry in _split(value):
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(f'{entry!r} is not an IP address or CIDR range') from None
        return value

    @field_validator('alert_urls')
    @classmethod
    def _apprise_urls(cls, value: str) -> str:
        for number, url in enumerate(alert_url_list(value), 1):
            if apprise.Apprise.instantiate(url) is None:
                raise ValueError(f'URL {number} ({channel_name(url)}) is not an Apprise URL it can send to')
        return value

    @field_validator('alert_rules')
    @classmethod
    def _alert_rules(cls, value: str) -> str:
        alerts.parse_rules(value)
        return value

    @field_validator('public_url')
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if value in (None, ''):
            return None
        parts = urlsplit(value)
        if parts.scheme not in ('http', 'https') or not parts.netloc:
            raise ValueError('must be an http(s) URL like https://portal.example.com')
        return value.rstrip('/')

    @property
    def alert_channels(self) -> list[str]:
        return alert_url_list(self.alert_urls)

    @property
    def alert_kinds(self) -> frozenset[str]:
        return alerts.parse_rules(self.alert_rules)

    @property
    def public_base_url(self) -> str:
        """Where alerts link to: DDA_PUBLIC_URL, else the address the portal listens on."""
        if self.public_url:
            return self.public_url
        host = host_name(self.host)
        return f'http://{"127.0.0.1" if host in WILDCARD_ADDRESSES else host}:{self.port}'

    @field_validator('input_shape')
    @classmethod
    def _shape(cls, value: str) -> str:
        attempts.parse_input_shape(value)
        return value

    @model_validator(mode='after')
    def _sign_in(self) -> Settings:
        if self.users_file is not None:
            self.users = {**read_users_file(self.users_file), **self.users}
        if self.auth_header is None and self.users and not any(a.password_hash for a in self.users.values()):
            raise ValueError('users need a password_hash unless DDA_AUTH_HEADER is set')
        if self.auth_mode == 'open':
            if not self.insecure_no_auth and not is_loopback(self.host):
                raise ValueError(
                    f'the portal would listen on {self.host} without sign-in: set DDA_USERS_FILE, DDA_USERS '
                    'or DDA_AUTH_HEADER, or pass --insecure-no-auth'
                )
        elif self.auth_mode == 'header' and not self.trusted_proxies and not is_loopback(self.host):
            raise ValueError(
                f'DDA_AUTH_HEADER is trusted only from the proxy: set DDA_TRUSTED_PROXIES to its address(es) '
                f'when the portal listens on {self.host}'
            )
        if self.auth_mode != 'open' and (
            self.storage_secret is None or len(self.storage_secret) < MIN_SECRET_CHARS
        ):
            shared = '' if self.database_url.startswith('sqlite') else ', the same on every replica'
            raise ValueError(
                f'DDA_STORAGE_SECRET must be set to at least {MIN_SECRET_CHARS} characters '
                f'with sign-in{shared}'
            )
        return self

    @model_validator(mode='after')
    def _roles_name_use_cases(self) -> Settings:
        """A users file naming a use case the portal does not read stops the start (a typo would hide it)."""
        if not any(account.roles for account in self.users.values()):
            return self
        names = [use_case.name for use_case in self.use_cases]
        for name, account in self.users.items():
            unknown = sorted(set(account.roles) - set(names))
            if unknown:
                where = self.users_file if self.users_file is not None else 'DDA_USERS'
                raise ValueError(
                    f'{where}: user {name}: roles: no use case {unknown[0]!r} '
                    f'(the use cases are {", ".join(names)})'
                )
        return self

    @property
    def auth_mode(self) -> Literal['open', 'password', 'header']:
        """How people are known: nobody signs in, a password form, or a trusted proxy header."""
        if self.auth_header:
            return 'header'
        return 'password' if self.users else 'open'

    @field_validator('allowed_hosts')
    @classmethod
    def _host_names(cls, value: str) -> str:
        for name in value.split(','):
            if name.strip() and not HOST_PATTERN.fullmatch(host_name(name)):
                raise ValueError(
                    f'{name.strip()!r} is not a host name or address '
                    '(no scheme or port; *.example.com is allowed)'
                )
        return value

    @property
    def allowed_host_names(self) -> list[str]:
        """Host header values (without port, lower case) the portal serves: loopback names, the address it
        listens on unless it is a wildcard, and DDA_ALLOWED_HOSTS."""
        names = [*LOOPBACK_HOST_NAMES]
        if host_name(self.host) not in WILDCARD_ADDRESSES:
            names.append(host_name(self.host))
        names += [host_name(n) for n in self.allowed_hosts.split(',') if n.strip()]
        return list(dict.fromkeys(names))

    @property
    def trusted_proxy_networks(self) -> list[IPNetwork]:
        """Peers whose X-Forwarded-* and identity headers count; on a loopback address without the setting,
        a proxy on this machine (127.0.0.1, ::1) — never another address of 127.0.0.0/8."""
        entries = _split(self.trusted_proxies) or (['127.0.0.1', '::1'] if is_loopback(self.host) else [])
        return [ipaddress.ip_network(entry, strict=False) for entry in entries]

    @property
    def leader_retry(self) -> float:
        """Seconds between two tries to lead (and two checks of the lead): well under one refresh interval, so
        that another replica takes over within two when the leader dies."""
        if self.leader_retry_seconds is not None:
            return self.leader_retry_seconds
        return min(5.0, self.refresh_seconds / 3)

    @property
    def use_cases(self) -> list[UseCase]:
        return use_cases_from(self.use_cases_file)

    @property
    def places(self) -> dict[str, Place]:
        """Every account-region pair of the use cases, by place key (what a person's roles make visible)."""
        return {place.key: place for place in places_of(self.use_cases)}

    @property
    def auto_compile_target_ids(self) -> list[str]:
        return [t.strip() for t in self.auto_compile_targets.split(',') if t.strip()]


def host_name(host: str) -> str:
    """How a host appears in a Host header without its port: lower case, IPv6 addresses in brackets."""
    host = host.strip().lower()
    try:
        address = ipaddress.ip_address(host.removeprefix('[').removesuffix(']'))
    except ValueError:
        return host
    return f'[{address.compressed}]' if address.version == 6 else address.compressed


IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def alert_url_list(text: str) -> list[str]:
    """Apprise URLs as Apprise splits them (commas or spaces between them)."""
    return [url for url in parse_urls(text) if url.strip()]  # type: ignore[no-untyped-call]


def channel_name(url: str) -> str:
    """How pages and messages name an alert channel without its secrets (Apprise URLs hold tokens): the
    scheme, and the host of a web hook (json://, xml://, form://); never a user, password, path or query."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower() or 'unknown'
    if scheme in {'json', 'jsons', 'xml', 'xmls', 'form', 'forms'} and parts.hostname:
        return f'{scheme}://{parts.hostname}'
    return f'{scheme}://…'


def _split(value: str) -> list[str]:
    return [entry.strip() for entry in value.split(',') if entry.strip()]


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class SettingsError(SystemExit):
    """A missing or invalid setting: the portal stops with one clear line."""


def parse_cli(argv: list[str] | None) -> dict[str, object]:
    parser = argparse.ArgumentParser(prog='main.py', description='DDA Portal')
    parser.add_argument('--demo', action='store_true', help='run against a local AWS emulator with demo data')
    parser.add_argument('--host', help='address to listen on (default 127.0.0.1, env DDA_HOST)')
    parser.add_argument('--port', type=int, help='port to listen on (default 8080, env DDA_PORT)')
    parser.add_argument('--database-url', help='SQLAlchemy URL of the store (env DDA_DATABASE_URL)')
    parser.add_argument(
        '--refresh-seconds', type=float, help='seconds between AWS refreshes (env DDA_REFRESH_SECONDS)'
    )
    parser.add_argument(
        '--insecure-no-auth',
        action='store_true',
        help='listen on a non-loopback address without sign-in (env DDA_INSECURE_NO_AUTH)',
    )
    parser.add_argument(
        '--hash-password',
        action='store_true',
        help='read a password (prompt or stdin), print its argon2 hash for a users file, and exit',
    )
    tokens = parser.add_argument_group('API tokens (each command changes the store and exits)')
    tokens.add_argument('--create-token', metavar='NAME', help='make an API token, print it once, and exit')
    tokens.add_argument(
        '--role', choices=['operator', 'data-scientist'], help='the role of the token --create-token makes'
    )
    tokens.add_argument(
        '--revoke-token', metavar='NAME', help='revoke an API token (within seconds) and exit'
    )
    tokens.add_argument(
        '--list-tokens', action='store_true', help='list API tokens (never the tokens themselves) and exit'
    )
    args = parser.parse_args(argv)
    commands = [c for c in ('create_token', 'revoke_token', 'list_tokens') if getattr(args, c)]
    if len(commands) > 1:
        parser.error('give one of --create-token, --revoke-token, --list-tokens')
    if args.create_token is not None and args.role is None:
        parser.error('--create-token needs --role operator or --role data-scientist')
    if args.role is not None and args.create_token is None:
        parser.error('--role goes with --create-token')
    return {key: value for key, value in vars(args).items() if value not in (None, False)}


TOKEN_OPTIONS = ('create_token', 'role', 'revoke_token', 'list_tokens')


def load_settings(overrides: dict[str, object] | None = None) -> Settings:
    try:
        return Settings(**(overrides or {}))  # type: ignore[arg-type]
    except ValidationError as error:
        first = error.errors()[0]
        message = first['msg'].removeprefix('Value error, ')
        if not first['loc']:  # a rule across settings
            raise SettingsError(f'Invalid settings: {message}') from None
        name = 'DDA_' + '_'.join(str(p) for p in first['loc']).upper()
        raise SettingsError(f'Invalid setting {name}: {message}') from None
