"""Agendas: a participant's scheduled meetings, the QR code of their check-in code, the table plan.

Read-only queries. Times are shown in Hà Nội time (`to_local`); the slots are stored in UTC.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import segno
import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from marketplace.accounts.models import User
from marketplace.catalog.models import Product
from marketplace.core.dates import to_local
from marketplace.extensions import db
from marketplace.forums.models import Forum, ForumSlot, Meeting, Registration

# Meetings that may hold a slot and a table (a released one has given both back).
PLACED_STATUSES = ("accepted", "recommended")


def is_organiser(user: User | None) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False) and user.is_staff)


def own_registration(user: User | None, forum: Forum) -> Registration | None:
    """The user's registration for the forum, whatever its status (None: not registered)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return db.session.scalar(
        sa.select(Registration).where(Registration.forum_id == forum.id, Registration.user_id == user.id)
    )


def registration_for(user: User | None, forum: Forum, registration_id: int) -> Registration | None:
    """A registration of the forum the user may see the agenda of: organisers any, a participant
    only their own (None otherwise, shown as 404)."""
    registration = db.session.get(Registration, registration_id)
    if registration is None or registration.forum_id != forum.id or user is None:
        return None
    if is_organiser(user) or registration.user_id == user.id:
        return registration
    return None


def display_name(registration: Registration) -> str:
    """The organisation a participant comes for, else a person's name."""
    if registration.organisation:
        return registration.organisation
    if registration.producer is not None:
        return registration.producer.name
    return registration.contact_name or registration.user.name or registration.user.email


@dataclass
class AgendaItem:
    meeting: Meeting
    starts_at: datetime  # local time
    ends_at: datetime  # local time
    table_no: int
    other: Registration
    other_products: list[Product] = field(default_factory=list)

    @property
    def other_name(self) -> str:
        return display_name(self.other)


def _public_products(registration: Registration) -> list[Product]:
    return [p for p in registration.products if p.is_public]


def agenda_items(registration: Registration) -> list[AgendaItem]:
    """The participant's placed meetings in time order (then by table)."""
    meetings = db.session.scalars(
        sa.select(Meeting)
        .join(ForumSlot, ForumSlot.id == Meeting.slot_id)
        .where(
            Meeting.forum_id == registration.forum_id,
            Meeting.status.in_(PLACED_STATUSES),
            sa.or_(Meeting.requester_id == registration.id, Meeting.invitee_id == registration.id),
        )
        .options(
            selectinload(Meeting.requester).selectinload(Registration.products),
            selectinload(Meeting.invitee).selectinload(Registration.products),
            selectinload(Meeting.outcomes),
        )
        .order_by(ForumSlot.starts_at, Meeting.table_no, Meeting.id)
    ).all()
    items = []
    for meeting in meetings:
        other = meeting.invitee if meeting.requester_id == registration.id else meeting.requester
        items.append(
            AgendaItem(
                meeting=meeting,
                starts_at=to_local(meeting.slot.starts_at),
                ends_at=to_local(meeting.slot.ends_at),
                table_no=meeting.table_no or 0,
                other=other,
                other_products=_public_products(other),
            )
        )
    return items


def agenda_participants(forum: Forum, kind: str = "") -> list[Registration]:
    """Approved registrations in print order: buyers first, then producers, by name."""
    stmt = sa.select(Registration).where(Registration.forum_id == forum.id, Registration.status == "approved")
    if kind in ("buyer", "producer"):
        stmt = stmt.where(Registration.kind == kind)
    registrations = db.session.scalars(stmt.options(selectinload(Registration.producer))).all()
    return sorted(registrations, key=lambda r: (r.kind != "buyer", display_name(r).casefold(), r.id))


def qr_svg(code: str) -> str:
    """The check-in code as a QR code: an SVG `data:` URI for an <img> (the CSP allows data: images)."""
    return segno.make(code, error="m", micro=False).svg_data_uri(scale=4, border=2, dark="#000")


# --------------------------------------------------------------------------- table plan


@dataclass
class PlanCell:
    meeting: Meeting
    first: Registration
    second: Registration


@dataclass
class TablePlan:
    slots: list[ForumSlot]
    tables: list[int]
    cells: dict[tuple[int, int], PlanCell]  # (slot id, table) -> meeting

    def cell(self, slot_id: int, table: int) -> PlanCell | None:
        return self.cells.get((slot_id, table))

    @property
    def meeting_count(self) -> int:
        return len(self.cells)


def table_plan(forum: Forum) -> TablePlan:
    """Slots × tables with both parties of each placed meeting (buyer first)."""
    slots = list(
        db.session.scalars(
            sa.select(ForumSlot).where(ForumSlot.forum_id == forum.id).order_by(ForumSlot.starts_at, ForumSlot.id)
        )
    )
    meetings = db.session.scalars(
        sa.select(Meeting)
        .where(Meeting.forum_id == forum.id, Meeting.slot_id.is_not(None), Meeting.status.in_(PLACED_STATUSES))
        .options(selectinload(Meeting.requester), selectinload(Meeting.invitee))
    ).all()
    cells: dict[tuple[int, int], PlanCell] = {}
    highest = forum.tables or 0
    for meeting in meetings:
        first, second = meeting.requester, meeting.invitee
        if first.kind != "buyer" and second.kind == "buyer":
            first, second = second, first
        cells[(meeting.slot_id, meeting.table_no)] = PlanCell(meeting, first, second)
        highest = max(highest, meeting.table_no or 0)
    return TablePlan(slots=slots, tables=list(range(1, highest + 1)), cells=cells)
