import sqlalchemy as sa

from marketplace.accounts import passwords
from marketplace.accounts.models import User
from marketplace.extensions import db
from tests.helpers import make_user


def _user(email: str) -> User | None:
    db.session.expire_all()
    return db.session.scalar(sa.select(User).where(User.email == email))


def _create(runner, *args):
    return runner.invoke(args=["users", "create", *args])


def test_users_create_makes_a_verified_user(runner):
    result = _create(
        runner,
        "--email",
        "Admin@Example.VN",
        "--password",
        "mat-khau-quan-tri",
        "--role",
        "admin",
        "--role",
        "organiser",
        "--name",
        "Ban quản trị",
    )
    assert result.exit_code == 0, result.output
    assert "admin@example.vn" in result.output
    user = _user("admin@example.vn")
    assert user.roles == {"admin", "organiser"}
    assert user.email_verified
    assert user.name == "Ban quản trị"
    assert passwords.verify_password(user.password_hash, "mat-khau-quan-tri")


def test_users_create_defaults_to_buyer_and_allows_local_domains(runner):
    result = _create(runner, "--email", "nguoimua@ocop.local", "--password", "mat-khau-nguoi-mua")
    assert result.exit_code == 0, result.output
    assert _user("nguoimua@ocop.local").roles == {"buyer"}
    client = runner.app.test_client()
    response = client.post("/login", data={"email": "nguoimua@ocop.local", "password": "mat-khau-nguoi-mua"})
    assert response.status_code == 302


def test_users_create_refuses_existing_email(runner):
    make_user(roles=("admin",), email="admin@example.vn")
    db.session.commit()
    result = _create(runner, "--email", "ADMIN@example.vn", "--password", "mat-khau-quan-tri", "--role", "admin")
    assert result.exit_code == 1
    assert "already exists" in result.output
    result = _create(runner, "--email", "admin@example.vn", "--password", "mat-khau-quan-tri", "--role", "buyer")
    assert result.exit_code == 1
    assert "set-roles" in result.output
    assert db.session.query(User).count() == 1


def test_users_create_refuses_bad_input(runner):
    result = _create(runner, "--email", "a@example.vn", "--password", "mat-khau-quan-tri", "--role", "boss")
    assert result.exit_code == 1 and "unknown role" in result.output and "organiser" in result.output
    result = _create(runner, "--email", "a@example.vn", "--password", "ngan")
    assert result.exit_code == 1 and "at least 10" in result.output
    result = _create(runner, "--email", "khong-phai-email", "--password", "mat-khau-quan-tri")
    assert result.exit_code == 1 and "Địa chỉ email không hợp lệ." in result.output
    assert db.session.query(User).count() == 0


def test_users_set_roles(runner):
    make_user(roles=("buyer",), email="an@example.vn")
    db.session.commit()
    result = runner.invoke(
        args=["users", "set-roles", "--email", "AN@example.vn", "--role", "producer", "--role", "buyer"]
    )
    assert result.exit_code == 0, result.output
    assert _user("an@example.vn").roles == {"buyer", "producer"}
    from marketplace.dashboard.models import AuditLog

    (entry,) = db.session.query(AuditLog).filter_by(action="user.roles").all()
    assert (
        entry.actor_id is None and entry.object_label == "an@example.vn" and entry.reason == "buyer → buyer, producer"
    )
    result = runner.invoke(args=["users", "set-roles", "--email", "ai@example.vn", "--role", "buyer"])
    assert result.exit_code == 1
    result = runner.invoke(args=["users", "set-roles", "--email", "an@example.vn", "--role", "vua"])
    assert result.exit_code == 1
    assert _user("an@example.vn").roles == {"buyer", "producer"}
    assert db.session.query(AuditLog).filter_by(action="user.roles").count() == 1
