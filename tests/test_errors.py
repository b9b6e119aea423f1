"""Error pages in both languages, JSON errors for machine interfaces."""

import pytest
from flask import abort

from portal import create_app
from tests.conftest import app_config, csrf_token

EXPECTED = {
    400: ("リクエストに問題があります", "There is a problem with the request"),
    403: ("このページを表示する権限がありません", "You do not have access to this page"),
    404: ("ページが見つかりません", "Page not found"),
    413: ("ファイルが大きすぎます", "The file is too large"),
    429: ("短時間にアクセスが集中しています", "Too many requests"),
    500: (
        "申し訳ありません。サービスに問題が発生しています",
        "Sorry, there is a problem with the service",
    ),
}


@pytest.fixture
def error_app(database_url):
    app = create_app(app_config(database_url, MAX_UPLOAD_MB="1"))

    @app.route("/raise/<int:status>", methods=["GET", "POST"])
    def raise_status(status):
        abort(status)

    @app.route("/crash")
    def crash():
        raise RuntimeError("boom")

    return app


def _trigger(client, status):
    if status == 413:
        token = csrf_token(client)
        return client.post(
            "/language", data={"csrf_token": token, "language": "en", "blob": "x" * 2_000_000}
        )
    if status == 500:
        return client.get("/crash")
    if status == 404:
        return client.get("/no/such/page")
    return client.get(f"/raise/{status}")


def _choose_english(client):
    token = csrf_token(client)
    client.post("/language", data={"language": "en", "next": "/", "csrf_token": token})


@pytest.mark.parametrize("status", sorted(EXPECTED))
@pytest.mark.parametrize("language", ["ja", "en"])
def test_error_page_in_each_language(error_app, status, language):
    client = error_app.test_client()
    if language == "en":
        _choose_english(client)
    response = _trigger(client, status)
    page = response.get_data(as_text=True)
    assert response.status_code == status
    japanese, english = EXPECTED[status]
    assert (japanese if language == "ja" else english) in page
    assert f'<html lang="{language}">' in page
    assert "boom" not in page and "Traceback" not in page
    assert response.headers["X-Request-ID"] in page


def test_method_not_allowed_lists_the_allowed_methods(client):
    response = client.get("/language")
    assert response.status_code == 405
    assert "POST" in response.headers["Allow"]


def test_machine_interfaces_get_json_errors(client):
    response = client.post("/healthz")
    assert response.status_code == 405
    assert response.is_json
    assert response.get_json()["error"]["status"] == 405


def test_the_api_answers_unknown_paths_with_problem_details(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert response.get_json() == {"type": "about:blank", "title": "Not Found", "status": 404}
