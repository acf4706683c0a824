"""Forum pages (blueprint "forums", /forums): public pages, participants' pages and organisers'
pages live in the modules imported at the bottom. The day-of pages (agendas, check-in, outcomes,
report) are the "forum_day" blueprint in marketplace/forums/day_views.py."""

from __future__ import annotations

from flask import Blueprint, abort
from flask_login import current_user

from marketplace.core.i18n import label
from marketplace.extensions import db
from marketplace.forums import setup
from marketplace.forums.forms import session_label
from marketplace.forums.models import Forum, Registration

bp = Blueprint("forums", __name__, url_prefix="/forums")


def user_or_none():
    return current_user if current_user.is_authenticated else None


def forum_or_404(forum_id: int) -> Forum:
    forum = setup.get_forum(forum_id, user_or_none())
    if forum is None:
        abort(404)
    return forum


def registration_or_404(forum: Forum, registration_id: int) -> Registration:
    registration = db.session.get(Registration, registration_id)
    if registration is None or registration.forum_id != forum.id:
        abort(404)
    return registration


@bp.app_template_filter("forum_status")
def forum_status_label(code: str) -> str:
    from flask_babel import lazy_gettext as _l

    labels = {
        "draft": _l("Bản nháp"),
        "open": _l("Đang nhận đăng ký"),
        "closed": _l("Đã đóng đăng ký"),
        "finished": _l("Đã kết thúc"),
    }
    return str(labels.get(code, code))


@bp.app_template_filter("forum_session_label")
def forum_session_label(session) -> str:
    return session_label(session)


@bp.app_template_filter("participant_kind")
def participant_kind_label(code: str) -> str:
    from flask_babel import lazy_gettext as _l

    return str({"buyer": _l("Người mua"), "producer": _l("Nhà sản xuất")}.get(code, code))


@bp.app_template_filter("group_labels")
def group_labels(codes: str) -> str:
    from marketplace.data import OCOP_GROUPS

    return ", ".join(label(OCOP_GROUPS, c) for c in (codes or "").split(",") if c)


from marketplace.forums.views import organiser, participant, public  # noqa: E402, F401
