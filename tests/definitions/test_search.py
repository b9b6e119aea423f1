"""Tests for the procedure search: normalisation, matching, ranking and the index cache."""

from __future__ import annotations

import functools
import gc
import weakref

import jaconv
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from portal.definitions.catalogue import Catalogue
from portal.definitions.loader import load_catalogue
from portal.definitions.search import (
    LifeEventLink,
    MatchRank,
    normalise,
    query_terms,
    search,
    search_index,
)
from tests.conftest import PROCEDURES
from tests.definitions.support import VALID


@functools.cache
def shipped() -> Catalogue:
    """The catalogue of the procedures the portal ships with."""
    return load_catalogue(PROCEDURES)


def found(query: str, lang: str = "ja", limit: int = 50) -> list[str]:
    return [hit.procedure_id for hit in search(shipped(), query, lang, limit)]


# --- normalise ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("まいなんばー", "マイナンバー"),
        ("ﾏｲﾅﾝﾊﾞｰｶｰﾄﾞ", "マイナンバーカード"),
        ("マイナンバ-", "マイナンバー"),
        ("まいなんば‐かーど", "マイナンバーカード"),
        ("Ｃｈｉｌｄ　ＡＬＬＯＷＡＮＣＥ", "child allowance"),
        ("  教育・保育\t\n給付 ", "教育 保育 給付"),
        ("ﾏｲ･ﾅﾝﾊﾞｰ", "マイ ナンバー"),
        ("１２３-４５６７", "123-4567"),
    ],
)
def test_normalise_folds_width_case_kana_and_separators(typed: str, expected: str) -> None:
    assert normalise(typed) == expected


def test_a_dash_away_from_kana_stays_a_dash() -> None:
    assert normalise("late-stage") == "late-stage"


@given(st.text(max_size=40))
def test_normalise_is_idempotent(text: str) -> None:
    once = normalise(text)
    assert normalise(once) == once


def test_query_terms_split_on_any_space_and_drop_repeats() -> None:
    assert query_terms("児童手当　請求 児童手当") == ["児童手当", "請求"]
    assert query_terms(" \u3000 ・ ") == []


# --- matching ------------------------------------------------------------------------


def test_hiragana_finds_a_katakana_title() -> None:
    assert found("まいなんばー")[:2] == ["newborn_my_number_notice", "my_number_card_continued_use"]


def test_every_term_must_match_and_title_matches_come_first() -> None:
    hits = search(shipped(), "まいなんばー　かーど", "ja", limit=50)
    assert hits[0].procedure_id == "my_number_card_continued_use"
    assert hits[0].rank is MatchRank.TITLE
    # The notice's title says マイナンバー but only its summary says カード.
    notice = next(hit for hit in hits if hit.procedure_id == "newborn_my_number_notice")
    assert notice.rank is MatchRank.SUMMARY
    assert [hit.rank for hit in hits] == sorted(hit.rank for hit in hits)
    assert "dog_registration_change" not in [hit.procedure_id for hit in hits]


def test_english_words_find_procedures_whatever_the_case_and_page_language() -> None:
    assert found("Child ALLOWANCE", "ja")[:2] == ["child_allowance_claim", "child_allowance_moving"]
    hits = search(shipped(), "child allowance", "en")
    assert [hit.title for hit in hits[:2]] == [
        "Child allowance claim",
        "Child allowance when you move (ending, change of address, new claim)",
    ]


def test_hits_are_told_in_the_language_asked_for() -> None:
    (japanese,) = search(shipped(), "国民健康保険 加入届", "ja")
    (english,) = search(shipped(), "国民健康保険 加入届", "en")
    assert japanese.title == "国民健康保険 加入届"
    assert english.title == "Joining National Health Insurance"
    assert english.summary.startswith("Tell us when someone joins National Health Insurance")


def test_a_hit_names_its_mode_and_every_life_event_that_lists_it() -> None:
    (hit,) = search(shipped(), "Joining National Health Insurance", "en")
    assert hit.procedure_id == "nhi_join"
    assert hit.mode == "online"
    assert hit.life_events == (
        LifeEventLink("childcare", "Pregnancy and a new baby"),
        LifeEventLink("moving", "Moving house"),
    )
    counter = search(shipped(), "転入届", "ja")[0]
    assert (counter.procedure_id, counter.mode) == ("move_in_notice", "counter")


def test_spaces_in_a_japanese_title_do_not_matter() -> None:
    assert found("国民健康保険加入届") == ["nhi_join"]
    assert found("教育保育") == found("教育・保育") == ["nursery_application"]


def test_department_names_are_searched_below_titles_and_summaries() -> None:
    (hit,) = search(shipped(), "環境課", "ja")
    assert (hit.procedure_id, hit.rank) == ("dog_registration_change", MatchRank.DETAILS)
    assert "dog_registration_change" in found("Environment Division", "en")


def test_what_to_bring_to_the_counter_is_searched() -> None:
    hits = search(shipped(), "暗証番号", "ja")
    assert "my_number_card_continued_use" in [hit.procedure_id for hit in hits]
    assert {hit.rank for hit in hits} == {MatchRank.DETAILS}
    assert found("passport", "en") == ["move_in_notice"]


def test_life_event_titles_lead_to_every_procedure_they_list() -> None:
    bereavement = set(shipped().life_event("bereavement").model.procedures)
    assert set(found("おくやみ")) == bereavement


def test_latin_terms_match_at_the_start_of_a_word_only() -> None:
    assert "fixed_asset_tax_heir_representative" in found("tax", "en")
    assert found("ax", "en") == []


def test_a_word_in_no_procedure_finds_nothing() -> None:
    assert found("ゴルフ") == []
    assert found("golf", "en") == []


def test_a_query_without_terms_finds_nothing() -> None:
    assert found("") == []
    assert found("\u3000 ・") == []


def test_the_limit_keeps_the_best_hits() -> None:
    everything = search(shipped(), "の", "ja", limit=100)
    assert len(everything) > 5
    assert search(shipped(), "の", "ja", limit=5) == everything[:5]
    with pytest.raises(ValueError, match="limit"):
        search(shipped(), "の", "ja", limit=0)


def test_the_order_is_the_same_every_time() -> None:
    first = search(shipped(), "the", "en", limit=100)
    assert first == search(load_catalogue(PROCEDURES), "the", "en", limit=100)
    assert [(hit.rank, hit.title) for hit in first] == sorted(
        (hit.rank, hit.title) for hit in first
    )


# Any piece of a Japanese title, typed in hiragana, katakana or half-width katakana,
# and with full-width spaces, finds its procedure.
TYPINGS = {
    "as written": lambda text: text,
    "hiragana": jaconv.kata2hira,
    "katakana": jaconv.hira2kata,
    "half-width": lambda text: jaconv.z2h(
        jaconv.hira2kata(text), kana=True, ascii=True, digit=True
    ),
    "full-width spaces": lambda text: text.replace(" ", "\u3000"),
}


@given(
    procedure_id=st.sampled_from(sorted(shipped().procedures)),
    bounds=st.tuples(st.floats(0, 1), st.floats(0, 1)),
    typing=st.sampled_from(sorted(TYPINGS)),
)
def test_any_typing_of_part_of_a_title_finds_the_procedure(
    procedure_id: str, bounds: tuple[float, float], typing: str
) -> None:
    title = shipped().procedure(procedure_id).model.title.ja
    start, end = sorted(round(bound * len(title)) for bound in bounds)
    piece = TYPINGS[typing](title[start : end + 1])
    assume(query_terms(piece))
    assert procedure_id in found(piece, limit=100)


# --- the index ---------------------------------------------------------------------


def test_the_index_is_built_once_per_catalogue_object() -> None:
    catalogue = load_catalogue(VALID)
    other = load_catalogue(VALID)
    assert search_index(catalogue) is search_index(catalogue)
    assert search_index(other) is not search_index(catalogue)


def test_the_index_goes_when_its_catalogue_goes() -> None:
    catalogue = load_catalogue(VALID)
    index = weakref.ref(search_index(catalogue))
    search(catalogue, "sample", "en")
    del catalogue
    gc.collect()
    assert index() is None
