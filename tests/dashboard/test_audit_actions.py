"""Every organiser action lands in the audit log, in the action's own transaction, and the audit
page filters on it with a Vietnamese label."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from marketplace.catalog import services as catalog
from marketplace.core.errors import ServiceError
from marketplace.dashboard.audit import AUDIT_ACTIONS, action_label, audit_reason, log_action
from marketplace.dashboard.models import AuditLog
from marketplace.extensions import db
from marketplace.inquiries import messaging, moderation, rfqs
from marketplace.inquiries import services as inquiries
from marketplace.producers import claims as producer_claims
from marketplace.producers import invitations as producer_invitations
from marketplace.producers.models import ProducerClaim
from marketplace.sales_points import approvals as sales_points
from marketplace.sales_points.approvals import CHECKLIST_CODES
from tests.helpers import login, make_producer, make_product, make_sales_point, make_user


@pytest.fixture
def organiser(app):
    user = make_user(roles=("organiser",), name="Cán bộ Hạnh")
    db.session.commit()
    return user


def _entries() -> list[AuditLog]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(AuditLog).order_by(AuditLog.id)))


def _last() -> AuditLog:
    return _entries()[-1]


def test_log_action_and_audit_reason(app, organiser):
    entry = log_action(organiser, "user.suspend", "user", 7, "x" * 400, "Spam")
    assert (entry.actor_id, entry.object_id, entry.reason, len(entry.object_label)) == (organiser.id, 7, "Spam", 300)
    with audit_reason("Lý do từ bên ngoài"):
        inner = log_action(organiser, "user.unsuspend", "user", 7)
        own = log_action(organiser, "user.unsuspend", "user", 7, reason="Lý do riêng")
    after = log_action(organiser, "user.unsuspend", "user", 7)
    assert (inner.reason, own.reason, after.reason) == ("Lý do từ bên ngoài", "Lý do riêng", "")
    assert log_action(None, "target.update").actor_id is None
    assert action_label("claim.approve") == "Duyệt yêu cầu nhận quản lý gian hàng"
    assert action_label("listing.hide") == "Ẩn sản phẩm"  # written by earlier versions
    assert action_label("something.else") == "something.else"


def test_product_page_hide_and_unhide_are_logged(app, client, organiser):
    product = make_product(name="Nem Phùng")
    db.session.commit()
    login(client, organiser)
    client.post(f"/admin/products/{product.id}/hide", data={"reason": "Ảnh lấy của cơ sở khác"})
    entry = _last()
    assert (entry.action, entry.object_type, entry.object_id, entry.object_label, entry.reason) == (
        "product.hide",
        "product",
        product.id,
        "Nem Phùng",
        "Ảnh lấy của cơ sở khác",
    )
    client.post(f"/admin/products/{product.id}/unhide")
    assert [e.action for e in _entries()] == ["product.hide", "product.unhide"]
    assert _last().actor_id == organiser.id


def test_refused_hide_logs_nothing(app, organiser):
    product = make_product()
    with pytest.raises(ServiceError):
        catalog.hide_product(organiser, product, "")
    assert _entries() == []


def test_claims_are_logged(app, organiser):
    claimant = make_user(roles=("producer",), email="nhanquanly@htx.vn")
    other = make_user(roles=("producer",), email="khac@htx.vn")
    producer = make_producer(name="HTX Gốm Bát Tràng")
    claim = producer_claims.create_claim(claimant, producer, "QĐ-1")
    second = producer_claims.create_claim(other, make_producer(name="HTX Lụa Vạn Phúc"), "QĐ-2")
    producer_claims.approve_claim(organiser, claim)
    producer_claims.reject_claim(organiser, second, "Số chứng nhận không khớp")
    db.session.commit()
    approve, reject = _entries()
    assert (approve.action, approve.object_type, approve.object_id) == ("claim.approve", "producer_claim", claim.id)
    assert "HTX Gốm Bát Tràng" in approve.object_label and "nhanquanly@htx.vn" in approve.object_label
    assert (reject.action, reject.reason) == ("claim.reject", "Số chứng nhận không khớp")
    assert db.session.get(ProducerClaim, second.id).status == "rejected"


def test_claim_views_log_in_the_same_commit(app, client, organiser):
    claimant = make_user(roles=("producer",))
    claim = producer_claims.create_claim(claimant, make_producer(), "QĐ-9")
    db.session.commit()
    login(client, organiser)
    assert client.post(f"/admin/claims/{claim.id}/approve").status_code == 302
    assert [e.action for e in _entries()] == ["claim.approve"]
    # Deciding twice is refused: nothing more in the log.
    client.post(f"/admin/claims/{claim.id}/approve")
    assert len(_entries()) == 1


def test_invitations_are_logged(app, organiser):
    producer = make_producer(name="HTX Mây tre Phú Vinh")
    producer_invitations.create_invitation(organiser, producer, "Moi@Example.vn", lambda token: f"/invitations/{token}")
    entry = _last()
    assert (entry.action, entry.object_type, entry.object_id) == ("producer.invite", "producer", producer.id)
    assert "moi@example.vn" in entry.object_label and "HTX Mây tre Phú Vinh" in entry.object_label


def test_sales_point_decisions_are_logged(app, organiser):
    answers = dict.fromkeys(CHECKLIST_CODES, True)
    point = make_sales_point(status="pending", name="Điểm bán Hàng Bạc", ref="SP-HB")
    other = make_sales_point(status="pending", name="Điểm bán Ga Hà Nội")
    sales_points.approve(organiser, point, answers, "Đạt đủ tiêu chí")
    sales_points.reject(organiser, other, "Thiếu ảnh quầy trưng bày")
    sales_points.suspend(organiser, point, "Bán hàng không rõ nguồn gốc")
    sales_points.reinstate(organiser, point, "Đã khắc phục")
    db.session.commit()
    logged = [(e.action, e.object_id, e.reason) for e in _entries()]
    assert logged == [
        ("sales_point.approve", point.id, "Đạt đủ tiêu chí"),
        ("sales_point.reject", other.id, "Thiếu ảnh quầy trưng bày"),
        ("sales_point.suspend", point.id, "Bán hàng không rõ nguồn gốc"),
        ("sales_point.reinstate", point.id, "Đã khắc phục"),
    ]
    assert _entries()[0].object_label == "Điểm bán Hàng Bạc (SP-HB)"
    # A refused transition logs nothing.
    with pytest.raises(ServiceError):
        sales_points.reinstate(organiser, point)
    db.session.rollback()
    assert len(_entries()) == 4


@pytest.fixture
def thread(app):
    buyer = make_user(roles=("buyer",), email="nguoimua@example.vn", name="Chị Mai")
    seller = make_user(roles=("producer",), email="nguoiban@example.vn", name="Anh Sơn")
    producer = make_producer(managers=[seller])
    make_product(producer)
    inquiry = inquiries.create_inquiry(buyer, producer, inquiries.InquiryData(5, "hộp", message="Xin báo giá"))
    message = messaging.post_message(seller, inquiry.thread, "Chuyển khoản trước vào tài khoản lạ", [])
    db.session.commit()
    return buyer, seller, message


def test_inquiries_moderation_is_logged(app, organiser, thread):
    from datetime import date, timedelta

    buyer, seller, message = thread
    report = moderation.report_message(buyer, message, "Lừa đảo")
    moderation.dismiss_report(organiser, report)
    moderation.hide_message(organiser, message, "Lừa đảo chuyển khoản")
    moderation.unhide_message(organiser, message)
    rfq = rfqs.create_rfq(
        buyer,
        rfqs.RfqData(
            title="Chè xanh hộp quà",
            details="Hộp 200 g",
            ocop_group="beverage",
            quantity=100,
            unit="hộp",
            deadline=date(2026, 12, 1) + timedelta(days=10),
        ),
    )
    moderation.hide_rfq(organiser, rfq, "Nội dung quảng cáo")
    moderation.unhide_rfq(organiser, rfq)
    moderation.suspend_user(organiser, seller, "Lừa đảo nhiều lần")
    moderation.unsuspend_user(organiser, seller)
    db.session.commit()
    logged = [(e.action, e.object_type, e.reason) for e in _entries()]
    assert logged == [
        ("message_report.dismiss", "message_report", ""),
        ("message.hide", "message", "Lừa đảo chuyển khoản"),
        ("message.unhide", "message", ""),
        ("rfq.hide", "rfq", "Nội dung quảng cáo"),
        ("rfq.unhide", "rfq", ""),
        ("user.suspend", "user", "Lừa đảo nhiều lần"),
        ("user.unsuspend", "user", ""),
    ]
    assert _entries()[1].object_label.startswith("Chuyển khoản trước")
    assert "nguoiban@example.vn" in _entries()[-1].object_label


def test_old_inquiries_pages_still_work_and_log(app, client, organiser, thread):
    buyer, seller, message = thread
    moderation.report_message(buyer, message, "Lừa đảo")
    db.session.commit()
    login(client, organiser)
    assert "Lừa đảo" in client.get("/moderation/reports").get_data(as_text=True)
    client.post(f"/moderation/messages/{message.id}/hide", data={"reason": "Vi phạm"})
    client.post(f"/moderation/users/{seller.id}/suspend", data={"reason": "Lừa đảo"})
    assert [e.action for e in _entries()] == ["message.hide", "user.suspend"]


def test_audit_page_lists_every_action_with_labels(app, client, organiser):
    login(client, organiser)
    page = client.get("/dashboard/audit").get_data(as_text=True)
    for code, label in AUDIT_ACTIONS.items():
        assert f'value="{code}"' in page
        assert str(label) in page
    for code in ("claim.approve", "sales_point.suspend", "user.suspend", "message.hide", "product.hide"):
        assert code in AUDIT_ACTIONS


def test_audit_page_filters_by_action(app, client, organiser, thread):
    _buyer, seller, message = thread
    moderation.suspend_user(organiser, seller, "Tài khoản giả mạo")
    point = make_sales_point(name="Điểm bán Phố Cổ")
    sales_points.suspend(organiser, point, "Đóng cửa lâu ngày")
    db.session.commit()
    login(client, organiser)
    page = client.get("/dashboard/audit?action=user.suspend").get_data(as_text=True)
    assert "Tài khoản giả mạo" in page and "Đóng cửa lâu ngày" not in page
    assert "Tạm khóa tài khoản" in page
    page = client.get("/dashboard/audit?action=sales_point.suspend").get_data(as_text=True)
    assert "Đóng cửa lâu ngày" in page and "Tài khoản giả mạo" not in page and "Tạm ngừng điểm bán" in page
    # An unknown action shows everything instead of failing.
    page = client.get("/dashboard/audit?action=bogus").get_data(as_text=True)
    assert "Đóng cửa lâu ngày" in page and "Tài khoản giả mạo" in page
    assert "Cán bộ Hạnh" in page
