"""The compatibility matrix's judgement: Greengrass's manifest matching, JetPack/CUDA ranges, honesty."""

from __future__ import annotations

import pytest

from dda_portal.domain.compat import Cell, DeviceFacts, Fit, RuntimeNeeds, judge, value_matches
from dda_portal.domain.status import LOOKS
from dda_portal.domain.targets import TargetCatalog

JETSON = DeviceFacts('linux', 'aarch64', {'accelerator': 'nvidia', 'jetpack': '5.1.2', 'cuda': '11.4'})
GPU_MODEL = [{'os': 'linux', 'architecture': 'aarch64', 'accelerator': 'nvidia'}]


def needs(target_id: str) -> RuntimeNeeds:
    catalog = TargetCatalog.load()
    target = catalog[target_id]
    newest = {k: v for k in ('jetpack', 'cuda') if (v := catalog.newest(k))}  # type: ignore[arg-type]
    return RuntimeNeeds(target.jetpack, target.cuda, newest)


def test_architecture_mismatch_names_both_architectures() -> None:
    cell = judge([{'os': 'linux', 'architecture': 'amd64'}], JETSON)
    assert cell == Cell(Fit.INCOMPATIBLE, ('device is aarch64; this version is built for amd64',))


def test_os_mismatch() -> None:
    cell = judge([{'os': 'windows', 'architecture': 'amd64'}], DeviceFacts('linux', 'amd64', {}))
    assert cell.fit is Fit.INCOMPATIBLE
    assert cell.text == 'device runs linux; this version is for windows'


def test_accelerator_mismatch_from_thing_attributes() -> None:
    cpu_only = DeviceFacts('linux', 'aarch64', {'accelerator': 'none'})
    cell = judge(GPU_MODEL, cpu_only)
    assert cell.fit is Fit.INCOMPATIBLE
    assert cell.text == 'device accelerator is none; this version needs nvidia'


def test_jetpack_beyond_the_targets_range_and_beyond_neo() -> None:
    jetpack6 = DeviceFacts('linux', 'aarch64', {'accelerator': 'nvidia', 'jetpack': '6.0', 'cuda': '12.2'})
    cell = judge(GPU_MODEL, jetpack6, needs=needs('jetson-orin'))
    assert cell.fit is Fit.INCOMPATIBLE
    assert cell.reasons[0].startswith('needs JetPack ≤ 5.1; device has JetPack 6.0.')
    assert 'newer than any JetPack SageMaker Neo compiles for here (up to 5.1)' in cell.reasons[0]


def test_jetpack_older_than_the_target_needs() -> None:
    nano = DeviceFacts('linux', 'aarch64', {'accelerator': 'nvidia', 'jetpack': '4.6.1', 'cuda': '10.2'})
    cell = judge(GPU_MODEL, nano, needs=needs('jetson-orin'))
    assert cell.reasons == (
        'needs JetPack ≥ 5.0; device has JetPack 4.6.1',
        'needs CUDA ≥ 11.4; device has CUDA 10.2',
    )
    assert judge(GPU_MODEL, nano, needs=needs('jetson-nano')).fit is Fit.COMPATIBLE  # 4.6.1 is within 4.4–4.6


def test_a_jetpack_within_range_is_compatible() -> None:
    assert judge(GPU_MODEL, JETSON, needs=needs('jetson-orin')) == Cell(Fit.COMPATIBLE)


@pytest.mark.parametrize(
    ('wanted', 'value', 'matches'),
    [
        ('*', 'anything', True),
        ('/aarch64|amd64/', 'amd64', True),
        ('/arm.*/', 'aarch64', False),  # the whole value must match
        ('/armv[78]l/', 'armv7l', True),
        ('/[unclosed/', 'x', False),
        ('Linux', 'linux', True),
    ],
)
def test_wildcard_and_regex_values(wanted: str, value: str, matches: bool) -> None:
    assert value_matches(wanted, value) is matches


def test_first_matching_manifest_of_several_with_wildcard_and_regex() -> None:
    manifests = [
        {'os': 'windows', 'architecture': '*'},
        {'os': 'linux', 'architecture': '/x86|amd64/'},
        {'os': '*', 'architecture': 'aarch64', 'accelerator': 'nvidia', 'vendor': 'acme'},
    ]
    assert judge(manifests, DeviceFacts('linux', 'amd64', {})).fit is Fit.COMPATIBLE
    # the third would match but the device does not state its vendor
    cell = judge(manifests, JETSON)
    assert cell.fit is Fit.UNKNOWN
    assert cell.text == "the device does not state its vendor (IoT thing attribute 'vendor')"
    cell = judge(manifests, DeviceFacts('linux', 'armv7l', {}))
    assert cell.fit is Fit.INCOMPATIBLE
    assert 'device runs linux; this version is for windows' in cell.reasons
    assert 'device is armv7l; this version is built for matching /x86|amd64/ or aarch64' in cell.reasons


def test_no_manifests_or_no_platform_runs_anywhere() -> None:
    assert judge([], JETSON).fit is Fit.COMPATIBLE
    assert judge([{}], DeviceFacts(None, None)).fit is Fit.COMPATIBLE


def test_unknown_facts_are_named_not_guessed() -> None:
    assert judge(GPU_MODEL, DeviceFacts('linux', None, {'accelerator': 'nvidia'})).text == (
        'the device has not reported its architecture'
    )
    not_read = judge(GPU_MODEL, DeviceFacts('linux', 'aarch64', None))
    assert not_read.fit is Fit.UNKNOWN
    assert not_read.text == "the device's IoT thing attributes are not read yet (accelerator unknown)"
    no_jetpack = judge(
        GPU_MODEL, DeviceFacts('linux', 'aarch64', {'accelerator': 'nvidia'}), needs=needs('jetson-orin')
    )
    assert no_jetpack.fit is Fit.UNKNOWN
    assert "the device does not state its JetPack (IoT thing attribute 'jetpack')" in no_jetpack.reasons
    assert judge(None, JETSON) == Cell(Fit.UNKNOWN, ('the recipe has not been read yet',))
    # a known mismatch wins over an unknown fact
    assert judge(GPU_MODEL, DeviceFacts('linux', 'amd64', None)).fit is Fit.INCOMPATIBLE


def test_running_and_deployed_come_first() -> None:
    assert judge(GPU_MODEL, DeviceFacts('linux', 'amd64'), running=True) == Cell(Fit.RUNNING)
    assert judge(GPU_MODEL, DeviceFacts('linux', 'amd64'), deployed=True) == Cell(Fit.DEPLOYED)


def test_every_word_has_an_icon() -> None:
    assert all(fit in LOOKS for fit in Fit)


def test_guidance_says_plainly_when_a_device_is_beyond_neo() -> None:
    from dda_portal.domain.guidance import GuidanceBook, beyond_neo

    assert beyond_neo('JetPack', '5.1.2', '5.1') is None  # 5.1.x is within "up to 5.1"
    assert beyond_neo('JetPack', '6.0', None) is None  # nothing to compare with
    said = beyond_neo('CUDA', '12.2', '11.8')
    assert said is not None and said.startswith(
        'CUDA 12.2 is newer than any CUDA SageMaker Neo compiles for here'
    )
    advice = GuidanceBook.load().for_failure(
        'ClientError: CompilerOptions: TensorRT version 10.0 is not supported'
    )
    assert any('JetPack 6' in step and 'beyond what Neo compiles for' in step for step in advice.steps)
