"""Write definitions in the portal: drafts edited as YAML, linted in context, published.

A draft is a `DefinitionVersion` with status `draft`, numbered after every version of
its definition. Its text is stored exactly as typed on every save, even when it does
not parse, so no work is lost; whether it can be published is worked out afresh each
time it is shown (and again on publishing), because it depends on the published set it
would join, which changes. Linting is "in context": the draft takes its definition's
place among the newest published versions, so references between definitions,
compiling and every scenario are checked as they would be once published. Both
languages are required by the schema itself (a `TextPair` needs a non-empty `ja` and
`en`), so a clean lint means both are complete.

Publishing a draft makes it the newest published version, which new resident drafts
pin; open drafts and submissions keep the versions they pinned. Every change is in
the audit log (subject `definition`, id `kind:definition_id`), which also says who
published or retired each version.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import PurePosixPath
from string import Template
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.audit.models import AuditEntry
from portal.audit.services import record_event
from portal.catalogue.models import DEFINITION_KINDS, DefinitionVersion
from portal.catalogue.services import (
    LOADED_ACTION,
    MAX_DEFINITION_ID_LENGTH,
    CatalogueError,
    catalogue_for_pins,
    content_hash_of,
    definition_key,
    pin_key,
    published_pins,
)
from portal.definitions.catalogue import Catalogue
from portal.definitions.compiler import compile_catalogue
from portal.definitions.fields import LoadError, dump_value, load_value
from portal.definitions.journey import Journey, JourneyStep, Page
from portal.definitions.loader import load_text
from portal.definitions.scenarios import run_scenarios
from portal.definitions.schema import ID_PATTERN, GroupField, LifeEvent, Procedure, TextPair
from portal.definitions.source import (
    DefinitionError,
    LintIssue,
    LoadedFile,
    parse_yaml_text,
)
from portal.identity.models import User
from portal.records.extract import RegisterExtract
from portal.records.sources import RecordSource
from portal.resident import pages, prefill

ACTION_DRAFT_CREATED = "definition.draft_created"
ACTION_DRAFT_SAVED = "definition.draft_saved"
ACTION_DRAFT_IMPORTED = "definition.draft_imported"
ACTION_PUBLISHED = "definition.version_published"
ACTION_RETIRED = "definition.version_retired"
AUTHORING_ACTIONS = (
    LOADED_ACTION,
    ACTION_DRAFT_CREATED,
    ACTION_DRAFT_SAVED,
    ACTION_DRAFT_IMPORTED,
    ACTION_PUBLISHED,
    ACTION_RETIRED,
)
SUBJECT_TYPE = "definition"
YAML_CONTENT_TYPE = "application/yaml; charset=utf-8"
# Kinds an administrator may start from nothing; the dictionary and the departments
# exist once and are only ever edited.
NEW_DEFINITION_KINDS = ("procedure", "life_event")
NEW_DEFINITION_FOLDERS = {"procedure": "procedures", "life_event": "life-events"}
DIFF_CONTEXT_LINES = 3
_ID_RE = re.compile(ID_PATTERN)

NEW_DEFINITION_TEMPLATES = {
    "procedure": Template(
        "schema: madoguchi/1\n"
        "kind: procedure\n"
        "id: $definition_id\n"
        "title: {ja: （手続きの名前）, en: (Name of the procedure)}\n"
        "summary:\n"
        "  ja: （この手続きで何ができるか）\n"
        "  en: (What this procedure does for the resident)\n"
        "mode: online\n"
        "department: citizens\n"
        "\n"
        "fields: {}\n"
        "steps: []\n"
        "scenarios: []\n"
    ),
    "life_event": Template(
        "schema: madoguchi/1\n"
        "kind: life_event\n"
        "id: $definition_id\n"
        "title: {ja: （ライフイベントの名前）, en: (Name of the life event)}\n"
        "summary:\n"
        "  ja: （このライフイベントの手続きの案内）\n"
        "  en: (What this life event brings together)\n"
        "\n"
        "questionnaire:\n"
        "  steps: []\n"
        "procedures: []\n"
        "scenarios: []\n"
    ),
}


class AuthoringRefused(Exception):
    """An authoring step that may not be done now; `code` says why, `issues` show where.

    Codes: not_a_draft, not_published, changed_meanwhile, stale (a newer version was
    published or retired after this draft was started: `newer` is its number), problems
    (lint, scenarios or languages), breaks_catalogue (retiring would leave the published
    definitions broken), unknown_kind, bad_id, exists, not_utf8, undeclared (an imported
    file that does not say which definition it is).
    """

    def __init__(
        self, code: str, issues: Sequence[LintIssue] = (), *, newer: int | None = None
    ) -> None:
        super().__init__(code)
        self.code = code
        self.issues = tuple(issues)
        self.newer = newer


def text_hash(text: str) -> str:
    """The content hash of a draft: SHA-256 of its exact text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def normalise_newlines(text: str) -> str:
    """Browsers send a textarea's line breaks as CRLF; store them as the files have them."""
    return text.replace("\r\n", "\n")


def get_version(session: Session, version_id: int) -> DefinitionVersion | None:
    """One stored version by id."""
    return session.get(DefinitionVersion, version_id)


def find_version(
    session: Session, kind: str, definition_id: str, number: int
) -> DefinitionVersion | None:
    """One definition's version by its number."""
    return session.scalars(
        select(DefinitionVersion).where(
            DefinitionVersion.kind == kind,
            DefinitionVersion.definition_id == definition_id,
            DefinitionVersion.number == number,
        )
    ).first()


def _newest_number(session: Session, kind: str, definition_id: str, *, drafts: bool) -> int | None:
    query = select(func.max(DefinitionVersion.number)).where(
        DefinitionVersion.kind == kind, DefinitionVersion.definition_id == definition_id
    )
    if not drafts:
        query = query.where(DefinitionVersion.status != "draft")
    return session.scalar(query)


# --- linting in context ------------------------------------------------------------------


@lru_cache(maxsize=128)
def _load_stored(text: str, shown: str) -> LoadedFile:
    """Load a stored version's text; the result depends on the text alone, so it is cached.

    Reading YAML is most of what linting costs, and the published versions a draft is
    checked against are the same from one save to the next.
    """
    return load_text(text, shown)


@dataclass(frozen=True)
class DraftCheck:
    """What linting a version in context found.

    `own` are problems in the version's text (at its lines); `elsewhere` are problems
    the version causes in other published definitions, named by their files.
    `catalogue` is the compiled set when it compiled (scenarios may still fail).
    """

    own: tuple[LintIssue, ...]
    elsewhere: tuple[LintIssue, ...] = ()
    scenario_count: int = 0
    catalogue: Catalogue | None = None
    loaded: LoadedFile | None = None

    @property
    def clean(self) -> bool:
        """Whether nothing stands in the way of publishing it."""
        return not self.own and not self.elsewhere


def shown_name(version: DefinitionVersion) -> str:
    """How a version's file is named in its own lint issues (never a published file's name)."""
    return f"{version.source_name} (v{version.number})"


def _context_files(
    session: Session, pins: Mapping[str, int]
) -> tuple[list[LoadedFile], list[LintIssue]]:
    """Load the pinned versions (from the cache when their text was loaded before)."""
    files: list[LoadedFile] = []
    issues: list[LintIssue] = []
    versions = session.scalars(
        select(DefinitionVersion)
        .where(DefinitionVersion.id.in_(set(pins.values())))
        .order_by(DefinitionVersion.id)
    )
    for version in versions:
        try:
            files.append(_load_stored(version.source_text, version.source_name))
        except DefinitionError as error:
            issues.extend(error.issues)
    return files, issues


def _scenario_count(files: Iterable[LoadedFile]) -> int:
    return sum(
        len(file.model.scenarios) for file in files if isinstance(file.model, Procedure | LifeEvent)
    )


def check_in_context(session: Session, version: DefinitionVersion) -> DraftCheck:
    """Lint a version as if it replaced its definition among the newest published versions."""
    shown = shown_name(version)
    try:
        loaded = load_text(version.source_text, shown)
    except DefinitionError as error:
        return DraftCheck(own=tuple(error.issues))
    key = pin_key(version.kind, version.definition_id)
    declared = pin_key(*definition_key(loaded.model))
    if declared != key:
        where = ("kind",) if declared.split(":")[0] != version.kind else ("id",)
        issue = loaded.issue(
            where,
            f"this text declares {declared}, but it is a version of {key}; "
            "start a new definition for a new id",
        )
        return DraftCheck(own=(issue,), loaded=loaded)
    pins = {name: version_id for name, version_id in published_pins(session).items() if name != key}
    others, broken = _context_files(session, pins)
    if broken:
        return DraftCheck(own=(), elsewhere=tuple(broken), loaded=loaded)
    files = [*others, loaded]
    catalogue, issues = compile_catalogue(files)
    if catalogue is not None:
        issues = run_scenarios(catalogue, files)
    ordered = sorted(issues, key=lambda issue: (issue.path, issue.line, issue.column))
    return DraftCheck(
        own=tuple(issue for issue in ordered if issue.path == shown),
        elsewhere=tuple(issue for issue in ordered if issue.path != shown),
        scenario_count=_scenario_count(files),
        catalogue=catalogue,
        loaded=loaded,
    )


def _check_pins(session: Session, pins: Mapping[str, int]) -> list[LintIssue]:
    """Lint a set of stored versions together, scenarios included."""
    files, issues = _context_files(session, pins)
    if issues:
        return issues
    catalogue, issues = compile_catalogue(files)
    if catalogue is not None:
        issues = run_scenarios(catalogue, files)
    return sorted(issues, key=lambda issue: (issue.path, issue.line, issue.column))


# --- drafts --------------------------------------------------------------------------------


def _audit(
    session: Session, version: DefinitionVersion, action: str, actor: str, **details: Any
) -> None:
    record_event(
        session,
        actor=actor,
        action=action,
        subject_type=SUBJECT_TYPE,
        subject_id=pin_key(version.kind, version.definition_id),
        details={"number": version.number, **details},
    )


def _new_draft(
    session: Session,
    *,
    kind: str,
    definition_id: str,
    text: str,
    source_name: str,
    actor: str,
    now: datetime,
) -> DefinitionVersion:
    newest = _newest_number(session, kind, definition_id, drafts=True) or 0
    version = DefinitionVersion(
        kind=kind,
        definition_id=definition_id,
        number=newest + 1,
        status="draft",
        content_hash=text_hash(text),
        source_name=source_name,
        source_text=text,
        created_at=now,
        created_by=actor,
        origin="admin",
    )
    session.add(version)
    session.flush()
    return version


def start_draft(
    session: Session, source: DefinitionVersion, *, actor: str, now: datetime
) -> DefinitionVersion:
    """Make a new draft of a definition holding the text of any of its versions."""
    version = _new_draft(
        session,
        kind=source.kind,
        definition_id=source.definition_id,
        text=source.source_text,
        source_name=source.source_name,
        actor=actor,
        now=now,
    )
    _audit(session, version, ACTION_DRAFT_CREATED, actor, from_number=source.number)
    return version


def _default_source_name(kind: str, definition_id: str) -> str:
    """Where a definition's file would go in procedures/."""
    if kind in NEW_DEFINITION_FOLDERS:
        return f"{NEW_DEFINITION_FOLDERS[kind]}/{definition_id.replace('_', '-')}.yaml"
    return f"{kind}.yaml"


def _check_new_key(session: Session, kind: str, definition_id: str) -> None:
    if kind not in NEW_DEFINITION_KINDS:
        raise AuthoringRefused("unknown_kind")
    if not _ID_RE.match(definition_id) or len(definition_id) > MAX_DEFINITION_ID_LENGTH:
        raise AuthoringRefused("bad_id")
    if _newest_number(session, kind, definition_id, drafts=True) is not None:
        raise AuthoringRefused("exists")


def start_definition(
    session: Session, kind: str, definition_id: str, *, actor: str, now: datetime
) -> DefinitionVersion:
    """Make version 1 (a draft) of a new procedure or life event from a template text."""
    _check_new_key(session, kind, definition_id)
    text = NEW_DEFINITION_TEMPLATES[kind].substitute(definition_id=definition_id)
    version = _new_draft(
        session,
        kind=kind,
        definition_id=definition_id,
        text=text,
        source_name=_default_source_name(kind, definition_id),
        actor=actor,
        now=now,
    )
    _audit(session, version, ACTION_DRAFT_CREATED, actor, from_number=None)
    return version


def save_draft(
    session: Session,
    version: DefinitionVersion,
    text: str,
    *,
    base_hash: str,
    actor: str,
) -> DraftCheck:
    """Store a draft's new text exactly as given, however broken, and lint it in context.

    `base_hash` is the content hash the editor was opened with: a draft saved by
    someone else meanwhile is not overwritten (the caller shows the text again).
    """
    if version.status != "draft":
        raise AuthoringRefused("not_a_draft")
    if version.content_hash != base_hash:
        raise AuthoringRefused("changed_meanwhile")
    version.source_text = text
    version.content_hash = text_hash(text)
    session.flush()
    check = check_in_context(session, version)
    _audit(
        session,
        version,
        ACTION_DRAFT_SAVED,
        actor,
        content_hash=version.content_hash,
        problems=len(check.own) + len(check.elsewhere),
    )
    return check


def publish_version(
    session: Session, version: DefinitionVersion, *, actor: str, now: datetime
) -> DefinitionVersion:
    """Make a draft the newest published version, or raise AuthoringRefused saying why.

    Refused when the draft does not lint cleanly in context (scenarios and both
    languages included), or when a version numbered after it was published or retired
    since it was started: publishing it would silently undo that version's changes.
    """
    if version.status != "draft":
        raise AuthoringRefused("not_a_draft")
    newer = _newest_number(session, version.kind, version.definition_id, drafts=False)
    if newer is not None and newer > version.number:
        raise AuthoringRefused("stale", newer=newer)
    check = check_in_context(session, version)
    if not check.clean or check.catalogue is None or check.loaded is None:
        raise AuthoringRefused("problems", (*check.own, *check.elsewhere))
    version.status = "published"
    version.published_at = now
    version.content_hash = content_hash_of(check.loaded.model, check.catalogue)
    session.flush()
    _audit(session, version, ACTION_PUBLISHED, actor, content_hash=version.content_hash)
    return version


def retire_version(
    session: Session, version: DefinitionVersion, *, actor: str, now: datetime
) -> DefinitionVersion:
    """Stop offering a published version, unless the published definitions would break.

    Residents then get the definition's previous published version, or none. Drafts
    and submissions that pinned the retired version keep it.
    """
    if version.status != "published":
        raise AuthoringRefused("not_published")
    key = pin_key(version.kind, version.definition_id)
    pins = published_pins(session)
    if pins.get(key) == version.id:
        remaining = {name: version_id for name, version_id in pins.items() if name != key}
        previous = session.scalar(
            select(DefinitionVersion.id)
            .where(
                DefinitionVersion.kind == version.kind,
                DefinitionVersion.definition_id == version.definition_id,
                DefinitionVersion.status == "published",
                DefinitionVersion.id != version.id,
            )
            .order_by(DefinitionVersion.number.desc())
            .limit(1)
        )
        if previous is not None:
            remaining[key] = previous
        issues = _check_pins(session, remaining)
        if issues:
            raise AuthoringRefused("breaks_catalogue", issues)
    version.status = "retired"
    version.retired_at = now
    session.flush()
    _audit(session, version, ACTION_RETIRED, actor)
    return version


# --- import and export ---------------------------------------------------------------------


def declared_key(text: str, shown: str) -> tuple[str, str]:
    """The (kind, definition id) a definition text declares, read before any other check."""
    try:
        data = parse_yaml_text(text, shown).data
    except DefinitionError as error:
        raise AuthoringRefused("undeclared", error.issues) from None
    kind = data.get("kind") if isinstance(data, dict) else None
    if kind not in DEFINITION_KINDS:
        raise AuthoringRefused(
            "undeclared", [LintIssue(shown, 1, 1, "kind: missing or not a kind of definition")]
        )
    if kind not in NEW_DEFINITION_KINDS:
        return kind, kind
    definition_id = data.get("id")
    if (
        not isinstance(definition_id, str)
        or not _ID_RE.match(definition_id)
        or len(definition_id) > MAX_DEFINITION_ID_LENGTH
    ):
        raise AuthoringRefused("undeclared", [LintIssue(shown, 1, 1, "id: missing or not an id")])
    return kind, definition_id


def import_draft(
    session: Session, filename: str, data: bytes, *, actor: str, now: datetime
) -> DefinitionVersion:
    """Store an uploaded file as a new draft of the definition it declares.

    The file's exact text is kept; it is linted like any draft when shown. A file for a
    definition not stored yet becomes version 1 of a new definition.
    """
    shown = PurePosixPath(filename.replace("\\", "/")).name or "upload.yaml"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise AuthoringRefused("not_utf8") from None
    kind, definition_id = declared_key(text, shown)
    newest = _newest_number(session, kind, definition_id, drafts=True)
    if newest is None:
        source_name = _default_source_name(kind, definition_id)
    else:
        source_name = find_version(session, kind, definition_id, newest).source_name  # type: ignore[union-attr]
    version = _new_draft(
        session,
        kind=kind,
        definition_id=definition_id,
        text=text,
        source_name=source_name,
        actor=actor,
        now=now,
    )
    _audit(session, version, ACTION_DRAFT_IMPORTED, actor, filename=shown)
    return version


def export_filename(version: DefinitionVersion) -> str:
    """The name a version downloads as: its file's name in procedures/."""
    return PurePosixPath(version.source_name).name


# --- differences ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DiffLine:
    """One line of a unified diff: `change` is context, added, removed or gap."""

    change: str
    old_number: int | None
    new_number: int | None
    text: str


def diff_lines(old_text: str, new_text: str) -> list[DiffLine]:
    """The unified diff of two texts, by line, with both sides' line numbers.

    Hunks are separated by a `gap` line, as `@@` separates them in a unified diff.
    """
    old_lines = old_text.splitlines()
    new_lines = new_text.splitlines()
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    lines: list[DiffLine] = []
    for group in matcher.get_grouped_opcodes(DIFF_CONTEXT_LINES):
        first = group[0]
        lines.append(DiffLine("gap", first[1] + 1, first[3] + 1, ""))
        for tag, old_start, old_end, new_start, new_end in group:
            if tag == "equal":
                for offset in range(old_end - old_start):
                    lines.append(
                        DiffLine(
                            "context",
                            old_start + offset + 1,
                            new_start + offset + 1,
                            old_lines[old_start + offset],
                        )
                    )
                continue
            for index in range(old_start, old_end):
                lines.append(DiffLine("removed", index + 1, None, old_lines[index]))
            for index in range(new_start, new_end):
                lines.append(DiffLine("added", None, index + 1, new_lines[index]))
    return lines


# --- lists and history ---------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    """Who did something to a version, and when."""

    actor: str
    at: datetime


@dataclass(frozen=True)
class VersionRow:
    """A version with who created, last saved, published and retired it."""

    version: DefinitionVersion
    created: Event
    saved: Event | None = None
    published: Event | None = None
    retired: Event | None = None

    @property
    def key(self) -> str:
        """The definition's pin key."""
        return pin_key(self.version.kind, self.version.definition_id)


@dataclass(frozen=True)
class DefinitionRow:
    """One definition, its title where published, and its versions, newest first."""

    kind: str
    definition_id: str
    title: TextPair | None
    versions: list[VersionRow] = field(default_factory=list)

    @property
    def offered(self) -> int | None:
        """The number of the version new applications get (the newest published)."""
        numbers = [row.version.number for row in self.versions if row.version.status == "published"]
        return max(numbers) if numbers else None


def _events(session: Session, keys: Iterable[str] | None) -> dict[tuple[str, int, str], Event]:
    """The last audit entry of each (definition key, version number, action)."""
    query = select(AuditEntry).where(
        AuditEntry.subject_type == SUBJECT_TYPE, AuditEntry.action.in_(AUTHORING_ACTIONS)
    )
    if keys is not None:
        query = query.where(AuditEntry.subject_id.in_(list(keys)))
    events: dict[tuple[str, int, str], Event] = {}
    for entry in session.scalars(query.order_by(AuditEntry.id)):
        number = (entry.details or {}).get("number")
        if isinstance(number, int):
            events[(entry.subject_id, number, entry.action)] = Event(entry.actor, entry.occurred_at)
    return events


def _row(version: DefinitionVersion, events: Mapping[tuple[str, int, str], Event]) -> VersionRow:
    key = pin_key(version.kind, version.definition_id)

    def event(action: str) -> Event | None:
        return events.get((key, version.number, action))

    created = Event(version.created_by, version.created_at)
    published = event(ACTION_PUBLISHED)
    if published is None and version.published_at is not None:
        # Loaded from the files: published when it was stored, by whoever loaded it.
        published = Event(version.created_by, version.published_at)
    retired = event(ACTION_RETIRED)
    if retired is None and version.retired_at is not None:
        retired = Event("", version.retired_at)
    return VersionRow(version, created, event(ACTION_DRAFT_SAVED), published, retired)


def _titles(session: Session) -> dict[str, TextPair]:
    """The title of every published procedure and life event, by pin key."""
    pins = published_pins(session)
    if not pins:
        return {}
    try:
        catalogue = catalogue_for_pins(session, pins)
    except CatalogueError:
        return {}
    titles = {
        pin_key("procedure", procedure_id): procedure.model.title
        for procedure_id, procedure in catalogue.procedures.items()
    }
    titles.update(
        (pin_key("life_event", event_id), event.model.title)
        for event_id, event in catalogue.life_events.items()
    )
    return titles


def definition_overview(session: Session) -> dict[str, list[DefinitionRow]]:
    """Every stored definition with all its versions, grouped by kind in a fixed order."""
    events = _events(session, None)
    titles = _titles(session)
    rows: dict[str, DefinitionRow] = {}
    versions = session.scalars(
        select(DefinitionVersion).order_by(
            DefinitionVersion.kind, DefinitionVersion.definition_id, DefinitionVersion.number.desc()
        )
    )
    for version in versions:
        key = pin_key(version.kind, version.definition_id)
        row = rows.get(key)
        if row is None:
            row = rows[key] = DefinitionRow(version.kind, version.definition_id, titles.get(key))
        row.versions.append(_row(version, events))
    grouped: dict[str, list[DefinitionRow]] = {kind: [] for kind in DEFINITION_KINDS}
    for row in rows.values():
        grouped[row.kind].append(row)
    return grouped


def definition_history(
    session: Session, kind: str, definition_id: str
) -> tuple[list[VersionRow], list[AuditEntry]]:
    """One definition's versions, newest first, and its audit trail, newest first."""
    key = pin_key(kind, definition_id)
    events = _events(session, [key])
    versions = session.scalars(
        select(DefinitionVersion)
        .where(DefinitionVersion.kind == kind, DefinitionVersion.definition_id == definition_id)
        .order_by(DefinitionVersion.number.desc())
    )
    trail = session.scalars(
        select(AuditEntry)
        .where(AuditEntry.subject_type == SUBJECT_TYPE, AuditEntry.subject_id == key)
        .order_by(AuditEntry.id.desc())
    )
    return [_row(version, events) for version in versions], list(trail)


def actor_names(session: Session, actors: Iterable[str]) -> dict[str, str]:
    """People's names for audit actors of the form `user:<id>`; other actors as written."""
    ids = {
        int(actor.split(":", 1)[1])
        for actor in actors
        if actor.startswith("user:") and actor.split(":", 1)[1].isdigit()
    }
    names = {
        f"user:{user_id}": name
        for user_id, name in session.execute(
            select(User.id, User.display_name).where(User.id.in_(ids))
        )
        if name
    }
    return {actor: names.get(actor, actor) for actor in actors}


# --- preview -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PreviewStep:
    """One page of the previewed journey as a resident would see it.

    `view` is the page's questions (None for an exit); `show_if` is the condition the
    step is shown on, for the administrator.
    """

    key: str
    section: str
    show_if: str | None
    view: pages.PageView | None = None
    exit_title: str | None = None
    exit_body: str | None = None


@dataclass(frozen=True)
class Preview:
    """Every page of a definition's journey, filled from a demo persona's records."""

    title: str
    steps: list[PreviewStep]
    prefilled: list[str]


def preview_pins(session: Session, version: DefinitionVersion) -> dict[str, int]:
    """The newest published versions with `version` in its definition's place."""
    pins = published_pins(session)
    pins[pin_key(version.kind, version.definition_id)] = version.id
    return pins


def _journeys(catalogue: Catalogue, version: DefinitionVersion) -> list[Journey]:
    """The journeys a resident goes through for this definition."""
    if version.kind == "procedure":
        return [Journey.for_procedure(catalogue.procedure(version.definition_id))]
    life_event = catalogue.life_event(version.definition_id)
    return [
        Journey.for_questionnaire(life_event),
        Journey.for_life_event(catalogue, life_event, list(life_event.model.procedures)),
    ]


def _prefill(
    journeys: Sequence[Journey], source: RecordSource | None, person_key: str | None, lang: str
) -> tuple[dict[str, object], dict[str, dict[str, Any]]]:
    """The answers and provenance the demo registers give a persona, as a draft would hold.

    This mirrors `prefill.apply` without storing anything or writing the audit log: the
    demo registers hold fictional people, and a preview is no draft.
    """
    if source is None or person_key is None:
        return {}, {}
    plans = [prefill.plan(journey) for journey in journeys]
    registers = sorted({register for plan in plans for register in plan})
    if not registers:
        return {}, {}
    extract: RegisterExtract = source.fetch(person_key, registers)
    related = prefill.candidates(extract, lang)
    concerned = related[0][0] if related else None
    answers: dict[str, object] = {}
    provenance: dict[str, dict[str, Any]] = {}
    for journey in journeys:
        for field_id, spec in prefill.prefilled_fields(journey).items():
            assert spec.prefill is not None
            subject = person_key if spec.prefill.subject == "applicant" else concerned
            if subject is None or field_id in answers:
                continue
            raw = extract.value(spec.prefill.source, subject, spec.prefill.path)
            if raw is None:
                continue
            try:
                value = load_value(spec, raw)
            except LoadError:
                continue
            answers[field_id] = value
            fetched_at = extract.source_fetched_at(spec.prefill.source) or extract.fetched_at
            provenance[field_id] = {
                "source": spec.prefill.source,
                "subject": spec.prefill.subject,
                "fetched_at": fetched_at.isoformat(),
                "editability": spec.prefill.editability,
                "value": dump_value(spec, value),
            }
    return answers, provenance


def _section(catalogue: Catalogue, owner: str, lang: str) -> str:
    if owner in catalogue.procedures:
        return catalogue.procedure(owner).model.title.get(lang)
    return catalogue.life_event(owner).model.title.get(lang)


def _preview_step(
    catalogue: Catalogue,
    journey: Journey,
    step: JourneyStep,
    fields: tuple[str, ...],
    answers: Mapping[str, object],
    provenance: Mapping[str, Mapping[str, object]],
    lang: str,
) -> PreviewStep:
    compiled = step.compiled
    section = _section(catalogue, step.owner, lang)
    show_if = compiled.step.show_if
    if compiled.step.exit is not None:
        exit_ = compiled.step.exit
        return PreviewStep(
            step.key,
            section,
            show_if,
            exit_title=exit_.title.get(lang),
            exit_body=exit_.body.get(lang),
        )
    if compiled.loop is not None:
        spec = journey.field_spec(compiled.loop)
        assert isinstance(spec, GroupField)
        heading = journey.heading(Page(step, fields)) or spec.label
        view = pages.item_view(
            compiled.loop,
            spec,
            current={},
            raw=None,
            errors={},
            heading=heading.get(lang) if heading is not None else compiled.loop,
            lang=lang,
        )
        return PreviewStep(step.key, section, show_if, view=view)
    view = pages.page_view(
        journey,
        Page(step, fields),
        answers=answers,
        raw=None,
        errors={},
        lang=lang,
        progress=None,
        provenance=provenance,
    )
    return PreviewStep(step.key, section, show_if, view=view)


def preview(
    session: Session,
    version: DefinitionVersion,
    *,
    source: RecordSource | None,
    person_key: str | None,
    lang: str,
) -> Preview:
    """Every step of a procedure's or life event's journey, as residents would see it.

    The version takes its definition's place among the published versions (so a draft
    is shown as it would be once published); each step is shown whatever its `show_if`,
    each question once. Values come from the persona's records in the demo registers
    (`source`); nothing is stored. Raises CatalogueError when the version does not
    compile with the published versions, and AuthoringRefused("unknown_kind") for the
    dictionary and the departments, which are not forms.
    """
    if version.kind not in NEW_DEFINITION_KINDS:
        raise AuthoringRefused("unknown_kind")
    check = check_in_context(session, version)
    if check.catalogue is None:
        raise CatalogueError("the version does not compile", check.own + check.elsewhere)
    catalogue = catalogue_for_pins(session, preview_pins(session, version))
    journeys = _journeys(catalogue, version)
    answers, provenance = _prefill(journeys, source, person_key, lang)
    steps: list[PreviewStep] = []
    asked: set[str] = set()
    for journey in journeys:
        for step in journey.steps:
            fields = tuple(field_id for field_id in step.fields if field_id not in asked)
            if step.fields and not fields:
                continue
            asked.update(fields)
            steps.append(_preview_step(catalogue, journey, step, fields, answers, provenance, lang))
    title = _section(catalogue, version.definition_id, lang)
    return Preview(title, steps, sorted(provenance))
