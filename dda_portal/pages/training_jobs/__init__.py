"""`/`: every training job with its training status and compilation rollup, for an operator's overview."""

from __future__ import annotations

from fastapi import Request
from nicegui import app, background_tasks, ui

from ...services.actions import Actions
from ...store import Store
from ..feeds import Durations
from ..layout import frame
from ..use_cases import PlaceView
from .feed import ListFeed
from .view import TrainingJobsList


def register(store: Store, actions: Actions) -> ListFeed:
    feed = ListFeed(store, Durations.of(store))
    # read every job once the app runs, so that the first visitor does not wait for it
    app.on_startup(lambda: background_tasks.create(_warm(feed), name='read training jobs at start'))

    # pages opened together right after a start wait for one read of every job: NiceGUI's 3 s default is short
    @ui.page('/', response_timeout=30)
    async def training_jobs_page(request: Request) -> None:
        # before any element exists, so that the response waits for the whole page (a worker thread reads
        # the jobs the first time; later pages share what the feed keeps)
        jobs = await feed.current()
        if jobs is None:  # the app is shutting down
            return
        await feed.durations.current()
        with frame('Training jobs', store, actions):
            ui.label('Training jobs').classes('text-2xl font-bold')
            TrainingJobsList(feed, request.query_params.multi_items(), actions.check, PlaceView.of(actions))

    return feed


async def _warm(feed: ListFeed) -> None:
    await feed.current()
    await feed.durations.current()
