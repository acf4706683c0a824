"""`flask users create|set-roles`: accounts made by an operator (CONTRACT.md)."""

from __future__ import annotations

from typing import NoReturn

import click
from flask.cli import AppGroup
from flask_babel import force_locale

from marketplace.accounts import services
from marketplace.accounts.models import ROLES
from marketplace.core.errors import ServiceError
from marketplace.extensions import db

users_cli = AppGroup("users", help="Manage user accounts.")


def _fail(message: str) -> NoReturn:
    db.session.rollback()
    click.echo(f"Error: {message}", err=True)
    raise SystemExit(1)


def _check_roles(roles: tuple[str, ...]) -> None:
    unknown = sorted(set(roles) - set(ROLES))
    if unknown:
        _fail(f"unknown role(s): {', '.join(unknown)}. Valid roles: {', '.join(ROLES)}.")


@users_cli.command("create")
@click.option("--email", required=True, help="Login e-mail (stored lower-case).")
@click.option("--password", required=True, help=f"At least {services.PASSWORD_MIN_LENGTH} characters.")
@click.option("--role", "roles", multiple=True, help=f"Repeat for several roles: {', '.join(ROLES)}. Default: buyer.")
@click.option("--name", default="", help="Display name.")
def create_user(email: str, password: str, roles: tuple[str, ...], name: str) -> None:
    """Create a verified user with the given roles."""
    roles = roles or ("buyer",)
    _check_roles(roles)
    with force_locale("vi"):
        existing = services.find_user_by_email(email)
        if existing is not None:
            if existing.roles == set(roles):
                _fail(f"user {existing.email} already exists with role(s) {', '.join(sorted(existing.roles))}.")
            _fail(
                f"user {existing.email} already exists with role(s) {', '.join(sorted(existing.roles))}; "
                "use `flask users set-roles` to change them."
            )
        if len(password) < services.PASSWORD_MIN_LENGTH:
            _fail(f"the password must have at least {services.PASSWORD_MIN_LENGTH} characters.")
        try:
            user = services.create_user(email, password, roles, name=name, verified=True)
        except ServiceError as error:
            _fail(error.message)
            return
        db.session.commit()
    click.echo(f"Created user {user.email} (id {user.id}) with role(s) {', '.join(sorted(user.roles))}.")


@users_cli.command("set-roles")
@click.option("--email", required=True)
@click.option("--role", "roles", multiple=True, required=True, help=f"Repeat for several roles: {', '.join(ROLES)}.")
def set_roles(email: str, roles: tuple[str, ...]) -> None:
    """Replace a user's roles."""
    _check_roles(roles)
    with force_locale("vi"):
        user = services.find_user_by_email(email)
        if user is None:
            _fail(f"no user with e-mail {services.normalise_email(email)}.")
            return
        services.set_roles(user, roles)
        db.session.commit()
    click.echo(f"User {user.email} now has role(s) {', '.join(sorted(user.roles))}.")
