from flask import Blueprint

bp = Blueprint("producers", __name__)


@bp.get("/producers")
def directory():
    return "directory"


@bp.get("/my/producers")
def dashboard():
    return "dashboard"


@bp.get("/admin/claims")
def claims_queue():
    return "claims"
