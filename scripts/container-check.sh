#!/usr/bin/env bash
# Proves the Dockerfile builds and its image runs on this machine, with no container daemon and no base image
# to pull: buildah (vfs storage, chroot isolation) builds it on a stand-in for python:3.11-slim-bookworm made
# once with debootstrap, starts it with its own entrypoint in demo mode behind proxy sign-in, waits for
# /healthz, then stops it with SIGTERM as `docker stop` would. A few minutes (the first run longer); run as root.
set -euo pipefail
cd "$(dirname "$0")/.."

image=dda-portal:check
standin_for=python:3.11-slim-bookworm
cache=${DDA_CHECK_CACHE:-/var/tmp/dda-portal-container-check}
health_timeout=${DDA_CHECK_HEALTH_TIMEOUT:-120}
ready_timeout=60
stop_timeout=10
standin_recipe=1 # bump when the stand-in's recipe below changes, so cached ones are rebuilt
t0=$EPOCHREALTIME

since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }
log() { printf '[container-check %6ss] %s\n' "$(since "$t0")" "$*"; }
fail() {
  printf 'container check FAILED: %s\n' "$*" >&2
  exit 1
}
# GET a URL: prints the HTTP status, a space and the body (also for 4xx/5xx answers); non-zero when unreachable
http_get() {
  python3 - "$1" <<'EOF'
import sys, urllib.error, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1], timeout=3) as response:
        print(response.status, response.read().decode())
except urllib.error.HTTPError as error:
    print(error.code, error.read().decode())
except OSError:
    sys.exit(1)
EOF
}

[ "$(id -u)" = 0 ] || fail 'run as root: buildah builds and runs the image as root here'
[ "$(awk 'toupper($1) == "FROM" { print $2; exit }' Dockerfile)" = "$standin_for" ] ||
  fail "the Dockerfile no longer starts FROM $standin_for, the only base this check can stand in for"

missing=()
command -v buildah >/dev/null || missing+=(buildah)
command -v debootstrap >/dev/null || missing+=(debootstrap)
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

mkdir -p "$cache"
exec 9>"$cache/lock"
if ! flock -n 9; then
  log "waiting for another container check to finish ($cache/lock)"
  flock -w 1800 9 || fail "another container check still holds $cache/lock"
fi
# a storage of our own: whatever driver or images the host's default storage has never matters
export BUILDAH_ISOLATION=chroot STORAGE_DRIVER=vfs
bh() { buildah --root "$cache/storage" --runroot "$cache/run" --storage-driver vfs "$@"; }

# ---- the stand-in base image ---------------------------------------------------------------------------

# the host's Debian mirror for bookworm (deb822 or one-line sources); empty means debootstrap's default
host_mirror() {
  python3 - <<'EOF'
import glob, re
for path in sorted(glob.glob('/etc/apt/sources.list.d/*.sources')):
    for stanza in re.split(r'\n\s*\n', open(path).read()):
        fields = dict(re.findall(r'^([\w-]+):\s*(.*)$', stanza, re.M))
        if 'deb' in fields.get('Types', '').split() and 'bookworm' in fields.get('Suites', '').split():
            print(fields.get('URIs', '').split()[0]); raise SystemExit
for path in ['/etc/apt/sources.list', *sorted(glob.glob('/etc/apt/sources.list.d/*.list'))]:
    try:
        lines = open(path).read().splitlines()
    except OSError:
        continue
    for line in lines:
        words = re.sub(r'\[.*?\]', '', line.split('#')[0]).split()
        if len(words) >= 3 and words[0] == 'deb' and words[2] == 'bookworm':
            print(words[1]); raise SystemExit
EOF
}

rootfs_tar="$cache/standin-rootfs-$standin_recipe.tar"
if [ ! -f "$rootfs_tar" ]; then
  mirror=$(host_mirror || true)
  log "making the stand-in's root file system with debootstrap (once; a few minutes)${mirror:+ from $mirror}"
  rootfs="$cache/standin-rootfs.tmp"
  rm -rf "$rootfs"
  if ! debootstrap --variant=minbase --include=python3,python3-venv,python3-pip,passwd \
    bookworm "$rootfs" ${mirror:+"$mirror"} >"$cache/debootstrap.log" 2>&1; then
    tail -20 "$cache/debootstrap.log" >&2
    fail "debootstrap failed (full log: $cache/debootstrap.log)"
  fi
  # python:*-slim images have `python`; Debian's bookworm python3 is 3.11 like them
  ln -sf /usr/bin/python3 "$rootfs/usr/local/bin/python"
  # pip may install into the system Python, as it does in python:*-slim
  rm -f "$rootfs"/usr/lib/python3*/EXTERNALLY-MANAGED
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar --numeric-owner -C "$rootfs" -cf "$rootfs_tar.tmp" .
  mv "$rootfs_tar.tmp" "$rootfs_tar"
  rm -rf "$rootfs"
fi

# the host's CA bundle goes into the stand-in (pip must trust what this host trusts); a new bundle, a new image
ca_sum=$(sha256sum /etc/ssl/certs/ca-certificates.crt | cut -c1-16)
standin_label="standin-$standin_recipe-$ca_sum"
standin_stamp="$cache/standin-image.stamp"
if [ "$(cat "$standin_stamp" 2>/dev/null)" != "$standin_label" ] || ! bh inspect --type image "$standin_for" >/dev/null 2>&1; then
  log "building the stand-in image $standin_for from the cached root file system"
  context="$cache/standin-context"
  rm -rf "$context"
  mkdir -p "$context"
  ln "$rootfs_tar" "$context/rootfs.tar"
  cp /etc/ssl/certs/ca-certificates.crt "$context/ca-certificates.crt"
  printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n' >"$context/pip.conf"
  cat >"$context/Containerfile" <<EOF
FROM scratch
ADD rootfs.tar /
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY pip.conf /etc/pip.conf
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8
CMD ["python3"]
EOF
  bh build --quiet --format docker --pull=never -t "$standin_for" -t "docker.io/library/$standin_for" \
    -f "$context/Containerfile" "$context" >/dev/null
  rm -rf "$context"
  echo "$standin_label" >"$standin_stamp"
fi

# ---- the project's image --------------------------------------------------------------------------------

log "building $image with the Dockerfile (buildah, vfs, chroot isolation)"
build_t0=$EPOCHREALTIME
# no --layers: with vfs every cached step is a full copy of the tree, slower than redoing the whole build
if ! bh build --format docker --pull=never --network host -t "$image" -f Dockerfile . \
  >"$cache/build.log" 2>&1; then
  tail -40 "$cache/build.log" >&2
  fail "the image did not build (full log: $cache/build.log)"
fi
grep -E '^STEP [0-9]+' "$cache/build.log" | cut -c1-110 | sed 's/^/    /'
build_seconds=$(since "$build_t0")
log "built $image in ${build_seconds} s"
# the image of the previous run, now untagged, would pile up (vfs keeps full copies)
bh rmi --prune >/dev/null 2>&1 || true

config=$(bh inspect --type image "$image" | python3 -c 'import json, sys; print(json.dumps(json.load(sys.stdin)["Docker"]["config"]))')
python3 - "$config" <<'EOF' || fail 'the image config is not what the Dockerfile promises'
import json, sys
config = json.loads(sys.argv[1])
env = dict(item.split('=', 1) for item in config.get('Env') or [])
test = (config.get('Healthcheck') or {}).get('Test') or []
checks = {
    'HEALTHCHECK on /healthz': bool(test) and test[0] != 'NONE' and any('/healthz' in part for part in test),
    'non-root USER': (config.get('User') or 'root').split(':')[0] not in ('', '0', 'root'),
    'VOLUME /data': '/data' in (config.get('Volumes') or {}),
    'EXPOSE 8080': '8080/tcp' in (config.get('ExposedPorts') or {}),
    'ENTRYPOINT python main.py': config.get('Entrypoint') == ['python', 'main.py'],
    'STOPSIGNAL SIGTERM': config.get('StopSignal') in (None, '', 'SIGTERM', '15'),
    'DDA_HOST=0.0.0.0': env.get('DDA_HOST') == '0.0.0.0',
}
for name, ok in checks.items():
    print(f'    {"ok " if ok else "BAD"} {name}')
print(f'    user {config.get("User")}, volumes {sorted(config.get("Volumes") or {})}, '
      f'healthcheck every {(config.get("Healthcheck") or {}).get("Interval", 0) / 1e9:.0f} s')
sys.exit(0 if all(checks.values()) else 1)
EOF

# ---- run it -----------------------------------------------------------------------------------------------

ctr=""
runner=""
portal=""
# processes below a pid (buildah run starts the container's command a few levels down)
descendants() {
  local child
  for child in $(ps -o pid= --ppid "$1" 2>/dev/null); do
    echo "$child"
    descendants "$child"
  done
}
# on any failure: the whole tree under buildah run goes, or orphans would keep the port (and the lock)
cleanup() {
  if [ -n "$runner" ]; then
    # shellcheck disable=SC2046
    kill -KILL $(descendants "$runner") "$runner" 2>/dev/null || true
    wait "$runner" 2>/dev/null || true
  fi
  [ -z "$ctr" ] || bh rm "$ctr" >/dev/null 2>&1 || true
}
trap cleanup EXIT

ctr=$(bh from --pull=never --name "dda-portal-check-$$" "$image")
who=$(bh run "$ctr" -- id) || fail 'cannot run a command in the container'
log "the container runs as: $who"
# the container's start command exactly as the image says, with --demo (no AWS account here)
readarray -d '' start < <(python3 -c 'import json, sys; c = json.loads(sys.argv[1]); sys.stdout.write("".join(a + "\0" for a in (c.get("Entrypoint") or []) + (c.get("Cmd") or [])))' "$config")
start+=(--demo)
# chroot isolation shares the host's network: a free port of the host, instead of -p 8080:8080
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
secret=$(python3 -c 'import secrets; print(secrets.token_urlsafe(24))')
# chroot isolation: the check's own requests come from 127.0.0.1, the proxy's address as the portal sees it
log "starting: ${start[*]} (DDA_PORT=$port, DDA_AUTH_HEADER=X-Forwarded-User, DDA_TRUSTED_PROXIES=127.0.0.1, a random DDA_STORAGE_SECRET)"
run_t0=$EPOCHREALTIME
# buildah reports a command killed by a signal only as status 1: a shell around it tells the real status
bh run --env DDA_PORT="$port" --env DDA_AUTH_HEADER=X-Forwarded-User --env DDA_TRUSTED_PROXIES=127.0.0.1 \
  --env DDA_STORAGE_SECRET="$secret" \
  "$ctr" -- sh -c '"$@"; echo "portal exit status $?"' sh "${start[@]}" >"$cache/run.log" 2>&1 9>&- &
runner=$!

show_output() {
  echo '---- container output ----' >&2
  tail -60 "$cache/run.log" >&2
  echo '--------------------------' >&2
}

healthy=""
while [ "$(since "$run_t0" | cut -d. -f1)" -lt "$health_timeout" ]; do
  if ! kill -0 "$runner" 2>/dev/null; then
    show_output
    fail "the container exited before /healthz answered"
  fi
  if answer=$(http_get "http://127.0.0.1:$port/healthz") && [ "$answer" = '200 {"status":"ok"}' ]; then
    healthy=$(since "$run_t0")
    break
  fi
  sleep 1
done
if [ -z "$healthy" ]; then
  show_output
  fail "/healthz did not answer {\"status\":\"ok\"} within $health_timeout s"
fi
log "/healthz answered {\"status\":\"ok\"} after $healthy s"

# the process whose arguments are the start command (buildah and the shell above it only mention them)
for pid in $(descendants "$runner"); do
  readarray -d '' argv <"/proc/$pid/cmdline" 2>/dev/null || continue
  if [ ${#argv[@]} -eq ${#start[@]} ] && [ "${argv[0]##*/}" = "${start[0]##*/}" ] &&
    [ "${argv[*]:1}" = "${start[*]:1}" ]; then
    portal=$pid
    break
  fi
done
[ -n "$portal" ] || fail 'cannot find the portal process under buildah run'
uid=$(awk '/^Uid:/ { print $2 }' "/proc/$portal/status")
log "portal process $portal: $(tr '\0' ' ' <"/proc/$portal/cmdline")(uid $uid)"
[ "$uid" != 0 ] || fail 'the portal runs as root'

ready=""
ready_t0=$EPOCHREALTIME
while [ "$(since "$ready_t0" | cut -d. -f1)" -lt "$ready_timeout" ]; do
  ready=$(http_get "http://127.0.0.1:$port/readyz" || true)
  case "$ready" in 200\ *) break ;; esac
  sleep 2
done
log "/readyz: $ready"
case "$ready" in
  200\ *) ;;
  *)
    show_output
    fail "/readyz did not answer 200 within $ready_timeout s"
    ;;
esac
answer=$(http_get "http://127.0.0.1:$port/") || true
log "GET / without the proxy header: HTTP ${answer%% *}"
# the image's own HEALTHCHECK command, run inside the container as docker would
readarray -d '' probe < <(python3 -c 'import json, sys; t = json.loads(sys.argv[1])["Healthcheck"]["Test"]; sys.stdout.write("".join(a + "\0" for a in (t[1:] if t[0] == "CMD" else ["sh", "-c", t[1]])))' "$config")
bh run --env DDA_PORT="$port" "$ctr" -- "${probe[@]}" || fail "the image's HEALTHCHECK command failed"
log "the image's HEALTHCHECK command: healthy"
log "/data in the container:"
bh run "$ctr" -- sh -c 'ls -ln /data | tail -n +2' | sed 's/^/    /' || true

log 'stopping the portal with SIGTERM (as docker stop does)'
stop_t0=$EPOCHREALTIME
kill -TERM "$portal"
while kill -0 "$runner" 2>/dev/null && [ "$(since "$stop_t0" | cut -d. -f1)" -lt "$stop_timeout" ]; do
  sleep 0.1
done
if kill -0 "$runner" 2>/dev/null; then
  show_output
  fail "the container was still running $stop_timeout s after SIGTERM"
fi
stop_seconds=$(since "$stop_t0")
wait "$runner" || fail "buildah run failed: $(tail -3 "$cache/run.log")"
runner=""
status=$(sed -n 's/^portal exit status //p' "$cache/run.log")
# uvicorn finishes its shutdown, then re-raises SIGTERM: 143 (128 + 15) is a clean stop, like 0
case "$status" in 0 | 143) ;; *)
  show_output
  fail "the container exited with status $status after SIGTERM"
  ;;
esac
if grep -q 'Traceback' "$cache/run.log"; then
  show_output
  fail 'the container logged a traceback'
fi
log "exited with status $status, $stop_seconds s after SIGTERM; last lines:"
tail -3 "$cache/run.log" | sed 's/^/    /'

bh rm "$ctr" >/dev/null
ctr=""
echo "container check passed: image $image (built in $build_seconds s), /healthz ok in $healthy s, clean stop in $stop_seconds s, total $(since "$t0") s"
