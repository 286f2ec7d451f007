"""The failure families: which AWS answers mean "not now" (ask again later) and which mean "no", and how a
failed request reads on screen."""

from __future__ import annotations

import pytest

from dda_portal.domain.attempts import InvalidInput
from dda_portal.domain.problems import AwsProblem, Invalid, NotAllowed, Problem, Unavailable
from dda_portal.pages import problems as pages_problems
from dda_portal.services.compiler import StartOutcome


@pytest.mark.parametrize(
    'code',
    [
        'ThrottlingException',
        'Throttling',
        'ServiceUnavailable',
        'InternalFailure',
        'EndpointConnectionError',
        'ReadTimeoutError',
        'ConnectTimeoutError',
        'HTTP503',
        'HTTP500',
    ],
)
def test_throttling_aws_failures_and_the_network_are_transient(code: str) -> None:
    assert AwsProblem(code, 'x').transient


@pytest.mark.parametrize(
    'code',
    [
        'AccessDeniedException',
        'ValidationException',
        'ResourceInUse',
        'ResourceLimitExceeded',
        'HTTP404',
        'HTTP5xx',
    ],
)
def test_refusals_are_not_transient(code: str) -> None:
    assert not AwsProblem(code, 'x').transient


def test_the_banner_names_the_call_when_aws_said_which() -> None:
    assert AwsProblem('ThrottlingException', 'Rate exceeded', 'ListTrainingJobs').where == (
        'Rate exceeded (in ListTrainingJobs)'
    )
    assert AwsProblem('EndpointConnectionError', 'Could not connect').where == 'Could not connect'


# ---- the families: raised by services, shown by pages/problems.py ------------------------------------------


def test_each_family_reads_as_its_own_words_and_aws_keeps_its_code() -> None:
    assert str(AwsProblem('AccessDeniedException', 'not allowed', 'CreateCompilationJob')) == (
        'AccessDeniedException: not allowed'
    )
    assert AwsProblem('X', 'y', 'Call').where == 'y (in Call)'
    assert (
        str(NotAllowed('Your session has ended; sign in again.')) == 'Your session has ended; sign in again.'
    )
    assert str(Invalid('Select at least one target.')) == 'Select at least one target.'
    assert isinstance(InvalidInput('bad shape'), Invalid)  # what the user typed is one kind of invalid


def test_only_aws_not_now_and_the_portal_being_busy_are_worth_asking_again() -> None:
    assert Unavailable('The portal is shutting down.').transient
    assert not NotAllowed('no').transient and not Invalid('no').transient
    outcome = StartOutcome(
        refused={
            'a': AwsProblem('ThrottlingException', 'Rate exceeded'),
            'b': AwsProblem('AccessDeniedException', 'no'),
            'c': Invalid('Already compiled (attempt 1).'),
            'd': Unavailable('The portal is shutting down.'),
        }
    )
    assert outcome.retry_later == {'a', 'd'}


def test_problems_compare_by_family_and_words() -> None:
    assert Invalid('x') == Invalid('x') and Invalid('x') != NotAllowed('x')
    assert AwsProblem('A', 'm', 'Op') == AwsProblem('A', 'm', 'Op') != AwsProblem('A', 'm')
    assert len({Invalid('x'), Invalid('x'), AwsProblem('A', 'm')}) == 2
    with pytest.raises(Problem):  # every family is raised and caught as a Problem
        raise AwsProblem('A', 'm')


@pytest.mark.parametrize(
    ('problem', 'text', 'kind'),
    [
        (
            AwsProblem('AccessDeniedException', 'no PassRole'),
            'Not packaged — AccessDeniedException: no PassRole',
            'negative',
        ),
        (
            NotAllowed('Only a Data Scientist may package models.'),
            'Not packaged — Only a Data Scientist may package models.',
            'warning',
        ),
        (Invalid('Already packaged as m 1.0.0.'), 'Not packaged — Already packaged as m 1.0.0.', 'warning'),
        (
            Unavailable('The portal is shutting down.'),
            'Not packaged — The portal is shutting down.',
            'warning',
        ),
    ],
)
def test_a_failed_request_is_shown_once_in_one_form(
    problem: Problem, text: str, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    shown: list[tuple[str, dict[str, object]]] = []
    monkeypatch.setattr(
        pages_problems.ui, 'notify', lambda message, **options: shown.append((message, options))
    )
    with pages_problems.reported('Not packaged'):
        raise problem
    assert shown == [(text, {'type': kind, 'multi_line': True, 'close_button': 'Close'})]
    with pages_problems.reported('Not packaged'):
        pass  # nothing failed: nothing shown
    assert len(shown) == 1
