"""Links to an object's page: `use-case=<place key>` rides along except in the default place (names repeat
across use cases; without a use cases file the links are as they always were)."""

from __future__ import annotations

from urllib.parse import quote

from ..domain.filters import USE_CASE
from ..domain.places import DEFAULT_PLACE


def with_place(path: str, key: str, *, always: bool = False) -> str:
    """`path` for an object of place `key`: with `use-case=<key>` unless it is the default place (`always`:
    even then)."""
    if key == DEFAULT_PLACE and not always:
        return path
    joiner = '&' if '?' in path else '?'
    return f'{path}{joiner}{USE_CASE}={quote(key, safe="/")}'


def job_link(name: str, key: str, tab: str | None = None, *, always: bool = False) -> str:
    """The page of training job `name` of place `key`."""
    path = f'/training-jobs/{quote(name, safe="")}'
    return with_place(f'{path}?tab={tab}' if tab else path, key, always=always)


def device_link(thing: str, key: str) -> str:
    return with_place(f'/devices/{quote(thing, safe="")}', key)
