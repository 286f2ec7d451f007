"""The refresh: one cycle = each part (SageMaker, Greengrass components, devices) pulled from AWS and
committed on its own, then act on what was committed (automatic compilation and packaging), then emit.

Only the leader refreshes (leadership.py; SQLite's one portal always leads), and each refresh write checks
it still leads. "Refresh now" on another replica asks the leader and waits for its refresh to end."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any, ParamSpec, TypeVar, TypeVarTuple

from botocore.exceptions import ClientError
from nicegui import background_tasks, run

from .. import queries
from ..aws.clients import AwsClients, problem_from
from ..aws.sagemaker import Listing, SageMakerGateway
from ..config import Settings
from ..domain.changes import NOTHING, Changed
from ..domain.clock import as_utc, utcnow
from ..domain.places import DEFAULT_PLACE, place_log
from ..domain.problems import AwsProblem, Problem
from ..domain.refresh import COMPONENTS, DEVICES, LABELS, SAGEMAKER, Refreshed, enabled_parts
from ..domain.status import CompilationStatus
from ..domain.targets import TargetCatalog
from ..leadership import LostLeadership
from ..queries.refresh import CycleResult
from ..store import Store
from ..tables import CompilationAttempt, TrainingJob
from .compiler import Compiler
from .facts import compilation_facts, training_facts
from .greengrass_pull import GreengrassPull
from .packager import Packager

log = logging.getLogger(__name__)


Ts = TypeVarTuple('Ts')
T = TypeVar('T')
P = ParamSpec('P')

# the newest LastModifiedTime SageMaker listed (AWS's clock); new keys, so a store whose watermarks were the
# portal's clock (an earlier release) looks back DDA_HISTORY_DAYS once instead of trusting them
TRAINING_WATERMARK = 'training_jobs_modified'
COMPILATION_WATERMARK = 'compilation_jobs_modified'


class Sync:
    def __init__(
        self,
        settings: Settings,
        store: Store,
        clients: AwsClients,
        catalog: TargetCatalog,
        compiler: Compiler,
        packager: Packager,
        place: str = DEFAULT_PLACE,  # the use-case place it refreshes (use_cases.Place.key)
    ) -> None:
        self.settings, self.place = settings, place
        self._log = place_log(log, place)
        self.store = store
        self.clients = clients
        self.sagemaker = SageMakerGateway(clients)
        self._tag_reader = SageMakerGateway(clients.interactive())  # one retry: tags are not worth a wait
        self.greengrass_pull = GreengrassPull(settings, store, clients)
        self.catalog = catalog
        self.compiler = compiler
        self.packager = packager
        self._lock = asyncio.Lock()
        self.cycles = 0  # refreshes this replica ran (/readyz says)
        self._last_problem: AwsProblem | None = None
        self._calls = threading.local()  # the AWS call a worker thread made last (errors may not name it)
        for client in (clients.sagemaker, clients.greengrass, clients.iot):
            client.meta.events.register('before-call.*.*', self._note_call)
        store.refresh_requested.subscribe(self._requested, unsubscribe_on_delete=False)

    @property
    def leading(self) -> bool:
        return self.store.leadership.leading

    async def run_scheduled(self) -> AwsProblem | None:
        """The schedule's refresh: only the leader's runs."""
        if not self.leading:
            return None
        return await self.run_once()

    async def refresh_now(self) -> AwsProblem | None:
        """A refresh now: this replica's when it leads, else the leader's (asked for, then waited for; None
        when it did not end within a refresh interval and a minute, or ended well)."""
        if self.leading:
            return await self.run_once()
        asked = utcnow()
        ended = asyncio.ensure_future(self.store.cycle_ended.emitted(self.settings.refresh_seconds + 60))
        await asyncio.sleep(0)  # waiting before the request goes
        await run.io_bound(self.store.request_refresh)
        try:
            await ended
        except TimeoutError:
            self._log.warning('The leader did not refresh when asked')
            return None
        failure = self.store.freshness().last_failure
        if failure is not None and failure.finished_at is not None and as_utc(failure.finished_at) >= asked:
            return AwsProblem(failure.error_code or 'RefreshFailed', failure.error_message or '', '')
        return None

    def _requested(self) -> None:
        if self.leading:
            background_tasks.create(self.run_once(), name='refresh asked for by another replica')

    def _as_leader(self, work: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """`work` (blocking, in a worker thread) whose writes are the leader's (Store.as_leader)."""
        with self.store.as_leader(), self.store.at(self.place):  # the place's rows only
            return work(*args, **kwargs)

    @property
    def parts(self) -> tuple[str, ...]:
        """The parts a refresh reads, in order (Greengrass's only when enabled)."""
        return enabled_parts(self.settings.greengrass_enabled)

    def _note_call(self, model: Any, **_: Any) -> None:
        self._calls.last = model.name

    async def run_once(self) -> AwsProblem | None:
        """One refresh; concurrent callers wait for the cycle under way and get its outcome."""
        if self._lock.locked():
            async with self._lock:
                return self._last_problem
        async with self._lock:
            self._last_problem = await self._run_cycle()
            return self._last_problem

    async def _run_cycle(self) -> AwsProblem | None:
        """Never raises: a failure is returned, logged and recorded, and the schedule goes on."""
        started = utcnow()
        self.cycles += 1
        calls_before = self.clients.counter.total
        changed = acted_changed = NOTHING
        problem: AwsProblem | None = None
        try:
            refreshed = await run.io_bound(self._as_leader, self.refresh_parts, started)
            if refreshed is None:  # the app is shutting down
                return None
            changed, problem = refreshed.changed, refreshed.problem
            failed = {part for part, _ in refreshed.failures}
            # acts on what the parts committed, whichever failed (packaging waits for Greengrass)
            acted = await run.io_bound(self._as_leader, self.act, changed.training_jobs, COMPONENTS in failed)
            if acted:  # automatic compilation or packaging changed these jobs (and perhaps their components)
                acted_changed = await self.store.fetch(
                    queries.fleet.changed_with_components, acted, self.place
                )
                changed |= acted_changed
        except LostLeadership as lost:  # another replica leads now: it refreshes, this one writes no more
            self._log.warning('The refresh stopped: %s', lost)
            self.store.changed.emit(changed.placed(self.place))
            return None
        except Exception as error:  # a failed act is retried at the next refresh (its follow-ups stay)
            problem = problem or self._problem(error)
            self._log.warning('Acting on the refresh failed: %s', self._problem(error))
        calls = self.clients.counter.total - calls_before
        if problem is not None:
            self._log.warning('Refresh failed after %d AWS calls: %s', calls, problem)
        outcome = (problem.code, problem.where) if problem is not None else None
        await run.io_bound(self._record, started, calls, len(changed.training_jobs), outcome, acted_changed)
        self.store.changed.emit(changed.placed(self.place))  # what the parts committed, even when one failed
        return problem

    def _record(
        self,
        started: datetime,
        calls: int,
        changed_jobs: int,
        outcome: tuple[str, str] | None,
        acted: Changed,
    ) -> None:
        with self.store.as_leader(), self.store.at(self.place):
            self._safely('the refresh', self.store.record_cycle, started, calls, changed_jobs, outcome, acted)

    def cycle(self, started: datetime) -> frozenset[str]:
        """Pull, commit, then act on what changed, in this Sync's place (blocking; a worker thread)."""
        with self.store.at(self.place):
            refreshed = self.refresh_parts(started)
            failed = {part for part, _ in refreshed.failures}
            jobs = refreshed.changed.training_jobs
            return jobs | self.act(jobs, COMPONENTS in failed)

    def act(self, changed: frozenset[str], greengrass_failed: bool = False) -> frozenset[str]:
        """Automatic compilation of training jobs that just reached Completed; tidy unconfirmed attempts.

        Acts on this cycle's changes and on those an earlier cycle committed but did not finish acting on
        (the portal stopped, or the act failed): the store keeps them until the act completes.
        """
        due = changed | self.store.read(queries.refresh.follow_ups)
        acted: set[str] = set()
        later: set[str] = set()  # AWS said "not now": tried again at the next refresh
        auto_targets = [t for t in self.settings.auto_compile_target_ids if t in self.catalog]
        for name in self.store.read(queries.jobs.auto_compile_candidates, due) if auto_targets else []:
            acted.add(name)
            # targets someone else already compiled (or tried), or an interrupted act reserved, are left alone
            targets = [
                t for t in auto_targets if self.store.read(queries.jobs.latest_attempt, name, t) is None
            ]
            if targets:
                outcome = self.compiler.start(name, targets, None, 'auto')
                for target, reason in outcome.refused.items():
                    again = ' (tried again at the next refresh)' if target in outcome.retry_later else ''
                    self._log.warning(
                        'Automatic compilation of %s for %s refused: %s%s', name, target, reason, again
                    )
                if outcome.retry_later:
                    later.add(name)
                    continue
            # claimed once every target was tried (once per job, even across restarts): a restart half-way
            # through tries the targets it had not reached
            self.store.write(queries.attempts.claim_auto_compile, name)
        acted |= self._fail_unconfirmed()
        if self.settings.auto_package and self.settings.greengrass_enabled:
            if greengrass_failed:  # Greengrass cannot take it now: the follow-ups stay for the next refresh
                later |= self._packaging_due(due)
            else:
                packaged, unanswered = self._auto_package(due)
                acted |= packaged
                later |= unanswered
        self.store.write(queries.refresh.forget_follow_ups, due - later)
        return frozenset(acted)

    def _unpackaged(self, changed: frozenset[str]) -> Iterator[tuple[str, CompilationAttempt]]:
        """Each completed compilation of these training jobs that has no component yet."""
        for name in changed:
            for attempt in self.store.read(queries.jobs.latest_attempts, name):
                if attempt.status != CompilationStatus.COMPLETED or not attempt.artifact:
                    continue
                if self.store.read(queries.fleet.component_for_attempt, attempt.job_name) is None:
                    yield name, attempt

    def _packaging_due(self, changed: frozenset[str]) -> set[str]:
        """Training jobs with a completed compilation that has no component yet."""
        return {name for name, _ in self._unpackaged(changed)}

    def _auto_package(self, changed: frozenset[str]) -> tuple[set[str], set[str]]:
        """Completed compilations without a component get one (the store allows one per attempt); returns
        the training jobs packaged and those whose packaging Greengrass did not answer (tried again later)."""
        packaged: set[str] = set()
        unanswered: set[str] = set()
        for name, attempt in list(self._unpackaged(changed)):
            try:
                packaged.add(self.packager.package(attempt.job_name, 'auto'))
            except Problem as problem:  # throttled, failing or unreachable Greengrass is asked again later
                if problem.transient:
                    unanswered.add(name)
                self._log.warning(
                    'Automatic packaging of %s refused: %s%s',
                    attempt.job_name,
                    problem,
                    ' (tried again at the next refresh)' if problem.transient else '',
                )
        return packaged, unanswered

    def _fail_unconfirmed(self) -> set[str]:
        """Attempts reserved before a crash whose job SageMaker never received are marked Failed."""
        failed: set[str] = set()
        for attempt in self.store.read(queries.jobs.unconfirmed_attempts, utcnow() - timedelta(minutes=2)):
            if self.sagemaker.describe_compilation_job(attempt.job_name) is not None:
                continue  # it exists: the next listing fills it in
            reason = 'The portal stopped before SageMaker accepted this compilation job; start it again.'
            owner = self.store.write(
                queries.attempts.set_attempt_status, attempt.job_name, CompilationStatus.FAILED, reason
            )
            if owner:
                failed.add(owner)
        return failed

    def pull_and_apply(self, started: datetime) -> frozenset[str]:
        """Every part pulled and committed on its own in this Sync's place (blocking); jobs that changed."""
        with self.store.at(self.place):
            return self.refresh_parts(started).changed.training_jobs

    def refresh_parts(self, started: datetime) -> Refreshed:
        """Each part pulled and committed in its own transaction, SageMaker first (components link to the
        attempts it wrote); a part that fails keeps its last good data and records why, the others go on."""
        pullers: dict[str, Callable[[CycleResult], bool]] = {
            SAGEMAKER: self._pull_sagemaker,
            COMPONENTS: self.greengrass_pull.components,
            DEVICES: self.greengrass_pull.devices,
        }
        changed = NOTHING
        failures: list[tuple[str, AwsProblem]] = []
        for part in self.parts:
            result = CycleResult(started_at=started, aws_calls=0)
            calls_before = self.clients.counter.total
            self._calls.last = ''
            try:
                self.clients.require_region()  # no call to a guessed region: the pages explain what to set
                if pullers[part](result):
                    result.aws_calls = self.clients.counter.total - calls_before
                    changed |= self.store.apply_part(part, result)
            except LostLeadership:
                raise
            except Exception as error:  # this part's data stays as the last good refresh left it
                problem = self._problem(error)
                failures.append((part, problem))
                calls = self.clients.counter.total - calls_before
                self._log.warning('Refresh of %s failed after %d AWS calls: %s', LABELS[part], calls, problem)
                self._safely(
                    f'the failed refresh of {LABELS[part]}',
                    self.store.record_part_failure,
                    part,
                    utcnow(),
                    problem.code,
                    problem.message,
                    problem.operation,
                )
        return Refreshed(changed, failures)

    def _problem(self, error: BaseException) -> AwsProblem:
        """AWS's code and message, naming the call that failed even when the error does not (a connection
        error, a timeout, an HTML error page)."""
        problem = problem_from(error)
        call = error.operation_name if isinstance(error, ClientError) else ''
        call = call or getattr(self._calls, 'last', '')
        return AwsProblem(problem.code, problem.message, call) if call and not problem.operation else problem

    def _safely(self, what: str, write: Callable[[*Ts], None], *args: *Ts) -> None:
        """A record the store cannot take now (locked, full, read-only) is logged, never fatal to a cycle."""
        try:
            write(*args)
        except Exception as error:
            self._log.warning('Could not record %s: %s', what, problem_from(error))

    def _pull_sagemaker(self, result: CycleResult) -> bool:
        self._pull_training_jobs(result)
        self._pull_compilation_jobs(result)
        return True

    def _since(self, key: str) -> datetime:
        """`LastModifiedTimeAfter` for a listing: the watermark the last good listing left (AWS's clock) minus
        the overlap for AWS's eventual consistency. The very first listing has nothing of AWS's to go by, so
        it looks back DDA_HISTORY_DAYS from the portal's clock (days: its skew hardly matters)."""
        watermark = self.store.read(queries.refresh.watermark, key)
        if watermark is None:
            return utcnow() - timedelta(days=self.settings.history_days)
        return watermark - timedelta(seconds=self.settings.sync_overlap_seconds)

    @staticmethod
    def _watermark(listing: Listing, result: CycleResult, key: str) -> None:
        """Where the next listing starts (before the overlap): AWS's clock when it answered this one (its
        `Date`), so that a portal clock ahead of AWS's misses nothing and one behind it re-lists nothing in
        a quiet account; without that header, the newest LastModifiedTime listed (kept when none was)."""
        if listing.aws_time is not None:
            result.watermarks[key] = listing.aws_time
            return
        times = [t for s in listing.summaries if (t := as_utc(s.get('LastModifiedTime'))) is not None]
        if times:
            result.watermarks[key] = max(times)

    def _changed_names(
        self,
        summaries: list[dict[str, Any]],
        name_key: str,
        table: type[TrainingJob] | type[CompilationAttempt],
    ) -> tuple[list[str], set[str]]:
        """Names whose LastModifiedTime differs from the store's, and the names the store does not know."""
        names = [s[name_key] for s in summaries]
        known = self.store.read(queries.jobs.known_modification_times, table, names)
        changed = [
            s[name_key] for s in summaries if known.get(s[name_key]) != as_utc(s.get('LastModifiedTime'))
        ]
        return changed, set(names) - set(known)

    def _pull_training_jobs(self, result: CycleResult) -> None:
        listing = self.sagemaker.training_jobs_listing(self._since(TRAINING_WATERMARK))
        changed, _ = self._changed_names(listing.summaries, 'TrainingJobName', TrainingJob)
        for name in changed:
            result.training_jobs.append(training_facts(self.sagemaker.describe_training_job(name)))
        self._watermark(listing, result, TRAINING_WATERMARK)

    def _tags_of(self, described: dict[str, Any]) -> dict[str, str]:
        """A new compilation job's tags; an error AWS answers (refused, or moto 5.2 failing on a job without
        tags) leaves it without them, linked by its model's S3 location: never the refresh's failure."""
        try:
            return self._tag_reader.tags(described['CompilationJobArn'])
        except ClientError as error:
            name = described.get('CompilationJobName')
            self._log.warning('Tags of %s not read, kept without them: %s', name, problem_from(error))
            return {}

    def _pull_compilation_jobs(self, result: CycleResult) -> None:
        listing = self.sagemaker.compilation_jobs_listing(self._since(COMPILATION_WATERMARK))
        changed, new = self._changed_names(listing.summaries, 'CompilationJobName', CompilationAttempt)
        for name in changed:
            described = self.sagemaker.describe_compilation_job(name)
            if described is None:
                result.gone_compilation_jobs.append(name)
                continue
            tags = self._tags_of(described) if name in new else {}
            result.compilation_jobs.append(compilation_facts(described, tags, self.catalog))
        self._watermark(listing, result, COMPILATION_WATERMARK)
