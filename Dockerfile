# The DDA Portal in one container: `python main.py` as an unprivileged user, its store on the /data volume.
#   docker build -t dda-portal .
#   docker run -p 127.0.0.1:8080:8080 -v dda-data:/data -e DDA_STORAGE_SECRET=… \
#     -e DDA_AUTH_HEADER=X-Forwarded-User -e DDA_TRUSTED_PROXIES=172.17.0.1 dda-portal
# (published on loopback only: the authenticating proxy in front of it runs on this host, strips any
# X-Forwarded-User a client sends, and reaches the container from the bridge's gateway; see README, Run as a
# container)
# Every third-party package comes from requirements.lock: exact versions, each file checked against its sha256.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# a fixed numeric id, so `runAsNonRoot` checks and volume ownership work without a passwd lookup
RUN groupadd --system --gid 10001 portal \
 && useradd --system --uid 10001 --gid portal --home-dir /home/portal --create-home --shell /usr/sbin/nologin portal

# dependencies first, in their own layer: it is rebuilt only when requirements.lock changes. The lock pins the
# portal's dependencies and its `demo` extra (so `--demo` works in the image); pip refuses any file whose hash
# is not in the lock and, with --no-deps, installs nothing the lock does not name
COPY requirements.lock /tmp/requirements.lock
RUN python -m pip install --no-cache-dir --require-hashes --no-deps -r /tmp/requirements.lock \
 && rm /tmp/requirements.lock

# the portal itself (no test extra), installed into site-packages with its data files and built by the locked
# setuptools (no build isolation: nothing is fetched here); pip check proves nothing is missing or of a version
# something else excludes
COPY pyproject.toml README.md /tmp/src/
COPY dda_portal /tmp/src/dda_portal
RUN python -m pip install --no-cache-dir --no-deps --no-build-isolation /tmp/src \
 && rm -rf /tmp/src \
 && python -m pip check

WORKDIR /app
COPY main.py /app/main.py

# the store and NiceGUI's session files live on the volume: /app/data is /data, so the default database URL
# (relative to /app, kept as it is so `--demo` still uses its own fresh data/demo.db) is /data/dda-portal.db
RUN mkdir -p /data && chown portal:portal /data && chmod 0750 /data && ln -s /data /app/data
ENV DDA_HOST=0.0.0.0 \
    DDA_PORT=8080 \
    DDA_DATABASE_URL=sqlite:///data/dda-portal.db \
    NICEGUI_STORAGE_PATH=/data/.nicegui
VOLUME /data

USER 10001:10001
EXPOSE 8080

# python:*-slim has no curl; urllib is enough, and a 200 with status ok is the only healthy answer
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import json, os, urllib.request as u; r = u.urlopen('http://127.0.0.1:' + os.environ.get('DDA_PORT', '8080') + '/healthz', timeout=4); raise SystemExit(json.load(r).get('status') != 'ok')"]

# exec form: python (uvicorn) is PID 1 and gets docker stop's SIGTERM itself, then shuts down gracefully
STOPSIGNAL SIGTERM
ENTRYPOINT ["python", "main.py"]
CMD []
