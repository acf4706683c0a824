"""Organisers' dashboard: access control, certificate review, reminders, statistics, exports."""

from __future__ import annotations

import io
import zipfile
from datetime import date

import pytest
import sqlalchemy as sa
from flask import url_for

from marketplace.catalog.models import Certificate
from marketplace.dashboard import moderation, services, stats
from marketplace.dashboard.models import AuditLog, CertificateReminder, DashboardTarget
from marketplace.extensions import db
from marketplace.mail.models import OutgoingMail
from tests.helpers import login, make_producer, make_product, make_user

GET_ROUTES = [
    "/dashboard/",
    "/dashboard/certificates",
    "/dashboard/certificates/expiring",
    "/dashboard/audit",
    "/dashboard/stats",
    "/dashboard/stats?scheme=2019",
    "/dashboard/stats/groups.csv",
    "/dashboard/stats/stars.xlsx",
    "/dashboard/moderation",
]


def _count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


@pytest.fixture
def organiser():
    return make_user(roles=("organiser",), name="Cán bộ OCOP")


@pytest.fixture
def pending(app):
    """A producer with a manager and an unverified certificate."""
    manager = make_user(roles=("producer",), email="quanly@htx.vn")
    producer = make_producer(managers=[manager])
    product = make_product(producer, stars=4, verified=False, name="Chè Long Phú")
    db.session.commit()
    return product.certificate


# --------------------------------------------------------------------------- access control


@pytest.mark.parametrize("url", GET_ROUTES)
def test_anonymous_is_sent_to_login(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


@pytest.mark.parametrize("roles", [("buyer",), ("producer",)])
@pytest.mark.parametrize("url", GET_ROUTES)
def test_non_staff_get_403(app, client, roles, url):
    login(client, make_user(roles=roles))
    db.session.commit()
    assert client.get(url).status_code == 403


@pytest.mark.parametrize("roles", [("organiser",), ("admin",)])
@pytest.mark.parametrize("url", GET_ROUTES)
def test_staff_reach_every_page(app, client, roles, url, pending):
    login(client, make_user(roles=roles))
    db.session.commit()
    assert client.get(url).status_code == 200


@pytest.mark.parametrize("roles", [None, ("buyer",), ("producer",)])
def test_refused_posts_change_nothing(app, client, pending, roles):
    if roles:
        login(client, make_user(roles=roles))
        db.session.commit()
    expected = 403 if roles else 302
    cert_id = pending.id
    assert client.post(f"/dashboard/certificates/{cert_id}/verify").status_code == expected
    assert client.post(f"/dashboard/certificates/{cert_id}/reject", data={"reason": "Sai"}).status_code == expected
    assert client.post("/dashboard/stats/target", data={"min_stars": 4, "goal": 5}).status_code == expected
    db.session.expire_all()
    cert = db.session.get(Certificate, cert_id)
    assert cert.verified is False and cert.rejected_reason == ""
    assert _count(AuditLog) == 0 and _count(DashboardTarget) == 0 and _count(OutgoingMail) == 0


def test_nav_link_for_staff_only(app, client, organiser):
    buyer = make_user(roles=("buyer",))
    db.session.commit()
    login(client, buyer)
    assert "/dashboard/" not in client.get("/").get_data(as_text=True)
    login(client, organiser)
    assert 'href="/dashboard/"' in client.get("/").get_data(as_text=True)


def test_unknown_certificate_and_export_404(app, client, organiser):
    db.session.commit()
    login(client, organiser)
    assert client.post("/dashboard/certificates/999/verify").status_code == 404
    assert client.get("/dashboard/stats/nope.csv").status_code == 404
    assert client.get("/dashboard/stats/groups.pdf").status_code == 404


# --------------------------------------------------------------------------- certificate review


def test_queue_lists_unverified_certificates(app, client, organiser, pending):
    make_product(stars=3, verified=True, name="Đã xác minh")
    db.session.commit()
    login(client, organiser)
    page = client.get("/dashboard/certificates").get_data(as_text=True)
    assert "Chè Long Phú" in page and pending.number in page
    assert "Đã xác minh" not in page


def test_verify_counts_stars_notifies_and_logs(app, client, organiser, pending):
    login(client, organiser)
    product_id = pending.product_id
    assert stats.target_progress().reached == 0
    response = client.post(f"/dashboard/certificates/{pending.id}/verify")
    assert response.status_code == 302
    db.session.expire_all()
    cert = db.session.get(Certificate, pending.id)
    assert cert.verified and cert.verified_at is not None and cert.reviewed_by_id == organiser.id
    mail = db.session.scalars(sa.select(OutgoingMail)).all()
    assert [m.to for m in mail] == ["quanly@htx.vn"] and "xác minh" in mail[0].subject
    log = db.session.scalars(sa.select(AuditLog)).one()
    assert (log.action, log.actor_id, log.object_id) == ("certificate.verify", organiser.id, cert.id)
    assert stats.target_progress().reached == 1
    assert cert.product_id == product_id
    assert "Chè Long Phú" not in client.get("/dashboard/certificates").get_data(as_text=True)
    # Verifying twice is refused and logs nothing more.
    client.post(f"/dashboard/certificates/{pending.id}/verify")
    assert _count(AuditLog) == 1


def test_reject_needs_a_reason(app, client, organiser, pending):
    login(client, organiser)
    client.post(f"/dashboard/certificates/{pending.id}/reject", data={"reason": "   "})
    db.session.expire_all()
    assert db.session.get(Certificate, pending.id).rejected_reason == ""
    assert _count(AuditLog) == 0 and _count(OutgoingMail) == 0
    with pytest.raises(services.ServiceError):
        services.reject_certificate(organiser, db.session.get(Certificate, pending.id), "")


def test_reject_records_reason_notifies_and_logs(app, client, organiser, pending):
    login(client, organiser)
    reason = "Số chứng nhận không khớp quyết định công nhận"
    assert client.post(f"/dashboard/certificates/{pending.id}/reject", data={"reason": reason}).status_code == 302
    db.session.expire_all()
    cert = db.session.get(Certificate, pending.id)
    assert cert.verified is False and cert.rejected_reason == reason
    mail = db.session.scalars(sa.select(OutgoingMail)).one()
    assert mail.to == "quanly@htx.vn" and reason in mail.body
    log = db.session.scalars(sa.select(AuditLog)).one()
    assert log.action == "certificate.reject" and log.reason == reason
    assert "Chè Long Phú" not in client.get("/dashboard/certificates").get_data(as_text=True)
    # The audit log shows it and filters by action and actor.
    page = client.get("/dashboard/audit?action=certificate.reject").get_data(as_text=True)
    assert reason in page
    assert reason not in client.get("/dashboard/audit?action=certificate.verify").get_data(as_text=True)
    assert reason in client.get(f"/dashboard/audit?actor={organiser.id}").get_data(as_text=True)
    assert reason not in client.get(f"/dashboard/audit?actor={organiser.id + 1000}").get_data(as_text=True)


def test_service_refuses_non_staff(app, pending):
    buyer = make_user(roles=("buyer",))
    with pytest.raises(services.NotAllowed):
        services.verify_certificate(buyer, pending)
    assert pending.verified is False


# --------------------------------------------------------------------------- reminders


def _expiring_product(expires_on: date, verified: bool = True, email: str = "nhacviec@htx.vn"):
    manager = make_user(roles=("producer",), email=email)
    product = make_product(make_producer(managers=[manager]), stars=3, verified=verified)
    product.certificate.expires_on = expires_on
    db.session.flush()
    return product


def test_reminders_are_sent_once_per_threshold(app):
    _expiring_product(date(2027, 1, 30))  # 60 days after 2026-12-01
    _expiring_product(date(2027, 1, 30), verified=False, email="chuaxacminh@htx.vn")  # not reminded
    _expiring_product(date(2027, 6, 1), email="conxa@htx.vn")  # too far
    _expiring_product(date(2026, 11, 1), email="hethan@htx.vn")  # already expired
    db.session.commit()
    assert services.expiring_count() == 1
    assert services.send_expiry_reminders() == 1
    db.session.commit()
    assert services.send_expiry_reminders() == 0
    assert [m.to for m in db.session.scalars(sa.select(OutgoingMail))] == ["nhacviec@htx.vn"]
    # 25 days before expiry: the 30-day reminder, once.
    assert services.send_expiry_reminders(on=date(2027, 1, 5)) == 1
    assert services.send_expiry_reminders(on=date(2027, 1, 5)) == 0
    assert sorted(r.days for r in db.session.scalars(sa.select(CertificateReminder))) == [30, 90]
    assert _count(OutgoingMail) == 2


def test_remind_cli_is_idempotent(app):
    _expiring_product(date(2026, 12, 20))
    db.session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["certificates", "remind"])
    assert result.exit_code == 0, result.output
    assert "Sent 1 reminder" in result.output
    result = runner.invoke(args=["certificates", "remind"])
    assert "Sent 0 reminder" in result.output
    assert _count(OutgoingMail) == 1
    assert db.session.scalars(sa.select(CertificateReminder)).one().days == 30


# --------------------------------------------------------------------------- statistics


@pytest.fixture
def sample(app):
    coop = make_producer(kind="cooperative", district="Chương Mỹ")
    firm = make_producer(kind="enterprise", district="Hoàn Kiếm")
    make_product(coop, stars=4, ocop_group="food", name="Valid 4")
    make_product(coop, stars=3, ocop_group="food", issued_on=date(2023, 1, 1), name="Expired 3")
    make_product(coop, stars=5, ocop_group="handicraft", ocop_group_2019="textile", verified=False, name="Unverified 5")
    make_product(firm, stars=0, ocop_group="beverage", name="No certificate")
    make_product(coop, stars=3, ocop_group="handicraft", name="Valid 3")
    make_product(coop, stars=5, ocop_group="food", status="archived", name="Archived")
    db.session.commit()


def _rows(table) -> dict:
    return {r.key: (r.count, r.share) for r in table.rows}


def test_statistics_figures(sample):
    assert stats.product_total() == 5
    assert _rows(stats.by_group("2023")) == {
        "food": (2, 40.0),
        "beverage": (1, 20.0),
        "herbal": (0, 0.0),
        "handicraft": (2, 40.0),
        "ornamental": (0, 0.0),
        "tourism": (0, 0.0),
    }
    groups_2019 = {k: v[0] for k, v in _rows(stats.by_group("2019")).items() if v[0]}
    assert groups_2019 == {"food": 2, "beverage": 1, "textile": 1, "unknown": 1}
    # Expired and unverified certificates count 0 stars.
    assert {k: v[0] for k, v in _rows(stats.by_stars()).items()} == {"0": 3, "3": 1, "4": 1, "5": 0}
    assert {k: v[0] for k, v in _rows(stats.by_certification()).items()} == {
        "valid": 2,
        "unverified": 1,
        "expired": 1,
        "none": 1,
    }
    assert _rows(stats.by_district()) == {"Chương Mỹ": (4, 80.0), "Hoàn Kiếm": (1, 20.0)}
    assert {k: v[0] for k, v in _rows(stats.by_producer_kind()).items()} == {
        "cooperative": 4,
        "enterprise": 1,
        "household": 0,
        "group": 0,
    }
    months = stats.by_month()
    assert len(months.rows) == 1 and months.total == 5
    progress = stats.target_progress()
    assert (progress.min_stars, progress.goal, progress.reached) == (3, 1000, 2)
    assert progress.percent == 0.2


def test_stats_page_and_target(sample, client):
    organiser = make_user(roles=("organiser",))
    db.session.commit()
    login(client, organiser)
    page = client.get("/dashboard/stats").get_data(as_text=True)
    assert "<svg" in page and "Thực phẩm" in page and "40.0" in page
    assert "Vải và may mặc" in client.get("/dashboard/stats?scheme=2019").get_data(as_text=True)
    # Bad input: re-rendered with the error, nothing saved.
    response = client.post("/dashboard/stats/target", data={"min_stars": 4, "goal": 0})
    assert response.status_code == 400 and "Chỉ tiêu phải từ 1" in response.get_data(as_text=True)
    assert _count(DashboardTarget) == 0
    assert client.post("/dashboard/stats/target", data={"min_stars": 4, "goal": 10}).status_code == 302
    progress = stats.target_progress()
    assert (progress.min_stars, progress.goal, progress.reached, progress.percent) == (4, 10, 1, 10.0)
    assert db.session.scalars(sa.select(AuditLog)).one().action == "target.update"


def test_csv_export(sample, client):
    login(client, make_user(roles=("admin",)))
    db.session.commit()
    response = client.get("/dashboard/stats/groups.csv")
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    text = response.data.decode("utf-8-sig").splitlines()
    assert text[0] == "Nhóm,Số lượng,Tỷ lệ (%)"
    assert "Thực phẩm,2,40.0" in text and "Tổng,5,100.0" in text
    text_2019 = client.get("/dashboard/stats/groups.csv?scheme=2019").data.decode("utf-8-sig")
    assert "Vải và may mặc,1,20.0" in text_2019


def test_xlsx_export(sample, client):
    login(client, make_user(roles=("organiser",)))
    db.session.commit()
    response = client.get("/dashboard/stats/stars.xlsx")
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        names = archive.namelist()
        assert "xl/worksheets/sheet1.xml" in names
        sheet = archive.read("xl/worksheets/sheet1.xml").decode()
        strings = archive.read("xl/sharedStrings.xml").decode()
    assert "Chưa có sao hợp lệ" in strings and "Số lượng" in strings
    assert "<v>3</v>" in sheet and "<v>5</v>" in sheet  # 3 products without valid stars; total 5


# --------------------------------------------------------------------------- moderation


def test_report_hide_restore_flow(app, client, organiser):
    from marketplace.dashboard.models import ListingReport

    product = make_product(name="Miến dong Minh Hồng")
    buyer = make_user(roles=("buyer",))
    db.session.commit()
    # Anonymous users are sent to log in; nothing is recorded.
    assert client.post(f"/dashboard/listings/{product.id}/report", data={"reason": "Lừa đảo"}).status_code == 302
    assert _count(ListingReport) == 0
    login(client, buyer)
    assert "Báo cáo sản phẩm này" in client.get(_product_url(app, product)).get_data(as_text=True)
    client.post(f"/dashboard/listings/{product.id}/report", data={"reason": "x"})  # too short
    assert _count(ListingReport) == 0
    client.post(f"/dashboard/listings/{product.id}/report", data={"reason": "Ảnh không đúng sản phẩm"})
    client.post(f"/dashboard/listings/{product.id}/report", data={"reason": "Báo cáo lần hai"})  # one open each
    assert _count(ListingReport) == 1
    assert client.post("/dashboard/listings/9999/report", data={"reason": "Không có"}).status_code == 404
    # Buyers cannot moderate.
    assert client.get("/dashboard/moderation").status_code == 403
    assert client.post(f"/dashboard/moderation/{product.id}/hide", data={"reason": "Vi phạm"}).status_code == 403
    db.session.expire_all()
    assert db.session.get(type(product), product.id).hidden is False
    # The organiser sees the report, hides with a reason, then restores.
    login(client, organiser)
    page = client.get("/dashboard/moderation").get_data(as_text=True)
    assert "Ảnh không đúng sản phẩm" in page and "Miến dong Minh Hồng" in page
    client.post(f"/dashboard/moderation/{product.id}/hide", data={"reason": ""})
    db.session.expire_all()
    assert db.session.get(type(product), product.id).hidden is False  # a reason is required
    client.post(f"/dashboard/moderation/{product.id}/hide", data={"reason": "Ảnh sai sự thật"})
    db.session.expire_all()
    hidden = db.session.get(type(product), product.id)
    assert hidden.hidden and hidden.hidden_reason == "Ảnh sai sự thật"
    assert db.session.scalars(sa.select(ListingReport)).one().status == "hidden"
    assert "Không có báo cáo nào đang chờ xử lý." in client.get("/dashboard/moderation").get_data(as_text=True)
    client.post(f"/dashboard/moderation/{product.id}/restore", data={"reason": ""})  # a reason is required
    db.session.expire_all()
    assert db.session.get(type(product), product.id).hidden is True
    client.post(f"/dashboard/moderation/{product.id}/restore", data={"reason": "Đã sửa ảnh"})
    db.session.expire_all()
    assert db.session.get(type(product), product.id).hidden is False
    entries = db.session.scalars(sa.select(AuditLog).order_by(AuditLog.id)).all()
    assert [(e.action, e.reason) for e in entries] == [
        ("product.hide", "Ảnh sai sự thật"),
        ("product.unhide", "Đã sửa ảnh"),
    ]
    assert "Ảnh sai sự thật" in client.get("/dashboard/audit?action=product.hide").get_data(as_text=True)
    assert "Ảnh sai sự thật" not in client.get("/dashboard/audit?action=product.unhide").get_data(as_text=True)


def test_dismiss_reports(app, client, organiser):
    from marketplace.dashboard.models import ListingReport

    product = make_product()
    moderation.report_listing(make_user(roles=("buyer",)), product, "Giá không đúng")
    db.session.commit()
    login(client, organiser)
    client.post(f"/dashboard/moderation/{product.id}/dismiss", data={"reason": ""})  # a reason is required
    assert db.session.scalars(sa.select(ListingReport)).one().status == "open"
    client.post(f"/dashboard/moderation/{product.id}/dismiss", data={"reason": "Giá đã đúng"})
    assert db.session.scalars(sa.select(ListingReport)).one().status == "dismissed"
    assert db.session.get(type(product), product.id).hidden is False
    log = db.session.scalars(sa.select(AuditLog)).one()
    assert (log.action, log.reason) == ("listing.dismiss", "Giá đã đúng")
    # Nothing left to dismiss: refused, nothing more logged.
    client.post(f"/dashboard/moderation/{product.id}/dismiss", data={"reason": "Lần nữa"})
    assert _count(AuditLog) == 1


def _product_url(app, product) -> str:
    with app.test_request_context():
        return url_for("catalog.product", ref=product.ref)


def test_producer_sees_rejection_on_edit_page(app, client, organiser, pending):
    services.reject_certificate(organiser, pending, "Thiếu quyết định công nhận")
    db.session.commit()
    manager = pending.product.producer.managers[0]
    login(client, manager)
    page = client.get(f"/my/products/{pending.product_id}/edit").get_data(as_text=True)
    assert "Không được xác minh" in page and "Thiếu quyết định công nhận" in page


def test_activity_and_sales_points_tables(sample, client):
    from tests.helpers import make_sales_point

    make_sales_point(district="Hoàn Kiếm")
    make_sales_point(district="Hoàn Kiếm")
    make_sales_point(district="Đống Đa")
    make_sales_point(district="Đống Đa", status="pending")
    db.session.commit()
    assert _rows(stats.sales_points_by_district()) == {"Hoàn Kiếm": (2, 66.7), "Đống Đa": (1, 33.3)}
    activity = {k: v[0] for k, v in _rows(stats.activity()).items()}
    assert activity == {"inquiries": 0, "rfqs": 0, "quotes": 0, "accepted": 0, "scans": 0}
    login(client, make_user(roles=("organiser",)))
    db.session.commit()
    text = client.get("/dashboard/stats/activity.csv").data.decode("utf-8-sig").splitlines()
    assert text[0] == "Chỉ số,Số lượng" and len(text) == 6
    assert "Hoàn Kiếm,2,66.7" in client.get("/dashboard/stats/sales_points.csv").data.decode("utf-8-sig")


def test_a_rejected_certificate_edited_by_its_producer_returns_to_the_queue(app):
    from datetime import date

    import sqlalchemy as sa

    from marketplace.catalog.services import CertificateData, set_certificate
    from marketplace.dashboard.services import reject_certificate, review_queue_stmt
    from marketplace.extensions import db
    from tests.helpers import make_product, make_user

    organiser = make_user(roles=("organiser",))
    product = make_product(stars=4, verified=False)
    reject_certificate(organiser, product.certificate, "Số giấy không khớp hồ sơ.")
    db.session.flush()

    def queued() -> bool:
        queue = review_queue_stmt().subquery()
        return product.certificate.id in set(db.session.scalars(sa.select(sa.literal_column("id")).select_from(queue)))

    assert not queued()
    set_certificate(product, CertificateData(stars=4, number="CN-MOI-01", level="province", issued_on=date(2025, 5, 1)))
    db.session.flush()
    assert product.certificate.rejected_reason == ""
    assert queued()


def test_statistics_speak_the_pages_language(app, client, organiser):
    """The OCOP group and producer-kind names followed the page's language nowhere but here."""
    make_product(make_producer(), ocop_group="food", status="published")
    db.session.commit()
    login(client, organiser)
    assert "Thực phẩm" in client.get("/dashboard/stats").get_data(as_text=True)
    with client.session_transaction() as session:
        session["lang"] = "en"
    page = client.get("/dashboard/stats").get_data(as_text=True)
    assert "Food" in page and "Thực phẩm" not in page
    assert "Food" in client.get("/dashboard/stats/groups.csv").get_data(as_text=True)
