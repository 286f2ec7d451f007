"""Place keys as pages and filters read them: which use case a key belongs to, and one key per object.

A place key is a use case's name, or `name/region` for each region of a use case with several
(dda_portal.use_cases.Place). Without a use cases file there is one place, `default`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, MutableMapping
from typing import Any

DEFAULT_PLACE = 'default'  # dda_portal.use_cases.DEFAULT_USE_CASE


def use_case_name(key: str) -> str:
    """The use case of a place key: `line-1` of `line-1/eu-west-1`; a use case name is its own."""
    return key.partition('/')[0]


def object_key(place: str, name: str) -> str:
    """One key for an object named `name` in a place (names repeat across accounts): the bare name in the
    default place, as the portal always keyed it, else `place|name` (AWS names hold no `|`)."""
    return name if place == DEFAULT_PLACE else f'{place}|{name}'


def split_key(key: str) -> tuple[str, str]:
    """(place, name) of an object_key."""
    place, bar, name = key.rpartition('|')
    return (place, name) if bar else (DEFAULT_PLACE, key)


def place_label(key: str) -> str:
    """What people read for a place key (use_cases.Place.label): `line-1 · eu-west-1`."""
    return key.replace('/', ' · ')


def by_place(keys: Iterable[str]) -> dict[str, set[str]]:
    """Object keys grouped: place → the names in it (each place read on its own)."""
    grouped: dict[str, set[str]] = {}
    for key in keys:
        place, name = split_key(key)
        grouped.setdefault(place, set()).add(name)
    return grouped


class PlaceLog(logging.LoggerAdapter[logging.Logger]):
    """Log lines of one place of several, each starting with the place ("line-2: …")."""

    def process(
        self, msg: object, kwargs: MutableMapping[str, Any]
    ) -> tuple[object, MutableMapping[str, Any]]:
        return f'{(self.extra or {}).get("place")}: {msg}', kwargs


def place_log(logger: logging.Logger, place: str) -> logging.Logger | PlaceLog:
    """`logger` itself for the default place (one use case: the log reads as it always did), else lines
    that name the place."""
    return logger if place == DEFAULT_PLACE else PlaceLog(logger, {'place': place})
