"""Flask extensions, created unbound and initialised in create_app()."""

from flask import current_app, request
from flask_babel import Babel
from flask_limiter import ApplicationLimit, Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, current_user
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from marketplace.core.models import Base

DEFAULT_UPLOAD_RATE_LIMIT = "60 per hour"


def user_or_address() -> str:
    """Rate-limit key: the logged-in user, else the client address (ProxyFix set it from
    TRUSTED_PROXIES; a forged X-Forwarded-For never reaches here)."""
    user = current_user
    if user and getattr(user, "is_authenticated", False):
        return f"user:{user.id}"
    return f"ip:{get_remote_address() or 'unknown'}"


def is_upload() -> bool:
    """A POST that carries at least one file (product/storefront/sales-point photos, attachments...)."""
    if request.method != "POST" or request.mimetype != "multipart/form-data":
        return False
    return any(storage.filename for storage in request.files.values())


def upload_rate_limit() -> str:
    return current_app.config.get("UPLOAD_RATE_LIMIT") or DEFAULT_UPLOAD_RATE_LIMIT


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
# Storage: RATELIMIT_STORAGE_URI (Redis when REDIS_URL is set, shared by every worker and host;
# memory otherwise, per process). Login, sign-up and password-reset limits sit on their views, the
# API's on its blueprint; uploads, wherever they are posted, share one budget per user or address.
limiter = Limiter(
    key_func=get_remote_address,
    default_limits=[],
    application_limits=[
        ApplicationLimit(
            upload_rate_limit,
            key_function=user_or_address,
            scope="uploads",
            methods=["POST"],
            exempt_when=lambda: not is_upload(),
        )
    ],
)
