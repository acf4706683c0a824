"""Evaluate matching: labelled needs on the sample data, and on the demo catalogue with latency.

    .venv/bin/python bench/match_eval.py                       # sample data + 7,200 demo products
    .venv/bin/python bench/match_eval.py --sizes 7200 100000   # also 100,000 (slow to generate once)
    .venv/bin/python bench/match_eval.py --source search       # candidates from the search backend

Prints Markdown tables (docs/matching.md records them). Metrics:
- precision@5: of the (at most 5) suppliers shown first, the share that are right; a need with no
  right supplier scores 1 when nothing is shown, 0 otherwise. On the sample data "right" is the
  hand label; on the demo catalogue it is silver: the product's name holds the need's key words.
- recall@5: right suppliers in the top 5 / min(5, number of right suppliers) (gold labels only).
- best supplier: share of needs whose first supplier is the labelled best one.
- violations: results breaking a hard constraint, checked independently on the database rows (must be 0).
- latency: one services.match() call (retrieval, database reads, scoring, sales points, reasons),
  warm, p50/p95/max over every need repeated --repeat times.
Demo databases are generated once under --workdir (SQLite) and reused.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VERBOSE = False
GENERATED_MAX = 7200  # the demo generator's city (larger sizes are clones of it, see clone_catalogue)
sys.path.insert(0, str(ROOT))
os.environ.setdefault("MARKETPLACE_TODAY", "2026-12-01")


@dataclass(frozen=True)
class Labelled:
    text: str
    fields: dict = field(default_factory=dict)
    relevant: frozenset[str] = frozenset()  # sample refs that rightly answer the need
    best: str | None = None  # the one that should come first
    keys: tuple[str, ...] = ()  # demo catalogue: a right product's folded name holds one of these


def need(text, relevant=(), best=None, keys=(), **fields) -> Labelled:
    """A labelled need; with one right supplier, it is also the best one."""
    if best is None and len(relevant) == 1:
        best = next(iter(relevant))
    return Labelled(text, fields, frozenset(relevant), best, tuple(keys))


# 40 needs a buyer might type, labelled by hand against marketplace/data/sample_products.csv.
NEEDS: tuple[Labelled, ...] = (
    need("miến dong", {"S-0009"}, keys=["mien dong"], quantity=500, unit="kg", min_stars=4),
    need(
        "cần mua 500 kg miến dong loại ngon làm quà tặng, giao tới Cầu Giấy",
        {"S-0009", "S-0010"},
        "S-0009",
        ["mien dong"],
    ),
    need("miến dong giá dưới 60.000", {"S-0010"}, keys=["mien dong"], max_price_vnd=60000),
    need("bộ bát đĩa gốm Bát Tràng làm quà tặng khách hàng", {"S-0003", "S-0004"}, "S-0003", ["bat dia", "gom"]),
    need("lọ hoa gốm men rạn", {"S-0004"}, keys=["lo hoa", "binh hoa", "gom"]),
    need("làn mây đan tay xuất khẩu 1.000 chiếc", {"S-0001"}, keys=["may"]),
    need("lan may dan", {"S-0001"}, keys=["may"]),
    need("đèn tre trang trí cho nhà hàng", {"S-0002"}, keys=["den"]),
    need("khăn lụa tơ tằm", {"S-0005"}, keys=["lua", "to tam"]),
    need("silk scarf", {"S-0005"}, keys=["lua", "to tam"]),
    need("áo sơ mi may đo cho nhân viên 300 chiếc", {"S-0006"}, keys=["ao so mi"]),
    need("nón lá làm quà lưu niệm cho du khách", {"S-0007"}, keys=["non la"]),
    need("hộp sơn mài", {"S-0008"}, keys=["son mai"]),
    need("bánh chưng Tết 2.000 chiếc", {"S-0011"}, keys=["banh chung"]),
    need("cốm làng Vòng", {"S-0012"}, keys=["com"]),
    need("bưởi Diễn OCOP 4 sao", set(), keys=["buoi"]),  # its 4★ certificate expired in 2025
    need("sữa tươi cho trường học 2.000 lít mỗi tháng", {"S-0014"}, keys=["sua"]),
    need("sữa tươi 100.000 lít", set(), keys=["sua"]),  # more than anyone makes
    need("mật ong hoa nhãn nguyên chất", {"S-0015"}, keys=["mat ong"]),
    need("mật ong 4 sao", set(), keys=["mat ong"]),  # the sample's honey is 3★
    need("trà sen Tây Hồ làm quà biếu", {"S-0016"}, keys=["tra sen", "che sen", "sen"]),
    need("chè xanh Ba Vì 50 kg", {"S-0017"}, keys=["che", "tra"]),
    need("rượu mơ", {"S-0018"}, keys=["ruou mo"]),
    need("cao ích mẫu", {"S-0019"}, keys=["ich mau"]),
    need("thuốc tắm người Dao đỏ", {"S-0020"}, keys=["thuoc tam"]),
    need("cây đào thế chơi Tết", {"S-0021"}, keys=["dao"]),
    need("quất cảnh", {"S-0022"}, keys=["quat canh", "quat"]),
    need("tour làng cổ Đường Lâm cho đoàn 30 khách", {"S-0023"}, keys=["duong lam", "lang co"]),
    need("trải nghiệm làm gốm cho học sinh", {"S-0024"}, keys=["gom"], ocop_group="tourism"),
    need("gạo nếp cái hoa vàng 1 tấn", {"S-0025"}, keys=["nep"]),
    need("glutinous rice", {"S-0025"}, keys=["nep"]),
    need("rau hữu cơ cho bếp ăn công ty", {"S-0027"}, keys=["rau"]),
    need("gà Mía Sơn Tây", {"S-0028"}, keys=["ga mia", "ga"]),
    need("tranh khảm trai", {"S-0029"}, keys=["kham trai"]),
    need("quạt giấy in logo 500 chiếc", {"S-0030"}, keys=["quat giay", "quat"]),
    need("tượng gỗ sơn son thếp vàng", {"S-0031"}, keys=["tuong"]),
    need("áo len đan", {"S-0032"}, keys=["ao len"]),
    need("bánh cuốn Thanh Trì", {"S-0033"}, keys=["banh cuon"]),
    need("nấm linh chi đỏ", {"S-0034"}, keys=["linh chi"]),
    need("vịt cỏ Vân Đình", {"S-0035"}, keys=["vit"]),
)


def make_app(data_dir: Path, source: str):
    from config import TestConfig
    from marketplace import create_app

    data_dir.mkdir(parents=True, exist_ok=True)
    return create_app(
        TestConfig,
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{data_dir / 'marketplace.db'}",
            "DATA_DIR": data_dir,
            "MATCH_CANDIDATES": source,
            "MATCH_INDEX_CHECK_SECONDS": 2.0,  # as served: the catalogue version is checked every 2 s
        },
    )


def run_need(item: Labelled):
    from marketplace.matching.services import build_need, match

    built, warnings = build_need(item.text, **item.fields)
    return match(built, warnings)


def violations(result) -> int:
    """Hard constraints re-checked on the ORM rows, independently of the scorer."""
    from marketplace.catalog.stars import effective_stars

    need_ = result.need
    bad = 0
    for found in result.suppliers:
        p = found.product
        wrong = (
            p.status != "published"
            or p.hidden
            or (need_.ocop_group and p.ocop_group != need_.ocop_group)
            or effective_stars(p.certificate) < need_.min_stars
            or (
                need_.max_price_vnd is not None
                and p.price_min_vnd is not None
                and p.price_min_vnd > need_.max_price_vnd
            )
        )
        if need_.quantity is not None and need_.unit and (p.unit or "").lower() == need_.unit:
            wrong = wrong or (p.monthly_capacity is not None and p.monthly_capacity < need_.quantity)
            wrong = wrong or (p.moq is not None and p.moq > need_.quantity)
        bad += bool(wrong) + (not found.reasons)
    for found in result.sales_points:
        bad += found.point.status != "approved"
    return bad


def silver(product, keys: tuple[str, ...]) -> bool:
    from marketplace.core.vn_text import fold

    name = f"{fold(product.name)} {fold(product.name_en)}"
    return any(key in name for key in keys)


@dataclass
class Quality:
    needs: int = 0
    empty: int = 0  # needs with no supplier at all
    precision: list[float] = field(default_factory=list)
    recall: list[float] = field(default_factory=list)
    best_hits: int = 0
    best_total: int = 0
    violations: int = 0


def evaluate(gold: bool) -> Quality:
    q = Quality()
    for item in NEEDS:
        result = run_need(item)
        top = [s.product for s in result.suppliers[:5]]
        q.needs += 1
        q.violations += violations(result)
        right = [p for p in top if (p.ref in item.relevant if gold else silver(p, item.keys))]
        if top:
            q.precision.append(len(right) / len(top))
        elif gold:  # nothing shown: right when nothing was right
            q.precision.append(0.0 if item.relevant else 1.0)
        if not top:
            q.empty += 1
        if gold and item.relevant:
            q.recall.append(len(right) / min(5, len(item.relevant)))
        if gold and item.best:
            q.best_total += 1
            q.best_hits += bool(top) and top[0].ref == item.best
        if VERBOSE and (len(right) < len(top) or (gold and item.best and (not top or top[0].ref != item.best))):
            print(f"  {item.text!r}: {[p.ref + ' ' + p.name for p in top]}", file=sys.stderr)
    return q


def latency(repeat: int) -> tuple[float, float, float]:
    for item in NEEDS:  # warm: index built, caches filled
        run_need(item)
    times: list[float] = []
    for _ in range(repeat):
        for item in NEEDS:
            start = time.perf_counter()
            run_need(item)
            times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[int(0.95 * (len(times) - 1))], times[-1]


def load_samples() -> None:
    from marketplace.data import SAMPLE_PRODUCTS, SAMPLE_SALES_POINTS
    from marketplace.extensions import db
    from marketplace.imports.reading import validate_products, validate_sales_points
    from marketplace.imports.services import import_products, import_sales_points

    db.create_all()
    import_products(validate_products(SAMPLE_PRODUCTS)[0])
    import_sales_points(validate_sales_points(SAMPLE_SALES_POINTS)[0])
    db.session.commit()


def ensure_demo(size: int, workdir: Path, source: str):
    """An app on a demo database of `size` products (generated once, then reused)."""
    import sqlalchemy as sa

    from marketplace.catalog.models import Product
    from marketplace.extensions import db

    folder = workdir / f"match-{size}"
    app = make_app(folder, source)
    with app.app_context():
        db.create_all()
        count = db.session.scalar(sa.select(sa.func.count(Product.id))) or 0
        if count < size:
            if count:
                raise SystemExit(f"{folder} holds {count} products, not {size}: delete it first")
            from marketplace.demo.services import seed_demo

            base = min(size, GENERATED_MAX)
            print(f"generating {base} demo products in {folder} (once)…", file=sys.stderr, flush=True)
            started = time.perf_counter()
            seed_demo(base)
            db.session.commit()
            if size > base:
                clone_catalogue(size)
            print(f"  done in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    return app


def clone_catalogue(size: int) -> None:
    """Grow the generated catalogue to `size` products by copying its products (new refs, same
    producers, texts, prices and certificates): the demo generator makes at most GENERATED_MAX."""
    import sqlalchemy as sa

    from marketplace.catalog.models import Certificate, Product
    from marketplace.extensions import db

    products = Product.__table__
    certificates = Certificate.__table__
    rows = [dict(r._mapping) for r in db.session.execute(sa.select(products))]
    certs = {r.product_id: dict(r._mapping) for r in db.session.execute(sa.select(certificates))}
    next_id = max(r["id"] for r in rows) + 1
    copy = 1
    total = len(rows)
    while total < size:
        batch, cert_batch = [], []
        for row in rows[: size - total]:
            new = dict(row, id=next_id, ref=f"{row['ref']}-C{copy}")
            batch.append(new)
            if row["id"] in certs:
                cert_batch.append(dict(certs[row["id"]], id=None, product_id=next_id))
            next_id += 1
        db.session.execute(products.insert(), batch)
        if cert_batch:
            db.session.execute(certificates.insert(), [{k: v for k, v in c.items() if k != "id"} for c in cert_batch])
        db.session.commit()
        total += len(batch)
        copy += 1


def index_stats() -> tuple[float, int, int]:
    """Seconds to build the matching index from scratch, products, postings."""
    from flask import current_app

    from marketplace.matching.retrieval import EXTENSION_KEY, IndexHolder

    holder = IndexHolder()
    started = time.perf_counter()
    holder._build(current_app._get_current_object())
    seconds = time.perf_counter() - started
    current_app.extensions[EXTENSION_KEY] = holder
    return seconds, holder.index.size, len(holder.index.postings)


def pct(values: list[float]) -> str:
    return f"{100 * statistics.mean(values):.0f} %" if values else "–"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="*", default=[7200], help="demo catalogue sizes (default 7200)")
    parser.add_argument("--workdir", type=Path, default=ROOT / "instance" / "bench")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--source", choices=("index", "search"), default="index", help="MATCH_CANDIDATES")
    parser.add_argument("--verbose", action="store_true", help="list the needs whose top 5 holds a wrong supplier")
    args = parser.parse_args()
    global VERBOSE
    VERBOSE = args.verbose

    print(f"## Matching evaluation ({len(NEEDS)} labelled needs, candidates: {args.source})\n")
    with tempfile.TemporaryDirectory() as tmp:
        app = make_app(Path(tmp), args.source)
        with app.app_context():
            load_samples()
            q = evaluate(gold=True)
            p50, p95, worst = latency(args.repeat)
            from marketplace.extensions import db

            db.session.remove()
            db.engine.dispose()
    print(
        "| catalogue | needs | no result | precision@5 | recall@5 | best supplier first | violations | p50 | p95 | max |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    print(
        f"| sample (35 products, gold labels) | {q.needs} | {q.empty} | {pct(q.precision)} | {pct(q.recall)} | "
        f"{q.best_hits}/{q.best_total} ({100 * q.best_hits / max(1, q.best_total):.0f} %) | {q.violations} | "
        f"{p50:.1f} ms | {p95:.1f} ms | {worst:.1f} ms |"
    )
    builds = []
    for size in args.sizes:
        app = ensure_demo(size, args.workdir, args.source)
        with app.app_context():
            build = index_stats() if args.source == "index" else None
            q = evaluate(gold=False)
            p50, p95, worst = latency(args.repeat)
            from marketplace.extensions import db

            db.session.remove()
            db.engine.dispose()
        if build:
            builds.append((size, *build))
        print(
            f"| demo {size:,} products (silver labels) | {q.needs} | {q.empty} | {pct(q.precision)} | – | – | {q.violations} | "
            f"{p50:.1f} ms | {p95:.1f} ms | {worst:.1f} ms |".replace(",", ".")
        )
    if builds:
        print("\n| matching index | products | postings | full build |\n|---|---|---|---|")
        for size, seconds, docs, postings in builds:
            print(f"| demo {size:,} | {docs:,} | {postings:,} | {seconds:.1f} s |".replace(",", "."))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
