"""Abuse: reporting a message, organisers hiding messages and RFQs, suspending a user."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from marketplace.core.errors import NotAllowed, ServiceError
from marketplace.extensions import db
from marketplace.inquiries import leads, messaging, moderation, rfqs, services
from marketplace.inquiries.attachments import Upload
from marketplace.inquiries.models import Notification, Report
from tests import helpers
from tests.inquiries.conftest import quote_data, rfq_data
from tests.inquiries.test_views import PDF


@pytest.fixture
def spam(world):
    inquiry = services.create_inquiry(
        world.buyer, world.producer_a, services.InquiryData(5, "hộp", message="Xin báo giá")
    )
    message = messaging.post_message(
        world.seller_a, inquiry.thread, "Chuyển khoản trước vào tài khoản lạ", [Upload("x.pdf", PDF)]
    )
    db.session.commit()
    return inquiry, message


def test_report_and_hide(client, world, spam, as_user):
    inquiry, message = spam
    with pytest.raises(ServiceError, match="chính mình"):
        moderation.report_message(world.seller_a, message, "Tự báo cáo")
    with pytest.raises(NotAllowed):
        moderation.report_message(world.other_buyer, message, "Không liên quan")
    with pytest.raises(ServiceError, match="lý do"):
        moderation.report_message(world.buyer, message, " ")

    as_user(world.buyer)
    response = client.post(f"/messages/{message.id}/report", data={"reason": "Lừa đảo chuyển khoản"})
    assert response.status_code == 302
    report = db.session.scalar(sa.select(Report))
    assert report.status == "open" and report.reporter_id == world.buyer.id
    again = client.post(
        f"/messages/{message.id}/report", data={"reason": "Lừa đảo chuyển khoản"}, follow_redirects=True
    )
    assert "đã báo cáo" in again.get_data(as_text=True)
    assert (
        db.session.scalar(sa.select(sa.func.count()).select_from(Notification).where(Notification.kind == "report"))
        == 1
    )

    as_user(world.organiser)
    queue = client.get("/moderation/reports").get_data(as_text=True)
    assert "Lừa đảo chuyển khoản" in queue and "tài khoản lạ" in queue
    assert client.post(f"/moderation/messages/{message.id}/hide", data={"reason": ""}).status_code == 302
    db.session.expire_all()
    assert not message.hidden  # a reason is required
    assert client.post(f"/moderation/messages/{message.id}/hide", data={"reason": "Lừa đảo"}).status_code == 302
    db.session.expire_all()
    assert message.hidden and report.status == "hidden" and report.handled_by_id == world.organiser.id
    assert "Không có báo cáo nào" in client.get("/moderation/reports").get_data(as_text=True)

    as_user(world.buyer)
    page = client.get(f"/inquiries/{inquiry.id}").get_data(as_text=True)
    assert "đã bị ban tổ chức ẩn" in page and "tài khoản lạ" not in page
    assert client.get(f"/attachments/{message.attachments[0].id}").status_code == 404
    assert messaging.total_unread(world.buyer) == 0  # hidden messages are not counted


def test_dismiss_report(world, spam):
    _inquiry, message = spam
    report = moderation.report_message(world.buyer, message, "Có vẻ spam")
    with pytest.raises(NotAllowed):
        moderation.dismiss_report(world.buyer, report)
    moderation.dismiss_report(world.organiser, report)
    assert report.status == "dismissed"
    with pytest.raises(ServiceError):
        moderation.dismiss_report(world.organiser, report)


def test_hidden_rfq_takes_no_quotes(client, world, as_user):
    rfq = rfqs.create_rfq(world.buyer, rfq_data())
    db.session.commit()
    as_user(world.organiser)
    assert client.get(f"/rfqs/{rfq.id}").status_code == 200
    assert client.post(f"/moderation/rfqs/{rfq.id}/hide", data={"reason": "Hàng cấm"}).status_code == 302
    db.session.expire_all()
    assert rfq.hidden
    assert leads.leads_for([world.producer_a.id]) == []
    with pytest.raises(ServiceError):
        rfqs.submit_quote(world.seller_a, rfq, world.producer_a, quote_data())
    as_user(world.seller_a)
    assert client.get(f"/rfqs/{rfq.id}").status_code == 404
    as_user(world.buyer)
    assert "Hàng cấm" in client.get(f"/rfqs/{rfq.id}").get_data(as_text=True)
    as_user(world.organiser)
    client.post(f"/moderation/rfqs/{rfq.id}/unhide")
    db.session.expire_all()
    assert not rfq.hidden


def test_suspend_user(client, world, spam, as_user):
    rfq = rfqs.create_rfq(world.buyer, rfq_data())
    db.session.commit()
    helpers.login(client, world.buyer)
    with pytest.raises(NotAllowed):
        moderation.suspend_user(world.seller_a, world.buyer, "Không được")
    with pytest.raises(ServiceError):
        moderation.suspend_user(world.organiser, world.organiser, "Tự khóa")
    as_user(world.organiser)
    response = client.post(f"/moderation/users/{world.buyer.id}/suspend", data={"reason": "Đăng tin rác"})
    assert response.status_code == 302
    db.session.expire_all()
    assert world.buyer.suspended and rfq.hidden
    # The suspended buyer's old session no longer works.
    as_user(world.buyer)
    assert client.get("/rfqs").status_code == 302
    # And their suspended account gets no notifications.
    assert moderation.staff_users() == [world.organiser]
    assert messaging.closed_reason(spam[0].thread) is None
