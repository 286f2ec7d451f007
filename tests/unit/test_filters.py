"""The training-jobs list's filters: URL query in and out, matching, chip counts."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest

from dda_portal.domain.filters import (
    MAX_TEXT,
    ROLLUPS,
    ListedJob,
    ListFilter,
    clean_text,
    rollup_counts,
    select,
)

TARGETS = {
    'x86_64-cpu': 'x86_64 CPU',
    'jetson-xavier': 'NVIDIA Jetson Xavier',
    'platform:linux-arm64': 'LINUX/ARM64',
}


def job(name: str, status: str = 'Completed', rollup: str = 'Compiled', *targets: str) -> ListedJob:
    return ListedJob(name, status, rollup, frozenset(targets))


JOBS = [
    job('bottle-caps-v1', 'Completed', 'Compiled', 'x86_64-cpu', 'jetson-xavier'),
    job('bottle-caps-v2', 'Completed', 'Compiling', 'x86_64-cpu'),
    job('Bottle-Labels', 'Completed', 'Compilation failed', 'jetson-xavier'),
    job('textile-weave', 'Completed', 'Not compiled'),
    job('pcb-solder', 'In progress', 'Not compiled'),
    job('pcb-solder-old', 'Failed', 'Not compiled'),
]


def names(list_filter: ListFilter) -> list[str]:
    return [j.name for j in select(JOBS, list_filter)]


def parse(query: str) -> ListFilter:
    return ListFilter.from_query(parse_qsl(query, keep_blank_values=True), TARGETS)


# ---- reading the URL ----------------------------------------------------------------------------


def test_reads_every_parameter_of_the_documented_url() -> None:
    read = parse('rollup=Compiling,Compilation+failed&status=Completed&target=x86_64-cpu&q=bottle')
    assert read == ListFilter(
        rollups=frozenset({'Compiling', 'Compilation failed'}),
        statuses=frozenset({'Completed'}),
        targets=frozenset({'x86_64-cpu'}),
        text='bottle',
    )


def test_no_query_is_no_filter() -> None:
    assert parse('') == ListFilter()
    assert ListFilter().is_empty


def test_unknown_values_and_parameters_are_ignored() -> None:
    read = parse('rollup=Compiling,Exploded,<script>&status=Nope&target=quantum-cpu&sort=name&page=3')
    assert read == ListFilter(rollups=frozenset({'Compiling'}))


def test_values_are_matched_without_regard_to_case_and_blanks() -> None:
    read = parse('rollup=+compiling+,COMPILATION%20FAILED,,&status=in+progress')
    assert read.rollups == {'Compiling', 'Compilation failed'}
    assert read.statuses == {'In progress'}


def test_aws_spelling_of_a_status_is_understood() -> None:
    read = parse('status=InProgress,STOPPED&rollup=NotCompiled')
    assert read.statuses == {'In progress', 'Stopped'}
    assert read.rollups == {'Not compiled'}
    assert read.url() == '/?rollup=Not+compiled&status=In+progress,Stopped'


def test_repeated_parameters_add_up() -> None:
    read = parse('rollup=Compiling&rollup=Compiled&target=x86_64-cpu&target=jetson-xavier')
    assert read.rollups == {'Compiling', 'Compiled'}
    assert read.targets == {'x86_64-cpu', 'jetson-xavier'}


def test_a_target_can_be_given_by_its_label_and_is_kept_as_its_id() -> None:
    assert parse('target=NVIDIA+Jetson+Xavier').targets == {'jetson-xavier'}
    assert parse('target=platform:linux-arm64').targets == {'platform:linux-arm64'}


def test_a_target_nobody_compiled_for_is_ignored() -> None:
    assert ListFilter.from_query([('target', 'x86_64-cpu')], {}).targets == frozenset()


def test_search_text_is_capped_and_cleaned() -> None:
    read = parse('q=' + 'a' * 5000)
    assert read.text == 'a' * MAX_TEXT
    assert parse('q=%20bottle%0A%00caps%09%20').text == 'bottle caps'


def test_an_absurd_number_of_values_reads_only_the_first_ones() -> None:
    read = parse('rollup=' + ','.join(['nonsense'] * 100 + ['Compiling']))
    assert read.rollups == frozenset()


# ---- writing the URL ----------------------------------------------------------------------------


def test_writes_the_documented_url() -> None:
    written = ListFilter(
        rollups=frozenset({'Compilation failed', 'Compiling'}),
        statuses=frozenset({'Completed'}),
        targets=frozenset({'x86_64-cpu'}),
        text='bottle',
    ).url()
    assert written == '/?rollup=Compiling,Compilation+failed&status=Completed&target=x86_64-cpu&q=bottle'


def test_no_filter_is_the_bare_path() -> None:
    assert ListFilter().url() == '/'
    assert ListFilter().to_query() == ''


@pytest.mark.parametrize(
    'list_filter',
    [
        ListFilter(rollups=frozenset(ROLLUPS)),
        ListFilter(statuses=frozenset({'In progress', 'Failed'})),
        ListFilter(targets=frozenset({'platform:linux-arm64', 'jetson-xavier'})),
        ListFilter(text='a&b=c?d,e+f %g #h'),
        ListFilter(frozenset({'Not compiled'}), frozenset({'Stopped'}), frozenset({'x86_64-cpu'}), 'v2'),
    ],
)
def test_what_is_written_reads_back_the_same(list_filter: ListFilter) -> None:
    assert parse(list_filter.to_query()) == list_filter


def test_replace_changes_only_the_given_parts() -> None:
    base = ListFilter(rollups=frozenset({'Compiling'}), text='x')
    changed = base.replace(statuses=['Completed'], text='  y  ')
    assert changed == ListFilter(
        rollups=frozenset({'Compiling'}), statuses=frozenset({'Completed'}), text='y'
    )
    assert base.text == 'x'


# ---- matching -----------------------------------------------------------------------------------


def test_rollups_are_alternatives() -> None:
    assert names(ListFilter(rollups=frozenset({'Compiling', 'Compilation failed'}))) == [
        'bottle-caps-v2',
        'Bottle-Labels',
    ]


def test_status_filter() -> None:
    assert names(ListFilter(statuses=frozenset({'In progress', 'Failed'}))) == [
        'pcb-solder',
        'pcb-solder-old',
    ]


def test_target_filter_keeps_jobs_with_an_attempt_for_any_chosen_target() -> None:
    assert names(ListFilter(targets=frozenset({'jetson-xavier'}))) == ['bottle-caps-v1', 'Bottle-Labels']
    assert names(ListFilter(targets=frozenset({'jetson-xavier', 'x86_64-cpu'}))) == [
        'bottle-caps-v1',
        'bottle-caps-v2',
        'Bottle-Labels',
    ]


def test_name_search_ignores_case_and_needs_every_word() -> None:
    assert names(ListFilter(text='BOTTLE')) == ['bottle-caps-v1', 'bottle-caps-v2', 'Bottle-Labels']
    assert names(ListFilter(text='caps v2')) == ['bottle-caps-v2']
    assert names(ListFilter(text='nothing-like-this')) == []


def test_different_filters_must_all_hold() -> None:
    list_filter = ListFilter(
        rollups=frozenset({'Not compiled', 'Compiled'}), statuses=frozenset({'Completed'}), text='e'
    )
    assert names(list_filter) == ['bottle-caps-v1', 'textile-weave']


def test_empty_filter_keeps_everything_in_order() -> None:
    assert names(ListFilter()) == [j.name for j in JOBS]


# ---- chip counts --------------------------------------------------------------------------------


def test_counts_per_rollup_without_filters() -> None:
    assert rollup_counts(JOBS, ListFilter()) == {
        'Not compiled': 3,
        'Compiling': 1,
        'Compiled': 1,
        'Compilation failed': 1,
    }


def test_counts_follow_the_other_filters_but_not_the_chosen_rollups() -> None:
    list_filter = ListFilter(rollups=frozenset({'Compiling'}), statuses=frozenset({'Completed'}))
    # choosing another chip would add exactly this many rows
    assert rollup_counts(JOBS, list_filter) == {
        'Not compiled': 1,
        'Compiling': 1,
        'Compiled': 1,
        'Compilation failed': 1,
    }
    assert rollup_counts(JOBS, ListFilter(text='pcb'))['Not compiled'] == 2


def test_clean_text_removes_control_characters() -> None:
    assert clean_text('\x1b[31mred\u200b\r\n') == '[31mred'
