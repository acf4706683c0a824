"""Agendas: a participant's own agenda, print versions, QR code, the table plan, access control."""

from __future__ import annotations

import pytest

from marketplace.core.dates import to_local
from marketplace.extensions import db
from marketplace.forums import agenda
from tests.forums.factories import make_registration
from tests.forums.test_day_support import build_day, switch_user
from tests.helpers import make_user


@pytest.fixture
def day(app):
    return build_day()


# --------------------------------------------------------------------------- services


def test_agenda_items_in_time_order_with_the_other_side(day):
    items = agenda.agenda_items(day.producer)
    assert [i.meeting.id for i in items] == [day.m1.id, day.m2.id]
    assert [i.other.id for i in items] == [day.buyer.id, day.buyer2.id]
    assert items[0].table_no == 1 and items[1].table_no == 2
    assert items[0].starts_at == to_local(day.slots[0].starts_at)
    assert items[0].starts_at.utcoffset().total_seconds() == 7 * 3600
    assert items[0].starts_at.strftime("%H:%M") == "08:00"


def test_agenda_shows_only_public_products_of_the_other(day):
    (item,) = agenda.agenda_items(day.buyer)  # m3 is not placed
    assert item.other.id == day.producer.id
    assert [p.id for p in item.other_products] == [day.rice.id]
    assert item.other_name == "HTX Gạo Sóc Sơn"


def test_released_and_unplaced_meetings_are_not_on_the_agenda(day):
    day.m1.status = "released"
    db.session.flush()
    assert [i.meeting.id for i in agenda.agenda_items(day.producer)] == [day.m2.id]
    assert agenda.agenda_items(day.buyer) == []


def test_registration_for_organiser_owner_and_others(day):
    assert agenda.registration_for(day.organiser, day.forum, day.buyer.id) is day.buyer
    assert agenda.registration_for(day.buyer_user, day.forum, day.buyer.id) is day.buyer
    assert agenda.registration_for(day.buyer2_user, day.forum, day.buyer.id) is None
    assert agenda.registration_for(day.organiser, day.forum, day.outsider.id) is None  # another forum


def test_qr_is_an_svg_data_uri_of_the_code(day):
    uri = agenda.qr_svg(day.buyer.checkin_code)
    assert uri.startswith("data:image/svg+xml")
    assert agenda.qr_svg("ABC") != agenda.qr_svg("ABD")


def test_table_plan_has_both_parties_buyer_first(day):
    plan = agenda.table_plan(day.forum)
    assert plan.tables == [1, 2, 3, 4]
    assert [s.id for s in plan.slots] == [s.id for s in day.slots]
    cell = plan.cell(day.slots[0].id, 1)
    assert cell.first.id == day.buyer.id and cell.second.id == day.producer.id
    assert plan.cell(day.slots[0].id, 2) is None
    assert plan.meeting_count == 2


# --------------------------------------------------------------------------- pages


def test_own_agenda_page(client, day):
    switch_user(client, day.buyer_user)
    page = client.get(f"/forums/{day.forum.id}/agenda")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "HTX Gạo Sóc Sơn" in html
    assert "Gạo nếp cái hoa vàng" in html and f"/san-pham/{day.rice.ref}" in html
    assert "Bánh chưng nháp" not in html
    assert "08:00–08:20" in html
    assert day.buyer.checkin_code in html and 'src="data:image/svg+xml' in html
    assert "0912345678" in html  # the other side's contact


def test_agenda_empty_state_before_scheduling(client, day):
    user = make_user(roles=("buyer",))
    make_registration(day.forum, user, "buyer")
    db.session.commit()
    switch_user(client, user)
    html = client.get(f"/forums/{day.forum.id}/agenda").get_data(as_text=True)
    assert "Chưa có cuộc gặp nào được xếp lịch" in html


def test_pending_registration_sees_a_notice_without_code(client, day):
    switch_user(client, day.pending.user)
    html = client.get(f"/forums/{day.forum.id}/agenda").get_data(as_text=True)
    assert "đang chờ ban tổ chức duyệt" in html
    assert day.pending.checkin_code not in html
    assert client.get(f"/forums/{day.forum.id}/agenda/print").status_code == 404


def test_agenda_needs_login_and_a_registration(client, day):
    page = client.get(f"/forums/{day.forum.id}/agenda")
    assert page.status_code == 302 and "/login" in page.headers["Location"]
    stranger = make_user(roles=("buyer",))
    db.session.commit()
    switch_user(client, stranger)
    assert client.get(f"/forums/{day.forum.id}/agenda").status_code == 404
    assert client.get("/forums/999999/agenda").status_code == 404


def test_participant_sees_only_their_own_agenda(client, day):
    switch_user(client, day.buyer2_user)
    assert client.get(f"/forums/{day.forum.id}/registrations/{day.buyer2.id}/agenda").status_code == 200
    assert client.get(f"/forums/{day.forum.id}/registrations/{day.buyer.id}/agenda").status_code == 404
    assert client.get(f"/forums/{day.other_forum.id}/registrations/{day.buyer2.id}/agenda").status_code == 404


def test_organiser_sees_any_agenda(client, day):
    switch_user(client, day.organiser)
    page = client.get(f"/forums/{day.forum.id}/registrations/{day.producer.id}/agenda")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Siêu thị Xanh" in html and "Nhà hàng Sen" in html
    assert client.get(f"/forums/{day.forum.id}/registrations/{day.outsider.id}/agenda").status_code == 404


def test_print_own_agenda(client, day):
    switch_user(client, day.producer_user)
    page = client.get(f"/forums/{day.forum.id}/agenda/print")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert html.count('class="fd-sheet"') == 1
    assert "forums_print.css" in html and day.producer.checkin_code in html
    assert "<script>" not in html and "onclick" not in html


def test_print_all_agendas_one_sheet_per_approved_participant(client, day):
    switch_user(client, day.organiser)
    html = client.get(f"/forums/{day.forum.id}/print/agendas").get_data(as_text=True)
    assert html.count('class="fd-sheet"') == 3  # buyer, buyer2, producer; not pending/refused/outsider
    assert "HTX Chờ duyệt" not in html and "Khách diễn đàn khác" not in html
    assert html.index("Nhà hàng Sen") < html.index("HTX Gạo Sóc Sơn")  # buyers first
    only_producers = client.get(f"/forums/{day.forum.id}/print/agendas?kind=producer").get_data(as_text=True)
    assert only_producers.count('class="fd-sheet"') == 1


def test_print_table_plan(client, day):
    switch_user(client, day.organiser)
    html = client.get(f"/forums/{day.forum.id}/print/table-plan").get_data(as_text=True)
    assert f'data-meeting="{day.m1.id}"' in html and f'data-meeting="{day.m2.id}"' in html
    assert "Bàn 4" in html and "08:20" in html


@pytest.mark.parametrize("path", ["print/agendas", "print/table-plan"])
def test_print_pages_are_for_organisers(client, day, path):
    url = f"/forums/{day.forum.id}/{path}"
    assert client.get(url).status_code == 302
    switch_user(client, day.buyer_user)
    assert client.get(url).status_code == 403
    switch_user(client, day.organiser)
    assert client.get(f"/forums/999999/{path}").status_code == 404
