"""Finding a source's export in the landing folder and making it readable for DuckDB.

Real exports arrive in their systems' own shapes: file names with dates in them
(`hubspot-crm-exports-all-deals-2026-11-30.csv`), gzip, Excel workbooks, UTF-16
"Unicode text", Windows-1251 or ISO-8859-1, `;` with a trailing delimiter, header
names that are empty, repeated or HTML-escaped. Everything here turns such a file
into UTF-8 delimited text with a header of unique names, or refuses it with the file
and what was expected. DuckDB's CSV reader then does the parsing (pipelines/ingest/loader.py).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import fnmatch
import gzip
import html
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from pipelines.ingest.contract import SourceSpec

DELIMITERS = (",", ";", "\t", "|")
_CHUNK = 1 << 22
EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods")


class ContractError(Exception):
    """A file that cannot be loaded at all (missing column, unreadable): refused whole."""


def _matches(name: str, pattern: str) -> bool:
    return fnmatch.fnmatchcase(name.lower(), pattern.lower())


def find_export(exports_dir: Path, spec: SourceSpec) -> Path | None:
    """The export of a source: the newest file matching one of the profile's patterns
    (case-insensitive globs), else `<source>.csv`, `.csv.gz`, `.parquet`, `.xlsx`, ...
    Only regular files whose real path stays inside the landing folder are accepted
    (no symlink escapes); a pattern is matched against bare names, never a path."""
    if not exports_dir.is_dir():
        return None
    root = exports_dir.resolve()
    entries = sorted(exports_dir.iterdir(), key=lambda p: p.name)
    for patterns in ([Path(p).name for p in spec.file_patterns], spec.contract_file_names):
        found = [p for p in entries if any(_matches(p.name, pat) for pat in patterns)]
        found = [p for p in found if p.is_file()]
        if not found:
            continue
        # Newest first: the modification time, then the name (a date in the name sorts).
        newest = max(found, key=lambda p: (p.stat().st_mtime, p.name))
        resolved = newest.resolve()
        if not resolved.is_relative_to(root):
            raise ContractError(
                f"{newest}: resolves to {resolved}, outside the landing folder {root}"
            )
        return newest
    return None


@dataclass(frozen=True)
class TextFile:
    """A delimited export as DuckDB will read it: UTF-8 text (the original file, or a
    decoded copy in the scratch folder) with what it was found to be."""

    path: Path
    encoding: str
    delimiter: str
    header: tuple[str, ...]  # unique names, in file order
    warnings: tuple[str, ...] = field(default_factory=tuple)


def _open_bytes(path: Path) -> IO[bytes]:
    return gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb")


def _chunks(path: Path) -> Iterator[bytes]:
    try:
        with _open_bytes(path) as handle:
            yield from iter(lambda: handle.read(_CHUNK), b"")
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise ContractError(f"{path.name}: cannot be decompressed ({exc})") from exc


def _decodes_as(path: Path, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        for chunk in _chunks(path):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _bom_encoding(head: bytes) -> str | None:
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return None


def _decode_copy(path: Path, encoding: str, scratch: Path) -> Path:
    """A UTF-8 copy (FACTS: DuckDB's own encodings are an extension download)."""
    copy = scratch / f"{path.name}.utf-8.csv"
    raw = _open_bytes(path)
    with (
        codecs.getreader(encoding)(raw) as source,
        copy.open("w", encoding="utf-8", newline="") as target,
    ):
        shutil.copyfileobj(source, target, _CHUNK)
    return copy


def _excel_cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ") if value.time() != dt.time() else value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _excel_to_csv(path: Path, spec: SourceSpec, scratch: Path) -> Path:
    """The workbook's sheet (the source's `csv.sheet`, else the first) as UTF-8 CSV,
    one record per sheet row, read by python-calamine (no DuckDB extension needed)."""
    from python_calamine import CalamineWorkbook

    try:
        book = CalamineWorkbook.from_path(str(path))
        names = book.sheet_names
        sheet = spec.csv.sheet or names[0]
        if sheet not in names:
            raise ContractError(
                f"{path.name}: no worksheet {sheet!r}; the workbook has: {', '.join(names)}"
            )
        rows = book.get_sheet_by_name(sheet).to_python(skip_empty_area=True)
    except ContractError:
        raise
    except Exception as exc:  # calamine raises its own error types per format
        raise ContractError(
            f"{path.name}: cannot be read as an Excel workbook ({exc}); expected .xlsx or .xls"
        ) from exc
    copy = scratch / f"{path.name}.csv"
    with copy.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        for row in rows:
            writer.writerow([_excel_cell(v) for v in row])
    return copy


def unique_header(names: list[str]) -> tuple[list[str], list[str]]:
    """Header names DuckDB can bind, and what was renamed. HTML escapes are undone
    (Bitrix24 writes `&amp;`, sometimes twice); an empty name (a trailing delimiter)
    becomes `column<position>`; a repeated name (HubSpot's "all properties" export)
    becomes `name_2`, `name_3`, ... in file order. DuckDB names are case-insensitive,
    so `Name` and `name` are a repeat too."""
    out: list[str] = []
    seen: set[str] = set()
    notes: list[str] = []
    for position, raw in enumerate(names, start=1):
        name = raw
        while html.unescape(name) != name:
            name = html.unescape(name)
        name = name.strip().lstrip("\ufeff").strip()
        if not name:
            name = f"column{position}"
            notes.append(f"column {position} has no header name: read as {name!r}")
        if name.lower() in seen:
            base, n = name, 2
            while f"{base}_{n}".lower() in seen:
                n += 1
            name = f"{base}_{n}"
            notes.append(f"header {base!r} repeats at column {position}: read as {name!r}")
        seen.add(name.lower())
        out.append(name)
    return out, notes


def _first_line(path: Path) -> str:
    with path.open("r", encoding="utf-8-sig", newline="") as handle:
        return handle.readline().rstrip("\r\n")


def prepare_text(path: Path, spec: SourceSpec, scratch: Path) -> TextFile:
    """Refuse what is not text; settle the encoding and the delimiter; name the header."""
    readable, encoding = path, "utf-8"
    if path.suffix.lower() in EXCEL_SUFFIXES:
        readable, encoding, delimiter = _excel_to_csv(path, spec, scratch), "xlsx", ","
    else:
        head = next(_chunks(path), b"")[: 1 << 16]
        bom = _bom_encoding(head)
        if bom is None and b"\x00" in head:
            raise ContractError(
                f"{path.name}: not a text file (NUL bytes in the first {len(head):,} bytes); "
                "expected a CSV export (UTF-8, UTF-16 with BOM, Windows-1251 or another "
                "encoding set in csv.encoding)"
            )
        candidates = (bom,) if bom else spec.csv.encoding
        encoding = next((e for e in candidates if _decodes_as(path, e)), None)
        if encoding is None:
            raise ContractError(
                f"{path.name}: cannot be decoded as {' or '.join(candidates)}; "
                "set csv.encoding for this source (e.g. iso-8859-1)"
            )
        if encoding not in ("utf-8", "utf8", "utf-8-sig"):
            readable = _decode_copy(path, encoding, scratch)
        elif path.suffix == ".gz":
            readable = scratch / f"{path.stem}"
            with gzip.open(path, "rb") as source, readable.open("wb") as target:
                shutil.copyfileobj(source, target, _CHUNK)
        delimiter = spec.csv.delimiter
    first_line = _first_line(readable)
    if delimiter == "auto":
        widths = {
            d: len(next(csv.reader([first_line], delimiter=d, quotechar=spec.csv.quote), []))
            for d in DELIMITERS
        }
        delimiter = max(DELIMITERS, key=lambda d: (widths[d], -DELIMITERS.index(d)))
    raw_header = next(csv.reader([first_line], delimiter=delimiter, quotechar=spec.csv.quote), [])
    header, notes = unique_header(raw_header)
    return TextFile(readable, encoding, delimiter, tuple(header), tuple(notes))
