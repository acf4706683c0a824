"""The forum report: registrations, meetings, agreements and value by OCOP group, CSV export."""

from __future__ import annotations

import csv
import io

import pytest

from marketplace.extensions import db
from marketplace.forums import checkin, report
from marketplace.forums.models import MeetingOutcome
from tests.forums.factories import make_meeting, make_registration
from tests.forums.test_day_support import build_day, switch_user


@pytest.fixture
def day(app):
    return build_day()


def add_outcome(meeting, registration, result, value=None) -> None:
    db.session.add(
        MeetingOutcome(meeting_id=meeting.id, registration_id=registration.id, result=result, deal_value_vnd=value)
    )
    db.session.flush()


def rows(table) -> dict:
    return {r[0]: r[1:] for r in table.rows}


def test_registrations_by_type(day):
    checkin.check_in(day.organiser, day.forum, day.buyer.checkin_code)
    table = report.build_report(day.forum).table("registrations")
    by = rows(table)
    # pending, approved, refused, cancelled, checked in, total
    assert by["Người mua"] == [0, 2, 1, 0, 1, 3]
    assert by["Nhà sản xuất"] == [1, 1, 0, 0, 0, 2]
    assert by["Tổng"] == [1, 3, 1, 0, 1, 5]


def test_registrations_by_group_counts_approved_ones(day):
    crafts = make_registration(day.forum, None, "producer", groups="handicraft, food,junk")
    assert crafts.status == "approved"
    by = rows(report.build_report(day.forum).table("groups"))
    assert by["Thực phẩm"] == [0, 2, 2]
    assert by["Thủ công mỹ nghệ"] == [0, 1, 1]
    assert by["Chưa rõ"] == [2, 0, 2]  # the buyers listed no group
    assert "Dược liệu và sản phẩm từ dược liệu" not in by  # only the pending producer


def test_held_agreement_and_value_rules(day):
    # m1: one side held, the other agreement with values 30M / 50M -> held, agreement, 50M
    add_outcome(day.m1, day.buyer, "held", 30_000_000)
    add_outcome(day.m1, day.producer, "agreement", 50_000_000)
    # m2: only no_show -> not held
    add_outcome(day.m2, day.buyer2, "no_show")
    result = report.build_report(day.forum)
    totals = result.totals
    assert (totals.scheduled, totals.held, totals.agreements, totals.deal_value_vnd) == (2, 1, 1, 50_000_000)
    by = rows(result.table("agreements"))
    assert by["Thực phẩm"] == [2, 1, 1, 50_000_000]
    assert by["Tổng"] == [2, 1, 1, 50_000_000]


def test_negotiating_counts_as_held(day):
    add_outcome(day.m2, day.producer, "negotiating")
    assert report.build_report(day.forum).totals.held == 1


def test_meeting_counts(day):
    make_meeting(day.forum, day.buyer2, day.buyer, status="declined")
    make_meeting(day.forum, day.producer, day.refused, status="requested")
    make_meeting(day.forum, day.pending, day.buyer, status="recommended", slot=day.slots[2], table_no=1)
    day.m2.status = "released"
    day.m2.slot_id = None
    day.m2.table_no = None
    db.session.flush()
    by = rows(report.build_report(day.forum).table("meetings"))
    assert by["Yêu cầu gặp"] == [5]  # m1, m2, m3, declined, requested
    assert by["Yêu cầu được chấp nhận"] == [3]  # m1, m3, released m2
    assert by["Yêu cầu bị từ chối"] == [1]
    assert by["Gợi ý được xếp lịch"] == [1]
    assert by["Đã xếp lịch"] == [2]  # m1 and the recommendation
    assert by["Giải phóng do vắng mặt"] == [1]


def test_meeting_group_falls_back_to_products(day):
    day.producer.groups = ""
    db.session.flush()
    assert report.meeting_group(day.m1) == "food"
    day.producer.products = []
    db.session.flush()
    assert report.meeting_group(day.m1) == ""


def test_csv_has_bom_and_raw_integers(day):
    add_outcome(day.m1, day.producer, "agreement", 1_250_000_000)
    data = report.table_csv(report.build_report(day.forum).table("agreements"))
    assert data.startswith("\ufeff".encode())
    parsed = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert parsed[0][0] == "Nhóm OCOP" and parsed[1] == ["Thực phẩm", "2", "1", "1", "1250000000"]


# --------------------------------------------------------------------------- pages


def test_report_page(client, day):
    add_outcome(day.m1, day.producer, "agreement", 1_250_000_000)
    db.session.commit()
    switch_user(client, day.organiser)
    page = client.get(f"/forums/{day.forum.id}/report")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "1.250.000.000 ₫" in html and "giá trị lớn hơn trong hai ước tính" in html
    for key in ("registrations", "groups", "meetings", "agreements"):
        assert f"/forums/{day.forum.id}/report/{key}.csv" in html


def test_report_csv_download(client, day):
    switch_user(client, day.organiser)
    response = client.get(f"/forums/{day.forum.id}/report/registrations.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
    assert response.data.startswith("\ufeff".encode())
    assert client.get(f"/forums/{day.forum.id}/report/junk.csv").status_code == 404


def test_report_access(client, day):
    url = f"/forums/{day.forum.id}/report"
    assert client.get(url).status_code == 302
    switch_user(client, day.buyer_user)
    assert client.get(url).status_code == 403
    assert client.get(url + "/agreements.csv").status_code == 403
    switch_user(client, day.organiser)
    assert client.get("/forums/999999/report").status_code == 404
