"""Business rules of the sales point registry: who may see and run a point, applications and edits,
photos, the products a point carries and their stock.

Organisers' reviews (Decision 950 checklist) live in approvals.py, producers' carry requests in
carrying.py; both use the access checks, `notify_owner` and `start_carrying` from here.
Services validate, change objects, flush and raise ServiceError / NotAllowed; they never commit.
Public read queries (registry, exports, "where to buy") live in registry.py.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from marketplace.accounts.models import User
from marketplace.api.queries import ProductFilters, search_ids_by_substring
from marketplace.catalog.models import Product
from marketplace.core.errors import NotAllowed, ServiceError
from marketplace.core.models import utcnow
from marketplace.core.uploads import StoredImage, delete_image, save_image
from marketplace.core.validation import limit_length
from marketplace.core.vn_text import clean_line, nfc
from marketplace.data import SALES_POINT_KINDS, find_district
from marketplace.extensions import db
from marketplace.mail.services import queue_mail
from marketplace.sales_points import hours
from marketplace.sales_points.models import SalesPoint, SalesPointPhoto, SalesPointProduct

MAX_SALES_POINT_PHOTOS = 6
MAX_CARRIED_PRODUCTS = 500
REF_PREFIX = "HN-SP-"
REF_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
_PHONE = re.compile(r"^[0-9+().\s-]{6,30}$")


# --------------------------------------------------------------------------- access


def is_operator(user, point: SalesPoint) -> bool:
    """The user registered the point and still holds the sales_point role."""
    return bool(
        user is not None
        and getattr(user, "is_authenticated", False)
        and user.has_role("sales_point")
        and point.is_operated_by(user)
    )


def ensure_operator(user, point: SalesPoint) -> None:
    if not is_operator(user, point):
        raise NotAllowed()


def is_staff(user) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False) and user.is_staff)


def ensure_staff(user) -> None:
    if not is_staff(user):
        raise NotAllowed()


def can_view(user, point: SalesPoint) -> bool:
    """Approved points are public; the others only for their operator and organisers."""
    return point.is_public or is_staff(user) or is_operator(user, point)


def operated_points(user: User) -> list[SalesPoint]:
    return list(
        db.session.scalars(
            sa.select(SalesPoint).where(SalesPoint.owner_id == user.id).order_by(SalesPoint.name, SalesPoint.id)
        )
    )


def notify_owner(point: SalesPoint, subject: str, body: str) -> None:
    """Mail the point's operator, if it has one with an e-mail address."""
    owner = point.owner
    if owner is not None and owner.email:
        queue_mail(owner.email, subject, body)


# --------------------------------------------------------------------------- applying and editing


@dataclass
class SalesPointData:
    """What an operator types about a point."""

    name: str = ""
    kind: str = ""
    district: str = ""
    commune: str = ""
    address: str = ""
    lat: float | None = None
    lng: float | None = None
    opening_hours: str = ""
    phone: str = ""
    description: str = ""
    display_area_m2: int | None = None


def clean_data(data: SalesPointData) -> SalesPointData:
    """Normalised copy of `data`; ServiceError naming the first bad field."""
    name = limit_length(clean_line(data.name), "name", 200)
    if not name:
        raise ServiceError("name", _("Vui lòng nhập tên điểm bán."))
    if data.kind not in SALES_POINT_KINDS:
        raise ServiceError("kind", _("Vui lòng chọn loại điểm bán."))
    district = find_district(data.district)
    if district is None:
        raise ServiceError("district", _("Vui lòng chọn quận/huyện."))
    commune = limit_length(clean_line(data.commune), "commune", 80)
    address = limit_length(clean_line(data.address), "address", 300)
    if not address:
        raise ServiceError("address", _("Vui lòng nhập địa chỉ để khách tìm đến."))
    if (data.lat is None) != (data.lng is None):
        raise ServiceError("lat" if data.lat is None else "lng", _("Nhập cả vĩ độ và kinh độ, hoặc để trống cả hai."))
    if data.lat is not None and not -90 <= data.lat <= 90:
        raise ServiceError("lat", _("Vĩ độ phải trong khoảng -90 đến 90."))
    if data.lng is not None and not -180 <= data.lng <= 180:
        raise ServiceError("lng", _("Kinh độ phải trong khoảng -180 đến 180."))
    opening = hours.normalise(clean_line(data.opening_hours))
    if opening is None:
        raise ServiceError(
            "opening_hours",
            _(
                "Giờ mở cửa có dạng 08:00-21:00; nhiều khung giờ cách nhau bởi dấu phẩy, ví dụ 07:00-11:30, 13:30-17:00."
            ),
        )
    opening = limit_length(opening, "opening_hours", 120)
    phone = limit_length(clean_line(data.phone), "phone", 30)
    if phone and not _PHONE.match(phone):
        raise ServiceError("phone", _("Số điện thoại chỉ gồm chữ số, dấu cách và các ký tự + ( ) . -"))
    description = limit_length(nfc(data.description).replace("\r\n", "\n"), "description", 2000)
    area = data.display_area_m2
    if area is not None and not 0 < area <= 100_000:
        raise ServiceError("display_area_m2", _("Diện tích trưng bày tính bằng m², từ 1 đến 100.000."))
    return SalesPointData(
        name=name,
        kind=data.kind,
        district=district.name,
        commune=commune,
        address=address,
        lat=round(data.lat, 6) if data.lat is not None else None,
        lng=round(data.lng, 6) if data.lng is not None else None,
        opening_hours=opening,
        phone=phone,
        description=description,
        display_area_m2=area,
    )


def new_ref() -> str:
    """'HN-SP-' + 6 random upper-case letters and digits, unused so far."""
    while True:
        ref = REF_PREFIX + "".join(secrets.choice(REF_ALPHABET) for _ in range(6))
        if db.session.scalar(sa.select(SalesPoint.id).where(SalesPoint.ref == ref)) is None:
            return ref


def _assign(point: SalesPoint, data: SalesPointData) -> None:
    for name in (
        "name",
        "kind",
        "district",
        "commune",
        "address",
        "lat",
        "lng",
        "opening_hours",
        "phone",
        "description",
        "display_area_m2",
    ):
        setattr(point, name, getattr(data, name))


@dataclass(frozen=True)
class Upload:
    filename: str
    data: bytes


def apply(user: User, data: SalesPointData, uploads: Iterable[Upload] = ()) -> SalesPoint:
    """Register a new point for review (status pending), operated by `user`."""
    if user is None or not user.has_role("sales_point"):
        raise NotAllowed()
    cleaned = clean_data(data)
    point = SalesPoint(ref=new_ref(), status="pending", owner_id=user.id)
    _assign(point, cleaned)
    db.session.add(point)
    db.session.flush()
    _store_photos(point, uploads, strict=True)
    return point


def update_point(user: User, point: SalesPoint, data: SalesPointData) -> SalesPoint:
    """Save the operator's changes. A rejected application goes back to the review queue."""
    ensure_operator(user, point)
    cleaned = clean_data(data)
    _assign(point, cleaned)
    if point.status == "rejected":
        point.status = "pending"
    point.updated_at = utcnow()
    db.session.flush()
    return point


# --------------------------------------------------------------------------- photos


@dataclass
class PhotoResult:
    added: list[SalesPointPhoto]
    errors: list[str]


def max_photos() -> int:
    return int(current_app.config.get("MAX_SALES_POINT_PHOTOS", MAX_SALES_POINT_PHOTOS))


def _store_photos(point: SalesPoint, uploads: Iterable[Upload], strict: bool) -> PhotoResult:
    """Save each image. strict: the first bad file is a ServiceError (files saved so far are
    removed); otherwise bad files are listed in the result and the rest are kept."""
    chosen = [u for u in uploads if u.filename or u.data]
    result = PhotoResult(added=[], errors=[])
    stored_now: list[StoredImage] = []
    position = max((p.position for p in point.photos), default=-1) + 1
    room = max_photos() - len(point.photos)
    for upload in chosen:
        name = clean_line(upload.filename) or _("(không tên)")
        try:
            if room <= 0:
                raise ServiceError("photos", _("mỗi điểm bán có tối đa %(n)s ảnh.", n=max_photos()))
            stored = save_image(upload.data, field="photos")
        except ServiceError as error:
            message = _("%(name)s: %(message)s", name=name, message=error.message)
            if strict:
                for done in stored_now:
                    delete_image(done)
                raise ServiceError("photos", message) from None
            result.errors.append(message)
            continue
        stored_now.append(stored)
        photo = SalesPointPhoto(filename=stored.filename, thumb_filename=stored.thumb_filename, position=position)
        point.photos.append(photo)
        result.added.append(photo)
        position += 1
        room -= 1
    db.session.flush()
    return result


def add_photos(user: User, point: SalesPoint, uploads: Iterable[Upload]) -> PhotoResult:
    ensure_operator(user, point)
    uploads = [u for u in uploads if u.filename or u.data]
    if not uploads:
        raise ServiceError("photos", _("Vui lòng chọn ít nhất một ảnh."))
    return _store_photos(point, uploads, strict=False)


def delete_photo(user: User, point: SalesPoint, photo_id: int) -> StoredImage:
    """Remove a photo row; returns the files for the caller to delete after commit."""
    ensure_operator(user, point)
    photo = db.session.get(SalesPointPhoto, photo_id)
    if photo is None or photo.sales_point_id != point.id:
        raise ServiceError(None, _("Không tìm thấy ảnh này."), code="not_found")
    stored = StoredImage(filename=photo.filename, thumb_filename=photo.thumb_filename)
    point.photos.remove(photo)
    db.session.flush()
    return stored


# --------------------------------------------------------------------------- carried products and stock


def search_catalogue(q: str, limit: int = 20, exclude: Iterable[int] = ()) -> list[Product]:
    """Public products whose name (or producer) matches `q`, ignoring case and diacritics."""
    text = clean_line(q)[:200]
    if not text:
        return []
    skip = set(exclude)
    ids = [i for i in search_ids_by_substring(text, ProductFilters()) if i not in skip][:limit]
    if not ids:
        return []
    found = {p.id: p for p in db.session.scalars(sa.select(Product).where(Product.id.in_(ids))).unique()}
    return [found[i] for i in ids if i in found]


def carried_rows(point: SalesPoint) -> list[SalesPointProduct]:
    """The point's products with their stock flags, by product name."""
    rows = db.session.scalars(
        sa.select(SalesPointProduct)
        .join(Product, Product.id == SalesPointProduct.product_id)
        .where(SalesPointProduct.sales_point_id == point.id)
        .order_by(Product.name, Product.id)
    ).all()
    return list(rows)


def _refresh_products(point: SalesPoint) -> None:
    db.session.flush()
    db.session.expire(point, ["products", "carried"])


def add_product(user: User, point: SalesPoint, product_id: int) -> Product:
    ensure_operator(user, point)
    product = db.session.get(Product, product_id)
    if product is None or not product.is_public:
        raise ServiceError("product_id", _("Không tìm thấy sản phẩm này trong danh mục."), code="not_found")
    exists = db.session.get(SalesPointProduct, (point.id, product.id))
    if exists is not None:
        raise ServiceError("product_id", _("Điểm bán đã có sản phẩm “%(name)s”.", name=product.name))
    count = db.session.scalar(
        sa.select(sa.func.count()).select_from(SalesPointProduct).where(SalesPointProduct.sales_point_id == point.id)
    )
    if (count or 0) >= MAX_CARRIED_PRODUCTS:
        raise ServiceError("product_id", _("Mỗi điểm bán có tối đa %(n)s sản phẩm.", n=MAX_CARRIED_PRODUCTS))
    start_carrying(point, product)
    return product


def start_carrying(point: SalesPoint, product: Product) -> None:
    """Add `product` to the point's shelf, in stock, and stamp the point as changed. The caller has
    checked that the point may carry it and does not yet."""
    db.session.add(
        SalesPointProduct(sales_point_id=point.id, product_id=product.id, in_stock=True, stock_updated_at=utcnow())
    )
    point.updated_at = utcnow()
    _refresh_products(point)


def remove_product(user: User, point: SalesPoint, product_id: int) -> Product:
    ensure_operator(user, point)
    row = db.session.get(SalesPointProduct, (point.id, product_id))
    if row is None:
        raise ServiceError("product_id", _("Điểm bán không có sản phẩm này."), code="not_found")
    product = row.product
    db.session.delete(row)
    point.updated_at = utcnow()
    _refresh_products(point)
    return product


def set_stock(user: User, point: SalesPoint, in_stock_ids: Iterable[int]) -> int:
    """Mark the listed carried products in stock and the others out of stock; returns how many
    flags changed. Ids the point does not carry are ignored."""
    ensure_operator(user, point)
    wanted = set(in_stock_ids)
    changed = 0
    now = utcnow()
    for row in carried_rows(point):
        flag = row.product_id in wanted
        if row.in_stock != flag:
            row.in_stock = flag
            row.stock_updated_at = now
            changed += 1
    db.session.flush()
    return changed
