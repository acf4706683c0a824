"""Browser tests: the app served from a thread, driven by Playwright in Debian's chromium.

Playwright never downloads a browser here: we launch /usr/bin/chromium (the Makefile installs it
with apt when missing). Without it the tests are skipped with the reason printed.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/e2e/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture
def live_server(app):
    app.config["WTF_CSRF_ENABLED"] = True  # the browser posts real forms with their tokens
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


@pytest.fixture
def browser_page():
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (make test installs it with apt)")
    sync_api = pytest.importorskip("playwright.sync_api")
    profile = tempfile.mkdtemp(prefix="e2e-chromium-")
    with sync_api.sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            args=ARGS,
            headless=True,
            locale="vi-VN",
            viewport={"width": 1280, "height": 900},
        )
        page = context.new_page()
        page.set_default_timeout(15000)
        yield page
        context.close()
    shutil.rmtree(profile, ignore_errors=True)


def log_out(page) -> None:
    """Open the header's account menu and press "Đăng xuất"."""
    page.locator("header details.account-menu > summary").click()
    page.locator("header form[action$='/logout'] button").click()
    page.wait_for_load_state()
