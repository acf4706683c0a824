"""Prepare a data dir for the benchmarks: schema, seed-demo data, a published batch, search index.

    .venv/bin/python bench/load_data.py DATA_DIR [--products 7200]

Prints the product refs, producer ids and trace codes the load and fuzz runs use (JSON), and
writes them to DATA_DIR/bench-sample.json. A data dir that already has it is reused as it is.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_FILE = "bench-sample.json"


def prepare(data_dir: Path, products: int) -> dict:
    data_dir.mkdir(parents=True, exist_ok=True)
    marker = data_dir / SAMPLE_FILE
    os.environ["MARKETPLACE_DATA_DIR"] = str(data_dir)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    if marker.exists():
        create_missing_tables(data_dir)
        return json.loads(marker.read_text())
    import sqlalchemy as sa

    from marketplace import create_app
    from marketplace.core.models import refresh_planner_statistics
    from marketplace.extensions import db
    from marketplace.producers.models import Producer
    from marketplace.sales_points.models import SalesPoint
    from tests.fuzz.sample import load_sample_data

    app = create_app(
        None, {"DATA_DIR": data_dir, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{data_dir / 'marketplace.db'}"}
    )
    with app.app_context():
        db.create_all()
        sample = load_sample_data(products)
        sample["producer_ids"] = list(db.session.scalars(sa.select(Producer.id).order_by(Producer.id).limit(50)))
        sample["sales_point_refs"] = list(db.session.scalars(sa.select(SalesPoint.ref).limit(20)))
        sample["products"] = products
        refresh_planner_statistics()  # as seed-demo does: without statistics SQLite picks poor plans
        db.session.remove()
        db.engine.dispose()
    marker.write_text(json.dumps(sample, ensure_ascii=False, indent=1))
    return sample


def create_missing_tables(data_dir: Path) -> None:
    """A data dir made before a new table (e.g. page_cache_generation) gets it; columns added to an
    existing table are not: make a new data dir then."""
    import sqlalchemy as sa

    from marketplace import create_app
    from marketplace.core.models import refresh_planner_statistics
    from marketplace.extensions import db

    app = create_app(
        None, {"DATA_DIR": data_dir, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{data_dir / 'marketplace.db'}"}
    )
    with app.app_context():
        db.create_all()
        if not db.session.execute(sa.text("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'")).first():
            refresh_planner_statistics()  # a data dir made before load_data ran ANALYZE
        db.session.remove()
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--products", type=int, default=7200)
    args = parser.parse_args()
    print(json.dumps(prepare(args.data_dir.resolve(), args.products), ensure_ascii=False))


if __name__ == "__main__":
    main()
