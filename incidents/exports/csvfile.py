"""CSV: one row per incident, a header row, UTF-8 with a byte order mark (so that
spreadsheet programs read the accents right), multi-valued cells joined with " | "."""

from __future__ import annotations

import csv

SEPARATOR = " | "
BOM = "\ufeff"
# A cell starting with one of these is read as a formula by spreadsheet programs.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _joined(values) -> str:
    return SEPARATOR.join(v.replace(SEPARATOR, " / ") for v in values)


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


def neutralised(value) -> str:
    """The cell as text, with a leading apostrophe if a spreadsheet would run it."""
    if value is None:
        return ""
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


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
    yield BOM + csv.writer(_Line()).writerow([name for name, _ in columns])
    pending = []
    for line in lines([get(record) for _, get in columns] for record in records):
        pending.append(line)
        if len(pending) >= batch:
            yield "".join(pending)
            pending = []
    if pending:
        yield "".join(pending)
