from tests.helpers import make_product


def test_home_page_answers(client):
    assert client.get("/").status_code == 200


def test_unknown_page_is_404_in_html(client):
    response = client.get("/khong-co-trang-nay")
    assert response.status_code == 404
    assert "Không tìm thấy trang" in response.get_data(as_text=True)


def test_unknown_api_path_is_json_404(client):
    response = client.get("/api/v1/khong-co")
    assert response.status_code == 404
    assert response.json["error"]["code"]


def test_tables_are_clean_between_tests_a(app):
    make_product()


def test_tables_are_clean_between_tests_b(app):
    from marketplace.catalog.models import Product
    from marketplace.extensions import db

    assert db.session.query(Product).count() == 0


def test_login_links_carry_the_page_without_a_dangling_question_mark(client):
    """request.full_path ends in "?" when there is no query string: /login?next=/diem-ban%3F."""
    page = client.get("/diem-ban").get_data(as_text=True)
    assert 'href="/login?next=/diem-ban"' in page and 'name="next" value="/diem-ban"' in page
    location = client.get("/account").headers["Location"]
    assert location.endswith(("/login?next=/account", "/login?next=%2Faccount")), location
