"""Blueprint "inquiries": buyer profile, inquiries, RFQs and quotes, threads, notifications, moderation.

Every route that shows or changes an inquiry, RFQ, quote, thread or attachment answers 404 to a
user who is not one of its parties (so ids cannot be probed), and 403 to a party lacking the right.
"""

from __future__ import annotations

from flask import Blueprint, abort
from flask_login import current_user

from marketplace.extensions import db

bp = Blueprint("inquiries", __name__)


def get_or_404(model, object_id: int):
    found = db.session.get(model, object_id)
    if found is None:
        abort(404)
    return found


@bp.app_context_processor
def inject_counts():
    """The bell's unread count, for base.html."""
    if not getattr(current_user, "is_authenticated", False):
        return {"notification_unread": 0}
    from sqlalchemy.exc import SQLAlchemyError

    from marketplace.inquiries.notifications import unread_count

    try:
        return {"notification_unread": unread_count(current_user)}
    except SQLAlchemyError:  # an error page after a failed transaction still renders
        db.session.rollback()
        return {"notification_unread": 0}


from marketplace.inquiries.views import (  # noqa: E402,F401  (routes register on bp)
    buyers,
    moderation,
    notices,
    rfqs,
    threads,
)
