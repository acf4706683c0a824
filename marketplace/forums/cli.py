"""`flask forums ...`: expire pending meeting requests and send reminders; refresh recommendations."""

from __future__ import annotations

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from marketplace.extensions import db

forums_cli = AppGroup("forums", help="Trade-connection forums.")


@forums_cli.command("expire")
def expire_command() -> None:
    """Expire requests past the forum's request deadline; remind invitees of requests pending
    more than 48 hours (once). Safe to run as often as you like (cron)."""
    from marketplace.forums.meetings import expire_and_remind

    report = expire_and_remind()
    db.session.commit()
    click.echo(f"expired {report.expired}, reminded {report.reminded}")


@forums_cli.command("recommend")
@click.argument("forum_id", type=int)
def recommend_command(forum_id: int) -> None:
    """Recompute the recommended meetings (“Gợi ý gặp gỡ”) of one forum."""
    from marketplace.forums.models import Forum
    from marketplace.forums.recommendations import refresh_recommendations

    forum = db.session.scalar(sa.select(Forum).where(Forum.id == forum_id))
    if forum is None:
        raise click.ClickException(f"no forum {forum_id}")
    report = refresh_recommendations(forum)
    db.session.commit()
    click.echo(f"created {report.created}, updated {report.updated}, removed {report.removed}")
