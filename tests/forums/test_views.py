"""Forum pages through the test client: set-up, registration, review, directory, meetings, the
schedule grid; access control on every organiser and participant route."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from marketplace.core.models import utcnow
from marketplace.extensions import db
from marketplace.forums.models import Forum, ForumSession, Meeting, Registration
from tests.forums.factories import make_forum, make_meeting, make_registration
from tests.helpers import login, make_user


def _commit():
    db.session.commit()


# --------------------------------------------------------------------------- public pages


def test_forum_list_hides_drafts_except_from_organisers(client, organiser):
    make_forum(title="Diễn đàn mở", status="open")
    make_forum(title="Bản nháp bí mật", status="draft")
    _commit()
    page = client.get("/forums").get_data(as_text=True)
    assert "Diễn đàn mở" in page and "Bản nháp bí mật" not in page
    login(client, organiser)
    page = client.get("/forums").get_data(as_text=True)
    assert "Bản nháp bí mật" in page and "Tạo diễn đàn" in page


def test_forum_list_empty_state(client):
    assert "Chưa có diễn đàn nào" in client.get("/forums").get_data(as_text=True)


def test_forum_page(client, forum, organiser):
    _commit()
    page = client.get(f"/forums/{forum.id}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert forum.title in text and "Đăng nhập để đăng ký" in text and "Phiên 1" in text
    assert client.get("/forums/999999").status_code == 404
    draft = make_forum(status="draft")
    _commit()
    assert client.get(f"/forums/{draft.id}").status_code == 404
    login(client, organiser)
    assert client.get(f"/forums/{draft.id}").status_code == 200


def test_directory_and_participant_page(client, forum):
    a = make_registration(forum, kind="buyer", organisation="Siêu thị Quê Nhà", seeks="miến dong")
    b = make_registration(forum, kind="producer", organisation="HTX Gốm Bát Tràng", offers="gốm")
    pending = make_registration(forum, kind="producer", organisation="Chưa duyệt", status="pending")
    _commit()
    text = client.get(f"/forums/{forum.id}/participants").get_data(as_text=True)
    assert "Siêu thị Quê Nhà" in text and "HTX Gốm Bát Tràng" in text and "Chưa duyệt" not in text
    text = client.get(f"/forums/{forum.id}/participants?q=gom&kind=producer").get_data(as_text=True)
    assert "HTX Gốm Bát Tràng" in text and "Siêu thị Quê Nhà" not in text
    text = client.get(f"/forums/{forum.id}/participants?q=khongcoai").get_data(as_text=True)
    assert "Không có người tham gia nào phù hợp" in text
    # contact details are not public
    assert "0912345678" not in client.get(f"/forums/{forum.id}/participants/{a.id}").get_data(as_text=True)
    assert client.get(f"/forums/{forum.id}/participants/{b.id}").status_code == 200
    assert client.get(f"/forums/{forum.id}/participants/{pending.id}").status_code == 404
    other = make_forum()
    _commit()
    assert client.get(f"/forums/{other.id}/participants/{a.id}").status_code == 404


# --------------------------------------------------------------------------- set-up


FORUM_FORM = {
    "title": "Diễn đàn kết nối OCOP 2027",
    "description": "Gặp gỡ người mua",
    "venue": "Cung Văn hoá",
    "starts_on": "2027-01-10",
    "ends_on": "2027-01-11",
    "registration_deadline": "2027-01-05T17:00",
    "tables": "12",
    "max_meetings_per_participant": "6",
    "capacity_buyers": "50",
    "capacity_producers": "60",
    "fee_vnd": "",
}


@pytest.mark.parametrize(
    "path",
    [
        "/forums/new",
        "/forums/{id}/edit",
        "/forums/{id}/sessions",
        "/forums/{id}/registrations",
        "/forums/{id}/schedule",
    ],
)
def test_organiser_pages_need_login_and_the_role(client, forum, buyer, path):
    _commit()
    url = path.format(id=forum.id)
    response = client.get(url)
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    login(client, buyer)
    assert client.get(url).status_code == 403


@pytest.mark.parametrize(
    "path",
    [
        "/forums/{id}/status",
        "/forums/{id}/recommendations",
        "/forums/{id}/schedule/run",
        "/forums/{id}/registrations/{r}/approve",
        "/forums/{id}/registrations/{r}/refuse",
        "/forums/{id}/schedule/meetings/{m}/lock",
        "/forums/{id}/schedule/meetings/{m}/unschedule",
    ],
)
def test_organiser_actions_are_refused_to_participants(client, forum, path):
    a, b = make_registration(forum, kind="buyer", status="pending"), make_registration(forum, kind="producer")
    m = make_meeting(forum, a, b, slot=forum.slots[0], table_no=1)
    _commit()
    login(client, a.user)
    assert (
        client.post(path.format(id=forum.id, r=a.id, m=m.id), data={"status": "closed", "reason": "x"}).status_code
        == 403
    )
    db.session.expire_all()
    assert a.status == "pending" and m.slot_id is not None and forum.status == "open"


def test_create_forum_then_sessions(client, organiser):
    _commit()
    login(client, organiser)
    assert client.get("/forums/new").status_code == 200
    response = client.post("/forums/new", data=FORUM_FORM)
    assert response.status_code == 302
    forum = db.session.scalar(sa.select(Forum))
    assert forum.title == FORUM_FORM["title"] and forum.status == "draft" and forum.tables == 12
    # 17:00 Hà Nội is 10:00 UTC
    assert forum.registration_deadline.hour == 10
    assert response.headers["Location"].endswith(f"/forums/{forum.id}/sessions")

    page = client.get(f"/forums/{forum.id}/sessions")
    assert page.status_code == 200 and "sessions-0-day" in page.get_data(as_text=True)
    data = {
        "sessions-0-name": "Sáng",
        "sessions-0-day": "2027-01-10",
        "sessions-0-starts_at": "08:00",
        "sessions-0-ends_at": "10:00",
        "sessions-0-meeting_minutes": "20",
        "sessions-0-break_starts_at": "09:00",
        "sessions-0-break_ends_at": "09:20",
    }
    assert client.post(f"/forums/{forum.id}/sessions", data=data).status_code == 302
    db.session.expire_all()
    assert [s.name for s in forum.sessions] == ["Sáng"] and len(forum.slots) == 5
    # the page now shows the session and one blank row
    text = client.get(f"/forums/{forum.id}/sessions").get_data(as_text=True)
    assert 'value="Sáng"' in text and "sessions-1-day" in text

    # open the forum
    assert client.post(f"/forums/{forum.id}/status", data={"status": "open"}).status_code == 302
    db.session.expire_all()
    assert forum.status == "open"


def test_create_forum_bad_input_keeps_what_was_typed(client, organiser):
    _commit()
    login(client, organiser)
    bad = dict(FORUM_FORM, ends_on="2027-01-01", fee_vnd="abc", tables="0")
    text = client.post("/forums/new", data=bad).get_data(as_text=True)
    assert "Lệ phí không hợp lệ" in text and "Số bàn phải từ 1 đến 500" in text
    assert FORUM_FORM["title"] in text
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Forum)) == 0
    text = client.post("/forums/new", data=dict(FORUM_FORM, ends_on="2027-01-01")).get_data(as_text=True)
    assert "Ngày kết thúc không được trước ngày bắt đầu" in text


def test_edit_forum(client, organiser, forum):
    _commit()
    login(client, organiser)
    page = client.get(f"/forums/{forum.id}/edit").get_data(as_text=True)
    assert forum.title in page
    data = dict(
        FORUM_FORM,
        starts_on=forum.starts_on.isoformat(),
        ends_on=forum.ends_on.isoformat(),
        registration_deadline=(forum.starts_on - timedelta(days=3)).isoformat() + "T12:00",
        fee_vnd="150.000",
    )
    assert client.post(f"/forums/{forum.id}/edit", data=data).status_code == 302
    db.session.expire_all()
    assert forum.title == FORUM_FORM["title"] and forum.fee_vnd == 150_000


def test_sessions_page_errors_and_refusal_when_scheduled(client, organiser, forum):
    a, b = make_registration(forum, kind="buyer"), make_registration(forum, kind="producer")
    make_meeting(forum, a, b, slot=forum.slots[0], table_no=1)
    _commit()
    login(client, organiser)
    first, second = forum.sessions
    base = {}
    for i, s in enumerate((first, second)):
        base.update(
            {
                f"sessions-{i}-id": str(s.id),
                f"sessions-{i}-day": s.day.isoformat(),
                f"sessions-{i}-starts_at": s.starts_at.strftime("%H:%M"),
                f"sessions-{i}-ends_at": s.ends_at.strftime("%H:%M"),
                f"sessions-{i}-meeting_minutes": "20",
            }
        )
    # removing the session that holds a scheduled meeting is refused
    text = client.post(f"/forums/{forum.id}/sessions", data=dict(base, **{"sessions-0-remove": "y"})).get_data(
        as_text=True
    )
    assert "đã có cuộc gặp được xếp lịch" in text
    # a bad time is shown next to its row
    text = client.post(f"/forums/{forum.id}/sessions", data=dict(base, **{"sessions-1-ends_at": "25:99"})).get_data(
        as_text=True
    )
    assert "Giờ không hợp lệ" in text
    text = client.post(
        f"/forums/{forum.id}/sessions", data=dict(base, **{"sessions-1-meeting_minutes": "45"})
    ).get_data(as_text=True)
    assert "Từ 15 đến 30 phút" in text
    # removing the other one works
    assert client.post(f"/forums/{forum.id}/sessions", data=dict(base, **{"sessions-1-remove": "y"})).status_code == 302
    db.session.expire_all()
    assert [s.id for s in forum.sessions] == [first.id]
    assert db.session.get(ForumSession, second.id) is None


# --------------------------------------------------------------------------- registration


def _reg_form(forum, **changes):
    data = {
        "kind": "buyer",
        "contact_name": "Nguyễn Văn Mua",
        "phone": "0912345678",
        "email": "mua@example.vn",
        "organisation": "Công ty Quà Việt",
        "seeks": "miến dong",
        "groups": ["food"],
        "session_ids": [str(s.id) for s in forum.sessions],
        "opt_in_recommended": "y",
    }
    data.update(changes)
    return data


def test_register_needs_login_and_a_participant_role(client, forum, organiser):
    _commit()
    response = client.get(f"/forums/{forum.id}/register")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    login(client, organiser)
    assert client.get(f"/forums/{forum.id}/register").status_code == 403


def test_buyer_registers_edits_and_cancels(client, forum, buyer):
    _commit()
    login(client, buyer)
    page = client.get(f"/forums/{forum.id}/register").get_data(as_text=True)
    assert "Các phiên tôi có thể tham gia" in page
    text = client.post(f"/forums/{forum.id}/register", data=_reg_form(forum, session_ids=[])).get_data(as_text=True)
    assert "Hãy chọn ít nhất một phiên" in text and "Công ty Quà Việt" in text
    assert client.post(f"/forums/{forum.id}/register", data=_reg_form(forum)).status_code == 302
    registration = db.session.scalar(sa.select(Registration))
    assert registration.status == "pending" and registration.organisation == "Công ty Quà Việt"
    # registering again leads to the own registration
    response = client.get(f"/forums/{forum.id}/register")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/forums/{forum.id}/registration")
    assert "Chờ duyệt" in client.get(f"/forums/{forum.id}").get_data(as_text=True)
    edit_page = client.get(f"/forums/{forum.id}/registration").get_data(as_text=True)
    assert 'name="kind" value="buyer"' in edit_page and "Công ty Quà Việt" in edit_page
    assert client.post(f"/forums/{forum.id}/registration", data=_reg_form(forum, seeks="chè")).status_code == 302
    db.session.expire_all()
    assert registration.seeks == "chè"
    assert client.post(f"/forums/{forum.id}/registration/cancel").status_code == 302
    db.session.expire_all()
    assert registration.status == "cancelled"


def test_producer_registers_with_products(client, forum, producer_user, producer, product):
    _commit()
    login(client, producer_user)
    page = client.get(f"/forums/{forum.id}/register").get_data(as_text=True)
    assert product.name in page
    data = _reg_form(forum, kind="producer", producer_id=str(producer.id), product_ids=[str(product.id)], offers="Miến")
    assert client.post(f"/forums/{forum.id}/register", data=data).status_code == 302
    registration = db.session.scalar(sa.select(Registration))
    assert registration.kind == "producer" and registration.products == [product]


def test_registration_closed_redirects(client, buyer):
    forum = make_forum(registration_deadline=utcnow() - timedelta(hours=1))
    _commit()
    login(client, buyer)
    response = client.get(f"/forums/{forum.id}/register", follow_redirects=True)
    assert "không còn nhận đăng ký" in response.get_data(as_text=True)


def test_review_approve_and_refuse(client, forum, organiser):
    a = make_registration(forum, kind="buyer", status="pending", organisation="Người mua A")
    b = make_registration(forum, kind="producer", status="pending", organisation="HTX B")
    _commit()
    login(client, organiser)
    text = client.get(f"/forums/{forum.id}/registrations").get_data(as_text=True)
    assert "Người mua A" in text and "HTX B" in text and "0912345678" in text
    assert client.post(f"/forums/{forum.id}/registrations/{a.id}/approve").status_code == 302
    follow = client.post(f"/forums/{forum.id}/registrations/{b.id}/refuse", data={"reason": ""}, follow_redirects=True)
    assert "Hãy nêu lý do từ chối" in follow.get_data(as_text=True)
    client.post(f"/forums/{forum.id}/registrations/{b.id}/refuse", data={"reason": "Thiếu hồ sơ"})
    db.session.expire_all()
    assert a.status == "approved" and b.status == "refused" and b.refusal_reason == "Thiếu hồ sơ"
    assert "Thiếu hồ sơ" in client.get(f"/forums/{forum.id}/registrations?status=refused").get_data(as_text=True)
    other = make_forum()
    _commit()
    assert client.post(f"/forums/{other.id}/registrations/{a.id}/approve").status_code == 404


# --------------------------------------------------------------------------- meetings


def test_request_accept_flow_and_meetings_page(client, forum):
    a = make_registration(forum, kind="buyer", organisation="Người mua A")
    b = make_registration(forum, kind="producer", organisation="HTX B")
    _commit()
    login(client, a.user)
    page = client.get(f"/forums/{forum.id}/participants/{b.id}").get_data(as_text=True)
    assert "Mời gặp" in page
    response = client.post(f"/forums/{forum.id}/participants/{b.id}/request", data={"message": "Xin gặp"})
    assert response.status_code == 302
    meeting = db.session.scalar(sa.select(Meeting))
    assert meeting.status == "requested" and meeting.message == "Xin gặp"
    assert "HTX B" in client.get(f"/forums/{forum.id}/meetings").get_data(as_text=True)
    # the requester cannot accept their own request
    follow = client.post(f"/forums/{forum.id}/meetings/{meeting.id}/accept", follow_redirects=True)
    assert "không có quyền" in follow.get_data(as_text=True) or follow.status_code == 403

    login(client, b.user)
    page = client.get(f"/forums/{forum.id}/meetings").get_data(as_text=True)
    assert "Lời mời chờ bạn trả lời (1)" in page and "Xin gặp" in page
    assert client.post(f"/forums/{forum.id}/meetings/{meeting.id}/accept").status_code == 302
    db.session.expire_all()
    assert meeting.status == "accepted"
    assert "Cuộc gặp đã thống nhất (1)" in client.get(f"/forums/{forum.id}/meetings").get_data(as_text=True)


def test_someone_elses_meeting_is_404(client, forum):
    a, b = make_registration(forum, kind="buyer"), make_registration(forum, kind="producer")
    c = make_registration(forum, kind="buyer")
    meeting = make_meeting(forum, a, b, status="requested")
    _commit()
    login(client, c.user)
    for action in ("accept", "decline", "cancel", "dismiss", "invite"):
        assert client.post(f"/forums/{forum.id}/meetings/{meeting.id}/{action}").status_code == 404
    stranger = make_user(roles=("buyer",))
    _commit()
    login(client, stranger)
    assert client.post(f"/forums/{forum.id}/meetings/{meeting.id}/decline").status_code == 404
    db.session.expire_all()
    assert meeting.status == "requested"


def test_meetings_page_without_registration_redirects(client, forum, buyer):
    _commit()
    assert "/login" in client.get(f"/forums/{forum.id}/meetings").headers["Location"]
    login(client, buyer)
    response = client.get(f"/forums/{forum.id}/meetings", follow_redirects=True)
    assert "Bạn chưa đăng ký diễn đàn này" in response.get_data(as_text=True)


def test_recommendations_shown_with_reasons_and_invite(client, forum):
    a, b = make_registration(forum, kind="buyer"), make_registration(forum, kind="producer", organisation="HTX Gợi ý")
    rec = make_meeting(forum, a, b, status="recommended", score=0.82, reasons="Đúng nhóm thực phẩm\nOCOP 4 sao")
    _commit()
    login(client, a.user)
    text = client.get(f"/forums/{forum.id}/meetings").get_data(as_text=True)
    assert "Gợi ý gặp gỡ (1)" in text and "Đúng nhóm thực phẩm" in text and "82%" in text
    assert client.post(f"/forums/{forum.id}/meetings/{rec.id}/invite").status_code == 302
    db.session.expire_all()
    assert rec.status == "requested" and rec.requester_id == a.id


def test_csrf_is_checked(client, app, forum):
    a, b = make_registration(forum, kind="buyer"), make_registration(forum, kind="producer")
    meeting = make_meeting(forum, a, b, status="requested")
    _commit()
    app.config["WTF_CSRF_ENABLED"] = True
    login(client, b.user)
    client.post(f"/forums/{forum.id}/meetings/{meeting.id}/accept")
    db.session.expire_all()
    assert meeting.status == "requested"


# --------------------------------------------------------------------------- schedule


def test_schedule_grid_run_move_lock_unschedule(client, forum, organiser):
    a, b = (
        make_registration(forum, kind="buyer", organisation="Người mua A"),
        make_registration(forum, kind="producer", organisation="HTX B"),
    )
    c = make_registration(forum, kind="producer", organisation="HTX C")
    m1, m2 = make_meeting(forum, a, b), make_meeting(forum, a, c)
    _commit()
    login(client, organiser)
    text = client.get(f"/forums/{forum.id}/schedule").get_data(as_text=True)
    assert "Chưa xếp lịch (2)" in text and "Chưa xếp lịch lần nào" in text
    assert client.post(f"/forums/{forum.id}/schedule/run").status_code == 302
    db.session.expire_all()
    assert m1.slot_id is not None and m2.slot_id is not None and m1.slot_id != m2.slot_id
    text = client.get(f"/forums/{forum.id}/schedule").get_data(as_text=True)
    assert "Người mua A ↔ HTX B" in text and "Lần xếp gần nhất" in text

    # move m1 to the last slot, table 2: it is locked there
    page = client.get(f"/forums/{forum.id}/schedule/meetings/{m1.id}")
    assert page.status_code == 200
    last = forum.slots[-1]
    response = client.post(
        f"/forums/{forum.id}/schedule/meetings/{m1.id}", data={"slot_id": str(last.id), "table_no": "2"}
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert (m1.slot_id, m1.table_no, m1.locked) == (last.id, 2, True)
    # a taken place is refused with a message on the form
    text = client.post(
        f"/forums/{forum.id}/schedule/meetings/{m2.id}", data={"slot_id": str(last.id), "table_no": "2"}
    ).get_data(as_text=True)
    assert "đã có cuộc gặp ở khung giờ này" in text
    text = client.post(
        f"/forums/{forum.id}/schedule/meetings/{m2.id}", data={"slot_id": str(last.id), "table_no": "99"}
    ).get_data(as_text=True)
    assert "Số bàn phải từ 1 đến" in text
    # re-run keeps the lock
    client.post(f"/forums/{forum.id}/schedule/run")
    db.session.expire_all()
    assert (m1.slot_id, m1.table_no) == (last.id, 2)
    client.post(f"/forums/{forum.id}/schedule/meetings/{m1.id}/unlock")
    db.session.expire_all()
    assert not m1.locked
    client.post(f"/forums/{forum.id}/schedule/meetings/{m1.id}/lock")
    db.session.expire_all()
    assert m1.locked
    client.post(f"/forums/{forum.id}/schedule/meetings/{m1.id}/unschedule")
    db.session.expire_all()
    assert m1.slot_id is None and not m1.locked


def test_schedule_meeting_of_another_forum_is_404(client, forum, organiser):
    other = make_forum()
    a, b = make_registration(other, kind="buyer"), make_registration(other, kind="producer")
    m = make_meeting(other, a, b)
    _commit()
    login(client, organiser)
    assert client.get(f"/forums/{forum.id}/schedule/meetings/{m.id}").status_code == 404
    assert client.post(f"/forums/{forum.id}/schedule/meetings/{m.id}/lock").status_code == 404


def test_grid_shows_a_conflict(client, organiser):
    forum = make_forum(sessions=2, slots_per_session=2, tables=2)
    a = make_registration(forum, kind="buyer", sessions=[forum.sessions[0]])
    b = make_registration(forum, kind="producer")
    make_meeting(forum, a, b, slot=forum.sessions[1].slots[0], table_no=1)
    _commit()
    login(client, organiser)
    text = client.get(f"/forums/{forum.id}/schedule").get_data(as_text=True)
    assert "cell-conflict" in text and "không rảnh ở phiên này" in text


def test_refresh_recommendations_button(client, forum, organiser):
    _commit()
    login(client, organiser)
    response = client.post(f"/forums/{forum.id}/recommendations", follow_redirects=True)
    assert "Gợi ý gặp gỡ: 0 mới" in response.get_data(as_text=True)
