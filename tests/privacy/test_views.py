import json
import re

import pytest
import sqlalchemy as sa

from marketplace.accounts.models import User
from marketplace.extensions import db
from marketplace.privacy import services
from tests.helpers import PASSWORD, login, make_user
from tests.privacy.conftest import PERSON_EMAIL, PERSON_NAME

REGISTER = {
    "role": "buyer",
    "name": "Phạm Thị Thu",
    "email": "thu.pham@example.vn",
    "password": "mây-tre-đan-phú-vinh",
    "confirm": "mây-tre-đan-phú-vinh",
}


def _text(response) -> str:
    return response.get_data(as_text=True)


def _user(user_id: int) -> User:
    db.session.expire_all()
    return db.session.get(User, user_id)


def _csrf(client, path: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', _text(client.get(path))).group(1)


# --- privacy page and links --------------------------------------------------------------------------


def test_privacy_page_is_public_and_names_the_rights_and_how_to_use_them(client):
    response = client.get("/chinh-sach-bao-mat")
    assert response.status_code == 200
    page = _text(response)
    assert "Nghị định 13/2023/NĐ-CP" in page and "OCOP Trade Connect, Hà Nội" in page
    for right in ("truy cập", "Chỉnh sửa", "Xoá dữ liệu", "Rút lại sự đồng ý", "Phản đối"):
        assert right in page
    assert 'href="/account/data"' in page and 'href="/account/delete"' in page
    assert 'href="/chinh-sach-bao-mat"' in page  # the footer


def test_register_and_profile_pages_link_to_privacy(client, app):
    assert 'href="/chinh-sach-bao-mat"' in _text(client.get("/register"))
    login(client, make_user())
    page = _text(client.get("/account"))
    assert 'href="/account/data"' in page and 'href="/account/delete"' in page


@pytest.mark.parametrize("path", ["/account/data", "/account/delete"])
def test_pages_need_a_login(client, path):
    for response in (client.get(path), client.post(path)):
        assert response.status_code == 302 and response.location.startswith("/login")


# --- consent at sign-up ------------------------------------------------------------------------------


def test_sign_up_without_consent_is_refused_with_a_clear_message(client):
    response = client.post("/register", data=REGISTER)
    assert response.status_code == 200
    assert "Vui lòng đồng ý với chính sách bảo vệ dữ liệu cá nhân" in _text(response)
    assert db.session.scalar(sa.select(User).where(User.email == "thu.pham@example.vn")) is None


def test_sign_up_with_consent_records_the_moment(client):
    response = client.post("/register", data={**REGISTER, "privacy_consent": "y"})
    assert response.status_code == 302
    user = db.session.scalar(sa.select(User).where(User.email == "thu.pham@example.vn"))
    assert user.privacy_consent_at is not None


# --- download my data --------------------------------------------------------------------------------


def test_download_is_a_json_attachment_not_stored_by_caches(client, world):
    login(client, world.person)
    page = client.get("/account/data")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    response = client.post("/account/data")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.headers["Cache-Control"] == "no-store"
    data = json.loads(response.get_data(as_text=True))
    assert data["account"]["email"] == PERSON_EMAIL
    assert data["orders"][0]["reference"] == "OCOP-TEST-1"
    assert world.person.session_token not in response.get_data(as_text=True)


# --- delete my account -------------------------------------------------------------------------------


def test_delete_page_explains_what_goes_and_what_stays(client, world):
    login(client, world.person)
    page = _text(client.get("/account/delete"))
    assert "Sẽ bị xoá" in page and "Được giữ lại" in page and "XOÁ TÀI KHOẢN" in page
    assert 'name="password"' in page and 'name="confirmation"' in page


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"password": "sai-mat-khau-123", "confirmation": "XOÁ TÀI KHOẢN"}, "Mật khẩu không đúng."),
        ({"password": PASSWORD, "confirmation": "đồng ý"}, "Vui lòng gõ đúng cụm từ"),
        ({"password": PASSWORD}, "Vui lòng gõ cụm từ xác nhận."),
    ],
)
def test_wrong_password_or_confirmation_is_refused_and_nothing_changes(client, world, form, message):
    login(client, world.person)
    response = client.post("/account/delete", data=form)
    assert response.status_code == 200
    assert message in _text(response)
    user = _user(world.person.id)
    assert user.email == PERSON_EMAIL and user.deleted_at is None
    assert client.get("/account").status_code == 200  # still logged in


def test_delete_logs_out_and_anonymises(client, world):
    login(client, world.person)
    response = client.post("/account/delete", data={"password": PASSWORD, "confirmation": "xóa tài khoản"})
    assert response.status_code == 302 and response.location == "/"
    assert client.get("/account").status_code == 302  # logged out
    user = _user(world.person.id)
    assert user.deleted_at is not None and user.email.endswith("@deleted.invalid")
    login(client, user)  # even a cookie with the new token gets nowhere
    assert client.get("/account").status_code == 302
    response = client.post("/login", data={"email": PERSON_EMAIL, "password": PASSWORD})
    assert response.status_code == 200 and "Email hoặc mật khẩu không đúng." in _text(response)


def test_last_admin_is_told_why_and_gets_no_form(client, world):
    login(client, world.admin)
    page = _text(client.get("/account/delete"))
    assert "quản trị viên cuối cùng" in page and 'name="confirmation"' not in page
    response = client.post("/account/delete", data={"password": PASSWORD, "confirmation": "XOÁ TÀI KHOẢN"})
    assert "quản trị viên cuối cùng" in _text(response)
    assert _user(world.admin.id).deleted_at is None


def test_forms_need_the_csrf_token(client, world, app):
    app.config["WTF_CSRF_ENABLED"] = True
    login(client, world.person)
    assert client.post("/account/data").status_code == 400
    response = client.post("/account/delete", data={"password": PASSWORD, "confirmation": "XOÁ TÀI KHOẢN"})
    assert response.status_code in (200, 400)
    assert _user(world.person.id).deleted_at is None
    token = _csrf(client, "/account/delete")
    response = client.post(
        "/account/delete", data={"password": PASSWORD, "confirmation": "XOÁ TÀI KHOẢN", "csrf_token": token}
    )
    assert response.status_code == 302
    assert _user(world.person.id).deleted_at is not None


def test_pages_showing_a_deleted_person_still_render(client, world):
    services.delete_account(world.person, services.DeletionData(password=PASSWORD, confirmation="XOÁ TÀI KHOẢN"))
    db.session.commit()
    login(client, world.partner)
    page = client.get(f"/inquiries/{world.inquiry.id}")
    assert page.status_code == 200
    assert services.DELETED_NAME in _text(page) and PERSON_NAME not in _text(page)
    assert client.get("/messages").status_code == 200
    forum_id = world.meeting.forum_id
    meetings = client.get(f"/forums/{forum_id}/meetings")
    assert meetings.status_code == 200 and PERSON_NAME not in _text(meetings)
    order = client.get(f"/payments/orders/{world.order.id}")
    assert order.status_code == 200 and PERSON_NAME not in _text(order)
    login(client, world.admin)
    for path in (f"/forums/{forum_id}/registrations", f"/forums/{forum_id}/report", "/payments/admin/orders"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert PERSON_NAME not in _text(response) and PERSON_EMAIL not in _text(response), path
    audit = client.get("/dashboard/audit")
    assert audit.status_code == 200 and PERSON_EMAIL not in _text(audit)
