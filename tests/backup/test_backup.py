"""flask backup create / restore: an archive restored into a fresh data dir and database gives back
every row of every table, byte-identical uploads and a working search; bad restores change nothing.

On PostgreSQL (TEST_DATABASE_URL) the restore target is a scratch database `<testdb>_restore`,
created and dropped here, so the suite's database is never overwritten."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest
import sqlalchemy as sa

from config import TestConfig
from marketplace import create_app
from marketplace.backup import services
from marketplace.backup.services import BackupError
from marketplace.catalog.models import ProductImage
from marketplace.core.uploads import save_image
from marketplace.extensions import db
from marketplace.inquiries import services as inquiries
from marketplace.search import reindex, search_products
from tests.helpers import image_bytes, make_producer, make_product, make_user
from tests.search.conftest import load_sample_products

PRODUCT_NAME = "Giỏ mây tre đan Phú Vinh sao lưu"


# --- fixtures ------------------------------------------------------------------------------------
@pytest.fixture
def world(app):
    """Real data in every corner: sample catalogue (import service), users, an image, an inquiry."""
    load_sample_products()
    buyer = make_user(roles=("buyer",))
    seller = make_user(roles=("producer",))
    producer = make_producer(managers=[seller], name="HTX Mây tre Phú Vinh sao lưu")
    product = make_product(producer, name=PRODUCT_NAME, ocop_group="handicraft")
    stored = save_image(image_bytes())
    db.session.add(ProductImage(product=product, filename=stored.filename, thumb_filename=stored.thumb_filename))
    inquiries.create_inquiry(buyer, producer, inquiries.InquiryData(50, "chiếc", message="Cho tôi báo giá"))
    db.session.commit()
    synonyms = Path(app.config["DATA_DIR"]) / "search" / "synonyms.txt"
    synonyms.parent.mkdir(parents=True, exist_ok=True)
    synonyms.write_text("giỏ, làn\n", encoding="utf-8")  # the organisers' synonyms file
    reindex()  # the outbox is drained (restore rebuilds the index and consumes queued rows)
    return {"product_id": product.id}


@pytest.fixture
def target(app, tmp_path):
    """A second app on a fresh data dir and an empty database (SQLite file or scratch PG db)."""
    url = sa.make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    data_dir = tmp_path / "restored"
    if url.get_backend_name() == "sqlite":
        target_url = f"sqlite:///{data_dir / 'fresh.db'}"
        yield create_app(TestConfig, {"SQLALCHEMY_DATABASE_URI": target_url, "DATA_DIR": data_dir})
        return
    scratch = f"{url.database}_restore"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{scratch}"'))
    target_url = url.set(database=scratch).render_as_string(hide_password=False)
    fresh = create_app(TestConfig, {"SQLALCHEMY_DATABASE_URI": target_url, "DATA_DIR": data_dir})
    try:
        yield fresh
    finally:
        with fresh.app_context():
            db.session.remove()
            db.engine.dispose()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)'))
        admin.dispose()


def snapshot() -> dict[str, list[tuple]]:
    """Every row of every table of the app's schema, sorted."""
    db.session.expire_all()
    with db.engine.connect() as conn:
        return {
            table.name: sorted((tuple(row) for row in conn.execute(sa.select(table))), key=repr)
            for table in db.metadata.sorted_tables
        }


def files_of(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def rewrite(src: Path, dst: Path, manifest_edit=None, member_edit=None) -> None:
    """Copy an archive, changing the manifest (dict -> None) or a member's bytes ((name, data) -> data)."""
    with tarfile.open(src, "r:gz") as old, tarfile.open(dst, "w:gz") as new:
        for member in old.getmembers():
            data = old.extractfile(member).read()
            if member.name == "manifest.json" and manifest_edit:
                manifest = json.loads(data)
                manifest_edit(manifest)
                data = json.dumps(manifest).encode()
            elif member_edit:
                data = member_edit(member.name, data)
            member.size = len(data)
            new.addfile(member, io.BytesIO(data))


# --- the round trip ------------------------------------------------------------------------------
def test_restore_into_a_fresh_data_dir_gives_back_every_row_file_and_search(app, world, target, tmp_path):
    archive = tmp_path / "backup.tar.gz"
    result = services.create_backup(archive)
    before = snapshot()
    uploads = files_of(Path(app.config["UPLOAD_DIR"]))
    assert len(uploads) == 2  # the image and its thumbnail
    assert result.manifest.tables["products"] == 36
    assert result.manifest.tables["inquiries"] == 1
    assert len(result.manifest.uploads) == 2
    assert not list(tmp_path.glob(".backup-*"))  # the staging folder is gone

    with target.app_context():
        report = services.restore_backup(archive)
        assert report.mismatches == []
        assert report.indexed == 36
        after = snapshot()
        restored_uploads = files_of(Path(target.config["UPLOAD_DIR"]))
        hits = search_products(text="mây tre Phú Vinh sao lưu").hits
        by_synonym = search_products(text="làn", per_page=50).hits  # only through the synonym
        synonyms = (Path(target.config["DATA_DIR"]) / "search" / "synonyms.txt").read_text(encoding="utf-8")
        db.session.remove()
    for name, rows in before.items():
        assert after[name] == rows, name
    assert sum(map(len, before.values())) > 100
    assert restored_uploads == uploads
    assert world["product_id"] in [hit.product_id for hit in hits]
    assert world["product_id"] in [hit.product_id for hit in by_synonym]
    assert synonyms == "giỏ, làn\n"
    assert result.manifest.synonyms is not None


def test_manifest_describes_the_archive(app, world, tmp_path):
    result = services.create_backup(tmp_path / "b.tar.gz")
    manifest = services.read_manifest(result.path)
    assert manifest.dialect == db.engine.dialect.name
    assert manifest.created_at.endswith("Z")
    assert manifest.tables == result.manifest.tables
    assert manifest.alembic_revision is None  # the test schema is made by create_all
    with tarfile.open(result.path) as tar:
        names = tar.getnames()
    assert names[0] == "manifest.json"
    assert names[1] == manifest.database_file
    assert names[2] == "search-synonyms.txt"
    assert sorted(names[3:]) == sorted(f"uploads/{f.path}" for f in manifest.uploads)
    assert manifest.server_version.startswith(("SQLite", "PostgreSQL"))
    assert services.verify_backup(result.path).database_sha256 == manifest.database_sha256


# --- refusals: nothing changes -------------------------------------------------------------------
def test_restore_into_a_database_with_data_is_refused(app, world, tmp_path):
    archive = services.create_backup(tmp_path / "b.tar.gz").path
    inquiries_before = snapshot()
    with pytest.raises(BackupError, match="not empty"):
        services.restore_backup(archive)
    assert snapshot() == inquiries_before


def test_a_corrupted_archive_is_refused_and_nothing_changes(app, world, target, tmp_path):
    archive = services.create_backup(tmp_path / "b.tar.gz").path
    bad = tmp_path / "bad.tar.gz"

    def flip(name: str, data: bytes) -> bytes:
        if name.startswith("uploads/thumbs/"):
            return data[:-1] + bytes([data[-1] ^ 0xFF])
        return data

    rewrite(archive, bad, member_edit=flip)
    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    with target.app_context():
        with pytest.raises(BackupError, match="checksum mismatch for uploads/thumbs/"):
            services.restore_backup(bad)
        with pytest.raises(BackupError, match="damaged"):
            services.restore_backup(truncated)
        assert sa.inspect(db.engine).get_table_names() == []
        assert files_of(Path(target.config["UPLOAD_DIR"])) == {}
        assert not list(Path(target.config["DATA_DIR"]).glob(".restore-*"))
        db.session.remove()


def test_a_backup_of_the_other_dialect_is_refused(app, world, target, tmp_path):
    archive = services.create_backup(tmp_path / "b.tar.gz").path
    other = "postgresql" if db.engine.dialect.name == "sqlite" else "sqlite"
    foreign = tmp_path / "foreign.tar.gz"

    def edit(manifest: dict) -> None:
        manifest["dialect"] = other
        manifest["database"]["file"] = services.DB_MEMBER[other]

    rewrite(archive, foreign, manifest_edit=edit)
    with target.app_context():
        with pytest.raises(BackupError, match=f"this is a {other} backup and the configured database is"):
            services.restore_backup(foreign)
        assert sa.inspect(db.engine).get_table_names() == []
        db.session.remove()


def test_missing_postgres_tools_are_named(app, tmp_path):
    app.config["BACKUP_PG_BIN_DIR"] = str(tmp_path)
    with pytest.raises(BackupError, match="pg_dump was not found .* postgresql-client-15"):
        services.pg_tool("pg_dump", 15)


# --- the commands --------------------------------------------------------------------------------
def test_cli_create_list_verify_restore(app, world, target, tmp_path):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["backup", "create"])
    assert result.exit_code == 0, result.output
    assert "Backup written:" in result.output
    (archive,) = (Path(app.config["DATA_DIR"]) / "backups").glob("ocop-backup-*.tar.gz")
    assert archive.name.endswith("Z.tar.gz")

    listed = runner.invoke(args=["backup", "list"])
    assert archive.name in listed.output
    verified = runner.invoke(args=["backup", "verify", str(archive)])
    assert verified.exit_code == 0 and verified.output.startswith("OK:"), verified.output

    refused = runner.invoke(args=["backup", "restore", "--yes", str(archive)])
    assert refused.exit_code != 0
    assert "the target is not empty" in refused.output

    with target.app_context():
        target_runner = target.test_cli_runner()
        restored = target_runner.invoke(args=["backup", "restore", "--yes", str(archive)])
        assert restored.exit_code == 0, restored.output
        assert "Restored" in restored.output and "MISMATCH" not in restored.output
        assert "products" in restored.output
        again = target_runner.invoke(args=["backup", "restore", "--yes", str(archive)])
        assert again.exit_code != 0 and "not empty" in again.output
        forced = target_runner.invoke(args=["backup", "restore", "--yes", "--force", str(archive)])
        assert forced.exit_code == 0, forced.output
        db.session.remove()


def test_cli_restore_asks_first(app, world, target, tmp_path):
    archive = services.create_backup(tmp_path / "b.tar.gz").path
    with target.app_context():
        result = target.test_cli_runner().invoke(args=["backup", "restore", str(archive)], input="n\n")
        assert result.exit_code != 0
        assert "Continue?" in result.output
        assert sa.inspect(db.engine).get_table_names() == []
        db.session.remove()


def test_keep_prunes_old_archives(app, tmp_path):
    folder = Path(app.config["DATA_DIR"]) / "backups"
    folder.mkdir()
    for stamp in ("20260101T000000Z", "20260102T000000Z", "20260103T000000Z"):
        (folder / f"ocop-backup-{stamp}.tar.gz").write_bytes(b"old")
    result = app.test_cli_runner().invoke(args=["backup", "create", "--keep", "2"])
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in folder.glob("*.tar.gz"))
    assert len(names) == 2
    assert names[0] == "ocop-backup-20260103T000000Z.tar.gz"
