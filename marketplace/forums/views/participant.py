"""Participants' pages: register, edit or cancel the registration, meeting requests and answers,
recommended meetings."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm

from marketplace.catalog.models import Product
from marketplace.core.auth import role_required
from marketplace.core.errors import ServiceError
from marketplace.core.form_errors import apply_error
from marketplace.extensions import db
from marketplace.forums import meetings as meeting_services
from marketplace.forums import recommendations, setup
from marketplace.forums import registration as registrations
from marketplace.forums.forms import MeetingRequestForm, RegistrationForm
from marketplace.forums.models import Forum, Registration
from marketplace.forums.views import bp, forum_or_404, registration_or_404
from marketplace.producers.services import managed_producers


def _products_of(producers) -> list[Product]:
    ids = [p.id for p in producers]
    if not ids:
        return []
    return list(
        db.session.scalars(
            sa.select(Product)
            .where(Product.producer_id.in_(ids), Product.status == "published")
            .order_by(Product.name, Product.id)
        )
    )


def _registration_form(forum: Forum, registration: Registration | None = None) -> RegistrationForm:
    producers = managed_producers(current_user)
    form = RegistrationForm()
    form.setup(forum, producers, _products_of(producers))
    if request.method == "GET":
        if registration is not None:
            form.fill(registration)
        else:
            form.kind.data = "producer" if producers and not current_user.has_role("buyer") else "buyer"
            form.contact_name.data = current_user.name
            form.email.data = current_user.email
            form.session_ids.data = [s.id for s in forum.sessions]
            if len(producers) == 1:
                form.producer_id.data = producers[0].id
    return form


@bp.route("/<int:forum_id>/register", methods=["GET", "POST"])
@role_required("buyer", "producer")
def register(forum_id: int):
    forum = forum_or_404(forum_id)
    if registrations.own_registration(forum, current_user) is not None:
        return redirect(url_for("forums.edit_registration", forum_id=forum.id))
    if not setup.registration_open(forum):
        flash(_("Diễn đàn này không còn nhận đăng ký."), "warning")
        return redirect(url_for("forums.show", forum_id=forum.id))
    form = _registration_form(forum)
    if form.validate_on_submit():
        try:
            registrations.register(forum, current_user, form.to_data())
        except ServiceError as error:
            apply_error(form, error)
        else:
            db.session.commit()
            flash(_("Đã gửi đăng ký. Ban tổ chức sẽ xét duyệt và báo cho bạn."), "success")
            return redirect(url_for("forums.show", forum_id=forum.id))
    return render_template("forums/register.html", forum=forum, form=form, registration=None)


def _own_registration_or_redirect(forum: Forum) -> Registration | None:
    registration = registrations.own_registration(forum, current_user)
    if registration is None:
        flash(_("Bạn chưa đăng ký diễn đàn này."), "warning")
    return registration


@bp.route("/<int:forum_id>/registration", methods=["GET", "POST"])
@role_required()
def edit_registration(forum_id: int):
    forum = forum_or_404(forum_id)
    registration = _own_registration_or_redirect(forum)
    if registration is None:
        return redirect(url_for("forums.show", forum_id=forum.id))
    form = _registration_form(forum, registration)
    if form.validate_on_submit():
        try:
            registrations.update_registration(registration, current_user, form.to_data())
        except ServiceError as error:
            apply_error(form, error)
        else:
            db.session.commit()
            flash(_("Đã lưu đăng ký."), "success")
            return redirect(url_for("forums.show", forum_id=forum.id))
    return render_template(
        "forums/register.html",
        forum=forum,
        form=form,
        registration=registration,
        editable=setup.registration_open(forum) and registration.status in ("pending", "approved"),
    )


@bp.post("/<int:forum_id>/registration/cancel")
@role_required()
def cancel_registration(forum_id: int):
    forum = forum_or_404(forum_id)
    registration = _own_registration_or_redirect(forum)
    if registration is not None and FlaskForm().validate_on_submit():
        try:
            registrations.cancel_registration(registration, current_user)
        except ServiceError as error:
            apply_error(None, error)
        else:
            db.session.commit()
            flash(_("Đã huỷ đăng ký."), "success")
    return redirect(url_for("forums.show", forum_id=forum.id))


# --------------------------------------------------------------------------- meetings


@bp.get("/<int:forum_id>/meetings")
@role_required()
def my_meetings(forum_id: int):
    forum = forum_or_404(forum_id)
    registration = _own_registration_or_redirect(forum)
    if registration is None:
        return redirect(url_for("forums.show", forum_id=forum.id))
    return render_template(
        "forums/meetings.html",
        forum=forum,
        mine=registration,
        lists=meeting_services.participant_meetings(registration),
        other_side=meeting_services.other_side,
        requests_open=meeting_services.requests_open(forum),
        fee_settled=registrations.fee_settled(registration),
        action_form=FlaskForm(),
    )


@bp.post("/<int:forum_id>/participants/<int:registration_id>/request")
@role_required()
def request_meeting(forum_id: int, registration_id: int):
    forum = forum_or_404(forum_id)
    other = registration_or_404(forum, registration_id)
    mine = _own_registration_or_redirect(forum)
    if mine is None:
        return redirect(url_for("forums.show", forum_id=forum.id))
    form = MeetingRequestForm()
    if form.validate_on_submit():
        try:
            meeting_services.request_meeting(mine, other, form.message.data or "")
        except ServiceError as error:
            apply_error(None, error)
        else:
            db.session.commit()
            flash(_("Đã gửi lời mời gặp."), "success")
            return redirect(url_for("forums.my_meetings", forum_id=forum.id))
    else:
        for errors in form.errors.values():
            for message in errors:
                flash(str(message), "error")
    return redirect(url_for("forums.participant", forum_id=forum.id, registration_id=other.id))


def _meeting_action(forum_id: int, meeting_id: int, action, done: str):
    forum = forum_or_404(forum_id)
    mine = registrations.own_registration(forum, current_user)
    meeting = meeting_services.get_participant_meeting(mine, meeting_id) if mine is not None else None
    if meeting is None or meeting.forum_id != forum.id:
        abort(404)
    if FlaskForm().validate_on_submit():
        try:
            action(meeting, mine)
        except ServiceError as error:
            apply_error(None, error)
        else:
            db.session.commit()
            flash(done, "success")
    return redirect(url_for("forums.my_meetings", forum_id=forum.id))


@bp.post("/<int:forum_id>/meetings/<int:meeting_id>/accept")
@role_required()
def accept_meeting(forum_id: int, meeting_id: int):
    return _meeting_action(
        forum_id, meeting_id, lambda m, r: meeting_services.respond(m, r, accept=True), _("Đã nhận lời gặp.")
    )


@bp.post("/<int:forum_id>/meetings/<int:meeting_id>/decline")
@role_required()
def decline_meeting(forum_id: int, meeting_id: int):
    return _meeting_action(
        forum_id, meeting_id, lambda m, r: meeting_services.respond(m, r, accept=False), _("Đã từ chối lời mời.")
    )


@bp.post("/<int:forum_id>/meetings/<int:meeting_id>/cancel")
@role_required()
def cancel_meeting(forum_id: int, meeting_id: int):
    return _meeting_action(forum_id, meeting_id, meeting_services.cancel, _("Đã huỷ cuộc gặp."))


@bp.post("/<int:forum_id>/meetings/<int:meeting_id>/dismiss")
@role_required()
def dismiss_recommendation(forum_id: int, meeting_id: int):
    return _meeting_action(forum_id, meeting_id, recommendations.dismiss, _("Đã bỏ qua gợi ý."))


@bp.post("/<int:forum_id>/meetings/<int:meeting_id>/invite")
@role_required()
def invite_recommended(forum_id: int, meeting_id: int):
    """Turn a recommendation into a meeting request to the other side."""
    return _meeting_action(
        forum_id,
        meeting_id,
        lambda m, r: meeting_services.request_meeting(r, meeting_services.other_side(m, r)),
        _("Đã gửi lời mời gặp."),
    )
