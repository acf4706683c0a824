"""Queue mail in the caller's transaction; deliver after commit (SMTP, or files in development)."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

import sqlalchemy as sa
from flask import current_app, g

from marketplace.core.models import utcnow
from marketplace.extensions import db
from marketplace.mail.models import OutgoingMail

MAX_ATTEMPTS = 5


def queue_mail(to: str, subject: str, body: str) -> OutgoingMail:
    """Add a message to the outbox. It is sent only if the caller's transaction commits."""
    mail = OutgoingMail(to=to, subject=subject, body=body)
    db.session.add(mail)
    db.session.flush()
    if current_app:
        g.mail_queued = True
    return mail


def deliver_pending(limit: int = 50) -> int:
    """Send queued messages; returns how many went out. Failures stay queued with the error."""
    pending = db.session.scalars(
        sa.select(OutgoingMail)
        .where(OutgoingMail.sent_at.is_(None), OutgoingMail.attempts < MAX_ATTEMPTS)
        .order_by(OutgoingMail.id)
        .limit(limit)
    ).all()
    sent = 0
    for mail in pending:
        mail.attempts += 1
        try:
            _send(mail)
        except (OSError, smtplib.SMTPException) as error:
            mail.last_error = str(error)[:1000]
            current_app.logger.warning("mail %s to %s not sent: %s", mail.id, mail.to, error)
        else:
            mail.sent_at = utcnow()
            sent += 1
    db.session.commit()
    return sent


def _message(mail: OutgoingMail) -> EmailMessage:
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_FROM"]
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="ocop-trade-connect")
    message.set_content(mail.body)
    return message


def _send(mail: OutgoingMail) -> None:
    cfg = current_app.config
    message = _message(mail)
    if cfg.get("SMTP_HOST"):
        # Port 465 speaks TLS from the start; other ports upgrade with STARTTLS unless
        # SMTP_USE_TLS is False (a local relay).
        smtp_class = smtplib.SMTP_SSL if int(cfg["SMTP_PORT"]) == 465 else smtplib.SMTP
        with smtp_class(cfg["SMTP_HOST"], cfg["SMTP_PORT"], timeout=10) as smtp:
            if smtp_class is smtplib.SMTP and cfg.get("SMTP_USE_TLS", True):
                smtp.starttls()
            if cfg.get("SMTP_USER"):
                smtp.login(cfg["SMTP_USER"], cfg["SMTP_PASSWORD"] or "")
            smtp.send_message(message)
        return
    folder = Path(cfg["DATA_DIR"]) / "mail"
    folder.mkdir(parents=True, exist_ok=True)
    # Sortable and unique even when a fresh database starts its ids again at 1.
    stamp = (mail.created_at or utcnow()).strftime("%Y%m%d-%H%M%S")
    (folder / f"{stamp}-{mail.id:06d}.eml").write_bytes(bytes(message))


def deliver_after_request(response):
    """after_request hook: the view has committed; send what this request queued."""
    if g.get("mail_queued") and response.status_code < 400:
        try:
            deliver_pending()
        except sa.exc.SQLAlchemyError:
            db.session.rollback()
            current_app.logger.exception("mail delivery failed; messages stay queued")
    return response
