"""Product listings: public queries, the manager's changes, organisers' moderation.

Reusable pieces for other features (API, import, storefronts):

- `ProductFilters` + `public_products_stmt(filters)`: the published, visible products matching
  group / min_stars (valid stars only) / district (the producer's) / certification, sorted. It is a
  plain `Select[Product]` with the producer and certificate eagerly loaded through the joins, so a
  caller may add conditions, paginate it (`core.pagination.paginate`) or count it.
- `public_clause()`: the SQL condition "published and not hidden".
- `can_view(user, product)`, `can_manage(user, product_or_producer)`: access rules.

Services validate, change objects and flush; they never commit and never touch `request`.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.orm import contains_eager

from marketplace.catalog.models import Certificate, Product, ProductImage
from marketplace.catalog.stars import effective_stars_expr, valid_certificate_clause
from marketplace.core.dates import certificate_expiry, today
from marketplace.core.errors import NotAllowed, ServiceError
from marketplace.core.models import utcnow
from marketplace.core.uploads import StoredImage, save_image
from marketplace.core.vn_text import clean_line, nfc
from marketplace.data import (
    CERTIFICATE_LEVELS,
    GROUP_2019_TO_2023,
    OCOP_GROUPS,
    canonical_certification,
    find_district,
)
from marketplace.extensions import db
from marketplace.producers.models import Producer, producer_managers
from marketplace.sales_points.models import SalesPoint, sales_point_products

SORTS = ("newest", "stars", "price_asc", "price_desc")
API_SORTS = ("relevance", *SORTS)  # 'relevance' without a query ranks like 'stars'
MAX_AMOUNT = 10**12  # a sanity bound for prices and quantities (fits BigInteger easily)
REF_PREFIX = "HN-"
REF_ALPHABET = string.ascii_uppercase + string.digits


# --------------------------------------------------------------------------- public queries


@dataclass(frozen=True)
class ProductFilters:
    """Filters of the public product list (HTML browse pages and GET /api/v1/products).

    group: an OCOP group code of Decision 148 (a 2019 code is mapped: textile/souvenir →
    handicraft). min_stars: 0–5, compared with the *valid* stars (an expired or unverified
    certificate counts 0). district: the producer's district, canonical name (find_district).
    certification: a code of marketplace.data.CERTIFICATIONS or a free-text name.
    sort: newest | stars | price_asc | price_desc (| relevance, treated as stars).
    producer_id: one producer's products (storefronts). q: a simple, case-insensitive substring
    match on product and producer names, a stop-gap until the search feature plugs in.
    """

    group: str | None = None
    min_stars: int = 0
    district: str | None = None
    certification: str | None = None
    sort: str = "newest"
    producer_id: int | None = None
    q: str = ""

    @classmethod
    def from_args(cls, args: Mapping[str, str], strict: bool = False, default_sort: str = "newest") -> ProductFilters:
        """Read filters from query arguments.

        strict=False (HTML pages): invalid values are ignored. strict=True (API): an invalid
        group, min_stars or sort raises ServiceError(field, message); district and
        certification are free text and never an error (unknown ones match nothing)."""

        def bad(name: str, message: str) -> None:
            if strict:
                raise ServiceError(name, message)

        group = clean_line(args.get("group")) or None
        if group is not None:
            group = GROUP_2019_TO_2023.get(group, group)
            if group not in OCOP_GROUPS:
                bad("group", _("Nhóm sản phẩm OCOP không hợp lệ."))
                group = None

        min_stars = 0
        raw_stars = (args.get("min_stars") or "").strip()
        if raw_stars:
            if raw_stars.isdigit() and 0 <= int(raw_stars) <= 5:
                min_stars = int(raw_stars)
            else:
                bad("min_stars", _("Số sao tối thiểu phải từ 0 đến 5."))

        district = clean_line(args.get("district")) or None
        if district is not None:
            found = find_district(district)
            district = found.name if found else district

        certification = clean_line(args.get("certification")) or None
        if certification is not None:
            certification = canonical_certification(certification)

        sort = (args.get("sort") or "").strip() or default_sort
        if sort not in API_SORTS:
            bad("sort", _("Cách sắp xếp không hợp lệ."))
            sort = default_sort

        return cls(
            group=group,
            min_stars=min_stars,
            district=district,
            certification=certification,
            sort=sort,
            q=clean_line(args.get("q"))[:200],
        )

    @property
    def active(self) -> bool:
        """True when something narrows the list (for the 'clear filters' link)."""
        return bool(self.group or self.min_stars or self.district or self.certification or self.q)


def public_clause() -> sa.ColumnElement[bool]:
    """Published and not hidden by an organiser."""
    return sa.and_(Product.status == "published", Product.hidden.is_(False))


def public_products_stmt(filters: ProductFilters | None = None, on: date | None = None) -> sa.Select:
    """SELECT of the public products matching `filters`, sorted (see ProductFilters).

    Joins Producer (inner) and Certificate (outer); both are loaded from these joins, so callers
    may filter on Producer.* and Certificate.* columns. `on` is the day certificates are judged
    on (default: today(), honouring MARKETPLACE_TODAY)."""
    filters = filters or ProductFilters()
    stars = effective_stars_expr(on)
    stmt = (
        sa.select(Product)
        .join(Product.producer)
        .outerjoin(Product.certificate)
        .options(contains_eager(Product.producer), contains_eager(Product.certificate))
        .where(public_clause())
    )
    if filters.group:
        stmt = stmt.where(Product.ocop_group == filters.group)
    if filters.min_stars > 0:
        stmt = stmt.where(valid_certificate_clause(on), Certificate.stars >= filters.min_stars)
    if filters.district:
        stmt = stmt.where(Producer.district == filters.district)
    if filters.certification:
        padded = sa.literal(";").concat(Product.certifications).concat(";")
        stmt = stmt.where(padded.contains(f";{filters.certification};", autoescape=True))
    if filters.producer_id is not None:
        stmt = stmt.where(Product.producer_id == filters.producer_id)
    if filters.q:
        stmt = stmt.where(
            sa.or_(
                Product.name.icontains(filters.q, autoescape=True),
                Product.name_en.icontains(filters.q, autoescape=True),
                Producer.name.icontains(filters.q, autoescape=True),
            )
        )
    newest = (sa.func.coalesce(Product.published_at, Product.created_at).desc(), Product.id.desc())
    if filters.sort in ("stars", "relevance"):
        stmt = stmt.order_by(stars.desc(), *newest)
    elif filters.sort == "price_asc":
        low = sa.func.coalesce(Product.price_min_vnd, Product.price_max_vnd)
        stmt = stmt.order_by(low.is_(None), low.asc(), Product.id.desc())
    elif filters.sort == "price_desc":
        high = sa.func.coalesce(Product.price_max_vnd, Product.price_min_vnd)
        stmt = stmt.order_by(high.is_(None), high.desc(), Product.id.desc())
    else:
        stmt = stmt.order_by(*newest)
    return stmt


@dataclass(frozen=True)
class HomeStats:
    products: int
    producers: int
    craft_villages: int
    groups: dict[str, int]


def home_stats() -> HomeStats:
    """Counts for the home page: three small aggregate queries."""
    rows = db.session.execute(
        sa.select(Product.ocop_group, sa.func.count()).where(public_clause()).group_by(Product.ocop_group)
    ).all()
    groups = {code: 0 for code in OCOP_GROUPS}
    for code, count in rows:
        if code in groups:
            groups[code] = count
    producers = db.session.scalar(sa.select(sa.func.count()).select_from(Producer)) or 0
    villages = (
        db.session.scalar(
            sa.select(sa.func.count(sa.distinct(Producer.craft_village))).where(Producer.craft_village != "")
        )
        or 0
    )
    return HomeStats(products=sum(groups.values()), producers=producers, craft_villages=villages, groups=groups)


def featured_products(limit: int = 8) -> list[Product]:
    """The newest public products with a valid 4★ or 5★ certificate."""
    stmt = public_products_stmt(ProductFilters(min_stars=4, sort="newest")).limit(limit)
    return list(db.session.scalars(stmt).unique())


def get_product_by_ref(ref: str) -> Product | None:
    return db.session.scalar(sa.select(Product).where(Product.ref == ref))


def approved_sales_points(product: Product) -> list[SalesPoint]:
    """Approved sales points that carry `product`, by district then name."""
    stmt = (
        sa.select(SalesPoint)
        .join(sales_point_products, sales_point_products.c.sales_point_id == SalesPoint.id)
        .where(sales_point_products.c.product_id == product.id, SalesPoint.status == "approved")
        .order_by(SalesPoint.district, SalesPoint.name)
    )
    return list(db.session.scalars(stmt))


# --------------------------------------------------------------------------- access rules


def _producer_of(target: Product | Producer) -> Producer:
    return target.producer if isinstance(target, Product) else target


def can_manage(user, target: Product | Producer) -> bool:
    """A producer user who manages the producer (of the product)."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.has_role("producer"):
        return False
    return _producer_of(target).is_managed_by(user)


def is_staff(user) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False) and user.is_staff)


def can_view(user, product: Product) -> bool:
    """Public products for everyone; drafts, archived and hidden ones for managers and staff."""
    return product.is_public or is_staff(user) or can_manage(user, product)


def _require_manager(user, target: Product | Producer) -> None:
    if not can_manage(user, target):
        raise NotAllowed()


def _require_staff(user) -> None:
    if not is_staff(user):
        raise NotAllowed()


def managed_producers(user) -> list[Producer]:
    if user is None or not getattr(user, "is_authenticated", False) or not user.has_role("producer"):
        return []
    stmt = (
        sa.select(Producer)
        .join(producer_managers, producer_managers.c.producer_id == Producer.id)
        .where(producer_managers.c.user_id == user.id)
        .order_by(Producer.name)
    )
    return list(db.session.scalars(stmt))


def managed_products_stmt(user, producer_id: int | None = None, status: str | None = None) -> sa.Select:
    """Products of the producers `user` manages, every status, most recently changed first."""
    stmt = (
        sa.select(Product)
        .join(producer_managers, producer_managers.c.producer_id == Product.producer_id)
        .where(producer_managers.c.user_id == user.id)
        .order_by(Product.updated_at.desc(), Product.id.desc())
    )
    if producer_id is not None:
        stmt = stmt.where(Product.producer_id == producer_id)
    if status:
        stmt = stmt.where(Product.status == status)
    return stmt


# --------------------------------------------------------------------------- creating and editing


@dataclass
class ProductData:
    """What a manager types for a product (amounts already parsed to integers)."""

    name: str
    ocop_group: str
    name_en: str = ""
    description: str = ""
    unit: str = ""
    price_min_vnd: int | None = None
    price_max_vnd: int | None = None
    price_on_request: bool = False
    moq: int | None = None
    monthly_capacity: int | None = None
    certifications: Sequence[str] = field(default_factory=list)


@dataclass
class CertificateData:
    """The OCOP certificate as a producer enters it. All empty (0 stars, no number, no date)
    means 'no certificate'. The expiry is always computed (36 months), never typed."""

    stars: int = 0
    number: str = ""
    level: str = "province"
    issued_on: date | None = None

    @property
    def empty(self) -> bool:
        return not self.stars and not self.number.strip() and self.issued_on is None


def clean_product_data(data: ProductData) -> ProductData:
    """NFC-normalise and validate; raise ServiceError(field, message) on the first problem."""
    name = clean_line(data.name)
    if not name:
        raise ServiceError("name", _("Vui lòng nhập tên sản phẩm."))
    if len(name) > 200:
        raise ServiceError("name", _("Tên sản phẩm tối đa 200 ký tự."))
    name_en = clean_line(data.name_en)
    if len(name_en) > 200:
        raise ServiceError("name_en", _("Tên tiếng Anh tối đa 200 ký tự."))
    group = GROUP_2019_TO_2023.get(data.ocop_group, data.ocop_group)
    if group not in OCOP_GROUPS:
        raise ServiceError("ocop_group", _("Vui lòng chọn nhóm sản phẩm OCOP."))
    unit = clean_line(data.unit)
    if len(unit) > 30:
        raise ServiceError("unit", _("Đơn vị tính tối đa 30 ký tự."))
    for name_, value in (("price_min_vnd", data.price_min_vnd), ("price_max_vnd", data.price_max_vnd)):
        if value is not None and value < 0:
            raise ServiceError(name_, _("Giá không được âm."))
        if value is not None and value > MAX_AMOUNT:
            raise ServiceError(name_, _("Giá quá lớn."))
    if data.price_min_vnd is not None and data.price_max_vnd is not None and data.price_min_vnd > data.price_max_vnd:
        raise ServiceError("price_max_vnd", _("Giá đến phải lớn hơn hoặc bằng giá từ."))
    for name_, value in (("moq", data.moq), ("monthly_capacity", data.monthly_capacity)):
        if value is not None and value <= 0:
            raise ServiceError(name_, _("Vui lòng nhập một số nguyên dương."))
        if value is not None and value > MAX_AMOUNT:
            raise ServiceError(name_, _("Số lượng quá lớn."))
    certifications: list[str] = []
    for raw in data.certifications:
        text = clean_line(raw)
        if not text:
            continue
        code = canonical_certification(text).replace(";", ",")
        if code not in certifications:
            certifications.append(code)
    if len(";".join(certifications)) > 500:
        raise ServiceError("certifications_other", _("Danh sách chứng nhận quá dài (tối đa 500 ký tự)."))
    description = nfc(data.description).replace("\r\n", "\n").replace("\r", "\n")
    if len(description) > 10_000:
        raise ServiceError("description", _("Mô tả tối đa 10.000 ký tự."))
    return replace(
        data,
        name=name,
        name_en=name_en,
        ocop_group=group,
        unit=unit,
        description=description,
        certifications=certifications,
    )


def _apply(product: Product, data: ProductData) -> None:
    product.name = data.name
    product.name_en = data.name_en
    product.ocop_group = data.ocop_group
    product.description = data.description
    product.unit = data.unit
    product.price_min_vnd = data.price_min_vnd
    product.price_max_vnd = data.price_max_vnd
    product.price_on_request = data.price_on_request
    product.moq = data.moq
    product.monthly_capacity = data.monthly_capacity
    product.certifications = ";".join(data.certifications)


def set_certificate(product: Product, data: CertificateData | None) -> None:
    """Create, change or remove the product's certificate as entered by its producer.

    A certificate entered or changed (stars, number, level or issue date) by a producer is
    unverified until an organiser checks it; until then it counts 0 stars."""
    if data is None or data.empty:
        product.certificate = None
        return
    if not 1 <= data.stars <= 5:
        raise ServiceError("cert_stars", _("Chọn số sao OCOP (1–5) ghi trên giấy chứng nhận."))
    number = clean_line(data.number)
    if not number:
        raise ServiceError("cert_number", _("Vui lòng nhập số giấy chứng nhận OCOP."))
    if len(number) > 80:
        raise ServiceError("cert_number", _("Số giấy chứng nhận tối đa 80 ký tự."))
    if data.level not in CERTIFICATE_LEVELS:
        raise ServiceError("cert_level", _("Vui lòng chọn cấp công nhận."))
    if data.issued_on is None:
        raise ServiceError("cert_issued_on", _("Vui lòng nhập ngày cấp giấy chứng nhận."))
    if data.issued_on > today():
        raise ServiceError("cert_issued_on", _("Ngày cấp không được ở tương lai."))
    cert = product.certificate
    if cert is None:
        cert = Certificate(verified=False)
        product.certificate = cert
    changed = (cert.stars, cert.number, cert.level, cert.issued_on) != (
        data.stars,
        number,
        data.level,
        data.issued_on,
    )
    cert.stars = data.stars
    cert.number = number
    cert.level = data.level
    cert.issued_on = data.issued_on
    cert.expires_on = certificate_expiry(data.issued_on)
    if changed:  # a changed certificate is a new claim: back to the organisers' review queue
        _back_to_review(cert)


def _back_to_review(cert: Certificate) -> None:
    """Unverified and not rejected: the certificate waits in the organisers' review queue again."""
    cert.verified = False
    cert.verified_at = None
    cert.rejected_reason = ""
    cert.reviewed_by_id = None
    cert.reviewed_at = None


# --------------------------------------------------------------------------- certificate scans


def can_see_certificate_scan(user, product: Product) -> bool:
    """The product's managers and organisers/admins; nobody else may know a scan exists."""
    return is_staff(user) or can_manage(user, product)


def attach_certificate_scan(user, product: Product, data: bytes) -> str:
    """Store a scan (PDF or photo, checked by content) of the product's OCOP certificate.

    Replacing the scan of a verified certificate sends it back to the review queue, and so does
    any new scan of a rejected one (the producer's answer to the rejection). Returns the name of
    the scan it replaces ('' if none): the caller deletes that file after the commit."""
    from marketplace.catalog import scans

    _require_manager(user, product)
    cert = product.certificate
    if cert is None or not cert.stars:
        raise ServiceError("cert_scan", _("Hãy nhập thông tin giấy chứng nhận OCOP trước khi gửi bản chụp."))
    old = cert.scan_filename or ""
    name = scans.store(data, field="cert_scan")
    cert.scan_filename = name
    if (old and cert.verified) or cert.rejected_reason:
        _back_to_review(cert)
    product.updated_at = utcnow()
    db.session.flush()
    return old


def remove_certificate_scan(user, product: Product) -> str:
    """Forget the scan; returns its file name for the caller to delete after the commit."""
    _require_manager(user, product)
    cert = product.certificate
    if cert is None or not cert.scan_filename:
        raise ServiceError("cert_scan", _("Chứng nhận này chưa có bản chụp."))
    old = cert.scan_filename
    cert.scan_filename = ""
    product.updated_at = utcnow()
    db.session.flush()
    return old


def new_product_ref() -> str:
    """'HN-' + 8 random upper-case letters and digits, unused so far."""
    while True:
        ref = REF_PREFIX + "".join(secrets.choice(REF_ALPHABET) for _ in range(8))
        if db.session.scalar(sa.select(Product.id).where(Product.ref == ref)) is None:
            return ref


def create_product(user, producer: Producer, data: ProductData, certificate: CertificateData | None = None) -> Product:
    """A new draft product of `producer` (the user must manage it)."""
    _require_manager(user, producer)
    data = clean_product_data(data)
    product = Product(ref=new_product_ref(), producer=producer, status="draft", lat=producer.lat, lng=producer.lng)
    _apply(product, data)
    set_certificate(product, certificate)
    db.session.add(product)
    db.session.flush()
    return product


def update_product(user, product: Product, data: ProductData, certificate: CertificateData | None = None) -> Product:
    _require_manager(user, product)
    data = clean_product_data(data)
    _apply(product, data)
    set_certificate(product, certificate)
    product.updated_at = utcnow()
    db.session.flush()
    return product


# --------------------------------------------------------------------------- status


def publish_problems(product: Product) -> list[str]:
    """Why `product` can't be published yet (empty list: it can)."""
    problems = []
    if not product.name.strip():
        problems.append(_("tên sản phẩm"))
    if product.ocop_group not in OCOP_GROUPS:
        problems.append(_("nhóm sản phẩm OCOP"))
    if not product.unit.strip():
        problems.append(_("đơn vị tính"))
    if product.price_min_vnd is None and product.price_max_vnd is None and not product.price_on_request:
        problems.append(_("giá (giá từ hoặc giá đến) hoặc chọn “Giá liên hệ”"))
    return problems


def publish_product(user, product: Product) -> None:
    _require_manager(user, product)
    if product.status == "archived":
        raise ServiceError(None, _("Sản phẩm đang được lưu trữ: hãy khôi phục trước khi đăng bán."))
    if product.status == "published":
        return
    problems = publish_problems(product)
    if problems:
        raise ServiceError(None, _("Chưa thể đăng bán, còn thiếu: %(missing)s.", missing=", ".join(problems)))
    product.status = "published"
    product.published_at = utcnow()
    db.session.flush()


def unpublish_product(user, product: Product) -> None:
    """Back to draft: no longer public, nothing lost."""
    _require_manager(user, product)
    if product.status != "published":
        raise ServiceError(None, _("Sản phẩm chưa được đăng bán."))
    product.status = "draft"
    db.session.flush()


def archive_product(user, product: Product) -> None:
    _require_manager(user, product)
    if product.status == "archived":
        return
    product.status = "archived"
    db.session.flush()


def restore_product(user, product: Product) -> None:
    """From the archive back to draft (publish again deliberately)."""
    _require_manager(user, product)
    if product.status != "archived":
        raise ServiceError(None, _("Sản phẩm không nằm trong lưu trữ."))
    product.status = "draft"
    db.session.flush()


def hide_product(staff, product: Product, reason: str) -> None:
    """An organiser or admin hides a listing from the public, with a reason its managers see."""
    _require_staff(staff)
    reason = nfc(reason)
    if not reason:
        raise ServiceError("reason", _("Vui lòng nêu lý do ẩn sản phẩm."))
    if len(reason) > 2000:
        raise ServiceError("reason", _("Lý do tối đa 2.000 ký tự."))
    product.hidden = True
    product.hidden_reason = reason
    from marketplace.dashboard.audit import log_action

    log_action(staff, "product.hide", "product", product.id, product.name, reason)
    db.session.flush()


def unhide_product(staff, product: Product) -> None:
    _require_staff(staff)
    product.hidden = False
    product.hidden_reason = ""
    from marketplace.dashboard.audit import log_action

    log_action(staff, "product.unhide", "product", product.id, product.name)
    db.session.flush()


# --------------------------------------------------------------------------- images


@dataclass
class ImageUploadResult:
    added: list[ProductImage] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (file name, message)


def max_images() -> int:
    return int(current_app.config.get("MAX_PRODUCT_IMAGES", 8))


def add_images(user, product: Product, files: Sequence[tuple[str, bytes]]) -> ImageUploadResult:
    """Check and store each file (core.uploads.save_image); keep the valid ones, report the rest.

    A product holds at most MAX_PRODUCT_IMAGES images; files beyond that are refused."""
    _require_manager(user, product)
    result = ImageUploadResult()
    count = len(product.images)
    position = max((image.position for image in product.images), default=-1) + 1
    limit = max_images()
    for filename, data in files:
        if count >= limit:
            result.errors.append((filename, _("Mỗi sản phẩm có tối đa %(n)s ảnh.", n=limit)))
            continue
        try:
            stored = save_image(data)
        except ServiceError as error:
            result.errors.append((filename, error.message))
            continue
        image = ProductImage(filename=stored.filename, thumb_filename=stored.thumb_filename, position=position)
        product.images.append(image)
        result.added.append(image)
        count += 1
        position += 1
    db.session.flush()
    return result


def _image_of(product: Product, image_id: int) -> ProductImage:
    for image in product.images:
        if image.id == image_id:
            return image
    raise ServiceError(None, _("Không tìm thấy ảnh."), code="not_found")


def remove_image(user, product: Product, image_id: int) -> StoredImage:
    """Drop the image row; returns the files for the caller to delete after commit."""
    _require_manager(user, product)
    image = _image_of(product, image_id)
    stored = StoredImage(filename=image.filename, thumb_filename=image.thumb_filename)
    product.images.remove(image)
    db.session.flush()
    return stored


def make_image_first(user, product: Product, image_id: int) -> None:
    """Make an image the main one (shown on cards); the others keep their order."""
    _require_manager(user, product)
    image = _image_of(product, image_id)
    ordered = [image] + [other for other in product.images if other is not image]
    for index, item in enumerate(ordered):
        item.position = index
    db.session.flush()
