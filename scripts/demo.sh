#!/usr/bin/env bash
# Runs the portal in demo mode: AWS is emulated on 127.0.0.1, no account needed.
# Extra arguments go to main.py (e.g. --port 8090 or --host 0.0.0.0).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-venv.sh demo # moto and the Greengrass emulator: the `demo` extra
exec .venv/bin/python main.py --demo "$@"
