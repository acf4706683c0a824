"""The bank account form (bank picker from vn_banks.csv) and the removal confirmation."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from marketplace.banking import vietqr
from marketplace.banking.services import HOLDER_MAX_LENGTH, BankAccountData
from marketplace.core.forms import SiteForm


def bank_choices() -> list[SelectChoice]:
    """'Vietcombank — Ngân hàng TMCP Ngoại thương Việt Nam', in the CSV's order (largest first)."""
    return [SelectChoice("", _l("— Chọn ngân hàng —"))] + [
        SelectChoice(bank.bin, f"{bank.short_name} — {bank.name}") for bank in vietqr.banks()
    ]


class BankAccountForm(SiteForm):
    bank_bin = SelectField(
        _l("Ngân hàng"),
        validators=[DataRequired(_l("Vui lòng chọn ngân hàng."))],
        validate_choice=False,  # the service checks the BIN and says so in Vietnamese
    )
    account_number = StringField(
        _l("Số tài khoản"),
        validators=[
            DataRequired(_l("Vui lòng nhập số tài khoản.")),
            Length(max=40, message=_l("Tối đa %(max)d ký tự.")),
        ],
        render_kw={"inputmode": "numeric", "autocomplete": "off"},
    )
    holder_name = StringField(
        _l("Tên chủ tài khoản"),
        validators=[
            DataRequired(_l("Vui lòng nhập tên chủ tài khoản.")),
            Length(max=HOLDER_MAX_LENGTH, message=_l("Tối đa %(max)d ký tự.")),
        ],
        render_kw={"autocomplete": "off"},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.bank_bin.choices = bank_choices()

    def to_data(self) -> BankAccountData:
        return BankAccountData(
            bank_bin=self.bank_bin.data or "",
            account_number=self.account_number.data or "",
            holder_name=self.holder_name.data or "",
        )


class RemoveAccountForm(SiteForm):
    """Only the CSRF token: removing is a POST from the confirmation page."""
