"""Showing a service's refusal on the page that asked for it."""

from __future__ import annotations

from flask import abort, flash

from marketplace.core.errors import NotAllowed, ServiceError


def apply_error(form, error: ServiceError) -> None:
    """Put a service error next to its form field, or flash it when no field of `form` (None: no
    form) is named; NotAllowed is a 403."""
    if isinstance(error, NotAllowed):
        abort(403)
    target = getattr(form, error.field, None) if (form is not None and error.field) else None
    if target is not None and hasattr(target, "errors"):
        target.errors = [*target.errors, error.message]
    else:
        flash(error.message, "error")
