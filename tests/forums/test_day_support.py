"""Shared set-up of the forum-day tests (agendas, check-in, outcomes, report); no tests here.

Each test module wraps `build_day()` in its own `day` fixture."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from flask import g

from marketplace.core.models import utcnow
from marketplace.extensions import db
from marketplace.forums.models import Forum, ForumSlot, Meeting, Registration
from tests.forums.factories import make_forum, make_meeting, make_registration
from tests.helpers import login, make_product, make_user


@dataclass
class Day:
    organiser: object
    forum: Forum
    other_forum: Forum
    slots: list[ForumSlot]
    buyer_user: object
    buyer: Registration  # approved, two meetings
    buyer2_user: object
    buyer2: Registration  # approved, one meeting
    producer_user: object
    producer: Registration  # approved, brings rice (food) and a draft product
    pending: Registration  # a pending producer
    refused: Registration  # a refused buyer
    outsider: Registration  # approved, registered in other_forum
    m1: Meeting  # buyer ↔ producer, slot 0, table 1
    m2: Meeting  # buyer2 ↔ producer, slot 1, table 2
    m3: Meeting  # buyer → ... accepted, never placed
    rice: object
    draft: object


def build_day() -> Day:
    organiser = make_user(roles=("organiser",), name="Ban tổ chức")
    forum = make_forum(tables=4, slots_per_session=4, created_by=organiser)
    other_forum = make_forum(title="Diễn đàn khác")
    slots = list(
        db.session.scalars(sa.select(ForumSlot).where(ForumSlot.forum_id == forum.id).order_by(ForumSlot.starts_at))
    )
    buyer_user = make_user(roles=("buyer",), name="Chị Mai")
    buyer = make_registration(forum, buyer_user, "buyer", organisation="Siêu thị Xanh", contact_name="Trần Thị Mai")
    buyer2_user = make_user(roles=("buyer",), name="Anh Hùng")
    buyer2 = make_registration(forum, buyer2_user, "buyer", organisation="Nhà hàng Sen")
    producer_user = make_user(roles=("producer",), name="Bác Ba")
    producer = make_registration(forum, producer_user, "producer", organisation="HTX Gạo Sóc Sơn", groups="food")
    rice = make_product(producer.producer, name="Gạo nếp cái hoa vàng", ocop_group="food")
    draft = make_product(producer.producer, name="Bánh chưng nháp", status="draft")
    producer.products = [rice, draft]
    pending = make_registration(
        forum, None, "producer", status="pending", organisation="HTX Chờ duyệt", groups="herbal"
    )
    refused = make_registration(forum, None, "buyer", status="refused", organisation="Công ty Bị từ chối")
    outsider = make_registration(other_forum, None, "buyer", organisation="Khách diễn đàn khác")
    m1 = make_meeting(forum, buyer, producer, slot=slots[0], table_no=1)
    m2 = make_meeting(forum, buyer2, producer, slot=slots[1], table_no=2)
    m3 = make_meeting(forum, buyer, buyer2)
    db.session.commit()
    return Day(
        organiser,
        forum,
        other_forum,
        slots,
        buyer_user,
        buyer,
        buyer2_user,
        buyer2,
        producer_user,
        producer,
        pending,
        refused,
        outsider,
        m1,
        m2,
        m3,
        rice,
        draft,
    )


def start(slot: ForumSlot, minutes_ago: int = 30) -> None:
    """Move a slot so that it started `minutes_ago` minutes ago (20 minutes long)."""
    slot.starts_at = utcnow() - timedelta(minutes=minutes_ago)
    slot.ends_at = slot.starts_at + timedelta(minutes=20)
    db.session.commit()


def switch_user(client, user) -> None:
    """Log `user` in on `client` (None logs out); Flask-Login's cached user in `g` is dropped."""
    if user is None:
        with client.session_transaction() as sess:
            sess.clear()
    else:
        login(client, user)
    g.pop("_login_user", None)
