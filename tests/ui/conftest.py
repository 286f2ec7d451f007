"""Page tests: NiceGUI's simulated user runs main.py against a fresh store, with the refresh off."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import fastapi.dependencies.models as fastapi_models
import pytest


@pytest.fixture(autouse=True)
def portal_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv('DDA_DATABASE_URL', f'sqlite:///{tmp_path / "ui.db"}')
    monkeypatch.setenv('DDA_SYNC_ENABLED', 'false')
    monkeypatch.setenv('DDA_ALLOWED_HOSTS', 'test')  # the Host of the simulated user's requests
    monkeypatch.setenv('AWS_ACCESS_KEY_ID', 'testing')
    monkeypatch.setenv('AWS_SECRET_ACCESS_KEY', 'testing')
    monkeypatch.setenv('AWS_DEFAULT_REGION', 'us-east-1')
    monkeypatch.setenv('AWS_ENDPOINT_URL', 'http://127.0.0.1:9')  # nothing listens: AWS calls fail fast
    yield
    # FastAPI remembers every endpoint it classified (an lru_cache keyed by the function): each test builds a
    # portal whose routes close over its store, so without this every earlier portal stays alive and each
    # test's start grows slower with the garbage collector's work
    for cached in (
        fastapi_models._is_gen_callable_cached,
        fastapi_models._is_async_gen_callable_cached,
        fastapi_models._is_coroutine_callable_cached,
    ):
        cached.cache_clear()
