"""What replicas tell each other after a commit: the changed keys as JSON payloads PostgreSQL takes (each
under 8000 bytes), read back as the same change."""

from __future__ import annotations

from dda_portal.domain.changes import EVERYTHING, NOTHING, Changed, Notice, payloads, read_payload


def test_a_notice_reads_back_as_the_same_change() -> None:
    changed = Changed(
        frozenset({'cracks', 'dents-ü'}),
        frozenset({'arn:component:1'}),
        frozenset({'gate-1'}),
        True,
        alerts=True,
        deployments=frozenset({'4da4b3ec-e3ce-52fb-b8a1-2791eb7e2c8e'}),
    )
    notice = Notice('host-a:12', changed, fresh=True, cycle=True)
    (payload,) = payloads(notice)
    assert read_payload(payload) == notice


def test_many_keys_are_spread_over_payloads_each_under_the_limit() -> None:
    names = frozenset(f'training-job-{n:05d}-with-a-rather-long-name' for n in range(2000))
    devices = frozenset(f'device-{n}' for n in range(300))
    notice = Notice('host-a:12', Changed(training_jobs=names, devices=devices), fresh=True)
    sent = payloads(notice)
    assert len(sent) > 10
    assert all(len(p.encode()) <= 7000 for p in sent)
    read = [read_payload(p) for p in sent]
    assert all(n is not None and n.sender == 'host-a:12' and n.fresh for n in read)
    merged = NOTHING
    for n in read:
        assert n is not None
        merged |= n.changed
    assert merged == notice.changed


def test_flags_without_keys_and_foreign_payloads() -> None:
    assert read_payload(payloads(Notice('b', NOTHING, refresh=True))[0]) == Notice('b', NOTHING, refresh=True)
    assert read_payload(payloads(Notice('b', EVERYTHING))[0]) == Notice('b', EVERYTHING)
    for foreign in ('', 'hello', '[]', '{"jobs": ["x"]}', '{"from": 1}', '{"from": "a", "jobs": "x"}'):
        assert read_payload(foreign) is None
    assert EVERYTHING and (NOTHING | EVERYTHING).everything


def test_a_deployment_change_alone_is_a_change_and_merges() -> None:
    rollout = Changed(deployments=frozenset({'dep-1'}))
    assert rollout and (rollout | Changed.jobs('cracks')).deployments == {'dep-1'}
    (payload,) = payloads(Notice('host-b:1', rollout))
    assert read_payload(payload) == Notice('host-b:1', rollout)


def test_a_change_leaves_its_place_with_keys_that_say_the_place() -> None:
    written = Changed(
        frozenset({'cracks'}),
        frozenset({'arn:aws:greengrass:eu-west-1:2:components:c:versions:1'}),
        frozenset({'cam-1'}),
    )
    placed = written.placed('line-2/eu-west-1')
    assert placed.training_jobs == {'line-2/eu-west-1|cracks'} and placed.devices == {
        'line-2/eu-west-1|cam-1'
    }
    assert placed.components == written.components  # ARNs name their account and region already
    assert written.placed('default') == written  # one use case: bare names, as always
    (payload,) = payloads(Notice('host-a:12', placed))
    assert read_payload(payload) == Notice('host-a:12', placed)
