"""Nobody reads or acts on a conversation that is not theirs by changing ids: 404 on every route,
and nothing changes in the database. Parties lacking a right get 403; organisers see a thread
only while handling a report on it."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.inquiries import messaging, moderation, rfqs, services
from marketplace.inquiries.attachments import Upload
from tests.inquiries.conftest import quote_data, rfq_data
from tests.inquiries.test_views import PDF

TABLES = (
    "inquiries",
    "rfqs",
    "rfq_invitations",
    "quotes",
    "threads",
    "messages",
    "attachments",
    "message_reports",
    "notifications",
    "users",
)


def snapshot() -> dict[str, list[tuple]]:
    db.session.expire_all()
    with db.engine.connect() as conn:
        return {
            name: sorted(map(tuple, conn.execute(sa.select(db.metadata.tables[name])).all()), key=repr)
            for name in TABLES
        }


@pytest.fixture
def deal(world):
    inquiry = services.create_inquiry(
        world.buyer, world.producer_a, services.InquiryData(50, "hộp", message="Cho tôi báo giá")
    )
    message = messaging.post_message(world.seller_a, inquiry.thread, "Báo giá đính kèm", [Upload("bg.pdf", PDF)])
    rfq = rfqs.create_rfq(world.buyer, rfq_data())
    rfqs.invite_producer(world.buyer, rfq, world.producer_b)
    quote_a = rfqs.submit_quote(world.seller_a, rfq, world.producer_a, quote_data())
    quote_b = rfqs.submit_quote(world.seller_b, rfq, world.producer_b, quote_data())
    quote_message = messaging.post_message(world.buyer, quote_a.thread, "Giao được trước Tết không?")
    db.session.commit()
    return {
        "inquiry": inquiry,
        "message": message,
        "attachment": message.attachments[0],
        "rfq": rfq,
        "quote_a": quote_a,
        "quote_b": quote_b,
        "quote_message": quote_message,
    }


def routes(deal) -> list[tuple[str, str, dict]]:
    inquiry, rfq, quote_a = deal["inquiry"], deal["rfq"], deal["quote_a"]
    return [
        ("GET", f"/inquiries/{inquiry.id}", {}),
        ("POST", f"/inquiries/{inquiry.id}/close", {}),
        ("POST", f"/threads/{inquiry.thread.id}/messages", {"body": "Xen vào"}),
        ("POST", f"/threads/{quote_a.thread.id}/messages", {"body": "Xen vào"}),
        ("GET", f"/attachments/{deal['attachment'].id}", {}),
        ("POST", f"/messages/{deal['message'].id}/report", {"reason": "Spam spam"}),
        ("POST", f"/messages/{deal['quote_message'].id}/report", {"reason": "Spam spam"}),
        ("POST", f"/rfqs/{rfq.id}/cancel", {}),
        ("POST", f"/rfqs/{rfq.id}/invite", {"producer_id": deal["quote_b"].producer_id}),
        ("GET", f"/quotes/{quote_a.id}", {}),
        ("POST", f"/quotes/{quote_a.id}/accept", {}),
        ("POST", f"/quotes/{quote_a.id}/decline", {"note": "x"}),
        ("POST", f"/quotes/{quote_a.id}/withdraw", {}),
    ]


def _request(client, method, url, data):
    response = client.get(url) if method == "GET" else client.post(url, data=data)
    status = response.status_code
    response.close()
    return status


@pytest.mark.parametrize("who", ["other_buyer", "seller_c", "seller_b", "organiser"])
def test_outsiders_get_404_everywhere_and_change_nothing(client, world, deal, as_user, who):
    """seller_b quoted on the same RFQ but is no party to producer A's quote or the inquiry."""
    before = snapshot()
    as_user(getattr(world, who))
    for method, url, data in routes(deal):
        if who in ("seller_b", "organiser") and url.startswith("/rfqs/"):
            continue  # they may see the RFQ; the buyer-only actions are tested below
        assert _request(client, method, url, data) == 404, (who, method, url)
    assert snapshot() == before


def test_rfq_routes_for_outsiders(client, world, deal, as_user):
    rfq = deal["rfq"]
    before = snapshot()
    for user in (world.other_buyer, world.seller_c):
        as_user(user)
        for method, url, data in (
            ("GET", f"/rfqs/{rfq.id}", {}),
            (
                "POST",
                f"/rfqs/{rfq.id}/quotes",
                {
                    "producer_id": world.producer_c.id,
                    "unit_price_vnd": "1",
                    "lead_time_days": "1",
                    "valid_until": "2026-12-30",
                },
            ),
            ("POST", f"/rfqs/{rfq.id}/decline-invitation", {"producer_id": world.producer_c.id}),
        ):
            assert _request(client, method, url, data) == 404, (user.email, url)
    for user in (world.seller_a, world.seller_b, world.other_buyer, world.organiser):
        as_user(user)
        assert _request(client, "POST", f"/rfqs/{rfq.id}/cancel", {}) == 404
        assert _request(client, "POST", f"/rfqs/{rfq.id}/invite", {"producer_id": world.producer_c.id}) == 404
    assert snapshot() == before


def test_unknown_ids_are_404(client, world, deal, as_user):
    as_user(world.buyer)
    for url in ("/inquiries/999999", "/rfqs/999999", "/quotes/999999", "/attachments/999999"):
        assert client.get(url).status_code == 404
    for url in ("/threads/999999/messages", "/messages/999999/report", "/quotes/999999/accept", "/rfqs/999999/cancel"):
        assert client.post(url, data={"body": "x", "reason": "xyz"}).status_code == 404


def test_parties_see_their_pages(client, world, deal, as_user):
    as_user(world.buyer)
    for url in (
        f"/inquiries/{deal['inquiry'].id}",
        f"/rfqs/{deal['rfq'].id}",
        f"/quotes/{deal['quote_a'].id}",
        f"/quotes/{deal['quote_b'].id}",
    ):
        assert client.get(url).status_code == 200, url
    with client.get(f"/attachments/{deal['attachment'].id}") as response:
        assert response.status_code == 200
    as_user(world.seller_a)
    for url in (f"/inquiries/{deal['inquiry'].id}", f"/rfqs/{deal['rfq'].id}", f"/quotes/{deal['quote_a'].id}"):
        assert client.get(url).status_code == 200, url
    assert client.get(f"/quotes/{deal['quote_b'].id}").status_code == 404
    page = client.get(f"/rfqs/{deal['rfq'].id}").get_data(as_text=True)
    assert "So sánh báo giá" not in page and "HTX Chè Ba Vì" not in page  # competitors' quotes stay private


def test_parties_lacking_the_right_get_403(client, world, deal, as_user):
    before = snapshot()
    as_user(world.seller_a)
    assert client.post(f"/quotes/{deal['quote_a'].id}/accept").status_code == 403
    assert client.post(f"/quotes/{deal['quote_a'].id}/decline").status_code == 403
    as_user(world.buyer)
    assert client.post(f"/quotes/{deal['quote_a'].id}/withdraw").status_code == 403
    assert client.get("/moderation/reports").status_code == 403
    for url in (
        f"/moderation/messages/{deal['message'].id}/hide",
        f"/moderation/users/{world.seller_a.id}/suspend",
        f"/moderation/rfqs/{deal['rfq'].id}/hide",
        f"/moderation/rfqs/{deal['rfq'].id}/unhide",
    ):
        assert client.post(url, data={"reason": "Lý do thử"}).status_code == 403, url
    assert snapshot() == before


def test_organiser_reads_a_thread_only_with_a_report(client, world, deal, as_user):
    inquiry = deal["inquiry"]
    as_user(world.organiser)
    assert client.get(f"/inquiries/{inquiry.id}").status_code == 404
    moderation.report_message(world.buyer, deal["message"], "Nội dung lừa đảo")
    db.session.commit()
    assert client.get(f"/inquiries/{inquiry.id}").status_code == 200
    with client.get(f"/attachments/{deal['attachment'].id}") as response:
        assert response.status_code == 200
    # Reading is not taking part.
    assert client.post(f"/threads/{inquiry.thread.id}/messages", data={"body": "Chào"}).status_code == 404
    assert client.get(f"/quotes/{deal['quote_a'].id}").status_code == 404  # another thread


def test_message_upload_to_someone_elses_thread_is_refused(client, world, deal, as_user):
    as_user(world.other_buyer)
    response = client.post(
        f"/threads/{deal['inquiry'].thread.id}/messages",
        data={"body": "x", "attachments": [(io.BytesIO(PDF), "x.pdf")]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 404
