"""Every CSS class the pages use is defined by a stylesheet the page loads: Quasar's, NiceGUI's or the
portal's own `pages/utilities.css` (the portal runs without Tailwind's in-browser compiler, so a Tailwind
class nobody defined would silently do nothing)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nicegui

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / 'dda_portal'
STATIC = Path(nicegui.__file__).parent / 'static'
STYLESHEETS = [
    STATIC / 'quasar.unimportant.prod.css',
    STATIC / 'quasar.important.prod.css',
    STATIC / 'nicegui.css',
    PACKAGE / 'pages' / 'utilities.css',
]
# classes that style nothing on purpose: hooks that tests and scripts find rows by
MARKERS = {'row-changed'}
CLASS_ATTRIBUTE = re.compile(r'(?<![:\w-])class="([^"]*)"')


def defined_classes() -> set[str]:
    names: set[str] = set()
    for sheet in STYLESHEETS:
        names |= set(re.findall(r'\.(-?[_a-zA-Z][\w-]*)', sheet.read_text(encoding='utf-8')))
    return names


def literal_parts(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.JoinedStr):
        parts = [part.value for part in node.values if isinstance(part, ast.Constant)]
        return [part for part in parts if isinstance(part, str)]
    return []


def used_classes() -> dict[str, set[str]]:
    """Class names by the file that uses them: `.classes(...)` arguments, `classes=` keywords, constants named
    `*_CLASSES`, and `class="…"` inside any string (Vue templates, HTML)."""
    used: dict[str, set[str]] = {}
    for path in PACKAGE.rglob('*.py'):
        if 'demo' in path.relative_to(PACKAGE).parts:
            continue
        tree = ast.parse(path.read_text(encoding='utf-8'))
        texts: list[str] = []
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                if isinstance(node.func, ast.Attribute) and node.func.attr == 'classes':
                    for argument in [*node.args, *(k.value for k in node.keywords)]:
                        texts += literal_parts(argument)
                texts += [t for k in node.keywords if k.arg == 'classes' for t in literal_parts(k.value)]
            elif isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id.endswith('_CLASSES') for t in node.targets
            ):
                texts += literal_parts(node.value)
            for text in literal_parts(node) if isinstance(node, ast.Constant) else []:
                texts += CLASS_ATTRIBUTE.findall(text)
        names = {word for text in texts for word in text.split() if not set(word) & set('{}$')}
        if names:
            used[str(path.relative_to(ROOT))] = names
    return used


def test_the_scan_finds_the_classes_pages_use() -> None:
    used = used_classes()
    everything = set().union(*used.values())
    # one of each kind: a .classes() call, a Vue template's class attribute, a *_CLASSES constant
    assert {'max-w-screen-xl', 'whitespace-nowrap', 'row-changed'} <= everything, sorted(everything)


def test_every_class_a_page_uses_is_defined() -> None:
    defined = defined_classes() | MARKERS
    missing = {path: sorted(names - defined) for path, names in used_classes().items() if names - defined}
    assert not missing, f'classes no stylesheet defines (add them to pages/utilities.css): {missing}'


LIGHT_BACKGROUND = re.compile(r'^bg-[a-z]+(?:-[a-z]+)*-[1-4]$')


def test_every_light_background_a_page_uses_has_a_dark_mode_colour() -> None:
    """Quasar's `bg-<colour>-1` … `-4` are pale: in dark mode the page's light text on them is unreadable (a
    live-changed row of the list, `bg-yellow-2`, once read 1.07:1). Each one the pages use is darkened in
    `pages/utilities.css`'s dark-mode layer."""
    sheet = (PACKAGE / 'pages' / 'utilities.css').read_text(encoding='utf-8')
    darkened = set(re.findall(r'body\.body--dark [^{]*?\.(bg-[\w-]+)', sheet))
    used = {name for names in used_classes().values() for name in names if LIGHT_BACKGROUND.match(name)}
    assert 'bg-yellow-2' in used, sorted(used)
    assert used <= darkened, f'light backgrounds without a dark-mode colour: {sorted(used - darkened)}'
