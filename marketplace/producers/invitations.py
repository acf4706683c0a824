"""Manager invitations: organisers send a single-use, expiring link (only its hash is stored) and
the account with the invited address accepts it to become a manager of the storefront.

Kept apart from `services.py` (the storefront itself) because invitations carry their own token,
expiry and invitee checks. Services flush; the views commit.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from marketplace.accounts.models import User
from marketplace.accounts.services import normalise_email
from marketplace.core.errors import ServiceError
from marketplace.core.models import utcnow
from marketplace.core.vn_text import clean_line
from marketplace.extensions import db
from marketplace.mail.services import queue_mail
from marketplace.producers.models import Producer, ProducerInvitation
from marketplace.producers.services import EMAIL_PATTERN, ensure_staff


class InvitationInvalid(ServiceError):
    """An unknown, used or expired invitation link; `status` is the HTTP status to answer with."""

    def __init__(self, reason: str, email: str = ""):
        messages = {
            "unknown": lambda: _("Liên kết mời không tồn tại hoặc đã bị nhập sai."),
            "used": lambda: _("Lời mời này đã được sử dụng. Mỗi liên kết mời chỉ dùng được một lần."),
            "expired": lambda: _("Lời mời này đã hết hạn. Vui lòng đề nghị ban tổ chức gửi lời mời mới."),
            "other_account": lambda: _(
                "Lời mời này được gửi tới %(email)s. Bạn đang đăng nhập bằng một địa chỉ khác: hãy đăng xuất, "
                "rồi đăng nhập (hoặc đăng ký) bằng địa chỉ nhận lời mời.",
                email=email,
            ),
        }
        super().__init__(None, messages[reason](), code=reason)
        self.reason = reason
        self.status = {"unknown": 404, "other_account": 403}.get(reason, 410)


def masked_email(email: str) -> str:
    """ "chu.co.so@example.vn" -> "c•••@example.vn": enough for the invitee to recognise."""
    local, _at, domain = email.partition("@")
    return f"{local[:1]}•••@{domain}" if domain else "•••"


def check_invitee(user: User, invitation: ProducerInvitation) -> None:
    """Only the account with the invited address may accept: a forwarded or leaked link does not
    make a stranger a manager of the storefront."""
    if normalise_email(user.email) != invitation.email:
        raise InvitationInvalid("other_account", email=masked_email(invitation.email))


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def invitation_status(invitation: ProducerInvitation, now: datetime | None = None) -> str:
    """pending | used | expired."""
    if invitation.used_at is not None:
        return "used"
    return "expired" if invitation.expires_at <= (now or utcnow()) else "pending"


def create_invitation(
    organiser: User, producer: Producer, email: str, link_for: Callable[[str], str]
) -> tuple[ProducerInvitation, str]:
    """Make a single-use link (only its hash is stored), mail it, and return it to show once."""
    ensure_staff(organiser)
    email = clean_line(email).lower()
    if not email or len(email) > 254 or not EMAIL_PATTERN.match(email):
        raise ServiceError("email", _("Địa chỉ email không hợp lệ."))
    token = secrets.token_urlsafe(32)
    invitation = ProducerInvitation(
        producer=producer,
        email=email,
        token_hash=hash_token(token),
        created_by_id=organiser.id,
        expires_at=utcnow() + timedelta(seconds=int(current_app.config["INVITATION_MAX_AGE"])),
    )
    db.session.add(invitation)
    db.session.flush()
    from marketplace.dashboard.audit import log_action

    log_action(organiser, "producer.invite", "producer", producer.id, f"{producer.name} · {email}")
    link = link_for(token)
    days = max(1, int(current_app.config["INVITATION_MAX_AGE"]) // 86400)
    queue_mail(
        email,
        _("Lời mời quản lý gian hàng “%(name)s” trên OCOP Trade Connect", name=producer.name),
        _(
            "Xin chào,\n\nBan tổ chức mời bạn quản lý gian hàng “%(name)s” (%(district)s) trên OCOP Trade Connect.\n"
            "Đăng nhập (hoặc đăng ký) rồi mở liên kết sau để nhận lời mời:\n\n%(link)s\n\n"
            "Liên kết chỉ dùng được một lần và hết hạn sau %(days)s ngày.\n",
            name=producer.name,
            district=producer.district,
            link=link,
            days=days,
        ),
    )
    return invitation, link


def recent_invitations(producer: Producer, limit: int = 20) -> list[ProducerInvitation]:
    return list(
        db.session.scalars(
            sa.select(ProducerInvitation)
            .where(ProducerInvitation.producer_id == producer.id)
            .order_by(ProducerInvitation.created_at.desc(), ProducerInvitation.id.desc())
            .limit(limit)
        )
    )


def find_invitation(token: str) -> ProducerInvitation:
    """The pending invitation behind `token`, or InvitationInvalid (unknown, used, expired)."""
    if not token or len(token) > 200:
        raise InvitationInvalid("unknown")
    invitation = db.session.scalar(
        sa.select(ProducerInvitation).where(ProducerInvitation.token_hash == hash_token(token))
    )
    if invitation is None:
        raise InvitationInvalid("unknown")
    status = invitation_status(invitation)
    if status != "pending":
        raise InvitationInvalid(status)
    return invitation


def accept_invitation(user: User, token: str) -> ProducerInvitation:
    """The recipient (the account with the invited address) becomes a manager of the producer and
    gains the producer role; single use."""
    invitation = find_invitation(token)
    check_invitee(user, invitation)
    now = utcnow()
    result = db.session.execute(
        sa.update(ProducerInvitation)
        .where(ProducerInvitation.id == invitation.id, ProducerInvitation.used_at.is_(None))
        .values(used_at=now, used_by_id=user.id)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise InvitationInvalid("used")
    db.session.refresh(invitation)
    producer = invitation.producer
    if not producer.is_managed_by(user):
        producer.managers.append(user)
    user.roles = user.roles | {"producer"}
    db.session.flush()
    return invitation
