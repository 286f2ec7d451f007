#!/usr/bin/env bash
# Runs every check and the whole test suite (unit, AWS, pages, end-to-end in headless Chromium); the store's
# and the services' tests run on SQLite and on a throwaway PostgreSQL cluster (tests/backends.py).
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
# axe-core (package.json, package-lock.json) for the accessibility checks in Chromium, from Debian's npm
if ! command -v npm >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    echo "Installing Debian's nodejs and npm for the accessibility checks…"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
  else
    echo "The accessibility checks need Debian's npm: sudo apt-get install -y nodejs npm" >&2
    exit 1
  fi
fi
# npm ci only when node_modules is missing or older than the lock file
if [ ! -f node_modules/axe-core/axe.min.js ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
# Debian's PostgreSQL server (initdb, pg_ctl); the tests start their own cluster, the package's is not used
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1 &&
  [ -z "${DDA_TEST_POSTGRES_BIN:-}" ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "Installing Debian's postgresql for the store's tests…"
    # only the binaries: no cluster of the package's own, started as a service
    mkdir -p /etc/postgresql-common/createcluster.d
    echo 'create_main_cluster = false' >/etc/postgresql-common/createcluster.d/no-main-cluster.conf
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  else
    echo "The store's tests need Debian's PostgreSQL server: sudo apt-get install -y postgresql" >&2
    exit 1
  fi
fi
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy dda_portal main.py
# one process more than the machine has cores (the tests mostly wait on portals, Chromium and the AWS
# emulators), at most 8; DDA_TEST_WORKERS=0 runs everything in this process
workers=${DDA_TEST_WORKERS:-$(($(nproc) + 1 > 8 ? 8 : $(nproc) + 1))}
# pytest exits non-zero (5) when it collects no tests, so an empty run can never pass (with workers too)
exec .venv/bin/python -m pytest -n "$workers" "$@"
