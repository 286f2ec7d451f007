import re

import pytest

from dda_portal.domain.linking import TAG_TRAINING_JOB, output_prefix, owner_of
from dda_portal.domain.naming import MAX_NAME, compilation_job_name


class Known:
    def __init__(self, jobs: dict[str, tuple[str, str]]) -> None:
        self.jobs = jobs  # name -> (model artifact, S3OutputPath)

    def training_job_exists(self, name: str) -> bool:
        return name in self.jobs

    def training_job_by_model_artifact(self, s3_uri: str) -> str | None:
        return next((n for n, (artifact, _) in self.jobs.items() if artifact == s3_uri), None)

    def training_job_by_output_prefix(self, s3_prefix: str) -> str | None:
        return next((n for n, (_, out) in self.jobs.items() if output_prefix(out, n) == s3_prefix), None)


KNOWN = Known(
    {
        'bottle': ('s3://m/out/bottle/output/model.tar.gz', 's3://m/out'),
        'bottle-caps': ('s3://m/out/bottle-caps/output/model.tar.gz', 's3://m/out'),
        'weld': ('s3://m/other/weld.tar.gz', 's3://m/weld-out'),
    }
)


def test_tag_wins_over_everything() -> None:
    assert (
        owner_of(
            'bottle-caps-x86-1', {TAG_TRAINING_JOB: 'weld'}, 's3://m/out/bottle/output/model.tar.gz', KNOWN
        )
        == 'weld'
    )


def test_tag_naming_an_unknown_job_falls_back_to_other_rules() -> None:
    assert owner_of('weld-arm', {TAG_TRAINING_JOB: 'gone'}, None, KNOWN) == 'weld'


def test_model_artifact_uri_links() -> None:
    assert owner_of('anything', {}, 's3://m/other/weld.tar.gz', KNOWN) == 'weld'


def test_uri_under_output_prefix_links() -> None:
    assert owner_of('nightly-42', {}, 's3://m/weld-out/weld/output/model-v2.tar.gz', KNOWN) == 'weld'


def test_name_prefix_prefers_the_longest_known_name() -> None:
    assert owner_of('bottle-caps-jetson-xavier-1', {}, None, KNOWN) == 'bottle-caps'
    assert owner_of('bottle-x86-64-cpu-1', {}, None, KNOWN) == 'bottle'


def test_unrelated_job_has_no_owner() -> None:
    assert owner_of('bottles-x86', {}, 's3://elsewhere/model.tar.gz', KNOWN) is None
    assert owner_of('bottle', {}, None, KNOWN) is None  # the name itself, without '-', is not a prefix


NAME_PATTERN = re.compile(r'^[a-zA-Z0-9](-*[a-zA-Z0-9])*$')


def test_short_names_are_readable_and_valid() -> None:
    name = compilation_job_name('bottle-caps', 'x86_64-cpu', 1)
    assert name == 'bottle-caps-x86-64-cpu-1'
    assert NAME_PATTERN.match(name)


def test_names_are_deterministic() -> None:
    assert compilation_job_name('a' * 60, 'jetson-xavier', 3) == compilation_job_name(
        'a' * 60, 'jetson-xavier', 3
    )


@pytest.mark.parametrize('length', [40, 50, 63])
def test_long_names_stay_within_63_characters_and_valid(length: int) -> None:
    name = compilation_job_name('t' * (length - 1) + 'x', 'jetson-xavier', 12)
    assert len(name) <= MAX_NAME
    assert NAME_PATTERN.match(name)
    assert name.endswith('-jetson-xavier-12')


def test_long_names_that_share_a_prefix_do_not_collide() -> None:
    base = 'defect-detection-bottle-caps-line-7-resnet50-finetune-2026-11-'
    first = compilation_job_name(base + '20', 'jetson-xavier', 1)
    second = compilation_job_name(base + '21', 'jetson-xavier', 1)
    assert first != second
    assert len(first) <= MAX_NAME and len(second) <= MAX_NAME


def test_attempts_start_at_one() -> None:
    with pytest.raises(ValueError):
        compilation_job_name('job', 'x86_64-cpu', 0)
