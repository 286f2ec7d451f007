"""Portals sharing one PostgreSQL database: one of them leads (an advisory lock on a connection of its own),
another takes over when it dies, a leader that lost the lock commits no refresh, and what one commits
reaches the others' pages through LISTEN/NOTIFY."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg
import pytest
from sqlalchemy.engine import make_url
from sqlmodel import Session, select

from dda_portal import queries
from dda_portal.domain.changes import Changed
from dda_portal.domain.refresh import SAGEMAKER
from dda_portal.domain.status import TrainingStatus
from dda_portal.leadership import LEADER_LOCK, Leadership, LostLeadership
from dda_portal.queries.refresh import CycleResult, TrainingJobFacts
from dda_portal.store import Store
from dda_portal.tables import CompilationAttempt, SyncCycle, TrainingJob

NOON = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def plain(url: str) -> str:
    return make_url(url).set(drivername='postgresql').render_as_string(hide_password=False)


@pytest.fixture
def contenders(postgresql_url: str) -> Iterator[tuple[Leadership, Leadership]]:
    url = make_url(postgresql_url)
    a, b = Leadership(url, 'replica-a'), Leadership(url, 'replica-b')
    yield a, b
    a.stop()
    b.stop()


def test_exactly_one_of_two_contenders_leads_and_the_other_takes_over_when_it_lets_go(
    contenders: tuple[Leadership, Leadership], postgresql_url: str
) -> None:
    a, b = contenders
    assert a.try_to_lead() is True
    assert b.try_to_lead() is False and b.try_to_lead() is False
    assert a.leading and not b.leading
    store = Store(postgresql_url)
    assert store.read(a.leader) == 'replica-a' == store.read(b.leader)  # every replica sees who leads
    assert a.check() is True
    a.stop()  # closing the lock connection releases the lock
    assert not a.leading
    assert b.try_to_lead() is True and store.read(a.leader) == 'replica-b'


def test_a_leader_whose_connection_is_lost_stops_leading_at_its_next_check(
    contenders: tuple[Leadership, Leadership], postgresql_url: str
) -> None:
    a, b = contenders
    assert a.try_to_lead()
    terminate(postgresql_url, 'replica-a')  # as a network failure or a restarted server would
    assert a.check() is False and not a.leading
    assert b.try_to_lead() is True


def test_a_killed_leader_process_lets_another_replica_take_over_at_its_next_try(
    postgresql_url: str, contenders: tuple[Leadership, Leadership]
) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            '-c',
            'import sys, time, psycopg\n'
            'c = psycopg.connect(sys.argv[1], autocommit=True)\n'
            f'assert c.execute("SELECT pg_try_advisory_lock({LEADER_LOCK})").fetchone()[0]\n'
            'print("held", flush=True)\n'
            'time.sleep(600)\n',
            plain(postgresql_url),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == 'held'
        a, _ = contenders
        assert a.try_to_lead() is False
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=10)
        tries = 1
        while not a.try_to_lead():  # the server notices the closed socket at once on loopback
            tries += 1
            assert tries < 50
            time.sleep(0.1)
        assert a.leading
    finally:
        holder.kill()
        holder.wait()


def sagemaker_part(name: str) -> CycleResult:
    result = CycleResult(started_at=NOON, aws_calls=2)
    result.training_jobs.append(
        TrainingJobFacts(
            name=name,
            arn=f'arn:aws:sagemaker:us-east-1:1:training-job/{name}',
            status=TrainingStatus.COMPLETED,
            secondary_status=None,
            failure_reason=None,
            created_at=NOON,
            started_at=NOON,
            ended_at=NOON,
            last_modified=NOON,
            instance_type=None,
            instance_count=None,
            model_artifact=f's3://models/{name}/model.tar.gz',
            output_prefix=None,
            billable_seconds=None,
            training_seconds=None,
        )
    )
    return result


def names(store: Store) -> set[str]:
    return set(store.read(lambda s: list(s.exec(select(TrainingJob.name)))))


def test_a_leader_that_lost_the_lock_commits_no_refresh(postgresql_url: str) -> None:
    url = make_url(postgresql_url)
    old, new = Store(postgresql_url, 'replica-a'), Store(postgresql_url, 'replica-b')
    for store in (old, new):
        store.leadership.started = True  # fenced writes, tried and checked by hand here
    try:
        assert old.leadership.try_to_lead()
        with old.as_leader():
            old.apply_part(SAGEMAKER, sagemaker_part('before'))
        terminate(
            postgresql_url, 'replica-a'
        )  # its lock is gone; it has not checked yet, so it still thinks it leads
        assert old.leadership.leading
        assert new.leadership.try_to_lead()
        with old.as_leader(), pytest.raises(LostLeadership):
            old.apply_part(SAGEMAKER, sagemaker_part('stale'))
        with old.as_leader(), pytest.raises(LostLeadership):
            old.record_cycle(NOON, 5, 1)
        assert names(new) == {'before'}
        assert len(new.read(lambda s: list(s.exec(select(SyncCycle))))) == 0
        with new.as_leader():
            new.apply_part(SAGEMAKER, sagemaker_part('after'))
        assert names(new) == {'before', 'after'}
        assert Leadership(url, 'x').postgresql
    finally:
        old.leadership.stop()
        new.leadership.stop()


def test_a_write_under_way_when_the_lead_moves_ends_before_the_new_leader_leads(postgresql_url: str) -> None:
    old, new = Store(postgresql_url, 'replica-a'), Store(postgresql_url, 'replica-b')
    for store in (old, new):
        store.leadership.started = True
    inside, release = threading.Event(), threading.Event()

    def slow_write(session: Session) -> None:
        inside.set()  # past the fence: this replica led when its transaction began
        release.wait(10)
        session.add(TrainingJob(name='in-flight', status='Completed', created_at=NOON, last_modified=NOON))

    def old_refresh() -> None:
        with old.as_leader():
            old.write(slow_write)

    try:
        assert old.leadership.try_to_lead()
        writer = threading.Thread(target=old_refresh)
        writer.start()
        assert inside.wait(10)
        terminate(postgresql_url, 'replica-a')
        taking = threading.Thread(target=new.leadership.try_to_lead)
        taking.start()
        taking.join(0.5)
        assert taking.is_alive() and not new.leadership.leading  # waits for the old leader's write
        release.set()
        writer.join(10)
        taking.join(10)
        assert new.leadership.leading
        assert names(new) == {'in-flight'}  # committed before the new leader led
    finally:
        release.set()
        old.leadership.stop()
        new.leadership.stop()


def test_concurrent_compile_clicks_on_two_replicas_reserve_one_attempt(postgresql_url: str) -> None:
    a, b = Store(postgresql_url, 'replica-a'), Store(postgresql_url, 'replica-b')
    a.apply_part(SAGEMAKER, sagemaker_part('cracks'))
    start = threading.Barrier(2)
    outcomes: list[object] = []

    def click(store: Store) -> None:
        def reserve(session: Session) -> object:
            start.wait(5)
            return queries.attempts.reserve_attempt(
                session, 'cracks', 'jetson_nano', 'Jetson Nano', lambda n: f'cracks-nano-{n}', 'manual'
            )

        outcomes.append(store.write(reserve))

    clicks = [threading.Thread(target=click, args=(s,)) for s in (a, b)]
    for thread in clicks:
        thread.start()
    for thread in clicks:
        thread.join(15)
    assert sum(isinstance(o, CompilationAttempt) for o in outcomes) == 1, outcomes
    assert len(a.read(lambda s: list(s.exec(select(CompilationAttempt))))) == 1


async def test_a_change_committed_by_one_replica_reaches_the_others_pages(postgresql_url: str) -> None:
    loop = asyncio.get_running_loop()
    leader, follower = Store(postgresql_url, 'replica-a'), Store(postgresql_url, 'replica-b')
    heard: list[Changed] = []
    own: list[Changed] = []
    follower.changed.subscribe(heard.append)
    for store in (leader, follower):
        store.start_replica(loop)
    leader.changed.subscribe(own.append)
    try:
        for store in (leader, follower):
            assert store.listener is not None
            assert await asyncio.to_thread(store.listener.listening.wait, 10)
        assert follower.freshness().last_success is None
        await asyncio.to_thread(leader.apply_part, SAGEMAKER, sagemaker_part('cracks'))
        await wait_for(lambda: any('cracks' in c.training_jobs for c in heard))
        assert follower.freshness().last_success is not None  # the header's "Last updated" on every replica
        assert own == []  # a replica does not hear its own notices
        leader.publish(Changed(components=frozenset({'arn:1'})))  # a click's change, after its commit
        await wait_for(lambda: any(c.components == {'arn:1'} for c in heard))
        ended: list[bool] = []
        follower.cycle_ended.subscribe(lambda: ended.append(True))
        await asyncio.to_thread(leader.record_cycle, NOON, 3, 0, None, Changed.jobs('acted'))
        await wait_for(lambda: bool(ended) and any('acted' in c.training_jobs for c in heard))
        # a listener that lost its connection listens again, and takes everything as changed once
        assert follower.listener is not None
        follower.listener.drop_connection()
        await wait_for(lambda: any(c.everything for c in heard), seconds=10)
        await asyncio.to_thread(follower.listener.listening.wait, 10)
        await asyncio.to_thread(leader.apply_part, SAGEMAKER, sagemaker_part('later'))
        await wait_for(lambda: any('later' in c.training_jobs for c in heard))

        def in_line_2() -> Changed:  # a refresh of another use case: the others hear its keys with its place
            with leader.at('line-2'):
                return leader.apply_part(SAGEMAKER, sagemaker_part('cracks'))

        assert (await asyncio.to_thread(in_line_2)).training_jobs == {'cracks'}  # as the place wrote it
        await wait_for(lambda: any('line-2|cracks' in c.training_jobs for c in heard))
    finally:
        for store in (leader, follower):
            await asyncio.to_thread(store.stop_replica)


async def wait_for(condition: object, seconds: float = 1.0) -> None:
    """Within `seconds` (a second: what the issue promises for a change to reach every replica)."""
    assert callable(condition)
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, 'not within the time promised'
        await asyncio.sleep(0.01)


def terminate(url: str, application_name: str) -> None:
    with psycopg.connect(plain(url), autocommit=True) as admin:
        ended = admin.execute(
            'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s',
            (application_name,),
        ).fetchall()
    assert ended == [(True,)]
