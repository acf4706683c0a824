"""“Gợi ý gặp gỡ” from the matching module."""

from __future__ import annotations

import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.forums import recommendations
from marketplace.forums.models import Meeting
from tests.forums.factories import make_meeting, make_registration
from tests.helpers import make_producer, make_product, make_user


def _producer_registration(forum, name, product_name, group="food"):
    user = make_user(roles=("producer",))
    producer = make_producer(managers=[user], name=name)
    make_product(producer, name=product_name, ocop_group=group)
    return make_registration(forum, user, "producer", producer=producer, offers=product_name)


def _recommended(forum):
    return db.session.scalars(
        sa.select(Meeting).where(Meeting.forum_id == forum.id, Meeting.status == "recommended")
    ).all()


def test_buyers_get_fitting_producers_with_reasons(app, forum):
    mien = _producer_registration(forum, "HTX Miến dong", "Miến dong Cự Đà")
    gom = _producer_registration(forum, "HTX Gốm", "Bình gốm men lam Bát Tràng", group="handicraft")
    buyer = make_registration(forum, kind="buyer", seeks="miến dong làm quà Tết", groups="food")
    db.session.commit()

    report = recommendations.refresh_recommendations(forum)
    recs = _recommended(forum)
    assert report.created == len(recs) == 1
    rec = recs[0]
    assert (rec.requester_id, rec.invitee_id) == (buyer.id, mien.id)
    assert rec.origin == "recommended" and 0 < rec.score <= 1 and rec.reasons.strip()
    assert gom.id not in {r.invitee_id for r in recs}

    # running again updates, never duplicates
    again = recommendations.refresh_recommendations(forum)
    assert (again.created, again.updated) == (0, 1) and len(_recommended(forum)) == 1


def test_existing_requests_are_not_duplicated_and_stale_ones_go(app, forum):
    mien = _producer_registration(forum, "HTX Miến dong", "Miến dong Cự Đà")
    buyer = make_registration(forum, kind="buyer", seeks="miến dong")
    other_buyer = make_registration(forum, kind="buyer", seeks="chè")
    requested = make_meeting(forum, mien, buyer, status="requested")
    stale = make_meeting(forum, other_buyer, mien, status="recommended")
    placed_stale = make_meeting(
        forum,
        make_registration(forum, kind="buyer", seeks=""),
        mien,
        status="recommended",
        slot=forum.slots[0],
        table_no=1,
    )
    db.session.commit()
    report = recommendations.refresh_recommendations(forum)
    assert report.created == 0 and report.removed == 1
    assert db.session.get(Meeting, stale.id) is None
    assert db.session.get(Meeting, placed_stale.id) is not None  # scheduled: kept
    assert requested.status == "requested" and requested.reasons  # the pair's reasons are shown


def test_unapproved_participants_get_nothing(app, forum):
    _producer_registration(forum, "HTX Miến dong", "Miến dong Cự Đà")
    make_registration(forum, kind="buyer", seeks="miến dong", status="pending")
    db.session.commit()
    assert recommendations.refresh_recommendations(forum).created == 0


def test_dismiss(app, forum):
    import pytest

    from marketplace.core.errors import NotAllowed, ServiceError

    a, b = make_registration(forum, kind="buyer"), make_registration(forum, kind="producer")
    rec = make_meeting(forum, a, b, status="recommended")
    with pytest.raises(NotAllowed):
        recommendations.dismiss(rec, make_registration(forum, kind="buyer"))
    recommendations.dismiss(rec, b)
    assert rec.status == "declined"
    with pytest.raises(ServiceError):
        recommendations.dismiss(rec, b)
