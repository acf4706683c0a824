"""One moderation queue: reported listings, reported messages and their authors; hide, restore,
suspend and dismiss, each with a reason recorded in the audit log."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from marketplace.accounts.models import User
from marketplace.core.errors import NotAllowed, ServiceError
from marketplace.dashboard import moderation as moderation_queue
from marketplace.dashboard.models import AuditLog
from marketplace.extensions import db
from marketplace.inquiries import messaging, moderation, rfqs
from marketplace.inquiries import services as inquiries
from marketplace.inquiries.models import Message, Report, Rfq
from tests.helpers import login, make_producer, make_product, make_user


@pytest.fixture
def world(app):
    organiser = make_user(roles=("organiser",), name="Cán bộ Hạnh")
    buyer = make_user(roles=("buyer",), email="nguoimua@example.vn", name="Chị Mai")
    seller = make_user(roles=("producer",), email="nguoiban@example.vn", name="Anh Sơn")
    producer = make_producer(managers=[seller])
    make_product(producer)
    inquiry = inquiries.create_inquiry(buyer, producer, inquiries.InquiryData(5, "hộp", message="Xin báo giá"))
    message = messaging.post_message(seller, inquiry.thread, "Chuyển khoản trước vào tài khoản lạ", [])
    report = moderation.report_message(buyer, message, "Lừa đảo chuyển khoản")
    db.session.commit()
    return {"organiser": organiser, "buyer": buyer, "seller": seller, "message": message, "report": report}


def _reload(model, object_id):
    db.session.expire_all()
    return db.session.get(model, object_id)


def _log() -> list[tuple[str, str]]:
    db.session.expire_all()
    return [(e.action, e.reason) for e in db.session.scalars(sa.select(AuditLog).order_by(AuditLog.id))]


POSTS = [
    "/dashboard/moderation/messages/{message}/hide",
    "/dashboard/moderation/messages/{message}/restore",
    "/dashboard/moderation/message-reports/{report}/dismiss",
    "/dashboard/moderation/rfqs/1/restore",
    "/dashboard/moderation/users/{seller}/suspend",
    "/dashboard/moderation/users/{seller}/unsuspend",
]


def _url(template: str, world) -> str:
    return template.format(message=world["message"].id, report=world["report"].id, seller=world["seller"].id)


@pytest.mark.parametrize("url", POSTS)
def test_anonymous_and_non_staff_are_refused(world, client, url):
    url = _url(url, world)
    response = client.post(url, data={"reason": "Vi phạm"})
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    login(client, world["buyer"])
    assert client.post(url, data={"reason": "Vi phạm"}).status_code == 403
    assert _log() == []
    assert _reload(Message, world["message"].id).hidden is False
    assert _reload(User, world["seller"].id).suspended is False


@pytest.mark.parametrize(
    "url",
    [
        "/dashboard/moderation/messages/9999/hide",
        "/dashboard/moderation/messages/9999/restore",
        "/dashboard/moderation/message-reports/9999/dismiss",
        "/dashboard/moderation/rfqs/9999/restore",
        "/dashboard/moderation/users/9999/suspend",
        "/dashboard/moderation/users/9999/unsuspend",
    ],
)
def test_unknown_objects_are_404(world, client, url):
    login(client, world["organiser"])
    assert client.post(url, data={"reason": "Vi phạm"}).status_code == 404


def test_queue_shows_reported_messages_and_counts(world, client):
    login(client, world["organiser"])
    page = client.get("/dashboard/moderation").get_data(as_text=True)
    assert "Tin nhắn bị báo cáo" in page
    assert "Lừa đảo chuyển khoản" in page and "tài khoản lạ" in page and "nguoiban@example.vn" in page
    assert f"/dashboard/moderation/messages/{world['message'].id}/hide" in page
    assert f"/dashboard/moderation/users/{world['seller'].id}/suspend" in page
    assert moderation_queue.moderation_counts()["messages"] == 1
    index = client.get("/dashboard/").get_data(as_text=True)
    assert 'id="figure-moderation">1<' in index


def test_hide_message_needs_a_reason_and_is_logged(world, client):
    message, report = world["message"], world["report"]
    login(client, world["organiser"])
    client.post(f"/dashboard/moderation/messages/{message.id}/hide", data={"reason": "  "})
    assert _reload(Message, message.id).hidden is False and _log() == []
    client.post(f"/dashboard/moderation/messages/{message.id}/hide", data={"reason": "Lừa đảo"})
    assert _reload(Message, message.id).hidden_reason == "Lừa đảo"
    assert _reload(Report, report.id).status == "hidden"
    assert _log() == [("message.hide", "Lừa đảo")]
    page = client.get("/dashboard/moderation").get_data(as_text=True)
    assert "Không có tin nhắn nào bị báo cáo." in page and f'id="hidden-message-{message.id}"' in page
    # Restoring needs a reason too, and records it (inquiries' unhide takes none of its own).
    client.post(f"/dashboard/moderation/messages/{message.id}/restore", data={"reason": ""})
    assert _reload(Message, message.id).hidden is True
    client.post(f"/dashboard/moderation/messages/{message.id}/restore", data={"reason": "Báo cáo nhầm"})
    assert _reload(Message, message.id).hidden is False
    assert _log()[-1] == ("message.unhide", "Báo cáo nhầm")
    with pytest.raises(ServiceError, match="đang hiển thị"):
        moderation_queue.restore_message(world["organiser"], _reload(Message, message.id), "Lần nữa")


def test_dismiss_message_report_records_the_reason(world, client):
    report = world["report"]
    login(client, world["organiser"])
    client.post(f"/dashboard/moderation/message-reports/{report.id}/dismiss", data={"reason": ""})
    assert _reload(Report, report.id).status == "open"
    client.post(f"/dashboard/moderation/message-reports/{report.id}/dismiss", data={"reason": "Không vi phạm"})
    assert _reload(Report, report.id).status == "dismissed"
    assert _reload(Message, world["message"].id).hidden is False
    assert _log() == [("message_report.dismiss", "Không vi phạm")]
    # Twice: refused with the inquiries service's message, nothing more logged.
    response = client.post(
        f"/dashboard/moderation/message-reports/{report.id}/dismiss",
        data={"reason": "Lần nữa"},
        follow_redirects=True,
    )
    assert "đã được xử lý" in response.get_data(as_text=True)
    assert len(_log()) == 1


def test_suspend_and_unsuspend_the_author(world, client):
    seller, buyer = world["seller"], world["buyer"]
    rfq = rfqs.create_rfq(
        buyer,
        rfqs.RfqData(
            title="Chè xanh hộp quà", ocop_group="beverage", quantity=100, unit="hộp", deadline=date(2026, 12, 11)
        ),
    )
    db.session.commit()
    login(client, world["organiser"])
    client.post(f"/dashboard/moderation/users/{seller.id}/suspend", data={"reason": "x"})
    assert _reload(User, seller.id).suspended is False  # too short
    client.post(f"/dashboard/moderation/users/{seller.id}/suspend", data={"reason": "Lừa đảo nhiều lần"})
    assert _reload(User, seller.id).suspended is True
    page = client.get("/dashboard/moderation").get_data(as_text=True)
    assert f'id="suspended-{seller.id}"' in page and "Đã bị khóa" in page
    assert f"/dashboard/moderation/users/{seller.id}/suspend" not in page  # already suspended
    client.post(f"/dashboard/moderation/users/{seller.id}/unsuspend", data={"reason": "Đã xác minh danh tính"})
    assert _reload(User, seller.id).suspended is False
    assert _log() == [("user.suspend", "Lừa đảo nhiều lần"), ("user.unsuspend", "Đã xác minh danh tính")]
    # The buyer's RFQ hidden by a suspension shows in the queue and comes back with a reason.
    client.post(f"/dashboard/moderation/users/{buyer.id}/suspend", data={"reason": "Tài khoản giả mạo"})
    assert _reload(Rfq, rfq.id).hidden is True
    assert f'id="hidden-rfq-{rfq.id}"' in client.get("/dashboard/moderation").get_data(as_text=True)
    client.post(f"/dashboard/moderation/rfqs/{rfq.id}/restore", data={"reason": "Khiếu nại được chấp nhận"})
    assert _reload(Rfq, rfq.id).hidden is False
    assert _log()[-1] == ("rfq.unhide", "Khiếu nại được chấp nhận")


def test_suspension_rules(world):
    organiser, seller = world["organiser"], world["seller"]
    admin = make_user(roles=("admin",))
    with pytest.raises(ServiceError, match="không bị khóa"):
        moderation_queue.unsuspend_user(organiser, seller, "Mở khóa")
    with pytest.raises(ServiceError, match="tự khóa"):
        moderation_queue.suspend_user(organiser, organiser, "Thử")
    with pytest.raises(NotAllowed):
        moderation_queue.suspend_user(organiser, admin, "Thử khóa quản trị")
    moderation_queue.suspend_user(admin, seller, "Vi phạm")
    with pytest.raises(ServiceError, match="đã bị tạm khóa"):
        moderation_queue.suspend_user(organiser, seller, "Lần nữa")
    with pytest.raises(NotAllowed):
        moderation_queue.hide_message(world["buyer"], world["message"], "Không phải cán bộ")


def test_organiser_cannot_lift_an_admins_suspension(world, client):
    other_admin = make_user(roles=("admin",))
    admin = make_user(roles=("admin",))
    moderation_queue.suspend_user(admin, other_admin, "Tài khoản bị lộ mật khẩu")
    db.session.commit()
    login(client, world["organiser"])
    response = client.post(f"/dashboard/moderation/users/{other_admin.id}/unsuspend", data={"reason": "Mở khóa"})
    assert response.status_code == 403
    assert _reload(User, other_admin.id).suspended is True


def test_each_section_has_its_own_pages(world, client):
    buyer = world["buyer"]
    thread = world["message"].thread
    for n in range(22):
        message = messaging.post_message(world["seller"], thread, f"Tin nhắn quảng cáo số {n:02d}", [])
        moderation.report_message(buyer, message, f"Quảng cáo {n:02d}")
    db.session.commit()
    login(client, world["organiser"])
    first = client.get("/dashboard/moderation").get_data(as_text=True)
    assert "Quảng cáo 18" in first and "Quảng cáo 19" not in first
    assert "messages_page=2" in first
    second = client.get("/dashboard/moderation?messages_page=2").get_data(as_text=True)
    assert "Quảng cáo 19" in second and "Quảng cáo 21" in second and "Quảng cáo 18" not in second


def test_old_reports_page_keeps_working(world, client):
    login(client, world["organiser"])
    assert "Lừa đảo chuyển khoản" in client.get("/moderation/reports").get_data(as_text=True)
    # A decision taken on the old page shows in the new queue and in the audit log.
    client.post(f"/moderation/reports/{world['report'].id}/dismiss")
    assert "Không có tin nhắn nào bị báo cáo." in client.get("/dashboard/moderation").get_data(as_text=True)
    assert [a for a, _ in _log()] == ["message_report.dismiss"]


def test_hidden_rfqs_list(world):
    # The hidden-RFQ list reads plain columns: a hidden RFQ past its deadline still lists.
    rfq = rfqs.create_rfq(
        world["buyer"],
        rfqs.RfqData(
            title="Miến dong", ocop_group="food", quantity=10, unit="kg", deadline=date(2026, 12, 1) + timedelta(1)
        ),
    )
    moderation.hide_rfq(world["organiser"], rfq, "Trùng lặp")
    db.session.commit()
    assert [r.id for r in db.session.scalars(moderation_queue.hidden_rfqs_stmt())] == [rfq.id]
