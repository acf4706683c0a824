"""Message threads: the inbox, posting (with attachments), downloading attachments, reporting."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, send_file
from flask_babel import gettext as _
from flask_login import current_user

from marketplace.core.auth import login_required
from marketplace.core.errors import ServiceError
from marketplace.core.form_errors import apply_error
from marketplace.core.pagination import page_arg, paginate
from marketplace.extensions import db
from marketplace.inquiries import attachments, messaging, moderation
from marketplace.inquiries.common import setting
from marketplace.inquiries.forms import EmptyForm, MessageForm, ReasonForm
from marketplace.inquiries.models import Message, Thread
from marketplace.inquiries.notifications import mark_read_for_link
from marketplace.inquiries.views import bp, get_or_404

INBOX_PER_PAGE = 30


def thread_page_context(thread: Thread, message_form: MessageForm | None = None) -> dict:
    """What every page showing a message thread (an inquiry, a quote) passes to its template."""
    return {
        "thread": thread,
        "party": messaging.is_party(current_user, thread),
        "message_form": message_form or MessageForm(),
        "report_form": ReasonForm(),
        "action_form": EmptyForm(),
        "closed_reason": messaging.closed_reason(thread),
    }


def mark_seen_on_open(thread: Thread, page_url: str) -> None:
    """A party opening a thread's page has read its messages and the notifications linking there."""
    if messaging.is_party(current_user, thread):
        messaging.mark_read(current_user, thread)
        mark_read_for_link(current_user, page_url)
        db.session.commit()


@bp.get("/messages")
@login_required
def inbox():
    page = paginate(messaging.threads_stmt(current_user), page_arg(request.args.get("page")), INBOX_PER_PAGE)
    unread = messaging.unread_counts(current_user, [t.id for t in page.items])
    return render_template(
        "inquiries/inbox.html",
        page=page,
        unread=unread,
        subject_of=messaging.subject_of,
        link_of=messaging.link_of,
    )


def _uploads() -> list[attachments.Upload]:
    limit = int(setting("ATTACHMENT_MAX_BYTES"))
    found = []
    for storage in request.files.getlist("attachments"):
        if not storage or not storage.filename:
            continue
        # Read one byte past the limit: enough to refuse a large file without holding it all.
        found.append(attachments.Upload(storage.filename, storage.stream.read(limit + 1)))
    return found


@bp.post("/threads/<int:thread_id>/messages")
@login_required
def post_message(thread_id: int):
    thread = get_or_404(Thread, thread_id)
    if not messaging.is_party(current_user, thread):
        abort(404)
    form = MessageForm()
    if form.validate():
        try:
            messaging.post_message(current_user, thread, form.body.data, _uploads())
        except ServiceError as error:
            db.session.rollback()
            apply_error(form, error)
        else:
            db.session.commit()
            return redirect(messaging.link_of(thread) + "#reply")
    # Show the page again with what was typed and the message next to the box.
    if thread.inquiry_id is not None:
        from marketplace.inquiries.views.buyers import render_inquiry

        return render_inquiry(thread.inquiry, message_form=form, status=400)
    from marketplace.inquiries.views.rfqs import render_quote

    return render_quote(thread.quote, message_form=form, status=400)


@bp.get("/attachments/<int:attachment_id>")
@login_required
def attachment(attachment_id: int):
    item = messaging.attachment_for(current_user, attachment_id)
    if item is None:
        abort(404)
    path = attachments.path_of(item.stored_name)
    if not path.is_file():
        current_app.logger.warning("attachment %s missing on disk", item.id)
        abort(404)
    response = send_file(
        path,
        mimetype=item.content_type,
        as_attachment=not item.is_image or request.args.get("download") == "1",
        download_name=item.original_name,
        max_age=0,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; sandbox"
    return response


@bp.post("/messages/<int:message_id>/report")
@login_required
def report_message(message_id: int):
    message = get_or_404(Message, message_id)
    if not messaging.is_party(current_user, message.thread):
        abort(404)
    form = ReasonForm()
    back = messaging.link_of(message.thread)
    if not form.validate():
        flash(_("Vui lòng nêu lý do báo cáo."), "error")
        return redirect(back)
    try:
        moderation.report_message(current_user, message, form.reason.data)
    except ServiceError as error:
        apply_error(None, error)
        return redirect(back)
    db.session.commit()
    flash(_("Cảm ơn bạn. Ban tổ chức sẽ xem xét tin nhắn bị báo cáo."), "success")
    return redirect(back)
