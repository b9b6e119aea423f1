"""Languages: Japanese by default, a switch that keeps the page, a remembered choice."""

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from tests.conftest import csrf_token

ROOT = Path(__file__).resolve().parent.parent


def test_home_is_japanese_by_default_even_for_english_browsers(client):
    response = client.get("/", headers={"Accept-Language": "en-US,en;q=0.9"})
    page = response.get_data(as_text=True)
    assert '<html lang="ja">' in page
    assert "窓口市 オンライン手続" in page
    assert 'lang="en"' in page and ">English</button>" in page


def test_switch_keeps_the_page_and_is_remembered(client):
    token = csrf_token(client, "/privacy")
    response = client.post(
        "/language", data={"language": "en", "next": "/privacy", "csrf_token": token}
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/privacy"
    page = client.get("/privacy").get_data(as_text=True)
    assert '<html lang="en">' in page
    assert "<h1>Privacy notice</h1>" in page
    # The choice holds on other pages too, and the switch now offers Japanese.
    home = client.get("/").get_data(as_text=True)
    assert "Madoguchi City online procedures" in home
    assert 'value="ja" lang="ja"' in home


def test_switch_keeps_the_query_string(client):
    token = csrf_token(client)
    response = client.post(
        "/language", data={"language": "en", "next": "/contact?from=footer", "csrf_token": token}
    )
    assert response.headers["Location"] == "/contact?from=footer"


def test_switch_refuses_to_leave_the_site(client):
    token = csrf_token(client)
    response = client.post(
        "/language",
        data={"language": "en", "next": "https://evil.example/", "csrf_token": token},
    )
    assert response.headers["Location"] == "/"


def test_unknown_language_is_a_bad_request(client):
    token = csrf_token(client)
    response = client.post("/language", data={"language": "xx", "csrf_token": token})
    assert response.status_code == 400


def test_every_message_has_a_japanese_translation():
    with (ROOT / "portal/translations/ja/LC_MESSAGES/messages.po").open("rb") as handle:
        catalog = read_po(handle, locale="ja")
    translated = {m.id for m in catalog if m.id and m.string and not m.fuzzy}
    method_map = [("portal/**.py", "python"), ("templates/**.html", "jinja2")]
    extracted = {
        message
        for _file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, keywords={"_": None, "_l": None, "gettext": None}
        )
    }
    missing = sorted(str(m) for m in extracted if isinstance(m, str) and m not in translated)
    assert not missing, f"untranslated messages: {missing}"


def test_every_prose_page_exists_in_both_languages():
    content = ROOT / "templates/site/content"
    pages = {path.stem.rsplit("_", 1)[0] for path in content.glob("*.html")}
    for page in pages:
        for language in ("ja", "en"):
            assert (content / f"{page}_{language}.html").exists(), f"{page} lacks {language}"
