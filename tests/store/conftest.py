"""Fixtures for the store's tests: copies of databases earlier releases wrote (see fixtures/)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.store.databases import FIXTURES, RELEASES


@pytest.fixture(params=RELEASES)
def old_database(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """A copy of a database an earlier release wrote, alone in its own folder."""
    folder = tmp_path / 'data'
    folder.mkdir()
    return Path(shutil.copy(FIXTURES / request.param, folder / 'portal.db'))
