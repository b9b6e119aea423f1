"""Supporting documents: uploads checked by their content, or another way to deliver them.

A definition lists the documents a procedure needs (`required_if`, `waived_if`, the
accepted types, a size limit, and alternatives: later, at the counter, by post). An
upload is accepted by what its bytes are, never by its file name; it is stored under a
random key outside `static/`, and only its owner can download it again.
"""

from __future__ import annotations

import struct
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from portal.definitions.catalogue import CompiledProcedure
from portal.definitions.expressions import EvalContext
from portal.definitions.routing import required_documents, waived_documents
from portal.definitions.schema import Document, TextPair
from portal.documents.storage import Storage
from portal.resident import representation
from portal.resident.services import DraftState

# The first bytes that identify each type a definition may accept.
SIGNATURES: dict[str, tuple[bytes, ...]] = {
    "application/pdf": (b"%PDF-",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
}
TYPE_NAMES = {"application/pdf": "PDF", "image/jpeg": "JPEG", "image/png": "PNG"}
MAX_NAME_LENGTH = 100
# Characters a name keeps out of a download header and off a clerk's disk: quotes and
# the ones Windows refuses in file names become "_".
_NAME_RESERVED = str.maketrans(dict.fromkeys('"*:<>?|', "_"))
# An image is never opened here, but a clerk's viewer opens it: a few bytes may declare
# a picture of billions of pixels (a decompression bomb). Scans of A3 at 600 dpi stay
# well below this.
MAX_IMAGE_PIXELS = 100_000_000
UPLOAD = "upload"

MESSAGES = {
    "upload_missing": TextPair(
        ja="ファイルを選ぶか、別の提出方法を選んでください。",
        en="Choose a file, or choose another way to send the document.",
    ),
    "upload_empty": TextPair(ja="選んだファイルは空です。", en="The file you chose is empty."),
    "upload_too_large": TextPair(
        ja="ファイルは{max_mb}MB以下にしてください。",
        en="The file must be {max_mb} MB or smaller.",
    ),
    "upload_wrong_type": TextPair(
        ja="{accepted}のファイルを選んでください（ファイルの中身で判断しています）。",
        en="Choose a {accepted} file (we check what the file contains, not its name).",
    ),
    "upload_image_too_large": TextPair(
        ja="画像の画素数が多すぎて開けません（{max_megapixels}メガピクセルまで）。"
        "画像を小さくするか、PDFにして添付してください。",
        en="The image has too many pixels to open (the limit is {max_megapixels} megapixels). "
        "Make it smaller, or attach it as a PDF.",
    ),
    "choose_delivery": TextPair(
        ja="この書類をどのように提出するか選んでください。",
        en="Choose how you will send this document.",
    ),
}


class UploadRefused(ValueError):
    """An upload that cannot be accepted; `code` keys into MESSAGES."""

    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.params = params

    def message(self, lang: str) -> str:
        return MESSAGES[self.code].get(lang).format(**self.params)


@dataclass(frozen=True)
class NeededDocument:
    """One document a chosen procedure needs, and what the resident has done about it."""

    # None for the power of attorney, which serves every procedure filed.
    procedure: CompiledProcedure | None
    document: Document
    state: Mapping[str, Any] | None

    @property
    def key(self) -> str:
        """The form name and URL part of this document: `procedure.document`."""
        if self.procedure is None:
            return representation.DOCUMENT_KEY
        return f"{self.procedure.id}.{self.document.id}"


def sniff(data: bytes) -> str | None:
    """The type the content says it is, or None for anything unknown."""
    for content_type, signatures in SIGNATURES.items():
        if any(data.startswith(signature) for signature in signatures):
            return content_type
    return None


def shown_name(filename: str | None) -> str:
    """The file name as the resident sees it again: no folders, controls, quotes or dots first.

    It is only ever shown and offered as a download name; storage keys are random.
    """
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in unicodedata.normalize("NFC", name) if ch.isprintable())
    name = name.translate(_NAME_RESERVED).strip().lstrip(".").strip()
    return name[:MAX_NAME_LENGTH].rstrip() or "file"


def _png_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from a PNG's header chunk, or None when it has none."""
    if data[12:16] != b"IHDR" or len(data) < 24:
        return None
    width, height = struct.unpack(">II", data[16:24])
    return width, height


# JPEG frame headers (SOF0-SOF15 but DHT, JPG and DAC) carry the picture's size.
_JPEG_FRAMES = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from a JPEG's first frame header, or None when none is found."""
    position = 2
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            return None
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte before a marker
            position += 1
            continue
        if marker == 0xD8 or 0xD0 <= marker <= 0xD7:  # markers without a length
            position += 2
            continue
        (length,) = struct.unpack(">H", data[position + 2 : position + 4])
        if marker in _JPEG_FRAMES:
            if position + 9 > len(data):
                return None
            height, width = struct.unpack(">HH", data[position + 5 : position + 9])
            return width, height
        if marker == 0xDA or length < 2:  # image data starts: no frame header before it
            return None
        position += 2 + length
    return None


def image_pixels(content_type: str, data: bytes) -> int | None:
    """How many pixels an image declares, from its header alone; None if not an image."""
    size = {"image/png": _png_size, "image/jpeg": _jpeg_size}.get(content_type)
    dimensions = size(data) if size else None
    return dimensions[0] * dimensions[1] if dimensions else None


def check_upload(document: Document, data: bytes) -> str:
    """Return the content type of an acceptable upload, or raise UploadRefused."""
    if not data:
        raise UploadRefused("upload_empty")
    if len(data) > document.max_size_mb * 1024 * 1024:
        raise UploadRefused("upload_too_large", max_mb=document.max_size_mb)
    content_type = sniff(data)
    if content_type is None or content_type not in document.accept:
        accepted = "・".join(TYPE_NAMES.get(kind, kind) for kind in document.accept)
        raise UploadRefused("upload_wrong_type", accepted=accepted)
    pixels = image_pixels(content_type, data)
    if pixels is not None and pixels > MAX_IMAGE_PIXELS:
        raise UploadRefused("upload_image_too_large", max_megapixels=MAX_IMAGE_PIXELS // 1_000_000)
    return content_type


def needed_documents(state: DraftState, context: EvalContext) -> list[NeededDocument]:
    """The documents the chosen procedures need, with what has been done about each."""
    journey = state.form
    answers = journey.prune(state.answers, context)
    exited = set(journey.exited_procedures(answers, context))
    stored = state.draft.documents or {}
    needed = []
    for procedure in journey.procedures:
        if procedure.id in exited:
            continue
        for document in required_documents(procedure, answers, context):
            current = stored.get(f"{procedure.id}.{document.id}")
            needed.append(NeededDocument(procedure, document, current))
    if representation.representing(state.draft.register or {}) is not None:
        needed.append(
            NeededDocument(
                None,
                representation.POWER_OF_ATTORNEY_DOCUMENT,
                stored.get(representation.DOCUMENT_KEY),
            )
        )
    return needed


def waived(state: DraftState, context: EvalContext) -> list[tuple[CompiledProcedure, Document]]:
    """Documents the chosen procedures would need but waive, as the city holds the facts."""
    journey = state.form
    answers = journey.prune(state.answers, context)
    exited = set(journey.exited_procedures(answers, context))
    return [
        (procedure, document)
        for procedure in journey.procedures
        if procedure.id not in exited
        for document in waived_documents(procedure, answers, context)
    ]


def record(state: DraftState, key: str, entry: Mapping[str, Any] | None) -> None:
    """Keep (or forget, with None) what was done about one document."""
    documents = dict(state.draft.documents or {})
    if entry is None:
        documents.pop(key, None)
    else:
        documents[key] = dict(entry)
    state.draft.documents = documents


def undecided(state: DraftState, context: EvalContext) -> list[NeededDocument]:
    """Documents with neither an upload nor another way of sending them chosen."""
    return [item for item in needed_documents(state, context) if not item.state]


def apply_choice(
    state: DraftState,
    item: NeededDocument,
    *,
    choice: str,
    filename: str | None,
    data: bytes,
    storage: Storage,
) -> None:
    """Keep the resident's choice for one document, or raise UploadRefused.

    Choosing "upload" with no new file keeps an earlier upload; a new file or another
    way of sending replaces it (and the replaced file is deleted).
    """
    previous = item.state or {}
    if choice == UPLOAD and item.document.original:
        raise UploadRefused("choose_delivery")
    if choice == UPLOAD:
        if not data:
            if filename:
                raise UploadRefused("upload_empty")
            if previous.get("delivery") == UPLOAD:
                return
            raise UploadRefused("upload_missing")
        content_type = check_upload(item.document, data)
        key = storage.put("uploads", data, content_type)
        if previous.get("key"):
            storage.delete(previous["key"])
        record(
            state,
            item.key,
            {
                "delivery": UPLOAD,
                "key": key,
                "content_type": content_type,
                "size": len(data),
                "name": shown_name(filename),
            },
        )
        return
    if choice not in item.document.alternatives:
        raise UploadRefused("choose_delivery")
    if previous.get("key"):
        storage.delete(previous["key"])
    record(state, item.key, {"delivery": choice})
