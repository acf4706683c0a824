"""Logs never hold passwords, tokens or card numbers (Decree 13/2023/NĐ-CP: data minimisation).

Installed with the privacy blueprint (`install(app)`): a filter on the loggers that print request
lines or paths (werkzeug, gunicorn, the app's) replaces the signed token in e-mail links
(/verify-email/<token>, /password/reset/<token>, /invitations/<token>), secret query parameters
and anything shaped like a card number. Statement parameters (password hashes, session tokens,
e-mail addresses) are kept out of logs and error messages by `hide_parameters` in config.py's
SQLALCHEMY_ENGINE_OPTIONS.

Passwords never reach a log in the first place: forms are posted, and nothing logs form data.
"""

from __future__ import annotations

import logging
import re

from flask import Flask

REDACTED = "[redacted]"
_TOKEN_PATH = re.compile(r"(/(?:password/reset|verify-email|invitations)/)[^\s?#\"']+")
_SECRET_PARAM = re.compile(r"([?&](?:token|password|secret|client_secret|key)=)[^&\s#\"']+", re.IGNORECASE)
_DIGITS = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")
# Loggers that print request lines or request paths.
LOGGERS = ("werkzeug", "gunicorn.access", "gunicorn.error")


def _luhn(digits: str) -> bool:
    total = 0
    for i, char in enumerate(reversed(digits)):
        n = int(char)
        if i % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def _card(match: re.Match) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    return "[card number]" if 13 <= len(digits) <= 19 and _luhn(digits) else match.group(0)


def redact(text: str) -> str:
    text = _TOKEN_PATH.sub(r"\1" + REDACTED, text)
    text = _SECRET_PARAM.sub(r"\1" + REDACTED, text)
    return _DIGITS.sub(_card, text)


class RedactSecrets(logging.Filter):
    """Rewrites the record's message with `redact`; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string is logging's business, not ours
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


_FILTER = RedactSecrets()  # one instance: addFilter ignores a second add, so apps can be made again


def install(app: Flask) -> None:
    for name in LOGGERS:
        logging.getLogger(name).addFilter(_FILTER)
    app.logger.addFilter(_FILTER)
