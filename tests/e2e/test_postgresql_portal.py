"""The portal itself on PostgreSQL: `main.py --demo` with DDA_DATABASE_URL=postgresql+psycopg://… upgrades
the empty database, refreshes into it and says it is ready; started again on the same database, it is ready
too."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.conftest import running_portal


def test_the_demo_portal_runs_on_postgresql_and_starts_again_on_it(
    postgresql_url: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    env = {'DDA_DATABASE_URL': postgresql_url, 'DDA_REFRESH_SECONDS': '2'}
    for start in ('first', 'again'):
        with running_portal(tmp_path_factory.mktemp(start), ['--demo'], env) as url:
            ready = httpx.get(f'{url}/readyz', timeout=5).json()
            assert ready['status'] == 'ready' and ready['problems'] == [], ready
            assert ready['last_successful_refresh'] is not None
