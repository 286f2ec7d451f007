"""The README's pipeline example is the file the end-to-end test runs (it cannot drift from it)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_readmes_wait_example_is_the_tested_file() -> None:
    readme = (ROOT / 'README.md').read_text(encoding='utf-8')
    start = readme.index('<!-- examples/wait_for_compilation.py -->\n```python\n')
    block = readme[start:].split('```python\n', 1)[1].split('```\n', 1)[0]
    assert block == (ROOT / 'examples' / 'wait_for_compilation.py').read_text(encoding='utf-8')
