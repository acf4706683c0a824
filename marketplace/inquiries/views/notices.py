"""The notification list (the bell), opening one, marking all read, e-mail preferences."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from marketplace.core.auth import login_required
from marketplace.core.errors import ServiceError
from marketplace.core.form_errors import apply_error
from marketplace.core.pagination import page_arg
from marketplace.core.urls import safe_next
from marketplace.extensions import db
from marketplace.inquiries import notifications
from marketplace.inquiries.forms import EmptyForm, SettingsForm
from marketplace.inquiries.views import bp


@bp.get("/notifications")
@login_required
def notifications_page():
    page = notifications.notifications_page(current_user, page_arg(request.args.get("page")))
    return render_template("inquiries/notifications.html", page=page, action_form=EmptyForm())


@bp.post("/notifications/<int:notification_id>/open")
@login_required
def open_notification(notification_id: int):
    item = notifications.get_own(current_user, notification_id)
    if item is None:
        abort(404)
    notifications.mark_read(current_user, item)
    db.session.commit()
    return redirect(safe_next(item.link, default=url_for("inquiries.notifications_page")))


@bp.post("/notifications/read-all")
@login_required
def read_all():
    notifications.mark_all_read(current_user)
    db.session.commit()
    flash(_("Đã đánh dấu tất cả thông báo là đã đọc."), "success")
    return redirect(url_for("inquiries.notifications_page"))


@bp.route("/notifications/settings", methods=["GET", "POST"])
@login_required
def notification_settings():
    form = SettingsForm()
    if request.method == "GET":
        form.email_mode.data = notifications.email_mode(current_user)
    if form.validate_on_submit():
        try:
            notifications.set_email_mode(current_user, form.email_mode.data)
        except ServiceError as error:
            apply_error(form, error)
        else:
            db.session.commit()
            flash(_("Đã lưu cách nhận email thông báo."), "success")
            return redirect(url_for("inquiries.notification_settings"))
    return render_template("inquiries/settings.html", form=form)
