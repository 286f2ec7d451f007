"""Sends the alerts the store recorded (its outbox) through Apprise, after commit, from the leader only.

A sender claims the alerts due (a claim another sender, in this process or another replica, leaves alone),
sends each to every channel that has not taken it yet, and records the outcome: sent, or tried again after a
growing delay, or undeliverable with the error once its tries are spent. Sending runs in a worker thread,
never on NiceGUI's loop.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from datetime import timedelta

import apprise
from nicegui import background_tasks, run

from .. import queries
from ..config import Settings, channel_name
from ..domain.alerts import AlertPolicy, retry_delay
from ..domain.changes import Changed
from ..domain.clock import utcnow
from ..domain.guidance import GuidanceBook
from ..store import Store
from ..tables import Alert

log = logging.getLogger(__name__)

# how long a claimed alert is left to its sender before another may try it (a sender that died meanwhile)
CLAIM = timedelta(minutes=5)
MAX_ERROR = 1000


def alert_policy(settings: Settings, guidance: GuidanceBook | None = None) -> AlertPolicy | None:
    """What the store records; None (nothing recorded) without a channel to send to."""
    if not settings.alert_channels:
        return None
    return AlertPolicy(settings.alert_kinds, settings.public_base_url, guidance or GuidanceBook.load())


def fingerprint(url: str) -> str:
    """A channel as the outbox remembers it: a short hash of its URL, never the URL (it holds secrets)."""
    return hashlib.sha256(url.encode()).hexdigest()[:12]


class AlertSender:
    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings = settings
        self.store = store
        self.channels = settings.alert_channels
        self._sending: asyncio.Task[None] | None = None
        self._again = False
        self.sent = 0  # alerts this replica delivered (tests look)

    # ---- on NiceGUI's loop -------------------------------------------------------------------------------

    def kick(self, _changed: Changed | None = None) -> None:
        """Send what is due soon (after a commit): one sending at a time, another right after if asked."""
        if not self.channels or not self.store.leadership.leading:
            return
        if self._sending is not None:
            self._again = True
            return
        self._sending = background_tasks.create(self._send_until_quiet(), name='send alerts')

    async def run_scheduled(self) -> None:
        """The schedule's sending (retries come due with time, not with commits)."""
        self.kick()
        if self._sending is not None:
            await asyncio.shield(self._sending)

    async def _send_until_quiet(self) -> None:
        try:
            while True:
                self._again = False
                try:
                    claimed = await run.io_bound(self.send_due)
                except Exception as error:  # the store is busy or gone: the schedule tries again
                    log.warning('Could not send alerts: %s', error)
                    return
                if claimed:
                    self.store.publish(Changed(alerts=True))
                if not self._again and not claimed:
                    return
        finally:
            self._sending = None

    # ---- blocking (a worker thread) ----------------------------------------------------------------------

    def send_due(self) -> int:
        """Claim the alerts due now, send each and record how it went; how many were claimed."""
        if not self.channels:
            return 0
        claimed = self.store.write(queries.alerts.claim_due, utcnow(), CLAIM)
        for alert in claimed:
            self._send(alert)
        return len(claimed)

    def _send(self, alert: Alert) -> None:
        assert alert.id is not None
        taken = set(alert.delivered_to.split())
        errors: list[str] = []
        for url in self.channels:
            if fingerprint(url) in taken:
                continue  # this channel has it: a retry goes only to those that failed
            error = self._notify(url, alert)
            if error is None:
                taken.add(fingerprint(url))
            else:
                errors.append(f'{channel_name(url)}: {error}')
        channels = ' '.join(sorted(taken))
        if not errors:
            self.store.write(queries.alerts.delivered, alert.id, channels)
            self.sent += 1
            return
        tries = alert.attempts + 1
        last = tries >= self.settings.alert_tries
        retry = None if last else retry_delay(tries, self.settings.alert_retry_seconds)
        message = '; '.join(errors)[:MAX_ERROR]
        self.store.write(queries.alerts.failed, alert.id, channels, message, retry)
        later = f'tried again in {retry.total_seconds():.0f} s' if retry else 'undeliverable'
        log.warning('Alert %r not delivered (try %d, %s): %s', alert.title, tries, later, message)

    @staticmethod
    def _notify(url: str, alert: Alert) -> str | None:
        """None when the channel took the message, else why not (Apprise's own words)."""
        notifier = apprise.Apprise()
        if not notifier.add(url):
            return 'Apprise cannot use this URL'
        with apprise.LogCapture(level=logging.WARNING, fmt='%(message)s') as captured:  # type: ignore[no-untyped-call]
            try:
                ok = notifier.notify(title=alert.title, body=alert.body)
            except Exception as error:  # a plugin that raises instead of answering False
                return f'{type(error).__name__}: {error}'
        if ok:
            return None
        lines = [line.strip() for line in captured.getvalue().splitlines() if line.strip()]
        return ' '.join(lines) or 'the channel did not take the message'
