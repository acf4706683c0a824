"""Notifications: bell count, reading, e-mail instantly or as a daily digest, never twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy

import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.inquiries import notifications, rfqs, services
from marketplace.inquiries.models import Notification
from marketplace.mail.models import OutgoingMail
from tests.inquiries.conftest import TODAY, quote_data, rfq_data

NOON_HANOI = datetime(2026, 12, 1, 5, 0, tzinfo=UTC)  # 12:00 in Hà Nội


def _mails() -> list[OutgoingMail]:
    return list(db.session.scalars(sa.select(OutgoingMail).order_by(OutgoingMail.id)))


def _eml(app) -> list:
    folder = app.config["DATA_DIR"] / "mail"
    return [message_from_bytes(p.read_bytes(), policy=policy.default) for p in sorted(folder.glob("*.eml"))]


def _say(user, text="Có báo giá mới", link="/rfqs/1"):
    return notifications.notify([user], "quote_received", link, lambda: text)


def test_bell_count_and_reading(world):
    first = _say(world.buyer, "Một")[0]
    _say(world.buyer, "Hai", link="/rfqs/2")
    _say(world.buyer, "Ba", link="/rfqs/2")
    assert notifications.unread_count(world.buyer) == 3
    notifications.mark_read(world.buyer, first)
    assert notifications.unread_count(world.buyer) == 2
    notifications.mark_read_for_link(world.buyer, "/rfqs/2")
    assert notifications.unread_count(world.buyer) == 0
    _say(world.buyer)
    assert notifications.mark_all_read(world.buyer) == 1
    assert notifications.get_own(world.seller_a, first.id) is None
    assert notifications.unread_count(world.seller_a) == 0


def test_notifications_follow_the_recipients_language(world):
    world.seller_a.locale = "en"
    [sent] = notifications.notify([world.seller_a, world.seller_a, None], "x", "/", lambda: str(world.seller_a.locale))
    assert sent.text == "en"  # one per user, text made under the recipient's locale


def test_instant_email_sent_once(app, world):
    _say(world.buyer, "Hợp tác xã A gửi báo giá")
    _say(world.buyer, "Hợp tác xã B gửi báo giá")
    _say(world.seller_a, "Cơ hội mới")
    db.session.commit()
    report = notifications.send_emails(now=NOON_HANOI)
    assert (report.mails, report.notifications, report.delivered) == (2, 3, 2)
    messages = _eml(app)
    by_to = {m["To"]: m for m in messages}
    body = by_to["buyer@example.vn"].get_content()
    assert "Hợp tác xã A gửi báo giá" in body and "Hợp tác xã B gửi báo giá" in body
    assert "http://127.0.0.1:5000/rfqs/1" in body
    assert by_to["a@example.vn"]["Subject"] == "[OCOP Trade Connect] Cơ hội mới"
    states = set(db.session.scalars(sa.select(Notification.email_state)))
    assert states == {"sent"}
    # A retry (cron runs again, or the first run is repeated): nothing new is queued or sent.
    again = notifications.send_emails(now=NOON_HANOI)
    assert (again.mails, again.delivered) == (0, 0)
    assert len(_mails()) == 2 and len(_eml(app)) == 2


def test_claim_is_conditional(world):
    """Two runs that read the same pending rows: only the first claim succeeds."""
    [item] = _say(world.buyer)
    db.session.commit()
    now = NOON_HANOI
    assert notifications._claim([item.id], "sent", now) is True
    assert notifications._claim([item.id], "sent", now) is False
    db.session.rollback()


def test_read_unverified_suspended_and_off_are_skipped(app, world):
    [read] = _say(world.buyer)
    notifications.mark_read(world.buyer, read)
    world.other_buyer.email_verified_at = None
    _say(world.other_buyer)
    world.seller_b.suspended = True
    db.session.add(Notification(user_id=world.seller_b.id, kind="x", text="Bị khóa", link="/"))
    notifications.set_email_mode(world.seller_a, "off")
    _say(world.seller_a)
    db.session.commit()
    report = notifications.send_emails(now=NOON_HANOI)
    assert report.mails == 0 and report.skipped == 4
    assert set(db.session.scalars(sa.select(Notification.email_state))) == {"skipped"}


def test_daily_digest_once_a_day(app, world):
    notifications.set_email_mode(world.buyer, "daily")
    _say(world.buyer, "Một")
    _say(world.buyer, "Hai")
    db.session.commit()
    early = datetime(2026, 12, 1, 0, 30, tzinfo=UTC)  # 07:30 in Hà Nội
    app.config["NOTIFICATION_DIGEST_HOUR"] = 8
    assert notifications.send_emails(now=early).mails == 0  # not due before 08:00
    report = notifications.send_emails(now=NOON_HANOI)
    assert (report.mails, report.digests, report.notifications) == (1, 1, 2)
    [mail] = _mails()
    assert "Tóm tắt thông báo ngày 01/12/2026" in mail.subject
    assert "Một" in mail.body and "Hai" in mail.body
    _say(world.buyer, "Ba")
    db.session.commit()
    assert notifications.send_emails(now=NOON_HANOI + timedelta(hours=3)).mails == 0  # one digest a day
    app.config["MARKETPLACE_TODAY"] = (TODAY + timedelta(days=1)).isoformat()
    report = notifications.send_emails(now=NOON_HANOI + timedelta(days=1))
    assert report.digests == 1 and "Ba" in _mails()[-1].body


def test_settings_validated(world):
    assert notifications.email_mode(world.buyer) == "instant"
    notifications.set_email_mode(world.buyer, "daily")
    assert notifications.email_mode(world.buyer) == "daily"
    try:
        notifications.set_email_mode(world.buyer, "hourly")
    except services.ServiceError as error:
        assert error.field == "email_mode"
    else:
        raise AssertionError("accepted an unknown mode")


def test_cli_closes_rfqs_and_sends(app, runner, world):
    rfq = rfqs.create_rfq(world.buyer, rfq_data(deadline=TODAY))
    rfqs.submit_quote(world.seller_a, rfq, world.producer_a, quote_data())
    db.session.commit()
    app.config["MARKETPLACE_TODAY"] = (TODAY + timedelta(days=1)).isoformat()
    app.config["NOTIFICATION_DIGEST_HOUR"] = 0
    result = runner.invoke(args=["notifications", "send"])
    assert result.exit_code == 0, result.output
    assert "Closed 1 RFQ(s)" in result.output
    db.session.expire_all()
    assert rfq.status == "closed"
    recipients = sorted(m.to for m in _mails())
    assert recipients == ["a@example.vn", "b@example.vn", "buyer@example.vn"]
    buyer_mail = next(m for m in _mails() if m.to == "buyer@example.vn")
    assert "hết hạn nhận báo giá" in buyer_mail.body and "gửi báo giá" in buyer_mail.body
    result = runner.invoke(args=["notifications", "send"])
    assert "Closed 0 RFQ(s)" in result.output and "queued 0 mail(s)" in result.output
    assert len(_mails()) == 3
