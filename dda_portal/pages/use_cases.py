"""What pages show of use cases: the places the person may see, their labels, console links in the place's
region, and the links that carry `use-case=`.

With one place visible (always without a use cases file) nothing of this shows: no column, no filter, the
links and console links as they always were.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from nicegui import ui

from ..domain.access import Person
from ..domain.console import ConsoleLinks
from ..domain.filters import ListFilter
from ..domain.places import DEFAULT_PLACE, place_label, use_case_name
from ..services.actions import Actions
from ..use_cases import Place
from .widgets import filter_select


def seen_by(actions: Actions, person: Person | None) -> frozenset[str]:
    """The place keys `person` may see (none once signed out): what pages, exports and the API pass to the
    queries."""
    return person.visible(actions.gate.places) if person is not None else frozenset()


@dataclass(frozen=True)
class PlaceView:
    """The use cases as one person sees them, for one page."""

    person: Person | None
    places: dict[str, Place]  # every place the portal reads, by key
    seen: frozenset[str]  # the place keys the person may see
    consoles: Callable[[str], ConsoleLinks]  # a place's console links (its region)

    @classmethod
    def of(cls, actions: Actions, person: Person | None = None) -> PlaceView:
        """The view of `person` (default: whoever the running page is for)."""
        gate = actions.gate
        person = person if person is not None else gate.current()
        return cls(person, gate.places, seen_by(actions, person), console_of(actions))

    @property
    def several(self) -> bool:
        """Whether pages show a use case column and filter: the person may see more than one place."""
        return len(self.seen) > 1

    @property
    def names(self) -> list[str]:
        """The names of the use cases the person may see (the filter's choices)."""
        return sorted({use_case_name(key) for key in self.seen})

    def may_see(self, key: str) -> bool:
        return key in self.seen

    def label(self, key: str) -> str:
        place = self.places.get(key)
        return place.label if place is not None else key.replace('/', ' · ')

    def region(self, key: str) -> str:
        return self.consoles(key).region

    def console(self, key: str) -> ConsoleLinks:
        """Console links in the place's region."""
        return self.consoles(key)

    def where(self, key: str) -> str:
        """How a console link says where it goes when there are several places: ' (account …, region)'."""
        if not self.several:
            return ''
        place = self.places.get(key)
        account = place.use_case.account_id if place is not None else None
        return f' ({"account " + account + ", " if account else ""}{self.region(key)})'


def place_badge(view: PlaceView, key: str) -> None:
    """The use case an object belongs to, beside its name on its own page (several places only)."""
    if view.several:
        ui.chip(view.label(key), icon='work_outline').props('outline dense').mark('use-case')


def console_of(actions: Actions) -> Callable[[str], ConsoleLinks]:
    """A place's console links, in the region its clients use (also for reads in store threads, where
    nobody is signed in); the first place's for a place the portal does not read."""
    places, first = actions.places, actions.console

    def console(key: str) -> ConsoleLinks:
        found = places.get(key)
        return found.console if found is not None else first

    return console


USE_CASE_COLUMN: dict[str, Any] = {
    'name': 'use_case',
    'label': 'Use case',
    'field': 'use_case',
    'align': 'left',
    'sortable': True,
}


def with_use_case_column(columns: list[dict[str, Any]], view: PlaceView) -> list[dict[str, Any]]:
    """The table's columns, the use case's second when the person sees several places."""
    return [columns[0], USE_CASE_COLUMN, *columns[1:]] if view.several else columns


def place_fields(key: str) -> dict[str, str]:
    """What a row says of its place: `place` (the key, for filtering) and `use_case` (its label)."""
    return {'place': key, 'use_case': place_label(key)}


def chosen_use_cases(view: PlaceView, params: Iterable[tuple[str, str]]) -> frozenset[str]:
    """The use case names chosen in the URL (`use-case=`, comma-separated, repeatable) among those the
    person may see."""
    return ListFilter.from_query(params, {}, view.names).use_cases


def row_keeper(view: PlaceView, chosen: frozenset[str]) -> Callable[[dict[str, Any]], bool]:
    """Which rows (with `place`) a tab shows: those of the places the person may see, of the chosen use
    cases when some are chosen."""

    def keep(row: dict[str, Any]) -> bool:
        place = str(row.get('place', DEFAULT_PLACE))
        return place in view.seen and (not chosen or use_case_name(place) in chosen)

    return keep


def use_case_filter(view: PlaceView, chosen: frozenset[str], path: str) -> None:
    """The use case filter of a page without other filters: choosing opens the page with `use-case=`."""
    if not view.several:
        return

    def choose(names: list[str] | None) -> None:
        query = ListFilter(use_cases=frozenset(names or ())).to_query()
        ui.navigate.to(f'{path}?{query}' if query else path)

    filter_select(view.names, sorted(chosen), 'Use case', lambda e: choose(e.value), 'use-case-filter')
