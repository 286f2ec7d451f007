"""deploy/compose.yaml holds what several replicas need: one PostgreSQL they share, the same storage secret
and users on each, Traefik in front with sticky sessions and health checks, and the portal trusting Traefik
only. (Docker is not run here: the file is read as Compose reads it, merge keys and variables included.)"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.engine import make_url

from dda_portal.auth import hash_password
from dda_portal.config import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / 'deploy' / 'compose.yaml'
VARIABLE = re.compile(r'\$\{(\w+)(?::([?-])([^}]*))?\}')
ENV = {
    'POSTGRES_PASSWORD': 'pg0secret',
    'DDA_STORAGE_SECRET': 'a-secret-of-more-than-16-characters',
    'AWS_REGION': 'eu-west-1',
}


@pytest.fixture(scope='module')
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(loaded, dict)
    return loaded


def portals(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The services built from the repository's Dockerfile."""
    return {
        name: service
        for name, service in compose['services'].items()
        if (COMPOSE.parent / service.get('build', {}).get('context', '/nowhere') / 'Dockerfile').resolve()
        == ROOT / 'Dockerfile'
    }


def interpolate(value: str, env: dict[str, str]) -> str:
    """`${NAME}`, `${NAME:-default}` and `${NAME:?error}` as Compose resolves them."""

    def one(match: re.Match[str]) -> str:
        name, kind, rest = match.groups()
        if env.get(name):
            return env[name]
        if kind == '?':
            raise KeyError(f'{name}: {rest}')
        return rest if kind == '-' else ''

    return VARIABLE.sub(one, value)


def test_two_replicas_share_the_database_the_secret_and_the_users(compose: dict[str, Any]) -> None:
    replicas = portals(compose)
    assert len(replicas) >= 2
    environments = [r['environment'] for r in replicas.values()]
    for key in ('DDA_DATABASE_URL', 'DDA_STORAGE_SECRET', 'DDA_USERS_FILE', 'DDA_TRUSTED_PROXIES'):
        assert len({e[key] for e in environments}) == 1, key
    first = environments[0]
    url = make_url(interpolate(first['DDA_DATABASE_URL'], ENV))
    assert url.drivername == 'postgresql+psycopg' and url.host == 'postgres'
    assert 'postgres' in compose['services']
    with pytest.raises(KeyError, match='DDA_STORAGE_SECRET'):  # never a default: Compose stops without it
        interpolate(first['DDA_STORAGE_SECRET'], {})
    for replica in replicas.values():
        assert f'./users.toml:{first["DDA_USERS_FILE"]}:ro' in replica['volumes']  # the same file, read-only
        assert replica['depends_on']['postgres']['condition'] == 'service_healthy'
    assert len({r['hostname'] for r in replicas.values()}) == len(replicas)  # each replica says who it is


def test_the_replicas_settings_are_valid_and_mean_password_sign_in_on_postgresql(
    compose: dict[str, Any], tmp_path: Path
) -> None:
    users = tmp_path / 'users.toml'
    users.write_text(f'[users.alice]\nrole = "operator"\npassword_hash = "{hash_password("pw-of-alice")}"\n')
    environment = next(iter(portals(compose).values()))['environment']
    values = {
        key.removeprefix('DDA_').lower(): interpolate(value, ENV)
        for key, value in environment.items()
        if key.startswith('DDA_') and value is not None
    }
    settings = Settings(**{**values, 'users_file': users, 'host': '0.0.0.0'})  # the image's DDA_HOST
    assert settings.auth_mode == 'password'
    assert settings.database_url.startswith('postgresql+psycopg://')


def test_postgresql_keeps_its_data_in_a_named_volume_and_reports_its_health(compose: dict[str, Any]) -> None:
    postgres = compose['services']['postgres']
    assert postgres['image'].startswith('postgres:')
    volume = postgres['volumes'][0].split(':')[0]
    assert volume in compose['volumes']
    assert 'pg_isready' in ' '.join(postgres['healthcheck']['test'])
    assert compose['networks'][postgres['networks'][0]].get('internal') is True  # no way in but the portals


def test_traefik_balances_with_sticky_sessions_and_health_checks(compose: dict[str, Any]) -> None:
    traefik = compose['services']['traefik']
    assert traefik['image'].startswith('traefik:v3')
    labels_of = [r['labels'] for r in portals(compose).values()]
    assert all(labels == labels_of[0] for labels in labels_of)  # one Traefik service, one server per replica
    labels = labels_of[0]
    service = 'traefik.http.services.portal.loadbalancer'
    assert labels[f'{service}.sticky.cookie'] == 'true'
    assert labels[f'{service}.sticky.cookie.name']
    assert labels[f'{service}.sticky.cookie.httponly'] == 'true'
    assert labels[f'{service}.sticky.cookie.secure'] == 'true'
    assert labels[f'{service}.healthcheck.path'] == '/healthz'
    assert labels[f'{service}.healthcheck.hostname'] in ('localhost', '127.0.0.1')  # always served
    assert not any('ports' in r for r in portals(compose).values())  # only Traefik is published


def test_the_portal_trusts_forwarded_headers_from_traefik_alone(compose: dict[str, Any]) -> None:
    traefik = compose['services']['traefik']
    command = ' '.join(traefik['command']).lower()
    assert 'forwardedheaders.insecure' not in command and 'forwardedheaders.trustedips' not in command
    addresses = [n['ipv4_address'] for n in traefik['networks'].values()]
    for replica in portals(compose).values():
        assert replica['environment']['DDA_TRUSTED_PROXIES'] in addresses


def test_the_image_installs_the_postgresql_driver() -> None:
    dockerfile = (ROOT / 'Dockerfile').read_text()
    assert '-r /tmp/requirements.lock' in dockerfile
    lock = (ROOT / 'requirements.lock').read_text()
    assert re.search(r'^psycopg==', lock, re.M) and re.search(r'^psycopg-binary==', lock, re.M)
