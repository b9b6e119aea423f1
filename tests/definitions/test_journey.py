"""The journey: route, pages, progress, exits, loops, validation and pruning."""

from __future__ import annotations

from datetime import date

import pytest

from portal.definitions.expressions import UNKNOWN, default_context
from portal.definitions.fields import FieldError
from portal.definitions.journey import CheckFailed, Journey, StepNotAvailable, merge_answers
from tests.definitions.support import compile_texts, procedure_yaml, valid_catalogue

CONTEXT = default_context(date(2026, 11, 27))
QUESTIONNAIRE = {
    "deceased_was_resident": True,
    "death_date": date(2026, 11, 20),
    "deceased_birth_date": date(1955, 4, 1),
    "deceased_had_nhi": True,
    "held_funeral": True,
}
NAME = {"family": "山田", "given": "太郎", "family_kana": "ヤマダ", "given_kana": "タロウ"}
ACCOUNT = {
    "method": "public_fund",
    "bank_code": None,
    "branch_code": None,
    "account_type": None,
    "account_number": None,
    "holder_kana": None,
    "yucho_kigou": None,
    "yucho_bangou": None,
}
SPOUSE = {"name": "山田花子", "relationship": "spouse", "my_number": "123456789018"}
CHILD = {"name": "山田一郎", "relationship": "child", "my_number": None}


def combined(*procedure_ids: str) -> Journey:
    catalogue = valid_catalogue()
    return Journey.for_life_event(catalogue, catalogue.life_event("bereavement"), procedure_ids)


def alone(procedure_id: str) -> Journey:
    return Journey.for_procedure(valid_catalogue().procedure(procedure_id))


def keys(pages: list) -> list[str]:
    return [page.key for page in pages]


def complete_grant_answers() -> dict[str, object]:
    return {
        "applicant_name": NAME,
        "applicant_phone": "0312345678",
        "death_date": date(2026, 11, 20),
        "funeral_date": date(2026, 11, 23),
        "funeral_host_is_applicant": True,
        "funeral_cost": 400000,
        "heirs": [SPOUSE],
        "payee_account": ACCOUNT,
        "grant_declaration": True,
    }


# --- route -------------------------------------------------------------------------------


def test_a_field_shared_by_two_procedures_is_asked_once() -> None:
    journey = combined("nhi_loss", "nhi_funeral_grant")
    pages = journey.reachable_steps(QUESTIONNAIRE, CONTEXT)
    assert [(page.key, page.fields) for page in pages] == [
        ("bereavement.applicant", ("applicant_name", "applicant_phone")),
        # death_date was answered in the questionnaire: only the name is left.
        ("bereavement.deceased", ("deceased_name",)),
        ("nhi_loss.card", ("card_return",)),
        ("nhi_funeral_grant.funeral", ("funeral_date", "funeral_host_is_applicant")),
        ("nhi_funeral_grant.cost", ("funeral_cost",)),
        ("nhi_funeral_grant.heirs", ("heirs",)),
        ("nhi_funeral_grant.payment", ("payee_account",)),
        ("nhi_funeral_grant.declaration", ("grant_declaration",)),
    ]
    asked = [field_id for page in pages for field_id in page.fields]
    assert len(asked) == len(set(asked))


def test_every_procedure_receives_the_shared_answer() -> None:
    journey = combined("nhi_loss", "nhi_funeral_grant")
    answers = {**QUESTIONNAIRE, "applicant_phone": "0312345678", "card_return": "post"}
    assert journey.answers_for("nhi_loss", answers, CONTEXT)["applicant_phone"] == "0312345678"
    assert journey.answers_for("nhi_funeral_grant", answers, CONTEXT)["applicant_phone"] == (
        "0312345678"
    )
    assert "card_return" not in journey.answers_for("nhi_funeral_grant", answers, CONTEXT)


def test_a_shared_step_asks_only_what_a_chosen_procedure_needs() -> None:
    journey = combined("death_registration")
    assert journey.reachable_steps(QUESTIONNAIRE, CONTEXT) == []
    assert journey.first_step(QUESTIONNAIRE, CONTEXT) is None


def test_show_if_hides_a_step_and_its_answers_are_pruned() -> None:
    journey = alone("nhi_loss")
    lost = {"card_return": "lost", "lost_details": "Lost in the move."}
    assert keys(journey.reachable_steps(lost, CONTEXT))[-1] == "nhi_loss.lost"
    changed = {**lost, "card_return": "post"}
    assert "nhi_loss.lost" not in keys(journey.reachable_steps(changed, CONTEXT))
    assert journey.prune(changed, CONTEXT) == {"card_return": "post"}
    assert journey.answers_for("nhi_loss", changed, CONTEXT) == {"card_return": "post"}
    with pytest.raises(StepNotAvailable):
        journey.page("nhi_loss.lost", changed, CONTEXT)


def test_values_not_asked_by_any_step_are_kept_by_prune() -> None:
    journey = alone("nhi_loss")
    answers = {"deceased_had_nhi": True, "card_return": "post", "lost_details": "x"}
    assert journey.prune(answers, CONTEXT) == {"deceased_had_nhi": True, "card_return": "post"}


def test_next_and_previous_step_follow_the_route() -> None:
    journey = alone("nhi_loss")
    answers = {"card_return": "post"}
    assert journey.next_step("nhi_loss.applicant", answers, CONTEXT).key == "nhi_loss.deceased"
    assert journey.next_step("nhi_loss.card", answers, CONTEXT) is None
    lost = {"card_return": "lost"}
    assert journey.next_step("nhi_loss.card", lost, CONTEXT).key == "nhi_loss.lost"
    assert journey.previous_step("nhi_loss.lost", lost, CONTEXT).key == "nhi_loss.card"
    assert journey.previous_step("nhi_loss.applicant", lost, CONTEXT) is None
    with pytest.raises(StepNotAvailable):
        journey.next_step("nhi_loss.nowhere", lost, CONTEXT)


def test_progress_counts_later_pages_unless_surely_hidden() -> None:
    journey = alone("nhi_loss")
    assert journey.progress("nhi_loss.applicant", {}, CONTEXT) == (1, 4)
    assert journey.progress("nhi_loss.card", {}, CONTEXT) == (3, 4)
    assert journey.progress("nhi_loss.card", {"card_return": "post"}, CONTEXT) == (3, 3)
    assert journey.progress("nhi_loss.lost", {"card_return": "lost"}, CONTEXT) == (4, 4)
    grant = alone("nhi_funeral_grant")
    # The exit page is not counted while its condition is open.
    assert grant.progress("nhi_funeral_grant.applicant", {}, CONTEXT) == (1, 6)


def test_heading_is_the_title_or_the_single_label() -> None:
    journey = alone("nhi_funeral_grant")
    pages = journey.reachable_steps({"funeral_host_is_applicant": True}, CONTEXT)
    headings = [journey.heading(page) for page in pages]
    assert headings[1] is not None and headings[1].en == "About the funeral"
    assert headings[2] is not None and headings[2].en == "Cost of the funeral"
    assert headings[0] is None


# --- exits ------------------------------------------------------------------------------


def test_an_exit_ends_a_single_procedure_journey() -> None:
    journey = alone("nhi_funeral_grant")
    answers = {"funeral_host_is_applicant": False}
    assert keys(journey.reachable_steps(answers, CONTEXT)) == [
        "nhi_funeral_grant.applicant",
        "nhi_funeral_grant.funeral",
        "nhi_funeral_grant.not_host",
    ]
    exit_page = journey.exit_reached(answers, CONTEXT)
    assert exit_page is not None and exit_page.is_exit
    assert journey.heading(exit_page).en == "The funeral host must apply"
    assert journey.next_step("nhi_funeral_grant.funeral", answers, CONTEXT).key == (
        "nhi_funeral_grant.not_host"
    )
    assert journey.next_step("nhi_funeral_grant.not_host", answers, CONTEXT) is None
    assert journey.next_step("nhi_funeral_grant.cost", answers, CONTEXT) is None


def test_an_exit_in_a_combined_journey_ends_only_its_procedure() -> None:
    journey = combined("nhi_loss", "nhi_funeral_grant")
    answers = {
        **QUESTIONNAIRE,
        "applicant_name": NAME,
        "applicant_phone": "0312345678",
        "deceased_name": NAME,
        "card_return": "post",
        "funeral_date": date(2026, 11, 23),
        "funeral_host_is_applicant": False,
    }
    assert keys(journey.reachable_steps(answers, CONTEXT))[-2:] == [
        "nhi_funeral_grant.funeral",
        "nhi_funeral_grant.not_host",
    ]
    assert journey.exit_reached(answers, CONTEXT) is None
    assert journey.exited_procedures(answers, CONTEXT) == ["nhi_funeral_grant"]
    # The grant's later questions are not required any more.
    assert journey.validate_all(answers, CONTEXT) == {}


def test_the_questionnaire_has_its_own_journey_and_exit() -> None:
    questionnaire = Journey.for_questionnaire(valid_catalogue().life_event("bereavement"))
    answers = {"deceased_was_resident": False}
    assert [page.step.id for page in questionnaire.reachable_steps(answers, CONTEXT)] == [
        "resident",
        "not_resident",
    ]
    assert questionnaire.exit_reached(answers, CONTEXT).step.id == "not_resident"


# --- validation -------------------------------------------------------------------------


def test_validate_step_parses_a_page() -> None:
    journey = alone("nhi_funeral_grant")
    result = journey.validate_step(
        "nhi_funeral_grant.funeral",
        {"funeral_date": "令和8年11月23日", "funeral_host_is_applicant": "yes"},
        {},
        CONTEXT,
    )
    assert result.ok
    assert result.values == {"funeral_date": date(2026, 11, 23), "funeral_host_is_applicant": True}


def test_required_fields_left_empty_get_the_right_message() -> None:
    journey = alone("nhi_funeral_grant")
    result = journey.validate_step("nhi_funeral_grant.funeral", {}, {}, CONTEXT)
    assert result.errors == {
        "funeral_date": [FieldError("required")],
        "funeral_host_is_applicant": [FieldError("choose_one")],
    }
    assert result.values == {"funeral_date": None, "funeral_host_is_applicant": None}
    declaration = journey.validate_step(
        "nhi_funeral_grant.declaration", {}, {"funeral_host_is_applicant": True}, CONTEXT
    )
    assert declaration.errors == {"grant_declaration": [FieldError("declaration_required")]}
    assert declaration.errors["grant_declaration"][0].message("en") == (
        "Read the statement and tick the box to confirm it."
    )


def test_a_value_that_cannot_be_parsed_is_reported_with_its_code() -> None:
    journey = alone("nhi_funeral_grant")
    result = journey.validate_step(
        "nhi_funeral_grant.funeral",
        {"funeral_date": "2026-02-30", "funeral_host_is_applicant": "perhaps"},
        {},
        CONTEXT,
    )
    assert result.errors == {
        "funeral_date": [FieldError("date_invalid")],
        "funeral_host_is_applicant": [FieldError("invalid_choice")],
    }


def test_a_check_fires_when_false_and_not_when_unknown() -> None:
    journey = alone("nhi_funeral_grant")
    raw = {"funeral_date": "2026-11-19", "funeral_host_is_applicant": "yes"}
    # Without the date of death the check is unknown: no error.
    assert journey.validate_step("nhi_funeral_grant.funeral", raw, {}, CONTEXT).ok
    answers = {"death_date": date(2026, 11, 20)}
    result = journey.validate_step("nhi_funeral_grant.funeral", raw, answers, CONTEXT)
    failure = CheckFailed(
        "funeral_after_death",
        valid_catalogue().procedure("nhi_funeral_grant").rules.checks[0].check.message,
    )
    assert result.errors == {"funeral_date": [failure]}
    assert result.errors["funeral_date"][0].message("ja") == "葬儀の日は亡くなった日以降です。"
    later = {"funeral_date": "2026-11-20", "funeral_host_is_applicant": "yes"}
    assert journey.validate_step("nhi_funeral_grant.funeral", later, answers, CONTEXT).ok


def test_failed_checks_lists_the_checks_that_are_false() -> None:
    journey = alone("nhi_funeral_grant")
    answers = {"death_date": date(2026, 11, 20), "funeral_date": date(2026, 11, 1)}
    assert journey.failed_checks(answers, CONTEXT) == ["funeral_after_death"]
    assert journey.failed_checks({"funeral_date": date(2026, 11, 1)}, CONTEXT) == []


def test_validate_all_reports_what_is_missing_on_the_route() -> None:
    journey = alone("nhi_funeral_grant")
    answers = complete_grant_answers()
    assert journey.validate_all(answers, CONTEXT) == {}
    del answers["payee_account"]
    answers["funeral_date"] = date(2026, 11, 1)
    errors = journey.validate_all(answers, CONTEXT)
    assert errors["payee_account"] == [FieldError("required")]
    assert [problem.check_id for problem in errors["funeral_date"]] == ["funeral_after_death"]
    answers["heirs"] = [{"name": "山田花子", "relationship": "spouse", "my_number": None}]
    assert journey.validate_all(answers, CONTEXT)["heirs.my_number"] == [FieldError("required")]


def test_merge_answers_drops_a_cleared_answer() -> None:
    assert merge_answers({"a": 1, "b": 2}, {"b": None, "c": 3}) == {"a": 1, "c": 3}


def test_dont_know_is_an_answer_for_required() -> None:
    questionnaire = Journey.for_questionnaire(valid_catalogue().life_event("bereavement"))
    answers = {"deceased_was_resident": True, "death_date": date(2026, 11, 20)}
    result = questionnaire.validate_step(
        "bereavement.insurance",
        {"deceased_had_nhi": "unknown", "held_funeral": "yes"},
        answers,
        CONTEXT,
    )
    assert result.ok
    assert result.values == {"deceased_had_nhi": UNKNOWN, "held_funeral": True}


# --- loops ------------------------------------------------------------------------------


def test_loop_add_two_items_then_remove_one() -> None:
    journey = alone("nhi_funeral_grant")
    step = "nhi_funeral_grant.heirs"
    answers: dict[str, object] = {"funeral_host_is_applicant": True}
    empty = journey.validate_step(step, {}, answers, CONTEXT)
    assert empty.errors == {"heirs": [FieldError("too_few_items", {"minimum": 1})]}

    raw_spouse = {"heirs.name": "山田花子", "heirs.relationship": "spouse", "heirs.my_number": ""}
    _item, errors = journey.validate_item(step, raw_spouse, answers, CONTEXT)
    assert errors == {"heirs.my_number": [FieldError("required")]}
    raw_spouse["heirs.my_number"] = "1234 5678 9018"
    spouse, errors = journey.validate_item(step, raw_spouse, answers, CONTEXT)
    assert errors == {}
    assert spouse == SPOUSE
    answers = journey.add_item(answers, "heirs", spouse)

    raw_child = {"heirs.name": "山田一郎", "heirs.relationship": "child"}
    child, errors = journey.validate_item(step, raw_child, answers, CONTEXT)
    assert errors == {}
    answers = journey.add_item(answers, "heirs", child)
    assert answers["heirs"] == [SPOUSE, CHILD]

    answers = journey.remove_item(answers, "heirs", 0)
    assert answers["heirs"] == [CHILD]
    result = journey.validate_step(step, {}, answers, CONTEXT)
    assert result.ok
    assert result.values == {"heirs": [CHILD]}


def test_loop_refuses_more_than_max_items_and_changes_an_item() -> None:
    journey = alone("nhi_funeral_grant")
    answers: dict[str, object] = {"heirs": [CHILD, CHILD, CHILD]}
    with pytest.raises(FieldError) as refused:
        journey.add_item(answers, "heirs", SPOUSE)
    assert refused.value == FieldError("too_many_items", {"maximum": 3})
    changed = journey.replace_item(answers, "heirs", 1, SPOUSE)
    assert changed["heirs"] == [CHILD, SPOUSE, CHILD]
    assert answers["heirs"] == [CHILD, CHILD, CHILD]
    with pytest.raises(IndexError):
        journey.remove_item(answers, "heirs", 5)


def test_validate_item_is_only_for_loop_steps() -> None:
    journey = alone("nhi_funeral_grant")
    with pytest.raises(StepNotAvailable):
        journey.validate_item(
            "nhi_funeral_grant.cost", {}, {"funeral_host_is_applicant": True}, CONTEXT
        )


def test_a_life_event_journey_refuses_procedures_it_does_not_list() -> None:
    with pytest.raises(KeyError):
        combined("nhi_loss", "passport")


# --- groups, text pages and conditions ----------------------------------------------------

GROUPS = """\
fields:
  intro:
    type: content
    body: {ja: はじめに, en: Before you start}
  contact:
    type: group
    label: {ja: 連絡先, en: Contact}
    fields:
      person: {type: text, label: {ja: 氏名, en: Name}}
      phone: {type: phone_jp, label: {ja: 電話, en: Phone}, required: false}
  by_post:
    type: yes_no
    label: {ja: 郵送を希望しますか, en: Do you want it by post}
  post_code:
    type: postal_code_jp
    label: {ja: 郵便番号, en: Postal code}
    required_if: "by_post"
steps:
  - {id: start, fields: [intro]}
  - {id: who, fields: [contact]}
  - {id: delivery, fields: [by_post, post_code]}
delivery:
  service_level_days: 5
"""


def sample_journey() -> Journey:
    catalogue, issues = compile_texts(procedure_yaml(GROUPS))
    assert issues == []
    return Journey.for_procedure(catalogue.procedure("sample"))


def test_a_page_of_text_only_is_a_step_of_its_own() -> None:
    journey = sample_journey()
    assert [(page.step.id, page.fields) for page in journey.reachable_steps({}, CONTEXT)] == [
        ("start", ("intro",)),
        ("who", ("contact",)),
        ("delivery", ("by_post", "post_code")),
    ]
    assert journey.validate_step("sample.start", {}, {}, CONTEXT).values == {}


def test_a_group_is_parsed_member_by_member() -> None:
    journey = sample_journey()
    result = journey.validate_step("sample.who", {"contact.person": "山田"}, {}, CONTEXT)
    assert result.ok
    assert result.values == {"contact": {"person": "山田", "phone": None}}
    empty = journey.validate_step("sample.who", {"contact.phone": "12"}, {}, CONTEXT)
    assert empty.errors == {
        "contact.phone": [FieldError("phone_format")],
        "contact.person": [FieldError("required")],
    }
    assert journey.validate_all({"by_post": False}, CONTEXT) == {
        "contact": [FieldError("required")]
    }


def test_required_if_follows_the_answers_on_the_same_page() -> None:
    journey = sample_journey()
    wanted = journey.validate_step("sample.delivery", {"by_post": "yes"}, {}, CONTEXT)
    assert wanted.errors == {"post_code": [FieldError("required")]}
    assert journey.validate_step("sample.delivery", {"by_post": "no"}, {}, CONTEXT).ok
