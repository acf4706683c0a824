"""Scale-out rehearsal checks (issue 11 part 9), driven by bench/scaleout.sh.

Two app instances (A and B) share one PostgreSQL database (SEARCH_BACKEND=postgres) and one Redis.

    scaleout_check.py schema-drift            # exit 3 when `flask db upgrade` left model columns out
    scaleout_check.py create-all              # build the schema from the models instead
    scaleout_check.py prepare --email E       # pick a listing, make E one of its managers: JSON
    scaleout_check.py check --a URL --b URL --world FILE --email E --password P --api-limit 30

`schema-drift`, `create-all` and `prepare` use the app factory with the environment's
DATABASE_URL; `check` only speaks HTTP to the two instances (loopback), with the standard library:

  traffic      a mix of GET pages (home, search, product, /healthz) on both; any non-2xx is an error
  edit A→B     log in on A, rename a listing through A's edit form, search for the new name on B at
               once (no retry, no sleep): the hit must be there
  edit B→A     the form fetched from A posted to B (A's session and CSRF token), found on A at once
  session      A's session cookie opens an authenticated page on B (200, not a login redirect)
  upload       an image uploaded through A is served by B (the uploads folder is shared storage)
  rate limit   alternate /api/v1 requests between A and B until 429: it must trip after exactly the
               configured number of requests in total (with per-process counters it would take up
               to instances x workers times as many)
  healthz      /healthz on both: status ok, database, search index (postgres) and Redis ok

Prints a verdict table and exits 1 when a check fails.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import re
import string
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the app factory, for the app-side steps
TIMEOUT = 30.0
SEARCHES = ["mây tre đan", "miến dong", "chè", "gạo nếp", "mat ong", "nón lá", "trà sen", "bánh"]


# --- app-side steps (app factory, the environment's database) ------------------------------------


def _app():
    from marketplace import create_app

    return create_app()


def cmd_schema_drift(_args) -> int:
    """Model tables or columns the migrated database lacks (the migrations lag behind the models)."""
    import sqlalchemy as sa

    from marketplace.extensions import db

    app = _app()
    missing = []
    with app.app_context():
        inspector = sa.inspect(db.engine)
        tables = set(inspector.get_table_names())
        for table in db.metadata.sorted_tables:
            if table.name not in tables:
                missing.append(table.name)
                continue
            have = {c["name"] for c in inspector.get_columns(table.name)}
            missing += [f"{table.name}.{c.name}" for c in table.columns if c.name not in have]
        db.engine.dispose()
    if missing:
        print("the migrations do not build these model tables/columns: " + ", ".join(missing))
        return 3
    return 0


def cmd_create_all(_args) -> int:
    from marketplace.extensions import db
    from marketplace.search import get_backend

    app = _app()
    with app.app_context():
        db.create_all()
        get_backend(app)  # postgres: extensions, unaccent wrapper, GIN indexes
        db.engine.dispose()
    return 0


def cmd_prepare(args) -> int:
    """A public, indexed listing whose producer gets the rehearsal user as a manager; sample URLs."""
    import sqlalchemy as sa

    from marketplace.accounts.services import find_user_by_email
    from marketplace.catalog.models import Product
    from marketplace.extensions import db
    from marketplace.search.models import SearchDocument

    app = _app()
    with app.app_context():
        indexed = sa.select(SearchDocument.product_id)
        public = (
            sa.select(Product)
            .where(Product.id.in_(indexed), Product.status == "published", Product.hidden.is_(False))
            .order_by(Product.id)
        )
        products = list(db.session.scalars(public.limit(40)))
        if not products:
            print("no indexed public product: did the data load?", file=sys.stderr)
            return 1
        product = products[0]
        user = find_user_by_email(args.email)
        if user is None:
            print(f"no user {args.email}", file=sys.stderr)
            return 1
        if user not in product.producer.managers:
            product.producer.managers.append(user)
        world = {
            "product_id": product.id,
            "ref": product.ref,
            "name": product.name,
            "refs": [p.ref for p in products],
            "producer_ids": sorted({p.producer_id for p in products}),
            "documents": db.session.scalar(sa.select(sa.func.count()).select_from(SearchDocument)),
        }
        db.session.commit()
        db.engine.dispose()
    print(json.dumps(world, ensure_ascii=False))
    return 0


# --- HTTP ------------------------------------------------------------------------------------------


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes
    elapsed_ms: float

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.body)


@dataclass
class Browser:
    """One user agent: cookies kept by hand (the production cookie is Secure, and this rehearsal
    speaks plain HTTP on loopback, where a standard cookie jar would never send it back)."""

    base: str
    cookies: dict[str, str] = field(default_factory=dict)

    def on(self, base: str) -> Browser:
        """The same cookies, sent to another instance."""
        return Browser(base, self.cookies)

    def request(self, method: str, path: str, form: dict | list | None = None, files: list | None = None) -> Response:
        parts = urllib.parse.urlsplit(self.base)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=TIMEOUT)
        headers = {"User-Agent": "ocop-scaleout-check"}
        body = None
        if files is not None:
            body, headers["Content-Type"] = multipart(form or [], files)
        elif form is not None:
            body = urllib.parse.urlencode(form, doseq=True).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        started = time.perf_counter()
        try:
            conn.request(method, path, body=body, headers=headers)
            raw = conn.getresponse()
            data = raw.read()
        finally:
            conn.close()
        elapsed = (time.perf_counter() - started) * 1000
        for header in raw.msg.get_all("Set-Cookie") or []:
            jar = SimpleCookie()
            jar.load(header)
            for name, morsel in jar.items():
                if morsel["max-age"] == "0" or (morsel["expires"] and "1970" in morsel["expires"]):
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return Response(raw.status, raw.msg, data, elapsed)

    def get(self, path: str) -> Response:
        return self.request("GET", path)

    def post(self, path: str, form, files: list | None = None) -> Response:
        return self.request("POST", path, form, files)


def multipart(form, files: list[tuple[str, str, str, bytes]]) -> tuple[bytes, str]:
    """multipart/form-data from fields and (field, filename, content type, bytes) files."""
    boundary = "----scaleout" + "".join(random.choice(string.ascii_letters) for _ in range(16))  # noqa: S311
    items = form.items() if isinstance(form, dict) else form
    out = []
    for name, value in items:
        out.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for name, filename, content_type, data in files:
        out.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n".encode()
            + data
            + b"\r\n"
        )
    out.append(f"--{boundary}--\r\n".encode())
    return b"".join(out), f"multipart/form-data; boundary={boundary}"


class FormParser(HTMLParser):
    """The fields a browser would submit for the first <form> whose attributes match."""

    def __init__(self, match: dict[str, str]):
        super().__init__(convert_charrefs=True)
        self.match = match
        self.inside = False
        self.done = False
        self.fields: list[tuple[str, str]] = []
        self._select: tuple[str, bool] | None = None
        self._options: list[tuple[str, bool]] = []
        self._option: list | None = None
        self._textarea: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "form" and not self.done and not self.inside:
            self.inside = all(v in a.get(k, "").split() or a.get(k) == v for k, v in self.match.items())
            return
        if not self.inside:
            return
        name = a.get("name")
        if tag == "input" and name and "disabled" not in a:
            kind = a.get("type", "text").lower()
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self.fields.append((name, a.get("value", "on")))
            elif kind not in ("file", "submit", "button", "image", "reset"):
                self.fields.append((name, a.get("value", "")))
        elif tag == "select" and name:
            self._select = (name, "multiple" in a)
            self._options = []
        elif tag == "option" and self._select:
            self._option = [a.get("value"), "selected" in a, []]
        elif tag == "textarea" and name:
            self._textarea = name
            self._text = []

    def handle_data(self, data):
        if self._textarea is not None:
            self._text.append(data)
        if self._option is not None:
            self._option[2].append(data)

    def handle_endtag(self, tag):
        if not self.inside:
            return
        if tag == "option" and self._option is not None:
            value, selected, text = self._option
            self._options.append((value if value is not None else "".join(text).strip(), selected))
            self._option = None
        elif tag == "select" and self._select:
            name, multiple = self._select
            chosen = [v for v, s in self._options if s]
            if not chosen and not multiple and self._options:
                chosen = [self._options[0][0]]
            self.fields += [(name, v) for v in chosen]
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            text = "".join(self._text)
            if text.startswith("\r\n"):
                text = text[2:]
            elif text.startswith("\n"):
                text = text[1:]
            self.fields.append((self._textarea, text))
            self._textarea = None
        elif tag == "form":
            self.inside = False
            self.done = True


def form_fields(html: str, **match: str) -> list[tuple[str, str]]:
    parser = FormParser({k.rstrip("_"): v for k, v in match.items()})
    parser.feed(html)
    if not parser.done:
        raise ValueError(f"no <form> with {match}")
    return parser.fields


def replace_field(fields: list[tuple[str, str]], name: str, value: str) -> list[tuple[str, str]]:
    if not any(k == name for k, _ in fields):
        raise ValueError(f"the form has no field {name!r}")
    return [(k, value if k == name else v) for k, v in fields]


# --- the checks ----------------------------------------------------------------------------------


@dataclass
class Verdict:
    check: str
    ok: bool
    detail: str


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def check_traffic(a: str, b: str, world: dict, requests: int, threads: int) -> Verdict:
    quote = urllib.parse.quote
    paths = ["/", "/healthz"]
    paths += [f"/products?q={quote(q)}" for q in SEARCHES]
    paths += [f"/san-pham/{quote(r)}" for r in world["refs"][:20]]
    rng = random.Random(11)  # noqa: S311
    plan = [(base, rng.choice(paths)) for i in range(requests) for base in ((a, b)[i % 2],)]
    lock = threading.Lock()
    stats = {a: {"n": 0, "errors": 0, "ms": []}, b: {"n": 0, "errors": 0, "ms": []}}
    failures: list[str] = []
    index = iter(range(len(plan)))

    def worker():
        while True:
            with lock:
                i = next(index, None)
            if i is None:
                return
            base, path = plan[i]
            try:
                response = Browser(base).get(path)
                bad = response.status >= 400 if path != "/healthz" else response.status != 200
                ms = response.elapsed_ms
            except OSError as error:
                bad, ms = True, 0.0
                response = error
            with lock:
                s = stats[base]
                s["n"] += 1
                s["ms"].append(ms)
                if bad:
                    s["errors"] += 1
                    at = time.perf_counter() - started
                    window[0] = min(window[0], at)
                    window[1] = max(window[1], at)
                    if len(failures) < 5:
                        failures.append(f"{path} -> {getattr(response, 'status', response)}")

    window = [float("inf"), 0.0]  # first and last error, seconds from the start
    started = time.perf_counter()
    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    seconds = time.perf_counter() - started
    errors = sum(s["errors"] for s in stats.values())
    parts = [
        f"{name}: {s['n']} req, {s['errors']} err, p50 {percentile(s['ms'], 0.5):.0f} ms, "
        f"p95 {percentile(s['ms'], 0.95):.0f} ms"
        for name, s in (("A", stats[a]), ("B", stats[b]))
    ]
    detail = f"{requests} GETs, {threads} threads, {seconds:.1f} s; " + "; ".join(parts)
    if failures:
        detail += f"; errors between {window[0]:.1f} s and {window[1]:.1f} s; first: " + ", ".join(failures)
    return Verdict("traffic on both", errors == 0 and all(s["n"] for s in stats.values()), detail)


def unique_word(prefix: str) -> str:
    return prefix + "".join(random.choice(string.ascii_lowercase) for _ in range(8))  # noqa: S311


def login(browser: Browser, email: str, password: str) -> None:
    page = browser.get("/login")
    if page.status != 200:
        raise RuntimeError(f"GET /login -> {page.status}")
    fields = dict(form_fields(page.text, action="/login"))
    fields.update(email=email, password=password)
    response = browser.post("/login", fields)
    if response.status != 302 or "/login" in (response.headers.get("Location") or ""):
        raise RuntimeError(f"login refused: {response.status} {response.headers.get('Location')}")


def found_in_search(browser: Browser, word: str, ref: str) -> tuple[bool, str]:
    started = time.perf_counter()
    response = browser.get(f"/products?q={urllib.parse.quote(word)}")
    ms = (time.perf_counter() - started) * 1000
    href = f"/san-pham/{urllib.parse.quote(ref)}"
    hit = response.status == 200 and (href in response.text or f"/san-pham/{ref}" in response.text)
    return hit, f"search {response.status} in {ms:.0f} ms, {'hit' if hit else 'NOT found'}"


def check_edit(a: str, b: str, world: dict, email: str, password: str) -> list[Verdict]:
    verdicts = []
    browser = Browser(a)
    login(browser, email, password)
    edit_path = f"/my/products/{world['product_id']}/edit"

    # Edit through A, search through B at once.
    page = browser.get(edit_path)
    if page.status != 200:
        return [Verdict("edit on A, found on B", False, f"GET {edit_path} on A -> {page.status}")]
    fields = form_fields(page.text, class_="product-form")
    word = unique_word("scaleout")
    new_name = f"{world['name'][:150]} {word}"
    saved = browser.post(edit_path, replace_field(fields, "name", new_name))
    saved_at = time.perf_counter()
    if saved.status != 302:
        return [Verdict("edit on A, found on B", False, f"POST edit on A -> {saved.status} (form refused)")]
    hit, detail = found_in_search(browser.on(b), word, world["ref"])
    after = (time.perf_counter() - saved_at) * 1000
    product_page = Browser(b).get(f"/san-pham/{urllib.parse.quote(world['ref'])}")
    shown = product_page.status == 200 and word in product_page.text
    verdicts.append(
        Verdict(
            "edit on A, found on B",
            hit and shown,
            f"renamed #{world['product_id']} via A's form (302); B {detail}, {after:.0f} ms after A's answer, "
            f"no retry; B's product page {'shows' if shown else 'does NOT show'} the new name",
        )
    )

    # The form (and CSRF token) from A, posted to B with A's session; found through A.
    page = browser.get(edit_path)
    fields = form_fields(page.text, class_="product-form")
    word2 = unique_word("rehearsal")
    saved = browser.on(b).post(edit_path, replace_field(fields, "name", f"{world['name'][:150]} {word2}"))
    if saved.status != 302:
        verdicts.append(Verdict("edit on B, found on A", False, f"POST edit on B with A's token -> {saved.status}"))
    else:
        hit, detail = found_in_search(browser.on(a), word2, world["ref"])
        old_hit, _ = found_in_search(browser.on(a), word, world["ref"])
        verdicts.append(
            Verdict(
                "edit on B, found on A",
                hit and not old_hit,
                f"A's CSRF token accepted by B (302); A {detail}; the previous name "
                f"{'still found (stale)' if old_hit else 'no longer matches'}",
            )
        )

    # A's session cookie on B.
    on_b = browser.on(b).get("/my/products")
    location = on_b.headers.get("Location") or ""
    ok = on_b.status == 200 and world["ref"] in on_b.text
    verdicts.append(
        Verdict(
            "session from A on B",
            ok,
            f"GET /my/products on B with A's cookie -> {on_b.status}"
            + (f" (redirect to {location})" if location else ", the producer's listing is shown"),
        )
    )
    return verdicts


MEDIA = re.compile(r'src="(/media/[^"]+)"')


def check_upload(a: str, b: str, world: dict, email: str, password: str) -> Verdict:
    """An image uploaded through A is served by B (the uploads folder must be shared storage)."""
    import io

    from PIL import Image

    browser = Browser(a)
    login(browser, email, password)
    edit_path = f"/my/products/{world['product_id']}/edit"
    page = browser.get(edit_path)
    before = set(MEDIA.findall(page.text))
    upload_path = f"/my/products/{world['product_id']}/images"
    fields = form_fields(page.text, action=upload_path)
    buffer = io.BytesIO()
    Image.new("RGB", (320, 240), (random.randrange(256), 120, 40)).save(buffer, "JPEG")  # noqa: S311
    saved = browser.post(upload_path, fields, files=[("images", "scaleout.jpg", "image/jpeg", buffer.getvalue())])
    if saved.status != 302:
        return Verdict("upload on A, served by B", False, f"POST {upload_path} on A -> {saved.status}")
    added = sorted(set(MEDIA.findall(browser.get(edit_path).text)) - before)
    if not added:
        return Verdict("upload on A, served by B", False, "A accepted the upload but shows no new image")
    answers = [(url, Browser(b).get(url)) for url in added]
    ok = all(r.status == 200 and (r.headers.get("Content-Type") or "").startswith("image/") for _, r in answers)
    shown = ", ".join(f"{url} -> {r.status} {r.headers.get('Content-Type')}" for url, r in answers)
    return Verdict("upload on A, served by B", ok, f"uploaded through A (302); on B: {shown}")


def check_rate_limit(a: str, b: str, world: dict, limit: int) -> Verdict:
    path = f"/api/v1/products/{urllib.parse.quote(world['ref'])}"
    allowed = 0
    per = {"A": 0, "B": 0}
    first_remaining = None
    tripped_at = None
    for i in range(limit * 4 + 4):  # per-process counters would need up to 4 x the limit
        name, base = (("A", a), ("B", b))[i % 2]
        response = Browser(base).get(path)
        if first_remaining is None:
            first_remaining = response.headers.get("X-RateLimit-Remaining")
        if response.status == 429:
            tripped_at = (i + 1, name)
            break
        if response.status != 200:
            return Verdict("rate limit shared", False, f"request {i + 1} on {name} -> {response.status}")
        allowed += 1
        per[name] += 1
    if tripped_at is None:
        return Verdict("rate limit shared", False, f"no 429 after {allowed} requests (limit {limit}): not shared")
    other = Browser(b if tripped_at[1] == "A" else a).get(path).status
    ok = allowed == limit and other == 429
    return Verdict(
        "rate limit shared",
        ok,
        f"limit {limit}/min: {allowed} allowed (A {per['A']}, B {per['B']}), 429 at request {tripped_at[0]} "
        f"on {tripped_at[1]}, the other instance then answers {other}; "
        f"X-RateLimit-Remaining on the first answer: {first_remaining}",
    )


def check_health(a: str, b: str) -> Verdict:
    details = []
    ok = True
    for name, base in (("A", a), ("B", b)):
        response = Browser(base).get("/healthz")
        try:
            body = response.json()
        except ValueError:
            return Verdict("healthz on both", False, f"{name}: {response.status}, not JSON")
        checks = body.get("checks", {})
        good = (
            response.status == 200
            and body.get("status") == "ok"
            and all(checks.get(c, {}).get("status") == "ok" for c in ("database", "search_index", "redis"))
            and checks["search_index"].get("backend") == "postgres"
            and not response.headers.get_all("Set-Cookie")
        )
        ok = ok and good
        details.append(
            f"{name}: {response.status} {body.get('status')} (db {checks.get('database', {}).get('latency_ms')} ms, "
            f"index {checks.get('search_index', {}).get('backend')} "
            f"{checks.get('search_index', {}).get('documents')} docs, "
            f"backlog {checks.get('search_index', {}).get('outbox_backlog')}, "
            f"redis {checks.get('redis', {}).get('status')} {checks.get('redis', {}).get('latency_ms')} ms)"
        )
    return Verdict("healthz on both", ok, "; ".join(details))


def print_table(verdicts: list[Verdict]) -> None:
    width = max(len(v.check) for v in verdicts)
    print(f"\n{'check':<{width}}  result  detail")
    print(f"{'-' * width}  ------  {'-' * 40}")
    for v in verdicts:
        print(f"{v.check:<{width}}  {'PASS' if v.ok else 'FAIL':<6}  {v.detail}")


def cmd_check(args) -> int:
    world = json.loads(Path(args.world).read_text(encoding="utf-8"))
    verdicts: list[Verdict] = []
    steps = [
        lambda: [check_traffic(args.a, args.b, world, args.requests, args.threads)],
        lambda: check_edit(args.a, args.b, world, args.email, args.password),
        lambda: [check_upload(args.a, args.b, world, args.email, args.password)],
        lambda: [check_rate_limit(args.a, args.b, world, args.api_limit)],
        lambda: [check_health(args.a, args.b)],
    ]
    names = ["traffic on both", "edit / session", "upload on A, served by B", "rate limit shared", "healthz on both"]
    for name, step in zip(names, steps, strict=True):
        try:
            verdicts += step()
        except Exception as error:  # noqa: BLE001 - a broken step is a failed check, the others still run
            verdicts.append(Verdict(name, False, f"{type(error).__name__}: {error}"))
    print_table(verdicts)
    failed = [v.check for v in verdicts if not v.ok]
    print(f"\n{'ALL PASS' if not failed else 'FAILED: ' + ', '.join(failed)} ({len(verdicts)} checks)")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("schema-drift")
    sub.add_parser("create-all")
    prepare = sub.add_parser("prepare")
    prepare.add_argument("--email", required=True)
    check = sub.add_parser("check")
    check.add_argument("--a", required=True, help="instance A, e.g. http://127.0.0.1:8101")
    check.add_argument("--b", required=True)
    check.add_argument("--world", required=True, help="the JSON file `prepare` printed")
    check.add_argument("--email", required=True)
    check.add_argument("--password", required=True)
    check.add_argument("--api-limit", type=int, required=True, help="API_RATE_LIMIT's number per minute")
    check.add_argument("--requests", type=int, default=240)
    check.add_argument("--threads", type=int, default=4)
    args = parser.parse_args(argv)
    for host in (getattr(args, "a", None), getattr(args, "b", None)):
        if host and urllib.parse.urlsplit(host).hostname not in ("127.0.0.1", "localhost", "::1"):
            parser.error("loopback addresses only")
    command = {
        "schema-drift": cmd_schema_drift,
        "create-all": cmd_create_all,
        "prepare": cmd_prepare,
        "check": cmd_check,
    }[args.command]
    return command(args)


if __name__ == "__main__":
    sys.exit(main())
