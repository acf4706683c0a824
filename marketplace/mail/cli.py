"""`flask mail send`: deliver queued mail (SMTP when SMTP_HOST is set, else .eml files)."""

from __future__ import annotations

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import AppGroup

from marketplace.extensions import db
from marketplace.mail.models import OutgoingMail
from marketplace.mail.services import MAX_ATTEMPTS, deliver_pending

mail_cli = AppGroup("mail", help="Outgoing mail.")


@mail_cli.command("send")
@click.option("--limit", default=500, show_default=True, help="Send at most this many messages.")
def send_command(limit: int) -> None:
    """Deliver pending mail; messages that fail stay queued (up to MAX_ATTEMPTS tries)."""
    sent = deliver_pending(limit=limit)
    left = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(OutgoingMail)
        .where(OutgoingMail.sent_at.is_(None), OutgoingMail.attempts < MAX_ATTEMPTS)
    )
    where = current_app.config.get("SMTP_HOST") or f"{current_app.config['DATA_DIR']}/mail"
    click.echo(f"Sent {sent} message(s) via {where}; {left} still pending.")
