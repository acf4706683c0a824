"""Looking up a producer for a view: 404 when it does not exist, 403 when the visitor does not
manage it (the managers' pages of storefronts, certificates and bank accounts)."""

from __future__ import annotations

from flask import abort
from flask_login import current_user

from marketplace.extensions import db
from marketplace.producers.models import Producer


def producer_or_404(producer_id: int) -> Producer:
    producer = db.session.get(Producer, producer_id)
    if producer is None:
        abort(404)
    return producer


def managed_or_403(producer_id: int) -> Producer:
    producer = producer_or_404(producer_id)
    if not producer.is_managed_by(current_user):
        abort(403)
    return producer
