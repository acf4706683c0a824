"""Requests for quotation, quotes (submit, compare, accept, decline, withdraw) and producers' leads."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from marketplace.core.auth import login_required, role_required
from marketplace.core.dates import today
from marketplace.core.errors import ServiceError
from marketplace.core.form_errors import apply_error
from marketplace.core.pagination import Page, page_arg, paginate
from marketplace.data import UNITS
from marketplace.extensions import db
from marketplace.inquiries import leads, messaging, rfqs, services
from marketplace.inquiries.forms import DeclineForm, EmptyForm, InviteForm, MessageForm, QuoteForm, ReasonForm, RfqForm
from marketplace.inquiries.models import Quote, Rfq
from marketplace.inquiries.notifications import mark_read_for_link
from marketplace.inquiries.views import bp, get_or_404
from marketplace.inquiries.views.threads import mark_seen_on_open, thread_page_context
from marketplace.producers.models import Producer

LIST_PER_PAGE = 20
SUGGESTIONS = 8


def _visible_rfq(rfq_id: int) -> Rfq:
    rfq = get_or_404(Rfq, rfq_id)
    if not rfqs.can_view_rfq(current_user, rfq):
        abort(404)
    return rfq


def _buyer_rfq(rfq_id: int) -> Rfq:
    rfq = get_or_404(Rfq, rfq_id)
    if rfq.buyer_id != current_user.id:
        abort(404)
    return rfq


# --------------------------------------------------------------------------- buyers' RFQs


@bp.get("/rfqs")
@role_required("buyer")
def my_rfqs():
    page = paginate(rfqs.buyer_rfqs_stmt(current_user), page_arg(request.args.get("page")), LIST_PER_PAGE)
    return render_template("inquiries/rfqs.html", page=page, rfq_state=services.rfq_state)


def _invite_choices(ids: list[int]) -> list[SelectChoice]:
    if not ids:
        return []
    producers = db.session.scalars(sa.select(Producer).where(Producer.id.in_(ids)).order_by(Producer.name))
    return [SelectChoice(p.id, p.name) for p in producers]


@bp.route("/rfqs/new", methods=["GET", "POST"])
@role_required("buyer")
def new_rfq():
    form = RfqForm()
    if request.method == "GET":
        invite_ids = [int(v) for v in request.args.getlist("invite") if v.isdigit()][: rfqs.MAX_INVITATIONS]
        form.invite.data = invite_ids
        found = services.profile_of(current_user.id)
        form.delivery_district.data = found.district if found else ""
        if request.args.get("group") in {c.value for c in form.ocop_group.choices if c.value}:
            form.ocop_group.data = request.args["group"]
    form.invite.choices = _invite_choices(list(form.invite.data or []))
    status = 200
    if form.validate_on_submit():
        data = rfqs.RfqData(
            title=form.title.data or "",
            details=form.details.data or "",
            ocop_group=form.ocop_group.data or None,
            quantity=form.quantity.data,
            unit=form.unit.data or "",
            min_stars=form.min_stars.data,
            target_price_vnd=form.target_price_vnd.data,
            deadline=form.deadline.data,
            delivery_district=form.delivery_district.data or "",
            visibility=form.visibility.data or "public",
            invite_producer_ids=list(form.invite.data or []),
        )
        try:
            rfq = rfqs.create_rfq(current_user, data)
        except services.RateLimited as error:
            form.form_errors.append(error.message)
            status = 429
        except ServiceError as error:
            apply_error(form, error)
        else:
            db.session.commit()
            flash(_("Đã đăng yêu cầu báo giá. Nhà sản xuất phù hợp sẽ được thông báo."), "success")
            return redirect(url_for("inquiries.rfq", rfq_id=rfq.id))
    return render_template("inquiries/rfq_form.html", form=form, units=UNITS, today=today()), status


@bp.get("/rfqs/<int:rfq_id>")
@login_required
def rfq(rfq_id: int):
    found = _visible_rfq(rfq_id)
    is_buyer = found.buyer_id == current_user.id
    mine = messaging.managed_producer_ids(current_user)
    quote_form = None
    quotable = rfqs.quotable_producers(current_user, found)
    if quotable:
        quote_form = QuoteForm()
        quote_form.producer_id.choices = [SelectChoice(p.id, p.name) for p in quotable]
    suggestions = []
    if is_buyer and rfqs.accepts_quotes(found):
        invited = {inv.producer_id for inv in found.invitations} | {q.producer_id for q in found.quotes}
        fits = leads.fitting_producers(found, limit=SUGGESTIONS + len(invited))
        ids = [f.producer_id for f in fits if f.producer_id not in invited][:SUGGESTIONS]
        by_id = {p.id: p for p in db.session.scalars(sa.select(Producer).where(Producer.id.in_(ids)))} if ids else {}
        suggestions = [by_id[i] for i in ids if i in by_id]
    mark_read_for_link(current_user, url_for("inquiries.rfq", rfq_id=found.id))
    db.session.commit()
    return render_rfq(found, is_buyer, mine, quote_form, suggestions)


def render_rfq(found: Rfq, is_buyer: bool, mine: list[int], quote_form: QuoteForm | None, suggestions=(), status=200):
    return (
        render_template(
            "inquiries/rfq.html",
            rfq=found,
            state=services.rfq_state(found),
            is_buyer=is_buyer,
            rows=rfqs.compare_quotes(found) if is_buyer else [],
            my_quotes=[q for q in found.quotes if q.producer_id in mine],
            my_invitations=[inv for inv in found.invitations if inv.producer_id in mine and not inv.declined],
            quote_form=quote_form,
            suggestions=suggestions,
            action_form=EmptyForm(),
            decline_form=DeclineForm(),
            invite_form=InviteForm(),
            hide_form=ReasonForm(),
            accepts_quotes=rfqs.accepts_quotes(found),
            buyer_profile=services.profile_of(found.buyer_id),
            buyer_name=services.buyer_name(found.buyer),
            can_cancel=is_buyer and services.can_transition(found, "cancelled"),
        ),
        status,
    )


@bp.post("/rfqs/<int:rfq_id>/cancel")
@login_required
def cancel_rfq(rfq_id: int):
    found = _buyer_rfq(rfq_id)
    try:
        rfqs.cancel_rfq(current_user, found)
    except ServiceError as error:
        db.session.rollback()
        apply_error(None, error)
    else:
        db.session.commit()
        flash(_("Đã hủy yêu cầu báo giá. Các nhà sản xuất đã báo giá được thông báo."), "success")
    return redirect(url_for("inquiries.rfq", rfq_id=rfq_id))


@bp.post("/rfqs/<int:rfq_id>/invite")
@login_required
def invite(rfq_id: int):
    found = _buyer_rfq(rfq_id)
    producer_id = request.form.get("producer_id", type=int)
    producer = db.session.get(Producer, producer_id) if producer_id else None
    if producer is None:
        abort(404)
    try:
        rfqs.invite_producer(current_user, found, producer)
    except ServiceError as error:
        apply_error(None, error)
    else:
        db.session.commit()
        flash(_("Đã mời %(name)s báo giá.", name=producer.name), "success")
    return redirect(url_for("inquiries.rfq", rfq_id=rfq_id))


# --------------------------------------------------------------------------- producers quoting


@bp.post("/rfqs/<int:rfq_id>/quotes")
@login_required
def submit_quote(rfq_id: int):
    found = _visible_rfq(rfq_id)
    mine = messaging.managed_producer_ids(current_user)
    if not mine or found.buyer_id == current_user.id:
        abort(404)
    form = QuoteForm()
    # Every producer the user manages is a valid choice: the service says why one may not quote.
    form.producer_id.choices = [
        SelectChoice(p.id, p.name)
        for p in db.session.scalars(sa.select(Producer).where(Producer.id.in_(mine)).order_by(Producer.name))
    ]
    if form.validate_on_submit():
        producer = db.session.get(Producer, form.producer_id.data)
        data = rfqs.QuoteData(
            unit_price_vnd=form.unit_price_vnd.data,
            moq=form.moq.data,
            lead_time_days=form.lead_time_days.data,
            valid_until=form.valid_until.data,
            note=form.note.data or "",
            sample_offer=bool(form.sample_offer.data),
        )
        try:
            if producer is None:
                raise ServiceError("producer_id", _("Vui lòng chọn cơ sở báo giá."))
            quote = rfqs.submit_quote(current_user, found, producer, data)
        except ServiceError as error:
            db.session.rollback()
            apply_error(form, error)
        except sa.exc.IntegrityError:  # the same producer's second tab
            db.session.rollback()
            form.producer_id.errors = [*form.producer_id.errors, _("Cơ sở đã gửi báo giá cho yêu cầu này.")]
        else:
            db.session.commit()
            flash(_("Đã gửi báo giá. Người mua sẽ được thông báo."), "success")
            return redirect(url_for("inquiries.quote", quote_id=quote.id))
    return render_rfq(found, False, mine, form, status=400)


@bp.post("/rfqs/<int:rfq_id>/decline-invitation")
@login_required
def decline_invitation(rfq_id: int):
    found = _visible_rfq(rfq_id)
    producer_id = request.form.get("producer_id", type=int)
    producer = db.session.get(Producer, producer_id) if producer_id else None
    if producer is None or producer.id not in messaging.managed_producer_ids(current_user):
        abort(404)
    try:
        rfqs.decline_invitation(current_user, found, producer)
    except ServiceError as error:
        apply_error(None, error)
    else:
        db.session.commit()
        flash(_("Đã báo người mua rằng %(name)s không tham gia lần này.", name=producer.name), "success")
    return redirect(url_for("inquiries.rfq", rfq_id=rfq_id))


# --------------------------------------------------------------------------- quotes


def _visible_quote(quote_id: int) -> Quote:
    quote = get_or_404(Quote, quote_id)
    if not rfqs.can_view_quote(current_user, quote):
        abort(404)
    return quote


def render_quote(quote: Quote, message_form: MessageForm | None = None, status: int = 200):
    context = thread_page_context(quote.thread, message_form)
    rfq_ = quote.rfq
    return (
        render_template(
            "inquiries/quote.html",
            **context,
            quote=quote,
            rfq=rfq_,
            is_buyer=rfq_.buyer_id == current_user.id,
            is_seller=context["party"] and rfq_.buyer_id != current_user.id,
            decline_form=DeclineForm(),
            buyer_profile=services.profile_of(rfq_.buyer_id),
            buyer_name=services.buyer_name(rfq_.buyer),
            expired=quote.valid_until < today(),
        ),
        status,
    )


@bp.get("/quotes/<int:quote_id>")
@login_required
def quote(quote_id: int):
    found = _visible_quote(quote_id)
    mark_seen_on_open(found.thread, url_for("inquiries.quote", quote_id=found.id))
    return render_quote(found)


def _quote_action(quote_id: int, action, success: str, **kwargs):
    found = _visible_quote(quote_id)
    if not messaging.is_party(current_user, found.thread):
        abort(404)
    rfq_id = found.rfq_id
    try:
        action(current_user, found, **kwargs)
    except ServiceError as error:
        db.session.rollback()
        apply_error(None, error)
    except (sa.exc.IntegrityError, sa.exc.OperationalError):
        # Lost a race the database settled (another accept committed first).
        db.session.rollback()
        current_app.logger.info("quote %s: concurrent decision refused by the database", quote_id)
        flash(_("Yêu cầu báo giá này vừa được chốt với một báo giá khác. Vui lòng tải lại trang."), "error")
    else:
        db.session.commit()
        flash(success, "success")
    if request.form.get("back") == "rfq":
        return redirect(url_for("inquiries.rfq", rfq_id=rfq_id))
    return redirect(url_for("inquiries.quote", quote_id=quote_id))


@bp.post("/quotes/<int:quote_id>/accept")
@login_required
def accept_quote(quote_id: int):
    return _quote_action(
        quote_id, rfqs.accept_quote, _("Đã chấp nhận báo giá. Các báo giá khác được thông báo là không được chọn.")
    )


@bp.post("/quotes/<int:quote_id>/decline")
@login_required
def decline_quote(quote_id: int):
    return _quote_action(quote_id, rfqs.decline_quote, _("Đã từ chối báo giá."), note=request.form.get("note", ""))


@bp.post("/quotes/<int:quote_id>/withdraw")
@login_required
def withdraw_quote(quote_id: int):
    return _quote_action(quote_id, rfqs.withdraw_quote, _("Đã rút báo giá."))


# --------------------------------------------------------------------------- leads


@bp.get("/leads")
@role_required("producer")
def leads_page():
    mine = messaging.managed_producer_ids(current_user)
    found = leads.leads_for(mine, buyer_id=current_user.id)
    number = page_arg(request.args.get("page"))
    start = (number - 1) * LIST_PER_PAGE
    page = Page(items=found[start : start + LIST_PER_PAGE], total=len(found), page=number, per_page=LIST_PER_PAGE)
    quotes = paginate(rfqs.producer_quotes_stmt(current_user), 1, 10)
    return render_template("inquiries/leads.html", page=page, has_producers=bool(mine), quotes=quotes.items)
