"""Text from AWS that looks like HTML stays text: failure reasons, log lines, tags, component messages.

AWS is moto's server and the Greengrass emulator in this process, seeded with markup; the portal runs as
its own process and refreshes from them; Debian's headless Chromium opens every page that shows such text
and proves that nothing ran (no alert, no `window.__xss`) and no injected element exists, while the markup
is on screen as characters.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import boto3
import pytest
from playwright.sync_api import Browser, Page, expect

from dda_portal.launch import free_port
from tests.e2e.conftest import running_portal
from tests.factories import CATALOG

ROLE = 'arn:aws:iam::123456789012:role/dda-compile'
IMG = '<img src=x onerror="window.__xss=(window.__xss||0)+1">'
SCRIPT = '<script>window.__xss=(window.__xss||0)+1</script>'
SVG = '"><svg onload="alert(1)">'
HOSTILE = f'{IMG} {SCRIPT} {SVG}'
NO_INJECTION = """() => ({
    xss: window.__xss ?? null,
    images: document.querySelectorAll('img[src="x"]').length,
    svgs: document.querySelectorAll('svg[onload]').length,
    scripts: [...document.scripts].filter(s => s.textContent.trim().startsWith('window.__xss')).length,
})"""
CLEAN = {'xss': None, 'images': 0, 'svgs': 0, 'scripts': 0}


def seed(endpoint: str, greengrass: Any) -> None:
    """A completed training job whose x86_64 compilation failed, a failed training job, logs and a
    component version whose packaging failed — every free-text field carrying markup."""
    from moto.sagemaker.models import sagemaker_backends

    clients = {
        name: boto3.client(name, region_name='us-east-1', endpoint_url=endpoint)
        for name in ('sagemaker', 'logs')
    }
    sagemaker = clients['sagemaker']
    for name in ('xss-bottle', 'xss-broken'):
        sagemaker.create_training_job(
            TrainingJobName=name,
            AlgorithmSpecification={'TrainingImage': 'dda/train:1', 'TrainingInputMode': 'File'},
            RoleArn=ROLE,
            OutputDataConfig={'S3OutputPath': 's3://dda-models/out'},
            ResourceConfig={'InstanceType': 'ml.g4dn.xlarge', 'InstanceCount': 1, 'VolumeSizeInGB': 30},
            StoppingCondition={'MaxRuntimeInSeconds': 7200},
            Tags=[{'Key': 'dda-portal:note', 'Value': HOSTILE[:256]}],
        )
    backend = sagemaker_backends['123456789012']['us-east-1']
    broken = backend.training_jobs['xss-broken']
    broken.training_job_status, broken.failure_reason = 'Failed', f'AlgorithmError: {HOSTILE}'
    sagemaker.create_compilation_job(
        CompilationJobName='xss-bottle-x86-64-cpu-1',
        RoleArn=ROLE,
        InputConfig={
            'S3Uri': 's3://dda-models/out/xss-bottle/output/model.tar.gz',
            'DataInputConfig': '{"input0":[1,3,224,224]}',
            'Framework': 'PYTORCH',
        },
        OutputConfig=CATALOG['x86_64-cpu'].output_config('s3://dda-models/compiled/xss-bottle-x86-64-cpu-1/'),
        StoppingCondition={'MaxRuntimeInSeconds': 900},
        Tags=[{'Key': 'dda-portal:training-job', 'Value': 'xss-bottle'}],
    )
    job = backend.compilation_jobs['xss-bottle-x86-64-cpu-1']
    job.compilation_job_status, job.failure_reason = 'FAILED', f'ClientError: {HOSTILE}\nsecond line {IMG}'
    logs = clients['logs']
    for group, stream in (
        ('/aws/sagemaker/CompilationJobs', 'xss-bottle-x86-64-cpu-1/compilation'),
        ('/aws/sagemaker/TrainingJobs', 'xss-bottle/algo-1-1700000000'),
    ):
        logs.create_log_group(logGroupName=group)
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
        logs.put_log_events(
            logGroupName=group,
            logStreamName=stream,
            logEvents=[{'timestamp': int(time.time() * 1000), 'message': f'ERROR {HOSTILE}'}],
        )
    recipe = {
        'RecipeFormatVersion': '2020-01-25',
        'ComponentName': 'model-xss-bottle-x86_64-cpu',
        'ComponentVersion': '1.0.0',
        'ComponentDescription': HOSTILE,
        'Manifests': [
            {
                'Platform': {'os': 'linux', 'architecture': 'amd64'},
                'Artifacts': [{'URI': 's3://dda-models/compiled/model-ml_c5.tar.gz'}],
            }
        ],
    }
    version = greengrass.create_component_version(
        json.dumps(recipe).encode(),
        tags={
            'dda-portal:training-job': 'xss-bottle',
            'dda-portal:compilation-job': 'xss-bottle-x86-64-cpu-1',
        },
    )
    version.state, version.message = 'FAILED', f'Packaging failed: {HOSTILE}'
    version.errors = {'s3://dda-models/compiled/model-ml_c5.tar.gz': HOSTILE}
    greengrass.add_core_device('line-7-camera', architecture='amd64')
    greengrass.install(
        'line-7-camera', 'model-xss-bottle-x86_64-cpu', '1.0.0', lifecycle_state='BROKEN', details=HOSTILE
    )


@pytest.fixture(scope='module')
def hostile_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    from dda_portal.demo import moto_patches
    from dda_portal.demo.greengrass import GreengrassServer

    moto_patches.apply()
    aws_port = free_port()
    moto = ThreadedMotoServer(ip_address='127.0.0.1', port=aws_port, verbose=False)
    moto.start()
    greengrass = GreengrassServer()
    greengrass.start()
    credentials = {'AWS_ACCESS_KEY_ID': 'testing', 'AWS_SECRET_ACCESS_KEY': 'testing'}
    saved = {name: os.environ.get(name) for name in credentials}
    os.environ.update(credentials)  # for the seeding clients in this process
    try:
        seed(f'http://127.0.0.1:{aws_port}', greengrass.backend)
        env = {
            **credentials,
            'AWS_DEFAULT_REGION': 'us-east-1',
            'AWS_ENDPOINT_URL': f'http://127.0.0.1:{aws_port}',
            'AWS_ENDPOINT_URL_GREENGRASSV2': greengrass.endpoint_url,
            'DDA_REFRESH_SECONDS': '2',
            'DDA_SAGEMAKER_ROLE_ARN': ROLE,
            'DDA_AUTO_COMPILE_TARGETS': '',
        }
        with running_portal(tmp_path_factory.mktemp('hostile'), [], env) as url:
            yield url
    finally:
        greengrass.stop()
        moto.stop()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.fixture
def watched(browser: Browser) -> Iterator[tuple[Page, list[str]]]:
    """A page that records every JavaScript dialog (an injected `alert` would open one)."""
    page = browser.new_page(viewport={'width': 1400, 'height': 1000})
    dialogs: list[str] = []

    def on_dialog(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on('dialog', on_dialog)
    yield page, dialogs
    page.close()


def assert_clean(page: Page, dialogs: list[str]) -> None:
    page.wait_for_timeout(300)  # an onerror/onload handler would have fired by now
    assert page.evaluate(NO_INJECTION) == CLEAN
    assert dialogs == []


def test_failure_reasons_in_list_tooltip_and_compilation_tab_are_text(
    watched: tuple[Page, list[str]], hostile_url: str
) -> None:
    page, dialogs = watched
    page.goto(hostile_url)
    row = page.locator('tbody tr', has_text='xss-bottle')
    expect(row).to_be_visible(timeout=30_000)
    row.locator('[data-status="Compilation failed"]').hover()
    expect(page.locator('.q-tooltip')).to_contain_text(f'ClientError: {IMG}', timeout=10_000)
    assert_clean(page, dialogs)

    page.goto(f'{hostile_url}/training-jobs/xss-bottle?tab=compilation')
    table = page.get_by_test_id('compilation-table')
    expect(table).to_contain_text(f'ClientError: {HOSTILE}', timeout=30_000)
    assert_clean(page, dialogs)

    table.get_by_role('button', name='Details').click()
    dialog = page.locator('.q-dialog')
    expect(dialog).to_contain_text(f'ClientError: {HOSTILE}')
    expect(dialog).to_contain_text(f'ERROR {HOSTILE}', timeout=30_000)  # the compilation log
    assert_clean(page, dialogs)


def test_training_failure_logs_and_tags_are_text(watched: tuple[Page, list[str]], hostile_url: str) -> None:
    page, dialogs = watched
    page.goto(f'{hostile_url}/training-jobs/xss-broken')
    expect(page.locator('body')).to_contain_text(f'AlgorithmError: {HOSTILE}', timeout=30_000)
    assert_clean(page, dialogs)

    page.goto(f'{hostile_url}/training-jobs/xss-bottle?tab=logs')
    expect(page.locator('body')).to_contain_text(f'ERROR {HOSTILE}', timeout=30_000)
    assert_clean(page, dialogs)


def test_component_messages_and_device_details_are_text(
    watched: tuple[Page, list[str]], hostile_url: str
) -> None:
    page, dialogs = watched
    page.goto(f'{hostile_url}/training-jobs/xss-bottle?tab=components')
    expect(page.locator('body')).to_contain_text(f'Packaging failed: {HOSTILE}', timeout=30_000)
    assert_clean(page, dialogs)
    for path in ('/components', '/devices'):
        page.goto(f'{hostile_url}{path}')
        expect(page.locator('tbody tr').first).to_be_visible(timeout=30_000)
        assert_clean(page, dialogs)


def test_markup_in_urls_is_text_or_refused(watched: tuple[Page, list[str]], hostile_url: str) -> None:
    page, dialogs = watched
    page.goto(f'{hostile_url}/?' + urlencode({'q': SCRIPT, 'rollup': IMG, 'target': SVG}))
    expect(page.get_by_role('textbox')).to_have_value(SCRIPT[:100])  # the search box keeps it as text
    expect(page.locator('body')).to_contain_text('No training jobs')
    assert_clean(page, dialogs)

    response = page.goto(f'{hostile_url}/training-jobs/{IMG}')
    assert response is not None and response.status == 404
    expect(page.locator('body')).to_contain_text('Training job not found')
    assert_clean(page, dialogs)

    response = page.goto(f'{hostile_url}/training-jobs/xss-bottle?' + urlencode({'tab': SCRIPT}))
    assert response is not None and response.status == 400
    expect(page.locator('body')).to_contain_text('There is no tab')
    assert_clean(page, dialogs)

    for path in ('/training-jobs/xss-bottle?tab=compilation&tab=' + 'x' * 5000, '/' + 'a' * 3000):
        response = page.goto(f'{hostile_url}{path}')
        assert response is not None and response.status in (400, 404)
        assert 'Traceback' not in page.content()
