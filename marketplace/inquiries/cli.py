"""`flask notifications send`: close RFQs past their deadline, then e-mail pending notifications."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from marketplace.extensions import db
from marketplace.inquiries.notifications import send_emails
from marketplace.inquiries.rfqs import close_expired_rfqs

notifications_cli = AppGroup("notifications", help="In-app notifications and their e-mail.")


@notifications_cli.command("send")
@click.option("--no-deliver", is_flag=True, help="Only queue mail in the outbox; `flask mail send` delivers it.")
def send_command(no_deliver: bool) -> None:
    """Queue e-mail for pending notifications (instant, or the daily digest when due) and deliver
    the outbox. Run it from cron every few minutes; running it twice sends nothing twice."""
    closed = close_expired_rfqs()
    db.session.commit()
    report = send_emails(deliver=not no_deliver)
    click.echo(
        f"Closed {closed} RFQ(s) past their deadline; queued {report.mails} mail(s) "
        f"({report.digests} digest(s)) for {report.notifications} notification(s); "
        f"skipped {report.skipped}; delivered {report.delivered}."
    )
