"""Load benchmark: the public pages under gunicorn (2 workers) beside a bare Flask "hello" (the floor).

    .venv/bin/python bench/load.py [--users 50] [--duration 20] [--data-dir DIR] [--pages search,product]

It prepares (once, then reuses) a data dir with the demo data (seed-demo, 7,200 products), starts
gunicorn twice on 127.0.0.1 with the same settings — the marketplace (bench/load_app.py:app) and
the floor (bench/load_app.py:hello) — and, for each page, drives N concurrent users for a bounded
time: home, search, product, storefront, sales-point map and match (each user cycles through real
URLs of that page), then all of them mixed. It prints per page req/s, p50/p95/p99, errors and the
ratio to the floor's req/s, then checks the targets (issue 11): search >= 25% of the floor,
product >= 40%, p95 < 300 ms at 50 users, 0 errors (--strict: exit 1 when one is missed).

The driver is wrk (Debian's package `wrk`) with a Lua script when it is installed, else a
threaded Python client (slower: it shares the 2 cores with the server). Only loopback addresses.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from bench._gunicorn import Gunicorn  # noqa: E402 (needs ROOT on sys.path)

DEFAULT_DATA_DIR = Path(tempfile.gettempdir()) / "ocop-load-data"
PAGES = ("home", "search", "product", "storefront", "map", "match")
TARGETS = {"search": 0.25, "product": 0.40}
P95_TARGET_MS = 300.0

SEARCHES = [
    "mây tre đan",
    "miến dong",
    "chè",
    "gạo nếp",
    "mat ong",
    "gốm bát tràng",
    "nón lá",
    "nuoc mam",
    "trà sen",
    "lụa vạn phúc",
    "bánh",
    "hương",
]
NEEDS = [
    "cần mua 500 kg miến dong làm quà tặng, giao tới Cầu Giấy",
    "giỏ mây tre đan 4 sao",
    "chè xanh hộp quà Tết",
    "200 hộp mật ong",
    "gốm sứ trang trí",
    "gạo nếp cái hoa vàng 1 tấn",
]


@dataclass
class Result:
    page: str
    requests: int
    seconds: float
    errors: int
    p50: float
    p95: float
    p99: float
    non_2xx: int = 0

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


# -- data and servers --------------------------------------------------------------------------------


def prepare(data_dir: Path, products: int) -> None:
    if (data_dir / "bench-sample.json").exists():
        subprocess.run(  # noqa: S603  (reused: only tables added since it was made)
            [str(BIN / "python"), str(ROOT / "bench" / "load_data.py"), str(data_dir)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        return
    print(f"Preparing {data_dir} with {products} demo products (once)…", flush=True)
    subprocess.run(  # noqa: S603
        [str(BIN / "python"), str(ROOT / "bench" / "load_data.py"), str(data_dir), "--products", str(products)],
        check=True,
        stdout=subprocess.DEVNULL,
    )


def page_paths(data_dir: Path, count: int = 60) -> dict[str, list[str]]:
    """Real URLs for each page, read from the data dir's database."""
    rng = random.Random(7)  # noqa: S311
    with sqlite3.connect(data_dir / "marketplace.db") as conn:
        refs = [r for (r,) in conn.execute("SELECT ref FROM products WHERE status='published' AND hidden=0")]
        producers = [i for (i,) in conn.execute("SELECT DISTINCT producer_id FROM products WHERE status='published'")]
    refs = rng.sample(refs, min(count, len(refs)))
    producers = rng.sample(producers, min(count, len(producers)))
    quote = urllib.parse.quote
    return {
        "home": ["/"],
        "search": [f"/products?q={quote(q)}" for q in SEARCHES],
        "product": [f"/san-pham/{quote(r)}" for r in refs],
        "storefront": [f"/producers/{i}" for i in producers],
        "map": ["/diem-ban"],
        "match": [f"/tim-nha-cung-cap?text={quote(n)}" for n in NEEDS],
    }


def start_gunicorn(target: str, data_dir: Path, log: Path) -> Gunicorn:
    """The benchmark's server: 2 sync workers on a loopback port, the data dir's database."""
    env = {**os.environ, "MARKETPLACE_DATA_DIR": str(data_dir)}
    env.setdefault("SECRET_KEY", "load-benchmark-secret-key-0123456789abcdef")
    return Gunicorn(target, env, log, workers=2)


def warm_up(base: str, paths: list[str]) -> None:
    """Each URL once per worker (templates compiled, index opened, caches filled)."""
    for path in paths:
        for _ in range(2):
            try:
                urllib.request.urlopen(base + path, timeout=60).read()  # noqa: S310 (loopback)
            except OSError as error:
                print(f"  warm-up {path}: {error}", file=sys.stderr)


# -- drivers -----------------------------------------------------------------------------------------

WRK_SCRIPT = """
local paths = {%(paths)s}
local n = 0
local non2xx = 0
request = function()
  n = n + 1
  return wrk.format("GET", paths[(n %% #paths) + 1])
end
response = function(status, headers, body)
  if status < 200 or status >= 400 then non2xx = non2xx + 1 end
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRKJSON {\\"requests\\": %%d, \\"us\\": %%d, \\"connect\\": %%d, \\"read\\": %%d, \\"write\\": %%d, " ..
    "\\"status\\": %%d, \\"timeout\\": %%d, \\"p50\\": %%d, \\"p95\\": %%d, \\"p99\\": %%d}\\n",
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
"""


def run_wrk(name: str, base: str, paths: list[str], users: int, seconds: int) -> Result:
    lua = WRK_SCRIPT % {"paths": ", ".join(json.dumps(p) for p in paths)}
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(lua)
        script = f.name
    try:
        out = subprocess.run(  # noqa: S603
            [
                shutil.which("wrk") or "wrk",
                "-t",
                "2",
                "-c",
                str(users),
                "-d",
                f"{seconds}s",
                "--timeout",
                "10s",
                "-s",
                script,
                base + paths[0],
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=seconds + 60,
        ).stdout
    finally:
        os.unlink(script)
    line = next(line for line in out.splitlines() if line.startswith("WRKJSON "))
    data = json.loads(line.removeprefix("WRKJSON "))
    # wrk counts a socket error in `read` when the server closes a kept-alive connection, which
    # gunicorn's sync workers always do; those requests are not failures (they were answered).
    errors = data["connect"] + data["write"] + data["timeout"] + data["status"]
    return Result(
        page=name,
        requests=data["requests"],
        seconds=data["us"] / 1e6,
        errors=errors,
        p50=data["p50"] / 1000,
        p95=data["p95"] / 1000,
        p99=data["p99"] / 1000,
        non_2xx=data["status"],
    )


def run_threads(name: str, base: str, paths: list[str], users: int, seconds: int) -> Result:
    """The fallback driver: `users` threads, each a keep-alive-less client looping over `paths`."""
    parsed = urllib.parse.urlsplit(base)
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def user(offset: int) -> None:
        nonlocal errors
        n = offset
        mine: list[float] = []
        failed = 0
        while time.monotonic() < stop_at:
            path = paths[n % len(paths)]
            n += 1
            started = time.perf_counter()
            try:
                conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=10)
                conn.request("GET", path)
                response = conn.getresponse()
                response.read()
                conn.close()
                if not 200 <= response.status < 400:
                    failed += 1
            except OSError:
                failed += 1
            mine.append(time.perf_counter() - started)
        with lock:
            latencies.extend(mine)
            errors += failed

    started = time.monotonic()
    threads = [threading.Thread(target=user, args=(i,)) for i in range(users)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(len(latencies) * p / 100))] * 1000 if latencies else 0.0

    return Result(name, len(latencies), elapsed, errors, pct(50), pct(95), pct(99))


# -- report ------------------------------------------------------------------------------------------


def report(results: list[Result], floor: Result, users: int) -> list[str]:
    print()
    print(f"{'page':<11} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>7} {'vs floor':>9}")
    for r in [floor, *results]:
        ratio = r.rps / floor.rps if floor.rps else 0.0
        print(
            f"{r.page:<11} {r.rps:>8.1f} {r.p50:>8.1f} {r.p95:>8.1f} {r.p99:>8.1f} {r.errors:>7d} {ratio:>8.0%}",
            flush=True,
        )
    missed: list[str] = []
    by_page = {r.page: r for r in results}
    for page, share in TARGETS.items():
        r = by_page.get(page)
        if r and floor.rps and r.rps / floor.rps < share:
            missed.append(f"{page}: {r.rps / floor.rps:.0%} of the floor's req/s (target >= {share:.0%})")
    for r in results:
        if users >= 50 and r.p95 >= P95_TARGET_MS:
            missed.append(f"{r.page}: p95 {r.p95:.0f} ms (target < {P95_TARGET_MS:.0f} ms at 50 users)")
        if r.errors:
            missed.append(f"{r.page}: {r.errors} errors")
    print()
    print("Targets met." if not missed else "Targets missed:\n  " + "\n  ".join(missed))
    return missed


def main() -> int:
    parser = argparse.ArgumentParser(description="Load benchmark of the public pages (loopback only).")
    parser.add_argument("--users", type=int, default=50, help="concurrent users (connections)")
    parser.add_argument("--duration", type=int, default=20, help="seconds per page (max 120)")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--products", type=int, default=7200, help="demo products when the data dir is new")
    parser.add_argument("--pages", default=",".join(PAGES) + ",mix", help="comma-separated; 'mix' = all together")
    parser.add_argument("--driver", choices=("auto", "wrk", "threads"), default="auto")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()
    duration = max(1, min(args.duration, 120))
    users = max(1, min(args.users, 500))
    data_dir = args.data_dir.resolve()
    prepare(data_dir, args.products)
    paths = page_paths(data_dir)
    wanted = [p for p in args.pages.split(",") if p]
    driver = run_wrk if (args.driver == "wrk" or (args.driver == "auto" and shutil.which("wrk"))) else run_threads
    logs = Path(tempfile.mkdtemp(prefix="ocop-load-"))
    app = start_gunicorn("bench.load_app:app", data_dir, logs / "app.log")
    hello = start_gunicorn("bench.load_app:hello", data_dir, logs / "hello.log")
    try:
        app.wait("/healthz")
        hello.wait("/")
        print(f"driver: {driver.__name__[4:]}; {users} users; {duration}s per page; data: {data_dir}", flush=True)
        floor = driver("floor", hello.url, ["/"], users, duration)
        print(f"  floor: {floor.rps:.1f} req/s", flush=True)
        results = []
        for page in wanted:
            page_list = [p for name in PAGES for p in paths[name]] if page == "mix" else paths[page]
            if page == "mix":
                random.Random(3).shuffle(page_list)  # noqa: S311
            warm_up(app.url, page_list[:30])
            result = driver(page, app.url, page_list, users, duration)
            print(f"  {page}: {result.rps:.1f} req/s, p95 {result.p95:.0f} ms, {result.errors} errors", flush=True)
            results.append(result)
        missed = report(results, floor, users)
        if args.json:
            args.json.write_text(
                json.dumps(
                    {
                        "users": users,
                        "duration": duration,
                        "floor": floor.__dict__,
                        "pages": [r.__dict__ | {"rps": r.rps} for r in results],
                        "missed": missed,
                    },
                    indent=1,
                )
            )
        errors = (logs / "app.log").read_text(errors="replace")
        if "Traceback" in errors:
            print("\nServer tracebacks (first 60 lines):\n" + "\n".join(errors.splitlines()[:60]))
        return 1 if (args.strict and missed) else 0
    finally:
        app.stop()
        hello.stop()
        shutil.rmtree(logs, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
