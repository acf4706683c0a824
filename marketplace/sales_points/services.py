"""Business rules of the sales point registry: applications, photos, the products a point carries
and their stock, organisers' reviews (Decision 950 checklist), producers' carry requests.

Services validate, change objects, flush and raise ServiceError / NotAllowed; they never commit.
Public read queries (registry, exports, "where to buy") live in registry.py.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from marketplace.accounts.models import User
from marketplace.api.queries import ProductFilters, search_ids_by_substring
from marketplace.catalog.models import Product
from marketplace.catalog.services import managed_products_stmt
from marketplace.catalog.stars import effective_stars
from marketplace.core.errors import NotAllowed, ServiceError
from marketplace.core.models import utcnow
from marketplace.core.pagination import Page, paginate
from marketplace.core.uploads import StoredImage, delete_image, save_image
from marketplace.core.validation import limit_length
from marketplace.core.vn_text import clean_line, nfc
from marketplace.data import SALES_POINT_KINDS, find_district
from marketplace.extensions import db
from marketplace.mail.services import queue_mail
from marketplace.producers.models import producer_managers
from marketplace.sales_points import hours
from marketplace.sales_points.models import (
    ALL_STATUSES,
    CarryRequest,
    SalesPoint,
    SalesPointPhoto,
    SalesPointProduct,
    SalesPointReview,
)

MAX_SALES_POINT_PHOTOS = 6
MAX_CARRIED_PRODUCTS = 500
REF_PREFIX = "HN-SP-"
REF_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
_PHONE = re.compile(r"^[0-9+().\s-]{6,30}$")

# Decision 950/QĐ-BCT: what an organiser checks before approving a point.
CHECKLIST: tuple[tuple[str, object], ...] = (
    (
        "place",
        _l(
            "Loại địa điểm phù hợp: cửa hàng, trung tâm thương mại, chợ, nhà ga, sân bay, trạm dừng nghỉ, "
            "khách sạn, làng nghề hoặc bưu điện, có địa chỉ cố định."
        ),
    ),
    ("products", _l("Bày bán sản phẩm OCOP đạt từ 3 sao trở lên hoặc đặc sản của địa phương.")),
    ("display", _l("Có khu vực trưng bày, giới thiệu sản phẩm OCOP riêng, dễ nhận biết.")),
    ("contact", _l("Giờ mở cửa, điện thoại liên hệ và người phụ trách rõ ràng.")),
)
CHECKLIST_CODES = tuple(code for code, _label in CHECKLIST)


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
    _carry(point, product)
    point.updated_at = utcnow()
    _refresh_products(point)
    return product


def _carry(point: SalesPoint, product: Product) -> None:
    db.session.add(
        SalesPointProduct(sales_point_id=point.id, product_id=product.id, in_stock=True, stock_updated_at=utcnow())
    )


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


# --------------------------------------------------------------------------- reviews


def review_page(status: str, page: int, per_page: int) -> Page[SalesPoint]:
    """Points in `status` for organisers: the pending queue oldest first, the others newest first."""
    if status not in ALL_STATUSES:
        status = "pending"
    stmt = sa.select(SalesPoint).where(SalesPoint.status == status)
    if status == "pending":
        stmt = stmt.order_by(SalesPoint.created_at, SalesPoint.id)
    else:
        stmt = stmt.order_by(SalesPoint.updated_at.desc(), SalesPoint.id.desc())
    return paginate(stmt, page, per_page)


def status_counts() -> dict[str, int]:
    rows = db.session.execute(sa.select(SalesPoint.status, sa.func.count()).group_by(SalesPoint.status)).all()
    counts = dict.fromkeys(ALL_STATUSES, 0)
    counts.update({status: n for status, n in rows if status in counts})
    return counts


def _checklist(answers: Mapping[str, bool] | None) -> dict[str, bool]:
    answers = answers or {}
    return {code: bool(answers.get(code)) for code in CHECKLIST_CODES}


def _transition(point: SalesPoint, from_statuses: tuple[str, ...], to_status: str) -> None:
    """Change the status once, even when two organisers decide at the same time."""
    result = db.session.execute(
        sa.update(SalesPoint)
        .where(SalesPoint.id == point.id, SalesPoint.status.in_(from_statuses))
        .values(status=to_status, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(point)
    if result.rowcount != 1:
        raise ServiceError(None, _("Trạng thái điểm bán đã thay đổi. Vui lòng tải lại trang và xem lại."))


def _record(point: SalesPoint, reviewer: User, decision: str, reason: str, checklist: dict[str, bool]):
    review = SalesPointReview(
        sales_point_id=point.id, reviewer_id=reviewer.id, decision=decision, reason=reason, checklist=checklist
    )
    db.session.add(review)
    db.session.flush()
    db.session.expire(point, ["reviews"])
    return review


def _reason(text: str | None, required_message: str) -> str:
    reason = limit_length(nfc(text).replace("\r\n", "\n"), "reason", 2000)
    if not reason:
        raise ServiceError("reason", required_message)
    return reason


def _notify_owner(point: SalesPoint, subject: str, body: str) -> None:
    owner = point.owner
    if owner is not None and owner.email:
        queue_mail(owner.email, subject, body)


def approve(reviewer: User, point: SalesPoint, answers: Mapping[str, bool], note: str = "") -> SalesPointReview:
    """Approve a pending application; every checklist item must be met."""
    ensure_staff(reviewer)
    checklist = _checklist(answers)
    if not all(checklist.values()):
        raise ServiceError("checklist", _("Chỉ duyệt khi điểm bán đạt đủ các tiêu chí trong danh sách kiểm tra."))
    note = limit_length(nfc(note).replace("\r\n", "\n"), "reason", 2000)
    _transition(point, ("pending",), "approved")
    review = _record(point, reviewer, "approved", note, checklist)
    from marketplace.dashboard.audit import log_action

    log_action(reviewer, "sales_point.approve", "sales_point", point.id, f"{point.name} ({point.ref})", note)
    _notify_owner(
        point,
        _("Điểm bán “%(name)s” đã được duyệt", name=point.name),
        _(
            "Xin chào,\n\nBan tổ chức đã duyệt điểm giới thiệu và bán sản phẩm OCOP “%(name)s” (mã %(ref)s). "
            "Điểm bán đã hiển thị trên bản đồ điểm bán OCOP Hà Nội và trong mục “Nơi mua” của các sản phẩm "
            "bạn bày bán.\n\nHãy cập nhật tình trạng còn hàng thường xuyên để khách không mất công tìm đến.\n",
            name=point.name,
            ref=point.ref,
        ),
    )
    return review


def reject(reviewer: User, point: SalesPoint, reason: str, answers: Mapping[str, bool] | None = None):
    ensure_staff(reviewer)
    reason = _reason(reason, _("Vui lòng nêu lý do từ chối để người đăng ký bổ sung."))
    _transition(point, ("pending",), "rejected")
    review = _record(point, reviewer, "rejected", reason, _checklist(answers))
    from marketplace.dashboard.audit import log_action

    log_action(reviewer, "sales_point.reject", "sales_point", point.id, f"{point.name} ({point.ref})", reason)
    _notify_owner(
        point,
        _("Hồ sơ điểm bán “%(name)s” chưa được duyệt", name=point.name),
        _(
            "Xin chào,\n\nBan tổ chức chưa duyệt hồ sơ điểm bán “%(name)s” (mã %(ref)s).\nLý do: %(reason)s\n\n"
            "Bạn có thể sửa thông tin trong mục “Điểm bán của tôi”; hồ sơ sẽ được xem xét lại sau khi lưu.\n",
            name=point.name,
            ref=point.ref,
            reason=reason,
        ),
    )
    return review


def suspend(reviewer: User, point: SalesPoint, reason: str) -> SalesPointReview:
    ensure_staff(reviewer)
    reason = _reason(reason, _("Vui lòng nêu lý do tạm ngừng."))
    _transition(point, ("approved",), "suspended")
    review = _record(point, reviewer, "suspended", reason, {})
    from marketplace.dashboard.audit import log_action

    log_action(reviewer, "sales_point.suspend", "sales_point", point.id, f"{point.name} ({point.ref})", reason)
    _notify_owner(
        point,
        _("Điểm bán “%(name)s” bị tạm ngừng hiển thị", name=point.name),
        _(
            "Xin chào,\n\nBan tổ chức đã tạm ngừng hiển thị điểm bán “%(name)s” (mã %(ref)s) trên bản đồ "
            "điểm bán OCOP.\nLý do: %(reason)s\n\nVui lòng liên hệ ban tổ chức để được hướng dẫn khắc phục.\n",
            name=point.name,
            ref=point.ref,
            reason=reason,
        ),
    )
    return review


def reinstate(reviewer: User, point: SalesPoint, note: str = "") -> SalesPointReview:
    ensure_staff(reviewer)
    note = limit_length(nfc(note).replace("\r\n", "\n"), "reason", 2000)
    _transition(point, ("suspended",), "approved")
    review = _record(point, reviewer, "reinstated", note, {})
    from marketplace.dashboard.audit import log_action

    log_action(reviewer, "sales_point.reinstate", "sales_point", point.id, f"{point.name} ({point.ref})", note)
    _notify_owner(
        point,
        _("Điểm bán “%(name)s” hiển thị trở lại", name=point.name),
        _(
            "Xin chào,\n\nBan tổ chức đã cho điểm bán “%(name)s” (mã %(ref)s) hiển thị trở lại trên bản đồ "
            "điểm bán OCOP.\n",
            name=point.name,
            ref=point.ref,
        ),
    )
    return review


@dataclass(frozen=True)
class ReviewFacts:
    """What an organiser sees next to the checklist."""

    products: int  # public products carried
    rated: int  # of which counted 3★ or more
    in_stock: int


def review_facts(point: SalesPoint) -> ReviewFacts:
    rows = [r for r in carried_rows(point) if r.product.is_public]
    return ReviewFacts(
        products=len(rows),
        rated=sum(1 for r in rows if effective_stars(r.product.certificate) >= 3),
        in_stock=sum(1 for r in rows if r.in_stock),
    )


# --------------------------------------------------------------------------- producers and carry requests


def managed_products(user: User) -> list[Product]:
    if user is None or not user.has_role("producer"):
        return []
    return list(db.session.scalars(managed_products_stmt(user).order_by(None).order_by(Product.name)).unique())


def _manages(user: User, product: Product) -> bool:
    return bool(user is not None and user.has_role("producer") and product.producer.is_managed_by(user))


@dataclass(frozen=True)
class Carrier:
    point: SalesPoint
    in_stock: bool


def carriers_of(products: Iterable[Product]) -> dict[int, list[Carrier]]:
    """Approved points carrying each product (by product id), by district and name."""
    ids = [p.id for p in products]
    result: dict[int, list[Carrier]] = {i: [] for i in ids}
    if not ids:
        return result
    rows = db.session.execute(
        sa.select(SalesPointProduct.product_id, SalesPointProduct.in_stock, SalesPoint)
        .join(SalesPoint, SalesPoint.id == SalesPointProduct.sales_point_id)
        .where(SalesPointProduct.product_id.in_(ids), SalesPoint.status == "approved")
        .order_by(SalesPoint.district, SalesPoint.name, SalesPoint.id)
    ).all()
    for product_id, in_stock, point in rows:
        result[product_id].append(Carrier(point, in_stock))
    return result


def requestable_points() -> list[SalesPoint]:
    """Approved points with an operator on the site (someone who can answer a request)."""
    return list(
        db.session.scalars(
            sa.select(SalesPoint)
            .where(SalesPoint.status == "approved", SalesPoint.owner_id.is_not(None))
            .order_by(SalesPoint.district, SalesPoint.name)
        )
    )


def request_carry(user: User, point: SalesPoint | None, product: Product | None, message: str = "") -> CarryRequest:
    """A producer's manager asks an approved point to carry one of its public products."""
    if product is None:
        raise ServiceError("product_id", _("Vui lòng chọn sản phẩm."))
    if not _manages(user, product):
        raise NotAllowed()
    if not product.is_public:
        raise ServiceError("product_id", _("Chỉ đề nghị được với sản phẩm đang hiển thị công khai."))
    if point is None or point.status != "approved":
        raise ServiceError("sales_point_id", _("Vui lòng chọn một điểm bán đã được duyệt."))
    if point.owner_id is None:
        raise ServiceError("sales_point_id", _("Điểm bán này chưa có người quản lý trên hệ thống."))
    if db.session.get(SalesPointProduct, (point.id, product.id)) is not None:
        raise ServiceError("product_id", _("Điểm bán này đã bày bán sản phẩm này."))
    pending = db.session.scalar(
        sa.select(CarryRequest.id).where(
            CarryRequest.sales_point_id == point.id,
            CarryRequest.product_id == product.id,
            CarryRequest.status == "pending",
        )
    )
    if pending is not None:
        raise ServiceError("product_id", _("Đã có một đề nghị đang chờ điểm bán này trả lời."))
    message = limit_length(nfc(message).replace("\r\n", "\n"), "message", 1000)
    carry = CarryRequest(sales_point=point, product=product, requested_by_id=user.id, message=message)
    db.session.add(carry)
    db.session.flush()
    _notify_owner(
        point,
        _("Đề nghị bày bán sản phẩm “%(product)s”", product=product.name),
        _(
            "Xin chào,\n\n%(producer)s đề nghị điểm bán “%(name)s” bày bán sản phẩm “%(product)s” (mã %(ref)s).\n"
            "%(message)s\nHãy trả lời đề nghị trong mục “Điểm bán của tôi”.\n",
            producer=product.producer.name,
            name=point.name,
            product=product.name,
            ref=product.ref,
            message=(_("Lời nhắn: %(text)s\n", text=message) if message else ""),
        ),
    )
    return carry


def _decide_request(carry: CarryRequest, user: User, status: str, response: str) -> None:
    result = db.session.execute(
        sa.update(CarryRequest)
        .where(CarryRequest.id == carry.id, CarryRequest.status == "pending")
        .values(status=status, response=response, decided_by_id=user.id, decided_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(carry)
    if result.rowcount != 1:
        raise ServiceError(None, _("Đề nghị này đã được xử lý."))


def _notify_requester(carry: CarryRequest, subject: str, body: str) -> None:
    requester = carry.requested_by
    if requester is not None and requester.email:
        queue_mail(requester.email, subject, body)


def accept_request(user: User, carry: CarryRequest, response: str = "") -> CarryRequest:
    point = carry.sales_point
    ensure_operator(user, point)
    response = limit_length(nfc(response).replace("\r\n", "\n"), "response", 1000)
    _decide_request(carry, user, "accepted", response)
    product = carry.product
    if db.session.get(SalesPointProduct, (point.id, product.id)) is None:
        _carry(point, product)
        point.updated_at = utcnow()
        _refresh_products(point)
    _notify_requester(
        carry,
        _("“%(name)s” nhận bày bán “%(product)s”", name=point.name, product=product.name),
        _(
            "Xin chào,\n\nĐiểm bán “%(name)s” (%(address)s) đã nhận bày bán sản phẩm “%(product)s”.\n%(response)s",
            name=point.name,
            address=", ".join(x for x in (point.address, point.district) if x),
            product=product.name,
            response=(_("Lời nhắn: %(text)s\n", text=response) if response else ""),
        ),
    )
    return carry


def decline_request(user: User, carry: CarryRequest, response: str = "") -> CarryRequest:
    point = carry.sales_point
    ensure_operator(user, point)
    response = limit_length(nfc(response).replace("\r\n", "\n"), "response", 1000)
    _decide_request(carry, user, "declined", response)
    _notify_requester(
        carry,
        _("“%(name)s” chưa nhận bày bán “%(product)s”", name=point.name, product=carry.product.name),
        _(
            "Xin chào,\n\nĐiểm bán “%(name)s” chưa nhận bày bán sản phẩm “%(product)s”.\n%(response)s",
            name=point.name,
            product=carry.product.name,
            response=(_("Lời nhắn: %(text)s\n", text=response) if response else ""),
        ),
    )
    return carry


def withdraw_request(user: User, carry: CarryRequest) -> CarryRequest:
    if not _manages(user, carry.product):
        raise NotAllowed()
    _decide_request(carry, user, "withdrawn", "")
    return carry


def incoming_requests(user: User, status: str = "pending") -> list[CarryRequest]:
    """Requests to the points `user` operates."""
    return list(
        db.session.scalars(
            sa.select(CarryRequest)
            .join(SalesPoint, SalesPoint.id == CarryRequest.sales_point_id)
            .where(SalesPoint.owner_id == user.id, CarryRequest.status == status)
            .order_by(CarryRequest.created_at, CarryRequest.id)
        )
    )


def outgoing_requests(user: User, limit: int = 100) -> list[CarryRequest]:
    """Requests about the products of the producers `user` manages, newest first."""
    return list(
        db.session.scalars(
            sa.select(CarryRequest)
            .join(Product, Product.id == CarryRequest.product_id)
            .join(producer_managers, producer_managers.c.producer_id == Product.producer_id)
            .where(producer_managers.c.user_id == user.id)
            .order_by(CarryRequest.created_at.desc(), CarryRequest.id.desc())
            .limit(limit)
        )
    )
