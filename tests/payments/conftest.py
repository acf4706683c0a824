"""Fixtures for payments: a buyer with an accepted quote from a producer, signed webhook
payloads, and a real Stripe fake (`localstripe`) started on a free port for the run."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from marketplace.accounts.models import User
from marketplace.extensions import db
from marketplace.inquiries.models import Quote, Rfq
from marketplace.producers.models import Producer
from tests.helpers import make_producer, make_user

TODAY = date(2026, 12, 1)
WEBHOOK_SECRET = "whsec_test_payments_0123456789"
LOCALSTRIPE = Path(sys.executable).parent / "localstripe"


@dataclass
class World:
    buyer: User
    other_buyer: User
    seller: User
    other_seller: User
    organiser: User
    producer: Producer
    other_producer: Producer
    rfq: Rfq
    quote: Quote


def make_quote(buyer: User, producer: Producer, status: str = "accepted", quantity: int = 500, price: int = 110_000):
    rfq = Rfq(
        buyer_id=buyer.id,
        title="Chè xanh hộp quà Tết",
        quantity=quantity,
        unit="hộp",
        deadline=TODAY + timedelta(days=10),
        status="awarded" if status == "accepted" else "open",
    )
    db.session.add(rfq)
    db.session.flush()
    quote = Quote(
        rfq_id=rfq.id,
        producer_id=producer.id,
        unit_price_vnd=price,
        valid_until=TODAY + timedelta(days=30),
        sample_offer=True,
        status=status,
    )
    db.session.add(quote)
    db.session.flush()
    return rfq, quote


@pytest.fixture
def world(app) -> World:
    buyer = make_user(roles=("buyer",), email="buyer@example.vn", name="Chị Mai")
    other_buyer = make_user(roles=("buyer",), email="other@example.vn")
    seller = make_user(roles=("producer",), email="seller@example.vn", name="Anh An")
    other_seller = make_user(roles=("producer",), email="seller2@example.vn")
    organiser = make_user(roles=("organiser",), email="org@example.vn")
    producer = make_producer(managers=[seller], name="HTX Chè Tân Cương", district="Sóc Sơn")
    other_producer = make_producer(managers=[other_seller], name="HTX Mây tre", district="Chương Mỹ")
    rfq, quote = make_quote(buyer, producer)
    db.session.commit()
    return World(buyer, other_buyer, seller, other_seller, organiser, producer, other_producer, rfq, quote)


def stripe_config(app, base: str | None = None) -> None:
    app.config.update(
        STRIPE_SECRET_KEY="sk_test_payments",
        STRIPE_PUBLISHABLE_KEY="pk_test_payments",
        STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
        STRIPE_API_BASE=base or "http://127.0.0.1:9",  # nothing listens: a call would fail loudly
    )


def sign(body: bytes, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """The Stripe-Signature header: t=...,v1=HMAC-SHA256(secret, f"{t}.{body}")."""
    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


def event_body(event_id: str, kind: str, obj: dict) -> bytes:
    return json.dumps(
        {"id": event_id, "object": "event", "type": kind, "created": int(time.time()), "data": {"object": obj}}
    ).encode()


def post_event(client, body: bytes, signature: str | None = None):
    return client.post(
        "/payments/webhook",
        data=body,
        headers={"Stripe-Signature": signature or sign(body)},
        content_type="application/json",
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def localstripe():
    """Start `localstripe` on a free port for the run; skip (with the reason) only when the
    executable is missing."""
    if not LOCALSTRIPE.exists():
        print(f"\nSKIP: localstripe is not installed at {LOCALSTRIPE} (pip install localstripe==1.15.10)")
        pytest.skip(f"localstripe executable missing at {LOCALSTRIPE}")
    port = free_port()
    workdir = tempfile.mkdtemp(prefix="localstripe-")
    log = open(Path(workdir) / "localstripe.log", "wb")  # noqa: SIM115
    process = subprocess.Popen(  # noqa: S603 (our own venv's executable)
        [str(LOCALSTRIPE), "--port", str(port), "--from-scratch"], cwd=workdir, stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            with urllib.request.urlopen(f"{base}/js.stripe.com/v3/", timeout=1) as response:  # noqa: S310
                if response.status == 200:
                    break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"localstripe did not start: see {log.name}")
        time.sleep(0.2)
    yield base
    process.terminate()
    try:
        process.wait(5)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()


@pytest.fixture
def server(app):
    """The app served from a thread (for localstripe's webhooks and concurrent requests)."""
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    thread.join(5)


def reset_localstripe(base: str) -> None:
    """Forget every object (order ids start again at 1 in each test)."""
    request = urllib.request.Request(f"{base}/_config/data", method="DELETE")  # noqa: S310
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
        assert response.status == 200


def register_webhook(base: str, url: str, name: str = "payments") -> None:
    data = f"url={urllib.parse.quote(url, safe='')}&secret={WEBHOOK_SECRET}".encode()
    request = urllib.request.Request(f"{base}/_config/webhooks/{name}", data=data, method="POST")  # noqa: S310
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
        assert response.status == 200


def wait_for(predicate, timeout: float = 15.0, step: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        db.session.rollback()  # see what other connections committed
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError("condition not met in time")
