"""The compatibility matrix: the refresh's cost in AWS calls, and how long a page of the grid takes to build.

1. AWS calls: the Greengrass emulator and moto's IoT get C component versions (recipes with platforms) and
   D core devices with IoT things; the portal's real refresh then runs: the first cycle, a quiet cycle (the
   device inventory not due), a quiet cycle with the inventory due, and one after one device reported.
   Run it with PYTHONPATH pointing at another checkout to compare (the render part needs this one).
2. Render: the grid's page (50 versions × 25 devices) and the whole grid page by page, from the shared
   facts, for 200 versions × 100 devices and 200 versions × 5,000 devices.

    .venv/bin/python bench/matrix.py [versions devices]
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.update(AWS_ACCESS_KEY_ID='bench', AWS_SECRET_ACCESS_KEY='bench', AWS_DEFAULT_REGION='us-east-1')
for name in ('AWS_ENDPOINT_URL', 'AWS_PROFILE'):
    os.environ.pop(name, None)

import boto3  # noqa: E402
from moto import mock_aws  # noqa: E402

from dda_portal.aws.clients import AwsClients  # noqa: E402
from dda_portal.config import Settings  # noqa: E402
from dda_portal.demo import moto_patches  # noqa: E402
from dda_portal.demo.greengrass import GreengrassServer  # noqa: E402
from dda_portal.domain.clock import utcnow  # noqa: E402
from dda_portal.domain.targets import TargetCatalog  # noqa: E402
from dda_portal.services import build  # noqa: E402
from dda_portal.store import Store  # noqa: E402

ARCHITECTURES = ('aarch64', 'amd64')


def aws_calls(versions: int, devices: int) -> list[tuple[str, int, str]]:
    moto_patches.apply()
    rows: list[tuple[str, int, str]] = []
    with GreengrassServer() as greengrass, mock_aws(), tempfile.TemporaryDirectory() as folder:
        os.environ['AWS_ENDPOINT_URL_GREENGRASSV2'] = greengrass.endpoint_url
        client = boto3.client('greengrassv2', endpoint_url=greengrass.endpoint_url)
        iot = boto3.client('iot')
        for i in range(versions):
            recipe = {
                'RecipeFormatVersion': '2020-01-25',
                'ComponentName': f'bench.Model{i % 10}',
                'ComponentVersion': f'{i // 10 + 1}.0.0',
                'Manifests': [{'Platform': {'os': 'linux', 'architecture': ARCHITECTURES[i % 2]}}],
            }
            client.create_component_version(inlineRecipe=json.dumps(recipe).encode())
        then = utcnow() - timedelta(minutes=30)
        for i in range(devices):
            name = f'bench-device-{i:05d}'
            greengrass.backend.add_core_device(
                name, architecture=ARCHITECTURES[i % 2], last_status_update=then
            )
            iot.create_thing(thingName=name, attributePayload={'attributes': {'accelerator': 'nvidia'}})
        greengrass.backend.advance()
        greengrass.backend.advance()
        url = f'sqlite:///{Path(folder) / "bench.db"}'
        settings = Settings(database_url=url, sync_enabled=False, device_refresh_seconds=60)
        sync = build(settings, Store(url), AwsClients(), TargetCatalog.load()).sync
        start = utcnow()
        for label, at in (
            ('first refresh', start),
            ('quiet, devices not due', start + timedelta(seconds=5)),
            ('quiet, devices due', start + timedelta(seconds=120)),
        ):
            sync.clients.counter.by_operation.clear()
            sync.pull_and_apply(at)
            rows.append((label, sum(sync.clients.counter.by_operation.values()), _calls(sync)))
        greengrass.backend.report_status('bench-device-00000', at=utcnow())
        sync.clients.counter.by_operation.clear()
        sync.pull_and_apply(start + timedelta(seconds=240))
        rows.append(('one device reported', sum(sync.clients.counter.by_operation.values()), _calls(sync)))
    return rows


def _calls(sync: object) -> str:
    counts = sync.clients.counter.by_operation  # type: ignore[attr-defined]
    wanted = (
        'GetComponent',
        'DescribeComponent',
        'DescribeThing',
        'ListCoreDevices',
        'ListInstalledComponents',
    )
    return ', '.join(f'{op} {counts[op]}' for op in wanted if counts.get(op))


def render(versions: int, devices: int) -> tuple[float, float, int]:
    """Seconds for one page of the grid and for the whole grid page by page, and the cells judged."""
    from dda_portal.domain.compat import DeviceFacts
    from dda_portal.domain.filters import MatrixFilter
    from dda_portal.pages.fleet.matrix_feed import MatrixFacts
    from dda_portal.pages.fleet.matrix_page import (
        DEVICES_PER_PAGE,
        VERSIONS_PER_PAGE,
        build_page,
        runtime_needs,
    )
    from dda_portal.queries.matrix import DeviceColumn, VersionRow

    catalog = TargetCatalog.load()
    targets = list(catalog)
    facts = MatrixFacts()
    for i in range(versions):
        target = catalog[targets[i % len(targets)]]
        facts.versions[f'arn:{i}'] = VersionRow(
            f'arn:{i}',
            f'model-job{i // 7}-{target.id}',
            '1.0.0',
            f'job{i // 7}',
            target.id,
            utcnow() - timedelta(minutes=i),
            (target.platform_attributes(),),
        )
    for i in range(devices):
        attributes = {'accelerator': 'nvidia', 'jetpack': ('5.1.2', '4.6', '6.0')[i % 3], 'cuda': '11.4'}
        name = f'device-{i:05d}'
        facts.devices[name] = DeviceColumn(
            name, DeviceFacts('linux', ARCHITECTURES[i % 2], attributes), 'HEALTHY'
        )
        facts.running[name] = frozenset({(f'model-job{i % 20}-jetson-xavier', '1.0.0')})
    needs, labels = runtime_needs(catalog), {t.id: t.display_name for t in catalog.values()}
    started = time.perf_counter()
    build_page(facts, MatrixFilter(), needs, labels)
    one = time.perf_counter() - started
    started, cells = time.perf_counter(), 0
    for v_page in range(1, -(-versions // VERSIONS_PER_PAGE) + 1):
        for d_page in range(1, -(-devices // DEVICES_PER_PAGE) + 1):
            page = build_page(facts, MatrixFilter(version_page=v_page, device_page=d_page), needs, labels)
            cells += len(page.rows) * (len(page.columns) - 1)
    return one, time.perf_counter() - started, cells


def main() -> None:
    versions, devices = (int(a) for a in sys.argv[1:3]) if len(sys.argv) > 2 else (40, 200)
    print(f'AWS calls per refresh: {versions} component versions, {devices} core devices with IoT things')
    print(f'{"cycle":<26} {"calls":>6}  of which')
    for label, total, detail in aws_calls(versions, devices):
        print(f'{label:<26} {total:>6}  {detail}')
    try:
        import dda_portal.pages.fleet.matrix  # noqa: F401
    except ImportError:
        return
    print()
    print(f'{"grid (versions × devices)":<28} {"one page":>10} {"every page":>12} {"cells":>10}')
    for size in ((200, 100), (200, 5000)):
        one, every, cells = render(*size)
        print(f'{f"{size[0]} × {size[1]:,}":<28} {one * 1000:>8.1f} ms {every * 1000:>9.0f} ms {cells:>10,}')


if __name__ == '__main__':
    main()
