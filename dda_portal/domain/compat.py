"""Can this component version run on that core device? One cell of the compatibility matrix.

A Greengrass recipe lists manifests, each with a `Platform` of attributes (os, architecture, and any others a
team declares: accelerator, jetpack…). Greengrass picks the first manifest whose every attribute matches the
core device: a value matches when equal, when it is `*`, or when it is `/regex/` and the regular expression
matches the device's whole value. A recipe without manifests, or a manifest without a platform, matches every
device. The device's os and architecture come from Greengrass (GetCoreDevice); any other attribute from the
device's IoT thing attributes (README "Compatibility matrix"), which Greengrass's API does not report.

Besides the recipe, a model compiled for a catalogue target runs only on the JetPack/CUDA releases the target
states (`RuntimeNeeds`). Facts the portal does not have make the cell Unknown, with the missing fact named.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from .guidance import beyond_neo
from .targets import release_key


class Fit(StrEnum):
    """The words every page uses for a cell (their icons: `status.LOOKS`)."""

    RUNNING = 'Running'
    DEPLOYED = 'Deployed, not yet running'
    COMPATIBLE = 'Compatible'
    INCOMPATIBLE = 'Incompatible'
    UNKNOWN = 'Unknown'
    # the version and the device are in different use cases (accounts or regions): a component deploys only
    # in its own account and region, whatever the platforms say
    ELSEWHERE = 'Other use case'


# attributes the device reports through Greengrass; every other one is an IoT thing attribute
REPORTED = ('os', 'architecture')
RUNTIMES = {'jetpack': 'JetPack', 'cuda': 'CUDA'}
_NAMES = {'os': 'operating system', 'architecture': 'architecture', 'accelerator': 'accelerator', **RUNTIMES}


@dataclass(frozen=True)
class DeviceFacts:
    """What the portal knows of a core device's platform. `attributes` None: its thing was not read."""

    os: str | None
    architecture: str | None
    attributes: Mapping[str, str] | None = None

    def value(self, key: str) -> str | None:
        if key == 'os':
            return self.os
        if key == 'architecture':
            return self.architecture
        return None if self.attributes is None else self.attributes.get(key)


@dataclass(frozen=True)
class RuntimeNeeds:
    """The JetPack and CUDA releases (from, to; inclusive) a compiled model runs on, and the newest ones
    SageMaker Neo compiles for (from the target catalogue)."""

    jetpack: tuple[str, str] | None = None
    cuda: tuple[str, str] | None = None
    newest: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Cell:
    fit: Fit
    reasons: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        """The reasons as one line of plain text (a tooltip, a CSV cell)."""
        return '; '.join(self.reasons)


Platforms = Sequence[Mapping[str, str]]  # the recipe's Manifests[].Platform, in order


def judge(
    platforms: Platforms | None,
    device: DeviceFacts,
    *,
    running: bool = False,
    deployed: bool = False,
    needs: RuntimeNeeds | None = None,
) -> Cell:
    """The cell for a component version (its recipe's platforms, None when not read yet) on a device.

    `running`: the device reports this version installed; `deployed`: a deployment for the device includes
    it (not yet running)."""
    if running:
        return Cell(Fit.RUNNING)
    if deployed:
        return Cell(Fit.DEPLOYED)
    if platforms is None:
        return Cell(Fit.UNKNOWN, ('the recipe has not been read yet',))
    platform_fit, reasons = _platform_fit(platforms, device)
    if platform_fit is Fit.INCOMPATIBLE:
        return Cell(Fit.INCOMPATIBLE, reasons)
    runtime_fit, runtime_reasons = _runtime_fit(needs, device)
    if runtime_fit is Fit.INCOMPATIBLE:
        return Cell(Fit.INCOMPATIBLE, runtime_reasons)
    if Fit.UNKNOWN in (platform_fit, runtime_fit):
        return Cell(Fit.UNKNOWN, _merged((*reasons, *runtime_reasons)))
    return Cell(Fit.COMPATIBLE)


NOT_READ = "the device's IoT thing attributes are not read yet"


def _merged(reasons: tuple[str, ...]) -> tuple[str, ...]:
    """One reason for all the facts an unread thing leaves unknown (not one per fact)."""
    unread = [r[len(NOT_READ) + 2 : -len(' unknown)')] for r in reasons if r.startswith(NOT_READ)]
    others = tuple(r for r in reasons if not r.startswith(NOT_READ))
    return (*others, f'{NOT_READ} ({", ".join(unread)} unknown)') if unread else others


def value_matches(wanted: str, value: str) -> bool:
    """Greengrass's rule for one platform attribute: '*', '/regex/' (whole value), else equal (any case)."""
    if wanted == '*':
        return True
    if len(wanted) > 1 and wanted.startswith('/') and wanted.endswith('/'):
        try:
            return re.fullmatch(wanted[1:-1], value) is not None
        except re.error:
            return False
    return wanted.casefold() == value.casefold()


def _platform_fit(platforms: Platforms, device: DeviceFacts) -> tuple[Fit, tuple[str, ...]]:
    """COMPATIBLE when a manifest surely matches; else UNKNOWN when one might (a fact is missing), with the
    missing facts; else INCOMPATIBLE, with what differs."""
    if not platforms:
        return Fit.COMPATIBLE, ()
    missing: dict[str, str] = {}
    differs: dict[str, list[str]] = {}
    for platform in platforms:
        unknown_here: dict[str, str] = {}
        mismatched: list[tuple[str, str]] = []
        for key, wanted in platform.items():
            wanted = str(wanted)
            if wanted == '*':
                continue
            value = device.value(key)
            if value is None:
                unknown_here[key] = _missing(key, device)
            elif not value_matches(wanted, value):
                mismatched.append((key, wanted))
        if not mismatched and not unknown_here:
            return Fit.COMPATIBLE, ()
        if mismatched:
            for key, wanted in mismatched:
                differs.setdefault(key, [])
                if wanted not in differs[key]:
                    differs[key].append(wanted)
        else:
            missing.update(unknown_here)
    if missing:
        return Fit.UNKNOWN, tuple(missing.values())
    return Fit.INCOMPATIBLE, tuple(
        _differs(key, device.value(key) or '', wanted) for key, wanted in differs.items()
    )


def _missing(key: str, device: DeviceFacts) -> str:
    name = _NAMES.get(key, key)
    if key in REPORTED:
        return f'the device has not reported its {name}'
    if device.attributes is None:
        return f'{NOT_READ} ({name} unknown)'
    return f"the device does not state its {name} (IoT thing attribute '{key}')"


def _shown(wanted: list[str]) -> str:
    return ' or '.join(f'matching {w}' if w.startswith('/') and len(w) > 1 else w for w in wanted)


def _differs(key: str, value: str, wanted: list[str]) -> str:
    if key == 'architecture':
        return f'device is {value}; this version is built for {_shown(wanted)}'
    if key == 'os':
        return f'device runs {value}; this version is for {_shown(wanted)}'
    if key == 'accelerator':
        return f'device accelerator is {value}; this version needs {_shown(wanted)}'
    name = RUNTIMES.get(key, key)
    return f'device has {name} {value}; this version needs {name} {_shown(wanted)}'


def _runtime_fit(needs: RuntimeNeeds | None, device: DeviceFacts) -> tuple[Fit, tuple[str, ...]]:
    if needs is None:
        return Fit.COMPATIBLE, ()
    fits: list[tuple[Fit, str]] = []
    for key, span in (('jetpack', needs.jetpack), ('cuda', needs.cuda)):
        if span is None:
            continue
        name = RUNTIMES[key]
        value = device.value(key)
        if value is None:
            fits.append((Fit.UNKNOWN, _missing(key, device)))
            continue
        have, low, high = release_key(value), release_key(span[0]), release_key(span[1])
        if not have:
            fits.append((Fit.UNKNOWN, f"the device's {name} {value!r} is not a release number"))
        elif have[: len(low)] < low:
            fits.append((Fit.INCOMPATIBLE, f'needs {name} ≥ {span[0]}; device has {name} {value}'))
        elif have[: len(high)] > high:
            reason = f'needs {name} ≤ {span[1]}; device has {name} {value}'
            beyond = beyond_neo(name, value, needs.newest.get(key))
            fits.append((Fit.INCOMPATIBLE, f'{reason}. {beyond}' if beyond else reason))
    for fit in (Fit.INCOMPATIBLE, Fit.UNKNOWN):
        reasons = tuple(reason for found, reason in fits if found is fit)
        if reasons:
            return fit, reasons
    return Fit.COMPATIBLE, ()
