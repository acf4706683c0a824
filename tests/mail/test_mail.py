import smtplib
from email import message_from_bytes, policy

from marketplace.extensions import db
from marketplace.mail.models import OutgoingMail
from marketplace.mail.services import MAX_ATTEMPTS, deliver_pending, queue_mail


def _files(app):
    return sorted((app.config["DATA_DIR"] / "mail").glob("*.eml"))


def test_queued_mail_is_written_as_eml_in_development(app):
    mail = queue_mail("an@example.vn", "Chào mừng đến OCOP Trade Connect", "Xin chào Hoà,\nĐây là thư thử.")
    db.session.commit()
    assert mail.sent_at is None
    assert deliver_pending() == 1
    assert mail.sent_at is not None and mail.attempts == 1
    [path] = _files(app)
    message = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert message["Subject"] == "Chào mừng đến OCOP Trade Connect"
    assert message["To"] == "an@example.vn"
    assert message["Message-ID"] and message["Date"]
    assert "Xin chào Hoà" in message.get_content()
    assert deliver_pending() == 0  # nothing sent twice


def test_mail_send_command(app, runner):
    queue_mail("an@example.vn", "Thư 1", "Nội dung 1")
    queue_mail("binh@example.vn", "Thư 2", "Nội dung 2")
    db.session.commit()
    result = runner.invoke(args=["mail", "send"])
    assert result.exit_code == 0, result.output
    assert "Sent 2 message(s)" in result.output and "0 still pending" in result.output
    assert len(_files(app)) == 2
    result = runner.invoke(args=["mail", "send"])
    assert "Sent 0 message(s)" in result.output


def test_failed_smtp_delivery_stays_queued(app, monkeypatch):
    class Refusing:
        def __init__(self, *args, **kwargs):
            raise smtplib.SMTPConnectError(421, "busy")

    app.config["SMTP_HOST"] = "smtp.example.vn"
    monkeypatch.setattr(smtplib, "SMTP", Refusing)
    mail = queue_mail("an@example.vn", "Thư", "Nội dung")
    db.session.commit()
    assert deliver_pending() == 0
    assert mail.sent_at is None and mail.attempts == 1 and "busy" in mail.last_error
    for _ in range(MAX_ATTEMPTS):
        deliver_pending()
    assert mail.attempts == MAX_ATTEMPTS  # gives up after MAX_ATTEMPTS tries
    assert db.session.get(OutgoingMail, mail.id).sent_at is None


def test_smtp_delivery(app, monkeypatch):
    sent = []

    class FakeSMTP:
        def __init__(self, host, port, timeout):
            sent.append(("connect", host, port))

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def starttls(self):
            sent.append(("starttls",))

        def login(self, user, password):
            sent.append(("login", user))

        def send_message(self, message):
            sent.append(("send", message["To"]))

    app.config.update(SMTP_HOST="smtp.example.vn", SMTP_PORT=587, SMTP_USER="ocop", SMTP_PASSWORD="bi-mat")
    monkeypatch.setattr(smtplib, "SMTP", FakeSMTP)
    queue_mail("an@example.vn", "Thư", "Nội dung")
    db.session.commit()
    assert deliver_pending() == 1
    assert sent == [("connect", "smtp.example.vn", 587), ("starttls",), ("login", "ocop"), ("send", "an@example.vn")]
    assert _files(app) == []
