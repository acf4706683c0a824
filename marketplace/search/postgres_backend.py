"""PostgreSQL full-text backend: for deployments with several hosts (SEARCH_BACKEND=postgres).

The search data lives in the database (search_documents, one row per public product, maintained
by the same outbox drain as Whoosh, in the drain's transaction). `document` is a weighted tsvector
built from our own analysis (marketplace.search.analysis), so PostgreSQL's locale and text-search
configuration never split Vietnamese syllables differently from Whoosh:

    folded syllable  'cuon'          exact syllable  'x_cuốn'
    folded bigram    'b_banh_cuon'   (names, producer and place only)
    weights: A product names (vi, en), B producer and place, C description, D certifications/tags

Queries are built from tokens (letters and digits only) and bound as a tsquery parameter, never
parsed from user text. `unaccent` (through the IMMUTABLE wrapper vn_unaccent) and `pg_trgm` serve
the trigram index on names (fuzzy name fallback) and on search_words (spelling suggestions).
Facet counts come from a second query over the same matches, cached in-process for
SEARCH_FACET_TTL seconds (default 10) and cleared by this process's drains.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from marketplace.core import dates
from marketplace.core.vn_text import fold
from marketplace.search import outbox
from marketplace.search.analysis import QueryPlan, folded, tokens
from marketplace.search.base import (
    DrainReport,
    Hit,
    ProductDoc,
    ProgressFn,
    SearchBackend,
    SearchQuery,
    SearchResult,
    empty_facets,
    iter_public_docs,
    load_docs,
    make_highlights,
    pick_suggestions,
    price_band,
)
from marketplace.search.models import SearchDocument, SearchWord

log = logging.getLogger(__name__)

LOCK_KEY = 4_707_301_263  # pg advisory lock: one index writer at a time
RANK_WEIGHTS = "{0.1, 0.2, 0.5, 1.0}"  # D, C, B, A
GROUP_WEIGHT = {"name": "A", "name_en": "A", "producer": "B", "place": "B", "desc": "C", "tags": "D"}
FOLD_WHEN_ACCENTED = 0.3
EXACT_WEIGHT = 1.2
BIGRAM_WEIGHT = 1.5
SYNONYM_WEIGHT = 0.6
BIGRAM_GROUPS = ("name", "name_en", "producer", "place")
RANK_GROUPS = ("name", "name_en", "producer", "place")  # description and tags match, rank ~0

UPSERT = sa.text(
    """
    INSERT INTO search_documents (product_id, producer_id, name, name_en, producer_name, district, district_key,
        description, ocop_group, certifications, price_min, price_max, price_band, cert_stars, cert_verified,
        cert_issued_on, cert_expires_on, published_at, document, rank_document)
    VALUES (:product_id, :producer_id, :name, :name_en, :producer_name, :district, :district_key,
        :description, :ocop_group, :certifications, :price_min, :price_max, :price_band, :cert_stars, :cert_verified,
        :cert_issued_on, :cert_expires_on, :published_at, CAST(:document AS tsvector),
        CAST(:rank_document AS tsvector))
    ON CONFLICT (product_id) DO UPDATE SET producer_id = EXCLUDED.producer_id, name = EXCLUDED.name,
        name_en = EXCLUDED.name_en, producer_name = EXCLUDED.producer_name, district = EXCLUDED.district,
        district_key = EXCLUDED.district_key, description = EXCLUDED.description, ocop_group = EXCLUDED.ocop_group,
        certifications = EXCLUDED.certifications, price_min = EXCLUDED.price_min, price_max = EXCLUDED.price_max,
        price_band = EXCLUDED.price_band, cert_stars = EXCLUDED.cert_stars, cert_verified = EXCLUDED.cert_verified,
        cert_issued_on = EXCLUDED.cert_issued_on, cert_expires_on = EXCLUDED.cert_expires_on,
        published_at = EXCLUDED.published_at, document = EXCLUDED.document,
        rank_document = EXCLUDED.rank_document
    """
)
INSERT_WORDS = sa.text("INSERT INTO search_words (word, folded) VALUES (:word, :folded) ON CONFLICT (word) DO NOTHING")
FACET_PARAMS = (
    "today",
    "match",
    "group",
    "min_stars",
    "district",
    "cert_needle",
    "price_band",
    "price_max",
    "price_min",
    "producer_id",
)
VALID_STARS = (
    "(CASE WHEN d.cert_verified AND d.cert_stars > 0"
    " AND (d.cert_expires_on IS NULL OR d.cert_expires_on > :today)"
    " AND (d.cert_issued_on IS NULL OR d.cert_issued_on <= :today) THEN d.cert_stars ELSE 0 END)"
)


def _lex(term: str) -> str:
    # Tokens are letters/digits (and our '_' joins): nothing to escape, but be certain.
    return "'" + term.replace("\\", "").replace("'", "") + "'"


def unaccent_function_sql(schema: str = "public") -> str:
    """The IMMUTABLE wrapper (unaccent itself is only STABLE: it reads a dictionary), so that it
    can appear in index expressions. `schema` is where the unaccent extension lives."""
    return (
        "CREATE OR REPLACE FUNCTION vn_unaccent(text) RETURNS text"
        " LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS"
        f" $$ SELECT {schema}.unaccent('{schema}.unaccent'::regdictionary, $1) $$"
    )


def search_indexes(with_unaccent: bool = True) -> dict[str, str]:
    """GIN indexes: name -> 'table USING …'. Created WITH (fastupdate = off): drains write in
    batches, and a GIN pending list would make every query scan it until the next vacuum."""
    indexes = {
        "ix_search_documents_document": "search_documents USING gin (document)",
        "ix_search_words_folded_trgm": "search_words USING gin (folded gin_trgm_ops)",
    }
    if with_unaccent:
        indexes["ix_search_documents_name_trgm"] = "search_documents USING gin (vn_unaccent(lower(name)) gin_trgm_ops)"
    return indexes


def migration_sql(schema: str = "public") -> list[str]:
    """What ensure_schema() creates besides the tables, as statements for an Alembic migration
    (op.execute each; the tables come from the models)."""
    return [
        "CREATE EXTENSION IF NOT EXISTS unaccent",
        "CREATE EXTENSION IF NOT EXISTS pg_trgm",
        unaccent_function_sql(schema),
        *(
            f"CREATE INDEX IF NOT EXISTS {name} ON {target} WITH (fastupdate = off)"
            for name, target in search_indexes().items()
        ),
    ]


def tsvector_literal(doc: ProductDoc, groups: tuple[str, ...] | None = None) -> str:
    """The weighted tsvector of a document (or of some field groups), in PostgreSQL's tsvector
    input syntax. One position per lexeme and weight (ranking looks at which weights a word has,
    not how often it occurs), which keeps documents small."""
    weights: dict[str, set[str]] = {}

    def add(lexeme: str, weight: str) -> None:
        weights.setdefault(lexeme, set()).add(weight)

    for group, ft in doc.analysed().items():
        if groups is not None and group not in groups:
            continue
        weight = GROUP_WEIGHT[group]
        for exact, folded_tok in zip(ft.exact, ft.folded, strict=True):
            add(folded_tok, weight)
            add("x_" + exact, weight)
        if group in BIGRAM_GROUPS:
            for bigram in ft.folded_bigrams:
                add("b_" + bigram, weight)
    out = []
    pos = 0
    for lexeme, marks in weights.items():
        entries = []
        for weight in sorted(marks):
            pos = min(pos + 1, 16383)
            entries.append(f"{pos}{weight}")
        out.append(f"{_lex(lexeme)}:{','.join(entries)}")
    return " ".join(out)


def _or(terms: Iterable[str]) -> str:
    unique = list(dict.fromkeys(terms))
    return " | ".join(_lex(t) for t in unique)


class PostgresBackend(SearchBackend):
    name = "postgres"

    def __init__(self, app) -> None:
        super().__init__(app)
        self._facets: dict[tuple, tuple[float, dict]] = {}
        self._facet_lock = threading.Lock()
        self._tls = threading.local()  # the session spelling look-ups use during one query

    def _engine(self):
        from marketplace.extensions import db

        return db.engine

    # --- schema -----------------------------------------------------------------------------
    def ensure_schema(self) -> None:
        """Extensions, the IMMUTABLE unaccent wrapper, tables and GIN indexes (idempotent)."""
        engine = self._engine()
        for extension in ("unaccent", "pg_trgm"):
            try:
                with engine.begin() as conn:
                    conn.execute(sa.text(f"CREATE EXTENSION IF NOT EXISTS {extension}"))
            except sa.exc.DBAPIError as error:  # no privilege: an administrator must create it
                log.warning("CREATE EXTENSION %s failed: %s", extension, error)
        with engine.begin() as conn:
            for model in (SearchDocument, SearchWord):
                model.__table__.create(conn, checkfirst=True)
            outbox.SearchOutbox.__table__.create(conn, checkfirst=True)
            schema = conn.scalar(
                sa.text(
                    "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace"
                    " WHERE e.extname = 'unaccent'"
                )
            )
            exists = conn.scalar(sa.text("SELECT count(*) FROM pg_proc WHERE proname = 'vn_unaccent'"))
            if schema and not exists:
                conn.execute(sa.text(unaccent_function_sql(schema)))
            # Keep rows narrow: the full `document` (only read through its GIN index) and the
            # description go out of line; the small rank_document stays in the row.
            table_options = conn.scalar(
                sa.text(
                    "SELECT coalesce(array_to_string(reloptions, ','), '') FROM pg_class WHERE relname = 'search_documents'"
                )
            )
            if "toast_tuple_target=256" not in (table_options or ""):
                conn.execute(sa.text("ALTER TABLE search_documents SET (toast_tuple_target = 256)"))
                conn.execute(sa.text("ALTER TABLE search_documents ALTER COLUMN rank_document SET STORAGE MAIN"))
            indexes = search_indexes(with_unaccent=bool(schema))
            options = dict(
                conn.execute(
                    sa.text(
                        "SELECT relname, coalesce(array_to_string(reloptions, ','), '') FROM pg_class WHERE relname = ANY(:n)"
                    ),
                    {"n": list(indexes)},
                ).all()
            )
            for name, target in indexes.items():
                if name not in options:
                    conn.execute(sa.text(f"CREATE INDEX IF NOT EXISTS {name} ON {target} WITH (fastupdate = off)"))
                elif "fastupdate=off" not in options[name]:
                    conn.execute(sa.text(f"ALTER INDEX {name} SET (fastupdate = off)"))

    # --- query building ---------------------------------------------------------------------
    @staticmethod
    def _match(plan: QueryPlan, relaxed: bool = False) -> str:
        """Every slot (one of its alternatives) must match; relaxed: all slots but one."""
        slots = []
        for slot in plan.slots:
            alts = []
            for alt in slot.alternatives:
                parts = [_lex(t) for t in alt.folded]
                alts.append(parts[0] if len(parts) == 1 else "(" + " & ".join(parts) + ")")
            slots.append("(" + " | ".join(dict.fromkeys(alts)) + ")")
        if relaxed and len(slots) >= 3:
            combos = [" & ".join(slots[:i] + slots[i + 1 :]) for i in range(len(slots))]
            return " | ".join(f"({c})" for c in combos)
        return " & ".join(slots)

    @staticmethod
    def _rank_parts(plan: QueryPlan) -> list[tuple[float, str]]:
        typed_fold = [t for slot in plan.slots for t in slot.typed.folded]
        typed_exact = [t for slot in plan.slots for t in slot.typed.exact]
        synonyms = [
            ("x_" + t if plan.accented else t)
            for slot in plan.slots
            for alt in slot.alternatives[1:]
            for t in (alt.exact if plan.accented else alt.folded)
        ]
        parts = [(FOLD_WHEN_ACCENTED if plan.accented else 1.0, _or(typed_fold))]
        if plan.accented:
            parts.append((EXACT_WEIGHT, _or("x_" + t for t in typed_exact)))
        if plan.folded_bigrams:
            parts.append((BIGRAM_WEIGHT, _or("b_" + b for b in plan.folded_bigrams)))
        if synonyms:
            parts.append((SYNONYM_WEIGHT, _or(synonyms)))
        return parts

    @staticmethod
    def _filters(q: SearchQuery, params: dict) -> list[str]:
        where: list[str] = []
        if q.group:
            where.append("d.ocop_group = :group")
            params["group"] = q.group
        if q.min_stars:
            where.append(f"{VALID_STARS} >= :min_stars")
            params["min_stars"] = q.min_stars
        if q.district:
            where.append("d.district_key = :district")
            params["district"] = q.district
        if q.certification:
            where.append("position(:cert_needle in d.certifications) > 0")
            params["cert_needle"] = f";{q.certification};"
        if q.price_band:
            where.append("d.price_band = :price_band")
            params["price_band"] = q.price_band
        if q.price_max is not None:
            where.append("d.price_min <= :price_max")
            params["price_max"] = q.price_max
        if q.price_min is not None:
            where.append("coalesce(d.price_max, d.price_min, 0) >= :price_min")
            params["price_min"] = q.price_min
        if q.producer_id:
            where.append("d.producer_id = :producer_id")
            params["producer_id"] = q.producer_id
        return where

    @staticmethod
    def _order(sort: str, has_text: bool) -> str:
        return {
            "stars": "stars DESC, score DESC, product_id",
            "price_asc": "price_min ASC NULLS LAST, score DESC, product_id",
            "price_desc": "coalesce(price_max, price_min) DESC NULLS LAST, score DESC, product_id",
            "newest": "published_at DESC NULLS LAST, product_id DESC",
        }.get(
            sort,
            "score DESC, stars DESC, product_id"
            if has_text
            else "stars DESC, published_at DESC NULLS LAST, product_id",
        )

    def _page(
        self, session: Session, q: SearchQuery, plan: QueryPlan, today: date, relaxed: bool = False
    ) -> tuple[list, int, dict[str, dict[str, int]]]:
        """One statement: the page of hits, the total and (unless cached) the facet counts, all
        from the same materialised set of matches."""
        params: dict = {"today": today, "limit": q.per_page, "offset": (q.page - 1) * q.per_page}
        where = self._filters(q, params)
        score = "0.0"
        if not plan.empty:
            params["match"] = self._match(plan, relaxed)
            where.insert(0, "d.document @@ CAST(:match AS tsquery)")
            terms = []
            for i, (weight, tsq) in enumerate(self._rank_parts(plan)):
                params[f"rank{i}"] = tsq
                terms.append(f"{weight} * ts_rank('{RANK_WEIGHTS}', d.rank_document, CAST(:rank{i} AS tsquery), 0)")
            score = " + ".join(terms)
        key = (tuple(where), tuple(sorted((k, str(v)) for k, v in params.items() if k in FACET_PARAMS)))
        facets = self._cached_facets(key) if q.with_facets else empty_facets()
        order = self._order(q.sort, not plan.empty)
        facet_sql = (
            ""
            if facets is not None
            else """
            UNION ALL SELECT 'ocop_group', ocop_group, count(*), NULL, NULL, NULL, NULL, NULL, NULL, NULL
                FROM m GROUP BY ocop_group
            UNION ALL SELECT 'ocop_stars', stars::text, count(*), NULL, NULL, NULL, NULL, NULL, NULL, NULL
                FROM m GROUP BY stars
            UNION ALL SELECT 'district', district, count(*), NULL, NULL, NULL, NULL, NULL, NULL, NULL
                FROM m WHERE district <> '' GROUP BY district
            UNION ALL SELECT 'price_band', price_band, count(*), NULL, NULL, NULL, NULL, NULL, NULL, NULL
                FROM m WHERE price_band IS NOT NULL GROUP BY price_band
            UNION ALL SELECT 'certification', c, count(*), NULL, NULL, NULL, NULL, NULL, NULL, NULL
                FROM m, unnest(string_to_array(m.certifications, ';')) AS c WHERE c <> '' GROUP BY c"""
        )
        sql = f"""
            WITH m AS MATERIALIZED (
                SELECT d.product_id, d.ocop_group, d.district, d.price_band, d.certifications, d.price_min,
                       d.price_max, d.published_at, {VALID_STARS} AS stars, {score} AS score
                FROM search_documents d {"WHERE " + " AND ".join(where) if where else ""}),
            page AS (
                SELECT product_id, score, stars, row_number() OVER (ORDER BY {order}) AS rn
                FROM m ORDER BY {order} LIMIT :limit OFFSET :offset)
            SELECT 'hit' AS facet, NULL AS value, p.rn AS n, p.product_id, p.score, p.stars,
                   d.name, d.name_en, d.producer_name, d.description
                FROM page p JOIN search_documents d ON d.product_id = p.product_id
            UNION ALL SELECT 'total', NULL, count(*), NULL, NULL, NULL, NULL, NULL, NULL, NULL FROM m
            {facet_sql}
        """  # noqa: S608 - constant SQL fragments; every user value is a bound parameter
        hits: list = []
        total = 0
        counted = empty_facets()
        if not plan.empty:
            # The GIN index answers @@ exactly; a sequential scan would detoast every document.
            session.execute(sa.text("SET LOCAL enable_seqscan = off"))
        for row in session.execute(sa.text(sql), params):
            if row.facet == "hit":
                hits.append(row)
            elif row.facet == "total":
                total = row.n
            else:
                counted[row.facet][row.value] = row.n
        hits.sort(key=lambda r: r.n)
        if facets is None:
            facets = self._store_facets(key, counted if total else empty_facets())
        return hits, total, facets

    def _cached_facets(self, key: tuple) -> dict[str, dict[str, int]] | None:
        ttl = float(self.app.config.get("SEARCH_FACET_TTL", 10.0))
        with self._facet_lock:
            cached = self._facets.get(key)
            if cached is not None and time.monotonic() - cached[0] < ttl:
                return cached[1]
        return None

    def _store_facets(self, key: tuple, counted: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
        from marketplace.search.base import PRICE_BANDS

        def ordered(values: dict[str, int]) -> dict[str, int]:
            return dict(sorted(values.items(), key=lambda kv: (-kv[1], kv[0])))

        facets = {
            "ocop_group": ordered(counted["ocop_group"]),
            "ocop_stars": dict(sorted(counted["ocop_stars"].items(), key=lambda kv: -int(kv[0]))),
            "district": ordered(counted["district"]),
            "certification": ordered(counted["certification"]),
            "price_band": {c: counted["price_band"][c] for c in PRICE_BANDS if c in counted["price_band"]},
        }
        with self._facet_lock:
            if len(self._facets) > 512:
                self._facets.clear()
            self._facets[key] = (time.monotonic(), facets)
        return facets

    # --- search -----------------------------------------------------------------------------
    def query(self, query: SearchQuery) -> SearchResult:
        self.before_read()
        q = query.normalised()
        today = dates.today()
        plan = self.plan(q.text)
        suggestion: str | None = None
        corrected = False
        with Session(self._engine()) as session:

            def run(p: QueryPlan, relaxed: bool):
                page = self._page(session, q, p, today, relaxed)
                return page, page[1]

            self._tls.session = session
            try:
                (rows, total, facets), plan, suggestion, corrected = self.run_with_fallbacks(plan, q.fuzzy, run)
            finally:
                self._tls.session = None
        hits = [
            Hit(
                r.product_id,
                round(float(r.score), 4),
                make_highlights(plan, r.name, r.name_en, r.producer_name, r.description) if q.with_highlights else {},
            )
            for r in rows
        ]
        return SearchResult(hits, total, facets, suggestion, corrected, q.page, q.per_page)

    def _scalar(self, sql: str, **params):
        session = getattr(self._tls, "session", None)
        if session is not None:
            return session.execute(sa.text(sql), params).all()
        with Session(self._engine()) as own:
            return own.execute(sa.text(sql), params).all()

    def suggest(self, prefix: str, limit: int = 8) -> list[str]:
        self.before_read()
        exact = tokens((prefix or "")[:200])[:8]
        if not exact or limit <= 0:
            return []
        fold_toks = folded(exact)
        tsq = " & ".join([_lex(t) + ":AB" for t in fold_toks[:-1]] + [_lex(fold_toks[-1]) + ":*AB"])
        sql = f"""
            SELECT d.name, d.name_en, d.producer_name FROM search_documents d
            WHERE d.document @@ CAST(:q AS tsquery)
            ORDER BY {VALID_STARS} DESC, d.product_id LIMIT 500
        """  # noqa: S608 - constant SQL fragments; every user value is a bound parameter
        rows = self._scalar(sql, q=tsq, today=dates.today())
        return pick_suggestions(((r[0], r[1], r[2]) for r in rows), exact, limit)

    # --- spelling hooks ---------------------------------------------------------------------
    def has_term(self, token: str) -> bool:
        return bool(self._scalar("SELECT 1 FROM search_words WHERE folded = :t LIMIT 1", t=token))

    def known_terms(self, folded_tokens: list[str]) -> set[str]:
        if not folded_tokens:
            return set()
        rows = self._scalar("SELECT DISTINCT folded FROM search_words WHERE folded = ANY(:t)", t=list(folded_tokens))
        return {r[0] for r in rows}

    def has_exact(self, token: str) -> bool:
        return bool(self._scalar("SELECT 1 FROM search_words WHERE word = :t LIMIT 1", t=token))

    def has_bigram(self, folded_bigram: str) -> bool:
        rows = self._scalar(
            "SELECT 1 FROM search_documents d WHERE d.document @@ CAST(:q AS tsquery) LIMIT 1",
            q=_lex("b_" + folded_bigram),
        )
        return bool(rows)

    def similar_terms(self, token: str, maxdist: int) -> list[tuple[str, int]]:
        rows = self._scalar(
            "SELECT folded, count(*) AS n FROM search_words WHERE folded % :t AND left(folded, 1) = left(:t, 1)"
            " GROUP BY folded ORDER BY similarity(folded, :t) DESC LIMIT 30",
            t=token,
        )
        from marketplace.search.base import edit_distance

        return [(w, n) for w, n in rows if edit_distance(w, token, maxdist) <= maxdist]

    def exact_forms(self, folded_token: str) -> list[tuple[str, int]]:
        return [(w, 1) for (w,) in self._scalar("SELECT word FROM search_words WHERE folded = :f", f=folded_token)]

    # --- writing ----------------------------------------------------------------------------
    @staticmethod
    def _row(doc: ProductDoc) -> dict:
        return {
            "product_id": doc.product_id,
            "producer_id": doc.producer_id,
            "name": doc.name[:200],
            "name_en": doc.name_en[:200],
            "producer_name": doc.producer_name[:200],
            "district": doc.district[:80],
            "district_key": fold(doc.district)[:80],
            "description": doc.description,
            "ocop_group": doc.ocop_group,
            "certifications": (";" + ";".join(doc.certifications) + ";") if doc.certifications else "",
            "price_min": doc.price_min,
            "price_max": doc.price_max,
            "price_band": price_band(doc.price_min, doc.price_max),
            "cert_stars": doc.stars,
            "cert_verified": doc.verified,
            "cert_issued_on": doc.issued_on,
            "cert_expires_on": doc.expires_on,
            "published_at": doc.published_at,
            "document": tsvector_literal(doc),
            "rank_document": tsvector_literal(doc, RANK_GROUPS),
        }

    @staticmethod
    def _words(docs: Iterable[ProductDoc]) -> list[dict]:
        words: dict[str, str] = {}
        for doc in docs:
            for ft in doc.analysed().values():
                for exact, folded_tok in zip(ft.exact, ft.folded, strict=True):
                    if len(exact) <= 60:
                        words[exact] = folded_tok
        return [{"word": w, "folded": f} for w, f in words.items()]

    def _write(self, session: Session, docs: list[ProductDoc], deleted: list[int]) -> None:
        if deleted:
            session.execute(sa.delete(SearchDocument).where(SearchDocument.product_id.in_(deleted)))
        if docs:
            session.execute(UPSERT, [self._row(d) for d in docs])
            words = self._words(docs)
            if words:
                session.execute(INSERT_WORDS, words)

    def _lock(self, session: Session, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not session.execute(sa.text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": LOCK_KEY}).scalar():
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
        return True

    def drain(self, timeout: float = 0.25) -> DrainReport:
        engine = self._engine()
        if not outbox.available(engine):
            return DrainReport()
        report = DrainReport()
        for _ in range(50):
            with Session(engine) as session:
                if not outbox.has_rows(session):
                    return report
                if not self._lock(session, timeout):
                    report.busy = True
                    return report
                rows = outbox.read_rows(session)
                product_ids, producer_ids = outbox.targets(session, rows)
                if producer_ids:
                    ids = list(producer_ids)
                    product_ids |= set(
                        session.scalars(sa.select(SearchDocument.product_id).where(SearchDocument.producer_id.in_(ids)))
                    )
                ordered = sorted(product_ids)
                for start in range(0, len(ordered), 500):
                    docs = load_docs(session, ordered[start : start + 500])
                    self._write(
                        session,
                        [d for d in docs.values() if d is not None],
                        [i for i, d in docs.items() if d is None],
                    )
                outbox.delete_rows(session, [r.id for r in rows])
                session.commit()
                report.applied += len(rows)
            if len(product_ids) >= 1000:
                self._analyze()
            with self._facet_lock:
                self._facets.clear()
        report.remaining = True
        return report

    def index(self, docs: Iterable[ProductDoc]) -> int:
        batch: list[ProductDoc] = []
        n = 0
        with Session(self._engine()) as session:
            self._lock(session, 60)
            for doc in docs:
                batch.append(doc)
                if len(batch) >= 500:
                    self._write(session, batch, [])
                    n += len(batch)
                    batch = []
            self._write(session, batch, [])
            n += len(batch)
            session.commit()
        with self._facet_lock:
            self._facets.clear()
        return n

    def delete(self, product_ids: Iterable[int]) -> None:
        with Session(self._engine()) as session:
            self._lock(session, 60)
            self._write(session, [], list(product_ids))
            session.commit()

    def rebuild(self, progress: ProgressFn | None = None, only_if_missing: bool = False, drain: bool = True) -> int:
        """Replace the search rows in one transaction: readers see the old rows until commit,
        a crash rolls back to them. Drains wait (their rows stay queued) and run afterwards."""
        self.ensure_schema()
        count = 0
        with Session(self._engine()) as session:
            session.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOCK_KEY})
            from marketplace.search.base import count_public

            # rows committed before the products are read are covered by this rebuild
            covered = [r.id for r in outbox.read_rows(session, limit=None)]

            total = count_public(session) if progress else 0
            session.execute(sa.delete(SearchDocument))
            session.execute(sa.delete(SearchWord))
            batch: list[ProductDoc] = []
            for doc in iter_public_docs(session):
                batch.append(doc)
                if len(batch) >= 500:
                    self._write(session, batch, [])
                    count += len(batch)
                    batch = []
                    if progress:
                        progress(count, total)
            self._write(session, batch, [])
            count += len(batch)
            outbox.delete_rows(session, covered)
            session.commit()
        self._analyze(vacuum=True)
        with self._facet_lock:
            self._facets.clear()
        if progress:
            progress(count, count)
        if drain:
            self.drain(timeout=10)
        return count

    def _analyze(self, vacuum: bool = False) -> None:
        """Fresh planner statistics after bulk writes (autovacuum would get there later); after a
        rebuild also reclaim the replaced rows."""
        command = "VACUUM ANALYZE" if vacuum else "ANALYZE"
        try:
            with self._engine().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(sa.text(f"{command} search_documents"))
                conn.execute(sa.text(f"{command} search_words"))
        except sa.exc.DBAPIError as error:  # e.g. not the table owner: autovacuum will do it
            log.warning("%s search tables failed: %s", command, error)

    def doc_count(self) -> int:
        return self._scalar("SELECT count(*) FROM search_documents")[0][0]
