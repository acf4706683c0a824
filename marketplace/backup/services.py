"""Backup and restore: one .tar.gz with manifest.json, the database and the uploads folder.

Archive members, in this order:
- manifest.json: format, created_at (UTC), dialect, alembic revision, rows per table, the database
  file's size and sha256, every upload's path, size and sha256.
- database.sqlite3 (SQLite, copied with the online backup API: consistent while the app runs) or
  database.pgdump (PostgreSQL, `pg_dump --format=custom --no-owner` in the snapshot the row counts
  were taken in).
- search-synonyms.txt (the organisers' synonyms file, when there is one).
- uploads/... (the files of UPLOAD_DIR).

The search index is not archived: restore rebuilds it from the restored database. Services take
no request and print nothing; the CLI passes `step` (a line per step) and `progress` callbacks.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

import sqlalchemy as sa
from flask import current_app

from marketplace.extensions import db

FORMAT = 1
APP_NAME = "ocop-trade-connect"
MANIFEST = "manifest.json"
DB_MEMBER = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}
UPLOADS = "uploads"
SYNONYMS = "search-synonyms.txt"  # member name of the organisers' synonyms file
PREFIX = "ocop-backup-"
SUFFIX = ".tar.gz"
NOT_DATA = frozenset({"alembic_version"})  # tables whose rows do not make a database "in use"
CHUNK = 1024 * 1024

StepFn = Callable[[str], None]
# progress(total, label) -> a context manager yielding update(n_done_since_last_call)
ProgressFn = Callable[[int, str], AbstractContextManager[Callable[[int], None]]]


class BackupError(Exception):
    """A backup or restore refused or failed; the message says why (shown as is by the CLI)."""


@contextmanager
def no_progress(_total: int, _label: str) -> Iterator[Callable[[int], None]]:
    yield lambda _n=1: None


def _quiet(_line: str) -> None:
    pass


# --- the manifest ------------------------------------------------------------------------------
@dataclass(frozen=True)
class UploadFile:
    path: str  # relative to UPLOAD_DIR, POSIX separators
    bytes: int
    sha256: str


@dataclass
class Manifest:
    created_at: str
    dialect: str
    alembic_revision: str | None
    tables: dict[str, int]
    database_file: str
    database_bytes: int
    database_sha256: str
    uploads: list[UploadFile] = field(default_factory=list)
    synonyms: UploadFile | None = None  # the organisers' search synonyms file, when there is one
    server_version: str = ""
    format: int = FORMAT
    app: str = APP_NAME

    @property
    def upload_bytes(self) -> int:
        return sum(f.bytes for f in self.uploads)

    @property
    def total_rows(self) -> int:
        return sum(self.tables.values())

    def to_json(self) -> bytes:
        data = asdict(self)
        data["uploads"] = {
            "files": len(self.uploads),
            "bytes": self.upload_bytes,
            "list": [asdict(f) for f in self.uploads],
        }
        data["synonyms"] = asdict(self.synonyms) if self.synonyms else None
        data["database"] = {
            "file": data.pop("database_file"),
            "bytes": data.pop("database_bytes"),
            "sha256": data.pop("database_sha256"),
        }
        return json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> Manifest:
        try:
            data = json.loads(raw)
            if data.get("app") != APP_NAME:
                raise BackupError("not an OCOP Trade Connect backup (manifest.json names another app)")
            if data.get("format") != FORMAT:
                raise BackupError(
                    f"backup format {data.get('format')!r} is not supported (this version reads {FORMAT})"
                )
            uploads = [UploadFile(str(f["path"]), int(f["bytes"]), str(f["sha256"])) for f in data["uploads"]["list"]]
            synonyms = data.get("synonyms")
            manifest = cls(
                created_at=str(data["created_at"]),
                dialect=str(data["dialect"]),
                alembic_revision=data.get("alembic_revision"),
                tables={str(k): int(v) for k, v in data["tables"].items()},
                database_file=str(data["database"]["file"]),
                database_bytes=int(data["database"]["bytes"]),
                database_sha256=str(data["database"]["sha256"]),
                uploads=uploads,
                synonyms=UploadFile(SYNONYMS, int(synonyms["bytes"]), str(synonyms["sha256"])) if synonyms else None,
                server_version=str(data.get("server_version") or ""),
            )
        except BackupError:
            raise
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise BackupError(f"manifest.json is damaged ({error.__class__.__name__}: {error})") from None
        if manifest.database_file != DB_MEMBER.get(manifest.dialect):
            raise BackupError(f"manifest.json is damaged (database {manifest.database_file!r} for {manifest.dialect})")
        for upload in uploads:
            if not _safe_relative(upload.path):
                raise BackupError(f"manifest.json names an unsafe upload path: {upload.path!r}")
        return manifest


@dataclass(frozen=True)
class BackupResult:
    path: Path
    manifest: Manifest
    bytes: int
    seconds: float


@dataclass(frozen=True)
class TableCheck:
    table: str
    expected: int | None  # None: not in the manifest
    restored: int | None  # None: not in the restored database

    @property
    def ok(self) -> bool:
        return self.expected == self.restored


@dataclass(frozen=True)
class RestoreReport:
    manifest: Manifest
    checks: list[TableCheck]
    indexed: int
    seconds: float
    head: str | None = None  # this code's newest migration

    @property
    def needs_upgrade(self) -> bool:
        """The archive's schema revision is not this code's head: run `flask db upgrade`."""
        return bool(self.manifest.alembic_revision and self.head and self.manifest.alembic_revision != self.head)

    @property
    def mismatches(self) -> list[TableCheck]:
        return [c for c in self.checks if not c.ok]


@dataclass(frozen=True)
class ArchiveInfo:
    path: Path
    bytes: int
    modified: datetime
    manifest: Manifest | None
    problem: str | None = None


# --- helpers -----------------------------------------------------------------------------------
def backup_dir() -> Path:
    return Path(current_app.config["DATA_DIR"]) / "backups"


def upload_root() -> Path:
    return Path(current_app.config["UPLOAD_DIR"])


def dialect_name() -> str:
    return db.engine.dialect.name


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _safe_relative(path: str) -> bool:
    pure = PurePosixPath(path)
    return bool(path) and not pure.is_absolute() and ".." not in pure.parts and "\\" not in path and "\0" not in path


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def count_rows(conn: sa.Connection) -> dict[str, int]:
    """Rows per table of the connection's database (default schema), sorted by table name."""
    names = sorted(sa.inspect(conn).get_table_names())
    return {
        name: int(conn.execute(sa.select(sa.func.count()).select_from(sa.table(name))).scalar_one()) for name in names
    }


def _alembic_revision(conn: sa.Connection) -> str | None:
    if not sa.inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


def scan_uploads(root: Path, skip: Path | None = None) -> list[UploadFile]:
    """Every regular file under `root` (symlinks are not followed), sorted by path."""
    files: list[UploadFile] = []
    if not root.is_dir():
        return files
    skip = skip.resolve() if skip else None
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        if skip is not None:
            dirnames[:] = [d for d in dirnames if (here / d).resolve() != skip]
        for name in filenames:
            path = here / name
            if path.is_symlink() or not path.is_file():
                continue
            rel = path.relative_to(root).as_posix()
            files.append(UploadFile(rel, path.stat().st_size, _sha256_file(path)))
    files.sort(key=lambda f: f.path)
    return files


# --- PostgreSQL client tools ---------------------------------------------------------------------
def _pg_env(url: sa.URL) -> dict[str, str]:
    """libpq environment for the app's database: host, port, user, password (never on argv)."""
    env = dict(os.environ)
    query = dict(url.query)
    host = url.host or query.get("host")
    values = {
        "PGHOST": host,
        "PGPORT": str(url.port) if url.port else query.get("port"),
        "PGUSER": url.username,
        "PGPASSWORD": url.password,
        "PGDATABASE": url.database,
        "PGSSLMODE": query.get("sslmode"),
    }
    for key, value in values.items():
        if value:
            env[key] = str(value)
    return env


def _server_major(conn: sa.Connection) -> int:
    return int(conn.execute(sa.text("SHOW server_version_num")).scalar_one()) // 10000


def pg_tool(name: str, server_major: int) -> str:
    """Path of pg_dump / pg_restore, refusing a missing one or one older than the server."""
    bindir = current_app.config.get("BACKUP_PG_BIN_DIR")
    path = shutil.which(name, path=str(bindir)) if bindir else shutil.which(name)
    if path is None:
        where = f" in {bindir}" if bindir else " on PATH"
        raise BackupError(
            f"{name} was not found{where}: install the PostgreSQL {server_major} client tools "
            f"(Debian/Ubuntu: apt-get install postgresql-client-{server_major}) or set BACKUP_PG_BIN_DIR."
        )
    output = subprocess.run([path, "--version"], capture_output=True, text=True, check=False).stdout  # noqa: S603
    found = re.search(r"(\d+)(?:\.\d+)?", output)
    major = int(found.group(1)) if found else 0
    if major < server_major:
        raise BackupError(
            f"{path} is version {major or '?'} but the server is PostgreSQL {server_major}: "
            f"install postgresql-client-{server_major} (the tools must not be older than the server)."
        )
    return path


def _run(argv: list[str], env: dict[str, str], what: str) -> None:
    result = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip()
        raise BackupError(f"{what} failed (exit {result.returncode}): {detail}")


# --- create ------------------------------------------------------------------------------------
def default_output() -> Path:
    folder = backup_dir()
    stamp = _utcnow().strftime("%Y%m%dT%H%M%SZ")
    path = folder / f"{PREFIX}{stamp}{SUFFIX}"
    n = 1
    while path.exists():
        path = folder / f"{PREFIX}{stamp}-{n}{SUFFIX}"
        n += 1
    return path


def create_backup(
    output: Path | None = None, step: StepFn = _quiet, progress: ProgressFn = no_progress
) -> BackupResult:
    """Write one archive (to a temporary name, renamed at the end: a failure leaves nothing)."""
    started = time.perf_counter()
    dialect = dialect_name()
    if dialect not in DB_MEMBER:
        raise BackupError(f"cannot back up a {dialect} database (SQLite and PostgreSQL only)")
    output = Path(output) if output else default_output()
    if output.exists():
        raise BackupError(f"{output} already exists")
    output.parent.mkdir(parents=True, exist_ok=True)
    db.session.remove()
    with tempfile.TemporaryDirectory(dir=output.parent, prefix=".backup-") as staging:
        dump = Path(staging) / DB_MEMBER[dialect]
        step(f"Copying the {dialect} database…")
        if dialect == "sqlite":
            tables, revision, version = _dump_sqlite(dump, progress)
        else:
            tables, revision, version = _dump_postgres(dump)
        step(f"Database: {sum(tables.values())} rows in {len(tables)} tables, {dump.stat().st_size:,} bytes.")
        step("Checksumming uploads…")
        root = upload_root()
        uploads = scan_uploads(root, skip=output.parent)
        synonyms = _copy_synonyms(Path(staging) / SYNONYMS)
        manifest = Manifest(
            created_at=_utcnow().isoformat(timespec="seconds").replace("+00:00", "Z"),
            dialect=dialect,
            alembic_revision=revision,
            tables=tables,
            database_file=dump.name,
            database_bytes=dump.stat().st_size,
            database_sha256=_sha256_file(dump),
            uploads=uploads,
            synonyms=synonyms,
            server_version=version,
        )
        step(f"Uploads: {len(uploads)} files, {manifest.upload_bytes:,} bytes.")
        part = Path(staging) / (output.name + ".part")
        step(f"Writing {output.name}…")
        _write_archive(part, manifest, Path(staging), root, progress)
        os.replace(part, output)
    size = output.stat().st_size
    return BackupResult(output, manifest, size, time.perf_counter() - started)


def _copy_synonyms(copy: Path) -> UploadFile | None:
    """Snapshot the organisers' synonyms file (DATA_DIR/search/synonyms.txt) when it exists."""
    from marketplace.search.synonyms import extra_synonyms_file

    source = extra_synonyms_file(current_app)
    if not source.is_file():
        return None
    shutil.copyfile(source, copy)
    return UploadFile(SYNONYMS, copy.stat().st_size, _sha256_file(copy))


def _copy_sqlite(source: sqlite3.Connection, target: sqlite3.Connection, progress: ProgressFn, step: int) -> None:
    """SQLite's online backup API from `source` into `target`, `step` pages at a time (0: all),
    with a progress bar over the source's pages."""
    pages = int(source.execute("PRAGMA page_count").fetchone()[0])
    with progress(max(pages, 1), "Database") as update:
        done = [0]

        def report(_status: int, remaining: int, total: int) -> None:
            now = total - remaining
            update(max(0, now - done[0]))
            done[0] = now

        source.backup(target, pages=step, progress=report)


def _dump_sqlite(dump: Path, progress: ProgressFn) -> tuple[dict[str, int], str | None, str]:
    """The online backup API, then rows counted in the copy itself (exactly what is archived)."""
    raw = db.engine.raw_connection()
    try:
        target = sqlite3.connect(dump)
        try:
            # In steps, so the app's writers get the lock between them.
            _copy_sqlite(raw.driver_connection, target, progress, step=4096)
            target.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        finally:
            target.close()
    finally:
        raw.close()
    engine = sa.create_engine(f"sqlite:///{dump}", poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return count_rows(conn), _alembic_revision(conn), f"SQLite {sqlite3.sqlite_version}"
    finally:
        engine.dispose()


def _dump_postgres(dump: Path) -> tuple[dict[str, int], str | None, str]:
    """pg_dump runs in a snapshot exported by the transaction that counts the rows: the counts
    describe exactly the dumped data even while the app writes."""
    with db.engine.connect() as conn:
        tool = pg_tool("pg_dump", _server_major(conn))
        conn.commit()
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            snapshot = conn.execute(sa.text("SELECT pg_export_snapshot()")).scalar_one()
            argv = [tool, "--format=custom", "--no-owner", f"--snapshot={snapshot}", f"--file={dump}"]
            _run(argv, _pg_env(db.engine.url), "pg_dump")
            version = conn.execute(sa.text("SHOW server_version")).scalar_one()
            return count_rows(conn), _alembic_revision(conn), f"PostgreSQL {version}"


def _write_archive(part: Path, manifest: Manifest, staging: Path, root: Path, progress: ProgressFn) -> None:
    raw = manifest.to_json()
    with tarfile.open(part, "w:gz", compresslevel=6, format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo(MANIFEST)
        info.size, info.mtime, info.mode = len(raw), int(time.time()), 0o644
        tar.addfile(info, io.BytesIO(raw))
        total = manifest.database_bytes + manifest.upload_bytes
        with progress(max(total, 1), "Archive") as update:
            _add_file(tar, staging / manifest.database_file, manifest.database_file, manifest.database_bytes)
            update(manifest.database_bytes)
            if manifest.synonyms:
                _add_file(tar, staging / SYNONYMS, SYNONYMS, manifest.synonyms.bytes)
            for upload in manifest.uploads:
                _add_file(tar, root / upload.path, f"{UPLOADS}/{upload.path}", upload.bytes)
                update(upload.bytes)


def _add_file(tar: tarfile.TarFile, path: Path, name: str, size: int) -> None:
    stat = path.stat()
    if stat.st_size != size:
        raise BackupError(f"{path} changed while the backup ran; run it again")
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = size, int(stat.st_mtime), 0o644
    with path.open("rb") as handle:
        tar.addfile(info, handle)


def prune_backups(keep: int, folder: Path | None = None) -> list[Path]:
    """Delete all but the newest `keep` archives named ocop-backup-*.tar.gz in the folder."""
    archives = sorted((folder or backup_dir()).glob(f"{PREFIX}*{SUFFIX}"))
    doomed = archives[: max(0, len(archives) - max(keep, 1))]
    for path in doomed:
        path.unlink()
    return doomed


def list_backups(folder: Path | None = None) -> list[ArchiveInfo]:
    """Archives in DATA_DIR/backups (oldest first) with their manifests (read from the front)."""
    infos = []
    for path in sorted((folder or backup_dir()).glob(f"*{SUFFIX}")):
        stat = path.stat()
        try:
            manifest, problem = read_manifest(path), None
        except BackupError as error:
            manifest, problem = None, str(error)
        infos.append(ArchiveInfo(path, stat.st_size, datetime.fromtimestamp(stat.st_mtime, UTC), manifest, problem))
    return infos


def read_manifest(path: Path) -> Manifest:
    """The manifest (the archive's first member) without reading the rest."""
    try:
        with tarfile.open(path, "r|gz") as tar:
            return _read_manifest_member(tar)
    except (tarfile.TarError, EOFError, zlib.error, OSError) as error:
        raise BackupError(f"{path} is not a readable backup archive ({error})") from None


def _read_manifest_member(tar: tarfile.TarFile) -> Manifest:
    first = tar.next()
    if first is None or first.name != MANIFEST or not first.isfile():
        raise BackupError("not an OCOP Trade Connect backup (manifest.json is not the first member)")
    handle = tar.extractfile(first)
    assert handle is not None
    return Manifest.from_json(handle.read())


# --- verify and restore -------------------------------------------------------------------------
def extract_verified(
    path: Path, staging: Path, check: Callable[[Manifest], None] | None = None, progress: ProgressFn = no_progress
) -> Manifest:
    """Unpack into `staging` (database file + uploads/), checking every member against the
    manifest's sizes and sha256; `check(manifest)` runs before anything else is unpacked."""
    try:
        with tarfile.open(path, "r|gz") as tar:
            manifest = _read_manifest_member(tar)
            if check is not None:
                check(manifest)
            wanted = {f"{UPLOADS}/{f.path}": f for f in manifest.uploads}
            wanted[manifest.database_file] = UploadFile(
                manifest.database_file, manifest.database_bytes, manifest.database_sha256
            )
            if manifest.synonyms:
                wanted[SYNONYMS] = manifest.synonyms
            seen: set[str] = set()
            with progress(max(manifest.database_bytes + manifest.upload_bytes, 1), "Verify") as update:
                for member in tar:  # iteration starts again at the manifest, already read
                    if member.name == MANIFEST and MANIFEST not in seen:
                        seen.add(MANIFEST)
                        continue
                    if member.isdir():
                        continue
                    expected = wanted.get(member.name)
                    if expected is None or not member.isfile() or member.name in seen:
                        raise BackupError(f"the archive has an unexpected member {member.name!r}")
                    target = staging / member.name
                    target.parent.mkdir(parents=True, exist_ok=True)
                    handle = tar.extractfile(member)
                    assert handle is not None
                    digest, size = hashlib.sha256(), 0
                    with target.open("wb") as out:
                        while chunk := handle.read(CHUNK):
                            digest.update(chunk)
                            out.write(chunk)
                            size += len(chunk)
                    if size != expected.bytes or digest.hexdigest() != expected.sha256:
                        raise BackupError(f"checksum mismatch for {member.name}: the archive is damaged")
                    seen.add(member.name)
                    update(size)
    except (tarfile.TarError, EOFError, zlib.error, OSError) as error:
        raise BackupError(f"{path} is damaged or unreadable ({error})") from None
    missing = sorted(set(wanted) - seen - {MANIFEST})
    if missing:
        raise BackupError(f"the archive is incomplete: {len(missing)} member(s) missing, e.g. {missing[0]}")
    return manifest


def verify_backup(path: Path, progress: ProgressFn = no_progress) -> Manifest:
    """Read the whole archive and check every checksum; change nothing."""
    with tempfile.TemporaryDirectory(prefix=".verify-", dir=Path(current_app.config["DATA_DIR"])) as staging:
        return extract_verified(Path(path), Path(staging), progress=progress)


def target_contents() -> list[str]:
    """Why the configured database / upload folder are not empty (empty list: safe to restore)."""
    reasons = []
    with db.engine.connect() as conn:
        for name in sorted(sa.inspect(conn).get_table_names()):
            if name in NOT_DATA:
                continue
            if conn.execute(sa.select(sa.literal(1)).select_from(sa.table(name)).limit(1)).first() is not None:
                reasons.append(f"table {name} has rows")
    root = upload_root()
    if root.is_dir() and any(p.is_file() for p in root.rglob("*")):
        reasons.append(f"{root} has files")
    from marketplace.search.synonyms import extra_synonyms_file

    if extra_synonyms_file(current_app).is_file():
        reasons.append(f"{extra_synonyms_file(current_app)} exists")
    return reasons


def restore_backup(
    path: Path, force: bool = False, step: StepFn = _quiet, progress: ProgressFn = no_progress
) -> RestoreReport:
    """Restore an archive into the configured database and UPLOAD_DIR, rebuild the search index
    and compare the restored row counts with the manifest.

    Refused (nothing changed) when the target has data (unless `force`), the dialects differ, a
    tool is missing, or any checksum fails. The database is restored in one step (SQLite backup
    API; pg_restore --single-transaction), then the uploads folder is swapped in."""
    started = time.perf_counter()
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"{path}: no such file")
    dialect = dialect_name()
    if dialect not in DB_MEMBER:
        raise BackupError(f"cannot restore into a {dialect} database (SQLite and PostgreSQL only)")
    if dialect == "sqlite" and db.engine.url.database in (None, "", ":memory:"):
        raise BackupError("the configured SQLite database is in memory: set DATABASE_URL to a file")
    if not force:
        reasons = target_contents()
        if reasons:
            raise BackupError(
                "the target is not empty (" + "; ".join(reasons[:5]) + (", …" if len(reasons) > 5 else "") + "). "
                "Restore into a fresh data dir and database, or pass --force to replace everything."
            )
    tool = None
    if dialect == "postgresql":
        with db.engine.connect() as conn:
            tool = pg_tool("pg_restore", _server_major(conn))

    def check(manifest: Manifest) -> None:
        if manifest.dialect != dialect:
            raise BackupError(
                f"this is a {manifest.dialect} backup and the configured database is {dialect}: "
                f"restore it into a {manifest.dialect} database (nothing was changed)"
            )

    root = upload_root()
    root.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".restore-", dir=root.parent))
    try:
        step(f"Verifying {path.name}…")
        manifest = extract_verified(path, staging, check, progress)
        step(
            f"Archive OK: {manifest.server_version or manifest.dialect}, made {manifest.created_at}, "
            f"{manifest.total_rows} rows, {len(manifest.uploads)} upload files."
        )
        db.session.remove()
        db.engine.dispose()
        dump = staging / manifest.database_file
        step("Restoring the database…")
        if dialect == "sqlite":
            _restore_sqlite(dump, progress)
        else:
            assert tool is not None
            argv = [tool, "--clean", "--if-exists", "--no-owner", "--no-privileges", "--single-transaction"]
            argv += [f"--dbname={db.engine.url.database}", str(dump)]
            _run(argv, _pg_env(db.engine.url), "pg_restore")
        db.engine.dispose()
        step("Restoring uploads…")
        _swap_uploads(staging / UPLOADS, root)
        _restore_synonyms(staging / SYNONYMS if manifest.synonyms else None)
        with db.engine.connect() as conn:
            restored = count_rows(conn)
        checks = [
            TableCheck(name, manifest.tables.get(name), restored.get(name))
            for name in sorted(set(manifest.tables) | set(restored))
        ]
        step("Rebuilding the search index…")
        indexed = _reindex(progress)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return RestoreReport(manifest, checks, indexed, time.perf_counter() - started, migration_head())


def _reindex(progress: ProgressFn) -> int:
    """The same rebuild as `flask search reindex`, with a progress bar."""
    from sqlalchemy.orm import Session

    from marketplace.search import reindex
    from marketplace.search.base import count_public

    with Session(db.engine) as session:
        total = count_public(session)
    with progress(max(total, 1), "Search index") as update:
        done = [0]

        def report(count: int, _total: int) -> None:
            update(max(0, count - done[0]))
            done[0] = count

        return reindex(progress=report)


def _restore_sqlite(dump: Path, progress: ProgressFn) -> None:
    """Copy the archived database over the configured one with the backup API: one exclusive
    lock, all pages replaced, never a half-written file visible to another connection."""
    source = sqlite3.connect(dump)
    try:
        raw = db.engine.raw_connection()
        try:
            _copy_sqlite(source, raw.driver_connection, progress, step=0)  # 0: all pages at once
        finally:
            raw.close()
    except sqlite3.Error as error:
        raise BackupError(f"the SQLite restore failed: {error}") from None
    finally:
        source.close()


def _restore_synonyms(copy: Path | None) -> None:
    """Put the archived organisers' synonyms file in place (or remove one the archive lacks)."""
    from marketplace.search.synonyms import extra_synonyms_file

    target = extra_synonyms_file(current_app)
    if copy is None:
        target.unlink(missing_ok=True)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.restore")
    shutil.copyfile(copy, temporary)
    os.replace(temporary, target)


def migration_head() -> str | None:
    """The newest Alembic revision in migrations/ (None when it cannot be read)."""
    try:
        from alembic.script import ScriptDirectory

        from marketplace import ROOT

        return ScriptDirectory(str(ROOT / "migrations")).get_current_head()
    except Exception:  # noqa: BLE001 - a hint only
        return None


def _swap_uploads(new: Path, root: Path) -> None:
    """Put the restored folder in place of UPLOAD_DIR (the old one, if any, is removed last)."""
    new.mkdir(parents=True, exist_ok=True)
    old = None
    if root.exists():
        old = root.with_name(f".{root.name}-replaced-{os.getpid()}-{int(time.time())}")
        os.replace(root, old)
    try:
        shutil.move(str(new), str(root))
    except BaseException:
        if old is not None and not root.exists():
            os.replace(old, root)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
