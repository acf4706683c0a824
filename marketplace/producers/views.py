"""Producer storefronts: directory, public page, managers' dashboard and editing, claims, invitations."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from marketplace.catalog.stars import certificate_status, effective_stars
from marketplace.core.auth import role_required
from marketplace.core.errors import ServiceError
from marketplace.core.form_errors import apply_error
from marketplace.core.pagination import page_arg, paginate
from marketplace.core.uploads import delete_image
from marketplace.data import CERTIFICATIONS, PRODUCER_KINDS, craft_villages, district_names
from marketplace.extensions import db
from marketplace.producers import claims, invitations, services
from marketplace.producers.access import managed_or_403, producer_or_404
from marketplace.producers.directory import craft_village_options, directory_page, normalise_filters
from marketplace.producers.forms import ClaimForm, InvitationForm, PhotoForm, ProducerForm, RejectClaimForm
from marketplace.producers.models import Producer, ProducerClaim

bp = Blueprint("producers", __name__)

STOREFRONT_PER_PAGE = 12
QUEUE_PER_PAGE = 30


@bp.app_template_global()
def safe_website(url: str | None) -> str | None:
    """Only http(s) links are ever rendered as links (imported data is not trusted)."""
    value = (url or "").strip()
    return value if value.lower().startswith(("http://", "https://")) else None


# --------------------------------------------------------------------------- public pages


@bp.get("/producers")
def directory():
    filters = normalise_filters(
        request.args.get("q"), request.args.get("kind"), request.args.get("district"), request.args.get("craft_village")
    )
    page = directory_page(filters, page_arg(request.args.get("page")), current_app.config["PER_PAGE"])
    return render_template(
        "producers/directory.html",
        page=page,
        filters=filters,
        kinds=PRODUCER_KINDS,
        districts=district_names(),
        villages=craft_village_options(),
    )


@bp.get("/producers/<int:producer_id>")
def show(producer_id: int):
    producer = producer_or_404(producer_id)
    page = paginate(services.public_products_query(producer), page_arg(request.args.get("page")), STOREFRONT_PER_PAGE)
    is_manager = producer.is_managed_by(current_user)
    return render_template(
        "producers/show.html",
        producer=producer,
        page=page,
        is_manager=is_manager,
        hidden_count=services.non_public_count(producer) if is_manager else 0,
        certifications=[c for c in producer.certifications.split(";") if c],
    )


# --------------------------------------------------------------------------- managers


@bp.get("/my/producers")
@role_required("producer")
def dashboard():
    return render_template(
        "producers/dashboard.html",
        dashboard=services.dashboard_for(current_user),
        effective_stars=effective_stars,
        certificate_status=certificate_status,
    )


def _form_data(form: ProducerForm) -> services.ProducerData:
    others = [c for c in (form.other_certifications.data or "").replace(",", ";").split(";") if c.strip()]
    return services.ProducerData(
        name=form.name.data or "",
        kind=form.kind.data or "",
        district=form.district.data or "",
        commune=form.commune.data or "",
        craft_village=form.craft_village.data or "",
        address=form.address.data or "",
        story=form.story.data or "",
        phone=form.phone.data or "",
        email=form.email.data or "",
        website=form.website.data or "",
        certifications=[*(form.certifications.data or []), *others],
        lat=form.lat.data,
        lng=form.lng.data,
    )


def _render_form(form: ProducerForm, producer: Producer | None = None, photo_form: PhotoForm | None = None):
    return render_template(
        "producers/form.html",
        form=form,
        producer=producer,
        photo_form=photo_form or PhotoForm(),
        villages=craft_villages(),
        max_photos=current_app.config.get("MAX_PRODUCER_PHOTOS", services.MAX_PRODUCER_PHOTOS),
    )


@bp.route("/my/producers/new", methods=["GET", "POST"])
@role_required("producer")
def new_producer():
    form = ProducerForm()
    if form.validate_on_submit():
        try:
            producer = services.create_producer(current_user, _form_data(form))
        except ServiceError as error:
            apply_error(form, error)
        else:
            db.session.commit()
            flash(_("Đã tạo gian hàng “%(name)s”. Bạn có thể thêm ảnh và sản phẩm.", name=producer.name), "success")
            return redirect(url_for("producers.edit", producer_id=producer.id))
    return _render_form(form)


@bp.route("/my/producers/<int:producer_id>/edit", methods=["GET", "POST"])
@role_required()
def edit(producer_id: int):
    producer = managed_or_403(producer_id)
    form = ProducerForm(obj=producer if request.method == "GET" else None)
    if request.method == "GET":
        saved = [c for c in producer.certifications.split(";") if c]
        form.certifications.data = [c for c in saved if c in CERTIFICATIONS]
        form.other_certifications.data = "; ".join(c for c in saved if c not in CERTIFICATIONS)
    elif form.validate_on_submit():
        try:
            services.update_producer(current_user, producer, _form_data(form))
        except ServiceError as error:
            apply_error(form, error)
        else:
            db.session.commit()
            flash(_("Đã lưu thông tin gian hàng."), "success")
            return redirect(url_for("producers.show", producer_id=producer.id))
    return _render_form(form, producer)


@bp.post("/my/producers/<int:producer_id>/photos")
@role_required()
def upload_photos(producer_id: int):
    producer = managed_or_403(producer_id)
    uploads = [services.Upload(f.filename or "", f.read()) for f in request.files.getlist("photos")]
    try:
        result = services.add_photos(current_user, producer, uploads)
    except ServiceError as error:
        apply_error(None, error)
        return redirect(url_for("producers.edit", producer_id=producer.id) + "#photos")
    db.session.commit()
    if result.added:
        flash(_("Đã thêm %(n)s ảnh.", n=len(result.added)), "success")
    for message in result.errors:
        flash(message, "error")
    return redirect(url_for("producers.edit", producer_id=producer.id) + "#photos")


@bp.post("/my/producers/<int:producer_id>/photos/<int:photo_id>/delete")
@role_required()
def delete_photo(producer_id: int, photo_id: int):
    producer = managed_or_403(producer_id)
    try:
        stored = services.delete_photo(current_user, producer, photo_id)
    except ServiceError as error:
        if error.code == "not_found":
            abort(404)
        apply_error(None, error)
        return redirect(url_for("producers.edit", producer_id=producer.id) + "#photos")
    db.session.commit()
    delete_image(stored)
    flash(_("Đã xoá ảnh."), "success")
    return redirect(url_for("producers.edit", producer_id=producer.id) + "#photos")


# --------------------------------------------------------------------------- claims


@bp.route("/producers/<int:producer_id>/claim", methods=["GET", "POST"])
@role_required("producer")
def claim(producer_id: int):
    producer = producer_or_404(producer_id)
    if producer.managers:
        flash(_("Gian hàng này đã có người quản lý nên không thể nhận quản lý."), "warning")
        return redirect(url_for("producers.show", producer_id=producer.id))
    form = ClaimForm()
    if form.validate_on_submit():
        try:
            claims.create_claim(current_user, producer, form.evidence.data, form.message.data or "")
        except ServiceError as error:
            apply_error(form, error)
        else:
            db.session.commit()
            flash(_("Đã gửi yêu cầu. Ban tổ chức sẽ đối chiếu số chứng nhận và phản hồi qua email."), "success")
            return redirect(url_for("producers.dashboard"))
    return render_template("producers/claim.html", form=form, producer=producer)


@bp.get("/admin/claims")
@role_required("organiser", "admin")
def claims_queue():
    page = claims.pending_claims(page_arg(request.args.get("page")), QUEUE_PER_PAGE)
    return render_template("producers/claims_queue.html", page=page, reject_form=RejectClaimForm())


def _claim_or_404(claim_id: int) -> ProducerClaim:
    found = db.session.get(ProducerClaim, claim_id)
    if found is None:
        abort(404)
    return found


@bp.post("/admin/claims/<int:claim_id>/approve")
@role_required("organiser", "admin")
def approve_claim(claim_id: int):
    found = _claim_or_404(claim_id)
    try:
        claims.approve_claim(current_user, found)
    except ServiceError as error:
        apply_error(None, error)
    else:
        db.session.commit()
        flash(_("Đã duyệt: %(user)s quản lý “%(name)s”.", user=found.user.email, name=found.producer.name), "success")
    return redirect(url_for("producers.claims_queue"))


@bp.post("/admin/claims/<int:claim_id>/reject")
@role_required("organiser", "admin")
def reject_claim(claim_id: int):
    found = _claim_or_404(claim_id)
    form = RejectClaimForm()
    try:
        claims.reject_claim(current_user, found, form.reason.data or "")
    except ServiceError as error:
        apply_error(None, error)
    else:
        db.session.commit()
        flash(_("Đã từ chối yêu cầu của %(user)s.", user=found.user.email), "success")
    return redirect(url_for("producers.claims_queue"))


# --------------------------------------------------------------------------- invitations


def _private(body: str, status: int = 200):
    """A page that carries an invitation token: never cached, never sent on as a referrer."""
    response = make_response(body, status)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.route("/admin/producers/<int:producer_id>/invite", methods=["GET", "POST"])
@role_required("organiser", "admin")
def invite(producer_id: int):
    producer = producer_or_404(producer_id)
    form = InvitationForm()
    if form.validate_on_submit():
        try:
            invitation, link = invitations.create_invitation(
                current_user,
                producer,
                form.email.data,
                lambda token: url_for("producers.invitation", token=token, _external=True),
            )
        except ServiceError as error:
            apply_error(form, error)
        else:
            db.session.commit()
            # The link is shown once (only its hash is stored): keep it out of caches and referrers.
            return _private(
                render_template(
                    "producers/invitation_created.html", producer=producer, invitation=invitation, link=link
                )
            )
    return render_template(
        "producers/invite.html",
        form=form,
        producer=producer,
        invitations=invitations.recent_invitations(producer),
        invitation_status=invitations.invitation_status,
    )


@bp.route("/invitations/<token>", methods=["GET", "POST"])
@role_required()
def invitation(token: str):
    try:
        if request.method == "POST":
            accepted = invitations.accept_invitation(current_user, token)
        else:
            found = invitations.find_invitation(token)
            invitations.check_invitee(current_user, found)
    except invitations.InvitationInvalid as error:
        db.session.rollback()
        return _private(render_template("producers/invitation_invalid.html", error=error), error.status)
    if request.method == "GET":
        return _private(render_template("producers/invitation.html", invitation=found, token=token))
    db.session.commit()
    flash(_("Bạn đã trở thành người quản lý gian hàng “%(name)s”.", name=accepted.producer.name), "success")
    return redirect(url_for("producers.dashboard"))
