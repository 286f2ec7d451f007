"""What to do about a failed compilation: a SageMaker Neo FailureReason → likely cause and steps to fix it."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from .targets import release_key

DEFAULT_RULES = Path(__file__).with_name('guidance.toml')
TROUBLESHOOTING_URL = 'https://docs.aws.amazon.com/sagemaker/latest/dg/neo-troubleshooting-compilation.html'
# SageMaker caps FailureReason at 1024 characters; anything far longer is not worth scanning in full.
MAX_MESSAGE_CHARS = 20_000

_Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
_Pattern = Annotated[str, Field(min_length=1)]
_RULE_HEADER = re.compile(r'^\s*\[\[\s*rule\s*\]\]\s*(#.*)?$')


@dataclass(frozen=True)
class Guidance:
    """Advice for one failure message; plain text, meant to be shown as text (never as HTML)."""

    rule_id: str | None
    title: str
    cause: str
    steps: tuple[str, ...]
    docs: str
    matched: bool  # False for the general advice given when no rule matches


FALLBACK = Guidance(
    rule_id=None,
    title='Compilation failed',
    cause='SageMaker Neo reported an error the portal has no specific advice for.',
    steps=(
        "Read the full failure message and the compilation job's logs (the portal's log view, CloudWatch "
        'group /aws/sagemaker/CompilationJobs); the first error in the log is usually the real one.',
        'Check the model archive layout: one model.tar.gz with the model file at its root '
        '(for PyTorch a model traced with torch.jit.trace and saved with torch.jit.save).',
        'Open Advanced in the compile dialog and check Input shape, Framework and Framework version '
        'against the model and the versions Neo supports for the target.',
        'If the message mentions an internal error, start the compilation again.',
        f"See AWS's troubleshooting page for Neo compilation errors: {TROUBLESHOOTING_URL}",
    ),
    docs=TROUBLESHOOTING_URL,
    matched=False,
)


class GuidanceRule(BaseModel):
    """One [[rule]] of the rules file."""

    model_config = ConfigDict(extra='forbid', frozen=True)

    id: str = Field(pattern=r'^[a-z0-9][a-z0-9-]{0,40}$')
    title: str = Field(min_length=1, max_length=80)
    patterns: tuple[_Pattern, ...] = Field(min_length=1)
    cause: _Text
    steps: tuple[_Text, ...] = Field(min_length=1)
    docs: str = Field(pattern=r'^https://\S+$')

    def guidance(self) -> Guidance:
        return Guidance(self.id, self.title, self.cause, self.steps, self.docs, True)


class GuidanceError(ValueError):
    """A rules file that cannot be used; the message names file, line and reason."""


@dataclass(frozen=True)
class _Compiled:
    rule: GuidanceRule
    patterns: tuple[re.Pattern[str], ...]
    guidance: Guidance


class GuidanceBook:
    """The rules, tried in file order; the first rule with a matching pattern gives the guidance."""

    def __init__(self, rules: list[_Compiled]) -> None:
        self._rules = tuple(rules)

    @classmethod
    def load(cls, path: Path | None = None) -> GuidanceBook:
        """The rules in `path` (default: the file shipped with the portal); raises GuidanceError."""
        return cls(_read_file(path or DEFAULT_RULES))

    @property
    def rules(self) -> tuple[GuidanceRule, ...]:
        return tuple(compiled.rule for compiled in self._rules)

    def for_failure(self, message: str | None) -> Guidance:
        """Guidance for a FailureReason; the general advice when nothing matches. Never raises."""
        text = _as_text(message)
        if not text.strip():
            return FALLBACK
        for compiled in self._rules:
            for pattern in compiled.patterns:
                try:
                    found = pattern.search(text) is not None
                except Exception:  # a pathological pattern must not break the page
                    found = False
                if found:
                    return compiled.guidance
        return FALLBACK


def _as_text(message: object) -> str:
    if message is None:
        return ''
    if not isinstance(message, str):
        try:
            message = message.decode('utf-8', 'replace') if isinstance(message, bytes) else str(message)
        except Exception:
            return ''
    return message[:MAX_MESSAGE_CHARS]


def _read_file(path: Path) -> list[_Compiled]:
    try:
        text = path.read_text(encoding='utf-8')
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else error
        raise GuidanceError(f'{path}: cannot read guidance rules: {reason}') from error
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:  # its message names line and column
        raise GuidanceError(f'{path}: {error}') from error
    entries = document.get('rule')
    if not isinstance(entries, list) or not entries:
        raise GuidanceError(f'{path}: line 1: expected one or more [[rule]] tables')
    lines = text.splitlines()
    headers = [n for n, line in enumerate(lines, 1) if _RULE_HEADER.match(line)]
    compiled: list[_Compiled] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        start = headers[index] if index < len(headers) else 1
        end = headers[index + 1] - 1 if index + 1 < len(headers) else len(lines)
        block = _Block(lines, start, end)
        try:
            rule = GuidanceRule.model_validate(entry)
        except ValidationError as error:
            first = error.errors()[0]
            line = block.field_line(str(first['loc'][0])) if first['loc'] else start
            reasons = '; '.join(
                f'{".".join(str(p) for p in e["loc"]) or "rule"}: {e["msg"]}' for e in error.errors()
            )
            raise GuidanceError(f'{path}: line {line}: {reasons}') from error
        if rule.id in seen:
            raise GuidanceError(f'{path}: line {block.field_line("id")}: duplicate rule id {rule.id!r}')
        seen.add(rule.id)
        patterns = []
        for source in rule.patterns:
            where = f'{path}: line {block.pattern_line(source)}: rule {rule.id!r}'
            try:
                pattern = re.compile(source, re.IGNORECASE | re.DOTALL)
            except re.error as error:
                raise GuidanceError(f'{where}: invalid regular expression {source!r}: {error}') from error
            if pattern.search(''):
                raise GuidanceError(f'{where}: pattern {source!r} matches an empty message')
            patterns.append(pattern)
        compiled.append(_Compiled(rule, tuple(patterns), rule.guidance()))
    return compiled


class _Block:
    """The lines of one [[rule]] table, to point error messages at the right line."""

    def __init__(self, lines: list[str], start: int, end: int) -> None:
        self.lines = lines
        self.start = start
        self.end = max(start, end)

    def _find(self, test: Callable[[str], object]) -> int | None:
        for number in range(self.start, min(self.end, len(self.lines)) + 1):
            if test(self.lines[number - 1]):
                return number
        return None

    def field_line(self, field: str) -> int:
        key = re.compile(rf'^\s*["\']?{re.escape(field)}["\']?\s*=')
        return self._find(key.match) or self.start

    def pattern_line(self, source: str) -> int:
        quoted = (f"'{source}'", '"' + source.replace('\\', '\\\\').replace('"', '\\"') + '"')
        return (
            self._find(lambda line: any(q in line for q in quoted))
            or self._find(lambda line: source in line)
            or self.field_line('patterns')
        )


def beyond_neo(runtime: str, device_release: str, newest: str | None) -> str | None:
    """Said plainly when a device's JetPack (or CUDA) is newer than any release SageMaker Neo compiles for in
    the portal's target catalogue: no compilation can serve that device until Neo supports it."""
    have, top = release_key(device_release), release_key(newest)
    if not have or not top or have[: len(top)] <= top:
        return None
    return (
        f'{runtime} {device_release} is newer than any {runtime} SageMaker Neo compiles for here '
        f'(up to {newest}): no compilation target fits this device. Keep it on {runtime} {newest} or '
        f'earlier, or run a model built outside Neo for it.'
    )
