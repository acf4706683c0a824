"""`flask certificates remind`: mail managers whose OCOP certificate expires within 90/30 days."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from marketplace.dashboard.services import send_expiry_reminders
from marketplace.extensions import db

certificates_cli = AppGroup("certificates", help="OCOP certificates.")


@certificates_cli.command("remind")
def remind_command() -> None:
    """Send expiry reminders once per certificate and threshold (safe to run daily)."""
    sent = send_expiry_reminders()
    db.session.commit()
    from marketplace.mail.services import deliver_pending

    deliver_pending()
    click.echo(f"Sent {sent} reminder(s).")
