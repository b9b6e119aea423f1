"""Store definition files as numbered versions and rebuild engine catalogues from them.

Loading a directory lints it as a whole and then stores, for each definition whose
file changed since the files last gave it, a new immutable published version. Drafts
and submissions keep the pins (version ids) they started with; `catalogue_for_pins`
rebuilds exactly that set of definitions, so what a resident or clerk sees never
changes under them.
"""

from __future__ import annotations

import hashlib
import json
import threading
import weakref
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, Row, and_, func, select
from sqlalchemy.orm import Session

from portal.audit.services import record_event
from portal.catalogue.models import DefinitionVersion
from portal.database import utcnow
from portal.definitions.catalogue import Catalogue
from portal.definitions.compiler import compile_catalogue
from portal.definitions.loader import definition_paths, load_text
from portal.definitions.scenarios import run_scenarios
from portal.definitions.schema import LifeEvent, Procedure
from portal.definitions.source import (
    MAX_FILE_BYTES,
    Definition,
    DefinitionError,
    LintIssue,
    LoadedFile,
)

CATALOGUE_CACHE_SIZE = 16
LOADED_ACTION = "definition.version_loaded"
# Column widths of definition_versions; SQLite would not enforce them, PostgreSQL would fail.
MAX_DEFINITION_ID_LENGTH = DefinitionVersion.__table__.c.definition_id.type.length
MAX_SOURCE_NAME_LENGTH = DefinitionVersion.__table__.c.source_name.type.length


class CatalogueError(Exception):
    """Pinned versions that cannot be turned back into a catalogue."""

    def __init__(self, message: str, issues: Sequence[LintIssue] = ()) -> None:
        details = "".join(f"\n{issue.format()}" for issue in issues)
        super().__init__(message + details)
        self.issues = list(issues)


@dataclass(frozen=True)
class SourceFile:
    """One definition file as read: where it is, its exact text, and what it says."""

    path: Path
    text: str
    loaded: LoadedFile


@dataclass(frozen=True)
class CheckedSources:
    """Definition files read and linted together; `catalogue` is None when any failed."""

    files: tuple[SourceFile, ...]
    issues: tuple[LintIssue, ...]
    catalogue: Catalogue | None

    @property
    def scenario_count(self) -> int:
        """How many scenarios the files hold (all of them ran when there are no issues)."""
        return sum(
            len(source.loaded.model.scenarios)
            for source in self.files
            if isinstance(source.loaded.model, Procedure | LifeEvent)
        )


@dataclass(frozen=True)
class LoadReport:
    """What `load_directory` did: versions stored, definitions unchanged, or the issues.

    `not_in_directory` names stored definitions that have no file in the directory;
    loading leaves them as they are (they stay published).
    """

    created: tuple[DefinitionVersion, ...] = ()
    unchanged: tuple[str, ...] = ()
    issues: tuple[LintIssue, ...] = ()
    not_in_directory: tuple[str, ...] = ()


def pin_key(kind: str, definition_id: str) -> str:
    """How pins name a definition: `kind:definition_id`."""
    return f"{kind}:{definition_id}"


def definition_key(model: Definition) -> tuple[str, str]:
    """The (kind, definition id) a file is stored under.

    The dictionary and the departments are one of a kind, so their id is their kind.
    """
    if isinstance(model, Procedure | LifeEvent):
        return model.kind, model.id
    return model.kind, model.kind


def _read_text(path: Path, shown: str) -> str:
    """Read a definition file with the engine's limits, keeping its exact text."""
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise DefinitionError(
            [LintIssue(shown, 1, 1, f"file is {size} bytes; the limit is {MAX_FILE_BYTES}")]
        )
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as error:
        raise DefinitionError([LintIssue(shown, 1, 1, f"file is not UTF-8: {error}")]) from None


def check_sources(paths: Iterable[Path]) -> CheckedSources:
    """Lint files and directories together as `lint_paths` does, keeping each file's text.

    Loading stores the very text that was linted, so each file is read once and
    checked from memory: an edit made meanwhile cannot slip in unchecked.
    """
    files: list[SourceFile] = []
    issues: list[LintIssue] = []
    for path in definition_paths(paths):
        shown = str(path)
        try:
            text = _read_text(path, shown)
            files.append(SourceFile(path, text, load_text(text, shown)))
        except DefinitionError as error:
            issues.extend(error.issues)
        except OSError as error:
            issues.append(LintIssue(shown, 1, 1, f"cannot read the file: {error.strerror}"))
    catalogue: Catalogue | None = None
    if not issues:
        loaded = [source.loaded for source in files]
        catalogue, issues = compile_catalogue(loaded)
        if catalogue is not None:
            issues = run_scenarios(catalogue, loaded)
    ordered = sorted(issues, key=lambda issue: (issue.path, issue.line, issue.column))
    return CheckedSources(tuple(files), tuple(ordered), None if ordered else catalogue)


def _canonical_hash(model: Definition) -> str:
    """SHA-256 of the canonical JSON of a validated file (keys sorted, defaults left out)."""
    document = model.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    canonical = json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def content_hash_of(model: Definition, catalogue: Catalogue) -> str:
    """The version identity of a definition: the engine's hash where it has one.

    A procedure's or life event's hash covers the dictionary fields it uses, so a
    changed dictionary field makes new versions of the definitions that use it.
    """
    if isinstance(model, Procedure):
        return catalogue.procedure(model.id).content_hash
    if isinstance(model, LifeEvent):
        return catalogue.life_event(model.id).content_hash
    return _canonical_hash(model)


def _storage_issues(files: Iterable[SourceFile], directory: Path) -> list[LintIssue]:
    """Refuse ids and file names longer than the columns that hold them."""
    issues: list[LintIssue] = []
    for source in files:
        _kind, definition_id = definition_key(source.loaded.model)
        if len(definition_id) > MAX_DEFINITION_ID_LENGTH:
            issues.append(
                source.loaded.issue(
                    ("id",), f"id: an id may be at most {MAX_DEFINITION_ID_LENGTH} characters"
                )
            )
        if len(source.path.relative_to(directory).as_posix()) > MAX_SOURCE_NAME_LENGTH:
            issues.append(
                LintIssue(
                    source.loaded.path,
                    1,
                    1,
                    f"the path inside the directory may be at most "
                    f"{MAX_SOURCE_NAME_LENGTH} characters",
                )
            )
    return issues


def _newest_versions(session: Session, *, published_only: bool) -> Sequence[Row]:
    """(kind, definition_id, id, number, status, content_hash) of each newest version."""
    newest = select(
        DefinitionVersion.kind,
        DefinitionVersion.definition_id,
        func.max(DefinitionVersion.number).label("number"),
    ).group_by(DefinitionVersion.kind, DefinitionVersion.definition_id)
    if published_only:
        newest = newest.where(DefinitionVersion.status == "published")
    latest = newest.subquery()
    return session.execute(
        select(
            DefinitionVersion.kind,
            DefinitionVersion.definition_id,
            DefinitionVersion.id,
            DefinitionVersion.number,
            DefinitionVersion.status,
            DefinitionVersion.content_hash,
        )
        .join(
            latest,
            and_(
                DefinitionVersion.kind == latest.c.kind,
                DefinitionVersion.definition_id == latest.c.definition_id,
                DefinitionVersion.number == latest.c.number,
            ),
        )
        .order_by(DefinitionVersion.kind, DefinitionVersion.definition_id)
    ).all()


def _last_from_files(session: Session) -> dict[str, str]:
    """The content hash of the version the files last gave each definition, by pin key.

    Drafts and versions made in the admin pages are left out: they are not the files.
    """
    newest = (
        select(
            DefinitionVersion.kind,
            DefinitionVersion.definition_id,
            func.max(DefinitionVersion.number).label("number"),
        )
        .where(DefinitionVersion.origin == "files", DefinitionVersion.status != "draft")
        .group_by(DefinitionVersion.kind, DefinitionVersion.definition_id)
        .subquery()
    )
    rows = session.execute(
        select(
            DefinitionVersion.kind, DefinitionVersion.definition_id, DefinitionVersion.content_hash
        ).join(
            newest,
            and_(
                DefinitionVersion.kind == newest.c.kind,
                DefinitionVersion.definition_id == newest.c.definition_id,
                DefinitionVersion.number == newest.c.number,
            ),
        )
    )
    return {pin_key(row.kind, row.definition_id): row.content_hash for row in rows}


def load_directory(session: Session, directory: Path, *, actor: str) -> LoadReport:
    """Store a new published version of every definition whose file changed since last loaded.

    The whole directory is linted first, scenarios included; on any issue nothing is
    stored. Running it again on the same files stores nothing. A file is compared with
    the version the files last gave, not with the newest version: a draft, or a version
    an administrator published or retired in the portal, stays as it is until the file
    itself changes (then the file's content is published as the newest version). The
    caller commits.
    """
    if not directory.is_dir():
        return LoadReport(issues=(LintIssue(str(directory), 1, 1, "no such directory"),))
    checked = check_sources([directory])
    if checked.catalogue is None:
        return LoadReport(issues=checked.issues)
    storage_issues = _storage_issues(checked.files, directory)
    if storage_issues:
        return LoadReport(issues=tuple(storage_issues))

    latest = {
        pin_key(row.kind, row.definition_id): row
        for row in _newest_versions(session, published_only=False)
    }
    from_files = _last_from_files(session)
    now = utcnow()
    created: list[DefinitionVersion] = []
    unchanged: list[str] = []
    for source in checked.files:
        kind, definition_id = definition_key(source.loaded.model)
        key = pin_key(kind, definition_id)
        content_hash = content_hash_of(source.loaded.model, checked.catalogue)
        last = latest.get(key)
        if from_files.get(key) == content_hash:
            unchanged.append(key)
            continue
        version = DefinitionVersion(
            kind=kind,
            definition_id=definition_id,
            number=(last.number if last is not None else 0) + 1,
            status="published",
            content_hash=content_hash,
            source_name=source.path.relative_to(directory).as_posix(),
            source_text=source.text,
            created_by=actor,
            published_at=now,
            origin="files",
        )
        session.add(version)
        session.flush()
        record_event(
            session,
            actor=actor,
            action=LOADED_ACTION,
            subject_type="definition",
            subject_id=key,
            details={"number": version.number, "content_hash": content_hash},
        )
        created.append(version)

    in_directory = {pin_key(*definition_key(source.loaded.model)) for source in checked.files}
    published = published_pins(session)
    return LoadReport(
        created=tuple(created),
        unchanged=tuple(unchanged),
        not_in_directory=tuple(sorted(set(published) - in_directory)),
    )


def published_pins(session: Session) -> dict[str, int]:
    """The id of every definition's newest published version, keyed `kind:definition_id`.

    This is what a new draft pins.
    """
    return {
        pin_key(row.kind, row.definition_id): row.id
        for row in _newest_versions(session, published_only=True)
    }


@dataclass(frozen=True)
class DefinitionSummary:
    """One stored definition: its newest version, and the newest one residents get."""

    key: str
    newest_number: int
    newest_status: str
    published_number: int | None


def definition_summaries(session: Session) -> list[DefinitionSummary]:
    """Every stored definition with its newest version and newest published version."""
    published = {
        pin_key(row.kind, row.definition_id): row.number
        for row in _newest_versions(session, published_only=True)
    }
    summaries: list[DefinitionSummary] = []
    for row in _newest_versions(session, published_only=False):
        key = pin_key(row.kind, row.definition_id)
        summaries.append(DefinitionSummary(key, row.number, row.status, published.get(key)))
    return summaries


class _CatalogueCache:
    """A small thread-safe LRU of compiled catalogues."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._entries: OrderedDict[frozenset[tuple[str, str]], Catalogue] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: frozenset[tuple[str, str]]) -> Catalogue | None:
        with self._lock:
            catalogue = self._entries.get(key)
            if catalogue is not None:
                self._entries.move_to_end(key)
            return catalogue

    def put(self, key: frozenset[tuple[str, str]], catalogue: Catalogue) -> None:
        with self._lock:
            self._entries[key] = catalogue
            self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)


_catalogues = _CatalogueCache(CATALOGUE_CACHE_SIZE)


# What each published or retired version says, by row id, per database (engine): those
# versions never change, so a request needs no query to know which catalogue its pins
# name. Drafts change with every save and are always read.
_settled_versions: weakref.WeakKeyDictionary[Engine, dict[int, tuple[str, str]]] = (
    weakref.WeakKeyDictionary()
)


def _pinned_versions(session: Session, pins: Mapping[str, int]) -> dict[int, tuple[str, str]]:
    """The pin key and content hash of every pinned version, or raise CatalogueError."""
    settled = _settled_versions.setdefault(session.get_bind().engine, {})
    version_ids = set(pins.values())
    found = {version_id: settled[version_id] for version_id in version_ids if version_id in settled}
    missing = version_ids - found.keys()
    if missing:
        for row in session.execute(
            select(
                DefinitionVersion.id,
                DefinitionVersion.kind,
                DefinitionVersion.definition_id,
                DefinitionVersion.content_hash,
                DefinitionVersion.status,
            ).where(DefinitionVersion.id.in_(missing))
        ):
            found[row.id] = (pin_key(row.kind, row.definition_id), row.content_hash)
            if row.status != "draft":
                settled[row.id] = found[row.id]
    for key, version_id in sorted(pins.items()):
        version = found.get(version_id)
        if version is None:
            raise CatalogueError(f"pinned version {version_id} of {key} is not stored")
        if version[0] != key:
            raise CatalogueError(
                f"pin {key} names version {version_id}, which is a version of {version[0]}"
            )
    return found


def catalogue_for_pins(session: Session, pins: Mapping[str, int]) -> Catalogue:
    """Rebuild the engine's catalogue from exactly the pinned versions, or raise CatalogueError.

    Parsing and compiling takes a second or more, so catalogues are cached in-process,
    keyed by each pinned definition's content hash: versions are immutable, and the same
    content compiles to the same catalogue whatever its row id.
    """
    versions = _pinned_versions(session, pins)
    version_ids = set(versions)
    # The key is what the versions say, not their ids: ids differ between databases and
    # a reloaded definition gets a new id, yet the same content compiles the same.
    cache_key = frozenset(versions.values())
    cached = _catalogues.get(cache_key)
    if cached is not None:
        return cached

    files: list[LoadedFile] = []
    for version in session.scalars(
        select(DefinitionVersion)
        .where(DefinitionVersion.id.in_(version_ids))
        .order_by(DefinitionVersion.id)
    ):
        try:
            files.append(load_text(version.source_text, version.source_name))
        except DefinitionError as error:
            raise CatalogueError(
                f"stored version {version.label} ({version.kind}) no longer loads", error.issues
            ) from None
    catalogue, issues = compile_catalogue(files)
    if catalogue is None:
        raise CatalogueError("the pinned versions no longer compile together", issues)
    _catalogues.put(cache_key, catalogue)
    return catalogue


def published_catalogue(session: Session) -> tuple[Catalogue, dict[str, int]]:
    """The catalogue of every definition's newest published version, with its pins."""
    pins = published_pins(session)
    return catalogue_for_pins(session, pins), pins


def version_history(session: Session, kind: str, definition_id: str) -> list[DefinitionVersion]:
    """Every stored version of one definition, newest first."""
    return list(
        session.scalars(
            select(DefinitionVersion)
            .where(
                DefinitionVersion.kind == kind,
                DefinitionVersion.definition_id == definition_id,
            )
            .order_by(DefinitionVersion.number.desc())
        )
    )
