"""OCOP statistics for the organisers' dashboard, split from dashboard/services.py because they only
read figures: product counts by group, stars, certificate status, district, producer kind and month,
approved sales points, trade activity, the rated-products target (its one write) and its progress,
and the CSV/XLSX export of any table."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from flask_babel import gettext as _

from marketplace.accounts.models import User
from marketplace.catalog.models import Certificate, Product
from marketplace.catalog.stars import effective_stars_expr
from marketplace.core.dates import today
from marketplace.core.errors import ServiceError
from marketplace.core.i18n import pair_label
from marketplace.core.models import utcnow
from marketplace.dashboard.audit import log_action
from marketplace.dashboard.models import DashboardTarget
from marketplace.dashboard.services import require_staff
from marketplace.data import OCOP_GROUPS, OCOP_GROUPS_2019, PRODUCER_KINDS
from marketplace.extensions import db
from marketplace.producers.models import Producer

SCHEMES = ("2023", "2019")
TARGET_KEY = "rated_products"
# 2023 groups that map onto one 2019 group when the product has no ocop_group_2019.
_SAME_IN_2019 = ("food", "beverage", "herbal", "tourism")
UNKNOWN_2019 = "unknown"


# --------------------------------------------------------------------------- statistics


@dataclass
class StatRow:
    key: str
    label: str
    count: int
    share: float = 0.0  # percent of the table's total


@dataclass
class StatTable:
    key: str
    title: str
    label_header: str
    rows: list[StatRow] = field(default_factory=list)
    total: int = 0
    with_share: bool = True

    def finish(self) -> StatTable:
        self.total = sum(r.count for r in self.rows)
        for r in self.rows:
            r.share = round(100.0 * r.count / self.total, 1) if self.total else 0.0
        return self

    @property
    def max_count(self) -> int:
        return max((r.count for r in self.rows), default=0)


def _counted_products() -> sa.ColumnElement[bool]:
    """Statistics count every product that is not archived (drafts and hidden ones included)."""
    return Product.status != "archived"


def _grouped(column: sa.ColumnElement, *, join_producer: bool = False, join_cert: bool = False) -> dict:
    stmt = sa.select(column.label("k"), sa.func.count(Product.id)).where(_counted_products()).group_by(column)
    if join_producer:
        stmt = stmt.join(Producer, Producer.id == Product.producer_id)
    if join_cert:
        stmt = stmt.outerjoin(Certificate, Certificate.product_id == Product.id)
    return {k: n for k, n in db.session.execute(stmt).all()}


def _label(mapping: dict, code: str | None) -> str:
    pair = mapping.get(code or "")
    return pair_label(pair) if pair else (code or _("Chưa rõ"))


def group_2019_expr() -> sa.ColumnElement[str]:
    return sa.case(
        (Product.ocop_group_2019.is_not(None) & (Product.ocop_group_2019 != ""), Product.ocop_group_2019),
        (Product.ocop_group.in_(_SAME_IN_2019), Product.ocop_group),
        else_=UNKNOWN_2019,
    )


def by_group(scheme: str = "2023") -> StatTable:
    if scheme == "2019":
        counts = _grouped(group_2019_expr())
        table = StatTable("groups", _("Sản phẩm theo nhóm OCOP (Quyết định 1048/2019)"), _("Nhóm"))
        order = [*OCOP_GROUPS_2019, UNKNOWN_2019]
        labels = {**{k: pair_label(v) for k, v in OCOP_GROUPS_2019.items()}, UNKNOWN_2019: _("Chưa rõ nhóm 2019")}
    else:
        counts = _grouped(Product.ocop_group)
        table = StatTable("groups", _("Sản phẩm theo nhóm OCOP (Quyết định 148/2023)"), _("Nhóm"))
        order = list(OCOP_GROUPS)
        labels = {k: pair_label(v) for k, v in OCOP_GROUPS.items()}
    order += sorted(k for k in counts if k not in order and k is not None)
    table.rows = [StatRow(k, labels.get(k, k), counts.get(k, 0)) for k in order if counts.get(k) or k in labels]
    if scheme == "2019" and not counts.get(UNKNOWN_2019):
        table.rows = [r for r in table.rows if r.key != UNKNOWN_2019]
    return table.finish()


def by_stars(on: date | None = None) -> StatTable:
    counts = _grouped(effective_stars_expr(on), join_cert=True)
    table = StatTable("stars", _("Sản phẩm theo số sao hợp lệ"), _("Số sao"))
    table.rows = [StatRow("0", _("Chưa có sao hợp lệ"), counts.get(0, 0))]
    table.rows += [StatRow(str(n), _("%(n)s sao", n=n), counts.get(n, 0)) for n in (3, 4, 5)]
    others = sum(v for k, v in counts.items() if k not in (0, 3, 4, 5))
    if others:
        table.rows.append(StatRow("other", _("Khác"), others))
    return table.finish()


def by_district() -> StatTable:
    counts = _grouped(Producer.district, join_producer=True)
    table = StatTable("districts", _("Sản phẩm theo quận, huyện"), _("Quận, huyện"))
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0] or ""))
    table.rows = [StatRow(k or "", k or _("Chưa rõ"), n) for k, n in ordered]
    return table.finish()


def by_producer_kind() -> StatTable:
    counts = _grouped(Producer.kind, join_producer=True)
    table = StatTable("kinds", _("Sản phẩm theo loại hình chủ thể"), _("Loại hình"))
    order = list(PRODUCER_KINDS) + sorted(k for k in counts if k not in PRODUCER_KINDS)
    table.rows = [StatRow(k, _label(PRODUCER_KINDS, k), counts.get(k, 0)) for k in order]
    return table.finish()


def certificate_status_expr(on: date | None = None) -> sa.ColumnElement[str]:
    """SQL twin of catalog.stars.certificate_status (use with an outer join on Certificate)."""
    on = on or today()
    return sa.case(
        (sa.or_(Certificate.id.is_(None), Certificate.stars.is_(None), Certificate.stars <= 0), "none"),
        (sa.and_(Certificate.expires_on.is_not(None), Certificate.expires_on <= on), "expired"),
        (sa.and_(Certificate.issued_on.is_not(None), Certificate.issued_on > on), "unverified"),
        (Certificate.verified.is_(False), "unverified"),
        else_="valid",
    )


def by_certification(on: date | None = None) -> StatTable:
    counts = _grouped(certificate_status_expr(on), join_cert=True)
    table = StatTable("certified", _("Chứng nhận OCOP"), _("Tình trạng"))
    labels = {
        "valid": _("Có chứng nhận hợp lệ"),
        "unverified": _("Chờ xác minh"),
        "expired": _("Chứng nhận hết hạn"),
        "none": _("Chưa có chứng nhận"),
    }
    table.rows = [StatRow(k, v, counts.get(k, 0)) for k, v in labels.items()]
    return table.finish()


def by_month() -> StatTable:
    year = sa.extract("year", Product.created_at)
    month = sa.extract("month", Product.created_at)
    stmt = (
        sa.select(year, month, sa.func.count(Product.id))
        .where(_counted_products())
        .group_by(year, month)
        .order_by(year, month)
    )
    table = StatTable("months", _("Sản phẩm mới theo tháng"), _("Tháng"))
    table.rows = [
        StatRow(f"{int(y):04d}-{int(m):02d}", f"{int(m):02d}/{int(y):04d}", n)
        for y, m, n in db.session.execute(stmt).all()
    ]
    return table.finish()


def activity() -> StatTable:
    """Trade activity across features (each figure counted on its own table)."""
    from marketplace.inquiries.models import Inquiry, Quote, Rfq
    from marketplace.traceability.models import BatchScanCounter

    def count(stmt: sa.Select) -> int:
        return db.session.scalar(stmt) or 0

    table = StatTable("activity", _("Hoạt động giao thương"), _("Chỉ số"), with_share=False)
    table.rows = [
        StatRow("inquiries", _("Yêu cầu liên hệ"), count(sa.select(sa.func.count(Inquiry.id)))),
        StatRow("rfqs", _("Yêu cầu báo giá"), count(sa.select(sa.func.count(Rfq.id)))),
        StatRow("quotes", _("Báo giá đã gửi"), count(sa.select(sa.func.count(Quote.id)))),
        StatRow(
            "accepted",
            _("Báo giá được chấp nhận"),
            count(sa.select(sa.func.count(Quote.id)).where(Quote.status == "accepted")),
        ),
        StatRow("scans", _("Lượt mở trang truy xuất"), count(sa.select(sa.func.sum(BatchScanCounter.scans)))),
    ]
    table.finish()
    table.total = 0
    return table


def sales_points_by_district() -> StatTable:
    from marketplace.sales_points.models import SalesPoint

    stmt = (
        sa.select(SalesPoint.district, sa.func.count(SalesPoint.id))
        .where(SalesPoint.status == "approved")
        .group_by(SalesPoint.district)
    )
    counts = dict(db.session.execute(stmt).all())
    table = StatTable("sales_points", _("Điểm bán OCOP đã duyệt theo quận, huyện"), _("Quận, huyện"))
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0] or ""))
    table.rows = [StatRow(k or "", k or _("Chưa rõ"), n) for k, n in ordered]
    return table.finish()


def get_target() -> DashboardTarget:
    target = db.session.scalar(sa.select(DashboardTarget).where(DashboardTarget.key == TARGET_KEY))
    return target or DashboardTarget(key=TARGET_KEY, min_stars=3, goal=1000)


def set_target(staff: User, min_stars: int, goal: int) -> DashboardTarget:
    require_staff(staff)
    if min_stars not in (3, 4, 5):
        raise ServiceError("min_stars", _("Số sao tối thiểu phải là 3, 4 hoặc 5."))
    if goal < 1 or goal > 1_000_000:
        raise ServiceError("goal", _("Chỉ tiêu phải từ 1 đến 1.000.000 sản phẩm."))
    target = get_target()
    target.min_stars, target.goal = min_stars, goal
    target.updated_by_id, target.updated_at = staff.id, utcnow()
    db.session.add(target)
    log_action(
        staff,
        "target.update",
        "target",
        None,
        _("%(goal)s sản phẩm từ %(stars)s sao", goal=goal, stars=min_stars),
    )
    db.session.flush()
    return target


@dataclass
class Progress:
    min_stars: int
    goal: int
    reached: int

    @property
    def percent(self) -> float:
        return round(min(100.0, 100.0 * self.reached / self.goal), 1) if self.goal else 0.0


def target_progress(on: date | None = None) -> Progress:
    target = get_target()
    reached = db.session.scalar(
        sa.select(sa.func.count(Product.id))
        .outerjoin(Certificate, Certificate.product_id == Product.id)
        .where(_counted_products(), effective_stars_expr(on) >= target.min_stars)
    )
    return Progress(target.min_stars, target.goal, reached or 0)


def all_tables(scheme: str = "2023", on: date | None = None) -> list[StatTable]:
    return [
        by_group(scheme),
        by_stars(on),
        by_certification(on),
        by_district(),
        by_producer_kind(),
        by_month(),
        sales_points_by_district(),
        activity(),
    ]


def find_table(key: str, scheme: str = "2023") -> StatTable | None:
    return next((t for t in all_tables(scheme) if t.key == key), None)


def product_total() -> int:
    return db.session.scalar(sa.select(sa.func.count(Product.id)).where(_counted_products())) or 0


# --------------------------------------------------------------------------- exports


def _export_rows(table: StatTable) -> tuple[list[str], list[list]]:
    if not table.with_share:
        return [table.label_header, _("Số lượng")], [[r.label, r.count] for r in table.rows]
    header = [table.label_header, _("Số lượng"), _("Tỷ lệ (%)")]
    rows = [[r.label, r.count, r.share] for r in table.rows]
    rows.append([_("Tổng"), table.total, 100.0 if table.total else 0.0])
    return header, rows


def table_csv(table: StatTable) -> bytes:
    header, rows = _export_rows(table)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")  # the BOM lets Excel read UTF-8


def table_xlsx(table: StatTable) -> bytes:
    import xlsxwriter

    header, rows = _export_rows(table)
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = workbook.add_worksheet(table.key[:31])
    bold = workbook.add_format({"bold": True})
    sheet.write(0, 0, table.title, bold)
    for col, text in enumerate(header):
        sheet.write(2, col, text, bold)
    for row_index, row in enumerate(rows, start=3):
        for col, value in enumerate(row):
            sheet.write(row_index, col, value)
    sheet.set_column(0, 0, 40)
    sheet.set_column(1, 2, 14)
    workbook.close()
    return buffer.getvalue()
