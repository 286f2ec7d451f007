"""The server's "… ago" words (pages/widgets.ago), as the browser's (pages/clock/index.js) say them."""

from __future__ import annotations

from datetime import timedelta

from dda_portal.domain.clock import utcnow
from dda_portal.pages.widgets import ago


def test_a_time_a_few_seconds_ahead_is_now_and_further_ahead_is_from_now() -> None:
    now = utcnow()
    assert ago(now + timedelta(seconds=3)) == 'now'  # AWS's clock a little ahead of ours
    assert ago(now + timedelta(minutes=2, seconds=30)) == '2 minutes from now'
    assert ago(now - timedelta(minutes=3, seconds=1)) == '3 minutes ago'
    assert ago(None) == 'never'
