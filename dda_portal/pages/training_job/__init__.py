"""`/training-jobs/{name}`: Overview, Logs and Compilation tabs of one training job, updated live."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from nicegui import ui

from ...domain.guidance import GuidanceBook
from ...domain.targets import TargetCatalog
from ...queries import job_page
from ...queries.job_page import JobSnapshot
from ...services.actions import Actions
from ...store import Store
from ..feeds import EVERY_KEY, Durations, Feed
from ..layout import frame
from .view import TABS, TrainingJobView

Pages = dict[str, JobSnapshot]


def register(store: Store, actions: Actions, catalog: TargetCatalog, guidance: GuidanceBook) -> None:
    # one feed for every open training job page: a change is read once for all tabs of the jobs it touched
    # a fleet that now runs on other architectures changes what every job page says it still needs
    feed: Feed[str, Pages] = Feed(
        store,
        'training job pages',
        keys_of=lambda changed: EVERY_KEY if changed.fleet_architectures else changed.training_jobs,
        read=job_page.job_pages,
    )
    durations = Durations.of(store)

    @ui.page('/training-jobs/{name}')
    async def training_job_page(name: str, tab: str = 'overview') -> None:
        # followed before the first read, so that a change committed meanwhile is read again and shown
        deliveries = Deliveries()
        feed.follow(name, deliveries.take)
        snapshot = await store.fetch(job_page.job_page, name)
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
                ui.link(f'Open {snapshot.job.name}', f'/training-jobs/{quote(snapshot.job.name)}')
            return
        await durations.current()
        view = TrainingJobView(store, actions, catalog, guidance, durations, snapshot, tab)
        deliveries.hand_to(view.on_delivery)


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
