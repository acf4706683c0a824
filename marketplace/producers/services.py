"""Producer storefronts: access checks, the storefront's product queries, the managers' dashboard,
creating and editing a storefront, and its photos.

Ownership claims live in `claims.py`, manager invitations in `invitations.py` and the public
directory in `directory.py`. Services validate, change objects and flush; the views commit. Every
message is Vietnamese.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from marketplace.accounts.models import User
from marketplace.catalog.models import Certificate, Product
from marketplace.catalog.stars import effective_stars_expr
from marketplace.core.errors import NotAllowed, ServiceError
from marketplace.core.uploads import StoredImage, save_image
from marketplace.core.validation import limit_length
from marketplace.core.vn_text import clean_line, exact_key, nfc
from marketplace.data import PRODUCER_KINDS, canonical_certification, find_district
from marketplace.extensions import db
from marketplace.producers.models import Producer, ProducerClaim, ProducerPhoto, producer_managers

MAX_PRODUCER_PHOTOS = 8
_PHONE = re.compile(r"^[0-9+().\s-]{6,30}$")
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_HOST = re.compile(r"^[A-Za-z0-9.-]+(:\d{1,5})?$")


# --------------------------------------------------------------------------- access


def ensure_manager(user: User | None, producer: Producer) -> None:
    """Only a producer's managers change its storefront."""
    if user is None or not producer.is_managed_by(user):
        raise NotAllowed()


def ensure_staff(user: User | None) -> None:
    if user is None or not user.is_staff:
        raise NotAllowed()


def managed_producers(user: User) -> list[Producer]:
    return list(
        db.session.scalars(
            sa.select(Producer)
            .join(producer_managers, producer_managers.c.producer_id == Producer.id)
            .where(producer_managers.c.user_id == user.id)
            .order_by(Producer.name, Producer.id)
        )
    )


# --------------------------------------------------------------------------- storefront


def public_products_query(producer: Producer) -> sa.Select:
    """The storefront's products: published and not hidden, best stars first."""
    return (
        sa.select(Product)
        .outerjoin(Certificate, Certificate.product_id == Product.id)
        .where(Product.producer_id == producer.id, Product.status == "published", Product.hidden.is_(False))
        .order_by(effective_stars_expr().desc(), Product.name, Product.id)
    )


def non_public_count(producer: Producer) -> int:
    """Drafts, archived and hidden products: only managers see these on their dashboard."""
    return (
        db.session.scalar(
            sa.select(sa.func.count(Product.id)).where(
                Product.producer_id == producer.id,
                sa.or_(Product.status != "published", Product.hidden.is_(True)),
            )
        )
        or 0
    )


# --------------------------------------------------------------------------- dashboard


@dataclass
class Dashboard:
    producers: list[Producer]
    products: dict[int, list[Product]]
    claims: list[ProducerClaim]


def dashboard_for(user: User) -> Dashboard:
    producers = managed_producers(user)
    products: dict[int, list[Product]] = {p.id: [] for p in producers}
    if producers:
        for product in db.session.scalars(
            sa.select(Product)
            .where(Product.producer_id.in_(list(products)))
            .order_by(Product.producer_id, Product.updated_at.desc(), Product.id.desc())
        ):
            products[product.producer_id].append(product)
    claims = list(
        db.session.scalars(
            sa.select(ProducerClaim)
            .where(ProducerClaim.user_id == user.id)
            .order_by(ProducerClaim.created_at.desc(), ProducerClaim.id.desc())
            .limit(50)
        )
    )
    return Dashboard(producers=producers, products=products, claims=claims)


# --------------------------------------------------------------------------- create / edit


@dataclass
class ProducerData:
    name: str = ""
    kind: str = "cooperative"
    district: str = ""
    commune: str = ""
    craft_village: str = ""
    address: str = ""
    story: str = ""
    phone: str = ""
    email: str = ""
    website: str = ""
    certifications: list[str] = field(default_factory=list)
    lat: float | None = None
    lng: float | None = None


def clean_website(text: str | None) -> str:
    """'' or an http(s) URL with a host. 'htx.vn' becomes 'https://htx.vn'; other schemes are refused."""
    value = nfc(text)
    if not value:
        return ""
    if any(ch.isspace() or ord(ch) < 32 for ch in value) or "\\" in value:
        raise ServiceError("website", _("Địa chỉ website không hợp lệ."))
    parts = urlsplit(value)
    if not parts.scheme and not value.startswith("/") and _HOST.match(value.split("/", 1)[0]):
        value = "https://" + value
        parts = urlsplit(value)
    if parts.scheme.lower() not in ("http", "https"):
        raise ServiceError("website", _("Website phải bắt đầu bằng http:// hoặc https://."))
    host = parts.hostname or ""
    if not host or "." not in host and host != "localhost" or not _HOST.match(parts.netloc.rsplit("@", 1)[-1]):
        raise ServiceError("website", _("Địa chỉ website không hợp lệ."))
    if "@" in parts.netloc:
        raise ServiceError("website", _("Địa chỉ website không hợp lệ."))
    if len(value) > 300:
        raise ServiceError("website", _("Địa chỉ website dài quá 300 ký tự."))
    return value


def _clean_coordinate(value: float | None, name: str, limit: float) -> float | None:
    if value is None:
        return None
    if not isinstance(value, int | float) or not math.isfinite(value) or not -limit <= value <= limit:
        if name == "lat":
            raise ServiceError("lat", _("Vĩ độ phải nằm trong khoảng -90 đến 90."))
        raise ServiceError("lng", _("Kinh độ phải nằm trong khoảng -180 đến 180."))
    return round(float(value), 6)


def clean_producer_data(data: ProducerData) -> dict:
    """Validate and normalise; returns the column values. Raises ServiceError(field, message)."""
    name = limit_length(clean_line(data.name), "name", 200)
    if not name:
        raise ServiceError("name", _("Vui lòng nhập tên cơ sở."))
    if data.kind not in PRODUCER_KINDS:
        raise ServiceError("kind", _("Loại hình không hợp lệ."))
    district = find_district(data.district)
    if district is None:
        raise ServiceError("district", _("Vui lòng chọn quận/huyện trong danh sách."))
    phone = limit_length(clean_line(data.phone), "phone", 30)
    if phone and not _PHONE.match(phone):
        raise ServiceError("phone", _("Số điện thoại chỉ gồm chữ số, dấu cách và các ký tự + ( ) . -"))
    email = limit_length(clean_line(data.email).lower(), "email", 254)
    if email and not EMAIL_PATTERN.match(email):
        raise ServiceError("email", _("Địa chỉ email không hợp lệ."))
    certifications: list[str] = []
    for item in data.certifications:
        if clean_line(item):
            code = canonical_certification(clean_line(item))
            if code and code not in certifications:
                certifications.append(code)
    joined = limit_length(";".join(certifications), "certifications", 500)
    lat = _clean_coordinate(data.lat, "lat", 90)
    lng = _clean_coordinate(data.lng, "lng", 180)
    if (lat is None) != (lng is None):
        raise ServiceError("lng" if lng is None else "lat", _("Nhập cả vĩ độ và kinh độ, hoặc để trống cả hai."))
    return {
        "name": name,
        "kind": data.kind,
        "district": district.name,
        "commune": limit_length(clean_line(data.commune), "commune", 80),
        "craft_village": limit_length(clean_line(data.craft_village), "craft_village", 120),
        "address": limit_length(clean_line(data.address), "address", 300),
        "story": limit_length(nfc(data.story).replace("\r\n", "\n"), "story", 5000),
        "phone": phone,
        "email": email,
        "website": clean_website(data.website),
        "certifications": joined,
        "lat": lat,
        "lng": lng,
    }


def _ensure_unique(name: str, district: str, exclude_id: int | None = None) -> None:
    stmt = sa.select(Producer.id, Producer.name).where(Producer.district == district)
    if exclude_id is not None:
        stmt = stmt.where(Producer.id != exclude_id)
    key = exact_key(name)
    for _id, other in db.session.execute(stmt):
        if exact_key(other) == key:
            raise ServiceError(
                "name",
                _(
                    "Đã có cơ sở tên “%(name)s” ở %(district)s. Nếu đó là cơ sở của bạn, hãy gửi yêu cầu nhận quản lý gian hàng đó.",
                    name=other,
                    district=district,
                ),
            )


def create_producer(user: User, data: ProducerData) -> Producer:
    """A producer user opens a new storefront and becomes its first manager."""
    if not user.has_role("producer"):
        raise NotAllowed()
    values = clean_producer_data(data)
    _ensure_unique(values["name"], values["district"])
    producer = Producer(**values)
    producer.managers.append(user)
    db.session.add(producer)
    db.session.flush()
    return producer


def update_producer(user: User, producer: Producer, data: ProducerData) -> Producer:
    ensure_manager(user, producer)
    values = clean_producer_data(data)
    _ensure_unique(values["name"], values["district"], exclude_id=producer.id)
    for key, value in values.items():
        setattr(producer, key, value)
    db.session.flush()
    return producer


# --------------------------------------------------------------------------- photos


@dataclass(frozen=True)
class Upload:
    filename: str
    data: bytes


@dataclass
class PhotoResult:
    added: list[ProducerPhoto]
    errors: list[str]


def add_photos(user: User, producer: Producer, uploads: Iterable[Upload]) -> PhotoResult:
    """Store each valid image; refuse the others one by one with a message naming the file."""
    ensure_manager(user, producer)
    chosen = [u for u in uploads if u.filename or u.data]
    if not chosen:
        raise ServiceError("photos", _("Vui lòng chọn ít nhất một ảnh."))
    limit = int(current_app.config.get("MAX_PRODUCER_PHOTOS", MAX_PRODUCER_PHOTOS))
    position = max((p.position for p in producer.photos), default=-1) + 1
    room = limit - len(producer.photos)
    result = PhotoResult(added=[], errors=[])
    for upload in chosen:
        name = clean_line(upload.filename) or _("(không tên)")
        if room <= 0:
            result.errors.append(_("%(name)s: gian hàng đã có đủ %(n)s ảnh.", name=name, n=limit))
            continue
        try:
            stored = save_image(upload.data, field="photos")
        except ServiceError as error:
            result.errors.append(_("%(name)s: %(message)s", name=name, message=error.message))
            continue
        photo = ProducerPhoto(filename=stored.filename, thumb_filename=stored.thumb_filename, position=position)
        producer.photos.append(photo)
        result.added.append(photo)
        position += 1
        room -= 1
    db.session.flush()
    return result


def delete_photo(user: User, producer: Producer, photo_id: int) -> StoredImage:
    """Remove a photo row; returns the files for the caller to delete after commit."""
    ensure_manager(user, producer)
    photo = db.session.get(ProducerPhoto, photo_id)
    if photo is None or photo.producer_id != producer.id:
        raise ServiceError(None, _("Không tìm thấy ảnh này."), code="not_found")
    stored = StoredImage(filename=photo.filename, thumb_filename=photo.thumb_filename)
    producer.photos.remove(photo)
    db.session.delete(photo)
    db.session.flush()
    return stored
