"""Read back what a WeasyPrint PDF shows: its text, fonts, pages and document language.

No PDF text tool is installed (poppler's ``pdftotext`` is not, nor pypdf), so this reads
the PDF the way a viewer copies text: each text run's glyph ids are mapped back to
characters through its font's ``ToUnicode`` table. It understands what WeasyPrint
writes (direct stream lengths, Flate streams, Identity-H fonts), not every PDF.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

_OBJECT = re.compile(rb"(\d+)\s+0\s+obj\b")
_LENGTH = re.compile(rb"/Length\s+(\d+)(?!\s+\d+\s+R)")
_FONT_RESOURCES = re.compile(rb"/Font\s*(?:<<(.*?)>>|(\d+)\s+0\s+R)", re.S)
_REFERENCE = re.compile(rb"/([^\s/<>\[\]()]+)\s+(\d+)\s+0\s+R")
_TO_UNICODE = re.compile(rb"/ToUnicode\s+(\d+)\s+0\s+R")
_BASE_FONT = re.compile(rb"/BaseFont\s*/(?:[A-Z]{6}\+)?([^\s/<>\[\]()]+)")
_CONTENTS = re.compile(rb"/Contents\s+(\d+)\s+0\s+R")
_TEXT_TOKEN = re.compile(rb"/([^\s/<>\[\]()]+)\s+[-\d.]+\s+Tf|<([0-9A-Fa-f]*)>|\bET\b")
_BFCHAR = re.compile(rb"beginbfchar(.*?)endbfchar", re.S)
_BFRANGE = re.compile(rb"beginbfrange(.*?)endbfrange", re.S)
_HEX = re.compile(rb"<([0-9A-Fa-f]+)>")
_PAGE = re.compile(rb"/Type\s*/Page(?![s\w])")


@dataclass(frozen=True)
class PdfObject:
    dictionary: bytes
    stream: bytes | None


def _objects(pdf: bytes) -> dict[int, PdfObject]:
    objects: dict[int, PdfObject] = {}
    position = 0
    while match := _OBJECT.search(pdf, position):
        start = match.end()
        end = pdf.find(b"endobj", start)
        if end == -1:
            break
        stream_at = pdf.find(b"stream", start, end)
        if stream_at == -1:
            objects[int(match.group(1))] = PdfObject(pdf[start:end], None)
            position = end
            continue
        dictionary = pdf[start:stream_at]
        length = _LENGTH.search(dictionary)
        assert length, "expected a direct stream length, as WeasyPrint writes"
        data_start = stream_at + len(b"stream")
        data_start += 2 if pdf[data_start : data_start + 2] == b"\r\n" else 1
        data = pdf[data_start : data_start + int(length.group(1))]
        if b"/FlateDecode" in dictionary:
            data = zlib.decompress(data)
        objects[int(match.group(1))] = PdfObject(dictionary, data)
        position = pdf.index(b"endobj", data_start + int(length.group(1)))
    for pdf_object in list(objects.values()):
        if re.search(rb"/Type\s*/ObjStm", pdf_object.dictionary):
            objects.update(_compressed_objects(pdf_object))
    return objects


def _compressed_objects(object_stream: PdfObject) -> dict[int, PdfObject]:
    """The objects packed in an object stream (PDF 1.5), which hold no streams themselves."""
    data = object_stream.stream or b""
    first = int(re.search(rb"/First\s+(\d+)", object_stream.dictionary).group(1))  # type: ignore[union-attr]
    header = [int(number) for number in data[:first].split()]
    numbers, offsets = header[::2], header[1::2]
    ends = [*offsets[1:], len(data) - first]
    return {
        number: PdfObject(data[first + start : first + end], None)
        for number, start, end in zip(numbers, offsets, ends, strict=True)
    }


def _utf16(hex_digits: bytes) -> str:
    return bytes.fromhex(hex_digits.decode()).decode("utf-16-be")


def _cmap(data: bytes) -> dict[int, str]:
    mapping: dict[int, str] = {}
    for block in _BFCHAR.findall(data):
        codes = _HEX.findall(block)
        for source, target in zip(codes[::2], codes[1::2], strict=True):
            mapping[int(source, 16)] = _utf16(target)
    for block in _BFRANGE.findall(data):
        for line in block.strip().splitlines():
            low, high, *targets = _HEX.findall(line)
            if b"[" in line:
                for offset, target in enumerate(targets):
                    mapping[int(low, 16) + offset] = _utf16(target)
                continue
            first = _utf16(targets[0])
            for offset in range(int(high, 16) - int(low, 16) + 1):
                mapping[int(low, 16) + offset] = first[:-1] + chr(ord(first[-1]) + offset)
    return mapping


def _fonts(objects: dict[int, PdfObject]) -> dict[bytes, dict[int, str]]:
    """Each font resource name with its glyph-to-text table."""
    tables: dict[bytes, dict[int, str]] = {}
    for pdf_object in objects.values():
        for direct, indirect in _FONT_RESOURCES.findall(pdf_object.dictionary):
            resources = objects[int(indirect)].dictionary if indirect else direct
            for name, number in _REFERENCE.findall(resources):
                font = objects[int(number)].dictionary
                to_unicode = _TO_UNICODE.search(font)
                if to_unicode:
                    stream = objects[int(to_unicode.group(1))].stream or b""
                    tables[name] = _cmap(stream)
    return tables


def _page_objects(objects: dict[int, PdfObject]) -> list[PdfObject]:
    return [item for item in objects.values() if _PAGE.search(item.dictionary)]


def page_count(pdf: bytes) -> int:
    """How many pages the PDF has."""
    return len(_page_objects(_objects(pdf)))


def page_texts(pdf: bytes) -> list[str]:
    """Each page's text, one line per text run, pages in the order they are stored."""
    objects = _objects(pdf)
    fonts = _fonts(objects)
    pages: list[str] = []
    for page in _page_objects(objects):
        contents = _CONTENTS.search(page.dictionary)
        assert contents, "expected one content stream per page, as WeasyPrint writes"
        stream = objects[int(contents.group(1))].stream or b""
        table: dict[int, str] = {}
        lines: list[str] = []
        run: list[str] = []
        for match in _TEXT_TOKEN.finditer(stream):
            font, glyphs = match.group(1), match.group(2)
            if font is not None:
                table = fonts.get(font, {})
            elif glyphs is not None:
                codes = (int(glyphs[i : i + 4], 16) for i in range(0, len(glyphs), 4))
                run.extend(table.get(code, "\ufffd") for code in codes)
            else:
                lines.append("".join(run))
                run = []
        pages.append("\n".join(line for line in lines if line))
    return pages


def extract_text(pdf: bytes) -> str:
    """The whole PDF's text (see ``page_texts``)."""
    return "\n".join(page_texts(pdf))


def font_names(pdf: bytes) -> set[str]:
    """The names of the fonts embedded, without their subset prefixes."""
    return {
        match.decode()
        for item in _objects(pdf).values()
        for match in _BASE_FONT.findall(item.dictionary)
    }


def catalog(pdf: bytes) -> bytes:
    """The document catalog's dictionary (language, structure tree, viewer preferences)."""
    for item in _objects(pdf).values():
        if re.search(rb"/Type\s*/Catalog", item.dictionary):
            return item.dictionary
    raise AssertionError("no document catalog")
