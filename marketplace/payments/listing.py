"""The organisers' order list with filters and its CSV export, and a user's own orders."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from marketplace.accounts.models import User
from marketplace.core.vn_text import clean_line
from marketplace.extensions import db
from marketplace.payments.models import METHODS, ORDER_KINDS, ORDER_STATES, SETTLEMENT_STATES, Order
from marketplace.producers.models import Producer, producer_managers


@dataclass(frozen=True)
class OrderFilters:
    state: str = ""
    kind: str = ""
    method: str = ""
    settlement: str = ""
    q: str = ""

    @classmethod
    def from_args(cls, args: Any) -> OrderFilters:
        def pick(name: str, allowed: Iterable[str]) -> str:
            value = str(args.get(name) or "")
            return value if value in allowed else ""

        return cls(
            state=pick("state", ORDER_STATES),
            kind=pick("kind", ORDER_KINDS),
            method=pick("method", METHODS),
            settlement=pick("settlement", SETTLEMENT_STATES),
            q=clean_line(str(args.get("q") or ""))[:40].upper(),
        )


def admin_orders_query(filters: OrderFilters) -> sa.Select:
    stmt = sa.select(Order)
    if filters.state:
        stmt = stmt.where(Order.state == filters.state)
    if filters.kind:
        stmt = stmt.where(Order.kind == filters.kind)
    if filters.method:
        stmt = stmt.where(Order.method == filters.method)
    if filters.settlement:
        stmt = stmt.where(Order.settlement_state == filters.settlement)
    if filters.q:
        stmt = stmt.where(Order.reference.contains(filters.q, autoescape=True))
    return stmt.order_by(Order.created_at.desc(), Order.id.desc())


def user_orders_query(user: User) -> sa.Select:
    managed = sa.select(producer_managers.c.producer_id).where(producer_managers.c.user_id == user.id)
    return (
        sa.select(Order)
        .where(sa.or_(Order.buyer_id == user.id, Order.producer_id.in_(managed)))
        .order_by(Order.created_at.desc(), Order.id.desc())
    )


CSV_COLUMNS = (
    "id",
    "reference",
    "created_at",
    "kind",
    "state",
    "method",
    "buyer_email",
    "producer",
    "amount_vnd",
    "refunded_vnd",
    "producer_share_vnd",
    "platform_fee_vnd",
    "settlement_state",
    "settled_on",
    "settlement_reference",
    "paid_at",
)


def _csv_safe(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def orders_csv(filters: OrderFilters) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    yield "\ufeff" + buffer.getvalue()
    stmt = admin_orders_query(filters).execution_options(yield_per=500)
    for order in db.session.scalars(stmt):
        buffer.seek(0)
        buffer.truncate()
        producer: Producer | None = order.producer
        writer.writerow(
            [
                order.id,
                order.reference,
                order.created_at.isoformat(),
                order.kind,
                order.state,
                order.method,
                _csv_safe(order.buyer.email),
                _csv_safe(producer.name if producer else ""),
                order.amount_vnd,
                order.refunded_vnd,
                order.producer_share_vnd,
                order.platform_fee_vnd,
                order.settlement_state,
                order.settled_on.isoformat() if order.settled_on else "",
                _csv_safe(order.settlement_reference),
                order.paid_at.isoformat() if order.paid_at else "",
            ]
        )
        yield buffer.getvalue()
