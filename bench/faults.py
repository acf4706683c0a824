"""Fault injection against real gunicorn servers (issue 11 part 6; docs/faults.md).

    .venv/bin/python bench/faults.py [--only a,b,f] [--products 200] [--writes 200] [--keep]

Each fault runs against a scratch data dir (demo data, seed-demo) and gunicorn on 127.0.0.1, and
prints a verdict table at the end (exit 1 when a verdict is FAIL):

  a  kill -9 of the gunicorn worker handling a write: the inquiry form (inquiry + thread + message
     + notification rows in one transaction) is held open by a delay hook (FAULT_DELAY_MS, set
     only here), the worker is killed, then: no new rows, integrity_check ok, and the retried
     form succeeds.
  b  PostgreSQL restarted under load (a scratch database h_faults on the local server): a thread
     pool sends reads and writes while `pg_ctlcluster 15 main restart` runs once; verdict: no 5xx
     later than 5 s after the server accepts connections again (pool_pre_ping). The local server
     is shared, so the restart happens once per run, and only when --only includes b.
  f  gunicorn with 4 workers on SQLite, N concurrent writes (threads each posting the inquiry
     form): every answer is a redirect (success), no 5xx, no "database is locked" in the log,
     as many new inquiries as successes. Run with BEGIN IMMEDIATE (the default) and without it
     (SQLITE_BEGIN_IMMEDIATE=False) for comparison.

Faults c, d and e are pytest tests (tests/faults/). Loopback addresses only, time-bounded.

The WSGI target is this module's `fault_app()` factory: the marketplace with CSRF and rate limits
off (a script posts the forms) and, when FAULT_DELAY_MS is set, a pause after the first flush of
each inquiry form (rows written, not committed) that writes the worker's pid to FAULT_PID_FILE.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from bench._gunicorn import Gunicorn  # noqa: E402 (needs ROOT on sys.path)

BUYER = "buyer@demo.ocop.vn"
PASSWORD = "ocop-demo-2026"  # noqa: S105 (the published demo password)
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/h_faults"
WRITE_TABLES = ("inquiries", "threads", "messages", "notifications")
SECRET = "fault-bench-secret-key-0123456789abcdef"  # noqa: S105


# -- the WSGI target --------------------------------------------------------------------------------


def fault_app():
    """gunicorn 'bench.faults:fault_app()'."""
    from flask import g, has_request_context, request
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    from marketplace import create_app

    overrides = {
        "RATELIMIT_ENABLED": False,
        "WTF_CSRF_ENABLED": False,
        "INQUIRY_DAILY_LIMIT": 10**6,
        "SQLITE_BEGIN_IMMEDIATE": os.environ.get("SQLITE_BEGIN_IMMEDIATE", "1") not in ("0", "false", "False"),
    }
    app = create_app(None, overrides)
    delay = int(os.environ.get("FAULT_DELAY_MS") or 0)
    pid_file = os.environ.get("FAULT_PID_FILE")
    if delay:

        @event.listens_for(Session, "after_flush")
        def _pause(_session, _ctx) -> None:
            if not has_request_context() or request.path != "/inquiries/new" or g.get("fault_paused"):
                return
            g.fault_paused = True
            if pid_file:
                Path(pid_file).write_text(str(os.getpid()))
            time.sleep(delay / 1000)

    return app


# -- helpers ----------------------------------------------------------------------------------------


def app_env(data_dir: Path, database_url: str | None = None, **extra: str) -> dict[str, str]:
    env = {**os.environ, "MARKETPLACE_DATA_DIR": str(data_dir), "SECRET_KEY": SECRET, "MARKETPLACE_ENV": "development"}
    env.pop("DATABASE_URL", None)
    if database_url:
        env["DATABASE_URL"] = database_url
    env.update(extra)
    return env


PREPARE = """
import sys
import sqlalchemy as sa
from marketplace import create_app
from marketplace.extensions import db
app = create_app(None, {"RATELIMIT_ENABLED": False})
with app.app_context():
    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as conn:
            conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS unaccent"))
            conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    db.create_all()
result = app.test_cli_runner().invoke(args=["seed-demo", "--products", sys.argv[1]])
print(result.output[-400:])
sys.exit(result.exit_code)
"""


def prepare(data_dir: Path, products: int, database_url: str | None = None) -> None:
    """Schema (create_all: a scratch database) and the demo data."""
    data_dir.mkdir(parents=True, exist_ok=True)
    subprocess.run(  # noqa: S603
        [str(BIN / "python"), "-c", PREPARE, str(products)],
        cwd=ROOT,
        env=app_env(data_dir, database_url),
        check=True,
        stdout=subprocess.DEVNULL,
        timeout=600,
    )


def serve(data_dir: Path, workers: int, log: Path, database_url: str | None = None, **env: str) -> Gunicorn:
    """gunicorn serving fault_app() on a loopback port, answering when this returns."""
    server = Gunicorn(
        "bench.faults:fault_app()",
        app_env(data_dir, database_url, **env),
        log,
        workers=workers,
        options=("--graceful-timeout", "5"),
    )
    server.wait(timeout=120)
    return server


class Client:
    """A logged-in browser: a cookie jar, no redirects followed (a 302 is the success answer)."""

    class _NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    def __init__(self, base: str):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), self._NoRedirect)

    def request(self, path: str, data: dict | None = None, timeout: float = 60) -> tuple[int, str]:
        body = urllib.parse.urlencode(data, doseq=True).encode() if data is not None else None
        try:
            with self.opener.open(self.base + path, data=body, timeout=timeout) as response:
                return response.status, response.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode("utf-8", "replace")

    def login(self, email: str = BUYER, password: str = PASSWORD) -> None:
        status, _ = self.request("/login", {"email": email, "password": password})
        if status != 302:
            raise RuntimeError(f"login as {email} answered {status}")


def inquiry_form(n: int = 0) -> dict:
    return {
        "quantity": str(100 + n),
        "unit": "hộp",
        "needed_by": (date.today() + timedelta(days=30)).isoformat(),
        "delivery_district": "Hoàn Kiếm",
        "message": f"Xin báo giá (kiểm thử sự cố {n}).",
    }


def managed_product_ref(read_sql) -> str:
    rows = read_sql(
        "SELECT p.ref FROM products p JOIN producer_managers m ON m.producer_id = p.producer_id "
        "WHERE p.status = 'published' AND p.hidden = false ORDER BY p.id LIMIT 1"
    )
    if not rows:
        raise RuntimeError("no published product of a managed producer in the demo data")
    return rows[0][0]


def sqlite_reader(data_dir: Path):
    def read(sql: str) -> list[tuple]:
        with sqlite3.connect(data_dir / "marketplace.db", timeout=30) as conn:
            return conn.execute(sql).fetchall()

    return read


def counts(read_sql) -> dict[str, int]:
    return {t: read_sql(f"SELECT count(*) FROM {t}")[0][0] for t in WRITE_TABLES}  # noqa: S608 (constants)


def log_mentions(log: Path, text: str) -> int:
    try:
        return log.read_text(encoding="utf-8", errors="replace").count(text)
    except OSError:
        return 0


# -- fault a ----------------------------------------------------------------------------------------


def fault_a(work: Path, products: int) -> tuple[str, str]:
    data = work / "a"
    prepare(data, products)
    read = sqlite_reader(data)
    ref = managed_product_ref(read)
    pid_file = data / "fault.pid"
    server = serve(data, 2, work / "a-gunicorn.log", FAULT_DELAY_MS="4000", FAULT_PID_FILE=str(pid_file))
    try:
        client = Client(server.url)
        client.login()
        before = counts(read)
        outcome: dict[str, object] = {}

        def post() -> None:
            try:
                outcome["status"] = client.request(f"/inquiries/new?product={urllib.parse.quote(ref)}", inquiry_form())[
                    0
                ]
            except Exception as error:  # noqa: BLE001 - the connection dies with the worker
                outcome["error"] = type(error).__name__

        thread = threading.Thread(target=post)
        thread.start()
        deadline = time.monotonic() + 30
        while not pid_file.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        if not pid_file.exists():
            return "FAIL", "the delayed request never reached its flush"
        pid = int(pid_file.read_text())
        workers = server.workers()
        if pid not in workers:
            return "FAIL", f"pid {pid} is not a worker of the master ({workers})"
        mid = counts(read)  # the flushed rows are not visible (uncommitted)
        os.kill(pid, signal.SIGKILL)
        thread.join(30)
        pid_file.unlink(missing_ok=True)
        after = counts(read)
        integrity = read("PRAGMA integrity_check")[0][0]
        time.sleep(1)  # the master starts a new worker
        status, _ = client.request(f"/inquiries/new?product={urllib.parse.quote(ref)}", inquiry_form(1))
        retried = counts(read)
    finally:
        server.stop()
    ok = (
        "status" not in outcome
        and mid == before
        and after == before
        and integrity == "ok"
        and status == 302
        and retried["inquiries"] == before["inquiries"] + 1
        and retried["threads"] == before["threads"] + 1
    )
    detail = (
        f"killed worker {pid} during the 4 s pause after the flush; client saw {outcome}; rows "
        f"{_diff(before, after)} after the kill; integrity_check {integrity}; retry -> {status}, rows "
        f"{_diff(before, retried)}"
    )
    return ("PASS" if ok else "FAIL"), detail


def _diff(before: dict[str, int], after: dict[str, int]) -> str:
    return ", ".join(f"{t} {after[t] - before[t]:+d}" for t in WRITE_TABLES)


# -- fault b ----------------------------------------------------------------------------------------


def pg_accepts() -> bool:
    import psycopg

    try:
        with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=h_faults", connect_timeout=1) as conn:
            conn.execute("SELECT 1")
        return True
    except psycopg.Error:
        return False


def pg_admin(sql: str) -> None:
    import psycopg

    with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=postgres", autocommit=True) as conn:
        conn.execute(sql)


def fault_b(work: Path, products: int, after: float = 15.0, restart_at: float = 8.0) -> tuple[str, str]:
    """Load from the start until `after` seconds past the moment PostgreSQL accepts connections again."""
    data = work / "b"
    pg_admin("DROP DATABASE IF EXISTS h_faults")
    pg_admin("CREATE DATABASE h_faults")
    server = None
    try:
        prepare(data, products, PG_URL)

        def read(sql: str) -> list[tuple]:
            import psycopg

            with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=h_faults") as conn:
                return conn.execute(sql).fetchall()

        ref = managed_product_ref(read)
        product_refs = [r for (r,) in read("SELECT ref FROM products WHERE status='published' LIMIT 40")]
        server = serve(data, 2, work / "b-gunicorn.log", PG_URL)
        clients = [Client(server.url) for _ in range(2)]
        for c in clients:
            c.login()
        events: list[tuple[float, str, int]] = []  # (time, kind, status; 0 = no answer)
        lock = threading.Lock()
        start = time.monotonic()
        stop = threading.Event()

        def worker(i: int) -> None:
            n = 0
            while not stop.is_set():
                n += 1
                writer = i % 4 == 0
                try:
                    if writer:
                        status, _ = clients[i % 2].request(
                            f"/inquiries/new?product={urllib.parse.quote(ref)}", inquiry_form(n), timeout=20
                        )
                    else:
                        path = f"/san-pham/{urllib.parse.quote(product_refs[(i + n) % len(product_refs)])}"
                        status, _ = clients[i % 2].request(path, timeout=20)
                except Exception:  # noqa: BLE001
                    status = 0
                with lock:
                    events.append((time.monotonic() - start, "write" if writer else "read", status))
                time.sleep(0.05)

        pool = ThreadPoolExecutor(8)
        futures = [pool.submit(worker, i) for i in range(8)]
        time.sleep(restart_at)
        t_restart = time.monotonic() - start
        restart = subprocess.run(  # noqa: S603
            ["pg_ctlcluster", "15", "main", "restart"],  # noqa: S607
            capture_output=True,
            text=True,
            timeout=120,
        )
        t_cmd_done = time.monotonic() - start
        deadline = time.monotonic() + 120
        while not pg_accepts() and time.monotonic() < deadline:
            time.sleep(0.1)
        t_back = time.monotonic() - start
        time.sleep(after)
        stop.set()
        for f in futures:
            f.result(timeout=60)
        pool.shutdown()
    finally:
        if server is not None:
            server.stop()
        try:
            pg_admin("DROP DATABASE IF EXISTS h_faults WITH (FORCE)")
        except Exception:  # noqa: BLE001, S110 - best effort
            pass
    late = [e for e in events if e[0] > t_back + 5 and (e[2] >= 500 or e[2] == 0)]
    by_second = Counter(int(t) for t, _, s in events if s >= 500 or s == 0)
    statuses = Counter(s for _, _, s in events)
    last_bad = max((t for t, _, s in events if s >= 500 or s == 0), default=None)
    after_back = [e for e in events if e[0] > t_back + 5]
    ok = restart.returncode == 0 and not late and len(after_back) >= 20
    detail = (
        f"{len(events)} requests; restart at {t_restart:.1f}s (command done {t_cmd_done:.1f}s, "
        f"accepting {t_back:.1f}s); statuses {dict(sorted(statuses.items()))}; 5xx/no answer per second "
        f"{dict(sorted(by_second.items()))}; last at "
        f"{'-' if last_bad is None else f'{last_bad:.1f}s'}; after back+5s: {len(after_back)} requests, "
        f"{len(late)} 5xx" + ("" if restart.returncode == 0 else f"; restart failed: {restart.stderr.strip()[:200]}")
    )
    return ("PASS" if ok else "FAIL"), detail


# -- fault f ----------------------------------------------------------------------------------------


def fault_f(work: Path, products: int, writes: int, immediate: bool) -> tuple[str, str]:
    name = "f" if immediate else "f-deferred"
    data = work / name
    if not (data / "marketplace.db").exists():
        prepare(data, products)
    read = sqlite_reader(data)
    ref = managed_product_ref(read)
    log = work / f"{name}-gunicorn.log"
    server = serve(data, 4, log, SQLITE_BEGIN_IMMEDIATE="1" if immediate else "0")
    try:
        client = Client(server.url)
        client.login()
        before = counts(read)
        barrier = threading.Barrier(writes)

        def post(i: int) -> int:
            try:
                barrier.wait(timeout=60)
                return client.request(
                    f"/inquiries/new?product={urllib.parse.quote(ref)}", inquiry_form(i), timeout=120
                )[0]
            except Exception:  # noqa: BLE001
                return 0

        started = time.monotonic()
        with ThreadPoolExecutor(writes) as pool:
            statuses = list(pool.map(post, range(writes)))
        elapsed = time.monotonic() - started
        after = counts(read)
    finally:
        server.stop()
    tally = Counter(statuses)
    locked = log_mentions(log, "database is locked")
    new = after["inquiries"] - before["inquiries"]
    ok = tally.get(302, 0) == writes and locked == 0 and new == writes
    detail = (
        f"{'BEGIN IMMEDIATE' if immediate else 'deferred (pysqlite)'}: {writes} concurrent posts on 4 workers in "
        f"{elapsed:.1f}s; answers {dict(sorted(tally.items()))}; 'database is locked' in log: {locked}; "
        f"new inquiries {new}"
    )
    return ("PASS" if ok else "FAIL"), detail


# -- main -------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="a,f", help="faults to run: a, b, f (b restarts the shared PostgreSQL)")
    parser.add_argument("--products", type=int, default=200, help="demo products in each scratch database")
    parser.add_argument("--writes", type=int, default=200, help="concurrent writes in fault f")
    parser.add_argument("--no-compare", action="store_true", help="fault f: skip the run without BEGIN IMMEDIATE")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder (logs, databases)")
    args = parser.parse_args()
    chosen = {x.strip() for x in args.only.split(",") if x.strip()}
    work = Path(tempfile.mkdtemp(prefix="ocop-faults-"))
    print(f"scratch folder: {work}", flush=True)
    rows: list[tuple[str, str, str]] = []

    def run(label: str, fn, *fn_args) -> None:
        print(f"running {label}…", flush=True)
        started = time.monotonic()
        try:
            verdict, detail = fn(*fn_args)
        except Exception as error:  # noqa: BLE001 - a crashed fault is a FAIL with its reason
            verdict, detail = "FAIL", f"{type(error).__name__}: {error}"
        rows.append((label, verdict, f"{detail} [{time.monotonic() - started:.0f}s]"))
        print(f"  {verdict}: {rows[-1][2]}", flush=True)

    try:
        if "a" in chosen:
            run("a kill -9 worker mid-write", fault_a, work, args.products)
        if "b" in chosen:
            run("b PostgreSQL restart under load", fault_b, work, args.products)
        if "f" in chosen:
            run(f"f {args.writes} concurrent writes, SQLite", fault_f, work, args.products, args.writes, True)
            if not args.no_compare:
                run("f' same, without BEGIN IMMEDIATE", fault_f, work, args.products, args.writes, False)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print()
    width = max(len(r[0]) for r in rows) if rows else 10
    print(f"{'fault':<{width}}  verdict  detail")
    for label, verdict, detail in rows:
        print(f"{label:<{width}}  {verdict:<7}  {detail}")
    # the comparison run (f') informs; it does not decide the exit status
    return 1 if any(v == "FAIL" and not label.startswith("f'") for label, v, _ in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
