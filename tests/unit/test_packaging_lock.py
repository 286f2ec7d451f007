"""requirements.lock, which the container image installs, still satisfies pyproject.toml; the demo extra stays
the demo's own: no production module imports it, and `--demo` without it says what to install."""

from __future__ import annotations

import ast
import importlib.metadata
import os
import re
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / 'pyproject.toml').read_text())
# the image: python:3.11 on Linux, either architecture
IMAGE_ENVIRONMENTS = [
    {
        'python_version': '3.11',
        'python_full_version': '3.11.14',
        'implementation_name': 'cpython',
        'platform_python_implementation': 'CPython',
        'sys_platform': 'linux',
        'platform_system': 'Linux',
        'os_name': 'posix',
        'platform_machine': machine,
    }
    for machine in ('x86_64', 'aarch64')
]
# what only the demo extra brings (moto, its server's Flask, and what the Greengrass emulator uses)
DEMO_ONLY_MODULES = {'moto', 'werkzeug', 'flask', 'flask_cors', 'yaml', 'responses'}


@dataclass(frozen=True)
class Pin:
    name: str
    version: Version
    marker: Marker | None
    hashes: tuple[str, ...]

    def applies(self, environment: dict[str, str]) -> bool:
        return self.marker is None or self.marker.evaluate(environment)


def read_lock() -> list[Pin]:
    text = (ROOT / 'requirements.lock').read_text()
    pins = []
    for line in text.replace('\\\n', ' ').splitlines():
        line = line.split('#', 1)[0].strip()
        if not line:
            continue
        hashes = tuple(re.findall(r'--hash=sha256:([0-9a-f]{64})\b', line))
        requirement = Requirement(re.sub(r'\s--hash=\S+', '', line).strip())
        specifiers = list(requirement.specifier)
        assert len(specifiers) == 1 and specifiers[0].operator == '==', f'not pinned to one version: {line}'
        name, version = canonicalize_name(requirement.name), Version(specifiers[0].version)
        pins.append(Pin(name, version, requirement.marker, hashes))
    return pins


def image_requirements() -> list[Requirement]:
    project = PYPROJECT['project']
    return [
        Requirement(text)
        for text in [
            *project['dependencies'],
            *project['optional-dependencies']['demo'],
            *PYPROJECT['build-system']['requires'],
        ]
    ]


def pins_for(pins: list[Pin], name: str, environment: dict[str, str]) -> list[Pin]:
    return [pin for pin in pins if pin.name == canonicalize_name(name) and pin.applies(environment)]


def test_every_line_of_the_lock_is_one_version_with_its_hashes() -> None:
    pins = read_lock()
    assert len(pins) > 50
    assert [pin.name for pin in pins if not pin.hashes] == []
    for environment in IMAGE_ENVIRONMENTS:
        names = [pin.name for pin in pins if pin.applies(environment)]
        machine = environment['platform_machine']
        assert len(names) == len(set(names)), f'two versions of one package on {machine}'


@pytest.mark.parametrize('environment', IMAGE_ENVIRONMENTS, ids=lambda env: env['platform_machine'])
def test_the_lock_pins_dependencies_and_demo_extra_within_pyproject(environment: dict[str, str]) -> None:
    pins = read_lock()
    problems = []
    for requirement in image_requirements():
        if requirement.marker is not None and not requirement.marker.evaluate(environment):
            continue
        found = pins_for(pins, requirement.name, environment)
        if not found:
            problems.append(f'{requirement} is not in requirements.lock')
        problems += [
            f'{requirement} but requirements.lock has {pin.version}'
            for pin in found
            if not requirement.specifier.contains(pin.version, prereleases=True)
        ]
    assert problems == [], 'run: bash scripts/lock.sh\n' + '\n'.join(problems)


def test_what_the_locked_packages_need_is_locked_too() -> None:
    """pip check on the lock, from the metadata of the packages installed here (those of the same version)."""
    pins = read_lock()
    environment = IMAGE_ENVIRONMENTS[0]
    todo = [(wanted, extra) for wanted in image_requirements() for extra in ('', *wanted.extras)]
    seen, checked, problems = set(), 0, []
    while todo:
        requirement, extra = todo.pop()
        if (canonicalize_name(requirement.name), extra) in seen:
            continue
        seen.add((canonicalize_name(requirement.name), extra))
        for pin in pins_for(pins, requirement.name, environment):
            try:
                installed = importlib.metadata.distribution(pin.name)
            except importlib.metadata.PackageNotFoundError:
                continue
            if Version(installed.version) != pin.version:
                continue  # another version here: its metadata says nothing about the locked one
            checked += 1
            for text in installed.requires or []:
                needed = Requirement(text)
                if needed.marker is not None and not needed.marker.evaluate({**environment, 'extra': extra}):
                    continue
                if not any(
                    needed.specifier.contains(p.version, prereleases=True)
                    for p in pins_for(pins, needed.name, environment)
                ):
                    problems.append(f'{pin.name}{f"[{extra}]" if extra else ""} {pin.version} needs {needed}')
                todo.append((needed, ''))
                todo += [(needed, needed_extra) for needed_extra in needed.extras]
    assert checked > 20, 'too few locked versions are installed here to check what they need'
    assert problems == [], 'run: bash scripts/lock.sh\n' + '\n'.join(problems)


def imported_modules(path: Path) -> set[str]:
    """Top-level names of what a module imports; relative imports as dotted paths inside dda_portal."""
    package = path.relative_to(ROOT).with_suffix('').parts[:-1]
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = '.'.join(package[: len(package) - node.level + 1]) if node.level else ''
            module = '.'.join(part for part in (base, node.module or '') if part)
            names.add(module)
            names |= {f'{module}.{alias.name}' for alias in node.names}
    return names


def test_no_production_module_imports_the_demo_or_its_extra() -> None:
    modules = sorted((ROOT / 'dda_portal').rglob('*.py'))
    production = [path for path in modules if 'demo' not in path.relative_to(ROOT).parts]
    assert len(production) > 10
    offenders = [
        f'{path.relative_to(ROOT)} imports {name}'
        for path in production
        for name in sorted(imported_modules(path))
        if name.split('.')[0] in DEMO_ONLY_MODULES or name.startswith('dda_portal.demo')
    ]
    assert offenders == []


def test_the_demo_imports_nothing_the_demo_extra_and_the_dependencies_do_not_declare() -> None:
    declared = {canonicalize_name(requirement.name) for requirement in image_requirements()}
    # import names that differ from their distribution's name
    distribution_of = {'yaml': 'pyyaml', 'argon2': 'argon2-cffi'}
    demo = sorted((ROOT / 'dda_portal' / 'demo').rglob('*.py'))
    third_party = {
        name.split('.')[0]
        for path in demo
        for name in imported_modules(path)
        if name.split('.')[0] not in sys.stdlib_module_names and not name.startswith('dda_portal')
    }
    # boto3 brings botocore, which the demo shares with the portal
    undeclared = sorted(
        name
        for name in third_party
        if canonicalize_name(distribution_of.get(name, name)) not in declared and name != 'botocore'
    )
    assert undeclared == []


def test_demo_without_the_demo_extra_says_what_to_install(tmp_path: Path) -> None:
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith(('DDA_', 'NICEGUI_', 'PYTEST_'))
    }
    # moto as if it were not installed: importing it raises ModuleNotFoundError
    script = (
        "import runpy, sys; sys.modules['moto'] = None; sys.argv = ['main.py', '--demo'];"
        f" runpy.run_path({str(ROOT / 'main.py')!r}, run_name='__main__')"
    )
    result = subprocess.run(
        [sys.executable, '-c', script],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    message = '--demo needs the demo extra: pip install "dda-portal[demo]"'
    assert result.stderr.strip().splitlines()[-1:] == [message]
    assert 'Traceback' not in result.stderr
