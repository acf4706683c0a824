"""Forum set-up by organisers: the forum, its sessions and their slots, status transitions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _

from marketplace.accounts.models import User
from marketplace.core.dates import HANOI, today
from marketplace.core.errors import NotAllowed, ServiceError
from marketplace.core.models import utcnow
from marketplace.core.validation import limit_length
from marketplace.core.vn_text import clean_line, nfc
from marketplace.extensions import db
from marketplace.forums.models import (
    Forum,
    ForumSession,
    ForumSlot,
    Meeting,
    MeetingSeat,
    registration_sessions,
)

MAX_TABLES = 500
MAX_CAPACITY = 10_000
MAX_FEE_VND = 100_000_000
MAX_SESSIONS = 20
# Allowed status changes: draft → open → closed → finished (closed may reopen).
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "draft": ("open",),
    "open": ("closed",),
    "closed": ("open", "finished"),
    "finished": (),
}


@dataclass
class ForumData:
    title: str
    starts_on: date | None
    ends_on: date | None
    registration_deadline: datetime | None  # aware
    description: str = ""
    venue: str = ""
    district: str = ""
    request_deadline: datetime | None = None
    tables: int = 20
    max_meetings_per_participant: int = 8
    capacity_buyers: int = 100
    capacity_producers: int = 100
    fee_vnd: int = 0


@dataclass
class SessionData:
    day: date | None
    starts_at: time | None
    ends_at: time | None
    meeting_minutes: int = 20
    name: str = ""
    break_starts_at: time | None = None
    break_ends_at: time | None = None
    id: int | None = None  # an existing session of the forum, None: a new one


def ensure_organiser(user: User | None) -> None:
    if user is None or not user.is_staff:
        raise NotAllowed()


def local_datetime(day: date, moment: time) -> datetime:
    """A Hà Nội wall-clock time on `day`, in UTC."""
    return datetime.combine(day, moment, tzinfo=HANOI).astimezone(UTC)


# --------------------------------------------------------------------------- the forum


def _clean_forum(data: ForumData) -> dict:
    title = clean_line(data.title)
    if not title:
        raise ServiceError("title", _("Hãy nhập tên diễn đàn."))
    limit_length(title, "title", 200)
    description = nfc(data.description or "").strip()
    limit_length(description, "description", 20_000)
    venue = limit_length(clean_line(data.venue), "venue", 300)
    district = limit_length(clean_line(data.district), "district", 80)
    if data.starts_on is None:
        raise ServiceError("starts_on", _("Hãy chọn ngày bắt đầu."))
    if data.ends_on is None:
        raise ServiceError("ends_on", _("Hãy chọn ngày kết thúc."))
    if data.ends_on < data.starts_on:
        raise ServiceError("ends_on", _("Ngày kết thúc không được trước ngày bắt đầu."))
    if data.registration_deadline is None:
        raise ServiceError("registration_deadline", _("Hãy nhập hạn đăng ký."))
    forum_end = local_datetime(data.ends_on + timedelta(days=1), time(0, 0))
    if data.registration_deadline > forum_end:
        raise ServiceError("registration_deadline", _("Hạn đăng ký phải trước khi diễn đàn kết thúc."))
    if data.request_deadline is not None and data.request_deadline > forum_end:
        raise ServiceError("request_deadline", _("Hạn gửi lời mời gặp phải trước khi diễn đàn kết thúc."))
    if not 1 <= data.tables <= MAX_TABLES:
        raise ServiceError("tables", _("Số bàn phải từ 1 đến %(n)s.", n=MAX_TABLES))
    if not 1 <= data.max_meetings_per_participant <= 50:
        raise ServiceError("max_meetings_per_participant", _("Số cuộc gặp tối đa phải từ 1 đến 50."))
    for field, value in (("capacity_buyers", data.capacity_buyers), ("capacity_producers", data.capacity_producers)):
        if not 0 <= value <= MAX_CAPACITY:
            raise ServiceError(field, _("Sức chứa phải từ 0 đến %(n)s.", n=MAX_CAPACITY))
    if not 0 <= data.fee_vnd <= MAX_FEE_VND:
        raise ServiceError("fee_vnd", _("Lệ phí không hợp lệ."))
    return {
        "title": title,
        "description": description,
        "venue": venue,
        "district": district,
        "starts_on": data.starts_on,
        "ends_on": data.ends_on,
        "registration_deadline": data.registration_deadline,
        "request_deadline": data.request_deadline,
        "tables": data.tables,
        "max_meetings_per_participant": data.max_meetings_per_participant,
        "capacity_buyers": data.capacity_buyers,
        "capacity_producers": data.capacity_producers,
        "fee_vnd": data.fee_vnd,
    }


def create_forum(organiser: User, data: ForumData) -> Forum:
    ensure_organiser(organiser)
    forum = Forum(**_clean_forum(data), status="draft", created_by_id=organiser.id)
    db.session.add(forum)
    db.session.flush()
    return forum


def update_forum(organiser: User, forum: Forum, data: ForumData) -> Forum:
    ensure_organiser(organiser)
    if forum.status == "finished":
        raise ServiceError(None, _("Diễn đàn đã kết thúc, không sửa được nữa."))
    values = _clean_forum(data)
    if values["tables"] < forum.tables:
        used = db.session.scalar(
            sa.select(sa.func.max(Meeting.table_no)).where(Meeting.forum_id == forum.id, Meeting.slot_id.is_not(None))
        )
        if used is not None and used > values["tables"]:
            raise ServiceError("tables", _("Bàn số %(n)s đang có cuộc gặp đã xếp lịch.", n=used))
    for key, value in values.items():
        setattr(forum, key, value)
    for session in forum.sessions:
        if not forum.starts_on <= session.day <= forum.ends_on:
            raise ServiceError("ends_on", _("Có phiên nằm ngoài các ngày của diễn đàn."))
    db.session.flush()
    return forum


def change_status(organiser: User, forum: Forum, status: str) -> Forum:
    ensure_organiser(organiser)
    if status not in TRANSITIONS.get(forum.status, ()):
        raise ServiceError("status", _("Không thể chuyển trạng thái diễn đàn như vậy."))
    if status == "open" and not forum.slots:
        raise ServiceError("status", _("Hãy thêm ít nhất một phiên gặp gỡ trước khi mở đăng ký."))
    forum.status = status
    db.session.flush()
    return forum


def effective_request_deadline(forum: Forum) -> datetime:
    return forum.request_deadline or forum.registration_deadline


def registration_open(forum: Forum, now: datetime | None = None) -> bool:
    return forum.status == "open" and (now or utcnow()) <= forum.registration_deadline


# --------------------------------------------------------------------------- sessions and slots


def slot_times(session: SessionData | ForumSession) -> list[tuple[datetime, datetime]]:
    """The meeting times of a session (UTC), skipping its break."""
    length = timedelta(minutes=session.meeting_minutes)
    day = session.day
    assert day is not None and session.starts_at is not None and session.ends_at is not None
    start = local_datetime(day, session.starts_at)
    end = local_datetime(day, session.ends_at)
    pause = None
    if session.break_starts_at is not None and session.break_ends_at is not None:
        pause = (local_datetime(day, session.break_starts_at), local_datetime(day, session.break_ends_at))
    out = []
    moment = start
    while moment + length <= end:
        if pause is not None and moment < pause[1] and moment + length > pause[0]:
            moment = pause[1]
            continue
        out.append((moment, moment + length))
        moment += length
    return out


def _clean_session(forum: Forum, data: SessionData, index: int) -> SessionData:
    n = index + 1
    name = limit_length(clean_line(data.name), f"sessions-{index}-name", 120)
    if data.day is None or data.starts_at is None or data.ends_at is None:
        raise ServiceError(f"sessions-{index}-day", _("Phiên %(n)s: cần ngày, giờ bắt đầu và giờ kết thúc.", n=n))
    if not forum.starts_on <= data.day <= forum.ends_on:
        raise ServiceError(f"sessions-{index}-day", _("Phiên %(n)s: ngày phải nằm trong thời gian diễn đàn.", n=n))
    if data.ends_at <= data.starts_at:
        raise ServiceError(f"sessions-{index}-ends_at", _("Phiên %(n)s: giờ kết thúc phải sau giờ bắt đầu.", n=n))
    if not 15 <= data.meeting_minutes <= 30:
        raise ServiceError(
            f"sessions-{index}-meeting_minutes", _("Phiên %(n)s: mỗi cuộc gặp dài từ 15 đến 30 phút.", n=n)
        )
    if (data.break_starts_at is None) != (data.break_ends_at is None):
        raise ServiceError(
            f"sessions-{index}-break_starts_at", _("Phiên %(n)s: giờ nghỉ cần cả giờ bắt đầu và kết thúc.", n=n)
        )
    if data.break_starts_at is not None and data.break_ends_at is not None:
        if not data.starts_at <= data.break_starts_at < data.break_ends_at <= data.ends_at:
            raise ServiceError(
                f"sessions-{index}-break_starts_at", _("Phiên %(n)s: giờ nghỉ phải nằm trong phiên.", n=n)
            )
    cleaned = SessionData(
        day=data.day,
        starts_at=data.starts_at,
        ends_at=data.ends_at,
        meeting_minutes=data.meeting_minutes,
        name=name,
        break_starts_at=data.break_starts_at,
        break_ends_at=data.break_ends_at,
        id=data.id,
    )
    if not slot_times(cleaned):
        raise ServiceError(f"sessions-{index}-ends_at", _("Phiên %(n)s quá ngắn cho một cuộc gặp.", n=n))
    return cleaned


def _timing(s: SessionData | ForumSession) -> tuple:
    return (s.day, s.starts_at, s.ends_at, s.meeting_minutes, s.break_starts_at, s.break_ends_at)


def _scheduled_in(session: ForumSession) -> int:
    return (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Meeting)
            .join(ForumSlot, ForumSlot.id == Meeting.slot_id)
            .where(ForumSlot.session_id == session.id)
        )
        or 0
    )


def _generate_slots(session: ForumSession) -> None:
    for position, (start, end) in enumerate(slot_times(session)):
        db.session.add(
            ForumSlot(forum_id=session.forum_id, session_id=session.id, position=position, starts_at=start, ends_at=end)
        )


def _drop_slots(session: ForumSession) -> None:
    ids = list(db.session.scalars(sa.select(ForumSlot.id).where(ForumSlot.session_id == session.id)))
    if ids:
        db.session.execute(sa.delete(MeetingSeat).where(MeetingSeat.slot_id.in_(ids)))
        db.session.execute(sa.delete(ForumSlot).where(ForumSlot.id.in_(ids)))


def set_sessions(organiser: User, forum: Forum, items: Sequence[SessionData]) -> list[ForumSession]:
    """Replace the forum's sessions with `items` (existing ones by id). Slots of a session are
    regenerated when its timing changes, which is refused while a meeting is scheduled in it."""
    ensure_organiser(organiser)
    if forum.status == "finished":
        raise ServiceError(None, _("Diễn đàn đã kết thúc, không sửa được nữa."))
    if not items:
        raise ServiceError("sessions", _("Diễn đàn cần ít nhất một phiên."))
    if len(items) > MAX_SESSIONS:
        raise ServiceError("sessions", _("Tối đa %(n)s phiên.", n=MAX_SESSIONS))
    cleaned = [_clean_session(forum, item, i) for i, item in enumerate(items)]
    existing = {s.id: s for s in forum.sessions}
    kept_ids = set()
    for i, item in enumerate(cleaned):
        if item.id is not None:
            if item.id not in existing:
                raise ServiceError(f"sessions-{i}-day", _("Phiên không thuộc diễn đàn này."))
            if item.id in kept_ids:
                raise ServiceError(f"sessions-{i}-day", _("Phiên bị lặp lại."))
            kept_ids.add(item.id)
    # Overlapping sessions would put a participant in two slots at once.
    spans = sorted(
        (local_datetime(s.day, s.starts_at), local_datetime(s.day, s.ends_at), i)  # type: ignore[arg-type]
        for i, s in enumerate(cleaned)
    )
    for (_s1, e1, _i1), (s2, _e2, i2) in zip(spans, spans[1:], strict=False):
        if s2 < e1:
            raise ServiceError(f"sessions-{i2}-starts_at", _("Phiên %(n)s trùng giờ với một phiên khác.", n=i2 + 1))
    for session_id, session in existing.items():
        changed = session_id not in kept_ids or any(
            _timing(item) != _timing(session) for item in cleaned if item.id == session_id
        )
        if changed and _scheduled_in(session):
            label = session.name or session.day.strftime("%d/%m/%Y")
            raise ServiceError(
                "sessions",
                _(
                    "Phiên “%(name)s” đã có cuộc gặp được xếp lịch: hãy bỏ xếp lịch các cuộc gặp đó trước khi đổi "
                    "hoặc xoá phiên.",
                    name=label,
                ),
            )
    for session_id, session in existing.items():
        if session_id not in kept_ids:
            _drop_slots(session)
            db.session.execute(sa.delete(registration_sessions).where(registration_sessions.c.session_id == session_id))
            forum.sessions.remove(session)
            db.session.delete(session)
    db.session.flush()
    result = []
    for item in cleaned:
        if item.id is not None:
            session = existing[item.id]
            session.name = item.name
            if _timing(item) != _timing(session):
                _drop_slots(session)
                (
                    session.day,
                    session.starts_at,
                    session.ends_at,
                    session.meeting_minutes,
                    session.break_starts_at,
                    session.break_ends_at,
                ) = _timing(item)
                db.session.flush()
                _generate_slots(session)
        else:
            session = ForumSession(
                forum=forum,
                name=item.name,
                day=item.day,
                starts_at=item.starts_at,
                ends_at=item.ends_at,
                meeting_minutes=item.meeting_minutes,
                break_starts_at=item.break_starts_at,
                break_ends_at=item.break_ends_at,
            )
            db.session.add(session)
            db.session.flush()
            _generate_slots(session)
        result.append(session)
    db.session.flush()
    db.session.expire(forum, ["sessions", "slots"])
    return result


# --------------------------------------------------------------------------- listing


def visible_forums(user: User | None) -> list[Forum]:
    """Open and upcoming forums (registration open or closed, not yet over), soonest first;
    organisers also see drafts."""
    statuses = ["open", "closed"]
    if user is not None and getattr(user, "is_authenticated", False) and user.is_staff:
        statuses.append("draft")
    stmt = (
        sa.select(Forum).where(Forum.status.in_(statuses), Forum.ends_on >= today()).order_by(Forum.starts_on, Forum.id)
    )
    return list(db.session.scalars(stmt))


def past_forums(limit: int = 20) -> list[Forum]:
    """Finished forums and those whose last day has passed, latest first."""
    stmt = (
        sa.select(Forum)
        .where(sa.or_(Forum.status == "finished", sa.and_(Forum.status != "draft", Forum.ends_on < today())))
        .order_by(Forum.starts_on.desc(), Forum.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(stmt))


def get_forum(forum_id: int, user: User | None) -> Forum | None:
    """The forum, or None when it does not exist or is a draft the user may not see."""
    forum = db.session.get(Forum, forum_id)
    if forum is None:
        return None
    if forum.status == "draft" and not (
        user is not None and getattr(user, "is_authenticated", False) and user.is_staff
    ):
        return None
    return forum
