"""The few Stripe calls we make, through one `stripe.StripeClient` built from the app config.

STRIPE_API_BASE points the official library at another server (localstripe in tests). VND is a
zero-decimal currency: `amount=500000` charges ₫500,000. Payments are off unless both keys are set.
"""

from __future__ import annotations

from typing import Any

import stripe
from flask import current_app

CURRENCY = "vnd"
WEBHOOK_TOLERANCE = 300  # seconds


def enabled() -> bool:
    cfg = current_app.config
    return bool(cfg.get("STRIPE_SECRET_KEY") and cfg.get("STRIPE_PUBLISHABLE_KEY"))


def webhooks_enabled() -> bool:
    return bool(current_app.config.get("STRIPE_WEBHOOK_SECRET"))


def client() -> stripe.StripeClient:
    cfg = current_app.config
    base = cfg.get("STRIPE_API_BASE")
    return stripe.StripeClient(
        cfg["STRIPE_SECRET_KEY"],
        base_addresses={"api": base.rstrip("/")} if base else None,
        max_network_retries=2,
    )


def create_setup_intent() -> Any:
    return client().v1.setup_intents.create(params={"usage": "on_session", "payment_method_types": ["card"]})


def create_payment_intent(
    amount_vnd: int, payment_method_id: str, order_id: int, reference: str, idempotency_key: str
) -> Any:
    """Create and confirm in one call (confirm=True)."""
    return client().v1.payment_intents.create(
        params={
            "amount": int(amount_vnd),
            "currency": CURRENCY,
            "payment_method": payment_method_id,
            "payment_method_types": ["card"],
            "confirm": True,
            "metadata": {"order_id": str(order_id), "reference": reference},
        },
        options={"idempotency_key": idempotency_key},
    )


def retrieve_payment_intent(payment_intent_id: str) -> Any:
    return client().v1.payment_intents.retrieve(payment_intent_id)


def create_refund(payment_intent_id: str, amount_vnd: int, order_id: int, idempotency_key: str) -> Any:
    return client().v1.refunds.create(
        params={
            "payment_intent": payment_intent_id,
            "amount": int(amount_vnd),
            "metadata": {"order_id": str(order_id)},
        },
        options={"idempotency_key": idempotency_key},
    )


def construct_event(payload: bytes, signature: str | None) -> Any:
    """Verify the Stripe-Signature header (tolerance 300 s); raises ValueError or
    stripe.SignatureVerificationError on a bad body or signature."""
    return stripe.Webhook.construct_event(
        payload, signature, current_app.config["STRIPE_WEBHOOK_SECRET"], tolerance=WEBHOOK_TOLERANCE
    )
