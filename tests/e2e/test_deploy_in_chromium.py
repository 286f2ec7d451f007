"""Deploying a demo model in real headless Chromium: the pre-flight names a platform mismatch and a stale
device, a deployment to a compatible thing group rolls out device by device, and Roll back redeploys the
group's previous revision."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import running_portal

ROLLOUT_SECONDS = 120_000  # ms: the demo steps every 2 s; a rollout takes two steps and a refresh


@pytest.fixture(scope='module')
def fast_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The demo at a fast pace: refresh every 2 s, simulator step every 2 s, device inventory every 4 s."""
    work: Path = tmp_path_factory.mktemp('deploy-demo')
    env = {'DDA_REFRESH_SECONDS': '2', 'DDA_DEMO_STEP_SECONDS': '2', 'DDA_DEVICE_REFRESH_SECONDS': '4'}
    with running_portal(work, ['--demo'], env) as url:
        yield url


def choose(page: Page, dialog: Locator, label: str, option: str) -> None:
    dialog.get_by_label(label).click()
    page.get_by_role('option', name=option, exact=True).click()


def test_deploy_to_a_thing_group_watch_it_roll_out_and_roll_back(page: Page, fast_demo: str) -> None:
    # a training job whose Jetson model is a deployable Greengrass component
    page.goto(f'{fast_demo}/components?use-case=line-1')  # the use case whose thing groups are seeded
    row = (
        page.locator('tbody tr', has_text='jetson-xavier')
        .filter(has_text='Deployable')
        .filter(has=page.locator('a[href*="/training-jobs/"]'))
    )
    expect(row.first).to_be_visible(timeout=60_000)
    row.first.locator('a[href*="/training-jobs/"]').click()
    expect(page).to_have_url(re.compile(r'tab=components'))
    card = page.locator('.q-card', has_text='jetson-xavier').filter(has_text='Deployable').first
    title = card.locator('.font-bold').first.inner_text()
    card.get_by_role('button', name='Deploy…').click()
    dialog = page.get_by_role('dialog')
    expect(dialog.get_by_text('Deploy a component version')).to_be_visible()

    # the plant group mixes architectures and holds a device that has not reported for a day
    choose(page, dialog, 'Thing group or core device', 'Thing group plant-1 (3 devices)')
    expect(dialog.get_by_text(re.compile(r'cannot run on dda-line2-ipc-01: .*amd64'))).to_be_visible(
        timeout=30_000
    )
    expect(dialog.get_by_text(re.compile(r'dda-line3-jetson-03 has not reported for a day'))).to_be_visible()
    expect(dialog.get_by_text('Blocks', exact=True).first).to_be_visible()
    expect(dialog.get_by_text('Warns', exact=True).first).to_be_visible()
    confirm = dialog.get_by_role('button', name='Confirm deployment')
    expect(confirm).to_be_disabled()

    # line 1: two healthy Jetsons and one whose camera driver does not load; its base components stay
    choose(page, dialog, 'Thing group or core device', 'Thing group line-1 (3 devices)')
    expect(dialog.get_by_text('No faults found.')).to_be_visible(timeout=30_000)
    plan = dialog.locator('table')
    expect(plan.get_by_text('aws.greengrass.LogManager')).to_be_visible()
    expect(plan.get_by_text(title.rsplit(' ', 1)[0])).to_be_visible()
    expect(confirm).to_be_enabled()
    confirm.click()
    expect(page.get_by_text(re.compile(r'Deploying .* to thing group line-1'))).to_be_visible()
    expect(dialog).to_be_hidden()

    # the rollout, live on the Components tab: two devices succeed, one fails with its reason
    rollout = page.get_by_test_id('rollout').filter(has_text=f'{title} to thing group line-1').first
    expect(rollout).to_be_visible(timeout=30_000)
    for thing in ('dda-line1-jetson-01', 'dda-line1-jetson-02'):
        expect(
            rollout.get_by_test_id('rollout-device').filter(has_text=thing).get_by_text('Succeeded')
        ).to_be_visible(timeout=ROLLOUT_SECONDS)
    failed = rollout.get_by_test_id('rollout-device').filter(has_text='dda-line1-jetson-04')
    expect(failed.get_by_text('Failed')).to_be_visible(timeout=ROLLOUT_SECONDS)
    expect(failed.get_by_text(re.compile('camera driver'))).to_be_visible()

    # roll back: line 1's previous revision (its base deployment) goes out again
    rollout.get_by_role('button', name=re.compile('Roll back to revision 1')).click()
    expect(page.get_by_text('Rolling back thing group line-1')).to_be_visible()
    page.goto(f'{fast_demo}/devices/dda-line1-jetson-01')
    back = page.get_by_test_id('rollout').filter(has_text='Roll back thing group line-1 to revision 1').first
    expect(back).to_be_visible(timeout=30_000)
    expect(back.get_by_text('Succeeded', exact=True)).to_have_count(3, timeout=ROLLOUT_SECONDS)
