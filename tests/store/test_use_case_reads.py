"""Two use cases with the same thing, component and deployment names in one store: each write stays in its
place, every row read says its place, and a reader given some places sees those only."""

from __future__ import annotations

from datetime import UTC, datetime

from dda_portal import queries
from dda_portal.domain.alerts import AlertDraft
from dda_portal.domain.greengrass import ComponentState
from dda_portal.domain.refresh import SAGEMAKER
from dda_portal.pages.layout import stale_text, stale_times
from dda_portal.queries.deployments import RolloutFacts
from dda_portal.store import Store
from dda_portal.tables import ComponentVersion, CoreDevice, Deployment, InstalledComponent, SyncPart

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)
PLACES = ['line-1', 'line-2/eu-west-1']


def fleet_of(store: Store, place: str, status: str) -> None:
    """What a refresh of `place` writes: one component, one device running it, one deployment."""
    arn = f'arn:aws:greengrass:{place}:components:cracks:versions:1.0.0'
    with store.at(place):
        store.write(
            queries.fleet.upsert_component,
            ComponentVersion(
                arn=arn, component_name='cracks', component_version='1.0.0', state=ComponentState.DEPLOYABLE
            ),
            {},
        )
        store.write(
            queries.inventory.replace_inventory,
            [CoreDevice(thing_name='cam-1', status=status, refreshed_at=NOW)],
            [InstalledComponent(thing_name='cam-1', component_name='cracks', component_version='1.0.0')],
        )
        deployment = Deployment(deployment_id='d-1', target_arn='arn:aws:iot:x:thing/cam-1', status='ACTIVE')
        store.write(queries.deployments.write_rollouts, RolloutFacts(deployments=[deployment]), NOW)
        store.write(queries.alerts.record, AlertDraft('device-unhealthy:cam-1', 'k', 't', 'b', 'https://p/'))


def test_the_same_names_in_two_use_cases_stay_apart_and_readers_see_their_places_only() -> None:
    store = Store('sqlite://')
    fleet_of(store, PLACES[0], 'HEALTHY')
    fleet_of(store, PLACES[1], 'UNHEALTHY')

    devices, installed = store.read(queries.fleet.fleet_devices)
    assert sorted((d.use_case, d.status) for d in devices) == [
        ('line-1', 'HEALTHY'),
        ('line-2/eu-west-1', 'UNHEALTHY'),
    ]
    assert sorted(i.use_case for i in installed['cam-1']) == PLACES
    assert [d.status for d in store.read(queries.fleet.devices, None, ['line-1'])] == ['HEALTHY']
    _, mine = store.read(queries.fleet.fleet_devices, None, ['line-1'])
    assert [i.use_case for i in mine['cam-1']] == ['line-1']

    assert sorted(c.use_case for c in store.read(queries.fleet.components)) == PLACES
    versions, running = store.read(queries.fleet.fleet_components, None, [PLACES[1]])
    assert [v.use_case for v in versions] == [PLACES[1]] and running == {('cracks', '1.0.0'): ['cam-1']}

    assert sorted(d.use_case for d in store.read(queries.deployments.deployments)) == PLACES
    assert [d.use_case for d in store.read(queries.deployments.deployments, None, ['line-1'])] == ['line-1']
    assert store.read(queries.deployments.deployment, 'd-1', PLACES[1]) is not None

    matrix = store.read(queries.matrix.matrix, None, ['line-1'])
    assert [(c.use_case, c.status) for c in matrix.devices.values() if c] == [('line-1', 'HEALTHY')]

    assert sorted(a.use_case for a in store.read(queries.alerts.recent)) == PLACES  # one each: keys differ
    assert [a.use_case for a in store.read(queries.alerts.recent, 200, [PLACES[1]])] == [PLACES[1]]
    assert store.read(queries.alerts.recent, 200, []) == []


def test_a_refresh_of_one_place_never_removes_the_devices_of_another() -> None:
    store = Store('sqlite://')
    fleet_of(store, PLACES[0], 'HEALTHY')
    fleet_of(store, PLACES[1], 'HEALTHY')
    with store.at(PLACES[1]):  # line-2's fleet is empty now: a full inventory of nothing
        store.write(queries.inventory.replace_inventory, [], [])
    assert [d.use_case for d in store.read(queries.fleet.devices)] == ['line-1']
    _, installed = store.read(queries.fleet.fleet_devices)
    assert [i.use_case for i in installed['cam-1']] == ['line-1']


def test_one_use_case_failing_leaves_the_others_fresh_and_says_which_failed() -> None:
    store = Store('sqlite://')
    long_ago = datetime(2026, 11, 29, tzinfo=UTC)
    with store.at(PLACES[1]):  # refreshed once, long ago; its role is denied since
        store.write(queries.refresh.mark_part_succeeded, 'sagemaker')
        store.write(
            queries.refresh.mark_part_failed, 'sagemaker', NOW, 'AccessDenied', 'denied', 'AssumeRole'
        )
        store.write(lambda s: setattr(s.get(SyncPart, (PLACES[1], 'sagemaker')), 'last_success', long_ago))
    with store.at(PLACES[0]):
        store.write(queries.refresh.mark_part_succeeded, 'sagemaker')
    fresh = store.read(queries.freshness.freshness)
    assert fresh.last_success is not None and fresh.last_success > long_ago  # line-1's data is fresh
    assert list(fresh.failed_places()) == [PLACES[1]]
    assert fresh.failed_places()[PLACES[1]].error_code == 'AccessDenied'
    assert fresh.parts['sagemaker'].use_case == PLACES[1]  # the banner's sum shows the failure


def test_the_matrix_keeps_a_thing_name_of_two_accounts_in_two_columns() -> None:
    """`cam-1` in both places: line-1's runs cracks 1.0.0, line-2's is only meant to (its deployment)."""
    store = Store('sqlite://')
    for place, running in ((PLACES[0], True), (PLACES[1], False)):
        with store.at(place):
            installed = [
                InstalledComponent(thing_name='cam-1', component_name='cracks', component_version='1.0.0')
            ]
            store.write(
                queries.inventory.replace_inventory,
                [CoreDevice(thing_name='cam-1', status='HEALTHY', architecture=place, refreshed_at=NOW)],
                installed if running else [],
            )
            if not running:
                deployment = Deployment(
                    deployment_id=f'd-{place}',
                    target_arn='arn:aws:iot:eu-west-1:2:thing/cam-1',
                    status='ACTIVE',
                    components='{"cracks": "1.0.0"}',
                )
                store.write(queries.deployments.write_rollouts, RolloutFacts(deployments=[deployment]), NOW)
    line_1, line_2 = (f'{place}|cam-1' for place in PLACES)
    every = store.read(queries.matrix.matrix)
    assert sorted(every.devices) == [line_1, line_2]
    assert {k: c.facts.architecture for k, c in every.devices.items() if c} == {
        line_1: PLACES[0],
        line_2: PLACES[1],
    }
    assert every.running == {line_1: {('cracks', '1.0.0')}, line_2: frozenset()}
    assert every.deployed == {line_1: frozenset(), line_2: {('cracks', '1.0.0')}}
    # a change of line-2's device reads that device only
    one = store.read(queries.matrix.matrix, [('device', line_2)])
    assert list(one.devices) == [line_2] and one.deployed[line_2] == {('cracks', '1.0.0')}
    assert store.read(queries.matrix.matrix, [('device', line_2)], [PLACES[0]]).devices == {line_2: None}


def test_each_place_records_its_refreshes_and_a_good_one_elsewhere_hides_no_failure() -> None:
    store = Store('sqlite://')
    with store.at(PLACES[0]):
        store.record_cycle(NOW, 3, 0)
    with store.at(PLACES[1]):  # line-2's refresh fails…
        store.record_cycle(NOW, 1, 0, ('AccessDenied', 'Not authorized to perform sts:AssumeRole'))
    with store.at(PLACES[0]):  # …and line-1's next one, recorded after it, succeeds
        store.record_cycle(NOW, 3, 0)
    fresh = store.read(queries.freshness.freshness)
    assert fresh.last_failure is not None and fresh.last_failure.use_case == PLACES[1]
    assert fresh.last_failure.error_code == 'AccessDenied'
    assert fresh.last_full_refresh is not None and fresh.cycle_id == 3
    with store.at(PLACES[1]):  # line-2 refreshes well again: no failure is left
        store.record_cycle(NOW, 3, 0)
    assert store.read(queries.freshness.freshness).last_failure is None
    assert [c.use_case for c in store.read(queries.freshness.last_cycles, 4)] == [PLACES[1], PLACES[0]] * 2


def test_a_place_that_never_refreshed_well_says_it_has_no_data_whatever_the_others_have() -> None:
    store = Store('sqlite://')
    with store.at(PLACES[0]):
        store.record_cycle(NOW, 3, 0)
    with store.at(PLACES[1]):  # line-2's role is denied from its first refresh on
        store.record_part_failure(SAGEMAKER, NOW, 'AccessDenied', 'not authorized', 'AssumeRole')
        store.record_cycle(NOW, 1, 0, ('AccessDenied', 'not authorized'))
    fresh = store.read(queries.freshness.freshness)
    assert set(fresh.full_refreshes) == {PLACES[0]} and fresh.last_full_refresh is not None
    # line-1's good refresh is no data of line-2's
    assert stale_text(fresh, (SAGEMAKER,)).endswith('no data from AWS yet.'), stale_text(fresh, (SAGEMAKER,))
    assert 'data from' not in stale_times(fresh, (SAGEMAKER,))
