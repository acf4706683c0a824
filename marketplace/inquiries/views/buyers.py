"""Buyer profile and 1:1 inquiries (from a product page or a storefront)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from marketplace.catalog.models import Product
from marketplace.core.auth import login_required, role_required
from marketplace.core.errors import ServiceError
from marketplace.core.form_errors import apply_error
from marketplace.data import UNITS
from marketplace.extensions import db
from marketplace.inquiries import messaging, services
from marketplace.inquiries.common import producer_users
from marketplace.inquiries.forms import BUYER_KIND_LABELS, InquiryForm, MessageForm, ProfileForm
from marketplace.inquiries.models import Inquiry
from marketplace.inquiries.responsiveness import describe_seconds, measure
from marketplace.inquiries.views import bp, get_or_404
from marketplace.inquiries.views.threads import mark_seen_on_open, thread_page_context
from marketplace.producers.models import Producer

# --------------------------------------------------------------------------- template helpers


@bp.app_template_global()
def inquiry_form_url(product: Product | None = None, producer: Producer | None = None) -> str:
    if product is not None:
        return url_for("inquiries.new_inquiry", product=product.ref)
    return url_for("inquiries.new_inquiry", producer=producer.id)


@bp.app_template_global()
def accepts_inquiries(producer: Producer) -> bool:
    """The producer has someone to answer (and it is not the visitor's own storefront)."""
    return services.can_inquire(current_user, producer)


@bp.app_template_global()
def producer_responsiveness(producer_id: int):
    return measure(producer_id)


@bp.app_template_global()
def status_label(kind: str, status: str) -> str:
    return services.status_label(kind, status)


@bp.app_template_global()
def buyer_profile_of(user_id: int):
    return services.profile_of(user_id)


bp.add_app_template_filter(describe_seconds, "response_time")
bp.add_app_template_global(BUYER_KIND_LABELS, "BUYER_KIND_LABELS")


# --------------------------------------------------------------------------- buyer profile


@bp.route("/buyer/profile", methods=["GET", "POST"])
@role_required("buyer")
def profile():
    existing = services.profile_of(current_user.id)
    form = ProfileForm(obj=existing)
    if existing is None and request.method == "GET":
        form.organisation.data = current_user.organisation
        form.contact_name.data = current_user.name
        form.phone.data = current_user.phone
    if form.validate_on_submit():
        data = services.ProfileData(
            organisation=form.organisation.data or "",
            kind=form.kind.data or "",
            district=form.district.data or "",
            contact_name=form.contact_name.data or "",
            phone=form.phone.data or "",
        )
        try:
            services.save_profile(current_user, data)
        except ServiceError as error:
            apply_error(form, error)
        else:
            db.session.commit()
            flash(_("Đã lưu hồ sơ người mua."), "success")
            return redirect(url_for("inquiries.profile"))
    return render_template("inquiries/profile.html", form=form)


# --------------------------------------------------------------------------- inquiries


def _inquiry_target() -> tuple[Producer, Product | None]:
    ref = request.args.get("product")
    if ref:
        product = db.session.scalar(sa.select(Product).where(Product.ref == ref))
        if product is None or not product.is_public:
            abort(404)
        return product.producer, product
    producer_id = request.args.get("producer", type=int)
    if producer_id is None:
        abort(404)
    return get_or_404(Producer, producer_id), None


@bp.route("/inquiries/new", methods=["GET", "POST"])
@role_required("buyer")
def new_inquiry():
    producer, product = _inquiry_target()
    form = InquiryForm()
    if request.method == "GET":
        form.unit.data = product.unit if product is not None else ""
        found = services.profile_of(current_user.id)
        form.delivery_district.data = found.district if found else ""
        if product is not None and product.moq:
            form.quantity.data = str(product.moq)
    status = 200
    if form.validate_on_submit():
        data = services.InquiryData(
            quantity=form.quantity.data,
            unit=form.unit.data or "",
            target_price_vnd=form.target_price_vnd.data,
            needed_by=form.needed_by.data,
            delivery_district=form.delivery_district.data or "",
            message=form.message.data or "",
        )
        try:
            inquiry = services.create_inquiry(current_user, producer, data, product)
        except services.RateLimited as error:
            form.form_errors.append(error.message)
            status = 429
        except ServiceError as error:
            apply_error(form, error)
        else:
            db.session.commit()
            flash(
                _("Đã gửi yêu cầu tới %(name)s. Bạn sẽ nhận thông báo khi nhà sản xuất trả lời.", name=producer.name),
                "success",
            )
            return redirect(url_for("inquiries.inquiry", inquiry_id=inquiry.id))
    return (
        render_template(
            "inquiries/inquiry_form.html",
            form=form,
            producer=producer,
            product=product,
            units=UNITS,
            can_answer=bool(producer_users(producer)),
            has_profile=services.profile_of(current_user.id) is not None,
        ),
        status,
    )


def _visible_inquiry(inquiry_id: int) -> Inquiry:
    inquiry = get_or_404(Inquiry, inquiry_id)
    if not services.can_view_inquiry(current_user, inquiry):
        abort(404)
    return inquiry


def render_inquiry(found: Inquiry, message_form: MessageForm | None = None, status: int = 200):
    context = thread_page_context(found.thread, message_form)
    return (
        render_template(
            "inquiries/inquiry.html",
            **context,
            inquiry=found,
            is_buyer=current_user.id == found.buyer_id,
            buyer_profile=services.profile_of(found.buyer_id),
            can_close=context["party"] and services.can_transition(found, "closed"),
        ),
        status,
    )


@bp.get("/inquiries/<int:inquiry_id>")
@login_required
def inquiry(inquiry_id: int):
    found = _visible_inquiry(inquiry_id)
    mark_seen_on_open(found.thread, url_for("inquiries.inquiry", inquiry_id=found.id))
    return render_inquiry(found)


@bp.post("/inquiries/<int:inquiry_id>/close")
@login_required
def close_inquiry(inquiry_id: int):
    found = _visible_inquiry(inquiry_id)
    if not messaging.is_party(current_user, found.thread):
        abort(404)
    try:
        services.close_inquiry(current_user, found)
    except ServiceError as error:
        apply_error(None, error)
    else:
        db.session.commit()
        flash(_("Đã đóng cuộc trao đổi."), "success")
    return redirect(url_for("inquiries.inquiry", inquiry_id=found.id))
