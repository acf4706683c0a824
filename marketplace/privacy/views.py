"""Privacy pages: the policy (public), download my data, delete my account."""

from __future__ import annotations

import json

from flask import Blueprint, current_app, flash, redirect, render_template, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, logout_user

from marketplace.core.auth import login_required
from marketplace.core.errors import ServiceError
from marketplace.extensions import db
from marketplace.privacy import log_hygiene, services
from marketplace.privacy.forms import DeleteAccountForm, ExportForm

bp = Blueprint("privacy", __name__)
bp.record_once(lambda state: log_hygiene.install(state.app))


def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/chinh-sach-bao-mat")
def policy():
    contact = current_app.config.get("PRIVACY_CONTACT_EMAIL") or "privacy@ocop.hanoi.local"
    return render_template("privacy/policy.html", contact=contact)


@bp.route("/account/data", methods=["GET", "POST"])
@login_required
def my_data():
    form = ExportForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        body = json.dumps(services.export_user_data(user), ensure_ascii=False, indent=2)
        response = current_app.response_class(body, mimetype="application/json")
        response.headers["Content-Disposition"] = f'attachment; filename="ocop-du-lieu-ca-nhan-{user.id}.json"'
        return _no_store(response)
    return _no_store(current_app.make_response(render_template("privacy/my_data.html", form=form)))


@bp.route("/account/delete", methods=["GET", "POST"])
@login_required
def delete_account():
    user = current_user._get_current_object()
    form = DeleteAccountForm()
    if form.validate_on_submit():
        data = services.DeletionData(password=form.password.data, confirmation=form.confirmation.data)
        try:
            services.delete_account(user, data)
            db.session.commit()
        except ServiceError as error:  # raised before anything changed
            target = form[error.field] if error.field and error.field in form else None
            (target.errors if target is not None else form.form_errors).append(error.message)
        else:
            logout_user()
            kept = {key: session[key] for key in ("lang",) if key in session}
            session.clear()
            session.update(kept)
            flash(_("Tài khoản của bạn đã được xoá. Cảm ơn bạn đã sử dụng OCOP Trade Connect."), "info")
            return redirect(url_for("catalog.home"))
    try:
        services.check_can_delete(user)
        refusal = None
    except ServiceError as error:
        refusal = error.message
    page = render_template("privacy/delete_account.html", form=form, refusal=refusal, phrase=services.CONFIRM_PHRASE)
    return _no_store(current_app.make_response(page))
