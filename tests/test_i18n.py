"""Languages: Vietnamese by default, English by the switch, a complete English catalogue,
Vietnamese number and date formats in both languages."""

from __future__ import annotations

import importlib.util
import os
import re
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import get_flashed_messages, render_template_string
from flask_babel import force_locale

from marketplace.core.errors import NotAllowed, ServiceError
from marketplace.core.uploads import save_image
from marketplace.extensions import babel, db, login_manager
from tests.helpers import login, make_producer, make_product, make_user

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "translations"
EN_PO = TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po"
HTML_LANG = re.compile(r'<html lang="([a-z]+)"')


def _load_untranslated_script():
    spec = importlib.util.spec_from_file_location("untranslated", ROOT / "scripts" / "untranslated.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def compile_catalogues() -> list[Path]:
    """Compile every translations/*/LC_MESSAGES/messages.po whose .mo is missing or older (what
    `make translations` does), atomically so a concurrent run never reads half a file."""
    compiled = []
    for po_path in sorted(TRANSLATIONS.glob("*/LC_MESSAGES/messages.po")):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as handle:
            catalog = read_po(handle, locale=po_path.parent.parent.name)
        fd, tmp_name = tempfile.mkstemp(dir=po_path.parent, suffix=".mo.tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                write_mo(handle, catalog)
            os.chmod(tmp_name, 0o644)  # as `pybabel compile` leaves it (mkstemp makes it 0600)
            os.replace(tmp_name, mo_path)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        compiled.append(mo_path)
    # Flask-Babel caches loaded catalogues on the (process-wide) extension: forget any loaded
    # before the .mo existed.
    domain = babel.__dict__.get("domain_instance")
    if domain is not None:
        domain.cache.clear()
    return compiled


@pytest.fixture(scope="session", autouse=True)
def compiled_translations():
    compile_catalogues()


def switch(client, code: str, next_url: str = "/"):
    return client.post(f"/lang/{code}", data={"next": next_url})


def html_lang(response) -> str:
    return HTML_LANG.search(response.get_data(as_text=True)).group(1)


# --- the switch -------------------------------------------------------------------------------


def test_home_is_vietnamese_by_default(client):
    response = client.get("/")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html_lang(response) == "vi"
    assert ">Sản phẩm<" in page and "Đăng nhập" in page and "Nhà sản xuất" in page
    assert 'lang="en">' in page and "English" in page  # the visible switch offers English


def test_switch_to_english_and_back(client):
    response = switch(client, "en", "/")
    assert response.status_code == 302 and response.headers["Location"] == "/"

    response = client.get("/")
    page = response.get_data(as_text=True)
    assert html_lang(response) == "en"
    assert ">Products<" in page and "Log in" in page and "Producers" in page
    assert "Đăng nhập" not in page and ">Sản phẩm<" not in page
    assert "Tiếng Việt" in page  # the switch now offers Vietnamese

    switch(client, "vi")
    response = client.get("/")
    assert html_lang(response) == "vi"
    assert "Đăng nhập" in response.get_data(as_text=True)


def test_switch_returns_to_the_page_and_never_off_site(client):
    assert switch(client, "en", "/products?page=2").headers["Location"] == "/products?page=2"
    assert switch(client, "en", "https://evil.example/").headers["Location"] == "/"


def test_unknown_language_is_ignored(client):
    response = switch(client, "xx")
    assert response.status_code == 302
    with client.session_transaction() as session:
        assert "lang" not in session
    assert html_lang(client.get("/")) == "vi"

    switch(client, "en")
    switch(client, "fr")
    switch(client, "<script>")
    response = client.get("/")
    assert html_lang(response) == "en"
    assert ">Products<" in response.get_data(as_text=True)


def test_language_switch_is_post_only(client):
    assert client.get("/lang/en").status_code == 405
    assert html_lang(client.get("/")) == "vi"


def test_a_users_preferred_language_applies_until_the_switch_is_used(client):
    user = make_user(locale="en")
    db.session.commit()
    login(client, user)
    response = client.get("/account")
    assert html_lang(response) == "en"
    assert "Log out" in response.get_data(as_text=True)

    switch(client, "vi")
    response = client.get("/account")
    assert html_lang(response) == "vi"
    assert "Đăng xuất" in response.get_data(as_text=True)


# --- pages in both languages ------------------------------------------------------------------


def test_404_page_in_both_languages(client):
    response = client.get("/khong-co-trang-nay")
    assert response.status_code == 404
    assert html_lang(response) == "vi"
    assert "Không tìm thấy trang" in response.get_data(as_text=True)

    switch(client, "en")
    response = client.get("/khong-co-trang-nay")
    page = response.get_data(as_text=True)
    assert response.status_code == 404
    assert html_lang(response) == "en"
    assert "Page not found" in page and "Không tìm thấy trang" not in page


def test_403_page_in_english(client):
    buyer = make_user(roles=("buyer",))
    db.session.commit()
    login(client, buyer)
    switch(client, "en")
    response = client.get("/my/products")
    assert response.status_code == 403
    assert "Access denied" in response.get_data(as_text=True)


def test_reference_labels_follow_the_language(client):
    product = make_product(make_producer(), certifications="organic;vietgap")
    db.session.commit()
    url = f"/san-pham/{product.ref}"
    page = client.get(url).get_data(as_text=True)
    assert "Hữu cơ" in page and "VietGAP" in page

    switch(client, "en")
    page = client.get(url).get_data(as_text=True)
    assert "Organic" in page and "Hữu cơ" not in page and "VietGAP" in page


def test_form_choices_follow_the_language(client):
    producer_user = make_user(roles=("producer",))
    make_producer(managers=[producer_user])
    db.session.commit()
    login(client, producer_user)
    page = client.get("/my/products/new").get_data(as_text=True)
    assert "Thực phẩm" in page and "Hữu cơ" in page

    switch(client, "en")
    page = client.get("/my/products/new").get_data(as_text=True)
    assert ">Food<" in page and "Organic" in page
    assert "Thực phẩm" not in page and "Hữu cơ" not in page


# --- messages from shared code ----------------------------------------------------------------


def test_shared_messages_are_translated(app):
    with app.test_request_context("/"):
        assert NotAllowed().message == "Bạn không có quyền thực hiện thao tác này."
        with force_locale("en"):
            assert NotAllowed().message == "You are not allowed to do this."
            assert NotAllowed("Riêng").message == "Riêng"
            with pytest.raises(ServiceError) as error:
                save_image(b"")
            assert error.value.message == "The image file is empty."
            with pytest.raises(ServiceError) as error:
                save_image(b"x" * (app.config["MAX_IMAGE_BYTES"] + 1))
            assert re.fullmatch(r"The image is larger than \d+ MB\.", error.value.message)


def test_login_message_is_flashed_in_the_request_language(app):
    with app.test_request_context("/my/products"):
        with force_locale("en"):
            login_manager.unauthorized()
            assert get_flashed_messages() == ["Please log in to continue."]
    with app.test_request_context("/my/products"):
        login_manager.unauthorized()
        assert get_flashed_messages() == ["Vui lòng đăng nhập để tiếp tục."]


def test_verification_reminder_in_english(client):
    user = make_user(roles=("producer",), verified=False)
    db.session.commit()
    login(client, user)
    switch(client, "en")
    response = client.get("/my/products", follow_redirects=True)
    assert "Please verify your email address before continuing." in response.get_data(as_text=True)


# --- Vietnamese number and date formats -------------------------------------------------------


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_vietnamese_number_and_date_formats(app, locale):
    template = (
        "{{ 1250000|vnd }}|{{ 7200|number }}|{{ day|local_date }}|{{ moment|local_date }}|"
        "{{ moment|local_datetime }}|{{ none|vnd }}|{{ 150000|price_range(250000) }}"
    )
    with app.test_request_context("/"), force_locale(locale):
        rendered = render_template_string(
            template,
            day=date(2026, 3, 5),
            moment=datetime(2026, 3, 4, 20, 30, tzinfo=UTC),  # 03:30 on 5 March in Hà Nội
            none=None,
        )
    assert rendered.split("|") == [
        "1.250.000 ₫",
        "7.200",
        "05/03/2026",
        "05/03/2026",
        "03:30 05/03/2026",
        "",
        "150.000 – 250.000 ₫",
    ]


def test_product_page_shows_vietnamese_formats_in_english(client):
    product = make_product(make_producer(), issued_on=date(2025, 3, 1), price_min_vnd=1250000, price_max_vnd=1250000)
    db.session.commit()
    switch(client, "en")
    page = client.get(f"/san-pham/{product.ref}").get_data(as_text=True)
    assert "1.250.000 ₫" in page
    assert "01/03/2025" in page and "01/03/2028" in page  # issued, valid until (36 months)


# --- the catalogue ----------------------------------------------------------------------------


def test_english_catalogue_is_complete():
    """No empty or fuzzy entry, and every msgstr keeps its msgid's placeholders."""
    with EN_PO.open("rb") as handle:
        catalog = read_po(handle)
    messages = [m for m in catalog if m.id]
    assert len(messages) > 500
    assert not [m.id for m in messages if not m.string or (isinstance(m.string, tuple) and not all(m.string))]
    assert not [m.id for m in messages if m.fuzzy]
    placeholder = re.compile(r"%(?:\([^)]+\))?[-#0 +]*\d*(?:\.\d+)?[sdifr%]")
    mismatched = [
        m.id
        for m in messages
        if m.python_format
        and not isinstance(m.id, tuple)
        and sorted(placeholder.findall(m.id)) != sorted(placeholder.findall(m.string))
    ]
    assert not mismatched
    # the script the Makefile runs agrees
    assert _load_untranslated_script().problems(EN_PO) == []


def test_english_catalogue_covers_every_string_in_the_code():
    """Every msgid the code uses has an English entry. When this fails, run
    `make translations-update` and translate what scripts/untranslated.py lists."""
    with (ROOT / "babel.cfg").open() as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    keywords = dict(DEFAULT_KEYWORDS, _l=None, lazy_gettext=None)
    used = set()
    for _filename, _lineno, message, _comments, context in extract_from_dir(
        str(ROOT),
        method_map,
        options_map,
        keywords=keywords,
        directory_filter=lambda path: not Path(path).name.startswith((".", "_", "node_modules", "instance")),
    ):
        used.add((context, message[0] if isinstance(message, tuple) else message))
    used.discard((None, ""))
    with EN_PO.open("rb") as handle:
        translated = {
            (m.context, m.id[0] if isinstance(m.id, tuple) else m.id) for m in read_po(handle) if m.id and m.string
        }
    missing = sorted(used - translated)
    assert not missing, f"{len(missing)} msgids lack English (run `make translations-update`): {missing[:20]}"


def test_compiled_catalogue_is_fresh():
    mo_path = EN_PO.with_suffix(".mo")
    assert mo_path.exists()
    assert mo_path.stat().st_mtime >= EN_PO.stat().st_mtime
