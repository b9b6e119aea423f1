"""What callers get from a record source: the extract, or a plain "register unavailable"."""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel

from portal.records.schema import (
    PERSON_KEY_PATTERN,
    REGISTERS,
    ExtractDocument,
    RelatedPerson,
    has_path,
)


class RegisterUnavailable(Exception):
    """A register could not be read; the resident is told so and types the values in.

    ``source`` names the register, or the registers separated by commas when they
    were asked for in one call; ``reason`` is for operators and holds no personal data.
    """

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason

    @property
    def sources(self) -> tuple[str, ...]:
        """The registers that could not be read."""
        return tuple(self.source.split(","))


def checked_person_key(person_key: str) -> str:
    """Return the key if registers can know it; ValueError if it is not a person key."""
    if not re.fullmatch(PERSON_KEY_PATTERN, person_key):
        raise ValueError("not a person key: letters, digits and . _ : - only, at most 64")
    return person_key


def checked_sources(sources: Collection[str]) -> tuple[str, ...]:
    """Return the registers asked for in a stable order; ValueError names an unknown one."""
    unknown = sorted(set(sources) - set(REGISTERS))
    if unknown:
        raise ValueError(f"unknown register(s): {', '.join(unknown)}")
    return tuple(sorted(set(sources)))


@dataclass(frozen=True)
class RegisterExtract:
    """The registers' records about one person and the persons related to them.

    Read values with ``value(source, subject_key, path)``, where ``subject_key`` is the
    person whose record is read: the applicant's own key, or a related person's (the
    deceased, the child). Each register's ``fetched_at`` is the provenance of its values.
    """

    document: ExtractDocument

    @classmethod
    def from_stored(cls, document: Mapping[str, object]) -> RegisterExtract:
        """An extract kept as JSON (in a draft) made whole again."""
        # Validated in JSON mode: the stored document holds dates as ISO text.
        return cls(ExtractDocument.model_validate_json(json.dumps(document)))

    @classmethod
    def empty(cls, person_key: str, sources: Collection[str], now: datetime) -> RegisterExtract:
        """An extract in which every register asked for had no record."""
        return cls(
            ExtractDocument(
                person_key=person_key,
                fetched_at=now,
                related=[],
                sources=[],
                missing_sources=list(checked_sources(sources)),
            )
        )

    @property
    def person_key(self) -> str:
        """The person the extract was fetched for."""
        return self.document.person_key

    @property
    def fetched_at(self) -> datetime:
        """When the extract was put together (UTC)."""
        return self.document.fetched_at

    @property
    def related(self) -> tuple[RelatedPerson, ...]:
        """The persons whose records come with the person's own, and why."""
        return tuple(self.document.related)

    @property
    def sources(self) -> frozenset[str]:
        """The registers that returned at least one record."""
        return frozenset(extract.source for extract in self.document.sources)

    @property
    def missing_sources(self) -> frozenset[str]:
        """The registers asked for that hold no record about anyone in the extract."""
        return frozenset(self.document.missing_sources)

    def source_fetched_at(self, source: str) -> datetime | None:
        """When a register was read; None if it returned nothing."""
        for extract in self.document.sources:
            if extract.source == source:
                return extract.fetched_at
        return None

    def records(self, source: str) -> Mapping[str, object]:
        """The records of one register by person key (empty if it returned nothing)."""
        for extract in self.document.sources:
            if extract.source == source:
                return extract.records
        return {}

    def has_record(self, source: str, subject_key: str) -> bool:
        """Whether a register returned a record about this person."""
        return subject_key in self.records(source)

    def value(self, source: str, subject_key: str, path: str) -> object | None:
        """The value at a dotted ``path`` of a person's record; None if there is none.

        Raises KeyError when the register's records have no such path at all: that is
        a mistake in a definition, not a gap in the register.
        """
        if not has_path(source, path):
            raise KeyError(f"{source} records have no {path!r}")
        record = self.records(source).get(subject_key)
        value: object = record
        for part in path.split("."):
            if value is None:
                return None
            value = getattr(value, part)
        return _plain(value)


def _plain(value: object) -> object:
    """Turn record parts into the plain dicts and lists the definition engine holds."""
    if isinstance(value, BaseModel):
        return value.model_dump()
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value
