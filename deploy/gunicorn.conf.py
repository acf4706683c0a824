"""gunicorn settings for OCOP Trade Connect (docs/deploy.md).

    gunicorn -c deploy/gunicorn.conf.py            # serves wsgi:app

Every value can be changed from the environment, so one file serves every host:

    GUNICORN_BIND            address to listen on                      127.0.0.1:8000
    WEB_CONCURRENCY          worker processes                          2 x CPU cores + 1, at most 8
    GUNICORN_THREADS         threads per worker (> 1: gthread worker)  1
    GUNICORN_TIMEOUT         seconds before a silent worker is killed  60
    GUNICORN_MAX_REQUESTS    recycle a worker after this many requests 2000 (0: never)
    GUNICORN_LOG_LEVEL       info, warning...                          info
    GUNICORN_ACCESS_LOG      file, "-" for stdout, "" for none         -
    GUNICORN_CONTROL_SOCKET  gunicornc's control socket (unset: none)  none

Graceful reload after a deploy: `kill -HUP <master pid>` (systemd: `systemctl reload`). The
master starts new workers with the new code (preload_app is off, so they import it afresh) and lets
the old ones finish their requests within graceful_timeout. Schema migrations come first
(`flask db upgrade`), and must keep the running release working (add columns, never rename).
"""

from __future__ import annotations

import multiprocessing
import os


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


wsgi_app = "wsgi:app"
bind = [os.environ.get("GUNICORN_BIND") or "127.0.0.1:8000"]  # behind nginx; never 0.0.0.0 without it

# Workers: the classic 2 x cores + 1 for sync workers. Pages are CPU-bound Python (templates,
# search scoring), so more processes than that only queue on the CPUs. Each worker holds its own
# caches (search facets, the matching index built on its first /tim-nha-cung-cap request) and a
# login briefly needs 64 MiB for argon2: budget about 250 MiB of RAM per worker.
workers = _int("WEB_CONCURRENCY", min(2 * multiprocessing.cpu_count() + 1, 8))
# Threads help when requests wait on I/O (PostgreSQL on another host, SMTP, Stripe). The app is
# thread-safe (one SQLAlchemy session per thread, thread-local search readers). With threads,
# PostgreSQL connections per worker grow too: see the pool sizes in docs/deploy.md.
threads = _int("GUNICORN_THREADS", 1)
worker_class = "gthread" if threads > 1 else "sync"

# A sync worker silent for `timeout` seconds is killed. 60 s covers the slowest legitimate request
# (the matching index's first build on a busy machine, docs/load.md); nginx's proxy_read_timeout
# should be a little longer so that the user sees the app's answer rather than a proxy 504.
timeout = _int("GUNICORN_TIMEOUT", 60)
graceful_timeout = 30  # a reload or stop lets running requests finish for this long
keepalive = 5  # seconds; nginx keeps upstream connections open (keepalive in the upstream block)

# Recycle each worker after about max_requests requests (the jitter spreads the restarts), which
# bounds slow memory growth in per-process caches. This is safe because nothing the app must keep
# lives only in a worker: search index changes are rows in the search_outbox table, committed with
# the data, and any process's next drain applies them. That is also why Whoosh's AsyncWriter is not
# used: it keeps the changes it could not write yet in a background thread's memory, and a recycled,
# reloaded or timed-out worker would take them with it.
max_requests = _int("GUNICORN_MAX_REQUESTS", 2000)
max_requests_jitter = max_requests // 10

# Imported in each worker, not in the master: a HUP reload loads new code, and no database
# connection or open index file is ever shared across a fork.
preload_app = False

# The worker heartbeat file on tmpfs: a slow disk never makes the master think a worker hung.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108

# The client address and scheme come from the app (TRUSTED_PROXIES, werkzeug ProxyFix), which
# believes exactly that many X-Forwarded-For hops. gunicorn's own default (trust X-Forwarded-Proto
# from 127.0.0.1) agrees with it for an nginx on the same host.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
errorlog = "-"
# The proxy's X-Forwarded-For is in the access log too ("%(h)s" is nginx's address).
access_log_format = '%(h)s %({x-forwarded-for}i)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'
proc_name = "ocop-trade-connect"

# gunicorn >= 25 opens a control socket for `gunicornc` at one fixed path per user
# (~/.gunicorn/gunicorn.ctl): two instances on one host would take it from each other. Off unless
# a path is given; signals (HUP reload, TERM graceful stop, TTIN/TTOU workers) always work.
control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET") or None
control_socket_disable = control_socket is None
if control_socket is None:
    del control_socket


def post_worker_init(worker) -> None:
    """Each new worker builds the matching module's index in the background at once, so the first
    "Tìm nhà cung cấp" request it serves does not wait seconds for it (MATCH_WARM=0: off)."""
    if os.environ.get("MATCH_WARM", "1") == "0":
        return
    from marketplace.matching.retrieval import warm

    warm(worker.wsgi)
