"""The target catalogue: which hardware the portal compiles for, and how to recognise a target."""

from __future__ import annotations

import functools
import json
import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

DEFAULT_CATALOGUE = Path(__file__).with_name('targets.toml')


class Target(BaseModel):
    model_config = ConfigDict(extra='forbid', frozen=True)

    id: str = Field(pattern=r'^[a-z0-9][a-z0-9_-]{0,30}$')
    display_name: str = Field(min_length=1, max_length=80)
    description: str = ''
    recommended: bool = False
    greengrass_architecture: Literal['aarch64', 'amd64', 'armv7l', 'x86']
    target_device: str | None = None
    os: str | None = None
    arch: str | None = None
    accelerator: str | None = None
    compiler_options: str | None = None
    also_matches_devices: tuple[str, ...] = ()
    # the recipe's `accelerator` platform attribute (README "Compatibility matrix"), e.g. "nvidia"
    greengrass_accelerator: str | None = Field(default=None, pattern=r'^[a-z0-9_.-]{1,40}$')
    # the JetPack and CUDA releases the compiled model runs on: (from, to), inclusive, "5.1" covers 5.1.x
    jetpack: tuple[str, str] | None = None
    cuda: tuple[str, str] | None = None

    @model_validator(mode='after')
    def _one_kind_of_target(self) -> Target:
        if self.target_device and (self.os or self.arch):
            raise ValueError('give either target_device or os/arch, not both')
        if not self.target_device and not (self.os and self.arch):
            raise ValueError('give target_device, or both os and arch')
        for name, span in (('jetpack', self.jetpack), ('cuda', self.cuda)):
            if span is not None:
                low, high = (release_key(v) for v in span)
                if not low or not high or high[: len(low)] < low:
                    raise ValueError(f'{name}: give ["from", "to"] as dotted numbers, from ≤ to')
        return self

    def platform_attributes(self) -> dict[str, str]:
        """The Greengrass recipe's `Platform` for this target: os, architecture and, for targets with an
        accelerator, `accelerator` (a platform attribute the device's nucleus must declare too)."""
        attributes = {'os': 'linux', 'architecture': self.greengrass_architecture}
        if self.greengrass_accelerator:
            attributes['accelerator'] = self.greengrass_accelerator
        return attributes

    @property
    def gpu_code(self) -> str | None:
        """The `gpu-code` compiler option (sm_72, sm_87…): tells NVIDIA targets of one platform apart."""
        return _gpu_code(self.compiler_options)

    def output_config(self, s3_output_location: str) -> dict[str, Any]:
        """SageMaker CreateCompilationJob OutputConfig for this target."""
        config: dict[str, Any] = {'S3OutputLocation': s3_output_location}
        if self.target_device:
            config['TargetDevice'] = self.target_device
        else:
            platform = {'Os': self.os, 'Arch': self.arch}
            if self.accelerator:
                platform['Accelerator'] = self.accelerator
            config['TargetPlatform'] = platform
        if self.compiler_options:
            config['CompilerOptions'] = self.compiler_options
        return config


@dataclass(frozen=True)
class RecognisedTarget:
    """A compilation job's target: a catalogue id when known, otherwise a readable generated label."""

    id: str
    label: str
    in_catalogue: bool


class CatalogueError(ValueError):
    """A target catalogue file that cannot be used; the message names file, line and reason."""


class TargetCatalog(Mapping[str, Target]):
    def __init__(self, targets: list[Target]) -> None:
        self._targets = {t.id: t for t in targets}

    def __getitem__(self, target_id: str) -> Target:
        return self._targets[target_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._targets)

    def __len__(self) -> int:
        return len(self._targets)

    @classmethod
    def load(cls, extra_file: Path | None = None) -> TargetCatalog:
        """The built-in catalogue, extended (or overridden by id) by a user file."""
        targets = {t.id: t for t in _read_file(DEFAULT_CATALOGUE)}
        if extra_file is not None:
            targets.update({t.id: t for t in _read_file(extra_file)})
        return cls(list(targets.values()))

    def display_name(self, target_id: str) -> str:
        target = self._targets.get(target_id)
        return target.display_name if target else target_id

    def recognise(self, output_config: Mapping[str, Any] | None) -> RecognisedTarget:
        """Which catalogue target a compilation job's OutputConfig is for; never raises."""
        output_config = output_config or {}
        device = output_config.get('TargetDevice')
        if isinstance(device, str) and device:
            for target in self._targets.values():
                if target.target_device == device or device in target.also_matches_devices:
                    return RecognisedTarget(target.id, target.display_name, True)
            return RecognisedTarget(f'device:{_slug(device)}', f'{device} (Neo device)', False)
        platform = output_config.get('TargetPlatform')
        if isinstance(platform, Mapping) and platform.get('Os') and platform.get('Arch'):
            key = _platform_key(platform.get('Os'), platform.get('Arch'), platform.get('Accelerator'))
            same = [
                t
                for t in self._targets.values()
                if t.os and _platform_key(t.os, t.arch, t.accelerator) == key
            ]
            # Xavier and Orin share a platform: their GPU's compute capability tells them apart
            gpu_code = _gpu_code(output_config.get('CompilerOptions'))
            for target in sorted(same, key=lambda t: t.gpu_code != gpu_code):
                return RecognisedTarget(target.id, target.display_name, True)
            label = '/'.join(str(p) for p in key if p)
            return RecognisedTarget(f'platform:{_slug(label)}', f'{label} (platform)', False)
        return RecognisedTarget('unknown', 'Unknown target', False)

    def newest(self, runtime: Literal['jetpack', 'cuda']) -> str | None:
        """The newest JetPack (or CUDA) release any target of the catalogue compiles for."""
        spans = [span for t in self._targets.values() if (span := getattr(t, runtime)) is not None]
        return max((span[1] for span in spans), key=release_key, default=None)


@functools.lru_cache(maxsize=1024)
def release_key(text: object) -> tuple[int, ...]:
    """'5.1.2' → (5, 1, 2); () when the text is not a dotted number (an 'L4T R35' or empty attribute)."""
    parts = str(text or '').strip().lstrip('vV').split('.')
    if not all(p.isdigit() for p in parts):
        return ()
    return tuple(int(p) for p in parts)


def _gpu_code(compiler_options: object) -> str | None:
    """`gpu-code` (or `gpu_code`) of a CompilerOptions JSON string; None when absent or not JSON."""
    try:
        options = json.loads(compiler_options) if isinstance(compiler_options, str) else None
    except ValueError:
        return None
    if not isinstance(options, dict):
        return None
    code = options.get('gpu-code', options.get('gpu_code'))
    return str(code) if code else None


def _platform_key(os_: object, arch: object, accelerator: object) -> tuple[str, str, str]:
    return (str(os_ or '').upper(), str(arch or '').upper(), str(accelerator or '').upper())


def _slug(text: str) -> str:
    return re.sub(r'[^a-z0-9]+', '-', text.lower()).strip('-') or 'unknown'


def _read_file(path: Path) -> list[Target]:
    try:
        text = path.read_text(encoding='utf-8')
    except OSError as error:
        raise CatalogueError(f'{path}: cannot read target catalogue: {error.strerror or error}') from error
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:  # its message names line and column
        raise CatalogueError(f'{path}: {error}') from error
    entries = document.get('target')
    if not isinstance(entries, list) or not entries:
        raise CatalogueError(f'{path}: line 1: expected one or more [[target]] tables')
    header_lines = [n for n, line in enumerate(text.splitlines(), 1) if line.strip() == '[[target]]']
    targets: list[Target] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        line = header_lines[index] if index < len(header_lines) else 1
        try:
            target = Target.model_validate(entry)
        except ValidationError as error:
            reasons = '; '.join(
                f'{".".join(str(p) for p in e["loc"]) or "target"}: {e["msg"]}' for e in error.errors()
            )
            raise CatalogueError(f'{path}: line {line}: {reasons}') from error
        if target.id in seen:
            raise CatalogueError(f'{path}: line {line}: duplicate target id {target.id!r}')
        seen.add(target.id)
        targets.append(target)
    return targets
