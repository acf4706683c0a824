"""Users and their roles."""

from __future__ import annotations

import secrets
from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.core.models import TimestampMixin
from marketplace.extensions import db

ROLES = ("buyer", "producer", "sales_point", "organiser", "admin")


def new_session_token() -> str:
    return secrets.token_urlsafe(24)


class User(UserMixin, TimestampMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    name: Mapped[str] = mapped_column(sa.String(120), default="")
    phone: Mapped[str] = mapped_column(sa.String(30), default="")
    organisation: Mapped[str] = mapped_column(sa.String(200), default="")
    roles_text: Mapped[str] = mapped_column("roles", sa.String(100), default="buyer")
    locale: Mapped[str] = mapped_column(sa.String(5), default="vi")
    email_verified_at: Mapped[datetime | None]
    suspended: Mapped[bool] = mapped_column(default=False)
    # Rotated on password change and logout-everywhere: Flask-Login's alternative id.
    session_token: Mapped[str] = mapped_column(sa.String(64), default=new_session_token)
    last_login_at: Mapped[datetime | None]
    # When the person accepted the privacy notice at sign-up (None: account made by an operator).
    privacy_consent_at: Mapped[datetime | None]
    # Set when the person deleted their account: personal data erased, trade records kept (privacy).
    deleted_at: Mapped[datetime | None]

    @property
    def roles(self) -> set[str]:
        return {r for r in self.roles_text.split() if r}

    @roles.setter
    def roles(self, value: set[str] | list[str]) -> None:
        unknown = set(value) - set(ROLES)
        if unknown:
            raise ValueError(f"unknown roles: {sorted(unknown)}")
        self.roles_text = " ".join(r for r in ROLES if r in set(value))

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles & set(roles))

    @property
    def is_staff(self) -> bool:
        """Organisers and admins moderate the catalogue."""
        return self.has_role("organiser", "admin")

    @property
    def is_active(self) -> bool:  # Flask-Login refuses suspended and deleted users
        return not self.suspended and self.deleted_at is None

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email}>"
