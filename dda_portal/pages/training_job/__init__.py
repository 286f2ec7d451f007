"""`/training-jobs/{name}`: Overview, Logs and Compilation tabs of one training job, updated live.

`?use-case=<place key>` names the job's use case (names repeat across accounts); without it, the job of that
name in the only place the person may see that has one; two or more: a page to choose from.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request
from nicegui import ui
from sqlmodel import Session

from ...domain.filters import USE_CASE
from ...domain.guidance import GuidanceBook
from ...domain.places import DEFAULT_PLACE, by_place, object_key
from ...domain.targets import TargetCatalog
from ...queries import job_page, jobs
from ...queries.job_page import JobSnapshot
from ...services.actions import Actions
from ...store import Store
from ..feeds import EVERY_KEY, Durations, Feed
from ..layout import frame
from ..links import job_link
from ..use_cases import PlaceView
from .view import TABS, TrainingJobView

Pages = dict[str, JobSnapshot]  # by object_key(place, name)


def read_pages(session: Session, keys: frozenset[str]) -> Pages:
    """The pages of these jobs (object keys), each read in its own place."""
    found: Pages = {}
    for place, names in by_place(keys).items():
        pages = job_page.job_pages(session, frozenset(names), [place])
        found.update((object_key(place, name), page) for name, page in pages.items())
    return found


def places_named(session: Session, name: str, seen: frozenset[str]) -> list[str]:
    """The places among `seen` that have a training job of this name."""
    return sorted({job.use_case for job in jobs.training_jobs_named(session, [name], seen)})


def register(store: Store, actions: Actions, catalog: TargetCatalog, guidance: GuidanceBook) -> None:
    # one feed for every open training job page: a change is read once for all tabs of the jobs it touched
    # a fleet that now runs on other architectures changes what every job page says it still needs
    def keys_of(changed: Any) -> Any:
        if changed.fleet_architectures:
            return EVERY_KEY
        return frozenset(changed.training_jobs) & frozenset(feed.followed())

    feed: Feed[str, Pages] = Feed(store, 'training job pages', keys_of, read_pages)
    durations = Durations.of(store)

    @ui.page('/training-jobs/{name}')
    async def training_job_page(request: Request, name: str, tab: str = 'overview') -> None:
        places = PlaceView.of(actions)
        asked = request.query_params.get(USE_CASE)
        if asked is not None:
            found = [asked] if places.may_see(asked) else []
        else:
            found = await store.fetch(places_named, name, places.seen)
        if len(found) > 1:
            choose(store, actions, places, name, found, tab)
            return
        place = found[0] if found else DEFAULT_PLACE
        # followed before the first read, so that a change committed meanwhile is read again and shown
        deliveries = Deliveries()
        feed.follow(object_key(place, name), deliveries.take)
        snapshot = await store.fetch(job_page.job_page, name, place) if places.may_see(place) else None
        if snapshot is None:
            ui.status_code(404)
            with frame('Not found', store, actions):
                ui.label('Training job not found').classes('text-2xl font-bold')
                ui.label(f'The portal knows no training job named “{name}”.').mark('not-found')
                ui.link('Back to all training jobs', '/')
            return
        if tab not in TABS:
            ui.status_code(400)
            with frame('Unknown tab', store, actions):
                ui.label('Unknown tab').classes('text-2xl font-bold')
                ui.label(
                    f'There is no tab “{tab[:100]}”; a training job has {", ".join(TABS.values())}.'
                ).classes('break-all').mark('unknown-tab')
                ui.link(f'Open {snapshot.job.name}', job_link(snapshot.job.name, place))
            return
        await durations.current()
        view = TrainingJobView(store, actions, catalog, guidance, durations, snapshot, tab, places)
        deliveries.hand_to(view.on_delivery)


def choose(store: Store, actions: Actions, places: PlaceView, name: str, found: list[str], tab: str) -> None:
    """Training jobs of the same name in several use cases: the person picks one."""
    with frame(name, store, actions):
        ui.label(name).classes('text-2xl font-bold break-all').mark('job-name')
        ui.label(f'{len(found)} use cases have a training job named “{name}”. Which one?').mark(
            'choose-use-case'
        )
        shown_tab = tab if tab in TABS and tab != 'overview' else None
        for place in found:
            link = job_link(name, place, shown_tab, always=True)
            ui.link(places.label(place), link).mark('use-case-choice')


class Deliveries:
    """The feed's deliveries to one tab: kept until its view exists, then handed on as they come."""

    def __init__(self) -> None:
        self.waiting: tuple[frozenset[str], Pages] | None = None
        self.tab: Callable[[frozenset[str], Pages], Any] | None = None

    def take(self, keys: frozenset[str], pages: Pages) -> None:
        if self.tab is None:
            self.waiting = (keys, pages)
        else:
            self.tab(keys, pages)

    def hand_to(self, tab: Callable[[frozenset[str], Pages], Any]) -> None:
        self.tab = tab
        if self.waiting is not None:
            waiting, self.waiting = self.waiting, None
            tab(*waiting)
