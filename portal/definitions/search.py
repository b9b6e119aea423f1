"""Find procedures of a catalogue by words from their titles, summaries and related text.

Matching is literal once both sides are normalised: width, case, hiragana or katakana,
long vowel marks typed as dashes and middle dots make no difference. Readings do: a
title in kanji (児童手当) is found by kanji only, never by its reading in kana
(じどうてあて), because definitions carry no readings to match against.
"""

from __future__ import annotations

import re
import unicodedata
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum

import jaconv

from portal.definitions.catalogue import Catalogue, CompiledProcedure
from portal.definitions.schema import Mode, TextPair

MAX_QUERY_LENGTH = 100
RESULTS_SHOWN = 20

# Dashes typed where a long vowel mark is meant (マイナンバ-); NFKC has already turned
# the full-width hyphen into "-" and the half-width mark ｰ into ー.
_DASHES = "-‐‑‒–—―−"
_DASH_AFTER_KANA = re.compile(f"(?<=[ァ-ヺー])[{re.escape(_DASHES)}]+")
# Middle dots separate the items of a list (教育・保育) or the parts of a loanword;
# they count as spaces, so "教育・保育", "教育 保育" and "教育保育" all find the same.
_MIDDLE_DOTS = re.compile("[・·‧∙⋅]")
_WHITESPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    """Fold text to the form both queries and procedures are compared in.

    NFKC (full-width letters and half-width kana to their usual width), case-folded,
    hiragana as katakana, dashes after kana as ー, middle dots and runs of whitespace
    (the full-width space included) as one space, no space at either end.
    """
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    katakana = jaconv.hira2kata(folded)
    with_long_vowels = _DASH_AFTER_KANA.sub(lambda match: "ー" * len(match.group()), katakana)
    spaced = _MIDDLE_DOTS.sub(" ", with_long_vowels)
    return _WHITESPACE.sub(" ", spaced).strip()


def query_terms(query: str) -> list[str]:
    """Split a query into its normalised terms, each once, in the order typed."""
    return list(dict.fromkeys(normalise(query).split()))


class MatchRank(IntEnum):
    """Where the query matched a procedure; lower ranks are listed first.

    A hit's rank is that of its weakest term: every term in the title is TITLE, any
    term found only in the summary makes it SUMMARY, and so on.
    """

    TITLE = 0
    SUMMARY = 1
    DETAILS = 2


@dataclass(frozen=True)
class LifeEventLink:
    """A life event that lists a procedure: where a resident starts it."""

    id: str
    title: str


@dataclass(frozen=True)
class SearchHit:
    """A procedure that matches every term of a query, told in the language asked for."""

    procedure_id: str
    title: str
    summary: str
    mode: Mode
    life_events: tuple[LifeEventLink, ...]
    rank: MatchRank


@dataclass(frozen=True)
class IndexEntry:
    """One procedure's searchable text by rank, and the life events that list it.

    Each text joins the normalised fields of its rank with line breaks, which no term
    contains, so a term never matches across two fields. Japanese fields lose their
    spaces (国民健康保険 加入届 is found by 国民健康保険加入届); English ones keep them.
    """

    procedure: CompiledProcedure
    texts: tuple[tuple[MatchRank, str], ...]
    life_events: tuple[tuple[str, TextPair], ...]

    def rank_for(self, patterns: Iterable[re.Pattern[str]]) -> MatchRank | None:
        """The rank of the weakest of the terms, or None when any term is not found."""
        weakest = MatchRank.TITLE
        for pattern in patterns:
            found = next((rank for rank, text in self.texts if pattern.search(text)), None)
            if found is None:
                return None
            weakest = max(weakest, found)
        return weakest


@dataclass(frozen=True)
class SearchIndex:
    """The normalised searchable text of every procedure of one catalogue."""

    entries: tuple[IndexEntry, ...]


def _searchable(pairs: Iterable[TextPair]) -> str:
    """Normalise both languages of texts into one text, a field per line."""
    lines: list[str] = []
    for pair in pairs:
        lines.append(normalise(pair.ja).replace(" ", ""))
        lines.append(normalise(pair.en))
    return "\n".join(lines)


def _index_entry(
    catalogue: Catalogue, procedure: CompiledProcedure, departments: dict[str, TextPair]
) -> IndexEntry:
    """Collect what a resident might search a procedure by, ranked by where it is said."""
    model = procedure.model
    life_events = catalogue.life_events_with(procedure.id)
    details: list[TextPair] = [departments[model.department]]
    if model.counter is not None:
        details.append(model.counter.where)
        details.extend(model.counter.bring)
    details.extend(document.document.label for document in procedure.documents)
    details.extend(event.model.title for event in life_events)
    return IndexEntry(
        procedure=procedure,
        texts=(
            (MatchRank.TITLE, _searchable([model.title])),
            (MatchRank.SUMMARY, _searchable([model.summary, *([model.why] if model.why else [])])),
            (MatchRank.DETAILS, _searchable(details)),
        ),
        life_events=tuple((event.id, event.model.title) for event in life_events),
    )


def _build_index(catalogue: Catalogue) -> SearchIndex:
    """Normalise the searchable text of every procedure of a catalogue, once."""
    departments = {department.id: department.name for department in catalogue.departments}
    return SearchIndex(
        tuple(
            _index_entry(catalogue, procedure, departments)
            for procedure in catalogue.procedures.values()
        )
    )


class _IndexCache:
    """Search indexes by catalogue identity, each dropped when its catalogue is collected.

    A Catalogue is a frozen dataclass over dicts: unhashable, so it cannot key a
    WeakKeyDictionary, and it may not take new attributes. Keying by id() alone would
    keep every index alive and could give a new catalogue that reuses an id the index
    of a dead one; the weak reference, checked on each read and whose callback removes
    the entry, prevents both. The index holds procedures, never the catalogue itself,
    so it does not keep its catalogue alive. No lock: dict operations are atomic, and
    two threads that miss at once merely build the same index twice.
    """

    def __init__(self) -> None:
        self._entries: dict[int, tuple[weakref.ref[Catalogue], SearchIndex]] = {}

    def get(self, catalogue: Catalogue) -> SearchIndex:
        """The index of this catalogue object, built on first use."""
        key = id(catalogue)
        cached = self._entries.get(key)
        if cached is not None and cached[0]() is catalogue:
            return cached[1]
        index = _build_index(catalogue)
        reference = weakref.ref(catalogue, lambda dead: self._forget(key, dead))
        self._entries[key] = (reference, index)
        return index

    def _forget(self, key: int, reference: weakref.ref[Catalogue]) -> None:
        """Drop the entry of a collected catalogue, unless a newer one took its place."""
        cached = self._entries.get(key)
        if cached is not None and cached[0] is reference:
            del self._entries[key]


_indexes = _IndexCache()


def search_index(catalogue: Catalogue) -> SearchIndex:
    """The search index of a catalogue, built once per catalogue object."""
    return _indexes.get(catalogue)


def _term_pattern(term: str) -> re.Pattern[str]:
    """A pattern for one term; Latin letters and digits must start a word.

    So "tax" finds "Taxation Division" but "ax" does not; kana and kanji, written
    without spaces, match anywhere.
    """
    if term[0].isascii() and term[0].isalnum():
        return re.compile(r"(?<![0-9a-z])" + re.escape(term))
    return re.compile(re.escape(term))


def search(catalogue: Catalogue, query: str, lang: str, limit: int = 20) -> list[SearchHit]:
    """Find the procedures matching every term of a query in either language.

    Hits are told in `lang` and ordered by rank, then title, then id, so the same
    query always gives the same list. A query without terms finds nothing.
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    patterns = [_term_pattern(term) for term in query_terms(query)]
    if not patterns:
        return []
    hits: list[SearchHit] = []
    for entry in search_index(catalogue).entries:
        rank = entry.rank_for(patterns)
        if rank is None:
            continue
        model = entry.procedure.model
        hits.append(
            SearchHit(
                procedure_id=model.id,
                title=model.title.get(lang),
                summary=model.summary.get(lang),
                mode=model.mode,
                life_events=tuple(
                    LifeEventLink(event_id, title.get(lang))
                    for event_id, title in entry.life_events
                ),
                rank=rank,
            )
        )
    hits.sort(key=lambda hit: (hit.rank, hit.title, hit.procedure_id))
    return hits[:limit]
