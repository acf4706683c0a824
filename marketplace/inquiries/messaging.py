"""Message threads (one per inquiry or quote): who may read them, posting, attachments, unread counts."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from flask_babel import gettext as _

from marketplace.accounts.models import User
from marketplace.core.errors import NotAllowed, ServiceError
from marketplace.core.models import utcnow
from marketplace.core.vn_text import nfc
from marketplace.extensions import db
from marketplace.inquiries import attachments
from marketplace.inquiries.common import is_authenticated, is_producer_party, producer_users, setting, site_path
from marketplace.inquiries.models import Attachment, Message, Report, Thread, ThreadRead
from marketplace.inquiries.notifications import notify
from marketplace.producers.models import producer_managers

MAX_BODY = 5000


# --------------------------------------------------------------------------- access


def is_party(user, thread: Thread) -> bool:
    if not is_authenticated(user):
        return False
    return user.id == thread.buyer_id or is_producer_party(user, thread.producer)


def has_report(thread: Thread) -> bool:
    return (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Report)
            .join(Message, Message.id == Report.message_id)
            .where(Message.thread_id == thread.id)
        )
        or 0
    ) > 0


def can_read(user, thread: Thread) -> bool:
    """The two parties; organisers only while handling a report on this thread."""
    if is_party(user, thread):
        return True
    return is_authenticated(user) and user.is_staff and has_report(thread)


def managed_producer_ids(user: User) -> list[int]:
    if not is_authenticated(user) or not user.has_role("producer"):
        return []
    return list(
        db.session.scalars(sa.select(producer_managers.c.producer_id).where(producer_managers.c.user_id == user.id))
    )


# --------------------------------------------------------------------------- threads


def subject_of(thread: Thread) -> str:
    if thread.inquiry is not None:
        inquiry = thread.inquiry
        if inquiry.product is not None:
            return _("Hỏi hàng: %(name)s", name=inquiry.product.name)
        return _("Hỏi hàng gửi %(name)s", name=inquiry.producer.name)
    return _("Báo giá cho “%(title)s”", title=thread.quote.rfq.title)


def link_of(thread: Thread) -> str:
    if thread.inquiry_id is not None:
        return site_path("inquiries.inquiry", inquiry_id=thread.inquiry_id)
    return site_path("inquiries.quote", quote_id=thread.quote_id)


def closed_reason(thread: Thread) -> str | None:
    """Why no new message may be posted, or None."""
    if thread.inquiry is not None:
        if thread.inquiry.status == "closed":
            return _("Cuộc trao đổi này đã đóng.")
        return None
    quote = thread.quote
    if quote.status in ("declined", "withdrawn"):
        return _("Báo giá đã kết thúc nên không thể gửi thêm tin nhắn.")
    if quote.rfq.hidden:
        return _("Yêu cầu báo giá đã bị ban tổ chức ẩn.")
    return None


def open_thread(*, buyer_id: int, producer, inquiry=None, quote=None) -> Thread:
    thread = Thread(buyer_id=buyer_id, producer=producer, inquiry=inquiry, quote=quote)
    db.session.add(thread)
    db.session.flush()
    return thread


def other_party(user: User, thread: Thread) -> list[User]:
    if user.id == thread.buyer_id:
        return producer_users(thread.producer)
    return [thread.buyer]


def post_message(
    user: User,
    thread: Thread,
    body: str | None,
    uploads: Sequence[attachments.Upload] = (),
    *,
    notify_other: bool = True,
) -> Message:
    """Add a message (text and/or attachments) from one party to the thread."""
    if not is_party(user, thread):
        raise NotAllowed()
    reason = closed_reason(thread)
    if reason:
        raise ServiceError("body", reason)
    text = nfc(body).replace("\r\n", "\n").replace("\r", "\n")
    uploads = [u for u in uploads if u.filename or u.data]
    if not text and not uploads:
        raise ServiceError("body", _("Vui lòng nhập nội dung tin nhắn hoặc đính kèm tệp."))
    if len(text) > MAX_BODY:
        raise ServiceError("body", _("Tin nhắn tối đa %(n)s ký tự.", n=MAX_BODY))
    most = int(setting("MAX_ATTACHMENTS_PER_MESSAGE"))
    if len(uploads) > most:
        raise ServiceError("attachments", _("Mỗi tin nhắn đính kèm tối đa %(n)s tệp.", n=most))
    stored: list[attachments.StoredFile] = []
    try:
        for upload in uploads:
            stored.append(attachments.store(upload))
    except ServiceError:
        attachments.remove([s.stored_name for s in stored])
        raise
    now = utcnow()
    message = Message(thread=thread, author_id=user.id, body=text, created_at=now)
    for item in stored:
        message.attachments.append(
            Attachment(
                stored_name=item.stored_name,
                original_name=item.original_name,
                content_type=item.content_type,
                size=item.size,
            )
        )
    db.session.add(message)
    thread.last_message_at = now
    db.session.flush()
    _record_first_response(user, thread, now)
    mark_read(user, thread, up_to=message.id)
    if notify_other:
        name = _display_name(user, thread)
        subject = thread_subject_text(thread)
        notify(
            other_party(user, thread),
            "message",
            link_of(thread),
            lambda: _("%(name)s đã gửi tin nhắn: %(subject)s", name=name, subject=subject()),
        )
    return message


def thread_subject_text(thread: Thread):
    """A callable so the subject is translated in each recipient's language."""
    return lambda: subject_of(thread)


def _display_name(user: User, thread: Thread) -> str:
    if user.id == thread.buyer_id:
        return user.organisation or user.name or user.email
    return thread.producer.name


def _record_first_response(user: User, thread: Thread, now) -> None:
    if user.id == thread.buyer_id or thread.inquiry is None:
        return
    inquiry = thread.inquiry
    if inquiry.first_response_at is None:
        inquiry.first_response_at = now
    if inquiry.status == "open":
        from marketplace.inquiries.services import transition

        transition(inquiry, "answered")


# --------------------------------------------------------------------------- reading


def mark_read(user: User, thread: Thread, up_to: int | None = None) -> None:
    last = (
        up_to
        if up_to is not None
        else db.session.scalar(sa.select(sa.func.max(Message.id)).where(Message.thread_id == thread.id)) or 0
    )
    read = db.session.get(ThreadRead, (thread.id, user.id))
    if read is None:
        try:
            with db.session.begin_nested():
                db.session.add(ThreadRead(thread_id=thread.id, user_id=user.id, last_read_message_id=last))
        except sa.exc.IntegrityError:  # the same user's other tab got there first
            read = db.session.get(ThreadRead, (thread.id, user.id))
    if read is not None and read.last_read_message_id < last:
        read.last_read_message_id = last
    db.session.flush()


def _unread_stmt(user: User) -> sa.Select:
    return (
        sa.select(Message.thread_id, sa.func.count(Message.id))
        .outerjoin(ThreadRead, sa.and_(ThreadRead.thread_id == Message.thread_id, ThreadRead.user_id == user.id))
        .where(
            sa.or_(Message.author_id.is_(None), Message.author_id != user.id),
            Message.hidden.is_(False),
            Message.id > sa.func.coalesce(ThreadRead.last_read_message_id, 0),
        )
        .group_by(Message.thread_id)
    )


def unread_counts(user: User, thread_ids: Sequence[int]) -> dict[int, int]:
    if not thread_ids:
        return {}
    rows = db.session.execute(_unread_stmt(user).where(Message.thread_id.in_(list(thread_ids)))).all()
    return {thread_id: count for thread_id, count in rows}


def threads_stmt(user: User) -> sa.Select:
    """Every thread `user` is a party to, most recent first."""
    producer_ids = managed_producer_ids(user)
    party = Thread.buyer_id == user.id
    if producer_ids:
        party = sa.or_(party, Thread.producer_id.in_(producer_ids))
    return (
        sa.select(Thread)
        .where(party)
        .order_by(sa.func.coalesce(Thread.last_message_at, Thread.created_at).desc(), Thread.id.desc())
    )


def total_unread(user: User) -> int:
    ids = threads_stmt(user).with_only_columns(Thread.id).order_by(None).scalar_subquery()
    rows = db.session.execute(_unread_stmt(user).where(Message.thread_id.in_(ids))).all()
    return sum(count for _id, count in rows)


def attachment_for(user, attachment_id: int) -> Attachment | None:
    """The attachment if `user` may download it, else None (the view answers 404)."""
    item = db.session.get(Attachment, attachment_id)
    if item is None:
        return None
    thread = item.message.thread
    if not can_read(user, thread):
        return None
    if item.message.hidden and not (is_authenticated(user) and user.is_staff):
        return None
    return item
