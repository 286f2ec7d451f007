"""The lists' filters: read from and written to the URL query, applied to the jobs (and the matrix's)."""

from __future__ import annotations

import dataclasses
import unicodedata
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import quote_plus, urlencode

from .places import DEFAULT_PLACE, use_case_name
from .status import Rollup, TrainingStatus

ROLLUPS: tuple[str, ...] = tuple(r.value for r in Rollup)
TRAINING_STATUSES: tuple[str, ...] = tuple(s.value for s in TrainingStatus)
MAX_TEXT = 100  # characters of the name search kept from a URL or the search box
MAX_VALUES = 50  # values per parameter read from a URL; the rest is ignored
USE_CASE = 'use-case'  # the URL parameter of the use case filter (names, comma-separated)


@dataclass(frozen=True)
class ListedJob:
    """What the filters need to know about one training job."""

    name: str
    status: str
    rollup: str
    target_ids: frozenset[str]
    use_case: str = DEFAULT_PLACE  # its place key


@dataclass(frozen=True)
class ListFilter:
    """Empty sets mean "any"; within one set the values are alternatives, between sets all must hold."""

    rollups: frozenset[str] = frozenset()
    statuses: frozenset[str] = frozenset()
    targets: frozenset[str] = frozenset()
    text: str = ''
    use_cases: frozenset[str] = frozenset()  # use case names (every region of each)

    @classmethod
    def from_query(
        cls,
        params: Iterable[tuple[str, str]],
        known_targets: Mapping[str, str],
        known_use_cases: Collection[str] = (),
    ) -> ListFilter:
        """Read `rollup`, `status`, `target`, `use-case` (comma-separated, repeatable) and `q`; drop unknown
        values.

        `known_targets` maps target id → label; a target may be given by either (ids are what we write).
        `known_use_cases`: the names of the use cases the reader may see.
        """
        values: dict[str, list[str]] = {'rollup': [], 'status': [], 'target': [], USE_CASE: []}
        text = ''
        for key, value in params:
            if key == 'q':
                text = value
            elif key in values:
                values[key].extend(part.strip() for part in value.split(',') if part.strip())
        target_by_word = {t.casefold(): t for t in known_targets} | {
            label.casefold(): target for target, label in known_targets.items()
        }
        return cls(
            rollups=_known(values['rollup'], {r.casefold(): r for r in ROLLUPS}),
            statuses=_known(values['status'], {s.casefold(): s for s in TRAINING_STATUSES}),
            targets=_known(values['target'], target_by_word),
            text=clean_text(text),
            use_cases=_known(values[USE_CASE], {u.casefold(): u for u in known_use_cases}),
        )

    def to_query(self) -> str:
        """The query string (without '?') that `from_query` reads back; '' when nothing is filtered."""
        params = [
            ('rollup', ','.join(r for r in ROLLUPS if r in self.rollups)),
            ('status', ','.join(s for s in TRAINING_STATUSES if s in self.statuses)),
            ('target', ','.join(sorted(self.targets))),
            (USE_CASE, ','.join(sorted(self.use_cases))),
            ('q', self.text),
        ]
        return urlencode([(k, v) for k, v in params if v], safe=',', quote_via=quote_plus)

    def url(self, path: str = '/') -> str:
        query = self.to_query()
        return f'{path}?{query}' if query else path

    @property
    def is_empty(self) -> bool:
        return not (self.rollups or self.statuses or self.targets or self.text or self.use_cases)

    def replace(
        self,
        *,
        rollups: Iterable[str] | None = None,
        statuses: Iterable[str] | None = None,
        targets: Iterable[str] | None = None,
        text: str | None = None,
        use_cases: Iterable[str] | None = None,
    ) -> ListFilter:
        """A copy with some parts changed (values are taken as given: they come from our own controls)."""
        return dataclasses.replace(
            self,
            rollups=self.rollups if rollups is None else frozenset(rollups),
            statuses=self.statuses if statuses is None else frozenset(statuses),
            targets=self.targets if targets is None else frozenset(targets),
            text=self.text if text is None else clean_text(text),
            use_cases=self.use_cases if use_cases is None else frozenset(use_cases),
        )

    def matches(self, job: ListedJob, *, ignore_rollup: bool = False) -> bool:
        if self.rollups and not ignore_rollup and job.rollup not in self.rollups:
            return False
        if self.statuses and job.status not in self.statuses:
            return False
        if self.targets and not self.targets & job.target_ids:
            return False
        if self.use_cases and use_case_name(job.use_case) not in self.use_cases:
            return False
        name = job.name.casefold()
        return all(term in name for term in self.text.casefold().split())


def select(jobs: Iterable[ListedJob], list_filter: ListFilter) -> list[ListedJob]:
    """The jobs the filter lets through, in the given order."""
    return [job for job in jobs if list_filter.matches(job)]


def rollup_counts(jobs: Iterable[ListedJob], list_filter: ListFilter) -> dict[str, int]:
    """For each rollup, how many jobs match the other filters: what choosing that rollup would show."""
    counts = dict.fromkeys(ROLLUPS, 0)
    for job in jobs:
        if job.rollup in counts and list_filter.matches(job, ignore_rollup=True):
            counts[job.rollup] += 1
    return counts


def clean_text(text: str) -> str:
    """Search text as typed, without control characters or surrounding blanks, at most MAX_TEXT long."""
    printable = ''.join(' ' if unicodedata.category(c).startswith('C') else c for c in text[: MAX_TEXT * 4])
    return ' '.join(printable.split())[:MAX_TEXT]


def _known(words: list[str], canonical: Mapping[str, str]) -> frozenset[str]:
    """The canonical values among `words`, matched ignoring case and spaces (AWS's `InProgress` is ours
    `In progress`)."""
    squeezed = {_squeeze(word): value for word, value in canonical.items()}
    found = (squeezed.get(_squeeze(w)) for w in words[:MAX_VALUES])
    return frozenset(value for value in found if value is not None)


def _squeeze(word: str) -> str:
    return ''.join(word.casefold().split())


@dataclass(frozen=True)
class MatrixFilter:
    """The compatibility matrix's filters and pages, read from and written to the URL query like the list's:
    `job` and `target` (comma-separated, repeatable; empty: any), `device` (text in the device name), and the
    page of versions (`vpage`) and of devices (`dpage`), counted from 1; `group`: devices of these IoT thing
    groups (comma-separated, repeatable; empty: every device); `use-case`: versions and devices of these use
    cases (names; empty: every use case the reader may see)."""

    jobs: frozenset[str] = frozenset()
    targets: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()
    device_text: str = ''
    version_page: int = 1
    device_page: int = 1
    use_cases: frozenset[str] = frozenset()

    @classmethod
    def from_query(
        cls,
        params: Iterable[tuple[str, str]],
        known_targets: Mapping[str, str],
        known_use_cases: Collection[str] = (),
    ) -> MatrixFilter:
        values: dict[str, list[str]] = {'job': [], 'target': [], 'group': [], USE_CASE: []}
        text, pages = '', {'vpage': 1, 'dpage': 1}
        for key, value in params:
            if key in values:
                values[key].extend(part.strip() for part in value.split(',') if part.strip())
            elif key == 'device':
                text = value
            elif key in pages and value.strip().isdigit():
                pages[key] = max(1, min(int(value), 1_000_000))
        target_by_word = {t.casefold(): t for t in known_targets} | {
            label.casefold(): target for target, label in known_targets.items()
        }
        return cls(
            jobs=frozenset(clean_text(j) for j in values['job'][:MAX_VALUES] if clean_text(j)),
            targets=_known(values['target'], target_by_word),
            groups=frozenset(clean_text(g) for g in values['group'][:MAX_VALUES] if clean_text(g)),
            device_text=clean_text(text),
            version_page=pages['vpage'],
            device_page=pages['dpage'],
            use_cases=_known(values[USE_CASE], {u.casefold(): u for u in known_use_cases}),
        )

    def to_query(self) -> str:
        params = [
            ('job', ','.join(sorted(self.jobs))),
            ('target', ','.join(sorted(self.targets))),
            ('group', ','.join(sorted(self.groups))),
            (USE_CASE, ','.join(sorted(self.use_cases))),
            ('device', self.device_text),
            ('vpage', str(self.version_page) if self.version_page > 1 else ''),
            ('dpage', str(self.device_page) if self.device_page > 1 else ''),
        ]
        return urlencode([(k, v) for k, v in params if v], safe=',', quote_via=quote_plus)

    def url(self, path: str = '/fleet') -> str:
        query = self.to_query()
        return f'{path}?{query}' if query else path

    @property
    def is_empty(self) -> bool:
        return not (self.jobs or self.targets or self.groups or self.device_text or self.use_cases)

    def replace(self, **changes: object) -> MatrixFilter:
        """A copy with some parts changed; a filter change goes back to the first pages."""
        if {'jobs', 'targets', 'groups', 'device_text', 'use_cases'} & set(changes):
            changes = {'version_page': 1, 'device_page': 1, **changes}
        for name in ('jobs', 'targets', 'groups', 'use_cases'):
            if name in changes:
                changes[name] = frozenset(changes[name])  # type: ignore[call-overload]
        if 'device_text' in changes:
            changes['device_text'] = clean_text(str(changes['device_text'] or ''))
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    def keeps_use_case(self, use_case: str) -> bool:
        """Whether things of this place key are shown."""
        return not self.use_cases or use_case_name(use_case) in self.use_cases

    def keeps_version(
        self, training_job: str | None, target_id: str | None, use_case: str = DEFAULT_PLACE
    ) -> bool:
        if not self.keeps_use_case(use_case):
            return False
        if self.jobs and training_job not in self.jobs:
            return False
        return not (self.targets and target_id not in self.targets)

    def keeps_device(
        self, thing_name: str, groups: frozenset[str] = frozenset(), use_case: str = DEFAULT_PLACE
    ) -> bool:
        """`groups`: the thing groups the device is in; `use_case`: its place key."""
        if not self.keeps_use_case(use_case):
            return False
        if self.groups and not self.groups & groups:
            return False
        return all(term in thing_name.casefold() for term in self.device_text.casefold().split())
