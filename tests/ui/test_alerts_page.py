"""`/alerts`: the recent alerts with how each went, live; the channels named without their secrets."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from nicegui import app, ui
from nicegui.testing import User

from dda_portal import queries
from dda_portal.domain import alerts
from dda_portal.domain.changes import Changed
from dda_portal.pages.feeds import settled
from dda_portal.services.alerts import AlertSender
from dda_portal.store import Store
from tests.receivers import Receiver
from tests.ui.test_sign_in import accounts, sign_in

__all__ = ['accounts']  # a fixture


@pytest.fixture
def refusing(monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    """Every alert goes to a channel that always answers 500, tried twice."""
    with Receiver([500] * 100) as channel:
        monkeypatch.setenv('DDA_ALERT_URLS', f'{channel.url.replace("json://", "json://user:s3cret@")}')
        monkeypatch.setenv('DDA_ALERT_TRIES', '2')
        monkeypatch.setenv('DDA_ALERT_RETRY_SECONDS', '0')
        monkeypatch.setenv('DDA_PUBLIC_URL', 'https://portal.example.com')
        yield channel


def rows(user: User) -> list[dict]:
    return next(e for e in user.find(marker='alerts-table').elements if isinstance(e, ui.table)).rows


async def test_an_undeliverable_alert_shows_with_its_error_as_soon_as_its_tries_are_spent(
    refusing: Receiver, user: User
) -> None:
    await user.open('/alerts')
    await user.should_see('Alerts go to 1 channel: json://127.0.0.1.')
    await user.should_see('Links point to https://portal.example.com.')
    await user.should_not_see('s3cret')
    assert rows(user) == []

    store: Store = app.state.portal.store
    sender: AlertSender = app.state.portal.alert_sender
    draft = alerts.compilation_failed(store.alert_policy, 'weld-x-1', 'weld', 'x86', 1, '<b>bad</b> model')  # type: ignore[arg-type]
    store.write(queries.alerts.record, draft)
    store.publish(Changed.jobs('weld'))  # as after a refresh's commit: the leader sends what is due
    await sender.run_scheduled()
    await settled()

    [row] = rows(user)
    assert row['title'] == 'Compilation failed: weld for x86\nhttps://portal.example.com/training-jobs/weld'
    assert row['state'] == 'Undeliverable'
    assert row['detail'].startswith('Undeliverable after 2 tries: json://127.0.0.1: Failed to send')
    assert 'error=500' in row['detail']
    assert refusing.requests == 2 and refusing.accepted == []


async def test_without_a_channel_the_page_says_nothing_is_recorded(user: User) -> None:
    await user.open('/alerts')
    await user.should_see('No alert channel is set (DDA_ALERT_URLS): no alert is recorded or sent.')
    assert app.state.portal.store.alert_policy is None


async def test_the_page_is_for_everyone_signed_in_and_nobody_else(accounts: None, user: User) -> None:
    anonymous = await user.http_client.get('/alerts')  # type: ignore[attr-defined]
    assert anonymous.status_code == 303 and anonymous.headers['location'].startswith('/login')
    await sign_in(user, 'bob', 'bob-secret-1')  # an Operator
    await user.should_see('bob · Operator', retries=50)
    await user.open('/alerts')
    await user.should_see('No alert channel is set')
    assert any(link.text == 'Alerts' for link in user.find(ui.link).elements)  # in the navigation
