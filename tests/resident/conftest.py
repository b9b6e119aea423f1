"""Fixtures for the resident's journey: the shipped definitions loaded, a browser-like client."""

from __future__ import annotations

import re

from tests.conftest import PROCEDURES

__all__ = ["PROCEDURES", "as_myself", "fill_page", "token"]


def token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def as_myself(client, response):
    """Past "Whom are you filing for?" as a resident filing for themselves, if it is asked."""
    location = response.headers.get("Location", "")
    if not location.endswith("/filing-for"):
        return response
    html = client.get(location).get_data(as_text=True)
    return client.post(location, data={"csrf_token": token(html), "filing_for": "self"})


SAMPLE_BY_SUFFIX = [
    (".family_kana", "スズキ"),
    (".given_kana", "ハナコ"),
    (".family", "鈴木"),
    (".given", "花子"),
    (".postal_code", "100-0001"),
    (".prefecture", "東京都"),
    (".city", "千代田区"),
    (".town", "千代田"),
    (".line", "1-1"),
    (".overseas", ""),
    (".holder_kana", "スズキ ハナコ"),
    (".bank_code", "0001"),
    (".branch_code", "001"),
    (".account_number", "1234567"),
    (".yucho_kigou", ""),
    (".yucho_bangou", ""),
    ("phone", "090-1234-5678"),
    ("email", "hanako@example.jp"),
    ("birth_date", "1950-04-01"),
    ("_date", "2026-11-21"),
    ("postal_code", "100-0001"),
    ("my_number", "123456789018"),
]


def sample_for(name: str) -> str:
    for suffix, value in SAMPLE_BY_SUFFIX:
        if name.endswith(suffix):
            return value
    return "テスト"


def fill_page(html: str, overrides: dict | None = None) -> dict:
    """Answer every control of a form page the way a careful resident would."""
    overrides = overrides or {}
    data: dict = {"csrf_token": token(html)}
    form = html[html.index("<main") :]
    radios: dict[str, list[str]] = {}
    for name, value in re.findall(r'type="radio" id="[^"]+" name="([^"]+)" value="([^"]+)"', form):
        radios.setdefault(name, []).append(value)
    for name, values in radios.items():
        data[name] = "yes" if "yes" in values else ("bank" if "bank" in values else values[0])
    for name, value in re.findall(
        r'type="checkbox" id="[^"]+" name="([^"]+)" value="([^"]+)"', form
    ):
        data.setdefault(name, [])
        if not data[name]:
            data[name].append(value)
    for name in re.findall(r'<select [^>]*name="([^"]+)"', form):
        options = re.findall(r'<option value="([^"]+)"', form[form.index(f'name="{name}"') :])
        data[name] = options[0]
    for name in re.findall(r'<(?:input class="input[^"]*"|textarea)[^>]*name="([^"]+)"', form):
        data[name] = sample_for(name)
    data.update(overrides)
    return data


TINY_PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def documents_data(html: str, *, allow_upload: bool = True) -> dict:
    """Answer the documents page: another way where offered, else a small PDF upload."""
    import io

    data: dict = {"csrf_token": token(html)}
    choices: dict[str, list[str]] = {}
    for name, value in re.findall(r'name="(delivery:[^"]+)" value="([^"]+)"', html):
        choices.setdefault(name, []).append(value)
    for name, values in choices.items():
        alternatives = [value for value in values if value != "upload"]
        if alternatives:
            data[name] = alternatives[0]
        else:
            assert allow_upload, f"{name} can only be uploaded"
            data[name] = "upload"
            data["file:" + name.split(":", 1)[1]] = (io.BytesIO(TINY_PDF), "document.pdf")
    return data
