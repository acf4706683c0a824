import click
from flask.cli import AppGroup

users_cli = AppGroup("users", help="Manage user accounts.")


@users_cli.command("create")
@click.option("--email", required=True)
@click.option("--password", required=True)
@click.option("--role", "roles", multiple=True, default=["buyer"])
def create_user(email, password, roles):
    """Create a user (stub)."""
