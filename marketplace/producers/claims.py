"""Ownership claims: a producer user asks to manage an unmanaged storefront by giving an OCOP
certificate number, and organisers approve or reject the claim from their queue.

Kept apart from `services.py` (the storefront itself) because claims have their own workflow,
matching of certificate numbers and notification mails. Services flush; the views commit.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _

from marketplace.accounts.models import User
from marketplace.catalog.models import Certificate, Product
from marketplace.core.errors import NotAllowed, ServiceError
from marketplace.core.models import utcnow
from marketplace.core.pagination import Page
from marketplace.core.validation import limit_length
from marketplace.core.vn_text import clean_line, fold, nfc
from marketplace.extensions import db
from marketplace.mail.services import queue_mail
from marketplace.producers.models import Producer, ProducerClaim
from marketplace.producers.services import ensure_staff

CLAIM_STATUSES = ("pending", "approved", "rejected")


def _certificate_key(text: str | None) -> str:
    """Certificate numbers compare without case, diacritics or spaces: 'Số 12/QĐ' = 'so12/qd'."""
    return "".join(fold(text).split())


def create_claim(user: User, producer: Producer, evidence: str, message: str = "") -> ProducerClaim:
    """A producer user asks to manage an unmanaged storefront, giving a certificate number."""
    if not user.has_role("producer"):
        raise NotAllowed()
    if producer.managers:
        raise ServiceError(None, _("Gian hàng này đã có người quản lý nên không thể nhận quản lý."))
    evidence = limit_length(clean_line(evidence), "evidence", 200)
    if not evidence:
        raise ServiceError("evidence", _("Vui lòng nhập số giấy chứng nhận OCOP."))
    message = limit_length(nfc(message).replace("\r\n", "\n"), "message", 2000)
    pending = db.session.scalar(
        sa.select(ProducerClaim.id).where(
            ProducerClaim.user_id == user.id,
            ProducerClaim.producer_id == producer.id,
            ProducerClaim.status == "pending",
        )
    )
    if pending is not None:
        raise ServiceError(
            None, _("Bạn đã gửi yêu cầu nhận quản lý gian hàng này; vui lòng chờ ban tổ chức xét duyệt.")
        )
    claim = ProducerClaim(producer=producer, user=user, evidence=evidence, message=message, status="pending")
    db.session.add(claim)
    db.session.flush()
    return claim


@dataclass(frozen=True)
class ClaimReview:
    claim: ProducerClaim
    evidence_matches: bool
    certificate_numbers: list[str]
    already_managed: bool


def pending_claims(page: int, per_page: int) -> Page[ClaimReview]:
    """The organisers' queue, oldest first, each claim checked against its producer's certificates."""
    stmt = sa.select(ProducerClaim).where(ProducerClaim.status == "pending")
    total = db.session.scalar(sa.select(sa.func.count()).select_from(stmt.subquery())) or 0
    page = min(page, max(1, math.ceil(total / per_page)))
    claims = list(
        db.session.scalars(
            stmt.order_by(ProducerClaim.created_at, ProducerClaim.id).limit(per_page).offset((page - 1) * per_page)
        )
    )
    numbers = certificate_numbers({c.producer_id for c in claims})
    items = [
        ClaimReview(
            claim=c,
            evidence_matches=_certificate_key(c.evidence)
            in {_certificate_key(n) for n in numbers.get(c.producer_id, [])},
            certificate_numbers=numbers.get(c.producer_id, []),
            already_managed=bool(c.producer.managers),
        )
        for c in claims
    ]
    return Page(items=items, total=total, page=page, per_page=per_page)


def certificate_numbers(producer_ids: Iterable[int]) -> dict[int, list[str]]:
    ids = list(producer_ids)
    if not ids:
        return {}
    found: dict[int, list[str]] = {}
    rows = db.session.execute(
        sa.select(Product.producer_id, Certificate.number)
        .join(Certificate, Certificate.product_id == Product.id)
        .where(Product.producer_id.in_(ids), Certificate.number != "")
        .order_by(Certificate.number)
    )
    for producer_id, number in rows:
        found.setdefault(producer_id, [])
        if number not in found[producer_id]:
            found[producer_id].append(number)
    return found


def evidence_matches(claim: ProducerClaim) -> bool:
    key = _certificate_key(claim.evidence)
    return bool(key) and key in {
        _certificate_key(n) for n in certificate_numbers([claim.producer_id]).get(claim.producer_id, [])
    }


def _decide(claim: ProducerClaim, organiser: User, status: str, reason: str = "") -> None:
    """Move a pending claim to its decision once, even when two organisers click together."""
    result = db.session.execute(
        sa.update(ProducerClaim)
        .where(ProducerClaim.id == claim.id, ProducerClaim.status == "pending")
        .values(status=status, reason=reason, decided_by_id=organiser.id, decided_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.refresh(claim)
        raise ServiceError(None, _("Yêu cầu này đã được xử lý."))
    db.session.refresh(claim)


def approve_claim(organiser: User, claim: ProducerClaim) -> ProducerClaim:
    ensure_staff(organiser)
    if claim.status != "pending":
        raise ServiceError(None, _("Yêu cầu này đã được xử lý."))
    producer = claim.producer
    if producer.managers:
        raise ServiceError(
            None, _("Gian hàng đã có người quản lý. Hãy từ chối yêu cầu này hoặc gửi lời mời quản lý thay thế.")
        )
    _decide(claim, organiser, "approved")
    user = claim.user
    producer.managers.append(user)
    user.roles = user.roles | {"producer"}
    from marketplace.dashboard.audit import log_action

    log_action(organiser, "claim.approve", "producer_claim", claim.id, f"{producer.name} · {user.email}")
    queue_mail(
        user.email,
        _("Yêu cầu nhận quản lý “%(name)s” đã được duyệt", name=producer.name),
        _(
            "Xin chào %(user)s,\n\nBan tổ chức đã duyệt yêu cầu của bạn. Từ nay bạn quản lý gian hàng “%(name)s” "
            "trên OCOP Trade Connect: cập nhật thông tin cơ sở và đăng sản phẩm trong mục “Gian hàng của tôi”.\n",
            user=user.name or user.email,
            name=producer.name,
        ),
    )
    db.session.flush()
    return claim


def reject_claim(organiser: User, claim: ProducerClaim, reason: str) -> ProducerClaim:
    ensure_staff(organiser)
    reason = limit_length(nfc(reason).replace("\r\n", "\n"), "reason", 2000)
    if not reason:
        raise ServiceError("reason", _("Vui lòng nêu lý do từ chối."))
    if claim.status != "pending":
        raise ServiceError(None, _("Yêu cầu này đã được xử lý."))
    _decide(claim, organiser, "rejected", reason)
    user = claim.user
    from marketplace.dashboard.audit import log_action

    log_action(organiser, "claim.reject", "producer_claim", claim.id, f"{claim.producer.name} · {user.email}", reason)
    queue_mail(
        user.email,
        _("Yêu cầu nhận quản lý “%(name)s” chưa được chấp thuận", name=claim.producer.name),
        _(
            "Xin chào %(user)s,\n\nBan tổ chức chưa chấp thuận yêu cầu nhận quản lý gian hàng “%(name)s”.\n"
            "Lý do: %(reason)s\n\nBạn có thể gửi lại yêu cầu với số giấy chứng nhận OCOP đúng của cơ sở.\n",
            user=user.name or user.email,
            name=claim.producer.name,
            reason=reason,
        ),
    )
    db.session.flush()
    return claim
