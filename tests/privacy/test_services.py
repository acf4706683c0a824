import json

import pytest
import sqlalchemy as sa

from marketplace.accounts import services as accounts
from marketplace.accounts.models import User
from marketplace.banking.models import BankAccountChange
from marketplace.core.errors import ServiceError
from marketplace.dashboard.models import AuditLog
from marketplace.extensions import db
from marketplace.forums.models import Meeting, MeetingOutcome, Registration
from marketplace.inquiries.models import (
    BuyerProfile,
    Inquiry,
    Message,
    Notification,
    NotificationSetting,
    Quote,
    Rfq,
    ThreadRead,
)
from marketplace.mail.models import OutgoingMail
from marketplace.payments.models import Order
from marketplace.privacy import services
from marketplace.producers.models import producer_managers
from marketplace.sales_points.models import SalesPoint
from marketplace.traceability.models import BatchRevision
from tests.helpers import PASSWORD, make_user
from tests.privacy.conftest import PERSON_EMAIL, PERSON_NAME, PERSON_ORG, PERSON_PHONE


def _delete(user, password=PASSWORD, confirmation="XOÁ TÀI KHOẢN"):
    return services.delete_account(user, services.DeletionData(password=password, confirmation=confirmation))


# --- every reference to a user is covered ----------------------------------------------------------


def test_every_user_reference_is_exported_or_excluded_with_a_reason(app):
    references = services.user_references()
    assert "payment_orders.buyer_id" in references  # the enumeration finds real columns
    missing = [ref for ref in references if ref not in services.EXPORTED and ref not in services.NOT_EXPORTED]
    assert not missing, f"add these to privacy.services.EXPORTED or NOT_EXPORTED (with a reason): {missing}"
    both = set(services.EXPORTED) & set(services.NOT_EXPORTED)
    assert not both
    stale = (set(services.EXPORTED) | set(services.NOT_EXPORTED)) - set(references)
    assert not stale, f"listed but no longer in the schema: {stale}"
    assert all(reason.strip() for reason in services.NOT_EXPORTED.values())


def test_every_exported_section_is_in_the_export_and_has_the_persons_rows(world):
    data = services.export_user_data(world.person)
    for section in set(services.EXPORTED.values()):
        assert section in data, section
        assert data[section], f"the test world has rows for {section}, the export shows none"


# --- export ------------------------------------------------------------------------------------------


def test_export_holds_the_account_without_secrets(world):
    data = services.export_user_data(world.person)
    text = json.dumps(data, ensure_ascii=False)  # plain JSON types only
    account = data["account"]
    assert account["email"] == PERSON_EMAIL and account["name"] == PERSON_NAME
    assert account["phone"] == PERSON_PHONE and account["organisation"] == PERSON_ORG
    assert account["roles"] == ["buyer", "producer"]
    assert account["privacy_consent_at"]
    assert "password_hash" not in account and "session_token" not in account
    assert world.person.password_hash not in text
    assert world.person.session_token not in text
    assert "pi_secret_abc" not in text  # Stripe client secrets stay out
    assert "SECRET" not in text  # mail bodies (sign-in links) stay out


def test_export_holds_trade_records_and_forum_meetings(world):
    data = services.export_user_data(world.person)
    [order] = data["orders"]
    assert order["reference"] == "OCOP-TEST-1" and order["amount_vnd"] == 16_500_000 and order["state"] == "paid"
    assert order["payment_attempts"] == [
        {"attempt_no": 1, "status": "succeeded", "created_at": order["payment_attempts"][0]["created_at"]}
    ]
    assert [i["message"] for i in data["inquiries"]] == ["Cho tôi giá sỉ"]
    assert [r["title"] for r in data["rfqs"]] == ["Chè hộp quà Tết"]
    assert [q["unit_price_vnd"] for q in data["quotes"]] == [90_000]
    assert [m["body"] for m in data["messages"]] == ["Gọi tôi số 0912 888 777"]  # only what the person wrote
    [registration] = data["forum_registrations"]
    [meeting] = registration["meetings"]
    assert meeting["with"] == "HTX Chè Tân Cương" and meeting["table_no"] == 3
    assert meeting["my_outcome"]["deal_value_vnd"] == 50_000_000
    assert [p["name"] for p in data["producers_managed"]] == ["HTX Hạnh Phúc"]
    assert data["audit_log"][0]["action"] == "user.suspend" and not data["audit_log"][0]["by_me"]
    assert data["sales_points"][0]["name"] == "Điểm bán OCOP Hạnh Phúc"
    assert data["emails_sent_to_me"][0]["subject"] == "Xác minh địa chỉ email"


def test_export_of_another_user_holds_nothing_of_the_person(world):
    data = services.export_user_data(world.partner)
    text = json.dumps(data, ensure_ascii=False)
    assert PERSON_PHONE not in text and PERSON_EMAIL not in text
    assert data["orders"] == [] and data["inquiries"] == []


# --- deletion ----------------------------------------------------------------------------------------


def test_delete_erases_the_person(world):
    person = world.person
    old_token = person.session_token
    _delete(person)
    db.session.commit()
    db.session.expire_all()
    user = db.session.get(User, person.id)
    assert user.deleted_at is not None and user.suspended and not user.is_active
    assert user.email.endswith("@deleted.invalid") and PERSON_EMAIL not in user.email
    assert user.name == services.DELETED_NAME and user.phone == "" and user.organisation == ""
    assert user.roles == set() and user.email_verified_at is None
    assert user.session_token != old_token
    assert user.password_hash.startswith("!deleted:")
    # Nothing left that names or reaches the person.
    assert db.session.scalar(sa.select(BuyerProfile).where(BuyerProfile.user_id == user.id)) is None
    assert db.session.scalar(sa.select(Notification).where(Notification.user_id == user.id)) is None
    assert db.session.get(NotificationSetting, user.id) is None
    assert db.session.scalar(sa.select(ThreadRead).where(ThreadRead.user_id == user.id)) is None
    assert db.session.scalar(sa.select(OutgoingMail).where(OutgoingMail.to == PERSON_EMAIL)) is None
    assert not db.session.execute(sa.select(producer_managers).where(producer_managers.c.user_id == user.id)).all()
    assert db.session.get(SalesPoint, world.sales_point.id).owner_id is None
    registration = db.session.get(Registration, world.registration.id)
    assert (registration.contact_name, registration.phone, registration.email, registration.organisation) == (
        services.DELETED_NAME,
        "",
        "",
        "",
    )
    assert db.session.get(BatchRevision, world.revision.id).user_name == services.DELETED_NAME
    about = db.session.scalars(sa.select(AuditLog).where(AuditLog.object_type == "user", AuditLog.object_id == user.id))
    assert all(PERSON_EMAIL not in entry.object_label for entry in about)
    # Nothing in the users row or the copies we erase still holds the person's details.
    row = {c.key: getattr(user, c.key) for c in User.__mapper__.column_attrs}
    assert not any(
        isinstance(v, str) and (PERSON_NAME in v or PERSON_PHONE in v or PERSON_EMAIL in v or PERSON_ORG in v)
        for v in row.values()
    )


def test_delete_keeps_trade_records_pointing_at_the_anonymised_user(world):
    person_id = world.person.id
    _delete(world.person)
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Order, world.order.id).buyer_id == person_id
    assert db.session.get(Order, world.order.id).amount_vnd == 16_500_000
    assert db.session.get(Inquiry, world.inquiry.id).buyer_id == person_id
    assert db.session.get(Rfq, world.rfq.id).buyer_id == person_id
    assert db.session.get(Quote, world.quote_by_person.id).author_id == person_id
    assert db.session.get(Meeting, world.meeting.id).status == "accepted"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(MeetingOutcome)) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Message).where(Message.author_id == person_id)) == 1
    # The bank account change log keeps who changed a producer's account (fraud tracing; docs/privacy.md).
    assert db.session.get(BankAccountChange, world.bank_change.id).actor_email == PERSON_EMAIL
    entry = db.session.scalar(sa.select(AuditLog).where(AuditLog.action == "user.delete"))
    assert entry.object_id == person_id and entry.actor_id == person_id


def test_deleted_user_cannot_log_in_reset_or_keep_a_session(world, app):
    person = world.person
    cookie_id = person.get_id()
    _delete(person)
    db.session.commit()
    with pytest.raises(ServiceError):
        accounts.authenticate(PERSON_EMAIL, PASSWORD)
    with pytest.raises(ServiceError):
        accounts.authenticate(person.email, PASSWORD)
    from marketplace import load_user

    assert load_user(cookie_id) is None
    assert load_user(person.get_id()) is None  # even the new token: the account is inactive
    with app.test_request_context():
        accounts.request_password_reset(PERSON_EMAIL)
    assert db.session.scalar(sa.select(OutgoingMail).where(OutgoingMail.to == PERSON_EMAIL)) is None


@pytest.mark.parametrize(
    ("password", "confirmation", "field"),
    [
        ("sai-mat-khau-123", "XOÁ TÀI KHOẢN", "password"),
        (PASSWORD, "xoá", "confirmation"),
        (PASSWORD, "", "confirmation"),
    ],
)
def test_delete_refuses_wrong_password_or_confirmation_and_changes_nothing(world, password, confirmation, field):
    with pytest.raises(ServiceError) as error:
        _delete(world.person, password=password, confirmation=confirmation)
    assert error.value.field == field
    db.session.rollback()
    db.session.expire_all()
    user = db.session.get(User, world.person.id)
    assert user.email == PERSON_EMAIL and user.deleted_at is None and not user.suspended


@pytest.mark.parametrize("typed", ["xoá tài khoản", "XÓA TÀI KHOẢN", "  Xoá   tài khoản "])
def test_confirmation_accepts_case_spacing_and_either_tone_placement(typed):
    assert services.confirmation_matches(typed)


def test_last_admin_cannot_delete_their_account(world):
    with pytest.raises(ServiceError) as error:
        _delete(world.admin)
    assert error.value.code == "last_admin"
    assert "quản trị viên cuối cùng" in error.value.message
    db.session.rollback()
    assert db.session.get(User, world.admin.id).deleted_at is None


def test_an_admin_can_delete_when_another_active_admin_remains(world):
    make_user(roles=("admin",), email="admin2@example.vn")
    suspended = make_user(roles=("admin",), email="admin3@example.vn", suspended=True)
    assert suspended.suspended
    _delete(world.admin)
    assert world.admin.deleted_at is not None
    # Now the second admin is the last active one.
    second = db.session.scalar(sa.select(User).where(User.email == "admin2@example.vn"))
    with pytest.raises(ServiceError):
        services.check_can_delete(second)


def test_a_deleted_account_cannot_be_deleted_twice(world):
    _delete(world.person)
    with pytest.raises(ServiceError) as error:
        services.check_can_delete(world.person)
    assert error.value.code == "deleted"


def test_registration_requires_consent_and_records_when(app):
    data = accounts.RegistrationData(name="Lê Văn Bình", email="binh@example.vn", password="mật-khẩu-dài-đủ")
    with app.test_request_context(), pytest.raises(ServiceError) as error:
        accounts.register_user(data)
    assert error.value.field == "privacy_consent"
    assert "đồng ý" in error.value.message
    assert db.session.query(User).count() == 0
    data.privacy_consent = True
    with app.test_request_context():
        user = accounts.register_user(data)
    assert user.privacy_consent_at is not None and user.privacy_consent_at.tzinfo is not None
