"""The forum day (blueprint "forum_day"): agendas and their print versions, the table plan,
check-in at the door, attendance and no-shows, meeting outcomes, the forum report."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from marketplace.core.auth import role_required
from marketplace.core.dates import to_local
from marketplace.core.errors import ServiceError
from marketplace.core.form_errors import apply_error
from marketplace.core.models import utcnow
from marketplace.core.pagination import page_arg
from marketplace.extensions import db
from marketplace.forums import agenda, checkin, outcomes, report
from marketplace.forums.day_forms import CheckInForm, OutcomeForm, ReleaseForm
from marketplace.forums.models import Forum, Meeting, Registration

bp = Blueprint("forum_day", __name__, url_prefix="/forums")

STAFF = ("organiser", "admin")


def _forum_or_404(forum_id: int) -> Forum:
    forum = db.session.get(Forum, forum_id)
    if forum is None:
        abort(404)
    return forum


# --------------------------------------------------------------------------- agendas


def _render_agenda(forum: Forum, registration: Registration, template: str):
    return render_template(
        template,
        forum=forum,
        registration=registration,
        items=agenda.agenda_items(registration),
        name=agenda.display_name(registration),
        qr=agenda.qr_svg(registration.checkin_code) if registration.status == "approved" else None,
        now=utcnow(),
        own=registration.user_id == current_user.id,
        result_labels=outcomes.RESULT_LABELS,
    )


@bp.get("/<int:forum_id>/agenda", endpoint="agenda")
@role_required()
def own_agenda(forum_id: int):
    """The signed-in participant's own agenda."""
    forum = _forum_or_404(forum_id)
    registration = agenda.own_registration(current_user, forum)
    if registration is None:
        abort(404)
    return _render_agenda(forum, registration, "forums/day_agenda.html")


@bp.get("/<int:forum_id>/agenda/print")
@role_required()
def agenda_print(forum_id: int):
    forum = _forum_or_404(forum_id)
    registration = agenda.own_registration(current_user, forum)
    if registration is None or registration.status != "approved":
        abort(404)
    return render_template(
        "forums/print_agendas.html",
        forum=forum,
        sheets=[(registration, agenda.agenda_items(registration), agenda.qr_svg(registration.checkin_code))],
        display_name=agenda.display_name,
    )


@bp.get("/<int:forum_id>/registrations/<int:registration_id>/agenda")
@role_required()
def participant_agenda(forum_id: int, registration_id: int):
    """A participant's agenda: organisers any, a participant only their own (else 404)."""
    forum = _forum_or_404(forum_id)
    registration = agenda.registration_for(current_user, forum, registration_id)
    if registration is None:
        abort(404)
    return _render_agenda(forum, registration, "forums/day_agenda.html")


@bp.get("/<int:forum_id>/print/agendas")
@role_required(*STAFF)
def print_agendas(forum_id: int):
    forum = _forum_or_404(forum_id)
    kind = request.args.get("kind") or ""
    participants = agenda.agenda_participants(forum, kind)
    sheets = [(r, agenda.agenda_items(r), agenda.qr_svg(r.checkin_code)) for r in participants]
    return render_template(
        "forums/print_agendas.html", forum=forum, sheets=sheets, display_name=agenda.display_name, kind=kind
    )


@bp.get("/<int:forum_id>/print/table-plan")
@role_required(*STAFF)
def print_table_plan(forum_id: int):
    forum = _forum_or_404(forum_id)
    return render_template(
        "forums/print_table_plan.html",
        forum=forum,
        plan=agenda.table_plan(forum),
        display_name=agenda.display_name,
        to_local=to_local,
    )


# --------------------------------------------------------------------------- check-in


def _render_checkin(forum: Forum, form: CheckInForm, result=None):
    return render_template(
        "forums/day_checkin.html",
        forum=forum,
        form=form,
        result=result,
        counts=checkin.attendance_counts(forum),
        display_name=agenda.display_name,
    )


@bp.get("/<int:forum_id>/check-in")
@role_required(*STAFF)
def checkin_page(forum_id: int):
    forum = _forum_or_404(forum_id)
    return _render_checkin(forum, CheckInForm(formdata=None))


@bp.post("/<int:forum_id>/check-in")
@role_required(*STAFF)
def checkin_post(forum_id: int):
    forum = _forum_or_404(forum_id)
    form = CheckInForm()
    result = None
    status = 200
    if form.validate_on_submit():
        try:
            result = checkin.check_in(current_user, forum, form.code.data)
        except ServiceError as error:
            db.session.rollback()
            apply_error(form, error)
            status = 422
        else:
            db.session.commit()
            form = CheckInForm(formdata=None)
    else:
        status = 422
    return _render_checkin(forum, form, result), status


@bp.get("/<int:forum_id>/attendance")
@role_required(*STAFF)
def attendance(forum_id: int):
    forum = _forum_or_404(forum_id)
    filters = checkin.AttendanceFilters.from_args(request.args)
    page = checkin.attendance_page(forum, filters, page_arg(request.args.get("page")))
    no_shows = checkin.releasable(forum)
    absent_ids = {r.id for item in no_shows for r in item.absent}
    return render_template(
        "forums/day_attendance.html",
        forum=forum,
        page=page,
        filters=filters,
        counts=checkin.attendance_counts(forum),
        no_shows=no_shows,
        absent_ids=absent_ids,
        release_form=ReleaseForm(formdata=None),
        display_name=agenda.display_name,
        to_local=to_local,
    )


@bp.post("/<int:forum_id>/no-shows/release")
@role_required(*STAFF)
def release(forum_id: int):
    forum = _forum_or_404(forum_id)
    form = ReleaseForm()
    if not form.validate_on_submit():
        flash(_("Phiên làm việc đã hết hạn, vui lòng thử lại."), "error")
        return redirect(url_for("forum_day.attendance", forum_id=forum.id))
    registration = None
    registration_id = form.registration_id_value()
    if form.registration_id.data:
        registration = db.session.get(Registration, registration_id) if registration_id else None
        if registration is None or registration.forum_id != forum.id:
            abort(404)
    released = checkin.release_no_shows(current_user, forum, registration=registration)
    db.session.commit()
    if released:
        flash(_("Đã giải phóng %(n)s cuộc gặp và báo cho bên còn lại.", n=len(released)), "success")
    else:
        flash(_("Không có cuộc gặp nào cần giải phóng."), "info")
    return redirect(url_for("forum_day.attendance", forum_id=forum.id))


# --------------------------------------------------------------------------- outcomes


def _own_meeting_or_404(forum: Forum, meeting_id: int) -> tuple[Meeting, Registration]:
    meeting = db.session.get(Meeting, meeting_id)
    if meeting is None or meeting.forum_id != forum.id:
        abort(404)
    side = outcomes.meeting_side(current_user, meeting)
    if side is None:
        abort(404)
    return meeting, side


@bp.route("/<int:forum_id>/meetings/<int:meeting_id>/outcome", methods=["GET", "POST"])
@role_required()
def outcome(forum_id: int, meeting_id: int):
    forum = _forum_or_404(forum_id)
    meeting, side = _own_meeting_or_404(forum, meeting_id)
    existing = outcomes.own_outcome(meeting, side)
    if request.method == "POST":
        form = OutcomeForm()
        if form.validate_on_submit():
            try:
                outcomes.record_outcome(current_user, meeting, form.data_object())
            except ServiceError as error:
                db.session.rollback()
                apply_error(form, error)
            else:
                db.session.commit()
                flash(_("Đã lưu kết quả cuộc gặp."), "success")
                return redirect(url_for("forum_day.agenda", forum_id=forum.id))
        status = 422
    else:
        form = OutcomeForm(formdata=None)
        if existing is not None:
            form.result.data = existing.result
            form.deal_value.data = str(existing.deal_value_vnd) if existing.deal_value_vnd is not None else ""
            form.note.data = existing.note
        status = 200
    other = meeting.invitee if side.id == meeting.requester_id else meeting.requester
    return render_template(
        "forums/day_outcome.html",
        forum=forum,
        meeting=meeting,
        other_name=agenda.display_name(other),
        starts_at=to_local(meeting.slot.starts_at) if meeting.slot else None,
        can_record=outcomes.can_record(meeting),
        existing=existing,
        form=form,
    ), status


# --------------------------------------------------------------------------- report


@bp.get("/<int:forum_id>/report")
@role_required(*STAFF)
def report_page(forum_id: int):
    forum = _forum_or_404(forum_id)
    return render_template("forums/day_report.html", forum=forum, report=report.build_report(forum))


@bp.get("/<int:forum_id>/report/<key>.csv")
@role_required(*STAFF)
def report_csv(forum_id: int, key: str):
    forum = _forum_or_404(forum_id)
    table = report.build_report(forum).table(key)
    if table is None:
        abort(404)
    return Response(
        report.table_csv(table),
        mimetype="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="dien-dan-{forum.id}-{key}.csv"'},
    )
