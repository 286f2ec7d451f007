"""The compatibility matrix on outside data: component versions and devices made directly in the Greengrass
emulator and moto's IoT (not by the portal or its demo seed), with recipes the portal did not write (several
manifests, wildcards, regular expressions, extra attributes), read by the real refresh and judged by the
page's own grid builder."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from typing import Any

import boto3

from dda_portal import queries
from dda_portal.aws.clients import AwsClients
from dda_portal.config import Settings
from dda_portal.demo.greengrass import GreengrassBackend
from dda_portal.domain.clock import utcnow
from dda_portal.domain.filters import MatrixFilter
from dda_portal.domain.targets import TargetCatalog
from dda_portal.pages.fleet.matrix_feed import MatrixFacts
from dda_portal.pages.fleet.matrix_page import build_page, runtime_needs
from dda_portal.services import build
from dda_portal.store import Store

# an outside team's detector: a GPU build for Jetsons on JetPack 5, a CPU build for any x86 Linux,
# and a build for a vendor's own boards that declare `vendor`
DETECTOR = [
    {
        'Name': 'jetson',
        'Platform': {
            'os': 'linux',
            'architecture': 'aarch64',
            'accelerator': 'nvidia',
            'jetpack': '/5\\..*/',
        },
        'Lifecycle': {'run': 'python3 detect.py --gpu'},
    },
    {
        'Name': 'x86',
        'Platform': {'os': '*', 'architecture': '/amd64|x86_64/'},
        'Lifecycle': {'run': 'detect'},
    },
    {'Platform': {'os': 'linux', 'architecture': 'armv7l', 'vendor': 'acme'}, 'Lifecycle': {}},
]
# a component without any manifest runs on every device
NOTES = []


def publish(name: str, version: str, manifests: list[dict[str, Any]]) -> None:
    client = boto3.client(
        'greengrassv2', region_name='us-east-1', endpoint_url=os.environ['AWS_ENDPOINT_URL_GREENGRASSV2']
    )
    recipe = {'RecipeFormatVersion': '2020-01-25', 'ComponentName': name, 'ComponentVersion': version}
    if manifests:
        recipe['Manifests'] = manifests
    client.create_component_version(inlineRecipe=json.dumps(recipe).encode())


def thing(name: str, attributes: dict[str, str] | None) -> None:
    iot = boto3.client('iot', region_name='us-east-1')
    if attributes is None:
        iot.create_thing(thingName=name)
    else:
        iot.create_thing(thingName=name, attributePayload={'attributes': attributes})


def test_the_matrix_judges_outside_recipes_and_devices(database_url: str, aws: GreengrassBackend) -> None:
    publish('acme.Detector', '2.1.0', DETECTOR)
    publish('acme.Notes', '1.0.0', NOTES)
    now = utcnow() - timedelta(minutes=3)
    devices = {
        'orin-jp5': ('aarch64', {'accelerator': 'nvidia', 'jetpack': '5.1.2'}),
        'orin-jp6': ('aarch64', {'accelerator': 'nvidia', 'jetpack': '6.0'}),
        'pi-plain': ('aarch64', None),  # a thing without attributes
        'ipc-x86': ('amd64', {}),
        'acme-board': ('armv7l', {'vendor': 'acme'}),
        'no-thing': ('armv7l', 'absent'),  # no IoT thing at all
    }
    for name, (architecture, attributes) in devices.items():
        aws.add_core_device(name, architecture=architecture, last_status_update=now)
        if attributes != 'absent':
            thing(name, attributes)  # type: ignore[arg-type]
    aws.advance()
    aws.advance()
    aws.install('ipc-x86', 'acme.Detector', '2.1.0', reported_at=now)

    settings = Settings(database_url=database_url, sync_enabled=False)
    catalog = TargetCatalog.load()
    sync = build(settings, Store(database_url), AwsClients(), catalog).sync
    sync.pull_and_apply(utcnow())

    facts = MatrixFacts()
    facts.apply(sync.store.read(queries.matrix.matrix))
    labels = {t.id: t.display_name for t in catalog.values()}
    page = build_page(facts, MatrixFilter(), runtime_needs(catalog), labels)
    shown = {c['name']: c['label'] for c in page.columns if c['name'] != 'release'}
    cells = {
        row['component']: {shown[key]: (cell['w'], cell['r']) for key, cell in row.items() if key in shown}
        for row in page.rows
    }
    assert cells['acme.Detector'] == {
        'acme-board': ('Compatible', ''),
        'ipc-x86': ('Running', ''),
        'no-thing': ('Unknown', "the device does not state its vendor (IoT thing attribute 'vendor')"),
        'orin-jp5': ('Compatible', ''),
        'orin-jp6': (
            'Incompatible',
            # every manifest's difference: none of them selects this device
            'device has JetPack 6.0; this version needs JetPack matching /5\\..*/; '
            'device is aarch64; this version is built for matching /amd64|x86_64/ or armv7l',
        ),
        'pi-plain': (
            'Unknown',
            "the device does not state its accelerator (IoT thing attribute 'accelerator'); "
            "the device does not state its JetPack (IoT thing attribute 'jetpack')",
        ),
    }
    assert {name: word for name, (word, _) in cells['acme.Notes'].items()} == dict.fromkeys(
        devices, 'Compatible'
    )
    assert page.shown_text == 'Versions 1–2 of 2 · Devices 1–6 of 6'
