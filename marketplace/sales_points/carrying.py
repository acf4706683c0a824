"""The producers' side of carrying: the products a producer user manages, the approved points
carrying them, and carry requests (a producer asks a point to carry a product; the point's operator
accepts or declines, the producer may withdraw). Split from services.py, which keeps the operator's
own point, photos and carried products; the pages live in manage.py.

Like every service here these validate, change objects, flush and raise ServiceError / NotAllowed;
they never commit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _

from marketplace.accounts.models import User
from marketplace.catalog.models import Product
from marketplace.catalog.services import managed_products_stmt
from marketplace.core.errors import NotAllowed, ServiceError
from marketplace.core.models import utcnow
from marketplace.core.validation import limit_length
from marketplace.core.vn_text import nfc
from marketplace.extensions import db
from marketplace.mail.services import queue_mail
from marketplace.producers.models import producer_managers
from marketplace.sales_points.models import CarryRequest, SalesPoint, SalesPointProduct
from marketplace.sales_points.services import ensure_operator, notify_owner, start_carrying


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
    notify_owner(
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
        start_carrying(point, product)
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
