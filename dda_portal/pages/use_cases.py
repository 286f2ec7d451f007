"""What pages show of use cases: the places the person may see, their labels, console links in the place's
region, and the links that carry `use-case=`.

With one place visible (always without a use cases file) nothing of this shows: no column, no filter, the
links and console links as they always were.
"""

from __future__ import annotations

from dataclasses import dataclass

from nicegui import ui

from ..domain.access import Person
from ..domain.console import ConsoleLinks
from ..domain.places import use_case_name
from ..services.actions import Actions
from ..use_cases import Place


@dataclass(frozen=True)
class PlaceView:
    """The use cases as one person sees them, for one page."""

    person: Person | None
    places: dict[str, Place]  # every place the portal reads, by key
    seen: frozenset[str]  # the place keys the person may see
    home_region: str  # where a place without its own region is (the home credential chain's)

    @classmethod
    def of(cls, actions: Actions, person: Person | None = None) -> PlaceView:
        """The view of `person` (default: whoever the running page is for)."""
        gate = actions.gate
        person = person if person is not None else gate.current()
        return cls(person, gate.places, gate.visible(person), actions.console.region)

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
        place = self.places.get(key)
        return place.region if place is not None and place.region else self.home_region

    def console(self, key: str) -> ConsoleLinks:
        """Console links in the place's region."""
        return ConsoleLinks(self.region(key))

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
