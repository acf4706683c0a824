"""`flask forums expire` and `flask forums recommend`."""

from __future__ import annotations

from datetime import timedelta

from marketplace.core.models import utcnow
from marketplace.extensions import db
from marketplace.forums.models import Meeting
from tests.forums.factories import make_meeting, make_registration


def test_expire_command_is_idempotent(app, runner, forum):
    a, b = make_registration(forum, kind="buyer"), make_registration(forum, kind="producer")
    c = make_registration(forum, kind="producer")
    late = make_meeting(forum, a, b, status="requested", expires_at=utcnow() - timedelta(hours=1))
    waiting = make_meeting(forum, a, c, status="requested", created_at=utcnow() - timedelta(hours=50))
    waiting.expires_at = utcnow() + timedelta(days=3)
    db.session.commit()
    result = runner.invoke(args=["forums", "expire"])
    assert result.exit_code == 0, result.output
    assert "expired 1, reminded 1" in result.output
    db.session.expire_all()
    assert db.session.get(Meeting, late.id).status == "expired"
    assert db.session.get(Meeting, waiting.id).status == "requested"
    again = runner.invoke(args=["forums", "expire"])
    assert "expired 0, reminded 0" in again.output


def test_recommend_command(app, runner, forum):
    db.session.commit()
    assert "created 0" in runner.invoke(args=["forums", "recommend", str(forum.id)]).output
    missing = runner.invoke(args=["forums", "recommend", "999999"])
    assert missing.exit_code != 0 and "no forum" in missing.output
