"""Notifications: an in-app list with an unread count, and e-mail through the mail outbox.

`notify()` only adds rows (in the caller's transaction). `send_emails()` (run by
`flask notifications send`) turns pending rows into outbox mail: one mail per user and run for
"instant", one digest per day for "daily". A notification is claimed with a conditional UPDATE
(email_state 'pending' -> 'sent') in the same transaction that queues its mail, so a retry, or two
runs at once, never e-mail it twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import gettext as _

from marketplace.accounts.models import User
from marketplace.core.dates import HANOI, today
from marketplace.core.errors import ServiceError
from marketplace.core.models import utcnow
from marketplace.core.pagination import Page, paginate
from marketplace.extensions import db
from marketplace.inquiries.common import absolute_url, setting, unique_users
from marketplace.inquiries.models import EMAIL_MODES, Notification, NotificationSetting
from marketplace.mail.services import deliver_pending, queue_mail

KINDS = (
    "inquiry",
    "message",
    "rfq_invited",
    "rfq_lead",
    "rfq_closed",
    "quote_received",
    "quote_accepted",
    "quote_declined",
    "quote_withdrawn",
    "report",
    "moderation",
)


def notify(users: Iterable[User | None], kind: str, link: str, text: Callable[[], str]) -> list[Notification]:
    """Notify each user once. `text` is called under each recipient's language."""
    created = []
    for user in unique_users(users):
        if user.suspended:
            continue
        with force_locale(user.locale or "vi"):
            message = str(text())
        item = Notification(user_id=user.id, kind=kind, text=message[:500], link=link[:300])
        db.session.add(item)
        created.append(item)
    db.session.flush()
    return created


def unread_count(user: User) -> int:
    return (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Notification)
            .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        )
        or 0
    )


def notifications_page(user: User, page: int, per_page: int = 30) -> Page:
    stmt = (
        sa.select(Notification)
        .where(Notification.user_id == user.id)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
    )
    return paginate(stmt, page, per_page)


def get_own(user: User, notification_id: int) -> Notification | None:
    item = db.session.get(Notification, notification_id)
    return item if item is not None and item.user_id == user.id else None


def mark_read(user: User, item: Notification) -> None:
    if item.user_id != user.id:
        raise ServiceError(None, _("Không tìm thấy thông báo."))
    if item.read_at is None:
        item.read_at = utcnow()
        db.session.flush()


def mark_all_read(user: User) -> int:
    result = db.session.execute(
        sa.update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.flush()
    return result.rowcount or 0


def mark_read_for_link(user: User, link: str) -> None:
    """Opening a page reads the notifications that point to it."""
    db.session.execute(
        sa.update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None), Notification.link == link)
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )


# --------------------------------------------------------------------------- preferences


def email_mode(user: User) -> str:
    found = db.session.get(NotificationSetting, user.id)
    return found.email_mode if found is not None else "instant"


def set_email_mode(user: User, mode: str) -> NotificationSetting:
    if mode not in EMAIL_MODES:
        raise ServiceError("email_mode", _("Vui lòng chọn cách nhận email thông báo."))
    found = db.session.get(NotificationSetting, user.id)
    if found is None:
        found = NotificationSetting(user_id=user.id, email_mode=mode)
        db.session.add(found)
    found.email_mode = mode
    db.session.flush()
    return found


# --------------------------------------------------------------------------- e-mail


@dataclass
class SendReport:
    mails: int = 0  # queued by this run (instant + digest)
    digests: int = 0
    notifications: int = 0  # notifications e-mailed
    skipped: int = 0  # not e-mailed: read already, mode "off", suspended or unverified address
    delivered: int = 0  # outbox messages sent by this run


def _digest_due(found: NotificationSetting | None, now: datetime, day: date) -> bool:
    if found is not None and found.last_digest_on is not None and found.last_digest_on >= day:
        return False
    return now.astimezone(HANOI).hour >= int(setting("NOTIFICATION_DIGEST_HOUR"))


def _claim(ids: list[int], state: str, now: datetime) -> bool:
    """pending -> state for exactly these rows, or nothing (another run took some of them)."""
    if not ids:
        return True
    result = db.session.execute(
        sa.update(Notification)
        .where(Notification.id.in_(ids), Notification.email_state == "pending")
        .values(email_state=state, emailed_at=now if state == "sent" else None)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == len(ids)


def _claim_digest(user_id: int, day: date) -> bool:
    found = db.session.get(NotificationSetting, user_id)
    if found is None:
        return False
    result = db.session.execute(
        sa.update(NotificationSetting)
        .where(
            NotificationSetting.user_id == user_id,
            sa.or_(NotificationSetting.last_digest_on.is_(None), NotificationSetting.last_digest_on < day),
        )
        .values(last_digest_on=day)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def _compose(user: User, items: list[Notification], digest_day: date | None) -> tuple[str, str]:
    with force_locale(user.locale or "vi"):
        if digest_day is not None:
            subject = _("Tóm tắt thông báo ngày %(day)s", day=digest_day.strftime("%d/%m/%Y"))
        elif len(items) == 1:
            subject = items[0].text[:200]
        else:
            subject = _("Bạn có %(n)s thông báo mới", n=len(items))
        lines = [
            _("Xin chào %(name)s,", name=user.name or user.email),
            "",
            _("Bạn có thông báo mới trên OCOP Trade Connect:")
            if digest_day is None
            else _("Các thông báo bạn chưa đọc:"),
            "",
        ]
        for item in items:
            lines.append(f"• {item.text}")
            if item.link:
                lines.append(f"  {absolute_url(item.link)}")
        lines += [
            "",
            _(
                "Đổi cách nhận email (ngay hoặc tóm tắt hằng ngày): %(link)s",
                link=absolute_url("/notifications/settings"),
            ),
            "",
            _("Trân trọng,\nOCOP Trade Connect"),
        ]
    return "[OCOP Trade Connect] " + subject, "\n".join(lines)


def _send_for_user(user_id: int, report: SendReport, now: datetime, day: date) -> None:
    user = db.session.get(User, user_id)
    pending = list(
        db.session.scalars(
            sa.select(Notification)
            .where(Notification.user_id == user_id, Notification.email_state == "pending")
            .order_by(Notification.id)
        )
    )
    if user is None or not pending:
        return
    found = db.session.get(NotificationSetting, user_id)
    mode = found.email_mode if found is not None else "instant"
    if user.suspended or not user.email_verified or mode == "off":
        if _claim([n.id for n in pending], "skipped", now):
            report.skipped += len(pending)
            db.session.commit()
        else:
            db.session.rollback()
        return
    unread = [n for n in pending if n.read_at is None]
    read = [n for n in pending if n.read_at is not None]
    if mode == "daily" and (not _digest_due(found, now, day)):
        return
    ok = _claim([n.id for n in read], "skipped", now)
    if ok and unread and mode == "daily":
        ok = _claim_digest(user_id, day)
    if ok:
        ok = _claim([n.id for n in unread], "sent", now)
    if not ok:
        db.session.rollback()
        return
    report.skipped += len(read)
    if unread:
        subject, body = _compose(user, unread, day if mode == "daily" else None)
        mail = queue_mail(user.email, subject, body)
        db.session.execute(
            sa.update(Notification)
            .where(Notification.id.in_([n.id for n in unread]))
            .values(mail_id=mail.id)
            .execution_options(synchronize_session=False)
        )
        report.mails += 1
        report.notifications += len(unread)
        if mode == "daily":
            report.digests += 1
    db.session.commit()


def send_emails(now: datetime | None = None, deliver: bool = True) -> SendReport:
    """Queue e-mail for pending notifications (each user's rows in one transaction), then deliver
    the outbox. Safe to run again, and from two processes at once."""
    now = now or utcnow()
    day = today()
    report = SendReport()
    user_ids = list(
        db.session.scalars(
            sa.select(Notification.user_id)
            .where(Notification.email_state == "pending")
            .group_by(Notification.user_id)
            .order_by(Notification.user_id)
        )
    )
    db.session.commit()
    for user_id in user_ids:
        _send_for_user(user_id, report, now, day)
    if deliver:
        report.delivered = deliver_pending(limit=1000)
    return report
