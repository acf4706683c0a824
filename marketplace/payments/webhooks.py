"""POST /payments/webhook: Stripe events. The only CSRF-exempt route of the HTML side.

The raw body is verified with `stripe.Webhook.construct_event` (tolerance 300 s) before anything
is written: a tampered or stale event is a 400 and leaves no trace. The event id is inserted
first, in the same transaction as the order change, so a copy (resent, or 20 at once) fails on
the primary key and changes nothing; the conditional UPDATE in services.move() guards the rest.
"""

from __future__ import annotations

import json

import sqlalchemy as sa
import stripe
from flask import current_app, jsonify, request

from marketplace.extensions import csrf, db
from marketplace.payments import cards, stripe_client
from marketplace.payments.views import bp


@bp.post("/webhook")
@csrf.exempt
def webhook():
    if not stripe_client.webhooks_enabled():
        return jsonify({"error": "webhooks are not configured"}), 503
    payload = request.get_data(cache=False)
    try:
        stripe_client.construct_event(payload, request.headers.get("Stripe-Signature"))
        event = json.loads(payload)
        event_id = str(event["id"])
    except (ValueError, KeyError, TypeError, stripe.SignatureVerificationError) as error:
        current_app.logger.info("webhook refused: %s", error)
        return jsonify({"error": "invalid payload or signature"}), 400
    try:
        outcome = cards.handle_event(event)
        db.session.commit()
    except sa.exc.IntegrityError:
        db.session.rollback()  # this event id was already applied (or is being applied right now)
        return jsonify({"received": True, "id": event_id, "duplicate": True})
    except sa.exc.OperationalError:
        db.session.rollback()  # database busy: Stripe retries later
        current_app.logger.warning("webhook %s: database busy, asking Stripe to retry", event_id)
        return jsonify({"error": "busy, retry"}), 503
    return jsonify({"received": True, "id": event_id, "outcome": outcome})
