"""`flask import products FILE.csv` and `flask import sales-points FILE.csv` (CONTRACT.md)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from pathlib import Path

import click
from flask.cli import AppGroup
from flask_babel import gettext as _
from sqlalchemy.exc import SQLAlchemyError

from marketplace.core.errors import ServiceError
from marketplace.core.models import refresh_planner_statistics
from marketplace.extensions import db
from marketplace.imports.reading import validate_products, validate_sales_points
from marketplace.imports.rows import Problem
from marketplace.imports.services import ImportReport, import_products, import_sales_points

import_cli = AppGroup("import", help="Import products and sales points from CSV files.")

_FILE = click.Path(exists=True, dir_okay=False, readable=True, path_type=Path)
_SKIP_HELP = "Import the valid rows, list the invalid ones and exit 0."


@import_cli.command("products")
@click.argument("file", type=_FILE)
@click.option("--skip-invalid", is_flag=True, help=_SKIP_HELP)
def import_products_command(file: Path, skip_invalid: bool) -> None:
    """Upsert products (and their producers) by ref from FILE.csv."""
    rows, problems = validate_products(file)
    _run(rows, problems, skip_invalid, import_products)


@import_cli.command("sales-points")
@click.argument("file", type=_FILE)
@click.option("--skip-invalid", is_flag=True, help=_SKIP_HELP)
def import_sales_points_command(file: Path, skip_invalid: bool) -> None:
    """Upsert sales points by ref from FILE.csv."""
    rows, problems = validate_sales_points(file)
    _run(rows, problems, skip_invalid, import_sales_points)


def _run(rows: Sequence, problems: list[Problem], skip_invalid: bool, importer: Callable[..., ImportReport]) -> None:
    started = time.perf_counter()
    bad_lines = sorted({p.line for p in problems})
    for problem in problems:
        click.echo(str(problem), err=True)
    if any(p.fatal for p in problems):
        click.echo(_("Không thể đọc tệp: không nhập gì."), err=True)
        raise SystemExit(1)
    if problems and not skip_invalid:
        click.echo(
            _(
                "%(n)d dòng không hợp lệ: không nhập gì. Sửa tệp rồi nhập lại, "
                "hoặc dùng --skip-invalid để chỉ nhập các dòng hợp lệ.",
                n=len(bad_lines),
            ),
            err=True,
        )
        raise SystemExit(1)
    try:
        with progress_bar(len(rows), _("Đang nhập")) as advance:
            report = importer(rows, progress=advance)
        db.session.commit()
        refresh_planner_statistics()
    except (ServiceError, SQLAlchemyError) as error:
        db.session.rollback()
        click.echo(_("Lỗi khi ghi vào cơ sở dữ liệu, không nhập gì: %(error)s", error=str(error)), err=True)
        raise SystemExit(1) from error
    report.skipped_lines = tuple(bad_lines)
    if bad_lines:
        click.echo(_("Các dòng bị bỏ qua: %(lines)s", lines=", ".join(map(str, bad_lines))), err=True)
    click.echo(report.summary())
    click.echo(_("Thời gian: %(seconds)s giây.", seconds=f"{time.perf_counter() - started:.1f}".replace(".", ",")))


@contextmanager
def progress_bar(length: int, label: str):
    """A click progress bar on a terminal; elsewhere (pipes, tests) no bar at all.
    Yields a callable taking the number of items just done."""
    if not sys.stdout.isatty() or length <= 0:
        yield lambda _n=1: None
        return
    with click.progressbar(length=length, label=label, file=sys.stdout) as bar:
        yield bar.update
