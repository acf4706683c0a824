"""Access-control matrix: every URL rule of the app × every kind of visitor.

The rules come from `app.url_map`, so a new route without a line in POLICY fails the test with
its name. Each (rule, method) is requested with the ids of real objects owned by buyer A and
producer A (matrix_world.py) as: anonymous, buyer A, buyer B, producer A, producer B, the sales
point's operator, an organiser and an admin.

- allowed: not refused (GET 200 or a redirect that is not to the login page; POST 200, a redirect,
  400/409/422 for a form the world's state or the posted data does not satisfy);
- refused: 403/404 for a logged-in visitor; the login page (or 401/403/404) for an anonymous one;
  the database is exactly as before;
- noop: answered (usually a redirect with a message: "you have no registration", "already done")
  and the database is exactly as before.

Writes are detected by listening to the engine: only a request that sent INSERT/UPDATE/DELETE
costs a snapshot of every table; an allowed change is then undone by restoring the world's rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from marketplace.extensions import db
from tests.security.matrix_world import ROLES, build_world, diff, fingerprint, restore, snapshot

EVERYONE = frozenset(ROLES)
LOGGED_IN = EVERYONE - {"anonymous"}
STAFF = frozenset({"organiser", "admin"})
BUYER_A = frozenset({"buyer"})
BUYERS = frozenset({"buyer", "buyer_b"})
PRODUCER_A = frozenset({"producer"})
PRODUCERS = frozenset({"producer", "producer_b"})
PARTIES = BUYER_A | PRODUCER_A  # the two sides of the inquiry, quote, order, forum meeting
OPERATOR = frozenset({"sales_point"})
NOBODY = frozenset()


@dataclass(frozen=True)
class Policy:
    allowed: frozenset[str]
    noop: frozenset[str] = frozenset()  # answered, but must change nothing
    also_ok: frozenset[int] = frozenset()  # statuses that count as "allowed" here (besides the usual)
    note: str = ""


def P(allowed, noop=NOBODY, also_ok=(), note="") -> Policy:  # noqa: N802 (reads as a table)
    return Policy(frozenset(allowed), frozenset(noop) - frozenset(allowed), frozenset(also_ok), note)


PUBLIC = P(EVERYONE)
STAFF_ONLY = P(STAFF)
OWN_PRODUCER = P(PRODUCER_A)  # a manager of the producer that owns the object
OWN_POINT = P(OPERATOR)  # the operator of the sales point
SELF = P(LOGGED_IN, note="acts on the visitor's own rows only")

# --------------------------------------------------------------------------- who may do what
# Keys are endpoints; "endpoint METHOD" overrides one method. Objects belong to buyer A,
# producer A (managed by "producer") and the sales point operated by "sales_point".
POLICY: dict[str, Policy] = {
    # ---- public pages, files, feeds and the read-only JSON API
    "catalog.home": PUBLIC,
    "catalog.browse": PUBLIC,
    "catalog.suggest": PUBLIC,
    "catalog.group": PUBLIC,
    "catalog.district": PUBLIC,
    "catalog.product": PUBLIC,
    "producers.directory": PUBLIC,
    "producers.show": PUBLIC,
    "sales_points.registry_page": PUBLIC,
    "sales_points.show": PUBLIC,
    "sales_points.export_csv": PUBLIC,
    "sales_points.export_geojson": PUBLIC,
    "matching.find": PUBLIC,
    "forums.index": PUBLIC,
    "forums.show": PUBLIC,
    "forums.directory": PUBLIC,
    "traceability.trace": P(EVERYONE, note="a published batch; the scan counter moves"),
    "traceability.inspection_file": P(EVERYONE, note="file of a published batch"),
    "core.media": PUBLIC,
    "core.favicon": P(EVERYONE, also_ok={301}),
    "health.healthz": PUBLIC,
    "core.set_language": PUBLIC,
    "api.openapi": PUBLIC,
    "api.products": PUBLIC,
    "api.product": PUBLIC,
    "api.sales_points": PUBLIC,
    "api.trace": PUBLIC,
    "api.match_need": P(EVERYONE, note="read-only matching; 400 without a body"),
    "payments.webhook": P(EVERYONE, also_ok={503}, note="authenticated by its Stripe signature, not a login"),
    "privacy.policy": PUBLIC,
    # ---- accounts (a logged-in visitor is sent home from login/register)
    "accounts.login": PUBLIC,
    "accounts.register": PUBLIC,
    "accounts.logout": PUBLIC,
    "accounts.forgot_password": P(EVERYONE, also_ok={302}, note="sent on to the login page"),
    "accounts.reset_password": P(EVERYONE, also_ok={400}, note="400: the token is not valid"),
    "accounts.verify_email": P(EVERYONE, also_ok={400}, note="400: the token is not valid"),
    "accounts.verify_notice": PUBLIC,
    "accounts.resend_verification": SELF,
    "accounts.change_password": SELF,
    "accounts.profile": SELF,
    "privacy.my_data": SELF,
    "privacy.delete_account": SELF,
    "inquiries.inbox": SELF,
    "inquiries.notifications_page": SELF,
    "inquiries.notification_settings": SELF,
    "inquiries.read_all": SELF,
    "payments.my_orders": SELF,
    "dashboard.report_listing": P(LOGGED_IN, note="anyone logged in may report a public listing"),
    "producers.invitation": P(NOBODY, note="only the account with the invited address (none of these visitors)"),
    # ---- buyers
    "inquiries.profile": P(BUYERS),
    "inquiries.new_inquiry": P(BUYERS),
    "inquiries.my_rfqs": P(BUYERS),
    "inquiries.new_rfq": P(BUYERS),
    "inquiries.inquiry": P(PARTIES | STAFF, note="staff read a thread that has a report"),
    "inquiries.attachment": P(PARTIES | STAFF, note="staff read a thread that has a report"),
    "inquiries.close_inquiry": P(PARTIES),
    "inquiries.post_message": P(PARTIES),
    "inquiries.report_message": P(PARTIES),
    "inquiries.rfq": P(PARTIES | STAFF),
    "inquiries.cancel_rfq": P(BUYER_A),
    "inquiries.invite": P(BUYER_A),
    "inquiries.quote": P(PARTIES),
    "inquiries.accept_quote": P(BUYER_A),
    "inquiries.decline_quote": P(BUYER_A),
    "inquiries.withdraw_quote": P(PRODUCER_A),
    "inquiries.submit_quote": P(PRODUCER_A),
    "inquiries.decline_invitation": P(PRODUCER_A),
    "inquiries.open_notification": P(BUYER_A),
    "inquiries.leads_page": P(PRODUCERS),
    # ---- orders and payments
    "payments.order": P(PARTIES | STAFF),
    "payments.order_qr": P(PARTIES | STAFF),
    "payments.receipt": P(PARTIES | STAFF),
    "payments.setup_intent": P(BUYER_A),
    "payments.pay": P(BUYER_A),
    "payments.mark_transferred": P(BUYER_A),
    "payments.confirm_transfer": P(PRODUCER_A | STAFF),
    "payments.cancel": P(BUYER_A | STAFF),
    "payments.refund": P(PRODUCER_A | STAFF),
    "payments.settle": STAFF_ONLY,
    "payments.admin_orders": STAFF_ONLY,
    "payments.quote_terms": P(PRODUCER_A),
    "payments.create_quote_order": P(BUYER_A),
    "payments.forum_fee": P(BUYER_A, note="the registration's own user"),
    # ---- producers, products, bank accounts, traceability
    "producers.dashboard": P(PRODUCERS),
    "producers.new_producer": P(PRODUCERS),
    "producers.edit": OWN_PRODUCER,
    "producers.upload_photos": OWN_PRODUCER,
    "producers.delete_photo": OWN_PRODUCER,
    "producers.claim": P(PRODUCERS, note="an unmanaged producer"),
    "producers.claims_queue": STAFF_ONLY,
    "producers.approve_claim": STAFF_ONLY,
    "producers.reject_claim": STAFF_ONLY,
    "producers.invite": STAFF_ONLY,
    "banking.account": P(PRODUCER_A | STAFF, note="staff see it (masked) to settle payouts"),
    "banking.edit": OWN_PRODUCER,
    "banking.remove": OWN_PRODUCER,
    "banking.qr_svg": OWN_PRODUCER,
    "banking.qr_png": OWN_PRODUCER,
    "catalog.my_products": P(PRODUCERS),
    "catalog.new_product": P(PRODUCERS),
    "catalog.new_product POST": P(PRODUCER_A, note="producer B posting producer A's id is refused"),
    "catalog.edit_product": OWN_PRODUCER,
    "catalog.upload_images": OWN_PRODUCER,
    "catalog.delete_product_image": OWN_PRODUCER,
    "catalog.make_image_first": OWN_PRODUCER,
    "catalog.publish": OWN_PRODUCER,
    "catalog.unpublish": OWN_PRODUCER,
    "catalog.archive": OWN_PRODUCER,
    "catalog.restore": OWN_PRODUCER,
    "catalog.certificate_scan": P(PRODUCER_A | STAFF),
    "catalog.hide": STAFF_ONLY,
    "catalog.unhide": STAFF_ONLY,
    "traceability.batches": P(PRODUCERS),
    "traceability.new_batch": OWN_PRODUCER,
    "traceability.batch": OWN_PRODUCER,
    "traceability.edit_batch": OWN_PRODUCER,
    "traceability.delete_batch": OWN_PRODUCER,
    "traceability.publish": OWN_PRODUCER,
    "traceability.recall": OWN_PRODUCER,
    "traceability.labels": OWN_PRODUCER,
    "traceability.qr": OWN_PRODUCER,
    "traceability.new_item": OWN_PRODUCER,
    "traceability.edit_item": OWN_PRODUCER,
    "traceability.delete_item": OWN_PRODUCER,
    # ---- sales points
    "sales_points.dashboard": OWN_POINT,
    "sales_points.apply": OWN_POINT,
    "sales_points.edit": OWN_POINT,
    "sales_points.upload_photos": OWN_POINT,
    "sales_points.delete_photo": OWN_POINT,
    "sales_points.products": OWN_POINT,
    "sales_points.add_product": OWN_POINT,
    "sales_points.remove_product": OWN_POINT,
    "sales_points.update_stock": OWN_POINT,
    "sales_points.answer_request": OWN_POINT,
    "sales_points.producer_view": P(PRODUCERS),
    "sales_points.request_carry": P(PRODUCER_A, note="producer B naming producer A's product is refused"),
    "sales_points.withdraw_request": OWN_PRODUCER,
    "sales_points.queue": STAFF_ONLY,
    "sales_points.review_point": STAFF_ONLY,
    "sales_points.decide": STAFF_ONLY,
    "sales_points.change_status": STAFF_ONLY,
    # ---- staff dashboard and moderation
    "dashboard.index": STAFF_ONLY,
    "dashboard.certificates": STAFF_ONLY,
    "dashboard.verify": STAFF_ONLY,
    "dashboard.reject": STAFF_ONLY,
    "dashboard.expiring": STAFF_ONLY,
    "dashboard.audit": STAFF_ONLY,
    "dashboard.stats": STAFF_ONLY,
    "dashboard.set_target": STAFF_ONLY,
    "dashboard.export": STAFF_ONLY,
    "dashboard.moderation": STAFF_ONLY,
    "dashboard.hide_listing": STAFF_ONLY,
    "dashboard.restore_listing": STAFF_ONLY,
    "dashboard.dismiss_reports": STAFF_ONLY,
    "dashboard.hide_message": STAFF_ONLY,
    "dashboard.restore_message": STAFF_ONLY,
    "dashboard.dismiss_message_report": STAFF_ONLY,
    "dashboard.restore_rfq": STAFF_ONLY,
    "dashboard.suspend_user": STAFF_ONLY,
    "dashboard.unsuspend_user": STAFF_ONLY,
    "inquiries.reports": STAFF_ONLY,
    "inquiries.dismiss_report": STAFF_ONLY,
    "inquiries.hide_message": STAFF_ONLY,
    "inquiries.unhide_message": STAFF_ONLY,
    "inquiries.hide_rfq": STAFF_ONLY,
    "inquiries.unhide_rfq": STAFF_ONLY,
    "inquiries.suspend_user": STAFF_ONLY,
    # ---- forums: organisers
    "forums.new": STAFF_ONLY,
    "forums.edit": STAFF_ONLY,
    "forums.sessions": STAFF_ONLY,
    "forums.change_status": STAFF_ONLY,
    "forums.registrations_page": STAFF_ONLY,
    "forums.approve": STAFF_ONLY,
    "forums.refuse": STAFF_ONLY,
    "forums.refresh_recommendations": STAFF_ONLY,
    "forums.schedule": STAFF_ONLY,
    "forums.run_schedule": STAFF_ONLY,
    "forums.schedule_meeting": STAFF_ONLY,
    "forums.lock_meeting": STAFF_ONLY,
    "forums.unlock_meeting": STAFF_ONLY,
    "forums.unschedule_meeting": STAFF_ONLY,
    "forum_day.attendance": STAFF_ONLY,
    "forum_day.checkin_page": STAFF_ONLY,
    "forum_day.checkin_post": STAFF_ONLY,
    "forum_day.print_agendas": STAFF_ONLY,
    "forum_day.print_table_plan": STAFF_ONLY,
    "forum_day.release": STAFF_ONLY,
    "forum_day.report_page": STAFF_ONLY,
    "forum_day.report_csv": STAFF_ONLY,
    # ---- forums: participants (buyer A and producer A are registered and have a meeting)
    "forums.register": P(BUYERS | PRODUCERS, note="the already registered are sent to their registration"),
    "forums.edit_registration": P(PARTIES, noop=LOGGED_IN, note="the unregistered are sent to register"),
    "forums.cancel_registration": P(PARTIES, noop=LOGGED_IN),
    "forums.my_meetings": P(PARTIES, noop=LOGGED_IN),
    "forums.participant": P(PRODUCER_A | STAFF, note="a registration with its fee unpaid: itself and staff"),
    "forums.request_meeting": P(NOBODY, noop=LOGGED_IN, note="no active registration in this world"),
    "forums.accept_meeting": P(PRODUCER_A, note="the invitee"),
    "forums.decline_meeting": P(PRODUCER_A, note="the invitee"),
    "forums.cancel_meeting": P(PARTIES),
    "forums.dismiss_recommendation": P(PARTIES),
    "forums.invite_recommended": P(PARTIES),
    "forum_day.agenda": P(PARTIES),
    "forum_day.agenda_print": P(PARTIES),
    "forum_day.participant_agenda": P(BUYER_A | STAFF),
    "forum_day.outcome": P(PARTIES),
}

# Arguments whose name means a different object for some endpoints.
OVERRIDES = {
    ("catalog.product", "ref"): lambda w: w.product_ref,
    ("api.product", "ref"): lambda w: w.product_ref,
    ("sales_points.show", "ref"): lambda w: w.point_ref,
    ("catalog.group", "code"): lambda w: "food",
    ("core.set_language", "code"): lambda w: "en",
    ("sales_points.delete_photo", "photo_id"): lambda w: w.sales_point_photo_id,
    ("accounts.reset_password", "token"): lambda w: "khong-hop-le",
    ("accounts.verify_email", "token"): lambda w: "khong-hop-le",
    ("sales_points.answer_request", "decision"): lambda w: "accept",
    ("sales_points.change_status", "decision"): lambda w: "suspend",
    ("sales_points.decide", "decision"): lambda w: "approve",
    ("traceability.qr", "fmt"): lambda w: "svg",
    ("dashboard.export", "fmt"): lambda w: "csv",
    ("dashboard.export", "key"): lambda w: "groups",
    ("forum_day.report_csv", "key"): lambda w: "meetings",
    ("forums.participant", "registration_id"): lambda w: w.reg_producer_id,
    ("forums.request_meeting", "registration_id"): lambda w: w.reg_producer_id,
    ("producers.claim", "producer_id"): lambda w: w.unclaimed_id,
    ("core.media", "filename"): lambda w: w.media_name,
}

# Query strings some pages need to name their object.
QUERY = {"inquiries.new_inquiry": lambda w: {"product": w.product_ref}}


def form_data(endpoint: str, world) -> dict:
    """Plausible form data: what the owner would post, so a missing check would show as a change."""
    ids = world.ids
    data = {
        "reason": "Lý do kiểm thử đủ dài để hợp lệ",
        "note": "Ghi chú",
        "message": "Xin chào, chúng tôi muốn hợp tác.",
        "body": "Nội dung tin nhắn",
        "response": "Đồng ý",
        "evidence": "CN-1",
        "producer_id": ids["producer_id"],
        "product_id": ids["product_id"],
        "quantity": "50",
        "unit": "cái",
        "title": "Tiêu đề",
        "name": "Tên mới",
        "code": "LO-02",
        "produced_on": "2026-11-25",
        "deadline": "2026-12-30",
        "unit_price_vnd": "100000",
        "lead_time_days": "5",
        "valid_until": "2026-12-30",
        "deposit_percent": "40",
        "sample_price_vnd": "60000",
        "kind": "deposit",
        "bank_bin": "970415",
        "account_number": "0099887766",
        "holder_name": "Nguyen Van Khac",
        "min_stars": "3",
        "goal": "500",
        "amount_vnd": "1000",
        "settled_on": "2026-11-29",
        "reference": "CK-1",
        "email": "moi2@example.vn",
        "in_stock": [str(ids["product_id"])],
        "status": "published",
    }
    if endpoint == "inquiries.invite":
        data["producer_id"] = world.producer_b_id
    return data


def _url(app, world, rule) -> str:
    values = {}
    for name in rule.arguments:
        key = (rule.endpoint, name)
        if key in OVERRIDES:
            values[name] = OVERRIDES[key](world)
        elif name == "code":
            values[name] = world.public_code
        else:
            values[name] = world.ids[name]
    url = app.url_map.bind("localhost").build(rule.endpoint, values)
    query = QUERY.get(rule.endpoint)
    if query:
        url += "?" + "&".join(f"{k}={v}" for k, v in query(world).items())
    return url


def _rules(app):
    rules = [r for r in app.url_map.iter_rules() if r.endpoint != "static"]
    return sorted(rules, key=lambda r: (r.endpoint, r.rule))


def _methods(rule) -> list[str]:
    return sorted(rule.methods & {"GET", "POST"})


def _policy(endpoint: str, method: str) -> Policy | None:
    return POLICY.get(f"{endpoint} {method}") or POLICY.get(endpoint)


def _to_login(response) -> bool:
    return response.status_code in (301, 302, 303) and urlsplit(response.location).path == "/login"


def _allowed(response, method: str, policy: Policy) -> bool:
    status = response.status_code
    if status in policy.also_ok:
        return True
    if status in (301, 302, 303):
        return not _to_login(response)
    return status in ({200} if method == "GET" else {200, 201, 400, 409, 422})


def _refused(response, role: str) -> bool:
    if role == "anonymous":
        return _to_login(response) or response.status_code in (401, 403, 404)
    return response.status_code in (403, 404)


class WriteWatch:
    """Counts INSERT/UPDATE/DELETE statements sent to the database."""

    def __init__(self, engine):
        self.engine = engine
        self.writes = 0

    def __call__(self, conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip()[:6].upper() in ("INSERT", "UPDATE", "DELETE"):
            self.writes += 1

    def __enter__(self):
        sa.event.listen(self.engine, "before_cursor_execute", self)
        return self

    def __exit__(self, *exc):
        sa.event.remove(self.engine, "before_cursor_execute", self)


def test_every_rule_has_a_policy(app):
    missing = [f"{r.endpoint} ({r.rule})" for r in _rules(app) if not all(_policy(r.endpoint, m) for m in _methods(r))]
    assert not missing, "URL rules without a line in POLICY (tests/security/test_access_matrix.py): " + ", ".join(
        missing
    )
    stale = sorted(set(k.split(" ")[0] for k in POLICY) - {r.endpoint for r in _rules(app)})
    assert not stale, f"POLICY names endpoints the app no longer has: {stale}"


def test_access_matrix(app):
    world = build_world()
    base = snapshot()
    base_print = fingerprint(base)
    failures: list[str] = []
    rules = _rules(app)
    with WriteWatch(db.engine) as watch:
        for role in ROLES:
            for rule in rules:
                for method in _methods(rule):
                    policy = _policy(rule.endpoint, method)
                    if policy is None:
                        failures.append(f"{rule.endpoint}: no policy")
                        continue
                    client = app.test_client()
                    if role != "anonymous":
                        with client.session_transaction() as sess:
                            sess["_user_id"] = world.session_ids[role]
                            sess["_fresh"] = True
                    url = _url(app, world, rule)
                    watch.writes = 0
                    data = form_data(rule.endpoint, world) if method == "POST" else None
                    response = client.open(url, method=method, data=data)
                    response.close()
                    what = (
                        f"{method} {url} [{rule.endpoint}] as {role}: {response.status_code} {response.location or ''}"
                    )
                    if role in policy.allowed:
                        if not _allowed(response, method, policy):
                            failures.append(f"allowed but refused: {what}")
                    elif role in policy.noop:
                        if response.status_code >= 500 or _to_login(response):
                            failures.append(f"expected an answer: {what}")
                    elif not _refused(response, role):
                        failures.append(f"NOT REFUSED: {what}")
                    if watch.writes:
                        now = snapshot()
                        if fingerprint(now) != base_print:
                            if role not in policy.allowed:
                                failures.append(f"CHANGED DATA: {what}: " + "; ".join(diff(base, now)))
                            restore(base, now)
                            world.refresh_files()
                            watch.writes = 0
    assert not failures, f"{len(failures)} access-control failures:\n" + "\n".join(failures)


def test_refused_request_leaves_the_database_alone(app):
    """The matrix's own check works: an allowed change is seen and undone."""
    world = build_world()
    base = snapshot()
    client = app.test_client()
    with client.session_transaction() as sess:
        sess["_user_id"] = world.session_ids["producer"]
    with WriteWatch(db.engine) as watch:
        response = client.post(f"/my/products/{world.ids['product_id']}/unpublish")
        assert response.status_code == 302 and watch.writes
    assert diff(base, snapshot())
    restore(base)
    assert fingerprint(snapshot()) == fingerprint(base)


@pytest.mark.parametrize("path", ["/account", "/my/products/new"])
def test_csrf_is_enforced_on_html_forms_but_not_on_the_api(app, path):
    """TestConfig switches CSRF off; with it on, a form POST without a token is refused (400) and
    the token-less JSON API still answers."""
    world = build_world()
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    with client.session_transaction() as sess:
        sess["_user_id"] = world.session_ids["producer"]
    base = fingerprint(snapshot())
    assert client.post(path, data={"name": "Tên mới"}).status_code == 400
    assert fingerprint(snapshot()) == base
    response = client.post("/api/v1/match", json={"text": "giỏ mây", "quantity": 10})
    assert response.status_code != 400 or "csrf" not in response.get_data(as_text=True).lower()
    assert response.status_code in (200, 400, 422)


def _as(app, world, role):
    client = app.test_client()
    if role != "anonymous":
        with client.session_transaction() as sess:
            sess["_user_id"] = world.session_ids[role]
    return client


def test_lists_never_show_an_outsiders_rows(app):
    """Filters naming another user's objects fall back to the visitor's own rows."""
    world = build_world()
    ids = world.ids
    pages = {
        "producer_b": [
            f"/my/products?producer_id={ids['producer_id']}",
            f"/my/batches?product_id={ids['product_id']}",
            "/leads",
            "/messages",
            "/payments/orders",
            f"/my/producers/sales-points?product={ids['product_id']}",
        ],
        "buyer_b": ["/messages", "/rfqs", "/payments/orders", "/notifications"],
        "sales_point": ["/messages", "/payments/orders", "/notifications"],
    }
    secrets_of_a = ["LO-01", "Giỏ mây quà Tết", "Xin báo giá giỏ mây", "Có báo giá mới", "0011001234567"]
    for role, urls in pages.items():
        client = _as(app, world, role)
        for url in urls:
            response = client.get(url)
            assert response.status_code == 200, (role, url, response.status_code)
            body = response.get_data(as_text=True)
            leaked = [s for s in secrets_of_a if s in body]
            assert not leaked, (role, url, leaked)
    # The same pages show them to their owners (the check above is not vacuous).
    seen = set()
    for role in ("buyer", "producer"):
        client = _as(app, world, role)
        for url in {u.replace("producer_b", role) for urls in pages.values() for u in urls}:
            body = client.get(url).get_data(as_text=True)
            seen |= {s for s in secrets_of_a if s in body}
    assert seen, "none of A's rows shows on A's own pages"


def test_non_public_objects_are_hidden_from_outsiders(app):
    """A draft product, a pending sales point and a draft batch: 404 for everyone but their owner
    and staff (on the pages, the JSON API and the trace page)."""
    from marketplace.catalog.models import Product
    from marketplace.sales_points.models import SalesPoint
    from marketplace.traceability.models import Batch

    world = build_world()
    product = db.session.get(Product, world.ids["product_id"])
    product.status = "draft"
    db.session.get(SalesPoint, world.ids["point_id"]).status = "pending"
    db.session.get(Batch, world.ids["batch_id"]).status = "draft"
    db.session.commit()
    db.session.close()
    urls = [
        f"/san-pham/{world.product_ref}",
        f"/api/v1/products/{world.product_ref}",
        f"/diem-ban/{world.point_ref}",
        f"/api/v1/trace/{world.public_code}",
        f"/truy-xuat/{world.public_code}",
        f"/truy-xuat/{world.public_code}/kiem-nghiem/{world.ids['inspection_id']}",
    ]
    for role in ("anonymous", "buyer", "buyer_b", "producer_b"):
        client = _as(app, world, role)
        for url in urls:
            response = client.get(url)
            assert response.status_code == 404, (role, url, response.status_code)
    owner = _as(app, world, "producer")
    assert owner.get(f"/my/products/{world.ids['product_id']}/edit").status_code == 200
    assert _as(app, world, "sales_point").get(f"/my/sales-points/{world.ids['point_id']}/edit").status_code == 200
