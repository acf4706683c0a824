"""OCOP Trade Connect: the application factory."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from flask import Flask, request, session
from flask_babel import lazy_gettext
from flask_login import current_user

from config import Config, config_from_env
from marketplace.extensions import babel, csrf, db, limiter, login_manager, migrate

ROOT = Path(__file__).resolve().parent.parent


def create_app(config: type[Config] | Mapping | None = None, overrides: Mapping | None = None) -> Flask:
    """Build the app. `config` is a Config class (default: from MARKETPLACE_ENV) or a mapping
    applied over it; `overrides` is applied last (tests use it for a temp data dir)."""
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=str(ROOT / "instance"),
    )
    base = config if isinstance(config, type) else config_from_env()
    app.config.from_object(base)
    if isinstance(config, Mapping):
        app.config.from_mapping(config)
    if overrides:
        app.config.from_mapping(overrides)
    _prepare_data_dir(app)
    register_extensions(app)
    register_security(app)
    register_blueprints(app)
    register_template_helpers(app)
    register_cli(app)
    from marketplace.core.errors import register_error_handlers

    register_error_handlers(app)
    from marketplace.mail.services import deliver_after_request

    app.after_request(deliver_after_request)
    from marketplace.search import init_app as init_search

    init_search(app)
    from marketplace.core import page_cache

    page_cache.init_app(app)  # last: its lookup runs after the other before_request hooks
    return app


def _prepare_data_dir(app: Flask) -> None:
    data_dir = Path(app.config["DATA_DIR"])
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "uploads").mkdir(exist_ok=True)
    app.config["DATA_DIR"] = data_dir
    app.config.setdefault("UPLOAD_DIR", data_dir / "uploads")


def register_extensions(app: Flask) -> None:
    import marketplace.models  # noqa: F401  (all tables on the metadata)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=select_locale, default_translation_directories=str(ROOT / "translations"))
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = lazy_gettext("Vui lòng đăng nhập để tiếp tục.")
    login_manager.localize_callback = str  # evaluated in the request's language when flashed
    login_manager.login_message_category = "info"
    login_manager.user_loader(load_user)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            _sqlite_pragmas(app, db.engine)


def _sqlite_pragmas(app: Flask, engine) -> None:
    """Pragmas, busy timeout and BEGIN IMMEDIATE for write requests (marketplace/core/sqlite.py)."""
    from marketplace.core import sqlite

    sqlite.configure(app, engine)


def load_user(alternative_id: str):
    """Flask-Login alternative ids are 'user_id:session_token': a rotated token logs out."""
    from marketplace.accounts.models import User

    user_id, _, token = alternative_id.partition(":")
    if not user_id.isdigit() or not token:
        return None
    user = db.session.get(User, int(user_id))
    if user is None or user.session_token != token or user.suspended:
        return None
    return user


def select_locale() -> str:
    from flask import current_app, has_request_context

    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # CLI commands and services called from tests
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    chosen = session.get("lang")
    if chosen in languages:
        return chosen
    if current_user and getattr(current_user, "is_authenticated", False) and current_user.locale in languages:
        return current_user.locale
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def register_security(app: Flask) -> None:
    from marketplace.core import security, sessions

    security.init_app(app)
    sessions.init_app(app)


# Every feature's blueprint, in registration order ("module:attribute").
BLUEPRINTS = (
    "marketplace.health.views:bp",
    "marketplace.core.views:bp",
    "marketplace.accounts.views:bp",
    "marketplace.catalog.views:bp",
    "marketplace.producers.views:bp",
    "marketplace.inquiries.views:bp",
    "marketplace.sales_points.views:bp",
    "marketplace.traceability.views:bp",
    "marketplace.matching.views:bp",
    "marketplace.dashboard.views:bp",
    "marketplace.forums.day_views:bp",
    "marketplace.forums.views:bp",
    "marketplace.banking.views:bp",
    "marketplace.payments.views:bp",
    "marketplace.privacy.views:bp",
)


def register_blueprints(app: Flask) -> None:
    from importlib import import_module

    from marketplace.api import bp as api_bp

    for path in BLUEPRINTS:
        module, attribute = path.split(":")
        app.register_blueprint(getattr(import_module(module), attribute))
    csrf.exempt(api_bp)  # token-less JSON API; the HTML forms keep CSRF
    app.register_blueprint(api_bp)


def register_template_helpers(app: Flask) -> None:
    from marketplace.core import templating

    templating.register(app)


def register_cli(app: Flask) -> None:
    from marketplace.accounts.cli import users_cli
    from marketplace.demo.cli import seed_demo_command
    from marketplace.imports.cli import import_cli

    app.cli.add_command(users_cli)
    app.cli.add_command(import_cli)
    app.cli.add_command(seed_demo_command)
    from marketplace.search.cli import search_cli

    app.cli.add_command(search_cli)
    from marketplace.mail.cli import mail_cli

    app.cli.add_command(mail_cli)
    from marketplace.inquiries.cli import notifications_cli

    app.cli.add_command(notifications_cli)
    from marketplace.dashboard.cli import certificates_cli

    app.cli.add_command(certificates_cli)
    from marketplace.forums.cli import forums_cli

    app.cli.add_command(forums_cli)
    from marketplace.backup.cli import backup_cli

    app.cli.add_command(backup_cli)


__all__ = ["create_app", "request"]
