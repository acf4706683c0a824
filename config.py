"""Configuration classes, read from the environment (see CONTRACT.md)."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent
DEV_SECRET = "dev-only-secret-key-change-me-in-production-0000"  # noqa: S105 (refused in production)


def _data_dir() -> Path:
    return Path(os.environ.get("MARKETPLACE_DATA_DIR") or ROOT / "instance").resolve()


class Config:
    MARKETPLACE_ENV = "development"
    DATA_DIR = _data_dir()
    SECRET_KEY = os.environ.get("SECRET_KEY") or DEV_SECRET
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'marketplace.db'}"
    # pool_pre_ping: test each pooled connection before use (a restarted PostgreSQL costs a retry,
    # not a 500). hide_parameters: statement parameters (password hashes, session tokens, e-mail
    # addresses) never reach a log or an error message (docs/privacy.md).
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True, "hide_parameters": True}
    # SQLite: how long a writer waits for the write lock before the request answers 503 (docs/faults.md).
    SQLITE_BUSY_TIMEOUT_MS = int(os.environ.get("SQLITE_BUSY_TIMEOUT_MS") or 5000)
    SEARCH_BACKEND = os.environ.get("SEARCH_BACKEND", "whoosh")
    MARKETPLACE_TODAY = os.environ.get("MARKETPLACE_TODAY") or None
    REDIS_URL = os.environ.get("REDIS_URL") or None
    RATELIMIT_STORAGE_URI = os.environ.get("REDIS_URL") or "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    # Redis down: count in each worker's memory rather than answer 500 (docs/security.md).
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    LOGIN_RATE_LIMIT = "10 per minute"  # failed attempts per client address
    REGISTER_RATE_LIMIT = os.environ.get("REGISTER_RATE_LIMIT") or "20 per hour"
    RESET_RATE_LIMIT = os.environ.get("RESET_RATE_LIMIT") or "5 per 15 minutes"
    UPLOAD_RATE_LIMIT = os.environ.get("UPLOAD_RATE_LIMIT") or "60 per hour"  # POSTs with files, per user
    API_RATE_LIMIT = os.environ.get("API_RATE_LIMIT") or "120 per minute"  # /api/v1, per client address
    # Reverse proxies in front of the app whose X-Forwarded-For/-Proto are believed (0: none).
    TRUSTED_PROXIES = int(os.environ.get("TRUSTED_PROXIES") or 0)
    SESSION_IDLE_MINUTES = int(os.environ.get("SESSION_IDLE_MINUTES") or 120)
    SESSION_ABSOLUTE_HOURS = int(os.environ.get("SESSION_ABSOLUTE_HOURS") or 24)
    HSTS_MAX_AGE = 365 * 24 * 3600

    BABEL_DEFAULT_LOCALE = "vi"
    BABEL_DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
    LANGUAGES = ("vi", "en")

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_DURATION = timedelta(days=30)
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = False
    PERMANENT_SESSION_LIFETIME = timedelta(days=30)

    WTF_CSRF_ENABLED = True
    WTF_CSRF_TIME_LIMIT = None
    MAX_CONTENT_LENGTH = 48 * 1024 * 1024  # 8 images of 5 MB plus form fields
    MAX_IMAGE_BYTES = 5 * 1024 * 1024
    MAX_PRODUCT_IMAGES = 8

    # argon2id parameters (RFC 9106 second recommendation: 64 MiB, 3 passes).
    ARGON2_TIME_COST = 3
    ARGON2_MEMORY_COST = 65536
    ARGON2_PARALLELISM = 4

    MAIL_FROM = os.environ.get("MAIL_FROM", "OCOP Trade Connect <no-reply@ocop.hanoi.local>")
    SMTP_HOST = os.environ.get("SMTP_HOST") or None
    SMTP_PORT = int(os.environ.get("SMTP_PORT") or 587)
    SMTP_USER = os.environ.get("SMTP_USER") or None
    SMTP_PASSWORD = os.environ.get("SMTP_PASSWORD") or None
    EMAIL_TOKEN_MAX_AGE = 3 * 24 * 3600
    RESET_TOKEN_MAX_AGE = 3600
    INVITATION_MAX_AGE = 14 * 24 * 3600

    STRIPE_SECRET_KEY = os.environ.get("STRIPE_SECRET_KEY") or None
    STRIPE_PUBLISHABLE_KEY = os.environ.get("STRIPE_PUBLISHABLE_KEY") or None
    STRIPE_WEBHOOK_SECRET = os.environ.get("STRIPE_WEBHOOK_SECRET") or None
    STRIPE_API_BASE = os.environ.get("STRIPE_API_BASE") or None
    STRIPE_JS_URL = os.environ.get("STRIPE_JS_URL") or "https://js.stripe.com/v3/"

    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL") or None  # absolute links in QR codes and mail

    PER_PAGE = 24
    # Map tiles for the sales point maps ('' = no tiles: markers on a blank map).
    MAP_TILE_URL = os.environ.get("MAP_TILE_URL", "https://tile.openstreetmap.org/{z}/{x}/{y}.png")
    # Whole pages for anonymous visitors, per process, invalidated by any catalogue write (0: off).
    PAGE_CACHE_SECONDS = int(os.environ.get("PAGE_CACHE_SECONDS") or 60)


class DevConfig(Config):
    DEBUG = False


class TestConfig(Config):
    MARKETPLACE_ENV = "testing"
    TESTING = True
    SECRET_KEY = "test-secret-key-test-secret-key-0123456789"  # noqa: S105
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    WTF_CSRF_ENABLED = False
    RATELIMIT_ENABLED = False
    RATELIMIT_STORAGE_URI = "memory://"
    MARKETPLACE_TODAY = "2026-12-01"
    ARGON2_TIME_COST = 1
    ARGON2_MEMORY_COST = 8
    ARGON2_PARALLELISM = 1
    SMTP_HOST = None
    PAGE_CACHE_SECONDS = 0  # tests/page_cache turn it on


class ProductionConfig(Config):
    MARKETPLACE_ENV = "production"
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    MARKETPLACE_TODAY = None

    @classmethod
    def check(cls) -> None:
        key = os.environ.get("SECRET_KEY") or ""
        if len(key) < 32 or key == DEV_SECRET:
            raise RuntimeError("SECRET_KEY must be set to at least 32 characters in production")


def config_from_env() -> type[Config]:
    env = os.environ.get("MARKETPLACE_ENV", "development")
    if env == "production":
        ProductionConfig.check()
        return ProductionConfig
    if env == "testing":
        return TestConfig
    return DevConfig
