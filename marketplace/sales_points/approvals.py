"""Organisers' review of sales point applications (Decision 950/QĐ-BCT checklist): the review
queue and its counts, approving, rejecting, suspending and reinstating a point, and the facts shown
next to the checklist. Split from services.py so the point's own rules stay short; the review pages
that call these live in review.py.

Like every service here these validate, change objects, flush and raise ServiceError / NotAllowed;
they never commit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from marketplace.accounts.models import User
from marketplace.catalog.stars import effective_stars
from marketplace.core.errors import ServiceError
from marketplace.core.models import utcnow
from marketplace.core.pagination import Page, paginate
from marketplace.core.validation import limit_length
from marketplace.core.vn_text import nfc
from marketplace.extensions import db
from marketplace.sales_points.models import ALL_STATUSES, SalesPoint, SalesPointReview
from marketplace.sales_points.services import carried_rows, ensure_staff, notify_owner

# Decision 950/QĐ-BCT: what an organiser checks before approving a point.
CHECKLIST: tuple[tuple[str, object], ...] = (
    (
        "place",
        _l(
            "Loại địa điểm phù hợp: cửa hàng, trung tâm thương mại, chợ, nhà ga, sân bay, trạm dừng nghỉ, "
            "khách sạn, làng nghề hoặc bưu điện, có địa chỉ cố định."
        ),
    ),
    ("products", _l("Bày bán sản phẩm OCOP đạt từ 3 sao trở lên hoặc đặc sản của địa phương.")),
    ("display", _l("Có khu vực trưng bày, giới thiệu sản phẩm OCOP riêng, dễ nhận biết.")),
    ("contact", _l("Giờ mở cửa, điện thoại liên hệ và người phụ trách rõ ràng.")),
)
CHECKLIST_CODES = tuple(code for code, _label in CHECKLIST)


def review_page(status: str, page: int, per_page: int) -> Page[SalesPoint]:
    """Points in `status` for organisers: the pending queue oldest first, the others newest first."""
    if status not in ALL_STATUSES:
        status = "pending"
    stmt = sa.select(SalesPoint).where(SalesPoint.status == status)
    if status == "pending":
        stmt = stmt.order_by(SalesPoint.created_at, SalesPoint.id)
    else:
        stmt = stmt.order_by(SalesPoint.updated_at.desc(), SalesPoint.id.desc())
    return paginate(stmt, page, per_page)


def status_counts() -> dict[str, int]:
    rows = db.session.execute(sa.select(SalesPoint.status, sa.func.count()).group_by(SalesPoint.status)).all()
    counts = dict.fromkeys(ALL_STATUSES, 0)
    counts.update({status: n for status, n in rows if status in counts})
    return counts


def _checklist(answers: Mapping[str, bool] | None) -> dict[str, bool]:
    answers = answers or {}
    return {code: bool(answers.get(code)) for code in CHECKLIST_CODES}


def _transition(point: SalesPoint, from_statuses: tuple[str, ...], to_status: str) -> None:
    """Change the status once, even when two organisers decide at the same time."""
    result = db.session.execute(
        sa.update(SalesPoint)
        .where(SalesPoint.id == point.id, SalesPoint.status.in_(from_statuses))
        .values(status=to_status, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(point)
    if result.rowcount != 1:
        raise ServiceError(None, _("Trạng thái điểm bán đã thay đổi. Vui lòng tải lại trang và xem lại."))


def _record(point: SalesPoint, reviewer: User, decision: str, reason: str, checklist: dict[str, bool]):
    review = SalesPointReview(
        sales_point_id=point.id, reviewer_id=reviewer.id, decision=decision, reason=reason, checklist=checklist
    )
    db.session.add(review)
    db.session.flush()
    db.session.expire(point, ["reviews"])
    return review


def _reason(text: str | None, required_message: str) -> str:
    reason = limit_length(nfc(text).replace("\r\n", "\n"), "reason", 2000)
    if not reason:
        raise ServiceError("reason", required_message)
    return reason


def approve(reviewer: User, point: SalesPoint, answers: Mapping[str, bool], note: str = "") -> SalesPointReview:
    """Approve a pending application; every checklist item must be met."""
    ensure_staff(reviewer)
    checklist = _checklist(answers)
    if not all(checklist.values()):
        raise ServiceError("checklist", _("Chỉ duyệt khi điểm bán đạt đủ các tiêu chí trong danh sách kiểm tra."))
    note = limit_length(nfc(note).replace("\r\n", "\n"), "reason", 2000)
    _transition(point, ("pending",), "approved")
    review = _record(point, reviewer, "approved", note, checklist)
    from marketplace.dashboard.audit import log_action

    log_action(reviewer, "sales_point.approve", "sales_point", point.id, f"{point.name} ({point.ref})", note)
    notify_owner(
        point,
        _("Điểm bán “%(name)s” đã được duyệt", name=point.name),
        _(
            "Xin chào,\n\nBan tổ chức đã duyệt điểm giới thiệu và bán sản phẩm OCOP “%(name)s” (mã %(ref)s). "
            "Điểm bán đã hiển thị trên bản đồ điểm bán OCOP Hà Nội và trong mục “Nơi mua” của các sản phẩm "
            "bạn bày bán.\n\nHãy cập nhật tình trạng còn hàng thường xuyên để khách không mất công tìm đến.\n",
            name=point.name,
            ref=point.ref,
        ),
    )
    return review


def reject(reviewer: User, point: SalesPoint, reason: str, answers: Mapping[str, bool] | None = None):
    ensure_staff(reviewer)
    reason = _reason(reason, _("Vui lòng nêu lý do từ chối để người đăng ký bổ sung."))
    _transition(point, ("pending",), "rejected")
    review = _record(point, reviewer, "rejected", reason, _checklist(answers))
    from marketplace.dashboard.audit import log_action

    log_action(reviewer, "sales_point.reject", "sales_point", point.id, f"{point.name} ({point.ref})", reason)
    notify_owner(
        point,
        _("Hồ sơ điểm bán “%(name)s” chưa được duyệt", name=point.name),
        _(
            "Xin chào,\n\nBan tổ chức chưa duyệt hồ sơ điểm bán “%(name)s” (mã %(ref)s).\nLý do: %(reason)s\n\n"
            "Bạn có thể sửa thông tin trong mục “Điểm bán của tôi”; hồ sơ sẽ được xem xét lại sau khi lưu.\n",
            name=point.name,
            ref=point.ref,
            reason=reason,
        ),
    )
    return review


def suspend(reviewer: User, point: SalesPoint, reason: str) -> SalesPointReview:
    ensure_staff(reviewer)
    reason = _reason(reason, _("Vui lòng nêu lý do tạm ngừng."))
    _transition(point, ("approved",), "suspended")
    review = _record(point, reviewer, "suspended", reason, {})
    from marketplace.dashboard.audit import log_action

    log_action(reviewer, "sales_point.suspend", "sales_point", point.id, f"{point.name} ({point.ref})", reason)
    notify_owner(
        point,
        _("Điểm bán “%(name)s” bị tạm ngừng hiển thị", name=point.name),
        _(
            "Xin chào,\n\nBan tổ chức đã tạm ngừng hiển thị điểm bán “%(name)s” (mã %(ref)s) trên bản đồ "
            "điểm bán OCOP.\nLý do: %(reason)s\n\nVui lòng liên hệ ban tổ chức để được hướng dẫn khắc phục.\n",
            name=point.name,
            ref=point.ref,
            reason=reason,
        ),
    )
    return review


def reinstate(reviewer: User, point: SalesPoint, note: str = "") -> SalesPointReview:
    ensure_staff(reviewer)
    note = limit_length(nfc(note).replace("\r\n", "\n"), "reason", 2000)
    _transition(point, ("suspended",), "approved")
    review = _record(point, reviewer, "reinstated", note, {})
    from marketplace.dashboard.audit import log_action

    log_action(reviewer, "sales_point.reinstate", "sales_point", point.id, f"{point.name} ({point.ref})", note)
    notify_owner(
        point,
        _("Điểm bán “%(name)s” hiển thị trở lại", name=point.name),
        _(
            "Xin chào,\n\nBan tổ chức đã cho điểm bán “%(name)s” (mã %(ref)s) hiển thị trở lại trên bản đồ "
            "điểm bán OCOP.\n",
            name=point.name,
            ref=point.ref,
        ),
    )
    return review


@dataclass(frozen=True)
class ReviewFacts:
    """What an organiser sees next to the checklist."""

    products: int  # public products carried
    rated: int  # of which counted 3★ or more
    in_stock: int


def review_facts(point: SalesPoint) -> ReviewFacts:
    rows = [r for r in carried_rows(point) if r.product.is_public]
    return ReviewFacts(
        products=len(rows),
        rated=sum(1 for r in rows if effective_stars(r.product.certificate) >= 3),
        in_stock=sum(1 for r in rows if r.in_stock),
    )
