"""Rate limits on sign-up, password-reset requests, uploads and the public API; the client address
from the configured number of trusted proxies; Redis storage shared by every worker."""

from __future__ import annotations

import io
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import image_bytes, login, make_producer, make_user

ROOT = Path(__file__).resolve().parents[2]
PROXY = {"REMOTE_ADDR": "10.0.0.1"}


def _register(client, n: int):
    return client.post(
        "/register",
        data={
            "role": "buyer",
            "name": f"Người thử {n}",
            "email": f"thu{n}@example.vn",
            "password": "mây-tre-đan-phú-vinh",
            "confirm": "mây-tre-đan-phú-vinh",
            "privacy_consent": "y",
        },
    )


def test_sign_up_is_rate_limited(make_limited_app):
    app = make_limited_app(REGISTER_RATE_LIMIT="2 per minute")
    statuses = []
    for n in range(3):
        client = app.test_client()  # a new browser each time: the limit is per address
        statuses.append(_register(client, n).status_code)
    assert statuses == [302, 302, 429]
    assert app.test_client().get("/register").status_code == 200  # the form still shows


def test_password_reset_requests_are_rate_limited(make_limited_app):
    app = make_limited_app(RESET_RATE_LIMIT="2 per minute")
    client = app.test_client()
    for _ in range(3):
        assert client.get("/password/forgot").status_code == 200  # showing the form is free
    statuses = [client.post("/password/forgot", data={"email": f"x{n}@example.vn"}).status_code for n in range(3)]
    assert statuses == [302, 302, 429]
    assert "429" in client.post("/password/forgot", data={"email": "y@example.vn"}).get_data(as_text=True)


def _post_photo(client, producer_id: int, with_file: bool = True):
    data = {"name": "HTX Mây tre Phú Vinh"}
    if with_file:
        data["photos"] = (io.BytesIO(image_bytes()), "anh.jpg")
    return client.post(f"/my/producers/{producer_id}/edit", data=data, content_type="multipart/form-data")


def test_uploads_are_rate_limited_per_user(make_limited_app):
    owner = make_user(roles=("producer",))
    producer = make_producer(managers=[owner])
    other_owner = make_user(roles=("producer",))
    other_producer = make_producer(managers=[other_owner])
    app = make_limited_app(UPLOAD_RATE_LIMIT="2 per minute")
    client = app.test_client()
    login(client, owner)
    statuses = [_post_photo(client, producer.id).status_code for _ in range(3)]
    assert statuses[:2] != [429, 429] and statuses[2] == 429
    # A form post without a file is no upload; another user has a budget of their own.
    assert _post_photo(client, producer.id, with_file=False).status_code != 429
    other = app.test_client()
    login(other, other_owner)
    assert _post_photo(other, other_producer.id).status_code != 429


def _api(client, forwarded_for: str | None = None, remote: str = "10.0.0.1"):
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    return client.get("/api/v1/openapi.json", headers=headers, environ_base={"REMOTE_ADDR": remote})


def test_public_api_is_rate_limited_with_a_json_429(make_limited_app):
    app = make_limited_app(API_RATE_LIMIT="3 per minute")
    client = app.test_client()
    assert [_api(client).status_code for _ in range(3)] == [200, 200, 200]
    response = client.get("/api/v1/products", environ_base=PROXY)
    assert response.status_code == 429
    error = response.get_json()["error"]
    assert error["code"] == "too_many_requests"
    assert response.headers["Retry-After"]
    assert response.headers["Content-Security-Policy"]  # the 429 carries the security headers too
    # Another client address is not held up.
    assert _api(client, remote="10.0.0.2").status_code == 200


def test_without_trusted_proxies_a_forged_forwarded_for_is_ignored(make_limited_app):
    app = make_limited_app(API_RATE_LIMIT="3 per minute", TRUSTED_PROXIES=0)
    client = app.test_client()
    statuses = [_api(client, forwarded_for=f"198.51.100.{n}").status_code for n in range(4)]
    assert statuses == [200, 200, 200, 429]


def test_with_one_trusted_proxy_only_the_last_hop_counts(make_limited_app):
    app = make_limited_app(API_RATE_LIMIT="3 per minute", TRUSTED_PROXIES=1)
    client = app.test_client()
    # The client forges a first hop; the proxy appends the address it saw: only that one counts.
    statuses = [_api(client, forwarded_for=f"198.51.100.{n}, 203.0.113.5").status_code for n in range(4)]
    assert statuses == [200, 200, 200, 429]
    # Other clients behind the same proxy have their own budget.
    assert _api(client, forwarded_for="203.0.113.6").status_code == 200
    assert _api(client, forwarded_for="198.51.100.9, 203.0.113.7").status_code == 200


def test_trusted_proxies_set_the_client_address_seen_by_the_app(make_limited_app):
    app = make_limited_app(TRUSTED_PROXIES=1)

    @app.get("/_whoami")
    def whoami():
        from flask import request

        return {"addr": request.remote_addr, "scheme": request.scheme}

    client = app.test_client()
    response = client.get(
        "/_whoami",
        headers={"X-Forwarded-For": "1.2.3.4, 203.0.113.5", "X-Forwarded-Proto": "https"},
        environ_base=PROXY,
    )
    assert response.get_json() == {"addr": "203.0.113.5", "scheme": "https"}

    plain = make_limited_app(TRUSTED_PROXIES=0)
    plain.add_url_rule("/_whoami", "whoami", whoami)
    response = plain.test_client().get("/_whoami", headers={"X-Forwarded-For": "203.0.113.5"}, environ_base=PROXY)
    assert response.get_json()["addr"] == "10.0.0.1"


def test_limits_are_stored_in_redis_when_redis_url_is_set():
    code = "import config; print(config.Config.RATELIMIT_STORAGE_URI)"
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    run = {"cwd": ROOT, "capture_output": True, "text": True, "check": True}
    plain = subprocess.run([sys.executable, "-c", code], env=env, **run)  # noqa: S603 (this interpreter)
    assert plain.stdout.strip() == "memory://"
    env["REDIS_URL"] = "redis://cache.internal:6379/2"
    shared = subprocess.run([sys.executable, "-c", code], env=env, **run)  # noqa: S603 (this interpreter)
    assert shared.stdout.strip() == "redis://cache.internal:6379/2"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def redis_url(tmp_path):
    server = shutil.which("redis-server")
    if not server:
        pytest.skip("redis-server is not installed")
    port = _free_port()
    process = subprocess.Popen(  # noqa: S603 (the system's redis-server)
        [
            server,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("redis-server did not start")
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(10)


def test_two_workers_share_one_budget_in_redis(make_limited_app, redis_url):
    settings = {"API_RATE_LIMIT": "3 per minute", "RATELIMIT_STORAGE_URI": redis_url}
    first, second = make_limited_app(**settings), make_limited_app(**settings)
    one, two = first.test_client(), second.test_client()
    statuses = [_api(one).status_code, _api(two).status_code, _api(one).status_code, _api(two).status_code]
    assert statuses == [200, 200, 200, 429]


def test_an_unreachable_redis_falls_back_to_memory_instead_of_failing(make_limited_app):
    app = make_limited_app(API_RATE_LIMIT="3 per minute", RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{_free_port()}/0")
    client = app.test_client()
    statuses = [_api(client).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]  # still limited, per worker, and never a 500
