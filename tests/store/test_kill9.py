"""kill -9 at 20 random moments while the real Store writes (bench/kill9.py): the file stays intact, no
attempt row is lost or changed, every commit the writer saw return is there, and neither guard is broken."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def kill9() -> ModuleType:
    spec = importlib.util.spec_from_file_location('bench_kill9', ROOT / 'bench' / 'kill9.py')
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks itself up there
    spec.loader.exec_module(module)
    return module


def test_nothing_committed_is_lost_when_the_writer_is_killed(tmp_path: Path) -> None:
    bench = kill9()
    results = bench.run(tmp_path / 'portal.db', rounds=20, seed=20261130, max_delay=0.3)
    print(bench.table(results))
    assert [r for r in results if not r.ok] == []
    # the kills landed while it wrote: commits were reported and history grew across the rounds
    assert sum(r.acknowledged for r in results) > 0
    assert results[-1].after > 0 and sum(r.before for r in results) > 0
