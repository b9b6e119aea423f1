"""Which procedures a life event brings: applies, may apply (don't know), deadlines."""

from __future__ import annotations

from datetime import date

from portal.definitions.applicability import applicable_procedures, applies
from portal.definitions.expressions import UNKNOWN, default_context
from tests.definitions.support import compile_texts, procedure_yaml, valid_catalogue

CONTEXT = default_context(date(2026, 11, 27))
ANSWERS = {
    "deceased_was_resident": True,
    "death_date": date(2026, 11, 20),
    "deceased_birth_date": date(1955, 4, 1),
    "deceased_had_nhi": True,
    "held_funeral": True,
}


def listing(answers: dict[str, object]):
    catalogue = valid_catalogue()
    return applicable_procedures(catalogue, catalogue.life_event("bereavement"), answers, CONTEXT)


def test_procedures_that_apply_are_listed_by_mode_with_why() -> None:
    result = listing(ANSWERS)
    assert [entry.id for entry in result.online] == ["nhi_loss", "nhi_funeral_grant"]
    assert [entry.id for entry in result.counter] == ["death_registration"]
    assert [entry.id for entry in result.automatic] == ["seal_ends"]
    assert result.may_apply == []
    # An explicit `why` wins over the summary.
    assert result.online[0].why.en == "They were insured by National Health Insurance."
    assert result.online[1].why.en == "A grant to whoever held the funeral."
    assert [service.id for service in result.private_services] == ["water", "gas"]


def test_counter_deadline_is_the_event_date_plus_its_days() -> None:
    entry = listing(ANSWERS).counter[0]
    assert entry.deadline == date(2026, 11, 27)
    assert entry.counter is not None and entry.counter.print_form
    assert entry.mode == "counter"
    assert listing({**ANSWERS, "death_date": None}).counter[0].deadline is None


def test_counts_event_day_makes_the_deadline_a_day_earlier() -> None:
    counter = procedure_yaml(
        """\
        counter:
          where: {ja: 市民課, en: Citizens Division}
          deadline_days: 14
          counts_event_day: true
        """,
        procedure_id="birth_registration",
        mode="counter",
    )
    event = """\
    schema: madoguchi/1
    kind: life_event
    id: birth
    title: {ja: 出生, en: A birth}
    event_date: born
    questionnaire:
      fields:
        born: {type: date_jp, label: {ja: 生年月日, en: Date of birth}}
      steps:
        - {id: born, fields: [born]}
    procedures: [birth_registration]
    """
    catalogue, issues = compile_texts(counter, event)
    assert issues == []
    assert catalogue is not None
    result = applicable_procedures(
        catalogue, catalogue.life_event("birth"), {"born": date(2026, 11, 20)}, CONTEXT
    )
    assert result.counter[0].deadline == date(2026, 12, 3)


def test_dont_know_makes_a_procedure_may_apply_with_the_open_question() -> None:
    result = listing({**ANSWERS, "deceased_had_nhi": UNKNOWN})
    assert result.online == []
    assert [entry.id for entry in result.may_apply] == ["nhi_loss", "nhi_funeral_grant"]
    assert [entry.open_questions for entry in result.may_apply] == [
        ("deceased_had_nhi",),
        ("deceased_had_nhi",),
    ]
    assert [entry.id for entry in result.counter] == ["death_registration"]


def test_open_questions_follow_derived_values_to_unanswered_fields() -> None:
    answers = {**ANSWERS, "held_funeral": UNKNOWN}
    del answers["deceased_birth_date"]
    result = listing(answers)
    grant = next(entry for entry in result.may_apply if entry.id == "nhi_funeral_grant")
    # deceased_age is derived from the birth date, which is not known either.
    assert grant.open_questions == ("held_funeral", "deceased_birth_date")
    assert [entry.id for entry in result.online] == ["nhi_loss"]


def test_false_is_not_listed() -> None:
    result = listing({**ANSWERS, "deceased_had_nhi": False})
    assert [entry.id for entry in result.online + result.may_apply] == []
    assert [service.id for service in result.private_services] == ["water"]
    too_old = listing({**ANSWERS, "deceased_birth_date": date(1940, 1, 1)})
    assert [entry.id for entry in too_old.online] == ["nhi_loss"]


def test_applies_uses_the_questionnaires_derived_values() -> None:
    catalogue = valid_catalogue()
    grant = catalogue.procedure("nhi_funeral_grant")
    questionnaire = catalogue.life_event("bereavement").questionnaire
    assert applies(grant, ANSWERS, CONTEXT, questionnaire) is True
    assert applies(catalogue.procedure("seal_ends"), {}, CONTEXT) is True
    assert applies(grant, {}, CONTEXT, questionnaire) is UNKNOWN
