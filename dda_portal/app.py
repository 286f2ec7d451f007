"""Builds the portal: store, AWS clients, sync schedule, pages and health routes."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from botocore.exceptions import ProfileNotFound
from fastapi.responses import JSONResponse
from nicegui import app
from starlette.middleware.sessions import SessionMiddleware

from . import api, auth, web_guards
from .api_tokens import ApiTokens
from .auth import Gate
from .aws.clients import AwsClients
from .config import Settings, SettingsError
from .domain.clock import utcnow
from .domain.guidance import GuidanceBook
from .domain.refresh import PARTS
from .domain.targets import CatalogueError, TargetCatalog
from .forwarded import ForwardedByTrustedProxy
from .pages import alerts, fleet, look, training_job, training_jobs
from .pages.training_jobs.feed import ListFeed
from .queries.freshness import Freshness
from .services import Actions, AlertSender, Refreshes, Sync, build
from .store import Store
from .use_cases import UseCaseFileError, check_targets
from .workers import SIGN_IN

log = logging.getLogger(__name__)


@dataclass
class Portal:
    settings: Settings
    store: Store
    catalog: TargetCatalog
    clients: AwsClients
    sync: Sync  # the first use-case place's refresh (the only one without DDA_USE_CASES_FILE)
    actions: Actions
    gate: Gate
    refreshes: Refreshes  # every place's refresh, together
    scheduler: AsyncIOScheduler = field(default_factory=AsyncIOScheduler)
    # signs the session cookie; without sign-in nothing needs to outlive a restart, so a fresh one will do
    storage_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    list_feed: ListFeed | None = None  # the training jobs every list page shares (tests look at it)
    api_tokens: ApiTokens | None = None  # who the JSON API's bearer tokens are (tests move its cache)
    alert_sender: AlertSender | None = None

    def when_leading(self, job: Callable[[], Any]) -> Callable[[], Any]:
        """`job`, run only while this replica leads (always with SQLite)."""

        async def leading() -> Any:
            if self.store.leadership.leading:
                result = job()
                return await result if asyncio.iscoroutine(result) else result
            return None

        return leading

    def every(self, seconds: float, job: Callable[[], Any], name: str) -> None:
        """Run `job` every `seconds` on NiceGUI's loop, never two at once, starting now."""
        self.scheduler.add_job(
            job,
            'interval',
            seconds=seconds,
            id=name,
            name=name,
            max_instances=1,
            coalesce=True,
            next_run_time=utcnow().astimezone(),
        )


def create_app(settings: Settings) -> Portal:
    try:
        catalog = TargetCatalog.load(settings.targets_file)
    except CatalogueError as error:
        raise SettingsError(f'Invalid DDA_TARGETS_FILE: {error}') from None
    unknown = [t for t in settings.auto_compile_target_ids if t not in catalog]
    if unknown:
        raise SettingsError(
            f'Invalid DDA_AUTO_COMPILE_TARGETS: unknown target(s) {", ".join(unknown)}; '
            f'known: {", ".join(catalog)}'
        )
    try:
        check_targets(settings.use_cases_file, settings.use_cases, catalog)  # a bad file stops the start
    except UseCaseFileError as error:
        raise SettingsError(f'Invalid setting DDA_USE_CASES_FILE: {error}') from None
    try:
        clients = AwsClients()
    except ProfileNotFound as error:  # boto3 cannot even make a session: nothing a page could fix
        raise SettingsError(
            f'Invalid AWS_PROFILE: {error} (in ~/.aws/config or ~/.aws/credentials); name one of yours, or '
            'unset it'
        ) from None
    store = Store(settings.database_url, settings.replica_id, settings.leader_retry)
    services = build(settings, store, clients, catalog)
    sync, actions, gate = services.sync, services.actions, services.gate
    portal = Portal(
        settings,
        store,
        catalog,
        clients,
        sync,
        actions,
        gate,
        services.refreshes,
        alert_sender=services.alerts,
    )
    app.state.portal = portal  # tests and health routes reach the running portal here

    look.register()
    auth.register(gate)
    web_guards.register(settings)  # after the gate, so that its answers are guarded too
    _sessions(portal)  # outermost: every layer inside sees the real client and the session
    portal.list_feed = training_jobs.register(store, actions)
    training_job.register(store, actions, catalog, GuidanceBook.load())
    fleet.register(store, actions, {t.id: t.display_name for t in catalog.values()})
    portal.api_tokens = ApiTokens(store)
    api.register(app, store, actions, portal.list_feed, catalog, portal.api_tokens)
    alerts.register(store, actions, settings)
    _health_routes(portal)

    if settings.sync_enabled:
        portal.every(settings.refresh_seconds, services.refreshes.run_scheduled, 'refresh')  # the leader's
    if settings.alert_channels:  # the leader sends after each commit, and retries as they come due
        store.changed.subscribe(services.alerts.kick, unsubscribe_on_delete=False)
        portal.every(settings.alert_check_seconds, services.alerts.run_scheduled, 'alerts')
    app.on_startup(lambda: store.start_replica(asyncio.get_running_loop()))
    app.on_shutdown(store.stop_replica)
    app.on_startup(portal.scheduler.start)
    app.on_shutdown(lambda: portal.scheduler.shutdown(wait=False))
    app.on_shutdown(services.reads.shutdown)  # without waiting for calls AWS does not answer
    app.on_shutdown(SIGN_IN.shutdown)
    return portal


def _sessions(portal: Portal) -> None:
    """The session cookie (NiceGUI's storage finds this middleware and adds only its request tracking inside
    it), and outside it who is really connecting, so that cookies are `Secure` behind a TLS proxy."""
    if portal.settings.storage_secret:
        portal.storage_secret = portal.settings.storage_secret
    app.add_middleware(
        SessionMiddleware,
        secret_key=portal.storage_secret,
        same_site='lax',
        max_age=auth.SESSION_SECONDS,  # the server ends a sign-in 12 h after it began, whatever this says
    )
    app.add_middleware(ForwardedByTrustedProxy, networks=portal.settings.trusted_proxy_networks)


def _health_routes(portal: Portal) -> None:
    @app.get('/healthz')
    def healthz() -> dict[str, str]:
        return {'status': 'ok'}

    @app.get('/readyz')
    def readyz() -> JSONResponse:  # a plain def runs in a worker thread: the probe may wait up to 1 s
        problems: list[str] = []
        problem = portal.store.write_problem()  # a real write to the file, not to a temporary table
        if problem is not None:
            problems.append(f'database {portal.store.database_name} not writable: {problem}')
        freshness = portal.store.freshness()
        limit = timedelta(seconds=3 * portal.settings.refresh_seconds)
        if freshness.last_success is None or utcnow() - freshness.last_success > limit:
            problems.append('no successful AWS refresh within three intervals')  # from SageMaker
        failure = freshness.last_failure
        body = {
            'status': 'ready' if not problems else 'not ready',
            'problems': problems,
            'last_successful_refresh': freshness.last_success.isoformat() if freshness.last_success else None,
            'last_aws_error': failure.error_code if failure else None,
            'replica': portal.store.replica_id,
            'leading': portal.store.leadership.leading,
            'leader': _leader(portal),
            'refreshes_here': portal.refreshes.cycles,
            'parts': _refresh_parts(portal, freshness),
            'use_cases': _use_case_failures(freshness),
        }
        return JSONResponse(body, status_code=200 if not problems else 503)


def _leader(portal: Portal) -> str | None:
    """The leading replica's id as the database knows it (None when none leads, or it cannot be read)."""
    try:
        return portal.store.read(portal.store.leadership.leader)
    except Exception as error:
        log.warning('Could not read which replica leads: %s', error)
        return None


def _use_case_failures(freshness: Freshness) -> dict[str, dict[str, Any]]:
    """Each use-case place refreshed so far: ok, or its first failing part with AWS's code and message (one
    place failing leaves the others refreshing; readiness follows SageMaker's age, as without use cases)."""
    failed = freshness.failed_places()
    found: dict[str, dict[str, Any]] = {}
    for place in freshness.places:
        row = failed.get(place)
        error = (
            None if row is None else {'part': row.part, 'code': row.error_code, 'message': row.error_message}
        )
        found[place] = {'ok': row is None, 'error': error}
    return found


def _refresh_parts(portal: Portal, freshness: Freshness) -> dict[str, dict[str, Any]]:
    """Each part of the refresh: ok, its last success and its failure since (a Greengrass turned off in the
    settings shows as disabled); only SageMaker's age decides readiness."""
    parts: dict[str, dict[str, Any]] = {}
    for part in PARTS:
        if part not in portal.refreshes.parts:
            parts[part] = {'disabled': True}
            continue
        row = freshness.parts.get(part)
        success = row.last_success if row else None
        error = None
        if row is not None and row.failed_at is not None:
            error = {
                'code': row.error_code,
                'message': row.error_message,
                'call': row.error_call,
                'at': row.failed_at.isoformat(),
            }
        parts[part] = {
            'ok': success is not None and error is None,
            'last_success': success.isoformat() if success else None,
            'error': error,
        }
    return parts
