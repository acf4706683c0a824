"""Bank account pages through the test client: who may see and change what, bad input, QR images."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask import g

from marketplace.banking import services, vietqr
from marketplace.banking.models import BankAccountChange
from marketplace.banking.services import BankAccountData
from marketplace.extensions import db
from tests import helpers
from tests.helpers import make_producer, make_user

FORM = {"bank_bin": "970418", "account_number": "2141 0000 123456", "holder_name": "Hợp tác xã Gốm Bát Tràng"}


def login(client, user) -> None:
    g.pop("_login_user", None)
    if user is not None:
        helpers.login(client, user)


def snapshot() -> dict[str, list[tuple]]:
    db.session.expire_all()
    with db.engine.connect() as conn:
        return {
            name: sorted(map(tuple, conn.execute(sa.select(db.metadata.tables[name])).all()), key=repr)
            for name in ("producer_bank_accounts", "producer_bank_account_changes", "outgoing_mail")
            if name in db.metadata.tables
        }


@pytest.fixture
def world(app):
    owner = make_user(roles=("producer",), email="owner@example.vn")
    other_owner = make_user(roles=("producer",), email="other@example.vn")
    buyer = make_user(roles=("buyer",), email="buyer@example.vn")
    organiser = make_user(roles=("organiser",), email="organiser@example.vn")
    mine = make_producer(managers=[owner], name="Gốm của tôi")
    theirs = make_producer(managers=[other_owner], name="Gốm người khác")
    services.save_account(
        other_owner,
        theirs,
        BankAccountData(bank_bin="970436", account_number="0011001234567", holder_name="Nguyễn Văn Khác"),
    )
    db.session.commit()
    return {
        "owner": owner,
        "other_owner": other_owner,
        "buyer": buyer,
        "organiser": organiser,
        "mine": mine,
        "theirs": theirs,
    }


def urls(producer_id: int) -> dict[str, str]:
    base = f"/my/producers/{producer_id}/bank-account"
    return {
        "account": base,
        "edit": f"{base}/edit",
        "remove": f"{base}/remove",
        "svg": f"{base}/qr.svg",
        "png": f"{base}/qr.png",
    }


# --------------------------------------------------------------------------- access control


def test_anonymous_is_sent_to_login_and_nothing_changes(client, world):
    before = snapshot()
    for name, url in urls(world["theirs"].id).items():
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"], name
    for url in (urls(world["theirs"].id)["edit"], urls(world["theirs"].id)["remove"]):
        response = client.post(url, data=FORM)
        assert response.status_code == 302 and "/login" in response.headers["Location"], url
    assert snapshot() == before


@pytest.mark.parametrize("who", ["buyer", "owner"])
def test_others_get_403_everywhere_and_nothing_changes(client, world, who):
    login(client, world[who])
    before = snapshot()
    for name, url in urls(world["theirs"].id).items():
        assert client.get(url).status_code == 403, (who, name)
    assert client.post(urls(world["theirs"].id)["edit"], data=FORM).status_code == 403
    assert client.post(urls(world["theirs"].id)["remove"]).status_code == 403
    assert snapshot() == before


def test_other_producers_account_number_is_never_shown_to_others(client, world):
    login(client, world["owner"])
    for url in urls(world["theirs"].id).values():
        assert b"0011001234567" not in client.get(url).data


def test_unknown_producer_is_404(client, world):
    login(client, world["owner"])
    for name, url in urls(99999).items():
        assert client.get(url).status_code == 404, name
    assert client.post(urls(99999)["edit"], data=FORM).status_code == 404


def test_unverified_manager_is_asked_to_verify(client, world):
    user = make_user(roles=("producer",), verified=False)
    producer = make_producer(managers=[user])
    db.session.commit()
    login(client, user)
    response = client.get(urls(producer.id)["edit"])
    assert response.status_code == 302 and "verify" in response.headers["Location"]


def test_organiser_sees_account_and_history_read_only(client, world):
    login(client, world["organiser"])
    theirs = urls(world["theirs"].id)
    page = client.get(theirs["account"])
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "0011001234567" in html and "NGUYEN VAN KHAC" in html
    assert "other@example.vn" in html  # who made the change
    assert theirs["edit"] not in html and theirs["remove"] not in html
    assert theirs["svg"] not in html  # no QR for non-managers
    before = snapshot()
    for name in ("edit", "remove", "svg", "png"):
        assert client.get(theirs[name]).status_code == 403, name
    assert client.post(theirs["edit"], data=FORM).status_code == 403
    assert client.post(theirs["remove"]).status_code == 403
    assert snapshot() == before


# --------------------------------------------------------------------------- the manager's pages


def test_empty_state_offers_to_add_an_account(client, world):
    login(client, world["owner"])
    mine = urls(world["mine"].id)
    html = client.get(mine["account"]).get_data(as_text=True)
    assert "Gian hàng chưa có tài khoản ngân hàng" in html
    assert mine["edit"] in html
    assert "Chưa có thay đổi nào." in html
    assert client.get(mine["svg"]).status_code == 404
    assert client.get(mine["png"]).status_code == 404
    assert client.get(mine["remove"]).status_code == 404
    assert client.post(mine["remove"]).status_code == 404


def test_form_offers_every_bank_by_name_and_short_name(client, world):
    login(client, world["owner"])
    html = client.get(urls(world["mine"].id)["edit"]).get_data(as_text=True)
    assert "Thêm tài khoản ngân hàng" in html
    for bank in vietqr.banks():
        assert f'value="{bank.bin}"' in html
    assert "Vietcombank — Ngân hàng TMCP Ngoại thương Việt Nam" in html
    assert "— Chọn ngân hàng —" in html


def test_manager_adds_edits_and_removes_the_account(client, world):
    login(client, world["owner"])
    mine = urls(world["mine"].id)
    response = client.post(mine["edit"], data=FORM)
    assert response.status_code == 302 and response.headers["Location"].endswith(mine["account"])
    account = services.account_for_producer(world["mine"].id)
    assert (account.bank_bin, account.account_number) == ("970418", "21410000123456")
    assert account.holder_name_ascii == "HOP TAC XA GOM BAT TRANG"

    page = client.get(mine["account"]).get_data(as_text=True)
    assert "Đã lưu tài khoản ngân hàng." in page
    assert "21410000123456" in page and "HOP TAC XA GOM BAT TRANG" in page and "Hợp tác xã Gốm Bát Tràng" in page
    assert "BIDV" in page
    assert mine["svg"] in page and mine["png"] in page
    assert "Người chuyển tự nhập" in page  # static code: no amount

    edit_page = client.get(mine["edit"]).get_data(as_text=True)
    assert "Sửa tài khoản ngân hàng" in edit_page
    assert 'value="21410000123456"' in edit_page
    assert '<option selected value="970418">' in edit_page

    client.post(mine["edit"], data={**FORM, "bank_bin": "970407", "account_number": "19033333333333"})
    account = services.account_for_producer(world["mine"].id)
    assert (account.bank_bin, account.account_number) == ("970407", "19033333333333")
    history = client.get(mine["account"]).get_data(as_text=True)
    assert "21410000123456" in history and "19033333333333" in history  # before and after

    confirm = client.get(mine["remove"])
    assert confirm.status_code == 200 and "Bạn có chắc muốn xoá tài khoản 19033333333333" in confirm.get_data(
        as_text=True
    )
    response = client.post(mine["remove"])
    assert response.status_code == 302
    assert services.account_for_producer(world["mine"].id) is None
    actions = db.session.scalars(
        sa.select(BankAccountChange.action)
        .where(BankAccountChange.producer_id == world["mine"].id)
        .order_by(BankAccountChange.id)
    ).all()
    assert actions == ["created", "updated", "removed"]
    page = client.get(mine["account"]).get_data(as_text=True)
    assert "Đã xoá tài khoản ngân hàng." in page and "19033333333333" in page  # still in the history


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({**FORM, "bank_bin": ""}, "Vui lòng chọn ngân hàng."),
        ({**FORM, "bank_bin": "970499"}, "Ngân hàng không có trong danh sách hỗ trợ VietQR."),
        ({**FORM, "account_number": ""}, "Vui lòng nhập số tài khoản."),
        ({**FORM, "account_number": "12ab5678"}, "Số tài khoản chỉ gồm chữ số (0–9)."),
        ({**FORM, "account_number": "12345"}, "Số tài khoản phải có từ 6 đến 19 chữ số."),
        ({**FORM, "account_number": "1" * 41}, "Tối đa 40 ký tự."),
        ({**FORM, "holder_name": ""}, "Vui lòng nhập tên chủ tài khoản."),
        ({**FORM, "holder_name": "A" * 101}, "Tối đa 100 ký tự."),
        ({**FORM, "holder_name": "Shop 🙂"}, "Tên chủ tài khoản chỉ gồm chữ cái"),
    ],
)
def test_bad_input_shows_vietnamese_errors_and_keeps_what_was_typed(client, world, form, message):
    login(client, world["owner"])
    before = snapshot()
    response = client.post(urls(world["mine"].id)["edit"], data=form)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert message in html
    assert 'aria-invalid="true"' in html
    if form["holder_name"]:
        assert form["holder_name"] in html
    assert snapshot() == before


def test_static_qr_images_for_the_manager(client, world):
    login(client, world["other_owner"])
    theirs = urls(world["theirs"].id)
    svg = client.get(theirs["svg"])
    assert svg.status_code == 200
    assert svg.mimetype == "image/svg+xml"
    assert "no-store" in svg.headers["Cache-Control"]
    assert svg.headers["X-Content-Type-Options"] == "nosniff"
    expected = services.static_vietqr_for(world["theirs"].id).payload
    assert svg.data == vietqr.render_svg(expected)
    assert "54" not in vietqr.parse_payload(expected)
    png = client.get(theirs["png"])
    assert png.status_code == 200 and png.mimetype == "image/png" and png.data.startswith(b"\x89PNG")
    assert "attachment" in png.headers["Content-Disposition"]


def test_no_route_mints_codes_with_an_amount(client, world):
    login(client, world["other_owner"])
    theirs = urls(world["theirs"].id)
    response = client.get(theirs["svg"] + "?amount=999999&reference=LUA%20DAO")
    assert response.data == vietqr.render_svg(services.static_vietqr_for(world["theirs"].id).payload)


def test_csrf_is_required_for_changes(app, client, world):
    app.config["WTF_CSRF_ENABLED"] = True
    login(client, world["other_owner"])
    before = snapshot()
    assert client.post(urls(world["theirs"].id)["edit"], data=FORM).status_code == 400
    assert client.post(urls(world["theirs"].id)["remove"]).status_code == 400
    assert snapshot() == before


def test_vietqr_partial_renders_an_order_code(app, world):
    """The partial the payments feature includes: image, bank, account, holder, amount, content."""
    from flask import render_template_string

    qr = services.vietqr_for(world["theirs"].id, 1_250_000, "OCOP DH000123")
    with app.test_request_context("/"):
        html = render_template_string('{% include "banking/_vietqr.html" %}', qr=qr, svg_url="/orders/1/vietqr.svg")
    assert 'src="/orders/1/vietqr.svg"' in html
    assert "Vietcombank" in html and "Ngân hàng TMCP Ngoại thương Việt Nam" in html
    assert "0011001234567" in html and "NGUYEN VAN KHAC" in html
    assert "1.250.000 ₫" in html
    assert "OCOP DH000123" in html
    assert "Nội dung chuyển khoản" in html
    assert "<script" not in html and "style=" not in html


def test_vietqr_partial_escapes_its_text(app, world):
    from flask import render_template_string

    qr = services.VietQR(
        payload="x",
        bank_name="<b>bank</b>",
        bank_short_name="B",
        bin="970436",
        account_number="123456",
        holder="<script>",
        amount_vnd=1000,
        reference="a<b",
    )
    with app.test_request_context("/"):
        html = render_template_string('{% include "banking/_vietqr.html" %}', qr=qr, svg_url="/x.svg")
    assert "<script>" not in html and "<b>bank" not in html and "a&lt;b" in html
