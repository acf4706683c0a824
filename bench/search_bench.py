#!/usr/bin/env python3
"""Search benchmark: Whoosh, PostgreSQL full text, a naive SQL LIKE baseline and tantivy.

    .venv/bin/python bench/search_bench.py [--sizes 7200,100000] [--queries 300]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/search_bench]

For each size it builds a catalogue with the demo generator (marketplace.demo: the 35 sample
products plus a generated city, imported through the import service), then in one run measures
for every engine: index build time, index size, the time to drain a whole-catalogue outbox
(a re-import of every row), and query latency p50/p95 over the same realistic queries (1-4
syllables, with and without diacritics, product/producer/village/place/English names, a quarter
with filters), each including facet counts. It prints one table (Markdown).

The database given by --database-url is DROPPED AND RECREATED (schema public): use a scratch
database, never a real one. Without PostgreSQL the run uses SQLite and skips the PostgreSQL rows.
tantivy is optional (pip install tantivy): it is used directly with the same analysis
(marketplace.search.analysis) as the near-limit reference; its star filter uses validity computed
at build time (the others compute it at query time).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

DEFAULT_DB = "postgresql+psycopg://postgres@127.0.0.1:5432/search_bench"
TODAY = "2026-12-01"


@dataclass
class Row:
    engine: str
    size: int
    build_s: float | None = None
    index_mb: float | None = None
    drain_s: float | None = None
    latencies: list[float] = field(default_factory=list)
    found: int = 0
    note: str = ""

    def pct(self, p: float) -> float | None:
        if not self.latencies:
            return None
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] * 1000


@dataclass
class BenchQuery:
    text: str
    group: str | None = None
    min_stars: int | None = None
    district: str | None = None


# --- setup --------------------------------------------------------------------------------------


def database_url(requested: str) -> str | None:
    """A reachable scratch PostgreSQL database (created if missing), or None."""
    engine = sa.create_engine(requested)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
        return requested
    except sa.exc.OperationalError:
        pass
    finally:
        engine.dispose()
    url = sa.engine.make_url(requested)
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{url.database}"'))
        return requested
    except sa.exc.SQLAlchemyError as error:
        print(f"PostgreSQL unavailable ({error.__class__.__name__}): SQLite only", file=sys.stderr)
        return None
    finally:
        admin.dispose()


def make_app(db_url: str, data_dir: Path, backend: str = "whoosh"):
    from config import Config
    from marketplace import create_app

    return create_app(
        Config,
        {
            "SQLALCHEMY_DATABASE_URI": db_url,
            "DATA_DIR": data_dir,
            "SEARCH_BACKEND": backend,
            "SEARCH_AUTO_DRAIN": False,
            "SEARCH_DRAIN_INTERVAL": 0,
            "MARKETPLACE_TODAY": TODAY,
            "SEARCH_FACET_TTL": 0,  # measure the facet query every time (no cache hits)
        },
    )


def reset_schema(app) -> None:
    from marketplace.extensions import db

    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(sa.text("DROP SCHEMA public CASCADE"))
                conn.execute(sa.text("CREATE SCHEMA public"))
                conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS unaccent"))
                conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
        db.create_all()


def load_catalogue(app, total: int) -> tuple[int, float]:
    """The demo city of `total` products through the import service; one commit."""
    from marketplace.extensions import db

    started = time.perf_counter()
    with app.app_context():
        try:
            from marketplace.demo.services import plan_demo
            from marketplace.imports.services import import_products
        except ImportError:  # pragma: no cover - before the demo generator exists
            raise SystemExit("marketplace.demo is needed to build the catalogue") from None
        try:
            plan, samples, _ = plan_demo(total, seed=42)
            rows = samples + plan.products
        except RuntimeError as error:  # the generator's name pool is exhausted at this size
            print(f"demo generator: {error}; replicating a {DEMO_LIMIT:,}-product city instead", file=sys.stderr)
            plan, samples, _ = plan_demo(DEMO_LIMIT, seed=42)
            rows = replicate(samples + plan.products, total)
        for start in range(0, len(rows), 5000):  # one import, flushed in parts to bound memory
            import_products(rows[start : start + 5000])
            db.session.flush()
            db.session.expunge_all()
        db.session.commit()
        count = db.session.scalar(sa.text("SELECT count(*) FROM products"))
        db.session.remove()
    return count, time.perf_counter() - started


DEMO_LIMIT = 10_000


def replicate(rows: list, total: int) -> list:
    """More rows from a generated city: copies with their own ref, producer and a variant name
    ("… – lô 3"), so the vocabulary stays realistic while the catalogue grows."""
    import dataclasses

    out = list(rows)
    copy = 1
    while len(out) < total:
        copy += 1
        for row in rows:
            if len(out) >= total:
                break
            out.append(
                dataclasses.replace(
                    row,
                    ref=f"{row.ref}-C{copy}",
                    producer_name=f"{row.producer_name} {copy}",
                    product_name=f"{row.product_name} – lô {copy}",
                )
            )
    return out


def saved_outbox(app) -> list[dict]:
    from marketplace.extensions import db
    from marketplace.search.models import SearchOutbox

    with app.app_context(), db.engine.begin() as conn:
        table = SearchOutbox.__table__
        rows = [dict(r._mapping) for r in conn.execute(sa.select(table.c.entity, table.c.entity_id, table.c.op))]
        conn.execute(sa.delete(table))
    return rows


def requeue(app, rows: list[dict]) -> None:
    from marketplace.core.models import utcnow
    from marketplace.extensions import db
    from marketplace.search.models import SearchOutbox

    with app.app_context(), db.engine.begin() as conn:
        conn.execute(sa.insert(SearchOutbox.__table__), [dict(r, created_at=utcnow()) for r in rows])


def folder_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


# --- queries ------------------------------------------------------------------------------------


def make_queries(app, n: int, seed: int = 7) -> list[BenchQuery]:
    from marketplace.core.vn_text import fold
    from marketplace.data import OCOP_GROUPS, craft_villages, district_names
    from marketplace.extensions import db

    rng = random.Random(seed)
    with app.app_context():
        rows = db.session.execute(
            sa.text(
                "SELECT p.name, p.name_en, pr.name, pr.district FROM products p JOIN producers pr ON pr.id = p.producer_id"
            )
        ).all()
        db.session.remove()
    common = [
        "mật ong", "gốm", "chè", "trà xanh", "nước mắm", "mây tre đan", "lụa", "miến dong", "bánh chưng", "gạo nếp",
        "rượu", "nấm", "tinh dầu", "cốm", "nón lá", "sơn mài", "tre", "hữu cơ", "bưởi", "vịt",
    ]  # fmt: skip
    villages = [v.village for v in craft_villages()]
    districts = list(district_names())
    queries: list[BenchQuery] = []
    while len(queries) < n:
        kind = rng.random()
        if kind < 0.45:
            words = rng.choice(rows)[0].split()
            size = rng.randint(1, min(4, len(words)))
            start = rng.randint(0, len(words) - size)
            text = " ".join(words[start : start + size])
        elif kind < 0.6:
            text = rng.choice(common)
        elif kind < 0.7:
            text = rng.choice(villages)
        elif kind < 0.8:
            text = rng.choice(districts)
        elif kind < 0.9:
            words = (rng.choice(rows)[1] or "honey").split()
            text = " ".join(words[: rng.randint(1, min(3, len(words)))])
        else:
            words = rng.choice(rows)[2].split()
            text = " ".join(words[-rng.randint(1, min(3, len(words))) :])
        if rng.random() < 0.4:
            text = fold(text)
        q = BenchQuery(text)
        if rng.random() < 0.25:
            pick = rng.random()
            if pick < 0.4:
                q.group = rng.choice(list(OCOP_GROUPS))
            elif pick < 0.8:
                q.min_stars = rng.choice([3, 4])
            else:
                q.district = rng.choice(districts)
        queries.append(q)
    return queries


def timed(fn, queries: list[BenchQuery], row: Row) -> None:
    for q in queries[:20]:  # warm-up
        fn(q)
    for q in queries:
        started = time.perf_counter()
        total = fn(q)
        row.latencies.append(time.perf_counter() - started)
        row.found += 1 if total else 0


# --- engines ------------------------------------------------------------------------------------


def bench_backend(app, kind: str, queries: list[BenchQuery], outbox_rows: list[dict], size: int) -> Row:
    from marketplace.extensions import db
    from marketplace.search import SearchQuery, get_backend

    row = Row(kind, size)
    app.config["SEARCH_BACKEND"] = kind
    app.extensions["ocop_search"] = None
    with app.app_context():
        backend = get_backend()
        started = time.perf_counter()
        backend.rebuild(drain=False)
        row.build_s = time.perf_counter() - started
        if kind == "whoosh":
            row.index_mb = folder_mb(backend.root / backend.current_name())
        else:
            row.index_mb = (
                db.session.scalar(
                    sa.text(
                        "SELECT pg_total_relation_size('search_documents') + pg_total_relation_size('search_words')"
                    )
                )
                / 1e6
            )
        if outbox_rows:
            requeue(app, outbox_rows)
            started = time.perf_counter()
            backend.drain(timeout=60)
            row.drain_s = time.perf_counter() - started

        def run(q: BenchQuery) -> int:
            result = backend.query(SearchQuery(text=q.text, group=q.group, min_stars=q.min_stars, district=q.district))
            assert "ocop_group" in result.facets
            return result.total

        timed(run, queries, row)
        backend.close()
        db.session.remove()
    return row


def _like(app, queries: list[BenchQuery], size: int) -> Row:
    """Naive SQL: every word as LIKE '%word%' over name, English name, producer, district and
    description (accent-insensitive through vn_unaccent on PostgreSQL), no index; plus a group
    facet query."""
    from marketplace.core.dates import today
    from marketplace.core.vn_text import fold
    from marketplace.extensions import db
    from marketplace.search.analysis import tokens

    row = Row("SQL LIKE (naive)", size, build_s=0.0, index_mb=0.0, note="seq scan")
    with app.app_context():
        postgres = db.engine.dialect.name == "postgresql"
        haystack = "p.name || ' ' || p.name_en || ' ' || pr.name || ' ' || pr.district || ' ' || p.description"
        haystack = f"vn_unaccent(lower({haystack}))" if postgres else f"lower({haystack})"
        valid = (
            "(c.verified AND c.stars > 0 AND (c.expires_on IS NULL OR c.expires_on > :today)"
            " AND (c.issued_on IS NULL OR c.issued_on <= :today))"
        )

        def run(q: BenchQuery) -> int:
            params: dict = {"today": today()}
            where = ["p.status = 'published'", "NOT p.hidden"]
            for i, token in enumerate(tokens(q.text)[:6]):
                params[f"t{i}"] = f"%{fold(token) if postgres else token}%"
                where.append(f"{haystack} LIKE :t{i}")
            if q.group:
                where.append("p.ocop_group = :group")
                params["group"] = q.group
            if q.min_stars:
                where.append(f"{valid} AND c.stars >= :stars")
                params["stars"] = q.min_stars
            if q.district:
                where.append("pr.district = :district")
                params["district"] = q.district
            base = (
                "FROM products p JOIN producers pr ON pr.id = p.producer_id "
                "LEFT JOIN certificates c ON c.product_id = p.id WHERE " + " AND ".join(where)
            )
            page = db.session.execute(
                sa.text(f"SELECT p.id, count(*) OVER () AS total {base} ORDER BY p.id LIMIT 20"), params
            ).all()
            db.session.execute(sa.text(f"SELECT p.ocop_group, count(*) {base} GROUP BY p.ocop_group"), params).all()
            return page[0].total if page else 0

        timed(run, queries, row)
        db.session.remove()
    return row


def _tantivy(app, queries: list[BenchQuery], size: int, workdir: Path) -> Row | None:
    try:
        import tantivy
    except ImportError:
        print("tantivy not installed: skipped (pip install tantivy)", file=sys.stderr)
        return None
    from importlib.metadata import version

    from sqlalchemy.orm import Session

    from marketplace.core.dates import today
    from marketplace.core.vn_text import fold
    from marketplace.extensions import db
    from marketplace.search import SearchQuery
    from marketplace.search.base import iter_public_docs
    from marketplace.search.whoosh_backend import (
        BIGRAM_BOOST,
        BIGRAM_GROUPS,
        EXACT_BOOST,
        FOLD_WHEN_ACCENTED,
        GROUPS,
        WEIGHTS,
        document_fields,
    )

    row = Row(f"tantivy {version('tantivy')}", size, note="stars validity fixed at build")
    path = workdir / "tantivy"
    path.mkdir()
    builder = tantivy.SchemaBuilder()
    builder.add_integer_field("product_id", stored=True, fast=True)
    for group in GROUPS:  # the Whoosh backend's fields and analysis
        for kind in ("f", "x", "b") if group in BIGRAM_GROUPS else ("f", "x"):
            builder.add_text_field(f"{group}_{kind}", tokenizer_name="whitespace", index_option="freq")
    builder.add_text_field("group", tokenizer_name="raw", fast=True)
    builder.add_text_field("district", tokenizer_name="raw", fast=True)
    builder.add_integer_field("stars", fast=True, indexed=True)
    schema = builder.build()
    index = tantivy.Index(schema, path=str(path))
    with app.app_context():
        day = today()
        started = time.perf_counter()
        writer = index.writer(heap_size=200_000_000, num_threads=1)
        with Session(db.engine) as session:
            for doc in iter_public_docs(session):
                fields = {
                    k: v for k, v in document_fields(doc).items() if k not in ("product_id", "producer_id", "meta")
                }
                fields.update(
                    product_id=doc.product_id,
                    group=doc.ocop_group,
                    district=fold(doc.district),
                    stars=doc.stars_on(day),
                )
                writer.add_document(tantivy.Document(**fields))
        writer.commit()
        writer.wait_merging_threads()
        index.reload()
        row.build_s = time.perf_counter() - started
        row.index_mb = folder_mb(path)
        searcher = index.searcher()
        from marketplace.search import get_backend

        planner = get_backend(app)
        must, should = tantivy.Occur.Must, tantivy.Occur.Should

        def term(field_name: str, value: str, boost: float):
            return tantivy.Query.boost_query(tantivy.Query.term_query(schema, field_name, value), boost)

        def run(q: BenchQuery) -> int:
            plan = planner.plan(SearchQuery(text=q.text).normalised().text)
            clauses = []
            for slot in plan.slots:
                options = []
                for alt in slot.alternatives:
                    factor = 0.6 if alt.synonym else 1.0
                    parts = []
                    for f, x in zip(alt.folded, alt.exact, strict=True):
                        subs = []
                        for group in GROUPS:
                            weight = WEIGHTS[group] * factor
                            if plan.accented:
                                subs.append((should, term(f"{group}_f", f, weight * FOLD_WHEN_ACCENTED)))
                                subs.append((should, term(f"{group}_x", x, weight * EXACT_BOOST)))
                            else:
                                subs.append((should, term(f"{group}_f", f, weight)))
                        parts.append(tantivy.Query.boolean_query(subs))
                    options.append(
                        (
                            should,
                            parts[0] if len(parts) == 1 else tantivy.Query.boolean_query([(must, p) for p in parts]),
                        )
                    )
                clauses.append((must, tantivy.Query.boolean_query(options)))
            for bigram in plan.folded_bigrams:
                for group in BIGRAM_GROUPS:
                    clauses.append((should, term(f"{group}_b", bigram, WEIGHTS[group] * BIGRAM_BOOST)))
            if q.group:
                clauses.append((must, tantivy.Query.term_query(schema, "group", q.group)))
            if q.min_stars:
                clauses.append(
                    (must, tantivy.Query.range_query(schema, "stars", tantivy.FieldType.Integer, q.min_stars, 5))
                )
            if q.district:
                clauses.append((must, tantivy.Query.term_query(schema, "district", fold(q.district))))
            if not any(occur == must for occur, _ in clauses):
                clauses.append((must, tantivy.Query.all_query()))
            query = tantivy.Query.boolean_query(clauses)
            result = searcher.search(query, limit=20, count=True)
            searcher.aggregate(
                query,
                {
                    "group": {"terms": {"field": "group"}},
                    "stars": {"terms": {"field": "stars"}},
                    "district": {"terms": {"field": "district", "size": 40}},
                },
            )
            return result.count

        timed(run, queries, row)
        planner.close()
        db.session.remove()
    return row


# --- main ---------------------------------------------------------------------------------------


def run_size(
    size: int, db_url: str | None, n_queries: int, drain_up_to: int, like_queries: int, engines: set[str]
) -> list[Row]:
    workdir = Path(tempfile.mkdtemp(prefix=f"search-bench-{size}-"))
    url = db_url or f"sqlite:///{workdir / 'bench.db'}"
    try:
        app = make_app(url, workdir / "data")
        reset_schema(app)
        count, load_s = load_catalogue(app, size)
        print(f"[{size}] catalogue: {count} products loaded in {load_s:.1f} s", file=sys.stderr)
        outbox_rows = saved_outbox(app)
        if count > drain_up_to:  # a whole-catalogue drain is a rebuild's cost again: skipped
            outbox_rows = []
        queries = make_queries(app, n_queries)
        rows: list[Row] = []
        if "whoosh" in engines:
            rows.append(bench_backend(app, "whoosh", queries, outbox_rows, count))
            print(f"[{size}] whoosh done", file=sys.stderr)
        if db_url and "postgres" in engines:
            rows.append(bench_backend(app, "postgres", queries, outbox_rows, count))
            print(f"[{size}] postgres done", file=sys.stderr)
        if "like" in engines:
            rows.append(_like(app, queries[: like_queries if count > 20_000 else len(queries)], count))
            print(f"[{size}] LIKE done", file=sys.stderr)
        tv = _tantivy(app, queries, count, workdir) if "tantivy" in engines else None
        if tv is not None:
            rows.append(tv)
        with app.app_context():
            from marketplace.extensions import db

            db.engine.dispose()
        return rows
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def table(rows: list[Row], n_queries: int) -> str:
    def fmt(value: float | None, digits: int = 1) -> str:
        return "–" if value is None else f"{value:.{digits}f}"

    lines = [
        "| engine | products | build (s) | index (MB) | drain all (s) | p50 (ms) | p95 (ms) | queries with hits | note |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.engine} | {r.size:,} | {fmt(r.build_s)} | {fmt(r.index_mb)} | {fmt(r.drain_s)} | "
            f"{fmt(r.pct(50))} | {fmt(r.pct(95))} | {r.found}/{len(r.latencies)} | {r.note} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="7200", help="comma-separated catalogue sizes, e.g. 7200,100000")
    parser.add_argument("--queries", type=int, default=300, help="queries per engine (at least 200)")
    parser.add_argument("--engines", default="whoosh,postgres,like,tantivy", help="which engines to run")
    parser.add_argument(
        "--drain-up-to", type=int, default=20_000, help="measure the whole-catalogue drain up to this size"
    )
    parser.add_argument(
        "--like-queries", type=int, default=60, help="queries for the LIKE baseline above 20,000 products (it is slow)"
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB),
        help="a SCRATCH PostgreSQL database (dropped and recreated); '' for SQLite only",
    )
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    db_url = database_url(args.database_url) if args.database_url else None
    rows: list[Row] = []
    for size in sizes:
        rows += run_size(
            size, db_url, max(200, args.queries), args.drain_up_to, args.like_queries, set(args.engines.split(","))
        )
    print(f"Search benchmark — {os.cpu_count()} CPUs, {max(200, args.queries)} queries per engine, facets included")
    print(table(rows, args.queries))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
