"""Public forum pages: the list, a forum's page, the participant directory."""

from __future__ import annotations

from flask import render_template, request
from wtforms.fields.choices import SelectChoice

from marketplace.core.pagination import page_arg
from marketplace.forums import registration as registrations
from marketplace.forums import setup
from marketplace.forums.forms import DirectoryFilterForm, _group_choices, session_label
from marketplace.forums.meetings import pair_meeting, requests_open
from marketplace.forums.views import bp, forum_or_404, registration_or_404, user_or_none


@bp.get("")
def index():
    forums = setup.visible_forums(user_or_none())
    return render_template("forums/index.html", forums=forums, past=setup.past_forums())


@bp.get("/<int:forum_id>")
def show(forum_id: int):
    forum = forum_or_404(forum_id)
    user = user_or_none()
    mine = registrations.own_registration(forum, user)
    counts = {kind: registrations.count_registrations(forum, kind, ("approved",)) for kind in ("buyer", "producer")}
    return render_template(
        "forums/show.html",
        forum=forum,
        mine=mine,
        counts=counts,
        registration_open=setup.registration_open(forum),
        transitions=setup.TRANSITIONS.get(forum.status, ()),
    )


@bp.get("/<int:forum_id>/participants")
def directory(forum_id: int):
    forum = forum_or_404(forum_id)
    form = DirectoryFilterForm(request.args)
    form.group.choices = [SelectChoice("", "—")] + _group_choices()
    form.session.choices = [SelectChoice("", "—")] + [SelectChoice(str(s.id), session_label(s)) for s in forum.sessions]
    session_id = int(form.session.data) if (form.session.data or "").isdigit() else None
    query = registrations.DirectoryQuery(
        q=(form.q.data or "")[:100], kind=form.kind.data or "", group=form.group.data or "", session_id=session_id
    )
    page = registrations.directory(forum, query, page_arg(request.args.get("page")))
    mine = registrations.own_registration(forum, user_or_none())
    return render_template("forums/directory.html", forum=forum, form=form, page=page, mine=mine)


@bp.get("/<int:forum_id>/participants/<int:registration_id>")
def participant(forum_id: int, registration_id: int):
    from marketplace.forums.forms import MeetingRequestForm

    forum = forum_or_404(forum_id)
    other = registration_or_404(forum, registration_id)
    mine = registrations.own_registration(forum, user_or_none())
    user = user_or_none()
    if not registrations.is_active(other) and not (user is not None and (user.is_staff or other.user_id == user.id)):
        from flask import abort

        abort(404)
    existing = pair_meeting(mine, other) if mine is not None and mine.id != other.id else None
    can_request = (
        mine is not None
        and mine.id != other.id
        and registrations.is_active(mine)
        and registrations.is_active(other)
        and requests_open(forum)
        and (existing is None or existing.status not in ("requested", "accepted"))
    )
    return render_template(
        "forums/participant.html",
        forum=forum,
        other=other,
        mine=mine,
        existing=existing,
        can_request=can_request,
        form=MeetingRequestForm(),
    )
