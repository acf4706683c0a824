"""Forms for product listings: the product with its OCOP certificate, images, hiding."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import BooleanField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from marketplace.catalog.models import Product
from marketplace.catalog.services import CertificateData, ProductData
from marketplace.core.fields import LocalDateField
from marketplace.core.forms import SiteForm
from marketplace.core.i18n import certification_choices, lazy_pair_label
from marketplace.core.money import format_vnd, parse_vnd
from marketplace.data import CERTIFICATE_LEVELS, CERTIFICATIONS, OCOP_GROUPS

INVALID_CHOICE = _l("Lựa chọn không hợp lệ.")


def ChoiceField(label, choices, **kwargs) -> SelectField:  # noqa: N802 (a field factory)
    """A select with a Vietnamese 'invalid choice' message (WTForms ships no vi catalogue)."""
    return SelectField(label, choices=choices, invalid_choice_message=INVALID_CHOICE, **kwargs)


class AmountField(StringField):
    """An integer typed the Vietnamese way: '1.250.000', '1,250,000 ₫', '1250000'. Empty is None.

    On bad input the typed text is kept (re-rendered) and the error shows next to the field."""

    def __init__(self, label=None, validators=None, message=None, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.message = message or _l("Vui lòng nhập một số, ví dụ 1.250.000.")
        self.raw = ""

    def process_formdata(self, valuelist):
        self.raw = valuelist[0] if valuelist else ""
        self.data = None
        if self.raw.strip().startswith("-"):
            raise ValueError(_l("Không được nhập số âm."))
        try:
            self.data = parse_vnd(self.raw)
        except ValueError:
            raise ValueError(self.message) from None

    def _value(self):
        if self.raw_data:
            return self.raw
        return format_vnd(self.data, symbol=False) if self.data is not None else ""


def _group_choices():
    return [SelectChoice("", _l("— Chọn nhóm —"))] + [
        SelectChoice(code, lazy_pair_label(labels)) for code, labels in OCOP_GROUPS.items()
    ]


class ProductForm(SiteForm):
    name = StringField(
        _l("Tên sản phẩm"),
        validators=[
            DataRequired(_l("Vui lòng nhập tên sản phẩm.")),
            Length(max=200, message=_l("Tối đa %(max)d ký tự.")),
        ],
    )
    name_en = StringField(_l("Tên tiếng Anh"), validators=[Length(max=200, message=_l("Tối đa %(max)d ký tự."))])
    ocop_group = ChoiceField(
        _l("Nhóm sản phẩm OCOP"),
        choices=_group_choices,
        validators=[DataRequired(_l("Vui lòng chọn nhóm sản phẩm OCOP."))],
    )
    description = TextAreaField(
        _l("Mô tả"), validators=[Length(max=10_000, message=_l("Tối đa %(max)d ký tự."))], render_kw={"rows": 6}
    )
    unit = StringField(
        _l("Đơn vị tính"),
        validators=[Length(max=30, message=_l("Tối đa %(max)d ký tự."))],
        render_kw={"list": "unit-options"},
    )
    price_min_vnd = AmountField(_l("Giá từ (₫)"), render_kw={"inputmode": "numeric"})
    price_max_vnd = AmountField(_l("Giá đến (₫)"), render_kw={"inputmode": "numeric"})
    price_on_request = BooleanField(_l("Giá liên hệ (báo giá theo đơn hàng)"))
    moq = AmountField(_l("Đơn hàng tối thiểu (MOQ)"), render_kw={"inputmode": "numeric"})
    monthly_capacity = AmountField(_l("Năng lực cung ứng mỗi tháng"), render_kw={"inputmode": "numeric"})
    certifications = SelectMultipleField(
        _l("Chứng nhận"),
        choices=certification_choices(),
        invalid_choice_message=INVALID_CHOICE,
    )
    certifications_other = StringField(
        _l("Chứng nhận khác (ghi rõ, cách nhau bởi dấu ;)"),
        validators=[Length(max=300, message=_l("Tối đa %(max)d ký tự."))],
    )
    cert_stars = ChoiceField(
        _l("Số sao OCOP"),
        choices=[SelectChoice("0", _l("Chưa có / chưa xếp hạng"))]
        + [SelectChoice(str(n), "★" * n) for n in range(1, 6)],
        default="0",
    )
    cert_number = StringField(
        _l("Số giấy chứng nhận"), validators=[Length(max=80, message=_l("Tối đa %(max)d ký tự."))]
    )
    cert_level = ChoiceField(
        _l("Cấp công nhận"),
        choices=[SelectChoice(code, lazy_pair_label(labels)) for code, labels in CERTIFICATE_LEVELS.items()],
        default="province",
    )
    cert_issued_on = LocalDateField(_l("Ngày cấp"))
    cert_scan = FileField(
        _l("Bản chụp giấy chứng nhận (PDF hoặc ảnh, tối đa 5 MB)"),
        render_kw={"accept": "application/pdf,image/jpeg,image/png,image/webp"},
    )
    cert_scan_remove = BooleanField(_l("Xoá bản chụp hiện có"))

    def fill_from(self, product: Product) -> None:
        """Pre-fill on GET from a stored product."""
        self.name.data = product.name
        self.name_en.data = product.name_en
        self.ocop_group.data = product.ocop_group
        self.description.data = product.description
        self.unit.data = product.unit
        self.price_min_vnd.data = product.price_min_vnd
        self.price_max_vnd.data = product.price_max_vnd
        self.price_on_request.data = product.price_on_request
        self.moq.data = product.moq
        self.monthly_capacity.data = product.monthly_capacity
        known = [c for c in product.certification_list if c in CERTIFICATIONS]
        self.certifications.data = known
        self.certifications_other.data = "; ".join(c for c in product.certification_list if c not in CERTIFICATIONS)
        cert = product.certificate
        if cert is not None:
            self.cert_stars.data = str(cert.stars)
            self.cert_number.data = cert.number
            self.cert_level.data = cert.level
            self.cert_issued_on.data = cert.issued_on

    def product_data(self) -> ProductData:
        others = [part for part in (self.certifications_other.data or "").replace(",", ";").split(";")]
        return ProductData(
            name=self.name.data or "",
            name_en=self.name_en.data or "",
            ocop_group=self.ocop_group.data or "",
            description=self.description.data or "",
            unit=self.unit.data or "",
            price_min_vnd=self.price_min_vnd.data,
            price_max_vnd=self.price_max_vnd.data,
            price_on_request=bool(self.price_on_request.data),
            moq=self.moq.data,
            monthly_capacity=self.monthly_capacity.data,
            certifications=list(self.certifications.data or []) + others,
        )

    def scan_upload(self, limit: int) -> bytes | None:
        """The bytes of the chosen scan file (at most limit + 1 of them), or None if none was chosen."""
        storage = self.cert_scan.data
        if storage is None or not getattr(storage, "filename", ""):
            return None
        return storage.read(limit + 1)

    def certificate_data(self) -> CertificateData:
        return CertificateData(
            stars=int(self.cert_stars.data or 0),
            number=self.cert_number.data or "",
            level=self.cert_level.data or "province",
            issued_on=self.cert_issued_on.data,
        )


class NewProductForm(ProductForm):
    producer_id = ChoiceField(_l("Nhà sản xuất"), choices=[])  # set by the view: the managed producers


class HideForm(SiteForm):
    reason = TextAreaField(
        _l("Lý do ẩn (nhà sản xuất sẽ thấy)"),
        validators=[
            DataRequired(_l("Vui lòng nêu lý do ẩn sản phẩm.")),
            Length(max=2000, message=_l("Tối đa %(max)d ký tự.")),
        ],
        render_kw={"rows": 2},
    )
