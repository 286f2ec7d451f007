"""AWS calls and wall time of the refresh cycle for 100 / 1,000 / 5,000 training jobs (3 targets each).

Seeds moto in-process, then runs the portal's real sync: the backfill (first cycle), then a steady-state
cycle in which nothing changed, then a cycle after one compilation job changed.

    .venv/bin/python bench/sync_cost.py [N ...]
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.update(AWS_ACCESS_KEY_ID='bench', AWS_SECRET_ACCESS_KEY='bench', AWS_DEFAULT_REGION='us-east-1')
for name in ('AWS_ENDPOINT_URL', 'AWS_PROFILE'):
    os.environ.pop(name, None)

from moto import mock_aws  # noqa: E402
from moto.sagemaker.models import sagemaker_backends  # noqa: E402

from dda_portal.aws.clients import AwsClients  # noqa: E402
from dda_portal.config import Settings  # noqa: E402
from dda_portal.demo import moto_patches  # noqa: E402
from dda_portal.demo.greengrass import GreengrassServer  # noqa: E402
from dda_portal.domain.clock import utcnow  # noqa: E402
from dda_portal.domain.linking import TAG_ORIGIN, TAG_TARGET, TAG_TRAINING_JOB  # noqa: E402
from dda_portal.domain.naming import compilation_job_name  # noqa: E402
from dda_portal.domain.targets import TargetCatalog  # noqa: E402
from dda_portal.services import Sync, build  # noqa: E402
from dda_portal.store import Store  # noqa: E402

TARGETS = ('jetson-xavier', 'x86_64-cpu', 'arm64-cpu')
ROLE = 'arn:aws:iam::123456789012:role/bench'


def seed(count: int, account: str = '123456789012', region: str = 'us-east-1') -> None:
    """Jobs created straight in moto's backend of `account` in `region` (the API would dominate the run time),
    aged two hours."""
    backend = sagemaker_backends[account][region]
    catalog = TargetCatalog.load()
    then = datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=2)
    for i in range(count):
        name = f'bench-{i:05d}'
        backend.create_training_job(
            training_job_name=name,
            hyper_parameters={},
            algorithm_specification={'TrainingImage': 'dda/train:1', 'TrainingInputMode': 'File'},
            role_arn=ROLE,
            input_data_config=[],
            output_data_config={'S3OutputPath': 's3://bench/out'},
            resource_config={'InstanceType': 'ml.g4dn.xlarge', 'InstanceCount': 1, 'VolumeSizeInGB': 30},
            vpc_config=None,
            stopping_condition={'MaxRuntimeInSeconds': 3600},
            tags=[],
            enable_network_isolation=False,
            enable_inter_container_traffic_encryption=False,
            enable_managed_spot_training=False,
            checkpoint_config=None,
            debug_hook_config=None,
            debug_rule_configurations=None,
            tensor_board_output_config=None,
            experiment_config=None,
        )
        for target in TARGETS:
            job = compilation_job_name(name, target, 1)
            backend.create_compilation_job(
                compilation_job_name=job,
                role_arn=ROLE,
                output_config=catalog[target].output_config(f's3://bench/compiled/{job}/'),
                stopping_condition={'MaxRuntimeInSeconds': 900},
                model_package_version_arn=None,
                input_config={
                    'S3Uri': f's3://bench/out/{name}/output/model.tar.gz',
                    'Framework': 'PYTORCH',
                    'DataInputConfig': '{"input0":[1,3,224,224]}',
                },
                vpc_config=None,
                tags=[
                    {'Key': TAG_TRAINING_JOB, 'Value': name},
                    {'Key': TAG_TARGET, 'Value': target},
                    {'Key': TAG_ORIGIN, 'Value': 'auto'},
                ],
            )
    for job in [*backend.training_jobs.values(), *backend.compilation_jobs.values()]:
        job.creation_time = job.last_modified_time = then
    return None


def measure(sync: Sync) -> tuple[int, float]:
    before = sync.clients.counter.total
    start = time.perf_counter()
    sync.pull_and_apply(utcnow())
    return sync.clients.counter.total - before, time.perf_counter() - start


def run(count: int) -> tuple[int, tuple[int, float], tuple[int, float], tuple[int, float]]:
    # moto has no Greengrass v2: the demo's emulator answers ListComponents (one of the three steady calls)
    with tempfile.TemporaryDirectory() as folder, mock_aws(), GreengrassServer() as greengrass:
        os.environ['AWS_ENDPOINT_URL_GREENGRASSV2'] = greengrass.endpoint_url
        seed(count)
        url = f'sqlite:///{Path(folder) / "bench.db"}'
        sync = build(
            Settings(database_url=url, sync_enabled=False), Store(url), AwsClients(), TargetCatalog.load()
        ).sync
        backfill = measure(sync)
        steady = measure(sync)
        job = sagemaker_backends['123456789012']['us-east-1'].compilation_jobs[
            compilation_job_name('bench-00000', 'x86_64-cpu', 1)
        ]
        job.compilation_job_status = 'FAILED'
        job.last_modified_time = datetime.now(UTC).replace(tzinfo=None)
        one_change = measure(sync)
        return count, backfill, steady, one_change


def main() -> None:
    moto_patches.apply()
    sizes = [int(a) for a in sys.argv[1:]] or [100, 1000, 5000]
    print(
        f'{"training jobs":>13} | {"compilation jobs":>16} | {"backfill calls":>14} | {"backfill s":>10} | '
        f'{"steady calls":>12} | {"steady s":>8} | {"1-change calls":>14} | {"1-change s":>10}'
    )
    print('-' * 122)
    for size in sizes:
        count, backfill, steady, one = run(size)
        print(
            f'{count:>13,} | {count * len(TARGETS):>16,} | {backfill[0]:>14,} | {backfill[1]:>10.2f} | '
            f'{steady[0]:>12,} | {steady[1]:>8.3f} | {one[0]:>14,} | {one[1]:>10.3f}',
            flush=True,
        )


if __name__ == '__main__':
    main()
