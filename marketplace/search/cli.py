"""flask search reindex | drain | status."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup
from sqlalchemy.orm import Session

search_cli = AppGroup("search", help="Search index commands.")


@search_cli.command("reindex")
def reindex_command() -> None:
    """Rebuild the search index from the database and swap it in (safe while a server runs)."""
    from marketplace.extensions import db
    from marketplace.search import get_backend
    from marketplace.search.base import count_public

    backend = get_backend()
    if sys.stdout.isatty():
        with Session(db.engine) as session:
            total = count_public(session)
        with click.progressbar(length=max(total, 1), label="Đang lập chỉ mục") as bar:

            def progress(done: int, _total: int) -> None:
                bar.update(max(0, done - bar.pos))

            count = backend.rebuild(progress=progress)
    else:
        count = backend.rebuild()
    click.echo(f"Indexed {count} products ({backend.name}).")


@search_cli.command("drain")
@click.option("--timeout", default=30.0, show_default=True, help="Seconds to wait for the index lock.")
def drain_command(timeout: float) -> None:
    """Apply the queued index changes (the outbox) now."""
    from marketplace.search import get_backend

    report = get_backend().drain(timeout=timeout)
    click.echo(
        f"Applied {report.applied} queued changes." + (" Index busy: the rest stays queued." if report.busy else "")
    )
    if report.busy:
        sys.exit(1)


@search_cli.command("status")
def status_command() -> None:
    """Backend, indexed documents and queued changes."""
    from marketplace.extensions import db
    from marketplace.search import get_backend, outbox

    backend = get_backend()
    with Session(db.engine) as session:
        pending = outbox.pending_count(session) if outbox.available(db.engine) else 0
    click.echo(f"backend: {backend.name}")
    click.echo(f"documents: {backend.doc_count()}")
    click.echo(f"queued changes: {pending}")
