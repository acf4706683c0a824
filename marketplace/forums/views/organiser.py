"""Organisers' pages: set-up (forum, sessions, status), registration review, recommendations,
the schedule grid (run, lock, move, unschedule)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms.fields.choices import SelectChoice

from marketplace.core.auth import role_required
from marketplace.core.errors import ServiceError
from marketplace.core.form_errors import apply_error
from marketplace.core.pagination import page_arg
from marketplace.extensions import db
from marketplace.forums import recommendations, scheduling, setup
from marketplace.forums import registration as registrations
from marketplace.forums.forms import ForumForm, MoveForm, RefuseForm, SessionEntryForm, SessionsForm
from marketplace.forums.models import REGISTRATION_STATUSES, Forum
from marketplace.forums.views import bp, forum_or_404, registration_or_404

STAFF = ("organiser", "admin")


@bp.route("/new", methods=["GET", "POST"])
@role_required(*STAFF)
def new():
    form = ForumForm()
    if form.validate_on_submit():
        try:
            forum = setup.create_forum(current_user, form.to_data())
        except ServiceError as error:
            apply_error(form, error)
        else:
            db.session.commit()
            flash(_("Đã tạo diễn đàn. Hãy thêm các phiên gặp gỡ."), "success")
            return redirect(url_for("forums.sessions", forum_id=forum.id))
    return render_template("forums/form.html", form=form, forum=None)


@bp.route("/<int:forum_id>/edit", methods=["GET", "POST"])
@role_required(*STAFF)
def edit(forum_id: int):
    forum = forum_or_404(forum_id)
    form = ForumForm()
    if request.method == "GET":
        form.fill(forum)
    if form.validate_on_submit():
        try:
            setup.update_forum(current_user, forum, form.to_data())
        except ServiceError as error:
            apply_error(form, error)
        else:
            db.session.commit()
            flash(_("Đã lưu diễn đàn."), "success")
            return redirect(url_for("forums.show", forum_id=forum.id))
    return render_template("forums/form.html", form=form, forum=forum)


def _sessions_form(forum: Forum) -> SessionsForm:
    if request.method == "POST":
        return SessionsForm()
    form = SessionsForm(formdata=None, data={"sessions": []})
    while len(form.sessions):
        form.sessions.pop_entry()
    for session in forum.sessions:
        entry = form.sessions.append_entry()
        sub: SessionEntryForm = entry.form
        sub.id.data = str(session.id)
        for name in ("name", "day", "starts_at", "ends_at", "meeting_minutes", "break_starts_at", "break_ends_at"):
            getattr(sub, name).data = getattr(session, name)
    form.sessions.append_entry()  # a blank row for a new session
    return form


@bp.route("/<int:forum_id>/sessions", methods=["GET", "POST"])
@role_required(*STAFF)
def sessions(forum_id: int):
    forum = forum_or_404(forum_id)
    form = _sessions_form(forum)
    if form.validate_on_submit():
        try:
            setup.set_sessions(current_user, forum, form.to_data())
        except ServiceError as error:
            _session_error(form, error)
        else:
            db.session.commit()
            flash(_("Đã lưu các phiên; khung giờ gặp đã được tạo."), "success")
            return redirect(url_for("forums.sessions", forum_id=forum.id))
    return render_template("forums/sessions.html", forum=forum, form=form)


def _session_error(form: SessionsForm, error: ServiceError) -> None:
    """Errors name "sessions-<i>-<field>" with i counting the kept rows: find that row."""
    parts = (error.field or "").split("-")
    if len(parts) == 3 and parts[1].isdigit():
        kept = [e for e in form.sessions if not (e.form.remove.data or e.form.is_blank())]
        index = int(parts[1])
        if index < len(kept):
            target = getattr(kept[index].form, parts[2], None)
            if target is not None:
                target.errors = list(target.errors) + [error.message]
                return
    flash(error.message, "error")


@bp.post("/<int:forum_id>/status")
@role_required(*STAFF)
def change_status(forum_id: int):
    forum = forum_or_404(forum_id)
    if FlaskForm().validate_on_submit():
        try:
            setup.change_status(current_user, forum, request.form.get("status", ""))
        except ServiceError as error:
            apply_error(None, error)
        else:
            db.session.commit()
            flash(_("Đã cập nhật trạng thái diễn đàn."), "success")
    return redirect(url_for("forums.show", forum_id=forum.id))


# --------------------------------------------------------------------------- registrations


@bp.get("/<int:forum_id>/registrations")
@role_required(*STAFF)
def registrations_page(forum_id: int):
    forum = forum_or_404(forum_id)
    status = request.args.get("status") or "pending"
    status = status if status in REGISTRATION_STATUSES else "pending"
    page = registrations.registrations_for_review(forum, status, page_arg(request.args.get("page")))
    counts = {
        s: registrations.count_registrations(forum, "buyer", (s,))
        + registrations.count_registrations(forum, "producer", (s,))
        for s in REGISTRATION_STATUSES
    }
    return render_template(
        "forums/registrations.html",
        forum=forum,
        page=page,
        status=status,
        counts=counts,
        refuse_form=RefuseForm(formdata=None),
        action_form=FlaskForm(),
    )


@bp.post("/<int:forum_id>/registrations/<int:registration_id>/approve")
@role_required(*STAFF)
def approve(forum_id: int, registration_id: int):
    forum = forum_or_404(forum_id)
    registration = registration_or_404(forum, registration_id)
    if FlaskForm().validate_on_submit():
        try:
            registrations.approve(current_user, registration)
        except ServiceError as error:
            apply_error(None, error)
        else:
            db.session.commit()
            flash(_("Đã duyệt %(name)s.", name=registration.organisation or registration.contact_name), "success")
    return redirect(url_for("forums.registrations_page", forum_id=forum.id, status=request.args.get("status")))


@bp.post("/<int:forum_id>/registrations/<int:registration_id>/refuse")
@role_required(*STAFF)
def refuse(forum_id: int, registration_id: int):
    forum = forum_or_404(forum_id)
    registration = registration_or_404(forum, registration_id)
    form = RefuseForm()
    if form.validate_on_submit():
        try:
            registrations.refuse(current_user, registration, form.reason.data or "")
        except ServiceError as error:
            apply_error(None, error)
        else:
            db.session.commit()
            flash(_("Đã từ chối %(name)s.", name=registration.organisation or registration.contact_name), "success")
    else:
        flash(_("Hãy nêu lý do từ chối."), "error")
    return redirect(url_for("forums.registrations_page", forum_id=forum.id, status=request.args.get("status")))


@bp.post("/<int:forum_id>/recommendations")
@role_required(*STAFF)
def refresh_recommendations(forum_id: int):
    forum = forum_or_404(forum_id)
    if FlaskForm().validate_on_submit():
        report = recommendations.refresh_recommendations(forum)
        db.session.commit()
        flash(
            _(
                "Gợi ý gặp gỡ: %(created)s mới, %(updated)s cập nhật, %(removed)s bỏ.",
                created=report.created,
                updated=report.updated,
                removed=report.removed,
            ),
            "success",
        )
    return redirect(url_for("forums.schedule", forum_id=forum.id))


# --------------------------------------------------------------------------- schedule


@bp.get("/<int:forum_id>/schedule")
@role_required(*STAFF)
def schedule(forum_id: int):
    forum = forum_or_404(forum_id)
    return render_template("forums/schedule.html", forum=forum, grid=scheduling.grid(forum), action_form=FlaskForm())


@bp.post("/<int:forum_id>/schedule/run")
@role_required(*STAFF)
def run_schedule(forum_id: int):
    forum = forum_or_404(forum_id)
    if FlaskForm().validate_on_submit():
        try:
            report = scheduling.run_schedule(current_user, forum)
        except ServiceError as error:
            apply_error(None, error)
        else:
            db.session.commit()
            flash(
                _(
                    "Đã xếp %(placed)s cuộc gặp (%(accepted)s/%(total)s cuộc gặp đã nhận lời); "
                    "%(unplaced)s chưa xếp được.",
                    placed=report.placed,
                    accepted=report.accepted_placed,
                    total=report.accepted_total,
                    unplaced=report.unplaced,
                ),
                "success",
            )
            if report.locked_conflicts:
                flash(_("Có %(n)s cuộc gặp bị khoá đang vi phạm ràng buộc.", n=len(report.locked_conflicts)), "warning")
    return redirect(url_for("forums.schedule", forum_id=forum.id))


def _meeting_or_404(forum: Forum, meeting_id: int):
    meeting = scheduling.get_forum_meeting(forum, meeting_id)
    if meeting is None:
        abort(404)
    return meeting


def _move_form(forum: Forum, meeting) -> MoveForm:
    form = MoveForm()
    form.slot_id.choices = [SelectChoice(s.id, f"{s.session.name} {_slot_label(s)}".strip()) for s in forum.slots]
    if request.method == "GET":
        form.slot_id.data = meeting.slot_id
        form.table_no.data = meeting.table_no
    return form


def _slot_label(slot) -> str:
    from marketplace.core.dates import to_local

    start, end = to_local(slot.starts_at), to_local(slot.ends_at)
    return f"{start:%d/%m %H:%M}–{end:%H:%M}"


@bp.route("/<int:forum_id>/schedule/meetings/<int:meeting_id>", methods=["GET", "POST"])
@role_required(*STAFF)
def schedule_meeting(forum_id: int, meeting_id: int):
    forum = forum_or_404(forum_id)
    meeting = _meeting_or_404(forum, meeting_id)
    form = _move_form(forum, meeting)
    if form.validate_on_submit():
        try:
            scheduling.move(current_user, meeting, form.slot_id.data, form.table_no.data)
        except ServiceError as error:
            apply_error(form, error)
        else:
            db.session.commit()
            flash(_("Đã xếp cuộc gặp và khoá vị trí."), "success")
            return redirect(url_for("forums.schedule", forum_id=forum.id))
    grid = scheduling.grid(forum)
    return render_template(
        "forums/schedule_meeting.html",
        forum=forum,
        meeting=meeting,
        form=form,
        conflicts=grid.conflicts.get(meeting.id, []),
        action_form=FlaskForm(),
    )


def _grid_action(forum_id: int, meeting_id: int, action, done: str):
    forum = forum_or_404(forum_id)
    meeting = _meeting_or_404(forum, meeting_id)
    if FlaskForm().validate_on_submit():
        try:
            action(current_user, meeting)
        except ServiceError as error:
            apply_error(None, error)
        else:
            db.session.commit()
            flash(done, "success")
    return redirect(url_for("forums.schedule", forum_id=forum.id))


@bp.post("/<int:forum_id>/schedule/meetings/<int:meeting_id>/lock")
@role_required(*STAFF)
def lock_meeting(forum_id: int, meeting_id: int):
    return _grid_action(forum_id, meeting_id, lambda u, m: scheduling.set_locked(u, m, True), _("Đã khoá cuộc gặp."))


@bp.post("/<int:forum_id>/schedule/meetings/<int:meeting_id>/unlock")
@role_required(*STAFF)
def unlock_meeting(forum_id: int, meeting_id: int):
    return _grid_action(
        forum_id, meeting_id, lambda u, m: scheduling.set_locked(u, m, False), _("Đã mở khoá cuộc gặp.")
    )


@bp.post("/<int:forum_id>/schedule/meetings/<int:meeting_id>/unschedule")
@role_required(*STAFF)
def unschedule_meeting(forum_id: int, meeting_id: int):
    return _grid_action(forum_id, meeting_id, scheduling.unschedule_meeting, _("Đã bỏ xếp lịch cuộc gặp."))
