"""Hostile text through every text field of the shipped definitions, and in definitions.

What a resident types is text wherever it is shown again: the check page, the clerk's
case, the receipt and decision PDFs, the emails. Template syntax is never evaluated
(``{{ 7*7 }}`` never becomes 49). Control characters, bidirectional overrides, bytes that
are not UTF-8 and over-long values are refused at their field with a message in the
resident's language, and everything else typed on the page is shown again. Line breaks
and tabs are the only controls a multi-line field keeps; nothing is silently dropped.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from urllib.parse import quote

import pytest
from markupsafe import escape
from sqlalchemy import select

from portal.backoffice import cases
from portal.backoffice.models import Application
from portal.catalogue.services import load_directory
from portal.definitions import fields
from portal.definitions.loader import load_catalogue
from portal.definitions.schema import AnyField, GroupField
from portal.documents.storage import file_storage
from portal.extensions import db
from portal.notifications.services import render_notice
from portal.resident.models import Draft
from tests.backoffice.conftest import Staff
from tests.backoffice.test_cases import CLOCK, submission, user
from tests.catalogue.conftest import replace_in
from tests.conftest import PROCEDURES
from tests.definitions.support import VALID
from tests.documents.pdf_text import extract_text
from tests.resident.conftest import fill_page, token
from tests.resident.test_dashboard import _ask
from tests.resident.test_journey import _walk_form, answer_questions, start
from tests.resident.test_my_number_at_rest import CHILDCARE
from tests.resident.test_submit import CHOSEN, QUESTIONS

PAYLOADS = (
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "{{ 7*7 }}",
    "{% raw %}",
    "javascript:alert(1)",
)
# The longest hostile text that fits a field comes first.
FITTING = ("".join(PAYLOADS), "<script>{{ 7*7 }}", "<b>{{ 7*7 }}</b>", "<b>{{7*7}}", "{{7*7}}")
TEXT_TYPES = ("text", "textarea", "person_name_ja", "address_jp")
ADDRESS_TEXT_PARTS = {"city": 100, "town": 100, "line": 100, "prefecture": 100}
INVALID_CHARACTERS_JA = (
    "使用できない文字が含まれています。貼り付けた場合は、直接入力し直してください。"
)


def payload_for(max_length: int) -> str:
    """The longest hostile text that a field of `max_length` accepts."""
    return next(text for text in FITTING if len(text) <= max_length)


def _text_fields(owner: str, found: dict[str, AnyField], prefix: str = ""):
    for field_id, spec in found.items():
        if isinstance(spec, GroupField):
            yield from _text_fields(owner, spec.fields, f"{prefix}{field_id}.")
        elif spec.type in TEXT_TYPES:
            yield pytest.param(field_id, spec, id=f"{owner}:{prefix}{field_id}")


def _shipped_text_fields():
    catalogue = load_catalogue(PROCEDURES)
    seen = []
    for procedure_id, procedure in sorted(catalogue.procedures.items()):
        seen.extend(_text_fields(procedure_id, procedure.fields))
    for life_event_id, life_event in sorted(catalogue.life_events.items()):
        seen.extend(_text_fields(life_event_id, life_event.model.questionnaire.fields))
    return seen


SHIPPED_TEXT_FIELDS = _shipped_text_fields()


def _inputs(field_id: str, spec: AnyField, text: str) -> dict[str, str]:
    """What a browser sends for a field when `text` is typed where free text goes."""
    if spec.type == "person_name_ja":
        return {
            f"{field_id}.family": text,
            f"{field_id}.given": "花子",
            f"{field_id}.family_kana": "スズキ",
            f"{field_id}.given_kana": "ハナコ",
        }
    if spec.type == "address_jp":
        return {
            f"{field_id}.postal_code": "100-0001",
            f"{field_id}.prefecture": "東京都",
            f"{field_id}.city": "千代田区",
            f"{field_id}.line": text,
        }
    return {field_id: text}


def _limit(spec: AnyField) -> int:
    if spec.type == "person_name_ja":
        return 50
    if spec.type == "address_jp":
        return 100
    return spec.max_length


def test_the_shipped_definitions_have_text_fields_of_every_kind():
    kinds = {param.values[1].type for param in SHIPPED_TEXT_FIELDS}
    assert kinds == set(TEXT_TYPES)
    assert len(SHIPPED_TEXT_FIELDS) > 50


@pytest.mark.parametrize(("field_id", "spec"), SHIPPED_TEXT_FIELDS)
def test_every_text_field_keeps_markup_as_text_or_refuses_it_as_a_name(field_id, spec):
    text = payload_for(_limit(spec))
    if spec.type == "person_name_ja":
        with pytest.raises(fields.FieldError) as refused:
            fields.parse_field(field_id, spec, _inputs(field_id, spec, text))
        assert (refused.value.code, refused.value.part) == ("name_characters", "family")
        return
    value = fields.parse_field(field_id, spec, _inputs(field_id, spec, text))
    shown = fields.display(spec, value, "ja")
    assert text in shown and "49" not in shown.replace(text, "")


HOSTILE_CHARACTERS = {
    "NUL": "a\x00b",
    "bell": "a\x07b",
    "escape": "a\x1b[31mb",
    "right-to-left override": "invoice\u202efdp.exe",
    "left-to-right isolate": "a\u2066b",
    "lone surrogate": "a\ud800b",
    "noncharacter": "a\uffffb",
    "bytes that were not UTF-8": "a\ufffdb",
}


@pytest.mark.parametrize("character", sorted(HOSTILE_CHARACTERS))
@pytest.mark.parametrize(("field_id", "spec"), SHIPPED_TEXT_FIELDS)
def test_every_text_field_refuses_invisible_and_broken_characters(field_id, spec, character):
    typed = HOSTILE_CHARACTERS[character]
    with pytest.raises(fields.FieldError) as refused:
        fields.parse_field(field_id, spec, _inputs(field_id, spec, typed))
    assert refused.value.code == "invalid_characters"
    assert refused.value.message("ja") == INVALID_CHARACTERS_JA
    assert refused.value.message("en") == (
        "This contains characters that cannot be used. If you pasted it, type it in instead."
    )


@pytest.mark.parametrize(("field_id", "spec"), SHIPPED_TEXT_FIELDS)
def test_every_text_field_refuses_a_value_over_its_length(field_id, spec):
    limit = _limit(spec)
    with pytest.raises(fields.FieldError) as refused:
        fields.parse_field(field_id, spec, _inputs(field_id, spec, "あ" * (limit + 1)))
    assert refused.value.code == "too_long"
    assert refused.value.message("ja") == f"{limit}文字以内で入力してください。"
    assert fields.parse_field(field_id, spec, _inputs(field_id, spec, "あ" * limit))


def test_multiline_text_keeps_line_breaks_and_tabs_only():
    spec = next(
        param.values[1] for param in SHIPPED_TEXT_FIELDS if param.values[1].type == "textarea"
    )
    assert fields.parse_field("t", spec, {"t": "一行目\r\n\t二行目  \r\n"}) == "一行目\n\t二行目"
    with pytest.raises(fields.FieldError):
        fields.parse_field("t", spec, {"t": "一行目\x0b二行目"})


# --- Through the pages a person sees ------------------------------------------------------


def _text_inputs(catalogue_fields: dict[str, AnyField]) -> dict[str, str]:
    """Hostile text for each free-text input (addresses' parts, text and textarea fields)."""
    typed: dict[str, str] = {}
    for field_id, spec in catalogue_fields.items():
        if spec.type in ("text", "textarea"):
            typed[field_id] = payload_for(spec.max_length)
        elif spec.type == "address_jp":
            for part, limit in ADDRESS_TEXT_PARTS.items():
                if part != "prefecture":
                    typed[f"{field_id}.{part}"] = payload_for(limit)
    return typed


def _procedure_fields(procedure_ids) -> dict[str, AnyField]:
    catalogue = load_catalogue(PROCEDURES)
    found: dict[str, AnyField] = {}
    for procedure_id in procedure_ids:
        found.update(catalogue.procedures[procedure_id].fields)
    return found


def _as_text(page: str, typed: str) -> bool:
    """Whether `typed` is on an HTML page as escaped text and nowhere as markup."""
    return str(escape(typed)) in page and ("<" not in typed or typed not in page)


def _unwrapped(text: str) -> str:
    """Text without its white space, as a PDF may wrap a long line at any space."""
    return re.sub(r"\s+", "", text)


def _walk_to_check(client, life_event: str, questions: dict, procedures, overrides):
    listing = answer_questions(client, start(client, life_event), questions)
    html = client.get(listing).get_data(as_text=True)
    offered = re.findall(r'name="procedures" value="([^"]+)"', html)
    assert set(procedures) <= set(offered), offered
    location = client.post(
        listing, data={"csrf_token": token(html), "procedures": list(procedures)}
    ).headers["Location"]
    if location.endswith("/records"):
        page = client.get(location).get_data(as_text=True)
        location = client.post(
            location, data={"csrf_token": token(page), "action": "decline"}
        ).headers["Location"]
    return _walk_form(client, location, overrides=overrides)


JOURNEYS = {
    "childcare": (
        CHILDCARE,
        ["child_medical_subsidy"],
        {"claimant_is_public_servant": "no", "claimant_income": "4800000"},
    ),
    "moving": (
        {
            "move_type": "out_of_city",
            "moving_date": "2026-12-10",
            "household_in_nhi": "no",
            "anyone_65_or_over": "no",
            "has_children": "no",
            "has_dog": "no",
        },
        ["move_out_notice"],
        {},
    ),
}


@pytest.mark.parametrize("life_event", sorted(JOURNEYS))
def test_markup_typed_in_each_life_event_is_text_on_the_check_page(
    procedures_loaded, client, life_event
):
    questions, procedures, answers = JOURNEYS[life_event]
    typed = _text_inputs(_procedure_fields(procedures))
    check, pages = _walk_to_check(client, life_event, questions, procedures, {**answers, **typed})
    asked = {name for name in typed if any(f'name="{name}"' in html for _, html in pages)}
    assert asked, "the journey asks for free text"
    review = client.get(check).get_data(as_text=True)
    for name in asked:
        assert _as_text(review, typed[name]), name
    assert "<script>alert(1)" not in review and "onerror=alert(1)>" not in review


@pytest.fixture
def hostile_filing(signed_in_as, app, client):
    """demo-0024 files NHI and LTC loss with markup in every free-text input."""
    staff = Staff(app)
    signed_in_as("demo-0024")
    typed = _text_inputs(_procedure_fields(CHOSEN))
    check, pages = _walk_to_check(client, "bereavement", QUESTIONS, CHOSEN, typed)
    asked = {name: typed[name] for name in typed if any(f'name="{name}"' in h for _, h in pages)}
    assert {"deceased_nhi_number", "deceased_ltc_number", "applicant_address.line"} <= set(asked)
    review = client.get(check).get_data(as_text=True)
    sent = client.post(
        check.replace("/check", "/submit"),
        data={"csrf_token": token(review), "declaration": "yes"},
    )
    assert sent.status_code == 303
    return staff, sent.headers["Location"], asked, review


def test_markup_typed_in_a_bereavement_is_text_on_every_page_and_document(
    hostile_filing, app, client
):
    staff, application, asked, review = hostile_filing
    reference = application.rsplit("/", 1)[1]
    for name, text in asked.items():
        assert _as_text(review, text), f"check page: {name}"

    receipt = _unwrapped(extract_text(client.get(f"{application}/receipt.pdf").data))
    for name, text in asked.items():
        assert _unwrapped(text) in receipt, f"receipt: {name}"

    staff.act_as(staff.nhi)
    nhi_case = client.get(f"/backoffice/cases/{reference}-1").get_data(as_text=True)
    staff.act_as(staff.ltc)
    ltc_case = client.get(f"/backoffice/cases/{reference}-2").get_data(as_text=True)
    assert _as_text(nhi_case, asked["deceased_nhi_number"])
    assert _as_text(ltc_case, asked["deceased_ltc_number"])
    for case_page in (nhi_case, ltc_case):
        assert _as_text(case_page, asked["applicant_address.line"])
        assert "<script>alert(1)" not in case_page and "onerror=alert(1)>" not in case_page


def test_a_clerks_hostile_text_is_text_in_the_notice_and_on_both_sides(hostile_filing, app, client):
    staff, application, _asked, _review = hostile_filing
    reference = f"{application.rsplit('/', 1)[1]}-1"
    reason = "".join(PAYLOADS)
    number = _ask(app, text=reason)  # the clerk asks the resident, who answers
    page = client.get(application).get_data(as_text=True)
    assert _as_text(page, reason)
    answered = client.post(
        f"{application}/{number}/answer", data={"csrf_token": token(page), "body": reason}
    )
    assert answered.status_code == 303
    with app.app_context():
        case = submission(reference)
        cases.decide(db.session, case, user(staff.nhi), "rejected", reason, CLOCK)
        db.session.commit()  # the notice is rendered by a job after the commit
        notice = extract_text(file_storage().get(submission(reference).decision_key))
    assert _unwrapped(reason) in _unwrapped(notice)
    staff.act_as(staff.nhi)
    case_page = client.get(f"/backoffice/cases/{reference}").get_data(as_text=True)
    assert case_page.count(str(escape(reason))) >= 3  # the request, the answer, the reason
    assert "<script>alert(1)" not in case_page


def test_emails_are_plain_text_that_never_evaluates_a_name(hostile_filing, app):
    _staff, _application, _asked, _review = hostile_filing
    name = '{{ 7*7 }}{% raw %}<script>alert("x")</script>'
    with app.test_request_context():
        filed = db.session.scalars(select(Application)).one()
        filed.applicant_name = name
        notice = render_notice("received", filed, filed.reference, "https://portal.test/")
        db.session.rollback()
    assert name in notice.body and "49" not in notice.body
    assert "<html" not in notice.body.lower()


# --- What a browser may send --------------------------------------------------------------


REFUSED = "applicant_address.line"


@pytest.fixture
def address_page(signed_in_as, client):
    """The page asking for the applicant's address among other things, answered validly."""
    signed_in_as("demo-0024")
    _check, pages = _walk_to_check(client, "bereavement", QUESTIONS, CHOSEN, {})
    location, html = next(
        (location, html) for location, html in pages if f'name="{REFUSED}"' in html
    )
    data = fill_page(html)
    assert len([name for name in data if name != "csrf_token"]) >= 2, "other inputs on the page"
    return location, data


def _encoded(data: dict, raw_field: str, raw_value: bytes) -> bytes:
    """A form body as a browser sends it, with one field's bytes given exactly."""
    parts = [
        f"{quote(name)}={quote(value)}".encode()
        for name, values in data.items()
        if name != raw_field
        for value in (values if isinstance(values, list) else [values])
    ]
    parts.append(quote(raw_field).encode() + b"=" + raw_value)
    return b"&".join(parts)


def _error_for(page: str, name: str) -> str:
    group = page[: page.index(f'name="{name}"')]
    group = group[group.rindex('<div class="form-group') :]
    match = re.search(r'class="error-message"[^>]*>(.*?)</p>', group, re.S)
    assert match, f"no error at {name}"
    return re.sub(r"<[^>]+>", "", match.group(1)).strip()


def _kept(page: str, data: dict, refused: str) -> None:
    """Every other text input is shown again with what was typed."""
    checked = 0
    for name, value in data.items():
        if name in ("csrf_token", refused) or isinstance(value, list):
            continue
        tag = re.search(rf'<input [^>]*name="{re.escape(name)}"[^>]*>', page)
        if tag and 'type="radio"' not in tag.group(0):
            assert f'value="{escape(value)}"' in tag.group(0), name
            checked += 1
    assert checked >= 3, "the page has other text inputs"


def _multipart(data: dict, raw_field: str, raw_value: bytes) -> tuple[bytes, str]:
    """A multipart form body with one field's bytes given exactly, and its content type."""
    boundary = "hostile-boundary-7d3f"
    parts = [
        (name, value.encode() if isinstance(value, str) else value)
        for name, values in {**data, raw_field: raw_value}.items()
        for value in (values if isinstance(values, list) else [values])
    ]
    body = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        + value
        + b"\r\n"
        for name, value in parts
    )
    return body + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


@pytest.mark.parametrize(
    "raw",
    [b"12\xff\xfe34", b"12\xed\xa0\x8034", b"12\xe3\x81"],
    ids=["invalid-utf-8", "encoded-surrogate", "cut-short"],
)
def test_bytes_that_are_not_utf_8_are_refused_at_their_field(address_page, client, raw):
    location, data = address_page
    body, content_type = _multipart(data, REFUSED, raw)
    response = client.post(location, data=body, content_type=content_type)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert INVALID_CHARACTERS_JA in _error_for(page, REFUSED)
    _kept(page, data, REFUSED)


def test_a_form_body_that_is_not_utf_8_saves_nothing(address_page, app, client):
    location, data = address_page
    with app.app_context():
        before = dict(db.session.scalars(select(Draft)).one().answers)
    response = client.post(
        location,
        data=_encoded(data, REFUSED, b"12\xff\xfe34"),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 400  # the body cannot be read, not even its CSRF token
    with app.app_context():
        assert dict(db.session.scalars(select(Draft)).one().answers) == before


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"12%0034", INVALID_CHARACTERS_JA),
        (b"12%0734", INVALID_CHARACTERS_JA),
        (b"12%E2%80%AE34", INVALID_CHARACTERS_JA),
        (b"1" * 101, "100文字以内で入力してください。"),
    ],
    ids=["nul", "bell", "rtl-override", "over-long"],
)
def test_a_bad_value_is_refused_at_its_field_and_the_rest_is_shown_again(
    address_page, client, raw, message
):
    location, data = address_page
    response = client.post(
        location,
        data=_encoded(data, REFUSED, raw),
        content_type="application/x-www-form-urlencoded",
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in _error_for(page, REFUSED)
    _kept(page, data, REFUSED)


def test_a_refused_value_is_shown_again_as_text(address_page, client):
    location, data = address_page
    typed = '"><img src=x onerror=alert(1)>'
    response = client.post(location, data={**data, "applicant_address.postal_code": typed})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'value="&#34;&gt;&lt;img src=x onerror=alert(1)&gt;"' in page
    assert "<img src=x" not in page


# --- Text of the definitions themselves ---------------------------------------------------

DEFINITION_TEXT = "{{ config }}{% if true %}evaluated{% endif %}<b>x</b>{{ 7*7 }}"


@pytest.fixture
def hostile_bundle(tmp_path: Path, app):
    """The engine's valid bundle with template syntax and markup in its labels and texts."""
    bundle = tmp_path / "bundle"
    shutil.copytree(VALID, bundle)
    life_event = bundle / "life-events" / "bereavement.yaml"
    quoted = DEFINITION_TEXT.replace('"', '\\"')
    replace_in(
        life_event,
        'label: {ja: 市内に住んでいましたか, en: "Did they live in the city?"}',
        f'label: {{ja: "{quoted}住んでいましたか", en: "{quoted}"}}\n'
        f'      hint: {{ja: "{quoted}ヒント", en: "{quoted}"}}',
    )
    replace_in(
        life_event,
        "title: {ja: 住んでいた市区町村へ, en: Contact the city where they lived}",
        f'title: {{ja: "{quoted}市区町村へ", en: "{quoted}"}}',
    )
    replace_in(
        life_event,
        "body: {ja: 手続きは住所地で行います。, en: Procedures are done where they lived.}",
        f'body: {{ja: "{quoted}住所地で", en: "{quoted}"}}',
    )
    with app.app_context():
        report = load_directory(db.session, bundle, actor="test")
        assert not report.issues, report.issues
        db.session.commit()
    return app


def _literal(page: str) -> None:
    assert str(escape(DEFINITION_TEXT)) in page
    assert "evaluated" not in page.replace(str(escape(DEFINITION_TEXT)), "")
    assert "<b>x</b>" not in page and "SECRET_KEY" not in page and "&lt;Config" not in page


def test_template_syntax_in_a_definition_is_shown_literally(hostile_bundle, client):
    location = start(client)
    page = client.get(location).get_data(as_text=True)
    _literal(page)
    assert page.count(str(escape(DEFINITION_TEXT))) >= 2  # the label and the hint
    response = client.post(
        location, data={"csrf_token": token(page), "deceased_was_resident": "no"}
    )
    exit_page = client.get(response.headers["Location"]).get_data(as_text=True)
    _literal(exit_page)
    assert exit_page.count(str(escape(DEFINITION_TEXT))) >= 2  # the title and the body


STRING_TEMPLATES = re.compile(
    r"render_template_string|\.from_string\(|jinja2\.Template\b|from jinja2 import .*\bTemplate\b"
)


def test_no_code_renders_a_string_as_a_template_or_marks_text_safe():
    portal = Path(__file__).resolve().parent.parent / "portal"
    sources = {
        str(path.relative_to(portal)): path.read_text(encoding="utf-8")
        for path in portal.rglob("*.py")
    }
    assert [name for name, text in sources.items() if STRING_TEMPLATES.search(text)] == []
    # The one Markup() builds a chart whose every text was escaped first.
    assert [name for name, text in sources.items() if "Markup(" in text] == ["admin/charts.py"]
