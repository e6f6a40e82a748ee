"""Reading the HHS OCR breach portal's CSV exports: rows with their file and line, the
header checked first (a file whose columns are not the portal's is refused whole)."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

# The portal's columns, in its order; the archive's export and the "under investigation"
# export share them. The date's column is sometimes named with its format.
COLUMNS = (
    "Name of Covered Entity",
    "State",
    "Covered Entity Type",
    "Individuals Affected",
    "Breach Submission Date",
    "Type of Breach",
    "Location of Breached Information",
    "Business Associate Present",
    "Web Description",
)
COLUMN_SPELLINGS = {"Breach Submission Date (MM/DD/YYYY)": "Breach Submission Date"}
# Columns a file may lack (older exports had no narrative).
OPTIONAL_COLUMNS = {"Web Description"}


class HeaderError(ValueError):
    """A file whose header is not the portal's: nothing in it is read."""


@dataclass(frozen=True)
class RawRow:
    file: str  # the file's name ("hhs_breach_archive.csv")
    line: int  # the line the row starts on (a description may span several)
    values: dict[str, str] | None  # column -> text; None when the row is malformed
    error: str = ""
    column: str = ""  # the column the error is in, where one is
    under_investigation: bool = False

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


def under_investigation(path: Path) -> bool:
    """The portal's second export holds the open cases; its file name says so
    ("breach_report.csv" as downloaded, "hhs_breach_under_investigation.csv" here)."""
    name = path.name.lower()
    return "investigation" in name or name == "breach_report.csv"


def check_header(path: Path, header: list[str]) -> list[str]:
    """The columns of ``header`` under the portal's names, or HeaderError."""
    names = [COLUMN_SPELLINGS.get(h.strip(), h.strip()) for h in header]
    unknown = [h for h in names if h not in COLUMNS]
    missing = [c for c in COLUMNS if c not in names and c not in OPTIONAL_COLUMNS]
    if unknown or missing or len(set(names)) != len(names):
        parts = []
        if unknown:
            parts.append("unknown column(s) " + ", ".join(repr(h) for h in unknown))
        if missing:
            parts.append("missing column(s) " + ", ".join(repr(c) for c in missing))
        if len(set(names)) != len(names):
            parts.append("a column repeated")
        raise HeaderError(
            f"{path.name}:1: not an HHS breach portal export ({'; '.join(parts)}); "
            f"expected the columns {', '.join(COLUMNS)}"
        )
    return names


def read_rows(paths: Iterable[str | Path]) -> Iterator[RawRow]:
    """Every row of the given CSV files. All headers are checked before any row is read."""
    paths = [Path(p) for p in paths]
    for path in paths:
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such file")
        with path.open(newline="", encoding="utf-8-sig") as fh:
            try:
                check_header(path, next(csv.reader(fh), []))
            except UnicodeDecodeError as exc:
                raise HeaderError(f"{path.name}:1: not UTF-8 text ({exc.reason})") from exc
    for path in paths:
        yield from _rows(path)


def _rows(path: Path) -> Iterator[RawRow]:
    open_cases = under_investigation(path)
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh, strict=True)
        try:
            names = check_header(path, next(reader))
        except csv.Error as exc:
            raise HeaderError(f"{path.name}:1: not CSV ({exc})") from exc
        while True:
            line = reader.line_num + 1
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield RawRow(path.name, line, None, f"not valid CSV ({exc})", "", open_cases)
                continue
            except UnicodeDecodeError as exc:
                yield RawRow(path.name, line, None, f"not UTF-8 ({exc.reason})", "", open_cases)
                return
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(names):
                column = names[len(row)] if len(row) < len(names) else f"column {len(names) + 1}"
                message = f"{len(row)} columns where the header has {len(names)}"
                yield RawRow(path.name, line, None, message, column, open_cases)
                continue
            yield RawRow(path.name, line, dict(zip(names, row, strict=True)), "", "", open_cases)


def count_rows(paths: Iterable[str | Path]) -> int:
    """Rows in the files (for the progress bar): records, not lines."""
    total = 0
    for path in map(Path, paths):
        with path.open(newline="", encoding="utf-8-sig", errors="replace") as fh:
            total += max(sum(1 for _ in csv.reader(fh)) - 1, 0)
    return total
