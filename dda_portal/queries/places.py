"""The place (use_cases.Place.key) a query works in, and the places a reader may see.

Writes and the lookups of one object by name work in *the session's place*: the one the store was asked to
work in for this thread (`Store.at`), the default use case otherwise. Lists for pages take `use_cases`: the
place keys the reader may see (None: all)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import ColumnElement, true
from sqlmodel import Session, col

from ..use_cases import DEFAULT_USE_CASE

PLACE = 'dda_portal.place'


def place_of(session: Session) -> str:
    """The place this session reads and writes one object in (Store.at; the default use case otherwise)."""
    return str(session.info.get(PLACE, DEFAULT_USE_CASE))


def here(column: Any, session: Session, use_case: str | None = None) -> ColumnElement[bool]:
    """`column` (a table's use_case) is `use_case` (a place key; None: the session's place)."""
    return col(column) == (place_of(session) if use_case is None else use_case)


def visible(column: Any, use_cases: Collection[str] | None) -> ColumnElement[bool]:
    """`column` (a table's use_case) is one of the places a reader may see (None: every place)."""
    if use_cases is None:
        return true()
    return col(column).in_(sorted(use_cases))
