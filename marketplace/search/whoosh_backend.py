"""Whoosh backend: the embedded default (one machine; several processes may share the folder).

Layout under DATA_DIR/search/: products-<generation>/ index folders and CURRENT, a one-line file
naming the folder in use. `rebuild` writes a new folder and swaps CURRENT with os.replace, so a
crash mid-rebuild leaves the old index serving. Writers (outbox drains, rebuilds) take the index's
file lock (Whoosh's WRITELOCK) with a timeout; a busy lock leaves the outbox rows queued.

Documents are analysed by marketplace.search.analysis and stored as space-separated tokens, so
the schema uses Whoosh's own SpaceSeparatedTokenizer only (no stop words, nothing to unpickle).
Scoring runs over Whoosh's posting lists (see _run); filters, facets and sorts run in Python over a
per-segment cache of each document's small record: stars count only when valid on today's date,
which an index built yesterday cannot know.
"""

from __future__ import annotations

import logging
import math
import os
import re
import shutil
import threading
import time
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from sqlalchemy.orm import Session
from whoosh import index as whoosh_index
from whoosh.analysis import SpaceSeparatedTokenizer
from whoosh.fields import ID, STORED, TEXT, Schema
from whoosh.index import LockError
from whoosh.util.filelock import FileLock

from marketplace.core import dates
from marketplace.core import sqlite as sqlite_setup
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
    count_facets,
    count_public,
    empty_facets,
    iter_public_docs,
    load_docs,
    make_highlights,
    pick_suggestions,
    price_band,
)

log = logging.getLogger(__name__)

# Index field groups (each analysed group of a ProductDoc goes into one of them), with weights:
# name (vi and en) > place (producer, craft village, commune, district) > desc (description, tags).
GROUPS = ("name", "place", "desc")
SOURCES = {"name": ("name", "name_en"), "place": ("producer", "place"), "desc": ("desc", "tags")}
WEIGHTS = {"name": 6.0, "place": 3.0, "desc": 1.0}
BIGRAM_GROUPS = ("name", "place")
EXACT_BOOST = 1.2  # an exact (accented) match adds this much of the field weight again
FOLD_WHEN_ACCENTED = 0.3  # when the user typed diacritics, a match without them counts less
BIGRAM_BOOST = 1.5  # adjacent syllables found together ("nước mắm") add this much
SYNONYM_FACTOR = 0.6  # a synonym counts a little less than the word typed
POSTING_CACHE_IDS = 3_000_000  # ~100 MB of cached posting sets at most
FOLDER = re.compile(r"^products-(\d+)$")
POINTER = "CURRENT"


def _kinds(group: str) -> tuple[str, ...]:
    """f: folded syllables, x: exact syllables, b: folded adjacent-syllable bigrams."""
    return ("f", "x", "b") if group in BIGRAM_GROUPS else ("f", "x")


def make_schema() -> Schema:
    analyzer = SpaceSeparatedTokenizer()
    fields = {"product_id": ID(stored=True, unique=True), "producer_id": ID(), "meta": STORED()}
    for group in GROUPS:
        for kind in _kinds(group):
            # Scorable although we score from posting lists ourselves: without field lengths
            # Whoosh's segment writer stats the filesystem for every posting.
            fields[f"{group}_{kind}"] = TEXT(analyzer=analyzer, phrase=False)
    return Schema(**fields)


def document_fields(doc: ProductDoc) -> dict:
    fields: dict = {"product_id": str(doc.product_id), "producer_id": str(doc.producer_id)}
    analysed = doc.analysed()
    for group in GROUPS:
        parts = [analysed[source] for source in SOURCES[group]]
        values = {
            "f": [t for p in parts for t in p.folded],
            "x": [t for p in parts for t in p.exact],
            "b": [t for p in parts for t in p.folded_bigrams],
        }
        for kind in _kinds(group):
            fields[f"{group}_{kind}"] = " ".join(values[kind])
    fields["meta"] = {
        "id": doc.product_id,
        "producer_id": doc.producer_id,
        "name": doc.name,
        "name_en": doc.name_en,
        "producer": doc.producer_name,
        "district": doc.district,
        "desc": doc.description[:600],
        "group": doc.ocop_group,
        "certs": list(doc.certifications),
        "pmin": doc.price_min,
        "pmax": doc.price_max,
        "stars": doc.stars,
        "verified": doc.verified,
        "issued": doc.issued_on.toordinal() if doc.issued_on else 0,
        "expires": doc.expires_on.toordinal() if doc.expires_on else 0,
        "published": doc.published_at.timestamp() if isinstance(doc.published_at, datetime) else 0.0,
    }
    return fields


class Record:
    """The per-document facts that filters, facets, sorts and highlights need."""

    __slots__ = (
        "pid",
        "producer_id",
        "name",
        "name_en",
        "producer",
        "district",
        "district_key",
        "desc",
        "group",
        "certs",
        "pmin",
        "pmax",
        "band",
        "stars",
        "verified",
        "issued",
        "expires",
        "published",
    )

    def __init__(self, meta: dict) -> None:
        from marketplace.core.vn_text import fold

        self.pid = meta["id"]
        self.producer_id = meta["producer_id"]
        self.name = meta["name"]
        self.name_en = meta["name_en"]
        self.producer = meta["producer"]
        self.district = meta["district"]
        self.district_key = fold(meta["district"])
        self.desc = meta["desc"]
        self.group = meta["group"]
        self.certs = tuple(meta["certs"])
        self.pmin = meta["pmin"]
        self.pmax = meta["pmax"]
        self.band = price_band(meta["pmin"], meta["pmax"])
        self.stars = meta["stars"] or 0
        self.verified = bool(meta["verified"])
        self.issued = meta["issued"]
        self.expires = meta["expires"]
        self.published = meta["published"]

    def stars_on(self, day: int) -> int:
        if self.stars <= 0 or not self.verified:
            return 0
        if self.expires and self.expires <= day:
            return 0
        if self.issued and self.issued > day:
            return 0
        return self.stars


class WhooshBackend(SearchBackend):
    name = "whoosh"

    def __init__(self, app) -> None:
        super().__init__(app)
        self.root = Path(app.config["DATA_DIR"]) / "search"
        self._lock = threading.RLock()
        self._indexes: dict[str, object] = {}
        self._local = threading.local()
        self._searchers: list = []
        self._segments: dict[tuple[str, str], list[Record | None]] = {}
        self._tables: dict[tuple, list[Record | None]] = {}
        self._posting_cache: dict = {}
        self._pointer_cache: tuple[tuple[int, int], str | None] | None = None
        self._building = threading.local()

    # --- folders and the CURRENT pointer ----------------------------------------------------
    def ensure_schema(self) -> None:
        self._ensure()

    def current_name(self) -> str | None:
        pointer = self.root / POINTER
        try:
            st = os.stat(pointer)
        except OSError:
            return None
        stamp = (st.st_mtime_ns, st.st_ino)
        cached = self._pointer_cache
        if cached is not None and cached[0] == stamp:
            return cached[1]
        try:
            name = pointer.read_text(encoding="utf-8").strip()
        except OSError:
            return None
        if not FOLDER.match(name) or not whoosh_index.exists_in(self.root / name):
            name = None
        self._pointer_cache = (stamp, name)
        return name

    def _write_pointer(self, name: str) -> None:
        tmp = self.root / f".{POINTER}.{os.getpid()}.{threading.get_ident()}"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(name + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.root / POINTER)
        try:
            fd = os.open(self.root, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError:  # pragma: no cover - some filesystems refuse directory fsync
            pass

    def _index(self, name: str):
        with self._lock:
            ix = self._indexes.get(name)
            if ix is None:
                ix = whoosh_index.open_dir(str(self.root / name))
                self._indexes[name] = ix
            return ix

    def _ensure(self) -> str:
        name = self.current_name()
        if name is not None:
            return name
        # A lazy first build happens inside a reader's request, whose session may hold SQLite's
        # write lock: it must not write to the database (no outbox deletes, no drain). The
        # queued rows stay and the next drain applies them again, which is idempotent.
        self.rebuild(only_if_missing=True, drain=False, consume_outbox=False)
        name = self.current_name()
        if name is None:  # pragma: no cover - rebuild always writes the pointer
            raise RuntimeError("search index could not be created")
        return name

    def _next_name(self) -> str:
        numbers = [int(m.group(1)) for p in self.root.iterdir() if (m := FOLDER.match(p.name))]
        return f"products-{max(numbers, default=0) + 1}"

    # --- reading ----------------------------------------------------------------------------
    def _searcher(self):
        name = self._ensure()
        local = self._local
        searcher = getattr(local, "searcher", None)
        if searcher is None or local.name != name:
            if searcher is not None:
                searcher.close()
            searcher = self._index(name).searcher()
            local.searcher, local.name = searcher, name
            with self._lock:
                self._searchers.append(searcher)
        elif not searcher.up_to_date():
            # A fresh searcher, not searcher.refresh(): Whoosh's reader reuse keeps a segment's
            # old deletions, so an updated document would still match under its old values.
            fresh = self._index(name).searcher()
            searcher.close()
            with self._lock:
                self._searchers = [s for s in self._searchers if s is not searcher] + [fresh]
            searcher = local.searcher = fresh
        return searcher, name

    def _table(self, searcher, name: str) -> list[Record | None]:
        reader = searcher.reader()
        if reader.doc_count_all() == 0:
            return []
        leaves = reader.leaf_readers()
        key = (name, tuple(seg.segment().segment_id() for seg, _ in leaves))
        table = self._tables.get(key)
        if table is not None:
            return table
        table = []
        seen = set()
        for seg, offset in leaves:
            seg_key = (name, seg.segment().segment_id())
            seen.add(seg_key)
            records = self._segments.get(seg_key)
            if records is None:
                records = []
                for docnum in range(seg.doc_count_all()):
                    meta = seg.stored_fields(docnum).get("meta")
                    records.append(Record(meta) if meta else None)
                self._segments[seg_key] = records
            if offset != len(table):  # pragma: no cover - whoosh keeps leaves contiguous
                table.extend([None] * (offset - len(table)))
            table.extend(records)
        with self._lock:
            self._segments = {k: v for k, v in self._segments.items() if k in seen}
            self._tables = {key: table}
        return table

    # --- scoring ----------------------------------------------------------------------------
    # Whoosh stores the index and answers posting lists; scoring is done here over those lists
    # (sets and dicts run at C speed, Whoosh's matcher trees in Python do not). A term adds
    # weight(field group) x idf(term) to each document that has it; exact (accented) forms count
    # more when the user typed diacritics; adjacent-syllable bigrams add a phrase bonus. No
    # term-frequency or length normalisation: a product name is short and says a word once.

    def _postings(self, reader, key: tuple, fieldname: str, term: str) -> frozenset[int]:
        """The documents having the term, cached per index generation (bounded: about
        POSTING_CACHE_IDS document numbers in all)."""
        cache = self._posting_cache
        if cache.get("key") != key:
            cache.clear()
            cache["key"] = key
            cache["size"] = 0
        found = cache.get((fieldname, term))
        if found is None:
            try:
                found = (
                    frozenset(reader.postings(fieldname, term).all_ids())
                    if (fieldname, term) in reader
                    else frozenset()
                )
            except Exception:  # noqa: BLE001 - a term Whoosh cannot read matches nothing
                found = frozenset()
            if cache.get("size", 0) + len(found) > POSTING_CACHE_IDS:
                cache.clear()
                cache["key"] = key
                cache["size"] = 0
            cache[(fieldname, term)] = found
            cache["size"] = cache.get("size", 0) + len(found) + 1
        return found

    def _run(self, searcher, plan: QueryPlan, relaxed: bool = False) -> list[tuple[float, int]]:
        """All matches as (score, docnum), best first: every slot must match, or (relaxed) any."""
        reader = searcher.reader()
        key = (getattr(self._local, "name", None), reader.generation())
        total = max(1, reader.doc_count_all())
        scores: dict[int, float] = {}
        accented = plan.accented

        def add(ids: frozenset[int], weight: float) -> None:
            if not ids:
                return
            value = weight * math.log(1.0 + (total - len(ids) + 0.5) / (len(ids) + 0.5))
            get = scores.get
            for docnum in ids:
                scores[docnum] = get(docnum, 0.0) + value

        slot_sets: list[set[int]] = []
        for slot in plan.slots:
            slot_docs: set[int] = set()
            for alt in slot.alternatives:
                factor = SYNONYM_FACTOR if alt.synonym else 1.0
                alt_docs: set[int] | None = None
                for folded_tok, exact_tok in zip(alt.folded, alt.exact, strict=True):
                    token_docs: set[int] = set()
                    for group in GROUPS:
                        weight = WEIGHTS[group] * factor
                        ids = self._postings(reader, key, f"{group}_f", folded_tok)
                        token_docs |= ids
                        if accented:
                            add(ids, weight * FOLD_WHEN_ACCENTED)
                            add(self._postings(reader, key, f"{group}_x", exact_tok), weight * EXACT_BOOST)
                        else:
                            add(ids, weight)
                    alt_docs = token_docs if alt_docs is None else alt_docs & token_docs
                slot_docs |= alt_docs or set()
            slot_sets.append(slot_docs)
        if relaxed:  # all words but one
            if len(slot_sets) < 3:
                return []
            counts: Counter[int] = Counter()
            for docs in slot_sets:
                counts.update(docs)
            need = len(slot_sets) - 1
            matched = {d for d, n in counts.items() if n >= need}
        else:
            slot_sets.sort(key=len)
            matched = set(slot_sets[0]).intersection(*slot_sets[1:]) if slot_sets else set()
        if not matched:
            return []
        for bigram in plan.folded_bigrams:
            for group in BIGRAM_GROUPS:
                add(self._postings(reader, key, f"{group}_b", bigram), WEIGHTS[group] * BIGRAM_BOOST)
        found = [(scores.get(d, 0.0), d) for d in matched]
        found.sort(key=lambda sd: (-sd[0], sd[1]))
        return found

    # --- search -----------------------------------------------------------------------------
    def query(self, query: SearchQuery) -> SearchResult:
        self.before_read()
        q = query.normalised()
        day = dates.today().toordinal()
        searcher, name = self._searcher()
        table = self._table(searcher, name)
        plan = self.plan(q.text)
        suggestion: str | None = None
        corrected = False
        if plan.empty:
            scored = [(0.0, docnum) for docnum in searcher.reader().all_doc_ids()]
        else:

            def run(p: QueryPlan, relaxed: bool):
                found = self._run(searcher, p, relaxed)
                return found, len(found)

            scored, plan, suggestion, corrected = self.run_with_fallbacks(plan, q.fuzzy, run)
        rows: list[tuple[float, Record, int]] = []
        for score, docnum in scored:
            rec = table[docnum] if docnum < len(table) else None
            if rec is None:
                continue
            stars = rec.stars_on(day)
            if self._keep(q, rec, stars):
                rows.append((score, rec, stars))
        facets = (
            count_facets((r.group, s, r.district, r.certs, r.band) for _, r, s in rows)
            if q.with_facets
            else empty_facets()
        )
        rows.sort(key=self._sort_key(q.sort, bool(plan.tokens)))
        start = (q.page - 1) * q.per_page
        hits = [
            Hit(
                rec.pid,
                round(score, 4),
                make_highlights(plan, rec.name, rec.name_en, rec.producer, rec.desc) if q.with_highlights else {},
            )
            for score, rec, _ in rows[start : start + q.per_page]
        ]
        return SearchResult(hits, len(rows), facets, suggestion, corrected, q.page, q.per_page)

    @staticmethod
    def _keep(q: SearchQuery, rec: Record, stars: int) -> bool:
        if q.group and rec.group != q.group:
            return False
        if q.min_stars and stars < q.min_stars:
            return False
        if q.district and rec.district_key != q.district:
            return False
        if q.certification and q.certification not in rec.certs:
            return False
        if q.price_band and rec.band != q.price_band:
            return False
        if q.price_max is not None and (rec.pmin is None or rec.pmin > q.price_max):
            return False
        if q.price_min is not None and ((rec.pmax if rec.pmax is not None else rec.pmin) or 0) < q.price_min:
            return False
        return not (q.producer_id and rec.producer_id != q.producer_id)

    @staticmethod
    def _sort_key(sort: str, has_text: bool):
        if sort == "stars":
            return lambda r: (-r[2], -r[0], r[1].pid)
        if sort == "price_asc":
            return lambda r: (r[1].pmin is None, r[1].pmin or 0, -r[0], r[1].pid)
        if sort == "price_desc":
            return lambda r: (
                r[1].pmax is None and r[1].pmin is None,
                -((r[1].pmax if r[1].pmax is not None else r[1].pmin) or 0),
                -r[0],
                r[1].pid,
            )
        if sort == "newest":
            return lambda r: (-r[1].published, -r[1].pid)
        if has_text:
            return lambda r: (-round(r[0], 6), -r[2], r[1].pid)
        return lambda r: (-r[2], -r[1].published, r[1].pid)

    def suggest(self, prefix: str, limit: int = 8) -> list[str]:
        self.before_read()
        exact = tokens((prefix or "")[:200])[:8]
        if not exact or limit <= 0:
            return []
        fold = folded(exact)
        searcher, name = self._searcher()
        reader = searcher.reader()
        table = self._table(searcher, name)
        key = (name, reader.generation())
        # candidates: documents with every earlier word (name or place) and a name or producer
        # word starting with the last one
        candidates: set[int] | None = None
        for token in fold[:-1]:
            docs = self._postings(reader, key, "name_f", token) | self._postings(reader, key, "place_f", token)
            candidates = set(docs) if candidates is None else candidates & docs
        if candidates is None and len(fold[-1]) >= 3:
            candidates = set()
            for fieldname in ("name_f", "place_f"):
                for raw in reader.expand_prefix(fieldname, fold[-1]):
                    term = raw.decode("utf-8") if isinstance(raw, bytes) else raw
                    candidates |= self._postings(reader, key, fieldname, term)
        day = dates.today().toordinal()
        if candidates is None:  # one or two letters: walk the live documents, best first
            candidates = set(reader.all_doc_ids())
        rows = [table[d] for d in candidates if d < len(table) and table[d] is not None]
        rows.sort(key=lambda r: (-r.stars_on(day), r.pid))
        return pick_suggestions(((r.name, r.name_en, r.producer) for r in rows), exact, limit)

    # --- spelling hooks ---------------------------------------------------------------------
    def _reader(self):
        return self._searcher()[0].reader()

    def has_term(self, token: str) -> bool:
        reader = self._reader()
        return any((f"{g}_f", token) in reader for g in GROUPS)

    def has_exact(self, token: str) -> bool:
        reader = self._reader()
        return any((f"{g}_x", token) in reader for g in GROUPS)

    def has_bigram(self, folded_bigram: str) -> bool:
        reader = self._reader()
        return any((f"{g}_b", folded_bigram) in reader for g in BIGRAM_GROUPS)

    def similar_terms(self, token: str, maxdist: int) -> list[tuple[str, int]]:
        reader = self._reader()
        counts: Counter[str] = Counter()
        for group in GROUPS:
            fieldname = f"{group}_f"
            for term in reader.terms_within(fieldname, token, maxdist, prefix=1):
                counts[term] += reader.doc_frequency(fieldname, term)
        return list(counts.items())

    def exact_forms(self, folded_token: str) -> list[tuple[str, int]]:
        """Accented spellings of a folded term: scan the exact lexicons from the first letter's
        variants only (a → a, à, á, â, ầ…)."""
        if not folded_token:
            return []
        reader = self._reader()
        from marketplace.core.vn_text import fold

        counts: Counter[str] = Counter()
        for letter in _letter_variants(folded_token[0]):
            for group in GROUPS:
                fieldname = f"{group}_x"
                for raw in reader.expand_prefix(fieldname, letter):
                    term = raw.decode("utf-8") if isinstance(raw, bytes) else raw
                    if len(term) == len(folded_token) and fold(term) == folded_token:
                        counts[term] += reader.doc_frequency(fieldname, term)
        return list(counts.items())

    # --- writing ----------------------------------------------------------------------------
    def _writer(self, timeout: float):
        """A writer on the CURRENT index, or LockError when another writer holds it."""
        for _ in range(5):
            name = self._ensure()
            writer = self._index(name).writer(timeout=timeout, delay=0.05, limitmb=256)
            if self.current_name() == name:
                return writer
            writer.cancel()  # a rebuild swapped the pointer while we waited: use the new index
        raise LockError("search index keeps changing")

    def _engine(self):
        from marketplace.extensions import db

        return db.engine

    def drain(self, timeout: float = 0.25) -> DrainReport:
        engine = self._engine()
        if not outbox.available(engine):
            return DrainReport()
        report = DrainReport()
        # This thread's own write request holds SQLite's write lock (BEGIN IMMEDIATE, see
        # core/sqlite.py): apply the rows to the index but leave them queued (deleting them would
        # wait for our own lock); re-applying them later is idempotent.
        consume = not sqlite_setup.thread_holds_write_lock()
        for _ in range(50 if consume else 1):
            with Session(engine) as session:
                if not outbox.has_rows(session):
                    return report
            try:
                writer = self._writer(timeout)
            except LockError:
                report.busy = True
                return report
            rows: list = []
            try:
                with Session(engine) as session:
                    rows = outbox.read_rows(session)
                    if not rows:
                        writer.cancel()
                        writer = None
                        return report
                    product_ids, producer_ids = outbox.targets(session, rows)
                    with writer.searcher() as ws:
                        for producer_id in producer_ids:
                            for stored in ws.documents(producer_id=str(producer_id)):
                                product_ids.add(int(stored["product_id"]))
                        ids = sorted(product_ids)
                        for start in range(0, len(ids), 500):
                            docs = load_docs(session, ids[start : start + 500])
                            _replace(writer, ws, docs)
                    writer.commit()
                    writer = None
                    if not consume:
                        self.pending = True  # delete them at the next read or drain
                        report.applied += len(rows)
                        return report
                    outbox.delete_rows(session, [r.id for r in rows])
                    session.commit()
                    report.applied += len(rows)
            except OSError as error:
                # Disk full or read-only: the index keeps its last commit, the rows stay queued.
                log.warning("search index write failed (%s); %d queued changes kept", error, len(rows))
                report.busy = True
                return report
            finally:
                if writer is not None:
                    try:
                        writer.cancel()
                    except Exception:  # noqa: BLE001 - after a failed commit cancel may fail too
                        log.warning("search index writer could not be cancelled", exc_info=True)
        report.remaining = True
        return report

    def index(self, docs: Iterable[ProductDoc]) -> int:
        writer = self._writer(timeout=60)
        n = 0
        try:
            with writer.searcher() as ws:
                batch: dict[int, ProductDoc | None] = {}
                for doc in docs:
                    batch[doc.product_id] = doc
                    if len(batch) >= 500:
                        n += _replace(writer, ws, batch)
                        batch = {}
                n += _replace(writer, ws, batch)
            writer.commit()
        except BaseException:
            writer.cancel()
            raise
        return n

    def delete(self, product_ids: Iterable[int]) -> None:
        writer = self._writer(timeout=60)
        try:
            for product_id in product_ids:
                writer.delete_by_term("product_id", str(product_id))
            writer.commit()
        except BaseException:
            writer.cancel()
            raise

    def rebuild(
        self,
        progress: ProgressFn | None = None,
        only_if_missing: bool = False,
        drain: bool = True,
        consume_outbox: bool = True,
    ) -> int:
        """Build a new index folder from the database and swap CURRENT to it. With
        `consume_outbox`, the queued outbox rows the build covers are deleted after the swap."""
        if getattr(self._building, "active", False):
            return 0
        self.root.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(self.root / "REINDEX.lock"))
        deadline = time.monotonic() + 3600
        while not lock.acquire(blocking=False):
            if time.monotonic() > deadline:  # pragma: no cover
                raise LockError("another reindex is running")
            time.sleep(0.1)
        self._building.active = True
        count = 0
        try:
            old = self.current_name()
            if only_if_missing and old is not None:
                return 0
            old_writer = self._index(old).writer(timeout=300, delay=0.1) if old else None
            new = self._next_name()
            path = self.root / new
            try:
                path.mkdir()
                ix = whoosh_index.create_in(str(path), make_schema())
                engine = self._engine()
                with Session(engine) as session:
                    # Queued rows committed before the products are read are covered by this
                    # build: they are deleted after the swap (later ones are drained as usual).
                    covered = (
                        [r.id for r in outbox.read_rows(session, limit=None)]
                        if consume_outbox and outbox.available(engine)
                        else []
                    )
                    total = count_public(session) if progress else 0
                    writer = ix.writer(limitmb=256)
                    try:
                        for doc in iter_public_docs(session):
                            writer.add_document(**document_fields(doc))
                            count += 1
                            if progress and (count % 200 == 0 or count == total):
                                progress(count, total)
                        writer.commit()
                    except BaseException:
                        writer.cancel()
                        raise
                self._write_pointer(new)
                if covered:
                    with Session(engine) as session:
                        outbox.delete_rows(session, covered)
                        session.commit()
            except BaseException:
                shutil.rmtree(path, ignore_errors=True)
                raise
            finally:
                if old_writer is not None:
                    old_writer.cancel()
            self._cleanup(keep={new, old})
        finally:
            self._building.active = False
            lock.release()
        if progress:
            progress(count, count)
        if drain:  # what was committed during the rebuild (the old index was locked)
            self.drain(timeout=10)
        return count

    def _cleanup(self, keep: set[str | None]) -> None:
        for path in self.root.iterdir():
            if FOLDER.match(path.name) and path.name not in keep:
                shutil.rmtree(path, ignore_errors=True)
                with self._lock:
                    self._indexes.pop(path.name, None)

    def doc_count(self) -> int:
        searcher, _ = self._searcher()
        return searcher.doc_count()

    def close(self) -> None:
        with self._lock:
            for searcher in self._searchers:
                try:
                    searcher.close()
                except Exception:  # noqa: S110 - closing twice is harmless
                    pass
            self._searchers = []
            self._indexes.clear()
            self._segments.clear()
            self._tables.clear()
        self._local = threading.local()


def _replace(writer, searcher, docs: dict[int, ProductDoc | None]) -> int:
    """Delete the committed documents of these products and add the public ones again, with one
    searcher for the whole batch (update_document would open a searcher per document)."""
    added = 0
    for product_id, doc in docs.items():
        for docnum in searcher.document_numbers(product_id=str(product_id)):
            writer.delete_document(docnum)
        if doc is not None:
            writer.add_document(**document_fields(doc))
            added += 1
    return added


@lru_cache(maxsize=64)
def _letter_variants(letter: str) -> tuple[str, ...]:
    """Every lower-case Vietnamese letter that folds to `letter`."""
    from marketplace.core.vn_text import fold

    candidates = "aàáảãạăằắẳẵặâầấẩẫậbcdđeèéẻẽẹêềếểễệghiìíỉĩịklmnoòóỏõọôồốổỗộơờớởỡợpqrstuùúủũụưừứửữựvxyỳýỷỹỵ"
    found = tuple(ch for ch in candidates if fold(ch) == letter)
    return found or (letter,)
