"""CSV: one row per incident, a header row, UTF-8 with a byte order mark (so that
spreadsheet programs read the accents right), multi-valued cells joined with " | ".

Every CSV the portal writes (the finder's exports, streamed or emailed, the whole public
catalogue's file, the statistics' CSVs) is written by ``lines`` here, which passes each
cell through ``neutralised``: the one guard against formula injection."""

from __future__ import annotations

import csv
import math
import unicodedata
from decimal import Decimal

SEPARATOR = " | "
BOM = "\ufeff"
# A cell whose first visible character is one of these (once NFKC folds a fullwidth "＝",
# a small "﹦", a superscript "⁼" or "⁻" into them) is read as a formula by spreadsheet
# programs. U+2212 is the minus sign the superscript and subscript minus fold into.
FORMULA_STARTS = frozenset("=+-@\u2212")
# A cell starting with one of these is neutralised whatever follows (OWASP's list).
CONTROL_STARTS = ("\t", "\r")
# A first character that settles it at once: printable ASCII, neither blank nor a start.
_PLAIN = frozenset(map(chr, range(0x21, 0x7F))) - FORMULA_STARTS
# Characters that show nothing and that a spreadsheet may skip or trim before the first
# visible one, besides whitespace, control and format characters (zero-width space and
# joiners, word joiner, byte order mark, bidirectional marks: categories Cc and Cf):
# Unicode's other default-ignorable code points (fillers, variation selectors).
_IGNORABLE = (
    (0x034F, 0x034F),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0xE0000, 0xE0FFF),
)


def _joined(values) -> str:
    return SEPARATOR.join(v.replace(SEPARATOR, " / ") for v in values)


def _timeline_columns(name):
    def part(key):
        return lambda r: (r["timeline"][name] or {}).get(key, "")

    columns = [(name, part("date")), (f"{name}_precision", part("precision"))]
    if name != "occurred_until":
        columns.append((f"{name}_source", part("source")))
    return columns


PUBLIC_COLUMNS = (
    ("url", lambda r: r["url"]),
    ("slug", lambda r: r["slug"]),
    ("victim", lambda r: r["victim"]["name"]),
    ("victim_country", lambda r: r["victim"]["country"]),
    ("victim_website", lambda r: r["victim"]["website"]),
    ("date", lambda r: r["date"]),
    ("date_precision", lambda r: r["date_precision"]),
    ("country", lambda r: r["country"]),
    ("sector", lambda r: r["sector"]),
    ("types", lambda r: _joined(r["types"])),
    ("summary", lambda r: r["summary"]),
    ("description", lambda r: r["description"]),
    ("records_affected", lambda r: r["records_affected"]),
    ("sources", lambda r: _joined(s["url"] or s["citation"] for s in r["sources"])),
    ("motive_count", lambda r: r["counts"]["motives"]),
    ("technique_count", lambda r: r["counts"]["techniques"]),
    ("threat_actor_count", lambda r: r["counts"]["threat_actors"]),
    ("published_at", lambda r: r["published_at"]),
    ("updated_at", lambda r: r["updated_at"]),
    ("dataset", lambda r: r["provenance"]["dataset"]),
    ("licence", lambda r: r["provenance"]["licence"]),
    ("licence_url", lambda r: r["provenance"]["licence_url"]),
    # The timeline (public): each date as far as it is known ("2020", "2020-11",
    # "2020-11-20"), its precision and source; the lag in days; the status.
    *(
        column
        for name in ("occurred", "occurred_until", "discovered", "disclosed")
        for column in _timeline_columns(name)
    ),
    ("disclosure_lag_days", lambda r: r["timeline"]["disclosure_lag_days"]),
    ("confirmation", lambda r: r["confirmation"]),
)


def _provenance(technique) -> str:
    if technique["provenance"] != "derived":
        return technique["provenance"]
    return "derived from VERIS" + (
        ": " + ", ".join(technique["derived_from"]) if technique["derived_from"] else ""
    )


def _impact(name):
    return lambda r: r["cia_posture"][name] if r["cia_posture"] else ""


MEMBER_COLUMNS = (
    *PUBLIC_COLUMNS,
    ("status", lambda r: r["status"]),
    ("confidentiality", _impact("confidentiality")),
    ("integrity", _impact("integrity")),
    ("availability", _impact("availability")),
    ("cia_notes", _impact("notes")),
    ("motives", lambda r: _joined(r["motives"])),
    ("technique_ids", lambda r: _joined(t["attack_id"] for t in r["techniques"])),
    ("techniques", lambda r: _joined(t["name"] for t in r["techniques"])),
    # In the order of technique_ids: "reported", or "derived from VERIS: <enumerations>".
    ("technique_provenance", lambda r: _joined(_provenance(t) for t in r["techniques"])),
    (
        "tactics",
        lambda r: _joined(sorted({tac for t in r["techniques"] for tac in t["tactic_names"]})),
    ),
    ("threat_actors", lambda r: _joined(a["name"] for a in r["threat_actors"])),
    ("threat_actor_types", lambda r: _joined(a["type"] for a in r["threat_actors"])),
    ("threat_actor_locations", lambda r: _joined(a["location"] for a in r["threat_actors"])),
)


def _invisible(char: str) -> bool:
    if char.isspace() or unicodedata.category(char) in ("Cc", "Cf", "Zs", "Zl", "Zp"):
        return True
    code = ord(char)
    return any(low <= code <= high for low, high in _IGNORABLE)


def reads_as_formula(text: str) -> bool:
    """Whether a spreadsheet could run ``text``: it starts with a tab or a carriage return,
    or its first visible character, after whitespace and invisible characters of every kind
    (spaces, tabs, line breaks, no-break and ideographic spaces, zero-width characters, the
    byte order mark), folded by NFKC, starts a formula. Character by character: NFKC over
    the whole text would fold "=" and a combining stroke after it into "≠" and miss it."""
    if text.startswith(CONTROL_STARTS):
        return True
    for char in text:
        if _invisible(char):
            continue
        visible = [c for c in unicodedata.normalize("NFKC", char) if not _invisible(c)]
        if visible:
            return visible[0] in FORMULA_STARTS
    return False


def neutralised(value) -> str:
    """The cell as text, with a leading apostrophe if a spreadsheet would run it. Numbers
    stay numbers (-5 is written -5); text is text ("-5" is written '-5)."""
    if type(value) is not str:
        if value is None:
            return ""
        if isinstance(value, int) or (isinstance(value, (float, Decimal)) and math.isfinite(value)):
            return str(value)
        value = str(value)
    if not value or value[0] in _PLAIN:
        return value
    return "'" + value if reads_as_formula(value) else value


class _Line:
    """A file-like object for csv.writer that hands back what was written."""

    def write(self, value):
        return value


def lines(rows):
    """Each row (a sequence of cells) as a CSV line, every cell neutralised."""
    writer = csv.writer(_Line())
    return (writer.writerow([neutralised(v) for v in row]) for row in rows)


def stream(records, *, member: bool, batch: int = 200):
    """The file, as text pieces of about ``batch`` rows each."""
    columns = MEMBER_COLUMNS if member else PUBLIC_COLUMNS
    yield BOM + next(lines([[name for name, _ in columns]]))
    pending = []
    for line in lines([get(record) for _, get in columns] for record in records):
        pending.append(line)
        if len(pending) >= batch:
            yield "".join(pending)
            pending = []
    if pending:
        yield "".join(pending)
