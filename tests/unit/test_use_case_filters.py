"""The use case filter of the lists and the matrix: `use-case=<name>` in the URL like the other filters, a
use case's every region kept, names the reader may not see dropped."""

from __future__ import annotations

from urllib.parse import parse_qsl

from dda_portal.domain.compat import DeviceFacts
from dda_portal.domain.filters import ListedJob, ListFilter, MatrixFilter, select
from dda_portal.domain.places import DEFAULT_PLACE, object_key, split_key
from dda_portal.pages.fleet.matrix_feed import MatrixFacts
from dda_portal.pages.fleet.matrix_page import build_page
from dda_portal.queries.matrix import DeviceColumn, VersionRow
from dda_portal.use_cases import DEFAULT_USE_CASE

SEEN = ['line-1', 'line-2']  # the use cases the reader may see
JOBS = [
    ListedJob('caps', 'Completed', 'Compiled', frozenset(), 'line-1/us-east-1'),
    ListedJob('caps', 'Completed', 'Compiled', frozenset(), 'line-1/eu-west-1'),
    ListedJob('caps', 'Completed', 'Not compiled', frozenset(), 'line-2'),
    ListedJob('weave', 'Failed', 'Not compiled', frozenset(), 'line-2'),
]


def test_the_list_keeps_every_region_of_the_chosen_use_cases() -> None:
    chosen = ListFilter.from_query(parse_qsl('use-case=LINE-1'), {}, SEEN)
    assert chosen.use_cases == {'line-1'}
    assert [j.use_case for j in select(JOBS, chosen)] == ['line-1/us-east-1', 'line-1/eu-west-1']
    both = ListFilter.from_query([('use-case', 'line-1,line-2')], {}, SEEN)
    assert select(JOBS, both) == JOBS


def test_a_use_case_the_reader_may_not_see_is_no_filter_at_all() -> None:
    read = ListFilter.from_query([('use-case', 'line-3'), ('q', 'caps')], {}, SEEN)
    assert read == ListFilter(text='caps')


def test_the_use_case_filter_is_written_and_read_back_with_the_others() -> None:
    written = ListFilter(statuses=frozenset({'Failed'}), use_cases=frozenset({'line-2', 'line-1'}))
    assert written.url() == '/?status=Failed&use-case=line-1,line-2'
    assert ListFilter.from_query(parse_qsl(written.to_query()), {}, SEEN) == written
    assert not written.is_empty and ListFilter().replace(use_cases=['line-2']).use_cases == {'line-2'}


def test_the_matrix_keeps_versions_and_devices_of_the_chosen_use_cases() -> None:
    chosen = MatrixFilter.from_query([('use-case', 'line-2'), ('vpage', '3')], {}, SEEN)
    assert chosen.url() == '/fleet?use-case=line-2&vpage=3'
    assert chosen.keeps_version('caps', None, 'line-2') and not chosen.keeps_version('caps', None, 'line-1')
    assert chosen.keeps_device('cam-1', frozenset(), 'line-2')
    assert not chosen.keeps_device('cam-1', frozenset(), 'line-1/eu-west-1')
    assert chosen.replace(use_cases={'line-1'}).version_page == 1  # a new filter starts at the first page
    assert MatrixFilter().keeps_device('cam-1', frozenset(), 'line-1/eu-west-1')


def test_objects_of_the_default_place_keep_their_bare_names_as_keys() -> None:
    assert DEFAULT_PLACE == DEFAULT_USE_CASE
    assert object_key(DEFAULT_PLACE, 'caps') == 'caps'
    assert object_key('line-1/eu-west-1', 'caps') == 'line-1/eu-west-1|caps'
    assert [split_key(object_key(p, 'caps')) for p in ('default', 'line-2')] == [
        ('default', 'caps'),
        ('line-2', 'caps'),
    ]


def test_the_matrix_shows_only_versions_and_devices_of_the_places_seen_and_chosen() -> None:
    facts = MatrixFacts(
        versions={
            f'arn:{place}': VersionRow(
                place, f'arn:{place}', 'model', '1.0.0', 'caps', 'x86_64-cpu', None, None
            )
            for place in ('line-1', 'line-2', 'line-3')
        },
        devices={
            f'cam-{place}': DeviceColumn(place, f'cam-{place}', DeviceFacts('linux', 'amd64', {}), 'HEALTHY')
            for place in ('line-1', 'line-2', 'line-3')
        },
    )
    seen = frozenset({'line-1', 'line-2'})  # line-3 is not for this person

    def shown(chosen: MatrixFilter) -> tuple[list[str], list[str]]:
        page = build_page(facts, chosen, {}, {}, seen)
        return sorted(r['arn'] for r in page.rows), sorted(c['label'] for c in page.columns[1:])

    assert shown(MatrixFilter()) == (['arn:line-1', 'arn:line-2'], ['cam-line-1', 'cam-line-2'])
    assert shown(MatrixFilter(use_cases=frozenset({'line-2'}))) == (['arn:line-2'], ['cam-line-2'])
    links = [r['job_link'] for r in build_page(facts, MatrixFilter(), {}, {}, seen).rows]
    assert sorted(links) == [
        '/training-jobs/caps?tab=components&use-case=line-1',
        '/training-jobs/caps?tab=components&use-case=line-2',
    ]


def test_a_thing_name_of_two_accounts_has_two_columns_and_versions_meet_only_their_own_devices() -> None:
    facts = MatrixFacts(
        versions={
            f'arn:{place}': VersionRow(
                place, f'arn:{place}', 'model', '1.0.0', 'caps', 'x86_64-cpu', None, ()
            )
            for place in SEEN
        },
        devices={
            object_key(place, 'cam-1'): DeviceColumn(
                place, 'cam-1', DeviceFacts('linux', 'amd64', {}), 'HEALTHY'
            )
            for place in SEEN
        },
        running={object_key('line-1', 'cam-1'): frozenset({('model', '1.0.0')})},
    )
    page = build_page(facts, MatrixFilter(), {}, {}, frozenset(SEEN), several=True)
    assert [(c['label'], c['facts'].split(' · ')[0]) for c in page.columns[1:]] == [
        ('cam-1', 'line-1'),
        ('cam-1', 'line-2'),
    ]
    cells = {(r['place'], i): r[f'd{i}']['w'] for r in page.rows for i in (0, 1)}
    assert cells == {
        ('line-1', 0): 'Running',  # line-1's cam-1 runs line-1's version; line-2's runs nothing of it
        ('line-1', 1): 'Other use case',
        ('line-2', 0): 'Other use case',
        ('line-2', 1): 'Compatible',
    }
    other = next(r['d1'] for r in page.rows if r['place'] == 'line-1')
    assert other['r'].startswith('the version is in line-1, the device in line-2')
    assert all(not r['place'] for r in build_page(facts, MatrixFilter(), {}, {}, frozenset(SEEN)).rows)
