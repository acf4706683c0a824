"""A producer's bank account pages: view (managers, organisers read-only), add/edit, remove, and
a static VietQR of the account for its managers (no amount: nobody can mint payment codes here)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from marketplace.banking import services, vietqr
from marketplace.banking.forms import BankAccountForm, RemoveAccountForm
from marketplace.core.auth import role_required
from marketplace.core.errors import ServiceError
from marketplace.core.form_errors import apply_error
from marketplace.extensions import db
from marketplace.producers.access import managed_or_403, producer_or_404

bp = Blueprint("banking", __name__)


@bp.get("/my/producers/<int:producer_id>/bank-account")
@role_required()
def account(producer_id: int):
    producer = producer_or_404(producer_id)
    is_manager = producer.is_managed_by(current_user)
    if not (is_manager or current_user.is_staff):
        abort(403)
    found = services.account_for_producer(producer.id)
    return render_template(
        "banking/account.html",
        producer=producer,
        account=found,
        bank=vietqr.bank_by_bin(found.bank_bin) if found else None,
        qr=services.qr_for_account(found, None) if found and is_manager else None,
        is_manager=is_manager,
        changes=services.history(producer.id),
        bank_label=services.bank_label,
    )


@bp.route("/my/producers/<int:producer_id>/bank-account/edit", methods=["GET", "POST"])
@role_required()
def edit(producer_id: int):
    producer = managed_or_403(producer_id)
    found = services.account_for_producer(producer.id)
    form = BankAccountForm(obj=found if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            services.save_account(current_user, producer, form.to_data())
        except ServiceError as error:
            apply_error(form, error)
        else:
            db.session.commit()
            flash(_("Đã lưu tài khoản ngân hàng. Người mua sẽ thấy mã VietQR của tài khoản này."), "success")
            return redirect(url_for("banking.account", producer_id=producer.id))
    return render_template("banking/form.html", form=form, producer=producer, account=found)


@bp.route("/my/producers/<int:producer_id>/bank-account/remove", methods=["GET", "POST"])
@role_required()
def remove(producer_id: int):
    producer = managed_or_403(producer_id)
    found = services.account_for_producer(producer.id)
    if found is None:
        abort(404)
    form = RemoveAccountForm()
    if form.validate_on_submit():
        try:
            services.remove_account(current_user, producer)
        except ServiceError as error:
            apply_error(None, error)
        else:
            db.session.commit()
            flash(_("Đã xoá tài khoản ngân hàng. Người mua sẽ không thấy lựa chọn chuyển khoản."), "success")
        return redirect(url_for("banking.account", producer_id=producer.id))
    return render_template(
        "banking/remove.html", form=form, producer=producer, account=found, bank_label=services.bank_label
    )


def _static_payload(producer_id: int) -> str:
    producer = managed_or_403(producer_id)
    qr = services.static_vietqr_for(producer.id)
    if qr is None:
        abort(404)
    return qr.payload


def _image(body: bytes, mimetype: str, download: str | None = None):
    response = make_response(body)
    response.mimetype = mimetype
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    if download:
        response.headers["Content-Disposition"] = f'attachment; filename="{download}"'
    return response


@bp.get("/my/producers/<int:producer_id>/bank-account/qr.svg")
@role_required()
def qr_svg(producer_id: int):
    return _image(vietqr.render_svg(_static_payload(producer_id)), "image/svg+xml")


@bp.get("/my/producers/<int:producer_id>/bank-account/qr.png")
@role_required()
def qr_png(producer_id: int):
    payload = _static_payload(producer_id)
    return _image(vietqr.render_png(payload, scale=12), "image/png", download=f"vietqr-{producer_id}.png")
