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
