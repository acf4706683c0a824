"""Producers' bank accounts and the VietQR codes that pay them.

Services validate, change objects and flush; the views commit. Every message is Vietnamese.

For other features (payments) — call these, never the views:

``account_for_producer(producer_id: int) -> ProducerBankAccount | None``
    The producer's current account, or None when it has none (then offer no bank transfer).

``vietqr_for(producer_id: int, amount_vnd: int, reference: str) -> VietQR | None``
    A dynamic VietQR for paying `amount_vnd` (integer VND, > 0, at most 13 digits) to the
    producer's account with the transfer content `reference` (Vietnamese marks are folded to
    ASCII, case kept; at most 25 characters after folding — e.g. "OCOP DH000123"). None when the
    producer has no account. A bad amount or reference raises ``vietqr.VietQRError`` (a
    ValueError with ``.field``): amounts and references come from the server, so this is a bug.
    ``VietQR.reference`` is the exact text inside the code: show it as the transfer content and
    match incoming transfers against it. The account can change later; store what you showed
    (bin, account number, holder, reference) on the order if you need it afterwards.

``vietqr.render_svg(qr.payload) -> bytes`` / ``vietqr.render_png(qr.payload) -> bytes``
    The image, to serve from the order's own (access-checked) route as image/svg+xml or image/png.

Template partial ``banking/_vietqr.html``: ``{% with qr=qr, svg_url=url %}{% include
"banking/_vietqr.html" %}{% endwith %}`` shows the image, bank, account, holder, amount and the
transfer content.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _

from marketplace.accounts.models import User
from marketplace.banking import vietqr
from marketplace.banking.models import BankAccountChange, ProducerBankAccount
from marketplace.core.dates import to_local
from marketplace.core.errors import ServiceError
from marketplace.core.models import utcnow
from marketplace.core.vn_text import clean_line, fold
from marketplace.extensions import db
from marketplace.mail.services import queue_mail
from marketplace.producers.models import Producer
from marketplace.producers.services import ensure_manager

HOLDER_MAX_LENGTH = 100
HISTORY_LIMIT = 50
_ACCOUNT_SEPARATORS = re.compile(r"[\s.\-]+")
_HOLDER_ASCII = re.compile(r"[A-Z0-9 .,&()'/-]+")


@dataclass(frozen=True)
class BankAccountData:
    bank_bin: str
    account_number: str
    holder_name: str


@dataclass(frozen=True)
class VietQR:
    """What a payer needs: the payload for the image and the caption printed next to it."""

    payload: str
    bank_name: str
    bank_short_name: str
    bin: str
    account_number: str
    holder: str  # upper-case, no diacritics, as the payer's banking app shows it
    amount_vnd: int | None  # None: a static code, the payer types the amount
    reference: str  # the transfer content exactly as it is inside the code ('' for none)


# --------------------------------------------------------------------------- validation


def holder_ascii(name: str) -> str:
    """'Hợp tác xã Mây tre Phú Vinh' -> 'HOP TAC XA MAY TRE PHU VINH'."""
    return fold(name).upper()


def clean_bank_account_data(data: BankAccountData) -> dict[str, str]:
    """Validated, normalised column values; ServiceError naming the field otherwise."""
    bin_code = (data.bank_bin or "").strip()
    if not bin_code:
        raise ServiceError("bank_bin", _("Vui lòng chọn ngân hàng."))
    if vietqr.bank_by_bin(bin_code) is None:
        raise ServiceError("bank_bin", _("Ngân hàng không có trong danh sách hỗ trợ VietQR."))

    account = _ACCOUNT_SEPARATORS.sub("", data.account_number or "")
    if not account:
        raise ServiceError("account_number", _("Vui lòng nhập số tài khoản."))
    if not re.fullmatch(r"[0-9]+", account):
        raise ServiceError("account_number", _("Số tài khoản chỉ gồm chữ số (0–9)."))
    if not vietqr.ACCOUNT_MIN_LENGTH <= len(account) <= vietqr.ACCOUNT_MAX_LENGTH:
        raise ServiceError(
            "account_number",
            _(
                "Số tài khoản phải có từ %(min)s đến %(max)s chữ số.",
                min=vietqr.ACCOUNT_MIN_LENGTH,
                max=vietqr.ACCOUNT_MAX_LENGTH,
            ),
        )

    holder = clean_line(data.holder_name)
    if not holder:
        raise ServiceError("holder_name", _("Vui lòng nhập tên chủ tài khoản."))
    if len(holder) > HOLDER_MAX_LENGTH:
        raise ServiceError("holder_name", _("Tối đa %(n)s ký tự.", n=HOLDER_MAX_LENGTH))
    printed = holder_ascii(holder)
    if not _HOLDER_ASCII.fullmatch(printed) or not re.search(r"[A-Z]", printed):
        raise ServiceError(
            "holder_name",
            _("Tên chủ tài khoản chỉ gồm chữ cái, chữ số, khoảng trắng và các dấu . , - & ( ) ' /"),
        )
    return {"bank_bin": bin_code, "account_number": account, "holder_name": holder, "holder_name_ascii": printed}


# --------------------------------------------------------------------------- reading


def account_for_producer(producer_id: int) -> ProducerBankAccount | None:
    return db.session.scalar(sa.select(ProducerBankAccount).where(ProducerBankAccount.producer_id == producer_id))


def history(producer_id: int, limit: int = HISTORY_LIMIT) -> list[BankAccountChange]:
    """The latest changes first."""
    return list(
        db.session.scalars(
            sa.select(BankAccountChange)
            .where(BankAccountChange.producer_id == producer_id)
            .order_by(BankAccountChange.created_at.desc(), BankAccountChange.id.desc())
            .limit(limit)
        )
    )


def bank_label(bin_code: str) -> str:
    bank = vietqr.bank_by_bin(bin_code)
    return f"{bank.short_name} — {bank.name}" if bank else bin_code


def mask_account(number: str) -> str:
    """'0011001234567' -> '•••• 4567' (e-mails never carry the whole number)."""
    return f"•••• {number[-4:]}" if number else ""


def qr_for_account(account: ProducerBankAccount, amount_vnd: int | None, reference: str = "") -> VietQR:
    payload = vietqr.build_payload(account.bank_bin, account.account_number, amount_vnd, reference)
    bank = vietqr.bank_by_bin(account.bank_bin)
    return VietQR(
        payload=payload,
        bank_name=bank.name if bank else account.bank_bin,
        bank_short_name=bank.short_name if bank else account.bank_bin,
        bin=account.bank_bin,
        account_number=account.account_number,
        holder=account.holder_name_ascii,
        amount_vnd=amount_vnd,
        reference=vietqr.check_reference(reference),
    )


def vietqr_for(producer_id: int, amount_vnd: int | None, reference: str) -> VietQR | None:
    """The code a buyer scans to pay `amount_vnd` to the producer (see the module docstring)."""
    account = account_for_producer(producer_id)
    return qr_for_account(account, amount_vnd, reference) if account else None


def static_vietqr_for(producer_id: int) -> VietQR | None:
    """A code without amount or content (the payer types both): the producer's own preview."""
    return vietqr_for(producer_id, None, "")


# --------------------------------------------------------------------------- changes


def _record(user: User, producer: Producer, action: str, old: dict[str, str], new: dict[str, str]) -> BankAccountChange:
    change = BankAccountChange(
        producer_id=producer.id,
        action=action,
        actor_id=user.id,
        actor_email=user.email,
        old_bank_bin=old.get("bank_bin", ""),
        old_account_number=old.get("account_number", ""),
        old_holder_name=old.get("holder_name", ""),
        new_bank_bin=new.get("bank_bin", ""),
        new_account_number=new.get("account_number", ""),
        new_holder_name=new.get("holder_name", ""),
        created_at=utcnow(),
    )
    db.session.add(change)
    _tell_managers(producer, change)
    return change


def _tell_managers(producer: Producer, change: BankAccountChange) -> None:
    """Every manager hears of every change: a hijacked login that swaps the account is noticed."""
    when = to_local(change.created_at)
    if change.action == "removed":
        what = _("Tài khoản nhận tiền đã bị xoá (trước đó: %(bank)s, số %(account)s).")
        bank, account = bank_label(change.old_bank_bin), mask_account(change.old_account_number)
    else:
        what = _("Tài khoản nhận tiền hiện là: %(bank)s, số %(account)s.")
        bank, account = bank_label(change.new_bank_bin), mask_account(change.new_account_number)
    for manager in producer.managers:
        queue_mail(
            manager.email,
            _("Tài khoản ngân hàng của “%(name)s” vừa thay đổi", name=producer.name),
            _(
                "Xin chào %(user)s,\n\n%(actor)s vừa thay đổi tài khoản nhận chuyển khoản của gian hàng "
                "“%(name)s” lúc %(when)s.\n%(what)s\n\nNếu bạn không biết về thay đổi này, hãy kiểm tra lại "
                "tài khoản trong mục “Gian hàng của tôi” và báo ngay cho ban tổ chức.\n",
                user=manager.name or manager.email,
                actor=change.actor_email,
                name=producer.name,
                when=when.strftime("%H:%M %d/%m/%Y") if when else "",
                what=what % {"bank": bank, "account": account},
            ),
        )


def _values(account: ProducerBankAccount) -> dict[str, str]:
    return {
        "bank_bin": account.bank_bin,
        "account_number": account.account_number,
        "holder_name": account.holder_name,
    }


def save_account(user: User, producer: Producer, data: BankAccountData) -> ProducerBankAccount:
    """Add the producer's account or replace its details; a change is recorded and every manager
    is e-mailed. Saving the same details again changes nothing."""
    ensure_manager(user, producer)
    values = clean_bank_account_data(data)
    account = account_for_producer(producer.id)
    if account is None:
        account = ProducerBankAccount(producer_id=producer.id, created_by_id=user.id, updated_by_id=user.id, **values)
        db.session.add(account)
        _record(user, producer, "created", {}, values)
    else:
        old = _values(account)
        if old == {k: values[k] for k in old} and account.holder_name_ascii == values["holder_name_ascii"]:
            return account
        for key, value in values.items():
            setattr(account, key, value)
        account.updated_by_id = user.id
        _record(user, producer, "updated", old, values)
    db.session.flush()
    return account


def remove_account(user: User, producer: Producer) -> None:
    """Remove the producer's account (buyers then see no bank transfer); the history stays."""
    ensure_manager(user, producer)
    account = account_for_producer(producer.id)
    if account is None:
        raise ServiceError(None, _("Gian hàng chưa có tài khoản ngân hàng."), code="not_found")
    _record(user, producer, "removed", _values(account), {})
    db.session.delete(account)
    db.session.flush()
