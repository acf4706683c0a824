"""`flask seed-demo [--products 7200] [--seed 42] [--if-empty] [--check] [--write-csv FILE]`.

The catalogue, sales points and demo accounts in one transaction, then the demo forum in another.
"""

from __future__ import annotations

import time
from pathlib import Path

import click
from flask.cli import with_appcontext
from flask_babel import gettext as _
from sqlalchemy.exc import SQLAlchemyError

from marketplace.core.errors import ServiceError
from marketplace.core.models import refresh_planner_statistics
from marketplace.extensions import db


@click.command("seed-demo")
@click.option(
    "--products",
    "total",
    type=click.IntRange(0, 1_000_000),
    default=7200,
    show_default=True,
    help="Number of products in the demo city (the 35 sample products count towards it).",
)
@click.option("--seed", type=int, default=42, show_default=True, help="Same seed, same data.")
@click.option("--if-empty", is_flag=True, help="Do nothing when products already exist.")
@click.option("--check", is_flag=True, help="Print 'empty' or 'has-data' and exit without changing anything.")
@click.option(
    "--write-csv",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write the products as a CSV file for `import products` instead of loading them.",
)
@with_appcontext
def seed_demo_command(total: int, seed: int, if_empty: bool, check: bool, write_csv: Path | None) -> None:
    """Load demo data: the sample files, then a generated Hà Nội catalogue in real proportions."""
    from marketplace.demo.forums import STEPS as FORUM_STEPS
    from marketplace.demo.forums import seed_forum
    from marketplace.demo.services import DEMO_ACCOUNTS, DEMO_PASSWORD, has_data, plan_demo, seed_demo
    from marketplace.imports.cli import progress_bar
    from marketplace.imports.writing import write_products_csv

    if check:
        click.echo("has-data" if has_data() else "empty")
        return
    if write_csv is not None:
        plan, samples, _problems = plan_demo(total, seed)
        count = write_products_csv(samples + plan.products, write_csv)
        click.echo(_("Đã ghi %(n)d sản phẩm vào %(path)s.", n=count, path=str(write_csv)))
        return
    if if_empty and has_data():
        click.echo(_("Cơ sở dữ liệu đã có sản phẩm: không nạp dữ liệu mẫu."))
        return
    started = time.perf_counter()
    try:
        with progress_bar(
            max(total, 35) + max(2, round(total / 150)) + 8 + FORUM_STEPS, _("Đang tạo dữ liệu mẫu")
        ) as advance:
            report = seed_demo(total, seed, progress=advance)
            db.session.commit()
            refresh_planner_statistics()
            # The forum's recommendations read the committed catalogue: a second transaction.
            try:
                forum = seed_forum(seed, progress=advance)
                db.session.commit()
            except (ServiceError, SQLAlchemyError) as error:
                db.session.rollback()
                click.echo(
                    _("Lỗi khi tạo diễn đàn mẫu, diễn đàn không được tạo: %(error)s", error=str(error)), err=True
                )
                raise SystemExit(1) from error
    except (ServiceError, SQLAlchemyError) as error:
        db.session.rollback()
        click.echo(_("Lỗi khi nạp dữ liệu mẫu, không có gì thay đổi: %(error)s", error=str(error)), err=True)
        raise SystemExit(1) from error
    for problem in report.problems:
        click.echo(str(problem), err=True)
    click.echo(report.products.summary())
    click.echo(report.sales_points.summary())
    click.echo(_("Thời gian: %(seconds)s giây.", seconds=f"{time.perf_counter() - started:.1f}".replace(".", ",")))
    click.echo(_("Tài khoản demo (mật khẩu: %(password)s):", password=DEMO_PASSWORD))
    for email, roles, name, _organisation in DEMO_ACCOUNTS:
        click.echo(f"  {email:<26} {', '.join(roles):<10} {name}")
    if forum.created:
        click.echo(
            _(
                "Diễn đàn mẫu: %(buyers)d người mua, %(producers)d nhà sản xuất đã duyệt, %(pending)d đăng ký "
                "chờ duyệt, %(requests)d lời mời gặp, %(recommended)d gợi ý, %(placed)d cuộc gặp đã xếp lịch.",
                buyers=forum.buyers,
                producers=forum.producers,
                pending=forum.pending,
                requests=forum.requests,
                recommended=forum.recommended,
                placed=forum.placed,
            )
        )
        click.echo(f"  /forums/{forum.forum_id}")
    else:
        click.echo(_("Diễn đàn mẫu đã có: không tạo lại."))
    if report.managed:
        click.echo(_("producer@demo.ocop.vn quản lý: %(names)s", names="; ".join(report.managed)))
