"""Producer services: directory, editing, photos, claims, invitations."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from marketplace.core.errors import NotAllowed, ServiceError
from marketplace.core.models import utcnow
from marketplace.extensions import db
from marketplace.mail.models import OutgoingMail
from marketplace.producers import claims, directory, invitations, services
from marketplace.producers.models import Producer, ProducerClaim, ProducerInvitation
from tests.helpers import image_bytes, make_producer, make_product, make_user


def _data(**changes) -> services.ProducerData:
    values = {"name": "HTX Gốm Bát Tràng Xanh", "kind": "cooperative", "district": "Gia Lâm", "commune": "Bát Tràng"}
    values.update(changes)
    return services.ProducerData(**values)


# --------------------------------------------------------------------------- directory


def test_directory_folds_diacritics_in_the_name_filter(app):
    make_producer(name="HTX Rau an toàn Vân Nội", district="Đông Anh")
    make_producer(name="Hộ kinh doanh Đông Anh Foods", district="Sóc Sơn")
    make_producer(name="HTX Gốm", district="Gia Lâm")
    filters = directory.normalise_filters("dong anh", None, None, None)
    page = directory.directory_page(filters, 1, 24)
    assert page.total == 2
    assert {row.producer.name for row in page.items} == {"HTX Rau an toàn Vân Nội", "Hộ kinh doanh Đông Anh Foods"}


def test_district_filter_accepts_a_name_without_diacritics(app):
    make_producer(name="A", district="Đông Anh")
    make_producer(name="B", district="Gia Lâm")
    filters = directory.normalise_filters(None, None, "dong anh", None)
    assert filters.district == "Đông Anh"
    assert [r.producer.name for r in directory.directory_page(filters, 1, 24).items] == ["A"]


def test_directory_kind_and_craft_village_filters(app):
    make_producer(name="A", kind="household", craft_village="Bát Tràng")
    make_producer(name="B", kind="cooperative", craft_village="Bát Tràng")
    make_producer(name="C", kind="household", craft_village="Vạn Phúc")
    filters = directory.normalise_filters("", "household", "", "Bát Tràng")
    assert [r.producer.name for r in directory.directory_page(filters, 1, 24).items] == ["A"]
    assert directory.normalise_filters("", "nonsense", "", "").kind == ""
    assert directory.craft_village_options() == ["Bát Tràng", "Vạn Phúc"]


def test_directory_counts_public_products_and_best_valid_stars(app):
    producer = make_producer(name="A")
    make_product(producer, stars=3)
    make_product(producer, stars=5, verified=False)  # unverified: counts 0
    make_product(producer, stars=4, status="draft")  # not public
    make_product(producer, stars=5, hidden=True)  # hidden by an organiser
    from datetime import date

    make_product(producer, stars=5, issued_on=date(2020, 1, 1))  # expired
    make_producer(name="B")
    rows = directory.directory_page(directory.DirectoryFilters(), 1, 24).items
    stats = {r.producer.name: (r.product_count, r.best_stars) for r in rows}
    assert stats == {"A": (3, 3), "B": (0, 0)}


def test_directory_paginates_with_and_without_text(app):
    for n in range(5):
        make_producer(name=f"HTX Đông {n}")
    first = directory.directory_page(directory.DirectoryFilters(), 1, 2)
    assert (first.total, first.pages, len(first.items)) == (5, 3, 2)
    last = directory.directory_page(directory.normalise_filters("dong", None, None, None), 9, 2)
    assert (last.page, len(last.items)) == (3, 1)
    assert last.items[0].producer.name == "HTX Đông 4"


# --------------------------------------------------------------------------- create / edit


def test_create_producer_makes_the_creator_a_manager(app):
    user = make_user(roles=("producer",))
    producer = services.create_producer(
        user, _data(district="gia lam", certifications=["Hữu cơ", "VietGAP", "Tự công bố"])
    )
    assert producer.is_managed_by(user)
    assert producer.district == "Gia Lâm"
    assert producer.certifications == "organic;vietgap;Tự công bố"


def test_create_producer_refuses_a_duplicate_name_in_the_same_district(app):
    make_producer(name="HTX Gốm Bát Tràng Xanh", district="Gia Lâm")
    user = make_user(roles=("producer",))
    with pytest.raises(ServiceError) as error:
        services.create_producer(user, _data(name="htx gốm  bát tràng xanh"))
    assert error.value.field == "name"
    assert "Đã có cơ sở" in error.value.message
    # Same name elsewhere is fine.
    assert services.create_producer(user, _data(district="Sóc Sơn")).district == "Sóc Sơn"


def test_a_buyer_cannot_create_a_producer(app):
    with pytest.raises(NotAllowed):
        services.create_producer(make_user(roles=("buyer",)), _data())


@pytest.mark.parametrize(
    "website",
    ["javascript:alert(1)", "JaVaScRiPt:alert(1)", "data:text/html,hi", "ftp://example.vn", "http://", "http:// x.vn"],
)
def test_website_must_be_http_or_https(app, website):
    user = make_user(roles=("producer",))
    with pytest.raises(ServiceError) as error:
        services.create_producer(user, _data(website=website))
    assert error.value.field == "website"


def test_website_without_scheme_gets_https(app):
    assert services.clean_website("htxbattrang.vn/gioi-thieu") == "https://htxbattrang.vn/gioi-thieu"
    assert services.clean_website("http://example.vn") == "http://example.vn"
    assert services.clean_website("") == ""


@pytest.mark.parametrize(
    ("lat", "lng", "field"),
    [
        (91, 105.8, "lat"),
        (21, 181, "lng"),
        (-90.5, 0, "lat"),
        (21.0, None, "lng"),
        (None, 105.0, "lat"),
        (float("nan"), 1, "lat"),
    ],
)
def test_coordinates_are_validated(app, lat, lng, field):
    user = make_user(roles=("producer",))
    with pytest.raises(ServiceError) as error:
        services.create_producer(user, _data(lat=lat, lng=lng))
    assert error.value.field == field


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": "  "}, "name"),
        ({"kind": "company"}, "kind"),
        ({"district": "Paris"}, "district"),
        ({"email": "not-an-email"}, "email"),
        ({"phone": "call me<script>"}, "phone"),
    ],
)
def test_bad_fields_are_refused(app, changes, field):
    with pytest.raises(ServiceError) as error:
        services.create_producer(make_user(roles=("producer",)), _data(**changes))
    assert error.value.field == field


def test_update_requires_a_manager(app):
    owner = make_user(roles=("producer",))
    producer = make_producer(managers=[owner], name="Cũ")
    with pytest.raises(NotAllowed):
        services.update_producer(make_user(roles=("producer",)), producer, _data(name="Mới"))
    services.update_producer(owner, producer, _data(name="Mới", story="Dòng 1\r\nDòng 2"))
    assert producer.name == "Mới"
    assert producer.story == "Dòng 1\nDòng 2"


# --------------------------------------------------------------------------- photos


def test_add_photos_keeps_good_files_and_names_bad_ones(app):
    owner = make_user(roles=("producer",))
    producer = make_producer(managers=[owner])
    result = services.add_photos(
        owner,
        producer,
        [services.Upload("xuong.jpg", image_bytes()), services.Upload("trang.jpg", b"<html>not an image</html>")],
    )
    assert len(result.added) == 1
    assert len(result.errors) == 1 and result.errors[0].startswith("trang.jpg:")
    assert len(producer.photos) == 1


def test_at_most_eight_photos(app):
    owner = make_user(roles=("producer",))
    producer = make_producer(managers=[owner])
    result = services.add_photos(owner, producer, [services.Upload(f"{n}.png", image_bytes("PNG")) for n in range(10)])
    assert len(result.added) == 8
    assert len(result.errors) == 2
    assert len(producer.photos) == 8


def test_delete_photo_only_of_this_producer(app):
    owner = make_user(roles=("producer",))
    mine = make_producer(managers=[owner])
    other_owner = make_user(roles=("producer",))
    theirs = make_producer(managers=[other_owner])
    their_photo = services.add_photos(other_owner, theirs, [services.Upload("a.jpg", image_bytes())]).added[0]
    with pytest.raises(ServiceError):
        services.delete_photo(owner, mine, their_photo.id)
    with pytest.raises(NotAllowed):
        services.delete_photo(owner, theirs, their_photo.id)
    assert len(theirs.photos) == 1


# --------------------------------------------------------------------------- claims


def test_claim_flow_approve(app):
    producer = make_producer(name="HTX Lụa Vạn Phúc", district="Hà Đông")
    make_product(producer)
    number = producer.products[0].certificate.number
    user = make_user(roles=("producer",))
    claim = claims.create_claim(user, producer, f"  {number.lower()} ", "Tôi là giám đốc HTX")
    assert claims.evidence_matches(claim)
    with pytest.raises(ServiceError):
        claims.create_claim(user, producer, number)  # one pending claim per user and producer
    organiser = make_user(roles=("organiser",))
    page = claims.pending_claims(1, 30)
    assert page.total == 1 and page.items[0].evidence_matches
    claims.approve_claim(organiser, claim)
    assert claim.status == "approved"
    assert claim.decided_by_id == organiser.id and claim.decided_at is not None
    assert producer.is_managed_by(user)
    mail = db.session.scalars(sa.select(OutgoingMail)).all()
    assert [m.to for m in mail] == [user.email]
    with pytest.raises(ServiceError):
        claims.approve_claim(organiser, claim)
    # Managed now: new claims are refused.
    with pytest.raises(ServiceError):
        claims.create_claim(make_user(roles=("producer",)), producer, number)


def test_claim_evidence_that_does_not_match(app):
    producer = make_producer()
    make_product(producer)
    claim = claims.create_claim(make_user(roles=("producer",)), producer, "000/SAI")
    assert not claims.evidence_matches(claim)
    assert not claims.pending_claims(1, 30).items[0].evidence_matches


def test_claim_reject_needs_a_reason_and_notifies(app):
    producer = make_producer()
    user = make_user(roles=("producer",))
    claim = claims.create_claim(user, producer, "12/QĐ")
    organiser = make_user(roles=("organiser",))
    with pytest.raises(ServiceError) as error:
        claims.reject_claim(organiser, claim, "   ")
    assert error.value.field == "reason"
    claims.reject_claim(organiser, claim, "Số chứng nhận không khớp hồ sơ.")
    assert (claim.status, claim.reason, claim.decided_by_id) == (
        "rejected",
        "Số chứng nhận không khớp hồ sơ.",
        organiser.id,
    )
    assert not producer.managers
    assert "không khớp" in db.session.scalars(sa.select(OutgoingMail)).one().body
    # After a rejection the user may try again.
    claims.create_claim(user, producer, "12/QĐ-UBND")


def test_only_staff_decide_claims(app):
    claim = claims.create_claim(make_user(roles=("producer",)), make_producer(), "1")
    with pytest.raises(NotAllowed):
        claims.approve_claim(make_user(roles=("producer",)), claim)
    with pytest.raises(NotAllowed):
        claims.reject_claim(make_user(roles=("buyer",)), claim, "no")
    assert claim.status == "pending"


def test_approve_refused_when_someone_already_manages(app):
    producer = make_producer()
    claim = claims.create_claim(make_user(roles=("producer",)), producer, "1")
    producer.managers.append(make_user(roles=("producer",)))
    with pytest.raises(ServiceError):
        claims.approve_claim(make_user(roles=("admin",)), claim)
    assert claim.status == "pending"


def test_only_producers_claim(app):
    with pytest.raises(NotAllowed):
        claims.create_claim(make_user(roles=("buyer",)), make_producer(), "1")


# --------------------------------------------------------------------------- invitations


def test_invitation_stores_only_a_hash_and_is_single_use(app):
    producer = make_producer()
    organiser = make_user(roles=("organiser",))
    invitation, link = invitations.create_invitation(
        organiser, producer, " Chu.Co.So@Example.VN ", lambda t: f"/invitations/{t}"
    )
    token = link.rsplit("/", 1)[1]
    assert len(token) >= 40
    assert invitation.email == "chu.co.so@example.vn"
    assert invitation.token_hash == invitations.hash_token(token) != token
    assert token in db.session.scalars(sa.select(OutgoingMail)).one().body
    max_age = app.config["INVITATION_MAX_AGE"]
    assert abs((invitation.expires_at - utcnow()).total_seconds() - max_age) < 60

    buyer = make_user(roles=("buyer",), email="chu.co.so@example.vn")
    invitations.accept_invitation(buyer, token)
    assert producer.is_managed_by(buyer)
    assert buyer.has_role("producer") and buyer.has_role("buyer")
    assert invitation.used_by_id == buyer.id and invitation.used_at is not None
    with pytest.raises(invitations.InvitationInvalid) as error:
        invitations.accept_invitation(make_user(), token)
    assert (error.value.reason, error.value.status) == ("used", 410)


def test_only_the_invited_address_may_accept(app):
    producer = make_producer()
    _inv, link = invitations.create_invitation(
        make_user(roles=("organiser",)), producer, "Chu@Example.vn", lambda t: f"/invitations/{t}"
    )
    token = link.rsplit("/", 1)[1]
    stranger = make_user(roles=("buyer",), email="nguoi-la@example.vn")
    with pytest.raises(invitations.InvitationInvalid) as error:
        invitations.accept_invitation(stranger, token)
    assert (error.value.reason, error.value.status) == ("other_account", 403)
    assert "c•••@example.vn" in error.value.message and "chu@" not in error.value.message
    assert not producer.is_managed_by(stranger) and not stranger.has_role("producer")
    assert db.session.scalars(sa.select(ProducerInvitation)).one().used_at is None
    invitee = make_user(roles=("buyer",), email="chu@example.vn")  # the same address, any case
    invitations.accept_invitation(invitee, token)
    assert producer.is_managed_by(invitee)


def test_invitation_expired_and_unknown(app):
    producer = make_producer()
    _inv, link = invitations.create_invitation(make_user(roles=("admin",)), producer, "a@example.vn", lambda t: t)
    invitation = db.session.scalars(sa.select(ProducerInvitation)).one()
    invitation.expires_at = utcnow() - timedelta(seconds=1)
    db.session.flush()
    with pytest.raises(invitations.InvitationInvalid) as error:
        invitations.accept_invitation(make_user(), link)
    assert error.value.status == 410 and error.value.reason == "expired"
    with pytest.raises(invitations.InvitationInvalid) as error:
        invitations.find_invitation("nope")
    assert error.value.status == 404
    assert not producer.managers


def test_only_staff_invite(app):
    with pytest.raises(NotAllowed):
        invitations.create_invitation(make_user(roles=("producer",)), make_producer(), "a@example.vn", lambda t: t)
    with pytest.raises(ServiceError):
        invitations.create_invitation(make_user(roles=("organiser",)), make_producer(), "not-an-email", lambda t: t)
    assert db.session.scalar(sa.select(sa.func.count(ProducerInvitation.id))) == 0


def test_dashboard_lists_all_statuses_and_claims(app):
    owner = make_user(roles=("producer",))
    producer = make_producer(managers=[owner])
    for status in ("draft", "published", "archived"):
        make_product(producer, status=status)
    make_product(producer, hidden=True)
    make_product(make_producer())  # someone else's
    claim = claims.create_claim(owner, make_producer(), "1")
    board = services.dashboard_for(owner)
    assert [p.id for p in board.producers] == [producer.id]
    assert len(board.products[producer.id]) == 4
    assert board.claims == [claim]
    assert db.session.get(Producer, producer.id) is producer
    assert db.session.scalar(sa.select(sa.func.count(ProducerClaim.id))) == 1
