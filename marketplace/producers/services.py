"""Producer storefronts: directory, editing, photos, claims and invitations.

Services validate, change objects and flush; the views commit. Every message is Vietnamese.
"""

from __future__ import annotations

import hashlib
import math
import re
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from marketplace.accounts.models import User
from marketplace.accounts.services import normalise_email
from marketplace.catalog.models import Certificate, Product
from marketplace.catalog.stars import effective_stars_expr
from marketplace.core.errors import NotAllowed, ServiceError
from marketplace.core.models import utcnow
from marketplace.core.pagination import Page
from marketplace.core.uploads import StoredImage, save_image
from marketplace.core.validation import limit_length
from marketplace.core.vn_text import clean_line, exact_key, fold, nfc
from marketplace.data import PRODUCER_KINDS, canonical_certification, find_district
from marketplace.extensions import db
from marketplace.mail.services import queue_mail
from marketplace.producers.models import (
    Producer,
    ProducerClaim,
    ProducerInvitation,
    ProducerPhoto,
    producer_managers,
)

MAX_PRODUCER_PHOTOS = 8
CLAIM_STATUSES = ("pending", "approved", "rejected")
_PHONE = re.compile(r"^[0-9+().\s-]{6,30}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
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


# --------------------------------------------------------------------------- directory


@dataclass(frozen=True)
class DirectoryFilters:
    q: str = ""
    kind: str = ""
    district: str = ""
    craft_village: str = ""

    @property
    def active(self) -> bool:
        return bool(self.q or self.kind or self.district or self.craft_village)


@dataclass(frozen=True)
class DirectoryRow:
    producer: Producer
    product_count: int
    best_stars: int


def normalise_filters(
    q: str | None, kind: str | None, district: str | None, craft_village: str | None
) -> DirectoryFilters:
    """Unknown kinds are dropped; a district typed without diacritics becomes its real name."""
    found = find_district(district)
    return DirectoryFilters(
        q=clean_line(q)[:200],
        kind=kind if kind in PRODUCER_KINDS else "",
        district=found.name if found else clean_line(district)[:80],
        craft_village=clean_line(craft_village)[:120],
    )


def _matches(needles: list[str], *values: str) -> bool:
    haystack = fold(" | ".join(v for v in values if v))
    return all(n in haystack for n in needles)


def directory_page(filters: DirectoryFilters, page: int, per_page: int) -> Page[DirectoryRow]:
    """Producers by name; `q` matches name, district, commune and craft village without diacritics
    ("dong anh" finds "Đông Anh"). Each row carries its public product count and best valid stars."""
    stmt = sa.select(Producer.id).order_by(Producer.name, Producer.id)
    if filters.kind:
        stmt = stmt.where(Producer.kind == filters.kind)
    if filters.district:
        stmt = stmt.where(Producer.district == filters.district)
    if filters.craft_village:
        stmt = stmt.where(Producer.craft_village == filters.craft_village)
    needles = fold(filters.q).split()
    if needles:
        rows = db.session.execute(
            stmt.add_columns(Producer.name, Producer.district, Producer.commune, Producer.craft_village)
        ).all()
        ids = [r.id for r in rows if _matches(needles, r.name, r.district, r.commune, r.craft_village)]
        total = len(ids)
        page = min(page, max(1, math.ceil(total / per_page)))
        page_ids = ids[(page - 1) * per_page : page * per_page]
    else:
        total = db.session.scalar(sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery())) or 0
        page = min(page, max(1, math.ceil(total / per_page)))
        page_ids = list(db.session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)))
    producers = {
        p.id: p
        for p in db.session.scalars(
            sa.select(Producer).where(Producer.id.in_(page_ids)).options(selectinload(Producer.photos))
        )
    }
    stats = product_stats(page_ids)
    items = [DirectoryRow(producers[i], *stats.get(i, (0, 0))) for i in page_ids if i in producers]
    return Page(items=items, total=total, page=page, per_page=per_page)


def product_stats(producer_ids: Sequence[int]) -> dict[int, tuple[int, int]]:
    """producer id -> (public product count, best valid stars), in one grouped query."""
    if not producer_ids:
        return {}
    rows = db.session.execute(
        sa.select(Product.producer_id, sa.func.count(Product.id), sa.func.max(effective_stars_expr()))
        .select_from(Product)
        .outerjoin(Certificate, Certificate.product_id == Product.id)
        .where(Product.producer_id.in_(list(producer_ids)), Product.status == "published", Product.hidden.is_(False))
        .group_by(Product.producer_id)
    ).all()
    return {pid: (int(count), int(best or 0)) for pid, count, best in rows}


def craft_village_options() -> list[str]:
    """Craft villages that have at least one producer, for the directory filter."""
    return list(
        db.session.scalars(
            sa.select(Producer.craft_village)
            .where(Producer.craft_village != "")
            .distinct()
            .order_by(Producer.craft_village)
        )
    )


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
    if email and not _EMAIL.match(email):
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


# --------------------------------------------------------------------------- claims


def _certificate_key(text: str | None) -> str:
    """Certificate numbers compare without case, diacritics or spaces: 'Số 12/QĐ' = 'so12/qd'."""
    return "".join(fold(text).split())


def create_claim(user: User, producer: Producer, evidence: str, message: str = "") -> ProducerClaim:
    """A producer user asks to manage an unmanaged storefront, giving a certificate number."""
    if not user.has_role("producer"):
        raise NotAllowed()
    if producer.managers:
        raise ServiceError(None, _("Gian hàng này đã có người quản lý nên không thể nhận quản lý."))
    evidence = limit_length(clean_line(evidence), "evidence", 200)
    if not evidence:
        raise ServiceError("evidence", _("Vui lòng nhập số giấy chứng nhận OCOP."))
    message = limit_length(nfc(message).replace("\r\n", "\n"), "message", 2000)
    pending = db.session.scalar(
        sa.select(ProducerClaim.id).where(
            ProducerClaim.user_id == user.id,
            ProducerClaim.producer_id == producer.id,
            ProducerClaim.status == "pending",
        )
    )
    if pending is not None:
        raise ServiceError(
            None, _("Bạn đã gửi yêu cầu nhận quản lý gian hàng này; vui lòng chờ ban tổ chức xét duyệt.")
        )
    claim = ProducerClaim(producer=producer, user=user, evidence=evidence, message=message, status="pending")
    db.session.add(claim)
    db.session.flush()
    return claim


@dataclass(frozen=True)
class ClaimReview:
    claim: ProducerClaim
    evidence_matches: bool
    certificate_numbers: list[str]
    already_managed: bool


def pending_claims(page: int, per_page: int) -> Page[ClaimReview]:
    """The organisers' queue, oldest first, each claim checked against its producer's certificates."""
    stmt = sa.select(ProducerClaim).where(ProducerClaim.status == "pending")
    total = db.session.scalar(sa.select(sa.func.count()).select_from(stmt.subquery())) or 0
    page = min(page, max(1, math.ceil(total / per_page)))
    claims = list(
        db.session.scalars(
            stmt.order_by(ProducerClaim.created_at, ProducerClaim.id).limit(per_page).offset((page - 1) * per_page)
        )
    )
    numbers = certificate_numbers({c.producer_id for c in claims})
    items = [
        ClaimReview(
            claim=c,
            evidence_matches=_certificate_key(c.evidence)
            in {_certificate_key(n) for n in numbers.get(c.producer_id, [])},
            certificate_numbers=numbers.get(c.producer_id, []),
            already_managed=bool(c.producer.managers),
        )
        for c in claims
    ]
    return Page(items=items, total=total, page=page, per_page=per_page)


def certificate_numbers(producer_ids: Iterable[int]) -> dict[int, list[str]]:
    ids = list(producer_ids)
    if not ids:
        return {}
    found: dict[int, list[str]] = {}
    rows = db.session.execute(
        sa.select(Product.producer_id, Certificate.number)
        .join(Certificate, Certificate.product_id == Product.id)
        .where(Product.producer_id.in_(ids), Certificate.number != "")
        .order_by(Certificate.number)
    )
    for producer_id, number in rows:
        found.setdefault(producer_id, [])
        if number not in found[producer_id]:
            found[producer_id].append(number)
    return found


def evidence_matches(claim: ProducerClaim) -> bool:
    key = _certificate_key(claim.evidence)
    return bool(key) and key in {
        _certificate_key(n) for n in certificate_numbers([claim.producer_id]).get(claim.producer_id, [])
    }


def _decide(claim: ProducerClaim, organiser: User, status: str, reason: str = "") -> None:
    """Move a pending claim to its decision once, even when two organisers click together."""
    result = db.session.execute(
        sa.update(ProducerClaim)
        .where(ProducerClaim.id == claim.id, ProducerClaim.status == "pending")
        .values(status=status, reason=reason, decided_by_id=organiser.id, decided_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.refresh(claim)
        raise ServiceError(None, _("Yêu cầu này đã được xử lý."))
    db.session.refresh(claim)


def approve_claim(organiser: User, claim: ProducerClaim) -> ProducerClaim:
    ensure_staff(organiser)
    if claim.status != "pending":
        raise ServiceError(None, _("Yêu cầu này đã được xử lý."))
    producer = claim.producer
    if producer.managers:
        raise ServiceError(
            None, _("Gian hàng đã có người quản lý. Hãy từ chối yêu cầu này hoặc gửi lời mời quản lý thay thế.")
        )
    _decide(claim, organiser, "approved")
    user = claim.user
    producer.managers.append(user)
    user.roles = user.roles | {"producer"}
    from marketplace.dashboard.audit import log_action

    log_action(organiser, "claim.approve", "producer_claim", claim.id, f"{producer.name} · {user.email}")
    queue_mail(
        user.email,
        _("Yêu cầu nhận quản lý “%(name)s” đã được duyệt", name=producer.name),
        _(
            "Xin chào %(user)s,\n\nBan tổ chức đã duyệt yêu cầu của bạn. Từ nay bạn quản lý gian hàng “%(name)s” "
            "trên OCOP Trade Connect: cập nhật thông tin cơ sở và đăng sản phẩm trong mục “Gian hàng của tôi”.\n",
            user=user.name or user.email,
            name=producer.name,
        ),
    )
    db.session.flush()
    return claim


def reject_claim(organiser: User, claim: ProducerClaim, reason: str) -> ProducerClaim:
    ensure_staff(organiser)
    reason = limit_length(nfc(reason).replace("\r\n", "\n"), "reason", 2000)
    if not reason:
        raise ServiceError("reason", _("Vui lòng nêu lý do từ chối."))
    if claim.status != "pending":
        raise ServiceError(None, _("Yêu cầu này đã được xử lý."))
    _decide(claim, organiser, "rejected", reason)
    user = claim.user
    from marketplace.dashboard.audit import log_action

    log_action(organiser, "claim.reject", "producer_claim", claim.id, f"{claim.producer.name} · {user.email}", reason)
    queue_mail(
        user.email,
        _("Yêu cầu nhận quản lý “%(name)s” chưa được chấp thuận", name=claim.producer.name),
        _(
            "Xin chào %(user)s,\n\nBan tổ chức chưa chấp thuận yêu cầu nhận quản lý gian hàng “%(name)s”.\n"
            "Lý do: %(reason)s\n\nBạn có thể gửi lại yêu cầu với số giấy chứng nhận OCOP đúng của cơ sở.\n",
            user=user.name or user.email,
            name=claim.producer.name,
            reason=reason,
        ),
    )
    db.session.flush()
    return claim


# --------------------------------------------------------------------------- invitations


class InvitationInvalid(ServiceError):
    """An unknown, used or expired invitation link; `status` is the HTTP status to answer with."""

    def __init__(self, reason: str, email: str = ""):
        messages = {
            "unknown": lambda: _("Liên kết mời không tồn tại hoặc đã bị nhập sai."),
            "used": lambda: _("Lời mời này đã được sử dụng. Mỗi liên kết mời chỉ dùng được một lần."),
            "expired": lambda: _("Lời mời này đã hết hạn. Vui lòng đề nghị ban tổ chức gửi lời mời mới."),
            "other_account": lambda: _(
                "Lời mời này được gửi tới %(email)s. Bạn đang đăng nhập bằng một địa chỉ khác: hãy đăng xuất, "
                "rồi đăng nhập (hoặc đăng ký) bằng địa chỉ nhận lời mời.",
                email=email,
            ),
        }
        super().__init__(None, messages[reason](), code=reason)
        self.reason = reason
        self.status = {"unknown": 404, "other_account": 403}.get(reason, 410)


def masked_email(email: str) -> str:
    """ "chu.co.so@example.vn" -> "c•••@example.vn": enough for the invitee to recognise."""
    local, _at, domain = email.partition("@")
    return f"{local[:1]}•••@{domain}" if domain else "•••"


def check_invitee(user: User, invitation: ProducerInvitation) -> None:
    """Only the account with the invited address may accept: a forwarded or leaked link does not
    make a stranger a manager of the storefront."""
    if normalise_email(user.email) != invitation.email:
        raise InvitationInvalid("other_account", email=masked_email(invitation.email))


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def invitation_status(invitation: ProducerInvitation, now: datetime | None = None) -> str:
    """pending | used | expired."""
    if invitation.used_at is not None:
        return "used"
    return "expired" if invitation.expires_at <= (now or utcnow()) else "pending"


def create_invitation(
    organiser: User, producer: Producer, email: str, link_for: Callable[[str], str]
) -> tuple[ProducerInvitation, str]:
    """Make a single-use link (only its hash is stored), mail it, and return it to show once."""
    ensure_staff(organiser)
    email = clean_line(email).lower()
    if not email or len(email) > 254 or not _EMAIL.match(email):
        raise ServiceError("email", _("Địa chỉ email không hợp lệ."))
    token = secrets.token_urlsafe(32)
    invitation = ProducerInvitation(
        producer=producer,
        email=email,
        token_hash=hash_token(token),
        created_by_id=organiser.id,
        expires_at=utcnow() + timedelta(seconds=int(current_app.config["INVITATION_MAX_AGE"])),
    )
    db.session.add(invitation)
    db.session.flush()
    from marketplace.dashboard.audit import log_action

    log_action(organiser, "producer.invite", "producer", producer.id, f"{producer.name} · {email}")
    link = link_for(token)
    days = max(1, int(current_app.config["INVITATION_MAX_AGE"]) // 86400)
    queue_mail(
        email,
        _("Lời mời quản lý gian hàng “%(name)s” trên OCOP Trade Connect", name=producer.name),
        _(
            "Xin chào,\n\nBan tổ chức mời bạn quản lý gian hàng “%(name)s” (%(district)s) trên OCOP Trade Connect.\n"
            "Đăng nhập (hoặc đăng ký) rồi mở liên kết sau để nhận lời mời:\n\n%(link)s\n\n"
            "Liên kết chỉ dùng được một lần và hết hạn sau %(days)s ngày.\n",
            name=producer.name,
            district=producer.district,
            link=link,
            days=days,
        ),
    )
    return invitation, link


def recent_invitations(producer: Producer, limit: int = 20) -> list[ProducerInvitation]:
    return list(
        db.session.scalars(
            sa.select(ProducerInvitation)
            .where(ProducerInvitation.producer_id == producer.id)
            .order_by(ProducerInvitation.created_at.desc(), ProducerInvitation.id.desc())
            .limit(limit)
        )
    )


def find_invitation(token: str) -> ProducerInvitation:
    """The pending invitation behind `token`, or InvitationInvalid (unknown, used, expired)."""
    if not token or len(token) > 200:
        raise InvitationInvalid("unknown")
    invitation = db.session.scalar(
        sa.select(ProducerInvitation).where(ProducerInvitation.token_hash == hash_token(token))
    )
    if invitation is None:
        raise InvitationInvalid("unknown")
    status = invitation_status(invitation)
    if status != "pending":
        raise InvitationInvalid(status)
    return invitation


def accept_invitation(user: User, token: str) -> ProducerInvitation:
    """The recipient (the account with the invited address) becomes a manager of the producer and
    gains the producer role; single use."""
    invitation = find_invitation(token)
    check_invitee(user, invitation)
    now = utcnow()
    result = db.session.execute(
        sa.update(ProducerInvitation)
        .where(ProducerInvitation.id == invitation.id, ProducerInvitation.used_at.is_(None))
        .values(used_at=now, used_by_id=user.id)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise InvitationInvalid("used")
    db.session.refresh(invitation)
    producer = invitation.producer
    if not producer.is_managed_by(user):
        producer.managers.append(user)
    user.roles = user.roles | {"producer"}
    db.session.flush()
    return invitation
