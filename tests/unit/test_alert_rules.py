"""The alerts' pure rules: which kinds the settings name, what a message says, how long a retry waits, and
how a channel is named without its secrets."""

from __future__ import annotations

from datetime import timedelta

import pytest

from dda_portal.config import SettingsError, channel_name, load_settings
from dda_portal.domain import alerts
from dda_portal.domain.alerts import AlertPolicy, first_line, parse_rules, retry_delay
from dda_portal.domain.guidance import GuidanceBook

POLICY = AlertPolicy(frozenset(alerts.KINDS), 'https://portal.example.com/', GuidanceBook.load())


def test_rules_are_named_with_commas_or_spaces_and_an_unknown_one_is_refused() -> None:
    assert parse_rules('compilation-failed, device-unhealthy') == {'compilation-failed', 'device-unhealthy'}
    assert parse_rules(alerts.DEFAULT_RULES) == set(alerts.KINDS)
    with pytest.raises(ValueError, match=r'unknown alert rule.*compilation-done'):
        parse_rules('compilation-failed compilation-done')


def test_settings_stop_the_start_on_an_unknown_rule_or_an_unusable_url() -> None:
    with pytest.raises(SettingsError, match='DDA_ALERT_RULES: unknown alert rule'):
        load_settings({'alert_rules': 'nope'})
    with pytest.raises(SettingsError, match=r'DDA_ALERT_URLS: URL 2 \(nope://…\) is not an Apprise URL'):
        load_settings({'alert_urls': 'json://127.0.0.1:9/x, nope://secret-token@host'})
    with pytest.raises(SettingsError, match='DDA_PUBLIC_URL'):
        load_settings({'public_url': 'portal.example.com'})


def test_links_default_to_the_address_the_portal_listens_on() -> None:
    assert load_settings({'port': 9000}).public_base_url == 'http://127.0.0.1:9000'
    assert load_settings({'public_url': 'https://p.example.com/'}).public_base_url == 'https://p.example.com'


def test_a_channel_is_named_without_tokens_or_passwords() -> None:
    assert (
        channel_name('json://user:secret@hooks.example.com:8443/path?token=x') == 'json://hooks.example.com'
    )
    assert channel_name('slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ') == 'slack://…'


def test_a_retry_waits_twice_as_long_as_the_one_before_at_most_a_day() -> None:
    assert [retry_delay(n, 30).total_seconds() for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert retry_delay(40, 30) == timedelta(days=1)


def test_a_failed_compilation_message_names_job_target_reason_guidance_and_link() -> None:
    draft = alerts.compilation_failed(
        POLICY, 'weld-x-1', 'weld line/2', 'x86', 2, '\n  ClientError: bad shape\nTraceback …'
    )
    assert draft.key == 'compilation-failed:weld-x-1'
    assert draft.link == 'https://portal.example.com/training-jobs/weld%20line%2F2'
    assert 'Reason: ClientError: bad shape' in draft.body and 'Traceback' not in draft.body
    assert 'Target: x86 (attempt 2)' in draft.body
    assert f'Guidance: {POLICY.guidance.for_failure("ClientError: bad shape").title}' in draft.body


def test_an_alert_of_another_use_case_names_it_in_its_key_title_and_link() -> None:
    draft = alerts.compilation_failed(POLICY, 'weld-x-1', 'weld', 'x86', 1, 'ClientError: bad shape')
    assert alerts.in_place(draft, 'default', 'default') == draft  # as before use cases: the same key
    placed = alerts.in_place(draft, 'line-2/eu-west-1', 'default')
    assert placed.key == 'compilation-failed:weld-x-1@line-2/eu-west-1' != draft.key
    assert placed.link == 'https://portal.example.com/training-jobs/weld?use-case=line-2%2Feu-west-1'
    assert placed.title.endswith('(line-2/eu-west-1)')
    assert f'Open: {placed.link}' in placed.body and 'Use case: line-2/eu-west-1' in placed.body
    assert alerts.place_of_key(placed.key, 'default') == 'line-2/eu-west-1'
    assert alerts.place_of_key(draft.key, 'default') == 'default'


def test_every_target_compiled_is_one_key_per_set_of_attempts() -> None:
    first = alerts.all_targets_compiled(POLICY, 'weld', [('weld-a-1', 'A', 1), ('weld-b-1', 'B', 1)])
    same = alerts.all_targets_compiled(POLICY, 'weld', [('weld-b-1', 'B', 1), ('weld-a-1', 'A', 1)])
    later = alerts.all_targets_compiled(POLICY, 'weld', [('weld-a-1', 'A', 1), ('weld-b-2', 'B', 2)])
    assert first.key == same.key != later.key


def test_a_long_first_line_is_cut() -> None:
    assert len(first_line('x' * 1000)) == alerts.MAX_LINE


def test_a_change_of_the_outbox_reaches_the_other_replicas() -> None:
    from dda_portal.domain.changes import Changed, Notice, payloads, read_payload

    [payload] = payloads(Notice('replica-a', Changed(alerts=True)))
    notice = read_payload(payload)
    assert notice is not None and notice.changed == Changed(alerts=True) and bool(notice.changed)
    assert (Changed.jobs('x') | Changed(alerts=True)).alerts
