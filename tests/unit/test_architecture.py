"""The layering rules of docs/architecture.md, checked on the source: no import cycles, each layer imports
only those below it, production never loads moto or the demo, and modules stay short.

The import graph is read from the AST of every module of dda_portal: every `import` and `from … import`
anywhere in a module counts, those under `if TYPE_CHECKING:` and those inside functions included (a cycle
only a type checker or a late import hides is still a cycle of the design). `from package import name`
points at `package.name` when that is a module, else at `package`. Importing `a.b.c` does not count as
importing the packages `a` and `a.b` (Python runs their `__init__` first, but a submodule importing its
sibling is no cycle).

Each rule is also run on a small made-up package that breaks it, so that a rule that can no longer fail
fails here."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = 'dda_portal'
MAX_LINES = 400
LONG_MODULE_MARKER = 'Longer than 400 lines because'

# layer (a module or a package, by dotted name) → what it must not import (prefixes of dotted names)
FORBIDDEN = {
    'dda_portal.domain': ('dda_portal',),  # anything but the domain itself (see forbidden_imports)
    'dda_portal.tables': ('dda_portal.services', 'dda_portal.pages', 'dda_portal.app', 'dda_portal.demo'),
    'dda_portal.queries': ('dda_portal.services', 'dda_portal.pages', 'dda_portal.app', 'dda_portal.demo'),
    'dda_portal.store': ('dda_portal.services', 'dda_portal.pages', 'dda_portal.app', 'dda_portal.demo'),
    'dda_portal.leadership': ('dda_portal.services', 'dda_portal.pages', 'dda_portal.app', 'dda_portal.demo'),
    'dda_portal.notices': ('dda_portal.services', 'dda_portal.pages', 'dda_portal.app', 'dda_portal.demo'),
    'dda_portal.services': ('dda_portal.pages', 'dda_portal.app', 'dda_portal.demo'),
    # thin gateways: no SQL, no store, no UI; only services touch both AWS and the store
    'dda_portal.aws': (
        'dda_portal.store',
        'dda_portal.tables',
        'dda_portal.queries',
        'dda_portal.services',
        'dda_portal.pages',
        'dda_portal.app',
        'dda_portal.demo',
    ),
    'dda_portal.pages': ('dda_portal.aws', 'dda_portal.app', 'dda_portal.demo'),
    # the JSON API asks what the pages ask (actions, feeds, queries), never AWS itself
    'dda_portal.api': ('dda_portal.aws', 'dda_portal.app', 'dda_portal.demo'),
    'dda_portal.api_tokens': ('dda_portal.services', 'dda_portal.pages', 'dda_portal.app', 'dda_portal.demo'),
}


# ---- reading the graph ---------------------------------------------------------------------------------


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix('').parts)
    if parts[-1] == '__init__':
        parts.pop()
    return '.'.join(parts)


def modules_of(root: Path, package: str) -> dict[str, Path]:
    """Every module of `package` (found under `root`) by dotted name."""
    return {module_name(root, path): path for path in sorted((root / package).rglob('*.py'))}


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The modules of `known` that module `name` (at `path`) imports, anywhere in its source."""
    is_package = path.name == '__init__.py'
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split('.')
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                source = '.'.join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ''
            for alias in node.names:
                submodule = f'{source}.{alias.name}'
                found.add(submodule if submodule in known else source)
    resolved = {_known_prefix(target, known) for target in found}
    return {target for target in resolved if target is not None and target != name}


def _known_prefix(target: str, known: set[str]) -> str | None:
    """`target`, or the longest module of `known` it lies in (`import a.b.c` loads `a.b.c`)."""
    parts = target.split('.')
    while parts:
        candidate = '.'.join(parts)
        if candidate in known:
            return candidate
        parts.pop()
    return None


def import_graph(root: Path, package: str) -> dict[str, set[str]]:
    modules = modules_of(root, package)
    known = set(modules)
    return {name: imports_of(name, path, known) for name, path in modules.items()}


# ---- the rules -----------------------------------------------------------------------------------------


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component of more than one module (or a module importing itself),
    as the modules of the component in order (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component: list[str] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph.get(node, ()):
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def in_layer(module: str, layer: str) -> bool:
    return module == layer or module.startswith(layer + '.')


def forbidden_imports(graph: dict[str, set[str]], rules: dict[str, tuple[str, ...]]) -> list[str]:
    """`module imports target` for each import a layer of `rules` must not make."""
    offenders = []
    for module, targets in sorted(graph.items()):
        for layer, banned in rules.items():
            if not in_layer(module, layer):
                continue
            offenders += [
                f'{module} imports {target}'
                for target in sorted(targets)
                if any(in_layer(target, b) for b in banned) and not in_layer(target, layer)
            ]
    return offenders


def first_line(path: Path) -> str:
    """The module's first docstring line, else its first comment line."""
    source = path.read_text()
    docstring = ast.get_docstring(ast.parse(source))
    if docstring:
        return docstring.strip().splitlines()[0]
    comments = (line.strip() for line in source.splitlines() if line.strip().startswith('#'))
    return next(comments, '')


def too_long(root: Path, package: str, skip: tuple[str, ...] = ()) -> Iterator[str]:
    for name, path in modules_of(root, package).items():
        if any(in_layer(name, s) for s in skip):
            continue
        lines = len(path.read_text().splitlines())
        if lines > MAX_LINES and LONG_MODULE_MARKER not in first_line(path):
            yield f'{path.relative_to(root)}: {lines} lines'


# ---- on the portal -------------------------------------------------------------------------------------


def test_the_graph_sees_the_portal() -> None:
    graph = import_graph(ROOT, PACKAGE)
    assert len(graph) > 50
    assert 'dda_portal.store' in graph['dda_portal.services.sync']
    assert 'dda_portal.queries' in graph['dda_portal.services.actions']  # `from .. import queries`
    assert 'dda_portal.queries.refresh' in graph['dda_portal.store']  # `from .queries import refresh`
    assert 'dda_portal.services' in graph['dda_portal.app']


def test_no_module_of_the_portal_is_part_of_an_import_cycle() -> None:
    assert cycles(import_graph(ROOT, PACKAGE)) == []


def test_each_layer_imports_only_the_layers_below_it() -> None:
    assert forbidden_imports(import_graph(ROOT, PACKAGE), FORBIDDEN) == []


def test_modules_outside_the_demo_are_at_most_400_lines_unless_they_say_why() -> None:
    assert list(too_long(ROOT, PACKAGE, skip=('dda_portal.demo',))) == []


PRODUCTION_APP = """
import json, sys, tempfile
import main  # the entry point's own imports
from dda_portal.app import create_app
from dda_portal.config import load_settings

folder = tempfile.mkdtemp()
settings = load_settings({'database_url': f'sqlite:///{folder}/portal.db', 'sync_enabled': False})
assert not settings.demo
create_app(settings)
print(json.dumps(sorted(sys.modules)))
import dda_portal.demo  # what the check would see if the portal loaded the demo (the check's own test)
print(json.dumps(sorted(sys.modules)))
"""


@pytest.fixture(scope='module')
def loaded() -> tuple[list[str], list[str]]:
    """The modules loaded once `main` is imported and the portal is built without demo mode, in a fresh
    interpreter; and those loaded once the demo is imported too."""
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith(('DDA_', 'NICEGUI_', 'PYTEST_'))
    }
    environment['AWS_DEFAULT_REGION'] = 'us-east-1'
    result = subprocess.run(
        [sys.executable, '-c', PRODUCTION_APP],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    production, with_demo = result.stdout.strip().splitlines()[-2:]
    return json.loads(production), json.loads(with_demo)


def demo_modules(loaded: list[str]) -> list[str]:
    return [name for name in loaded if name.split('.')[0] == 'moto' or in_layer(name, 'dda_portal.demo')]


def test_the_portal_without_demo_mode_loads_neither_moto_nor_the_demo(
    loaded: tuple[list[str], list[str]],
) -> None:
    production, _ = loaded
    assert 'dda_portal.app' in production and 'dda_portal.pages.feeds' in production
    assert demo_modules(production) == []


def test_loading_the_demo_is_found(loaded: tuple[list[str], list[str]]) -> None:
    _, with_demo = loaded
    assert 'dda_portal.demo' in demo_modules(with_demo)
    assert any(name.split('.')[0] == 'moto' for name in demo_modules(with_demo))


# ---- each rule fails when broken -----------------------------------------------------------------------


def made_up_package(root: Path, files: dict[str, str]) -> Path:
    for relative, source in files.items():
        path = root / 'pkg' / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))
    return root


def test_a_cycle_is_found_also_through_type_checking_and_late_imports(tmp_path: Path) -> None:
    root = made_up_package(
        tmp_path,
        {
            '__init__.py': '',
            'domain/__init__.py': '',
            'domain/rules.py': """
                from typing import TYPE_CHECKING
                if TYPE_CHECKING:
                    from ..store import S
            """,
            'store.py': 'from .domain import rules\n',
            'services/__init__.py': 'from .a import A\n',
            'services/a.py': 'def f():\n    from . import b\n',
            'services/b.py': 'from pkg.services.a import A\n',
            'pages.py': 'import pkg.store\n',
        },
    )
    assert cycles(import_graph(root, 'pkg')) == [
        ['pkg.domain.rules', 'pkg.store'],
        ['pkg.services.a', 'pkg.services.b'],
    ]


def test_an_import_across_the_layers_is_found(tmp_path: Path) -> None:
    root = made_up_package(
        tmp_path,
        {
            '__init__.py': '',
            'domain/__init__.py': '',
            'domain/rules.py': 'from . import other\nfrom ..tables import T\n',
            'domain/other.py': '',
            'tables.py': '',
            'services/__init__.py': '',
            'services/s.py': 'from ..pages import view\nfrom .. import tables\n',
            'pages/__init__.py': '',
            'pages/view.py': 'from ..services import s\n',
        },
    )
    rules = {'pkg.domain': ('pkg',), 'pkg.services': ('pkg.pages',)}
    assert forbidden_imports(import_graph(root, 'pkg'), rules) == [
        'pkg.domain.rules imports pkg.tables',
        'pkg.services.s imports pkg.pages.view',
    ]


def test_a_long_module_is_found_unless_it_says_why(tmp_path: Path) -> None:
    body = 'x = 1\n' * MAX_LINES
    root = made_up_package(
        tmp_path,
        {
            '__init__.py': '',
            'long.py': '"""Too long."""\n' + body,
            'explained.py': f'"""{LONG_MODULE_MARKER} it is one table."""\n' + body,
            'commented.py': f'# {LONG_MODULE_MARKER} it is generated.\n' + body,
            'short.py': body[: -len('x = 1\n')],
            'demo/__init__.py': '',
            'demo/long.py': body + body,
        },
    )
    assert list(too_long(root, 'pkg', skip=('pkg.demo',))) == [f'pkg{os.sep}long.py: {MAX_LINES + 1} lines']


# ---- failures: one type per family, raised by services, shown in one place ------------------------------

ACTIONS = ROOT / PACKAGE / 'services' / 'actions.py'
SHOWN_IN = ROOT / PACKAGE / 'pages' / 'problems.py'


def failure_shapes_returned(path: Path) -> list[str]:
    """Public async methods of a module whose return annotation hands a failure back instead of raising it
    (a Problem in a union, or a bare `str | None` of reasons)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding='utf-8'))):
        if isinstance(node, ast.AsyncFunctionDef) and not node.name.startswith('_') and node.returns:
            annotation = ast.unparse(node.returns)
            if 'Problem' in annotation or annotation.replace(' ', '') in {
                'str|None',
                'tuple[str|None,str|None]',
            }:
                found.append(f'{node.name} -> {annotation}')
    return found


def problems_shown_outside(pages: Path, shown_in: Path) -> list[str]:
    """Page modules that look inside a failure themselves (its AWS code, the AWS family) instead of leaving
    its words and its look to pages/problems.py."""
    found = []
    for path in sorted(pages.rglob('*.py')):
        if path == shown_in:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding='utf-8'))):
            if isinstance(node, ast.Name) and node.id == 'AwsProblem':
                found.append(f'{path.name}: AwsProblem')
            elif (
                isinstance(node, ast.Attribute)
                and node.attr == 'code'
                and ast.unparse(node.value)
                in {
                    'problem',
                    'result',
                    'error',
                }
            ):
                found.append(f'{path.name}: {ast.unparse(node)}')
    return found


def test_actions_raise_their_failures_instead_of_returning_them() -> None:
    assert failure_shapes_returned(ACTIONS) == []


def test_pages_show_failures_only_through_pages_problems() -> None:
    assert problems_shown_outside(ROOT / PACKAGE / 'pages', SHOWN_IN) == []


def test_a_returned_failure_and_a_page_reading_aws_codes_are_found(tmp_path: Path) -> None:
    actions = tmp_path / 'actions.py'
    actions.write_text(
        textwrap.dedent(
            """
            class Actions:
                async def package(self) -> str | None: ...
                async def logs(self) -> LogRead | AwsProblem: ...
                async def fine(self) -> LogRead: ...
                async def _inner(self) -> str | None: ...
            """
        )
    )
    assert failure_shapes_returned(actions) == ['package -> str | None', 'logs -> LogRead | AwsProblem']
    pages = tmp_path / 'pages'
    pages.mkdir()
    (pages / 'view.py').write_text('if isinstance(result, AwsProblem):\n    show(result.code)\n')
    (pages / 'problems.py').write_text('from x import AwsProblem\n')
    assert problems_shown_outside(pages, pages / 'problems.py') == [
        'view.py: AwsProblem',
        'view.py: result.code',
    ]
