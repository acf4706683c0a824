"""Payments pages: orders, card checkout (Stripe.js), receipts, VietQR transfers, refunds,
settlement and the organisers' list. The Stripe webhook lives in webhooks.py (same blueprint).

Every route answers 404 for an order (or quote) the user must not know about.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, Response, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from marketplace.core.auth import login_required, role_required
from marketplace.core.errors import NotAllowed, ServiceError
from marketplace.core.form_errors import apply_error
from marketplace.core.pagination import page_arg, paginate
from marketplace.core.urls import safe_next
from marketplace.extensions import db
from marketplace.inquiries.models import Quote
from marketplace.payments import cards, listing, services, stripe_client
from marketplace.payments.forms import PayForm, RefundForm, SettleForm, TermsForm
from marketplace.payments.models import METHODS, ORDER_KINDS, ORDER_STATES, SETTLEMENT_STATES, Order

bp = Blueprint("payments", __name__, url_prefix="/payments")

ADMIN_PER_PAGE = 30
MY_PER_PAGE = 20


# --------------------------------------------------------------------------- helpers


def _order_or_404(order_id: int) -> Order:
    order = services.visible_order(current_user, order_id)
    if order is None:
        abort(404)
    return order


def _back(order: Order):
    return redirect(url_for("payments.order", order_id=order.id))


def _quote_or_404(quote_id: int) -> Quote:
    quote = db.session.get(Quote, quote_id)
    if quote is None or not (
        quote.rfq.buyer_id == current_user.id or services.manages_producer(current_user, quote.producer_id)
    ):
        abort(404)
    return quote


@bp.app_template_global()
def payments_enabled() -> bool:
    return stripe_client.enabled()


@bp.app_template_global()
def payment_quote_context(quote: Quote) -> dict:
    """What templates/payments/_quote_actions.html needs about a quote, for the current user."""
    user = current_user
    is_buyer = bool(user.is_authenticated and quote.rfq.buyer_id == user.id)
    is_seller = bool(user.is_authenticated and services.manages_producer(user, quote.producer_id))
    if not (is_buyer or is_seller):
        return {"show": False}
    terms = services.terms_for(quote)
    form = TermsForm(
        formdata=None,
        deposit_percent=terms.deposit_percent if terms else None,
        sample_price_vnd=terms.sample_price_vnd if terms else None,
    )
    return {
        "show": True,
        "is_buyer": is_buyer,
        "is_seller": is_seller,
        "terms": terms,
        "offers": services.quote_offers(quote),
        "orders": services.open_orders_for_quote(quote),
        "form": form,
        "payable": services.producer_can_be_paid(quote.producer_id),
    }


@bp.app_template_global()
def payment_fee_context(registration) -> dict:
    """What templates/payments/_forum_fee.html needs about a forum registration."""
    fee = int(registration.forum.fee_vnd or 0)
    return {
        "fee": fee,
        "paid": services.fee_paid(registration.id) if fee else False,
        "order": services.fee_order_for(registration.id) if fee else None,
        "mine": bool(current_user.is_authenticated and registration.user_id == current_user.id),
    }


# --------------------------------------------------------------------------- orders


@bp.get("/orders")
@login_required
def my_orders():
    page = paginate(listing.user_orders_query(current_user), page_arg(request.args.get("page")), MY_PER_PAGE)
    return render_template("payments/my_orders.html", page=page)


@bp.get("/orders/<int:order_id>")
@login_required
def order(order_id: int):
    found = _order_or_404(order_id)
    return _render_order(found)


def _render_order(found: Order, refund_form: RefundForm | None = None, settle_form: SettleForm | None = None):
    is_buyer = found.buyer_id == current_user.id
    is_seller = services.manages_producer(current_user, found.producer_id)
    payable = found.state in services.PAYABLE_STATES
    in_flight = services.in_flight_attempt(found)
    qr = services.bank_qr(found) if payable else None
    return render_template(
        "payments/order.html",
        order=found,
        is_buyer=is_buyer,
        is_seller=is_seller,
        can_pay_card=is_buyer and payable and found.transfer_marked_at is None and stripe_client.enabled(),
        in_flight=in_flight,
        qr=qr,
        can_refund=services.can_refund(current_user, found) and found.state in ("paid", "partially_refunded"),
        refund_form=refund_form or RefundForm(formdata=None),
        settle_form=settle_form or SettleForm(formdata=None),
        pay_form=PayForm(formdata=None),
        payout=services.payout_vnd(found),
    )


@bp.get("/orders/<int:order_id>/qr.svg")
@login_required
def order_qr(order_id: int):
    found = _order_or_404(order_id)
    if found.state not in services.PAYABLE_STATES:
        abort(404)
    svg = services.qr_svg(found)
    if svg is None:
        abort(404)
    response = Response(svg, mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.post("/orders/<int:order_id>/setup-intent")
@login_required
def setup_intent(order_id: int):
    found = _order_or_404(order_id)
    if found.buyer_id != current_user.id:
        abort(403)
    if not stripe_client.enabled():
        return jsonify({"error": _("Thanh toán bằng thẻ đang tắt.")}), 409
    if found.state not in services.PAYABLE_STATES:
        return jsonify({"error": _("Đơn hàng này không còn chờ thanh toán.")}), 409
    import stripe

    try:
        intent = stripe_client.create_setup_intent()
    except stripe.StripeError as error:
        current_app.logger.warning("setup intent for order %s failed: %s", found.id, error)
        return jsonify({"error": _("Không kết nối được cổng thanh toán. Vui lòng thử lại sau ít phút.")}), 502
    return jsonify({"client_secret": intent.client_secret})


@bp.post("/orders/<int:order_id>/pay")
@login_required
def pay(order_id: int):
    """Create and confirm the PaymentIntent with the card confirmed on the page. A double click
    finds the attempt in flight and answers its state: one PaymentIntent."""
    found = _order_or_404(order_id)
    if found.buyer_id != current_user.id:
        abort(403)
    form = PayForm()
    if not form.validate():
        return jsonify({"error": _("Thiếu thông tin thẻ.")}), 400
    try:
        start = cards.start_attempt(current_user, found, form.payment_method.data)
        db.session.commit()  # the attempt row exists before Stripe is called
    except ServiceError as error:
        db.session.rollback()
        if isinstance(error, NotAllowed):
            abort(403)
        return jsonify({"error": error.message, "code": error.code}), 409
    except (sa.exc.IntegrityError, sa.exc.OperationalError):
        # Another request (a double click) took this attempt number first: report that one.
        db.session.rollback()
        found = db.session.get(Order, order_id)
        attempts = list(found.attempts)
        if not attempts:
            return jsonify({"error": _("Hệ thống đang bận. Vui lòng thử lại.")}), 409
        return _attempt_json(found, services.in_flight_attempt(found) or attempts[-1])
    attempt = start.attempt
    if start.call_stripe:
        attempt = cards.run_attempt(attempt)
        db.session.commit()
    return _attempt_json(found, attempt)


def _attempt_json(found: Order, attempt):
    db.session.refresh(found)
    body = {
        "order_state": found.state,
        "attempt": attempt.attempt_no,
        "status": attempt.status,
        "error": attempt.error if attempt.status == "failed" else "",
        "receipt_url": url_for("payments.receipt", order_id=found.id),
    }
    if attempt.status == "requires_action":
        body["client_secret"] = attempt.client_secret
    return jsonify(body)


@bp.get("/orders/<int:order_id>/receipt")
@login_required
def receipt(order_id: int):
    found = _order_or_404(order_id)
    cards.sync_order(found)  # the true state, from Stripe
    db.session.commit()
    return render_template(
        "payments/receipt.html",
        order=found,
        in_flight=services.in_flight_attempt(found),
        payout=services.payout_vnd(found),
    )


def _order_action(order_id: int, action, success: str, *args):
    found = _order_or_404(order_id)
    try:
        action(current_user, found, *args)
    except ServiceError as error:
        db.session.rollback()
        apply_error(None, error)
    else:
        db.session.commit()
        flash(success, "success")
    return redirect(url_for("payments.order", order_id=order_id))


@bp.post("/orders/<int:order_id>/transferred")
@login_required
def mark_transferred(order_id: int):
    return _order_action(
        order_id, services.mark_transferred, _("Đã ghi nhận. Nhà sản xuất sẽ xác nhận khi nhận được tiền.")
    )


@bp.post("/orders/<int:order_id>/confirm-transfer")
@login_required
def confirm_transfer(order_id: int):
    return _order_action(order_id, services.confirm_transfer, _("Đã xác nhận nhận tiền. Đơn hàng đã thanh toán."))


@bp.post("/orders/<int:order_id>/cancel")
@login_required
def cancel(order_id: int):
    return _order_action(order_id, services.cancel, _("Đã huỷ đơn hàng."))


def _order_form_action(found: Order, form, form_name: str, call, success: str):
    """Validate `form` and run `call` (a service); on success commit and go back to the order,
    else show the order page again with the form's errors (400)."""
    if form.validate():
        try:
            call()
        except ServiceError as error:
            db.session.rollback()
            apply_error(form, error)
            found = db.session.get(Order, found.id)
        else:
            db.session.commit()
            flash(success, "success")
            return _back(found)
    return _render_order(found, **{form_name: form}), 400


@bp.post("/orders/<int:order_id>/refund")
@login_required
def refund(order_id: int):
    found = _order_or_404(order_id)
    if not services.can_refund(current_user, found):
        abort(403)
    form = RefundForm()
    return _order_form_action(
        found,
        form,
        "refund_form",
        lambda: services.refund(current_user, found, form.amount_vnd.data, form.reason.data or ""),
        _("Đã hoàn tiền."),
    )


@bp.post("/orders/<int:order_id>/settle")
@role_required("organiser", "admin")
def settle(order_id: int):
    found = _order_or_404(order_id)
    form = SettleForm()
    return _order_form_action(
        found,
        form,
        "settle_form",
        lambda: services.settle(current_user, found, form.settled_on.data, form.reference.data or ""),
        _("Đã ghi nhận đối soát với nhà sản xuất."),
    )


# --------------------------------------------------------------------------- quotes and forum fees


@bp.post("/quotes/<int:quote_id>/terms")
@login_required
def quote_terms(quote_id: int):
    quote = _quote_or_404(quote_id)
    if not services.manages_producer(current_user, quote.producer_id):
        abort(403)
    form = TermsForm()
    if not form.validate():
        for errors in form.errors.values():
            for message in errors:
                flash(message, "error")
    else:
        try:
            services.set_terms(current_user, quote, form.deposit_percent.data, form.sample_price_vnd.data)
        except ServiceError as error:
            db.session.rollback()
            apply_error(None, error)
        else:
            db.session.commit()
            flash(_("Đã lưu điều khoản thanh toán."), "success")
    return redirect(url_for("inquiries.quote", quote_id=quote_id))


@bp.post("/quotes/<int:quote_id>/orders")
@login_required
def create_quote_order(quote_id: int):
    """The buyer orders a sample or pays a deposit. Any amount in the form is ignored."""
    quote = _quote_or_404(quote_id)
    if quote.rfq.buyer_id != current_user.id:
        abort(403)
    try:
        created = services.create_quote_order(current_user, quote, request.form.get("kind", ""))
    except ServiceError as error:
        db.session.rollback()
        apply_error(None, error)
        return redirect(url_for("inquiries.quote", quote_id=quote_id))
    db.session.commit()
    return redirect(url_for("payments.order", order_id=created.id))


@bp.post("/forum-registrations/<int:registration_id>/fee")
@login_required
def forum_fee(registration_id: int):
    from marketplace.forums.models import Registration

    registration = db.session.get(Registration, registration_id)
    if registration is None or registration.user_id != current_user.id:
        abort(404)
    try:
        created = services.create_forum_fee_order(registration)
    except ServiceError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(safe_next(request.referrer, default=url_for("payments.my_orders")))
    db.session.commit()
    return redirect(url_for("payments.order", order_id=created.id))


# --------------------------------------------------------------------------- organisers


@bp.get("/admin/orders")
@role_required("organiser", "admin")
def admin_orders():
    filters = listing.OrderFilters.from_args(request.args)
    if request.args.get("format") == "csv":
        body = "".join(listing.orders_csv(filters))
        return Response(
            body,
            mimetype="text/csv",
            headers={"Content-Disposition": "attachment; filename=ocop-orders.csv"},
        )
    page = paginate(listing.admin_orders_query(filters), page_arg(request.args.get("page")), ADMIN_PER_PAGE)
    return render_template(
        "payments/admin_orders.html",
        page=page,
        filters=filters,
        states=ORDER_STATES,
        kinds=ORDER_KINDS,
        methods=METHODS,
        settlements=SETTLEMENT_STATES,
    )


# --------------------------------------------------------------------------- labels


@bp.app_template_filter("order_state")
def order_state_label(state: str) -> str:
    return {
        "pending": _("Chờ thanh toán"),
        "failed": _("Thanh toán thất bại"),
        "paid": _("Đã thanh toán"),
        "partially_refunded": _("Đã hoàn một phần"),
        "refunded": _("Đã hoàn tiền"),
        "cancelled": _("Đã huỷ"),
    }.get(state, state)


@bp.app_template_filter("order_kind")
def order_kind_label(kind: str) -> str:
    return {"sample": _("Hàng mẫu"), "deposit": _("Đặt cọc"), "forum_fee": _("Phí diễn đàn")}.get(kind, kind)


@bp.app_template_filter("order_method")
def order_method_label(method: str) -> str:
    return services.method_label(method)


@bp.app_template_filter("settlement_state")
def settlement_label(state: str) -> str:
    return {
        "unsettled": _("Chưa chuyển cho nhà sản xuất"),
        "settled": _("Đã chuyển cho nhà sản xuất"),
        "none": _("Không cần đối soát"),
    }.get(state, state)


@bp.app_template_filter("order_event")
def order_event_label(action: str) -> str:
    return {
        "created": _("Tạo đơn"),
        "paid": _("Đã thanh toán"),
        "payment_failed": _("Thanh toán thất bại"),
        "cancelled": _("Huỷ đơn"),
        "refunded": _("Hoàn tiền"),
        "transfer_marked": _("Người mua báo đã chuyển khoản"),
        "transfer_confirmed": _("Nhà sản xuất xác nhận đã nhận tiền"),
        "settled": _("Đối soát với nhà sản xuất"),
        "webhook_ignored": _("Sự kiện Stripe đã ghi nhận, không đổi trạng thái"),
        "amount_mismatch": _("Số tiền Stripe báo không khớp – bỏ qua"),
    }.get(action, action)


STATE_BADGES = {
    "pending": "badge-warning",
    "failed": "badge-danger",
    "paid": "badge-success",
    "partially_refunded": "badge-muted",
    "refunded": "badge-muted",
    "cancelled": "badge-muted",
}


@bp.app_template_filter("order_badge")
def order_badge(state: str) -> str:
    return STATE_BADGES.get(state, "badge-muted")


from marketplace.payments import webhooks  # noqa: E402,F401  (registers the webhook route)
