from pathlib import Path

import pytest

from dda_portal.domain.targets import CatalogueError, TargetCatalog


@pytest.fixture
def catalog() -> TargetCatalog:
    return TargetCatalog.load()


def test_the_dda_defaults_and_the_fleet_targets_are_in_the_catalogue(catalog: TargetCatalog) -> None:
    assert list(catalog) == [
        'jetson-xavier',
        'x86_64-cpu',
        'x86_64-cuda',
        'arm64-cpu',
        'jetson-orin',
        'jetson-nano',
        'jetson-tx2',
    ]
    assert catalog['jetson-xavier'].greengrass_architecture == 'aarch64'
    assert catalog['x86_64-cpu'].greengrass_architecture == 'amd64'


def test_output_config_for_nvidia_target_carries_compiler_options(catalog: TargetCatalog) -> None:
    config = catalog['jetson-xavier'].output_config('s3://b/compiled/')
    assert config['TargetPlatform'] == {'Os': 'LINUX', 'Arch': 'ARM64', 'Accelerator': 'NVIDIA'}
    assert '"cuda-ver"' in config['CompilerOptions']
    assert config['S3OutputLocation'] == 's3://b/compiled/'


def test_output_config_for_cpu_target_has_no_accelerator(catalog: TargetCatalog) -> None:
    config = catalog['arm64-cpu'].output_config('s3://b/c/')
    assert config['TargetPlatform'] == {'Os': 'LINUX', 'Arch': 'ARM64'}
    assert 'CompilerOptions' not in config


@pytest.mark.parametrize(
    ('output_config', 'expected'),
    [
        ({'TargetPlatform': {'Os': 'LINUX', 'Arch': 'ARM64', 'Accelerator': 'NVIDIA'}}, 'jetson-xavier'),
        ({'TargetPlatform': {'Os': 'LINUX', 'Arch': 'X86_64'}}, 'x86_64-cpu'),
        ({'TargetPlatform': {'Os': 'linux', 'Arch': 'x86_64', 'Accelerator': 'nvidia'}}, 'x86_64-cuda'),
        ({'TargetPlatform': {'Os': 'LINUX', 'Arch': 'ARM64'}}, 'arm64-cpu'),
        ({'TargetDevice': 'jetson_xavier'}, 'jetson-xavier'),
        ({'TargetDevice': 'jetson_nano'}, 'jetson-nano'),
        (
            {
                'TargetPlatform': {'Os': 'LINUX', 'Arch': 'ARM64', 'Accelerator': 'NVIDIA'},
                'CompilerOptions': '{"gpu-code": "sm_87", "trt-ver": "8.5.2", "cuda-ver": "11.4"}',
            },
            'jetson-orin',
        ),
    ],
)
def test_recognises_catalogue_targets_from_output_config(
    catalog: TargetCatalog, output_config: dict, expected: str
) -> None:
    recognised = catalog.recognise(output_config)
    assert recognised.id == expected
    assert recognised.in_catalogue


@pytest.mark.parametrize(
    ('output_config', 'label'),
    [
        ({'TargetDevice': 'jetson_tx1'}, 'jetson_tx1 (Neo device)'),
        (
            {'TargetPlatform': {'Os': 'LINUX', 'Arch': 'ARM_EABIHF', 'Accelerator': 'MALI'}},
            'LINUX/ARM_EABIHF/MALI (platform)',
        ),
        ({}, 'Unknown target'),
        (None, 'Unknown target'),
        ({'TargetPlatform': 'garbage'}, 'Unknown target'),
    ],
)
def test_unmatched_targets_get_a_readable_label(
    catalog: TargetCatalog, output_config: dict, label: str
) -> None:
    recognised = catalog.recognise(output_config)
    assert recognised.label == label
    assert not recognised.in_catalogue


def test_user_file_adds_targets_and_overrides_by_id(tmp_path: Path) -> None:
    extra = tmp_path / 'targets.toml'
    extra.write_text(
        '[[target]]\nid = "jetson-nano"\ndisplay_name = "Jetson Nano"\n'
        'greengrass_architecture = "aarch64"\ntarget_device = "jetson_nano"\n\n'
        '[[target]]\nid = "arm64-cpu"\ndisplay_name = "Graviton"\n'
        'greengrass_architecture = "aarch64"\nos = "LINUX"\narch = "ARM64"\n'
    )
    catalog = TargetCatalog.load(extra)
    assert catalog.recognise({'TargetDevice': 'jetson_nano'}).id == 'jetson-nano'
    assert catalog['arm64-cpu'].display_name == 'Graviton'
    assert len(catalog) == 7


def test_bad_catalogue_names_file_line_and_reason(tmp_path: Path) -> None:
    bad = tmp_path / 'bad.toml'
    bad.write_text(
        '# my targets\n[[target]]\nid = "ok"\ndisplay_name = "OK"\ngreengrass_architecture = "amd64"\n'
        'os = "LINUX"\narch = "X86_64"\n\n[[target]]\nid = "broken"\ndisplay_name = "Broken"\n'
        'greengrass_architecture = "amd64"\n'
    )
    with pytest.raises(CatalogueError) as error:
        TargetCatalog.load(bad)
    assert str(bad) in str(error.value)
    assert 'line 9' in str(error.value)
    assert 'give target_device, or both os and arch' in str(error.value)


def test_toml_syntax_error_names_the_line(tmp_path: Path) -> None:
    bad = tmp_path / 'bad.toml'
    bad.write_text('[[target]]\nid = "x\n')
    with pytest.raises(CatalogueError, match=r'line 2'):
        TargetCatalog.load(bad)


def test_orin_compiles_through_target_platform_with_nvidia_options(catalog: TargetCatalog) -> None:
    orin = catalog['jetson-orin']
    config = orin.output_config('s3://b/c/')
    assert config['TargetPlatform'] == {'Os': 'LINUX', 'Arch': 'ARM64', 'Accelerator': 'NVIDIA'}
    assert 'TargetDevice' not in config
    assert config['CompilerOptions'] == '{"gpu-code": "sm_87", "trt-ver": "8.5.2", "cuda-ver": "11.4"}'
    assert orin.platform_attributes() == {'os': 'linux', 'architecture': 'aarch64', 'accelerator': 'nvidia'}
    assert (orin.jetpack, orin.cuda) == (('5.0', '5.1'), ('11.4', '11.4'))
    assert catalog['arm64-cpu'].platform_attributes() == {'os': 'linux', 'architecture': 'aarch64'}
    assert catalog.newest('jetpack') == '5.1'


def test_a_runtime_range_must_be_from_before_to(tmp_path: Path) -> None:
    bad = tmp_path / 'bad.toml'
    bad.write_text(
        '[[target]]\nid = "x"\ndisplay_name = "X"\ngreengrass_architecture = "aarch64"\n'
        'target_device = "jetson_nano"\njetpack = ["5.1", "4.6"]\n'
    )
    with pytest.raises(CatalogueError, match='jetpack'):
        TargetCatalog.load(bad)
