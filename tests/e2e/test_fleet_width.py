"""`/fleet` with a full page of 25 devices fits 1024, 1280 and 1920 px wide windows: neither the page nor
the grid scrolls sideways, and every cell still says its word (a store seeded directly, no refresh)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from playwright.sync_api import Browser

from dda_portal.domain.clock import utcnow
from dda_portal.domain.greengrass import ComponentState
from dda_portal.queries.refresh import CycleResult
from dda_portal.store import Store
from dda_portal.tables import ComponentVersion, CoreDevice, InstalledComponent
from tests.e2e.conftest import running_portal
from tests.e2e.test_accessibility import assert_accessible
from tests.e2e.test_layouts import OVERFLOW

JETSON = {'accelerator': 'nvidia', 'jetpack': '5.1.2', 'cuda': '11.4'}
KINDS = (  # name part, architecture, thing attributes (None: not read yet)
    ('jetson-xavier-nx', 'aarch64', JETSON),
    ('industrial-pc-x86', 'amd64', {}),
    ('jetson-nano-legacy', 'aarch64', {'accelerator': 'nvidia', 'jetpack': '4.6', 'cuda': '10.2'}),
    ('new-gateway', 'aarch64', None),
)
DEVICES = [f'plant-{i // 9 + 1}-line-{i % 9 + 1:02d}-{KINDS[i % 4][0]}' for i in range(25)]


def version(name: str, target: str, architecture: str) -> ComponentVersion:
    platforms = [{'os': 'linux', 'architecture': architecture}]
    return ComponentVersion(
        arn=f'arn:aws:greengrass:us-east-1:123456789012:components:{name}:versions:1.0.0',
        component_name=name,
        component_version='1.0.0',
        state=ComponentState.DEPLOYABLE,
        created_at=utcnow() - timedelta(hours=1),
        training_job_name='dda-weld-seam-cracks-2026-11-26-1302',
        target_id=target,
        platforms=json.dumps(platforms),
        origin='portal',
    )


def seed(url: str) -> None:
    now = utcnow()
    reported = now - timedelta(minutes=5)
    store = Store(url)
    store.apply(
        CycleResult(
            started_at=now,
            aws_calls=0,
            component_versions=[
                version(
                    'model-dda-weld-seam-cracks-2026-11-26-1302-jetson-xavier', 'jetson-xavier', 'aarch64'
                ),
                version('model-dda-weld-seam-cracks-2026-11-26-1302-x86_64-cpu', 'x86_64-cpu', 'amd64'),
                version('model-dda-weld-seam-cracks-2026-11-26-1302-arm64-cpu', 'arm64-cpu', 'aarch64'),
            ],
            devices=[
                CoreDevice(
                    thing_name=name,
                    status='HEALTHY' if i % 7 else 'UNHEALTHY',
                    architecture=KINDS[i % 4][1],
                    platform='linux',
                    last_status_update=reported,
                    refreshed_at=now,
                    thing_attributes=None if KINDS[i % 4][2] is None else json.dumps(KINDS[i % 4][2]),
                    thing_read_for=reported,
                )
                for i, name in enumerate(DEVICES)
            ],
            installed=[
                InstalledComponent(
                    thing_name=name,
                    component_name='model-dda-weld-seam-cracks-2026-11-26-1302-jetson-xavier',
                    component_version='1.0.0',
                    lifecycle_state='RUNNING',
                    last_status_change=reported,
                    last_reported=reported,
                )
                for name in DEVICES[::8]
            ],
        )
    )
    store.engine.dispose()


@pytest.fixture(scope='module')
def fleet_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    work = tmp_path_factory.mktemp('fleet')
    seed(f'sqlite:///{work / "portal.db"}')
    with running_portal(work, [], {'DDA_SYNC_ENABLED': 'false'}, ready='/healthz') as url:
        yield url


def test_a_full_page_of_devices_fits_without_sideways_scrolling(browser: Browser, fleet_url: str) -> None:
    page = browser.new_page()
    found: list[str] = []
    try:
        for width, height in ((1024, 768), (1280, 800), (1920, 1080)):
            page.set_viewport_size({'width': width, 'height': height})
            page.goto(f'{fleet_url}/fleet')
            page.get_by_text('Devices 1–25 of 25').wait_for()
            found += [f'{width}×{height}: {line}' for line in page.evaluate(OVERFLOW)]
            cells = page.locator('[data-fit]')
            assert cells.count() == 3 * 25
            # every cell says a word on screen, not colour alone, and its whole word to screen readers
            shown = cells.locator('.matrix-short').evaluate_all('words => words.map(w => w.innerText.trim())')
            assert set(shown) == {'Run', 'OK', 'No', '?'}, set(shown)
            read = cells.evaluate_all(
                'cells => cells.map(c => [c.dataset.fit, c.querySelector(".matrix-word").textContent.trim()])'
            )
            assert all(word == text for word, text in read), read
    finally:
        page.close()
    assert not found, '\n'.join(found)


def test_the_compact_grid_is_accessible(browser: Browser, fleet_url: str) -> None:
    context = browser.new_context(viewport={'width': 1024, 'height': 768}, bypass_csp=True)
    try:
        page = context.new_page()
        page.goto(f'{fleet_url}/fleet')
        page.get_by_text('Devices 1–25 of 25').wait_for()
        assert_accessible(page, '/fleet with 25 devices at 1024×768')
        incompatible = page.locator('[data-fit="Incompatible"]').first
        assert 'device is amd64; this version is built for aarch64' in (incompatible.text_content() or '')
    finally:
        context.close()
