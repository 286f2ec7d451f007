"""The first-run explanation: while SageMaker's part of the refresh has never succeeded and last failed for
a set-up reason (no credentials, no region, an expired session, unknown keys, a denied call), every page
shows what to set instead of an error banner over an empty table; the first good refresh brings the page
back."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from nicegui import ui

from ..domain.refresh import SAGEMAKER
from ..domain.setup_help import DEMO, SetupHelp, first_run
from ..queries.freshness import Freshness


def help_for(freshness: Freshness) -> SetupHelp | None:
    """The explanation the freshness calls for, or None (the page as usual)."""
    row = freshness.parts.get(SAGEMAKER)
    if row is None or row.failed_at is None:
        return None
    return first_run(freshness.last_success is None, row.error_code, row.error_message, row.error_call)


class FirstRunPanel:
    """A page-level panel, hidden until `show` is given an explanation; redrawn only when it changes."""

    def __init__(self, try_again: Callable[[], Awaitable[None]]) -> None:
        self.try_again = try_again
        self.shown: SetupHelp | None = None
        self.card = (
            ui.column()
            .classes('w-full max-w-4xl mx-auto gap-3 p-4 rounded bg-blue-1 text-blue-10')
            .props('role=region aria-label="Set up the portal"')
            .mark('first-run')
        )
        self.card.set_visibility(False)

    @property
    def visible(self) -> bool:
        return self.shown is not None

    def show(self, help: SetupHelp | None) -> None:
        if help == self.shown:
            return
        self.shown = help
        self.card.set_visibility(help is not None)
        self.card.clear()
        if help is None:
            return
        with self.card:
            ui.label(help.title).classes('text-2xl font-bold').mark('first-run-title')
            ui.label(help.what)
            with ui.element('ol').classes('list-decimal pl-6'):
                for step in help.steps:
                    with ui.element('li'):
                        ui.label(step)
            call = f' (in {help.call})' if help.call else ''
            ui.label(f'AWS said: {help.code}: {help.message}{call}').classes(
                'font-mono text-sm whitespace-pre-wrap break-all'
            ).mark('first-run-aws')
            ui.label(DEMO).classes('text-sm')
            ui.button('Try again', icon='refresh', on_click=self.try_again).props('no-caps').mark(
                'first-run-try-again'
            )
