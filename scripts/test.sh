#!/usr/bin/env bash
# Runs every check and the whole test suite (unit, AWS, pages, end-to-end in headless Chromium).
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-venv.sh test # the test extra includes the demo extra (the tests run moto)
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    echo "Installing Debian's chromium for the end-to-end tests…"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "The end-to-end tests need Debian's chromium: sudo apt-get install -y chromium" >&2
    exit 1
  fi
fi
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy dda_portal main.py
# pytest exits non-zero (5) when it collects no tests, so an empty run can never pass
exec .venv/bin/python -m pytest "$@"
