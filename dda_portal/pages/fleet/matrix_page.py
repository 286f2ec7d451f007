"""The matrix page's content: which versions and devices one page shows, and the words of its cells."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ...domain.compat import Cell, DeviceFacts, Fit, RuntimeNeeds, judge
from ...domain.filters import MatrixFilter
from ...domain.places import place_label
from ...domain.targets import TargetCatalog
from ...queries.matrix import DeviceColumn
from ..links import job_link
from ..tables import look_of
from .matrix_feed import MatrixFacts

VERSIONS_PER_PAGE = 50
DEVICES_PER_PAGE = 25
FULL_WORDS_UP_TO = 6  # devices on a page whose cells fit a 1024 px window with their whole words
# with more devices, each cell says a short word (its whole word and reason on hover and to screen readers)
SHORT_WORDS = {
    Fit.RUNNING: 'Run',
    Fit.DEPLOYED: 'Dep',
    Fit.COMPATIBLE: 'OK',
    Fit.INCOMPATIBLE: 'No',
    Fit.UNKNOWN: '?',
    Fit.ELSEWHERE: '–',
}


def legend(several_places: bool) -> str:
    """What the short words mean (Other use case only where there are several)."""
    fits = [fit for fit in SHORT_WORDS if several_places or fit is not Fit.ELSEWHERE]
    return (
        ' · '.join(f'{SHORT_WORDS[fit]} {fit.value}' for fit in fits)
        + ' — hover or focus a cell for its reason, a device heading for its platform'
    )


def elsewhere(version_place: str, device_place: str) -> Cell:
    """The cell of a version and a device of different use cases."""
    return Cell(
        Fit.ELSEWHERE,
        (
            f'the version is in {place_label(version_place)}, the device in {place_label(device_place)}; '
            'Greengrass deploys a component only in its own account and region',
        ),
    )


def fit_fields(cell: Cell) -> dict[str, str]:
    """A cell as every page shows it: word, icon, colour and the reason as plain text."""
    look = look_of(cell.fit)
    return {'w': cell.fit.value, 's': SHORT_WORDS[cell.fit], 'i': look.icon, 'c': look.color, 'r': cell.text}


def device_summary(facts: DeviceFacts) -> str:
    """A device's platform facts in a few words (the matrix column's second line, the devices table)."""
    parts = [facts.architecture or 'architecture?', facts.os or 'os?']
    attributes = facts.attributes
    if attributes is None:
        parts.append('thing not read')
    elif not attributes:
        parts.append('no thing attributes')
    else:
        parts += [f'{key} {value}' for key, value in sorted(attributes.items())]
    return ' · '.join(parts)


def runtime_needs(catalog: TargetCatalog) -> dict[str, RuntimeNeeds]:
    """What each catalogue target's compiled model needs of JetPack/CUDA, and the newest Neo compiles for."""
    newest = {key: value for key in ('jetpack', 'cuda') if (value := catalog.newest(key))}
    return {t.id: RuntimeNeeds(t.jetpack, t.cuda, newest) for t in catalog.values()}


@dataclass(frozen=True)
class MatrixPage:
    """One page of the grid: QTable columns and rows, and the counts the page states."""

    columns: list[dict[str, Any]]
    rows: list[dict[str, Any]]
    versions_total: int
    versions_matching: int
    versions_first: int
    devices_total: int
    devices_matching: int
    devices_first: int
    compact: bool = False  # more devices than fit with whole words: short words, device headings turned

    @property
    def shown_text(self) -> str:
        def span(first: int, count: int, matching: int, total: int, noun: str) -> str:
            if not matching:
                return f'no {noun} of {total:,}' if total else f'no {noun}'
            of = f'{matching:,}' if matching == total else f'{matching:,} matching (of {total:,})'
            return f'{noun.capitalize()} {first + 1:,}–{first + count:,} of {of}'

        versions = span(
            self.versions_first, len(self.rows), self.versions_matching, self.versions_total, 'versions'
        )
        devices = span(
            self.devices_first, len(self.columns) - 1, self.devices_matching, self.devices_total, 'devices'
        )
        return f'{versions} · {devices}'


def build_page(
    facts: MatrixFacts,
    chosen: MatrixFilter,
    needs: Mapping[str, RuntimeNeeds],
    target_labels: Mapping[str, str],
    seen: frozenset[str] | None = None,
    several: bool = False,
) -> MatrixPage:
    """The grid for one tab: its filter's page of versions × its page of devices, each cell judged; only
    versions and devices of the places in `seen` (None: all). `several`: the reader sees several places (each
    version and device says its own)."""
    versions = sorted(
        (
            v
            for v in facts.versions.values()
            if (seen is None or v.use_case in seen)
            and chosen.keeps_version(v.training_job, v.target_id, v.use_case)
        ),
        # each use case's versions together, like its devices: its cells make one block of the grid
        key=lambda v: (
            v.use_case,
            v.created_at is None,
            -(v.created_at.timestamp() if v.created_at else 0),
            v.arn,
        ),
    )
    devices = sorted(  # by object key: thing names repeat across accounts
        (
            (device.use_case, device.thing_name, key)
            for key, device in facts.devices.items()
            if (seen is None or device.use_case in seen)
            and chosen.keeps_device(device.thing_name, facts.groups.get(key, frozenset()), device.use_case)
        ),
    )
    v_first = _first(chosen.version_page, VERSIONS_PER_PAGE, len(versions))
    d_first = _first(chosen.device_page, DEVICES_PER_PAGE, len(devices))
    shown_keys = [key for _, _, key in devices[d_first : d_first + DEVICES_PER_PAGE]]
    shown_devices = [facts.devices[key] for key in shown_keys]
    columns: list[dict[str, Any]] = [
        {'name': 'release', 'label': 'Component version', 'field': 'component', 'align': 'left'}
    ]
    columns += [
        {
            'name': f'd{i}',
            'label': d.thing_name,
            'field': f'd{i}',
            'facts': f'{place_label(d.use_case)} · {device_summary(d.facts)}'
            if several
            else device_summary(d.facts),
            'align': 'left',
            'headerStyle': 'max-width: 14rem; white-space: normal; vertical-align: top',
        }
        for i, d in enumerate(shown_devices)
    ]
    # devices of one kind (same facts) get the same judgement: judged once per version and kind
    kinds = [_kind(device) for device in shown_devices]
    rows = []
    for version in versions[v_first : v_first + VERSIONS_PER_PAGE]:
        judged: dict[Any, dict[str, str]] = {}
        row: dict[str, Any] = {
            'arn': version.arn,
            'component': version.component_name,
            'version': version.component_version,
            'job': version.training_job or '',
            'job_link': job_link(version.training_job or '', version.use_case, 'components'),
            'target': target_labels.get(version.target_id or '', version.target_id or 'target not known'),
            'place': place_label(version.use_case) if several else '',
        }
        version_needs = needs.get(version.target_id or '')
        for i, device in enumerate(shown_devices):
            if device.use_case != version.use_case:  # Greengrass deploys a component in its own account
                row[f'd{i}'] = fit_fields(elsewhere(version.use_case, device.use_case))
                continue
            running = version.release in facts.running.get(shown_keys[i], ())
            if running or version.release in facts.deployed.get(shown_keys[i], ()):
                row[f'd{i}'] = fit_fields(judge(None, device.facts, running=running, deployed=not running))
                continue
            fields = judged.get(kinds[i])
            if fields is None:
                fields = judged[kinds[i]] = fit_fields(
                    judge(version.platforms, device.facts, needs=version_needs)
                )
            row[f'd{i}'] = fields
        rows.append(row)
    return MatrixPage(
        columns,
        rows,
        len(facts.versions),
        len(versions),
        v_first,
        len(facts.devices),
        len(devices),
        d_first,
        compact=len(shown_devices) > FULL_WORDS_UP_TO,
    )


def _kind(device: DeviceColumn) -> Any:
    attributes = device.facts.attributes
    return (
        device.facts.os,
        device.facts.architecture,
        None if attributes is None else tuple(sorted(attributes.items())),
    )


def _first(page: int, per_page: int, count: int) -> int:
    last_page = max(1, -(-count // per_page))
    return (min(page, last_page) - 1) * per_page
