"""Small helpers for the accounts tests: the outbox, links in mails, old tokens."""

from __future__ import annotations

import re
import types
from contextlib import contextmanager

import itsdangerous.timed
import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.mail.models import OutgoingMail

_LINK = re.compile(r"https?://[^/\s]+(/\S+)")


def mails_to(email: str) -> list[OutgoingMail]:
    return list(db.session.scalars(sa.select(OutgoingMail).where(OutgoingMail.to == email).order_by(OutgoingMail.id)))


def link_path(mail: OutgoingMail) -> str:
    """The path of the (only) link in a mail body."""
    found = _LINK.findall(mail.body)
    assert len(found) == 1, mail.body
    return found[0]


@contextmanager
def signed_seconds_ago(seconds: int):
    """Tokens signed inside this block carry a timestamp `seconds` in the past."""
    real = itsdangerous.timed.time
    itsdangerous.timed.time = types.SimpleNamespace(time=lambda: real.time() - seconds)
    try:
        yield
    finally:
        itsdangerous.timed.time = real
