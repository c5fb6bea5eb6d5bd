"""gunicorn settings for the IOC web app: `gunicorn app:server` (this file is read from the working directory).

Production shape (see README.md, "Deployment"): gunicorn on 127.0.0.1 behind a reverse proxy
(TLS, compression of Dash's bundles, request buffering), PostgreSQL (IOC_DATABASE_URL), Redis for
the loader cache shared by the workers (IOC_REDIS_URL), the collector as its own process
(`python app.py collect`). `python app.py serve` stays the single-process development server.

Every value can be overridden on the command line (`gunicorn -w 3 app:server`) or with
GUNICORN_CMD_ARGS; the worker count also with WEB_CONCURRENCY.
"""
from __future__ import annotations

import os

from config.settings import load_settings

_settings = load_settings()   # IOC_* variables and IOC_CONFIG, exactly as the app reads them

# Where to listen: the app's own host/port settings (127.0.0.1:8050 by default): the reverse proxy
# is the only client, so nothing listens on a public interface.
bind = f"{_settings.host}:{_settings.port}"

# Workers are processes: a callback is CPU work in pandas/plotly under the GIL, so parallelism comes
# from processes. 2 x cores + 1 is the usual rule; the cap keeps memory bounded (each worker holds its
# own app, map geometry and connection pool: ~250 MB) on machines with many cores.
workers = int(os.environ.get("WEB_CONCURRENCY") or min(2 * (os.cpu_count() or 1) + 1, 8))

# A few threads per worker let one worker overlap requests that wait on PostgreSQL, Redis or a slow
# client (a streamed CSV export holds its thread until the client has read everything).
worker_class = "gthread"
threads = 4

# With gthread the worker's heartbeat runs beside its requests, so `timeout` only kills a worker whose
# main loop is stuck; it does not cut long CSV downloads. 120 s still stops a wedged worker quickly.
timeout = 120
# On SIGTERM/SIGHUP (deploys, `systemctl reload`), in-flight requests get this long to finish.
graceful_timeout = 30
# The reverse proxy keeps connections open to us; a short keep-alive frees threads soon after.
keepalive = 5

# Restart a worker after this many requests (+ jitter, so they do not all restart together): bounds
# the growth of anything a long-lived process accumulates (caches, fragmentation).
max_requests = 2000
max_requests_jitter = 200

# The app is built once, in the master, before the workers fork (app.py `server`): migrations, the
# registry's units and the map geometry happen once, the workers start in well under a second and
# share the imported code and the app's read-only structures copy-on-write. The master empties its
# connection pool before forking and each worker drops anything inherited (post_worker_init), so no
# database connection is shared across processes; the Redis client reconnects per process by itself.
# Code changes need a restart of the master (a HUP re-forks workers from the preloaded app).
preload_app = True

# The heartbeat file lives in memory (containers often mount /tmp on a slow overlay disk).
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None

# Trust X-Forwarded-* only from a proxy on this host.
forwarded_allow_ips = "127.0.0.1"

# No runtime control socket (gunicorn >= 25.1): systemd and signals manage the process, and one fixed
# socket path would be shared by every gunicorn on the host.
control_socket_disable = True

accesslog = "-"
errorlog = "-"
loglevel = "info"
# %(M)s = request time in milliseconds: the access log doubles as a latency record.
access_log_format = '%(h)s "%(r)s" %(s)s %(B)s %(M)sms "%(a)s"'


def on_starting(server) -> None:
    """Without preload_app: migrate the store and build the map geometry once, before any worker.

    With preload_app (the default here) the master has already done both while building the app.
    """
    if server.cfg.preload_app:
        return
    import app as ioc

    engine = ioc.open_store(_settings)
    try:
        ioc.build_map_geometry(_settings)
    finally:
        engine.dispose()  # the master keeps no connection across fork
    server.log.info("store migrated and map geometry ready; starting %s worker(s)", server.cfg.workers)


def post_worker_init(worker) -> None:
    """In each worker, once its app is loaded: fresh connections, and the cache warmer's thread (dashboards.warm).

    Threads do not survive a fork, so the warmer starts here, per worker: it warms the default views at
    once and again after every collection run it sees (the collector is its own process).
    """
    import logging

    import app as ioc

    for name in ("ioc", "dashboards"):   # the app's own log lines (cache warmer, cache outages) join gunicorn's error log
        logger = logging.getLogger(name)
        logger.setLevel(logging.INFO)
        logger.handlers = list(logging.getLogger("gunicorn.error").handlers)
        logger.propagate = False
    ioc.worker_started()
