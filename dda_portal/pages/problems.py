"""The one place a Problem becomes something on screen: its words, and the toast a failed request shows.

Every action and read of `services.actions` raises a `domain.problems.Problem` of its family (AWS, not
allowed, invalid, unavailable); pages catch it with `reported` around the request, or show it in place with
`problem_text` (a log panel, a size that could not be read)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from nicegui import ui

from ..domain.problems import AwsProblem, Problem


def problem_text(problem: Problem, doing: str = '') -> str:
    """`doing — problem` ("Not packaged — AccessDeniedException: …"); AWS's failures keep AWS's code and
    message, the others are our own sentence."""
    return f'{doing} — {problem}' if doing else str(problem)


def notify_problem(problem: Problem, doing: str = '') -> None:
    """A toast that stays until closed: red for AWS's refusals, orange for what the person can change."""
    ui.notify(
        problem_text(problem, doing),
        type='negative' if isinstance(problem, AwsProblem) else 'warning',
        multi_line=True,
        close_button='Close',
    )


@contextmanager
def reported(doing: str) -> Iterator[None]:
    """Run a request; a Problem it raises is shown as `doing — problem` and goes no further."""
    try:
        yield
    except Problem as problem:
        notify_problem(problem, doing)
