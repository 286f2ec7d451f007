#!/usr/bin/env bash
# Writes the README's pictures (docs/*.png, or the directory given) from the demo in headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${DDA_PYTHON:-.venv/bin/python}"
if ! "$PY" scripts/screenshots.py "$@"; then
  echo "screenshots.sh: a picture could not be made (see the message above)" >&2
  exit 1
fi
