"""Organisers' dashboard rules: certificate review, audit log, expiry reminders, statistics."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _

from marketplace.accounts.models import User
from marketplace.catalog.models import Certificate, Product
from marketplace.catalog.stars import effective_stars_expr, valid_certificate_clause
from marketplace.core.dates import today
from marketplace.core.errors import NotAllowed, ServiceError
from marketplace.core.models import utcnow
from marketplace.core.vn_text import clean_line, nfc
from marketplace.dashboard.audit import AUDIT_ACTIONS as AUDIT_ACTIONS  # re-exported for the views
from marketplace.dashboard.audit import LEGACY_ACTIONS as LEGACY_ACTIONS
from marketplace.dashboard.audit import action_label as action_label
from marketplace.dashboard.audit import audit_reason, log_action
from marketplace.dashboard.models import AuditLog, CertificateReminder, DashboardTarget, ListingReport
from marketplace.data import OCOP_GROUPS, OCOP_GROUPS_2019, PRODUCER_KINDS
from marketplace.extensions import db
from marketplace.mail.services import queue_mail
from marketplace.producers.models import Producer

REMINDER_DAYS = (90, 30)
EXPIRING_DAYS = 90
SCHEMES = ("2023", "2019")
TARGET_KEY = "rated_products"
# 2023 groups that map onto one 2019 group when the product has no ocop_group_2019.
_SAME_IN_2019 = ("food", "beverage", "herbal", "tourism")
UNKNOWN_2019 = "unknown"


def _require_staff(user) -> None:
    if user is None or not getattr(user, "is_authenticated", False) or not user.has_role("organiser", "admin"):
        raise NotAllowed()


# --------------------------------------------------------------------------- audit log


def audit_stmt(action: str | None = None, actor_id: int | None = None, object_type: str | None = None) -> sa.Select:
    stmt = sa.select(AuditLog).order_by(AuditLog.created_at.desc(), AuditLog.id.desc())
    if action:
        stmt = stmt.where(AuditLog.action == action)
    if actor_id:
        stmt = stmt.where(AuditLog.actor_id == actor_id)
    if object_type:
        stmt = stmt.where(AuditLog.object_type == object_type)
    return stmt


def audit_actors() -> list[User]:
    ids = sa.select(AuditLog.actor_id).where(AuditLog.actor_id.is_not(None)).distinct()
    return list(db.session.scalars(sa.select(User).where(User.id.in_(ids)).order_by(User.name)))


# --------------------------------------------------------------------------- certificate review


def review_queue_stmt() -> sa.Select:
    """Unverified certificates with stars that no organiser has rejected yet, oldest first."""
    return (
        sa.select(Certificate)
        .join(Product, Product.id == Certificate.product_id)
        .where(Certificate.verified.is_(False), Certificate.stars > 0, Certificate.rejected_reason == "")
        .order_by(Certificate.id)
    )


def pending_count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(review_queue_stmt().subquery())) or 0


def _notify_managers(product: Product, subject: str, body: str) -> int:
    sent = 0
    for manager in product.producer.managers:
        if manager.email:
            queue_mail(manager.email, subject, body)
            sent += 1
    return sent


def verify_certificate(staff: User, cert: Certificate) -> None:
    _require_staff(staff)
    if cert.verified:
        raise ServiceError(None, _("Chứng nhận này đã được xác minh."))
    if not cert.stars or cert.stars <= 0:
        raise ServiceError(None, _("Chứng nhận không có số sao nên không thể xác minh."))
    now = utcnow()
    cert.verified = True
    cert.verified_at = now
    cert.rejected_reason = ""
    cert.reviewed_by_id = staff.id
    cert.reviewed_at = now
    product = cert.product
    log_action(staff, "certificate.verify", "certificate", cert.id, f"{product.name} · {cert.number}")
    _notify_managers(
        product,
        _("Chứng nhận OCOP của sản phẩm %(name)s đã được xác minh", name=product.name),
        _(
            "Chứng nhận OCOP số %(number)s (%(stars)s sao) của sản phẩm %(name)s đã được ban tổ chức xác minh. "
            "Số sao nay hiển thị công khai trên trang sản phẩm.",
            number=cert.number or "—",
            stars=cert.stars,
            name=product.name,
        ),
    )
    db.session.flush()


def reject_certificate(staff: User, cert: Certificate, reason: str) -> None:
    _require_staff(staff)
    reason = nfc(reason or "").strip()
    if not reason:
        raise ServiceError("reason", _("Vui lòng nêu lý do từ chối."))
    if len(reason) > 2000:
        raise ServiceError("reason", _("Lý do tối đa 2.000 ký tự."))
    if cert.verified:
        raise ServiceError(None, _("Chứng nhận này đã được xác minh."))
    cert.verified = False
    cert.verified_at = None
    cert.rejected_reason = reason
    cert.reviewed_by_id = staff.id
    cert.reviewed_at = utcnow()
    product = cert.product
    log_action(staff, "certificate.reject", "certificate", cert.id, f"{product.name} · {cert.number}", reason)
    _notify_managers(
        product,
        _("Chứng nhận OCOP của sản phẩm %(name)s chưa được chấp nhận", name=product.name),
        _(
            "Ban tổ chức chưa thể xác minh chứng nhận OCOP số %(number)s của sản phẩm %(name)s.\n\n"
            "Lý do: %(reason)s\n\nVui lòng kiểm tra và cập nhật lại thông tin chứng nhận.",
            number=cert.number or "—",
            name=product.name,
            reason=reason,
        ),
    )
    db.session.flush()


def expiring_stmt(days: int = EXPIRING_DAYS, on: date | None = None) -> sa.Select:
    """Verified certificates still valid today that expire within `days` days, soonest first."""
    on = on or today()
    return (
        sa.select(Certificate)
        .join(Product, Product.id == Certificate.product_id)
        .where(
            valid_certificate_clause(on),
            Certificate.expires_on.is_not(None),
            Certificate.expires_on <= on + timedelta(days=days),
        )
        .order_by(Certificate.expires_on, Certificate.id)
    )


def send_expiry_reminders(on: date | None = None) -> int:
    """Mail managers of products whose verified certificate expires within 90 or 30 days.
    Each (certificate, expiry date, threshold) is reminded once; returns reminders sent."""
    on = on or today()
    sent = 0
    for cert in db.session.scalars(expiring_stmt(max(REMINDER_DAYS), on)).all():
        left = (cert.expires_on - on).days
        days = min(d for d in REMINDER_DAYS if left <= d)  # the tightest threshold reached
        done = db.session.scalar(
            sa.select(CertificateReminder.id).where(
                CertificateReminder.certificate_id == cert.id,
                CertificateReminder.expires_on == cert.expires_on,
                CertificateReminder.days == days,
            )
        )
        if done:
            continue
        product = cert.product
        _notify_managers(
            product,
            _("Chứng nhận OCOP của %(name)s sắp hết hạn", name=product.name),
            _(
                "Chứng nhận OCOP số %(number)s của sản phẩm %(name)s hết hạn ngày %(date)s (còn %(left)s ngày). "
                "Vui lòng chuẩn bị hồ sơ đánh giá lại để sản phẩm tiếp tục hiển thị số sao.",
                number=cert.number or "—",
                name=product.name,
                date=cert.expires_on.strftime("%d/%m/%Y"),
                left=left,
            ),
        )
        db.session.add(CertificateReminder(certificate_id=cert.id, expires_on=cert.expires_on, days=days))
        db.session.flush()
        sent += 1
    return sent


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
    return pair[0] if pair else (code or _("Chưa rõ"))


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
        labels = {**{k: v[0] for k, v in OCOP_GROUPS_2019.items()}, UNKNOWN_2019: _("Chưa rõ nhóm 2019")}
    else:
        counts = _grouped(Product.ocop_group)
        table = StatTable("groups", _("Sản phẩm theo nhóm OCOP (Quyết định 148/2023)"), _("Nhóm"))
        order = list(OCOP_GROUPS)
        labels = {k: v[0] for k, v in OCOP_GROUPS.items()}
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


def expiring_count(days: int = EXPIRING_DAYS, on: date | None = None) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(expiring_stmt(days, on).subquery())) or 0


def get_target() -> DashboardTarget:
    target = db.session.scalar(sa.select(DashboardTarget).where(DashboardTarget.key == TARGET_KEY))
    return target or DashboardTarget(key=TARGET_KEY, min_stars=3, goal=1000)


def set_target(staff: User, min_stars: int, goal: int) -> DashboardTarget:
    _require_staff(staff)
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


# --------------------------------------------------------------------------- moderation queue
#
# One queue for organisers: reported listings (ListingReport, here), reported messages (the
# inquiries feature's Report) and their authors. Every action needs a reason, recorded in the
# audit log. Messages, RFQs and users are changed through marketplace.inquiries.moderation (its
# services log the action); listings through the catalog's hide_product / unhide_product.


def _moderation_reason(text: str | None, required: bool = True) -> str:
    reason = clean_line(text or "")
    if required and len(reason) < 3:
        raise ServiceError("reason", _("Vui lòng nêu lý do (ít nhất 3 ký tự)."))
    if len(reason) > 500:
        raise ServiceError("reason", _("Lý do tối đa 500 ký tự."))
    return reason


def report_listing(user: User, product: Product, reason: str) -> ListingReport:
    """A logged-in user reports a public listing; one open report per user and listing."""
    if user is None or not getattr(user, "is_authenticated", False):
        raise NotAllowed()
    reason = _moderation_reason(reason)
    already = db.session.scalar(
        sa.select(ListingReport.id).where(
            ListingReport.product_id == product.id,
            ListingReport.reporter_id == user.id,
            ListingReport.status == "open",
        )
    )
    if already:
        raise ServiceError("reason", _("Bạn đã báo cáo sản phẩm này; ban tổ chức đang xem xét."))
    report = ListingReport(product_id=product.id, reporter_id=user.id, reason=reason)
    db.session.add(report)
    db.session.flush()
    return report


def reported_products_stmt() -> sa.Select:
    """Products with open reports, the most reported first."""
    counts = (
        sa.select(ListingReport.product_id, sa.func.count(ListingReport.id).label("n"))
        .where(ListingReport.status == "open")
        .group_by(ListingReport.product_id)
        .subquery()
    )
    return sa.select(Product).join(counts, counts.c.product_id == Product.id).order_by(counts.c.n.desc(), Product.id)


def open_reports(product_ids: list[int]) -> dict[int, list[ListingReport]]:
    grouped: dict[int, list[ListingReport]] = {pid: [] for pid in product_ids}
    if product_ids:
        stmt = (
            sa.select(ListingReport)
            .where(ListingReport.status == "open", ListingReport.product_id.in_(product_ids))
            .order_by(ListingReport.created_at, ListingReport.id)
        )
        for report in db.session.scalars(stmt):
            grouped[report.product_id].append(report)
    return grouped


def hidden_products_stmt() -> sa.Select:
    return sa.select(Product).where(Product.hidden.is_(True)).order_by(Product.updated_at.desc(), Product.id)


def _close_reports(staff: User, product: Product, status: str) -> None:
    now = utcnow()
    for report in db.session.scalars(
        sa.select(ListingReport).where(ListingReport.product_id == product.id, ListingReport.status == "open")
    ):
        report.status, report.handled_by_id, report.handled_at = status, staff.id, now


def hide_listing(staff: User, product: Product, reason: str) -> None:
    """Hide a listing (catalog.hide_product logs `product.hide`) and close its open reports."""
    from marketplace.catalog.services import hide_product

    _require_staff(staff)
    if product.hidden:
        raise ServiceError(None, _("Sản phẩm này đã bị ẩn."))
    reason = _moderation_reason(reason)
    hide_product(staff, product, reason)
    _close_reports(staff, product, "hidden")
    db.session.flush()


def restore_listing(staff: User, product: Product, reason: str) -> None:
    """Show a hidden listing again (catalog.unhide_product logs `product.unhide` with the reason)."""
    from marketplace.catalog.services import unhide_product

    _require_staff(staff)
    if not product.hidden:
        raise ServiceError(None, _("Sản phẩm này đang hiển thị."))
    reason = _moderation_reason(reason)
    with audit_reason(reason):
        unhide_product(staff, product)
    db.session.flush()


def dismiss_reports(staff: User, product: Product, reason: str) -> None:
    _require_staff(staff)
    reason = _moderation_reason(reason)
    if not db.session.scalar(
        sa.select(ListingReport.id).where(ListingReport.product_id == product.id, ListingReport.status == "open")
    ):
        raise ServiceError(None, _("Sản phẩm này không còn báo cáo nào đang chờ."))
    _close_reports(staff, product, "dismissed")
    log_action(staff, "listing.dismiss", "product", product.id, product.name, reason)
    db.session.flush()


# Reported messages and their authors (the inquiries feature's reports).


def message_reports_stmt() -> sa.Select:
    """Open reports of messages, oldest first (the same queue as the inquiries reports page)."""
    from marketplace.inquiries.models import Report

    return sa.select(Report).where(Report.status == "open").order_by(Report.created_at, Report.id)


def hidden_messages_stmt() -> sa.Select:
    from marketplace.inquiries.models import Message

    return sa.select(Message).where(Message.hidden.is_(True)).order_by(Message.id.desc())


def hidden_rfqs_stmt() -> sa.Select:
    from marketplace.inquiries.models import Rfq

    return sa.select(Rfq).where(Rfq.hidden.is_(True)).order_by(Rfq.id.desc())


def suspended_users_stmt() -> sa.Select:
    return sa.select(User).where(User.suspended.is_(True)).order_by(User.name, User.id)


def hide_message(staff: User, message, reason: str) -> None:
    """Hide a reported message; its open reports are closed (inquiries logs `message.hide`)."""
    from marketplace.inquiries import moderation

    _require_staff(staff)
    moderation.hide_message(staff, message, _moderation_reason(reason))


def restore_message(staff: User, message, reason: str) -> None:
    from marketplace.inquiries import moderation

    _require_staff(staff)
    if not message.hidden:
        raise ServiceError(None, _("Tin nhắn này đang hiển thị."))
    with audit_reason(_moderation_reason(reason)):
        moderation.unhide_message(staff, message)


def dismiss_message_report(staff: User, report, reason: str) -> None:
    from marketplace.inquiries import moderation

    _require_staff(staff)
    with audit_reason(_moderation_reason(reason)):
        moderation.dismiss_report(staff, report)


def restore_rfq(staff: User, rfq, reason: str) -> None:
    from marketplace.inquiries import moderation

    _require_staff(staff)
    if not rfq.hidden:
        raise ServiceError(None, _("Yêu cầu báo giá này đang hiển thị."))
    with audit_reason(_moderation_reason(reason)):
        moderation.unhide_rfq(staff, rfq)


def suspend_user(staff: User, user: User, reason: str) -> None:
    """Lock an account (signed out everywhere, open RFQs hidden); inquiries logs `user.suspend`."""
    from marketplace.inquiries import moderation

    _require_staff(staff)
    if user.suspended:
        raise ServiceError(None, _("Tài khoản này đã bị tạm khóa."))
    moderation.suspend_user(staff, user, _moderation_reason(reason))


def unsuspend_user(staff: User, user: User, reason: str) -> None:
    from marketplace.inquiries import moderation

    _require_staff(staff)
    if not user.suspended:
        raise ServiceError(None, _("Tài khoản này không bị khóa."))
    if user.has_role("admin") and not staff.has_role("admin"):
        raise NotAllowed()
    with audit_reason(_moderation_reason(reason)):
        moderation.unsuspend_user(staff, user)


def moderation_counts() -> dict[str, int]:
    """How many items wait in each part of the queue (the dashboard's overview)."""

    def count(stmt: sa.Select) -> int:
        return db.session.scalar(sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery())) or 0

    return {
        "listings": count(reported_products_stmt()),
        "messages": count(message_reports_stmt()),
        "hidden_products": count(hidden_products_stmt()),
        "hidden_messages": count(hidden_messages_stmt()),
        "hidden_rfqs": count(hidden_rfqs_stmt()),
        "suspended": count(suspended_users_stmt()),
    }
