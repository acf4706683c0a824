"""Account pages: register, verify e-mail, log in/out, passwords, profile."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from marketplace.accounts import services
from marketplace.accounts.forms import (
    ROLE_LABELS,
    ChangePasswordForm,
    EmptyForm,
    ForgotPasswordForm,
    LoginForm,
    ProfileForm,
    RegisterForm,
    ResetPasswordForm,
)
from marketplace.accounts.models import User
from marketplace.core.auth import login_required
from marketplace.core.errors import ServiceError
from marketplace.core.urls import safe_next
from marketplace.extensions import db, limiter

bp = Blueprint("accounts", __name__)

# Session keys that survive a login or logout: preferences, nothing about identity.
_KEPT_SESSION_KEYS = ("lang",)


def _limit(key: str, default: str):
    return lambda: current_app.config.get(key) or default


def _user_or_address() -> str:
    if current_user.is_authenticated:
        return f"user:{current_user.id}"
    return f"ip:{request.remote_addr or 'unknown'}"


def _start_session(user: User, remember: bool = False) -> None:
    """A fresh session for `user` (nothing from before the login survives but preferences)."""
    kept = {key: session[key] for key in _KEPT_SESSION_KEYS if key in session}
    session.clear()
    session.update(kept)
    login_user(user, remember=remember)


def _show_error(form, error: ServiceError) -> None:
    if error.field and error.field in form:
        form[error.field].errors.append(error.message)
    else:
        form.form_errors.append(error.message)


def _home() -> str:
    return url_for("catalog.home")


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(_limit("REGISTER_RATE_LIMIT", "20 per hour"), methods=["POST"])
def register():
    if current_user.is_authenticated:
        return redirect(_home())
    form = RegisterForm()
    if form.validate_on_submit():
        data = services.RegistrationData(
            name=form.name.data,
            email=form.email.data,
            password=form.password.data,
            role=form.role.data,
            organisation=form.organisation.data or "",
            phone=form.phone.data or "",
            locale=str(get_locale() or "vi"),
            privacy_consent=bool(form.privacy_consent.data),
        )
        try:
            user = services.register_user(data)
            db.session.commit()
        except ServiceError as error:  # raised before anything changed
            _show_error(form, error)
        except sa.exc.IntegrityError:  # the same address registered a moment ago
            db.session.rollback()
            form.email.errors.append(_("Địa chỉ email này đã được đăng ký."))
        else:
            _start_session(user)
            flash(_("Tài khoản đã được tạo. Chúng tôi đã gửi thư xác minh đến %(email)s.", email=user.email), "success")
            return redirect(url_for("accounts.verify_notice"))
    return render_template("accounts/register.html", form=form)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(
    _limit("LOGIN_RATE_LIMIT", "10 per minute"),
    methods=["POST"],
    deduct_when=lambda response: response.status_code != 302,  # only failed attempts count
)
def login():
    form = LoginForm(next=request.args.get("next", ""))
    target = form.next.data or request.args.get("next")
    if current_user.is_authenticated:
        return redirect(safe_next(target, default=_home()))
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.email.data, form.password.data)
        except ServiceError as error:  # raised before anything changed
            _show_error(form, error)
        else:
            db.session.commit()
            _start_session(user, remember=bool(form.remember.data))
            flash(_("Xin chào %(name)s, bạn đã đăng nhập.", name=user.name or user.email), "success")
            return redirect(safe_next(target, default=_home()))
    return render_template("accounts/login.html", form=form)


@bp.post("/logout")
def logout():
    form = EmptyForm()  # checks the CSRF token
    if form.validate_on_submit() and current_user.is_authenticated:
        logout_user()
        kept = {key: session[key] for key in _KEPT_SESSION_KEYS if key in session}
        session.clear()
        session.update(kept)
        flash(_("Bạn đã đăng xuất."), "info")
    return redirect(_home())


@bp.get("/verify")
def verify_notice():
    return render_template("accounts/verify_notice.html", form=EmptyForm())


@bp.post("/verify/resend")
@login_required
@limiter.limit(_limit("VERIFY_RESEND_RATE_LIMIT", "3 per 15 minutes"), key_func=_user_or_address)
def resend_verification():
    form = EmptyForm()
    if not form.validate_on_submit():
        return redirect(url_for("accounts.verify_notice"))
    if current_user.email_verified:
        flash(_("Địa chỉ email của bạn đã được xác minh."), "info")
        return redirect(url_for("accounts.profile"))
    services.send_verification_mail(current_user)
    db.session.commit()
    flash(_("Đã gửi lại thư xác minh đến %(email)s.", email=current_user.email), "success")
    return redirect(url_for("accounts.verify_notice"))


@bp.get("/verify-email/<token>")
def verify_email(token: str):
    try:
        user = services.verify_email(token)
        db.session.commit()
    except services.TokenError as error:
        return render_template("accounts/link_invalid.html", error=error, purpose="verify", form=EmptyForm()), 400
    flash(_("Địa chỉ email %(email)s đã được xác minh. Cảm ơn bạn!", email=user.email), "success")
    if current_user.is_authenticated:
        return redirect(url_for("accounts.profile"))
    return redirect(url_for("accounts.login"))


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit(_limit("RESET_RATE_LIMIT", "5 per 15 minutes"), methods=["POST"])
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        services.request_password_reset(form.email.data)
        db.session.commit()
        # The same answer whether or not the address has an account.
        flash(
            _(
                "Nếu địa chỉ %(email)s có tài khoản, chúng tôi đã gửi thư hướng dẫn đặt lại mật khẩu. "
                "Vui lòng kiểm tra hộp thư (cả mục thư rác).",
                email=services.normalise_email(form.email.data),
            ),
            "info",
        )
        return redirect(url_for("accounts.login"))
    return render_template("accounts/forgot_password.html", form=form)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    try:
        user = services.user_for_reset_token(token)
    except services.TokenError as error:
        return render_template("accounts/link_invalid.html", error=error, purpose="reset", form=EmptyForm()), 400
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            services.reset_password(token, form.password.data)
            db.session.commit()
        except ServiceError as error:  # raised before anything changed
            _show_error(form, error)
        else:
            _start_session(user)
            flash(_("Mật khẩu mới đã được lưu. Các phiên đăng nhập khác đã kết thúc."), "success")
            return redirect(_home())
    response = current_app.make_response(render_template("accounts/reset_password.html", form=form, user=user))
    response.headers["Referrer-Policy"] = "no-referrer"  # the token is in the URL
    return response


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        try:
            services.change_password(user, form.current_password.data, form.new_password.data)
            db.session.commit()
        except ServiceError as error:  # raised before anything changed
            _show_error(form, error)
        else:
            remember_cookie = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")
            _start_session(user, remember=remember_cookie in request.cookies)
            flash(_("Đã đổi mật khẩu. Các phiên đăng nhập trên thiết bị khác đã kết thúc."), "success")
            return redirect(url_for("accounts.profile"))
    return render_template("accounts/change_password.html", form=form)


@bp.route("/account", methods=["GET", "POST"])
@login_required
def profile():
    user = current_user._get_current_object()
    form = ProfileForm(obj=user)
    if form.validate_on_submit():
        data = services.ProfileData(
            name=form.name.data,
            phone=form.phone.data or "",
            organisation=form.organisation.data or "",
            locale=form.locale.data,
        )
        try:
            services.update_profile(user, data)
            db.session.commit()
        except ServiceError as error:  # raised before anything changed
            _show_error(form, error)
        else:
            session["lang"] = user.locale
            flash(_("Đã lưu thông tin tài khoản."), "success")
            return redirect(url_for("accounts.profile"))
    return render_template(
        "accounts/profile.html", form=form, user=user, role_labels=ROLE_LABELS, resend_form=EmptyForm()
    )
