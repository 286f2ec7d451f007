"""Reading store databases in tests: digests and every row of every table."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

FIXTURES = Path(__file__).parent / 'fixtures'
# the last release before Alembic (e668a93), and one from before automatic compilation (d51e8ec)
RELEASES = ['previous-release.db', 'before-auto-compile.db']


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def rows(path: Path) -> dict[str, list[dict[str, object]]]:
    """Every row of every table (but Alembic's), as dictionaries, in primary-key order."""
    db = sqlite3.connect(path)
    db.row_factory = sqlite3.Row
    try:
        tables = [
            name
            for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            if name != 'alembic_version'
        ]
        return {t: [dict(r) for r in db.execute(f'SELECT * FROM "{t}" ORDER BY 1')] for t in tables}
    finally:
        db.close()
