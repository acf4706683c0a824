"""Bank account services: validation, one account per producer, change records, VietQR for payments."""

from __future__ import annotations

import dataclasses
import unicodedata
from datetime import UTC

import pytest
import sqlalchemy as sa

from marketplace.banking import services, vietqr
from marketplace.banking.models import BankAccountChange, ProducerBankAccount
from marketplace.banking.services import BankAccountData
from marketplace.core.errors import NotAllowed, ServiceError
from marketplace.extensions import db
from marketplace.mail.models import OutgoingMail
from tests.helpers import make_producer, make_user

GOOD = BankAccountData(bank_bin="970436", account_number="0011001234567", holder_name="HTX Mây tre đan Phú Vinh")


@pytest.fixture
def owner(app):
    return make_user(roles=("producer",), email="owner@example.vn")


@pytest.fixture
def producer(owner):
    co_manager = make_user(roles=("producer",), email="co@example.vn")
    return make_producer(managers=[owner, co_manager], name="HTX Phú Vinh")


def changes(producer_id: int) -> list[BankAccountChange]:
    return list(
        db.session.scalars(
            sa.select(BankAccountChange)
            .where(BankAccountChange.producer_id == producer_id)
            .order_by(BankAccountChange.id)
        )
    )


def mails() -> list[OutgoingMail]:
    return list(db.session.scalars(sa.select(OutgoingMail).order_by(OutgoingMail.id)))


# --------------------------------------------------------------------------- saving


def test_manager_adds_an_account(owner, producer):
    account = services.save_account(owner, producer, GOOD)
    assert account.id is not None
    assert (account.bank_bin, account.account_number) == ("970436", "0011001234567")
    assert account.holder_name == "HTX Mây tre đan Phú Vinh"
    assert account.holder_name_ascii == "HTX MAY TRE DAN PHU VINH"
    assert account.created_by_id == owner.id and account.updated_by_id == owner.id
    assert account.created_at.tzinfo is not None and account.created_at.utcoffset() == UTC.utcoffset(None)
    assert services.account_for_producer(producer.id) is account


def test_holder_name_is_nfc_and_whitespace_collapsed():
    decomposed = unicodedata.normalize("NFD", "  Nguyễn   Thị  Hoà ")
    values = services.clean_bank_account_data(dataclasses.replace(GOOD, holder_name=decomposed))
    assert values["holder_name"] == unicodedata.normalize("NFC", "Nguyễn Thị Hoà")
    assert values["holder_name_ascii"] == "NGUYEN THI HOA"


def test_account_number_separators_are_dropped():
    values = services.clean_bank_account_data(dataclasses.replace(GOOD, account_number=" 0011 0012-3456.7 "))
    assert values["account_number"] == "0011001234567"


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (dataclasses.replace(GOOD, bank_bin=""), "bank_bin", "Vui lòng chọn ngân hàng."),
        (dataclasses.replace(GOOD, bank_bin="970499"), "bank_bin", "Ngân hàng không có trong danh sách hỗ trợ VietQR."),
        (dataclasses.replace(GOOD, bank_bin="abc"), "bank_bin", "Ngân hàng không có trong danh sách hỗ trợ VietQR."),
        (dataclasses.replace(GOOD, account_number=""), "account_number", "Vui lòng nhập số tài khoản."),
        (
            dataclasses.replace(GOOD, account_number="0011A234567"),
            "account_number",
            "Số tài khoản chỉ gồm chữ số (0–9).",
        ),
        (
            dataclasses.replace(GOOD, account_number="１２３４５６７"),
            "account_number",
            "Số tài khoản chỉ gồm chữ số (0–9).",
        ),
        (
            dataclasses.replace(GOOD, account_number="12345"),
            "account_number",
            "Số tài khoản phải có từ 6 đến 19 chữ số.",
        ),
        (
            dataclasses.replace(GOOD, account_number="1" * 20),
            "account_number",
            "Số tài khoản phải có từ 6 đến 19 chữ số.",
        ),
        (dataclasses.replace(GOOD, holder_name="   "), "holder_name", "Vui lòng nhập tên chủ tài khoản."),
        (dataclasses.replace(GOOD, holder_name="A" * 101), "holder_name", "Tối đa 100 ký tự."),
        (dataclasses.replace(GOOD, holder_name="张伟"), "holder_name", "Tên chủ tài khoản chỉ gồm"),
        (dataclasses.replace(GOOD, holder_name="Shop <b>"), "holder_name", "Tên chủ tài khoản chỉ gồm"),
        (dataclasses.replace(GOOD, holder_name="123 456"), "holder_name", "Tên chủ tài khoản chỉ gồm"),
    ],
)
def test_bad_input_is_refused_with_a_vietnamese_message(owner, producer, data, field, message):
    with pytest.raises(ServiceError) as info:
        services.save_account(owner, producer, data)
    assert info.value.field == field
    assert info.value.message.startswith(message)
    assert services.account_for_producer(producer.id) is None
    assert changes(producer.id) == []


def test_company_names_with_punctuation_are_accepted():
    values = services.clean_bank_account_data(
        dataclasses.replace(GOOD, holder_name="Công ty TNHH Gốm Bát Tràng (Chi nhánh 2) & Co., Ltd.")
    )
    assert values["holder_name_ascii"] == "CONG TY TNHH GOM BAT TRANG (CHI NHANH 2) & CO., LTD."


@pytest.mark.parametrize("who", ["buyer", "other_manager", "organiser"])
def test_only_the_producers_managers_may_change_it(producer, who):
    user = {
        "buyer": lambda: make_user(roles=("buyer",)),
        "other_manager": lambda: make_producer(managers=[make_user(roles=("producer",))]).managers[0],
        "organiser": lambda: make_user(roles=("organiser",)),
    }[who]()
    with pytest.raises(NotAllowed):
        services.save_account(user, producer, GOOD)
    assert services.account_for_producer(producer.id) is None


def test_one_account_per_producer_in_the_database(owner, producer):
    services.save_account(owner, producer, GOOD)
    db.session.add(
        ProducerBankAccount(
            producer_id=producer.id,
            bank_bin="970415",
            account_number="123456",
            holder_name="X",
            holder_name_ascii="X",
        )
    )
    with pytest.raises(sa.exc.IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_saving_again_replaces_the_details_and_records_before_and_after(owner, producer):
    first = services.save_account(owner, producer, GOOD)
    other = producer.managers[1]
    second = services.save_account(
        other, producer, BankAccountData(bank_bin="970415", account_number="101010101010", holder_name="Lê Văn Đạt")
    )
    assert second.id == first.id
    assert (second.bank_bin, second.account_number, second.holder_name_ascii) == (
        "970415",
        "101010101010",
        "LE VAN DAT",
    )
    assert second.created_by_id == owner.id and second.updated_by_id == other.id
    created, updated = changes(producer.id)
    assert (created.action, created.actor_id, created.actor_email) == ("created", owner.id, "owner@example.vn")
    assert (created.old_account_number, created.new_account_number) == ("", "0011001234567")
    assert (updated.action, updated.actor_email) == ("updated", "co@example.vn")
    assert (updated.old_bank_bin, updated.old_account_number, updated.old_holder_name) == (
        "970436",
        "0011001234567",
        "HTX Mây tre đan Phú Vinh",
    )
    assert (updated.new_bank_bin, updated.new_account_number, updated.new_holder_name) == (
        "970415",
        "101010101010",
        "Lê Văn Đạt",
    )
    assert [c.id for c in services.history(producer.id)] == [updated.id, created.id]


def test_saving_the_same_details_records_nothing(owner, producer):
    services.save_account(owner, producer, GOOD)
    sent = len(mails())
    services.save_account(owner, producer, dataclasses.replace(GOOD, account_number="0011 0012 34567"))
    assert len(changes(producer.id)) == 1
    assert len(mails()) == sent


def test_every_manager_is_emailed_without_the_full_number(owner, producer):
    services.save_account(owner, producer, GOOD)
    sent = mails()
    assert sorted(m.to for m in sent) == ["co@example.vn", "owner@example.vn"]
    for mail in sent:
        assert "HTX Phú Vinh" in mail.subject
        assert "owner@example.vn" in mail.body
        assert "•••• 4567" in mail.body and "0011001234567" not in mail.body
        assert "Vietcombank" in mail.body


def test_removal_deletes_the_account_keeps_the_history_and_tells_managers(owner, producer):
    services.save_account(owner, producer, GOOD)
    services.remove_account(owner, producer)
    assert services.account_for_producer(producer.id) is None
    created, removed = changes(producer.id)
    assert removed.action == "removed"
    assert (removed.old_account_number, removed.new_account_number) == ("0011001234567", "")
    assert len(mails()) == 4
    assert "đã bị xoá" in mails()[-1].body
    # a new account can be added after removal
    services.save_account(owner, producer, GOOD)
    assert services.account_for_producer(producer.id) is not None


def test_removing_a_missing_account_is_not_found(owner, producer):
    with pytest.raises(ServiceError) as info:
        services.remove_account(owner, producer)
    assert info.value.code == "not_found"


def test_only_managers_may_remove(owner, producer):
    services.save_account(owner, producer, GOOD)
    with pytest.raises(NotAllowed):
        services.remove_account(make_user(roles=("organiser",)), producer)
    assert services.account_for_producer(producer.id) is not None


# --------------------------------------------------------------------------- for the payments helper


def test_no_account_means_no_code(producer):
    assert services.account_for_producer(producer.id) is None
    assert services.vietqr_for(producer.id, 500_000, "OCOP DH1") is None
    assert services.static_vietqr_for(producer.id) is None


def test_vietqr_for_gives_a_parseable_code_and_its_caption(owner, producer):
    services.save_account(owner, producer, GOOD)
    qr = services.vietqr_for(producer.id, 1_500_000, "Đơn hàng 42")
    assert qr is not None
    assert dataclasses.is_dataclass(qr)
    with pytest.raises(dataclasses.FrozenInstanceError):
        qr.amount_vnd = 1  # type: ignore[misc]
    assert (qr.bank_short_name, qr.bin, qr.account_number) == ("Vietcombank", "970436", "0011001234567")
    assert qr.bank_name == "Ngân hàng TMCP Ngoại thương Việt Nam"
    assert qr.holder == "HTX MAY TRE DAN PHU VINH"
    assert (qr.amount_vnd, qr.reference) == (1_500_000, "Don hang 42")
    fields = vietqr.parse_payload(qr.payload)
    assert fields["38"]["01"] == {"00": "970436", "01": "0011001234567"}
    assert fields["54"] == "1500000"
    assert fields["62"] == {"08": "Don hang 42"}


def test_static_code_has_no_amount(owner, producer):
    services.save_account(owner, producer, GOOD)
    qr = services.static_vietqr_for(producer.id)
    assert qr.amount_vnd is None and qr.reference == ""
    assert "54" not in vietqr.parse_payload(qr.payload)


@pytest.mark.parametrize(
    ("amount", "reference", "field"), [(0, "x", "amount"), (10**13, "x", "amount"), (1, "x" * 26, "reference")]
)
def test_vietqr_for_refuses_bad_amounts_and_references(owner, producer, amount, reference, field):
    services.save_account(owner, producer, GOOD)
    with pytest.raises(vietqr.VietQRError) as info:
        services.vietqr_for(producer.id, amount, reference)
    assert info.value.field == field


def test_history_survives_the_users_deletion(owner, producer):
    services.save_account(owner, producer, GOOD)
    db.session.commit()
    user_id = owner.id
    db.session.execute(sa.delete(db.metadata.tables["producer_managers"]).where(sa.column("user_id") == user_id))
    db.session.execute(sa.delete(db.metadata.tables["users"]).where(sa.column("id") == user_id))
    db.session.commit()
    db.session.expire_all()
    (change,) = changes(producer.id)
    assert change.actor_id is None and change.actor_email == "owner@example.vn"
