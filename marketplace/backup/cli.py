"""`flask backup create | restore | verify | list` (docs/backup.md)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import AppGroup

from marketplace.backup.services import BackupError, RestoreReport

backup_cli = AppGroup("backup", help="Back up and restore the database and uploads (docs/backup.md).")

_ARCHIVE = click.Path(exists=True, dir_okay=False, readable=True, path_type=Path)


def _progress():
    from marketplace.imports.cli import progress_bar  # a bar on a terminal, nothing in pipes

    return progress_bar


def _mb(n: int) -> str:
    return f"{n / 1_000_000:,.1f} MB"


@backup_cli.command("create")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Archive to write (default: DATA_DIR/backups/ocop-backup-<UTC time>.tar.gz).",
)
@click.option(
    "--keep", type=click.IntRange(1), help="Then delete all but the newest KEEP archives in DATA_DIR/backups."
)
def create_command(output: Path | None, keep: int | None) -> None:
    """Write one archive: the database (SQLite backup API or pg_dump), the uploads and a manifest."""
    from marketplace.backup.services import create_backup, prune_backups

    try:
        result = create_backup(output, step=click.echo, progress=_progress())
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    manifest = result.manifest
    click.echo(
        f"Backup written: {result.path} ({_mb(result.bytes)}, {manifest.total_rows} rows, "
        f"{len(manifest.uploads)} upload files, {result.seconds:.1f} s)."
    )
    if keep is not None and output is None:
        for path in prune_backups(keep):
            click.echo(f"Deleted old backup {path.name}.")


@backup_cli.command("restore")
@click.argument("archive", type=_ARCHIVE)
@click.option("--force", is_flag=True, help="Replace a database and upload folder that already hold data.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
def restore_command(archive: Path, force: bool, yes: bool) -> None:
    """Restore ARCHIVE into the configured database and UPLOAD_DIR, rebuild the search index and
    compare the row counts with the manifest (exit 1 on any difference)."""
    from marketplace.backup.services import dialect_name, read_manifest, restore_backup, upload_root

    try:
        manifest = read_manifest(archive)
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    if not yes:
        from marketplace.extensions import db

        click.echo(
            f"Restore {archive.name} ({manifest.dialect}, {manifest.created_at}, {manifest.total_rows} rows)\n"
            f"  into {db.engine.url.render_as_string(hide_password=True)} ({dialect_name()})\n"
            f"  and {upload_root()}" + ("\n  REPLACING what is there (--force)." if force else "")
        )
        click.confirm("Continue?", abort=True)
    try:
        report = restore_backup(archive, force=force, step=click.echo, progress=_progress())
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    _print_checks(report)
    if report.mismatches:
        click.echo(f"Row counts differ from the manifest in {len(report.mismatches)} table(s).", err=True)
        sys.exit(1)
    click.echo(
        f"Restored {report.manifest.total_rows} rows and {len(report.manifest.uploads)} upload files; "
        f"indexed {report.indexed} products ({report.seconds:.1f} s)."
    )
    if report.needs_upgrade:
        click.echo(
            f"The backup's schema is revision {report.manifest.alembic_revision}; this code's is {report.head}: "
            "run `flask db upgrade` before starting the app."
        )


def _print_checks(report: RestoreReport) -> None:
    width = max([len("table")] + [len(c.table) for c in report.checks])
    click.echo(f"{'table':<{width}}  {'backup':>9}  {'restored':>9}")
    for check in report.checks:
        expected = "-" if check.expected is None else str(check.expected)
        restored = "-" if check.restored is None else str(check.restored)
        click.echo(f"{check.table:<{width}}  {expected:>9}  {restored:>9}" + ("" if check.ok else "  MISMATCH"))


@backup_cli.command("verify")
@click.argument("archive", type=_ARCHIVE)
def verify_command(archive: Path) -> None:
    """Read ARCHIVE completely and check every checksum (changes nothing)."""
    from marketplace.backup.services import verify_backup

    try:
        manifest = verify_backup(archive, progress=_progress())
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(
        f"OK: {manifest.dialect} backup of {manifest.created_at}, revision {manifest.alembic_revision or '-'}, "
        f"{manifest.total_rows} rows in {len(manifest.tables)} tables, {len(manifest.uploads)} upload files "
        f"({_mb(manifest.upload_bytes)})."
    )


@backup_cli.command("list")
def list_command() -> None:
    """Archives in DATA_DIR/backups, oldest first."""
    from marketplace.backup.services import backup_dir, list_backups

    infos = list_backups()
    if not infos:
        click.echo(f"No backups in {backup_dir()}.")
        return
    for info in infos:
        when = info.modified.strftime("%Y-%m-%d %H:%M UTC")
        if info.manifest is None:
            detail = f"unreadable: {info.problem}"
        else:
            m = info.manifest
            detail = f"{m.dialect}, {m.total_rows} rows, {len(m.uploads)} files, revision {m.alembic_revision or '-'}"
        click.echo(f"{info.path.name}  {_mb(info.bytes):>10}  {when}  {detail}")
