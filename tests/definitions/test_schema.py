"""The shape of definition files: strict models and the JSON Schema for editors."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from portal.definitions.schema import (
    DEFINITION_FILE,
    ChoiceField,
    Route,
    Rules,
    Step,
    TextPair,
    json_schema,
)

PAIR = {"ja": "日本語", "en": "English"}


def test_text_pairs_need_both_languages() -> None:
    assert TextPair(ja="はい", en="Yes").get("en") == "Yes"
    assert TextPair(ja="はい", en="Yes").get("ja") == "はい"
    for broken in ({"ja": "はい"}, {"ja": "はい", "en": "  "}, {"ja": "", "en": "Yes"}):
        with pytest.raises(ValidationError):
            TextPair.model_validate(broken)


def test_ids_are_lower_snake_case() -> None:
    assert Step.model_validate({"id": "death_2", "fields": ["a"]}).id == "death_2"
    for bad in ("Death", "2death", "death-date", "死亡"):
        with pytest.raises(ValidationError):
            Step.model_validate({"id": bad, "fields": ["a"]})


def test_a_step_is_questions_a_loop_or_an_exit() -> None:
    exit_ = {"title": PAIR, "body": PAIR}
    assert Step.model_validate({"id": "s", "loop": "heirs"}).loop == "heirs"
    assert Step.model_validate({"id": "s", "exit": exit_}).exit is not None
    for broken in ({"id": "s"}, {"id": "s", "fields": []}, {"id": "s", "loop": "x", "exit": exit_}):
        with pytest.raises(ValidationError, match="exactly one of"):
            Step.model_validate(broken)


def test_a_route_is_a_condition_with_a_queue_or_a_default() -> None:
    assert Route.model_validate({"when": "x", "queue": "a.b"}).target == "a.b"
    assert Route.model_validate({"default": "a"}).target == "a"
    for broken in ({"when": "x"}, {"queue": "a"}, {"when": "x", "default": "a"}, {}):
        with pytest.raises(ValidationError):
            Route.model_validate(broken)
    with pytest.raises(ValidationError):
        Route.model_validate({"default": "a.b.c"})


def test_unquoted_booleans_are_read_as_expressions() -> None:
    rules = Rules.model_validate({"applies_if": True, "derive": {"always": False}})
    assert rules.applies_if == "true"
    assert rules.derive == {"always": "false"}
    with pytest.raises(ValidationError):
        Rules.model_validate({"applies_if": 1})
    with pytest.raises(ValidationError):
        Rules.model_validate({"applies_if": " "})


def test_choice_options_are_distinct_and_unknown_is_reserved() -> None:
    def choice(*values: str) -> ChoiceField:
        options = [{"value": value, "label": PAIR} for value in values]
        return ChoiceField.model_validate({"type": "choice", "label": PAIR, "options": options})

    assert [option.value for option in choice("a", "3_or_more").options] == ["a", "3_or_more"]
    with pytest.raises(ValidationError, match="appear twice: a"):
        choice("a", "b", "a")
    with pytest.raises(ValidationError, match="reserved"):
        choice("a", "unknown")
    with pytest.raises(ValidationError, match="checkboxes cannot"):
        ChoiceField.model_validate(
            {
                "type": "choice",
                "label": PAIR,
                "widget": "checkbox",
                "allow_unknown": True,
                "options": [{"value": "a", "label": PAIR}],
            }
        )


def test_models_refuse_unknown_keys_and_coercion() -> None:
    with pytest.raises(ValidationError, match="Extra inputs"):
        Step.model_validate({"id": "s", "fields": ["a"], "title_en": "x"})
    with pytest.raises(ValidationError):
        DEFINITION_FILE.validate_python(
            {
                "schema": "madoguchi/1",
                "kind": "departments",
                "departments": [{"id": "a", "name": PAIR, "queues": [{"id": 5, "name": PAIR}]}],
            }
        )


def test_json_schema_describes_every_kind_of_file() -> None:
    schema = json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    kinds = {
        schema["$defs"][reference["$ref"].split("/")[-1]]["properties"]["kind"]["const"]
        for reference in schema["oneOf"]
    }
    assert kinds == {"procedure", "life_event", "dictionary", "departments"}
    procedure = schema["$defs"]["Procedure"]
    assert procedure["additionalProperties"] is False
    assert {"schema", "kind", "id", "title", "summary", "department"} <= set(procedure["required"])
    assert schema["$defs"]["Step"]["properties"]["id"]["pattern"] == "^[a-z][a-z0-9_]*$"
