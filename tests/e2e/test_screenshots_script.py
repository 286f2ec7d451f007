"""scripts/screenshots.sh runs: it writes every README picture as a 1280 px wide PNG (not its pixels)."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
PICTURES = [
    'sign-in.png',
    'training-jobs.png',
    'compilation-tab.png',
    'attempt-details.png',
    'components.png',
    'devices.png',
    'fleet-matrix.png',
    'operator-compilation-tab.png',
]


def test_the_script_writes_every_picture(tmp_path: Path) -> None:
    env = {**os.environ, 'DDA_PYTHON': sys.executable}
    env.pop('PYTEST_CURRENT_TEST', None)
    done = subprocess.run(
        ['bash', 'scripts/screenshots.sh', str(tmp_path)], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for name in PICTURES:
        data = (tmp_path / name).read_bytes()
        assert data[:8] == b'\x89PNG\r\n\x1a\n', name
        width, _ = struct.unpack('>II', data[16:24])
        assert width == 1280, name
