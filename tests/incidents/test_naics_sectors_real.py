"""Issue 10, item 3: the NAICS -> sector table in docs/importers/veris.md is what the
importer does, for every distinct industry code of the real VCDB file."""

import json
import re
from pathlib import Path

import pytest

from incidents.importers.veris import naics_rule

ROOT = Path(__file__).resolve().parents[2]
VCDB = ROOT.parent / "shared" / "data" / "vcdb" / "vcdb_validated.jsonl"
DOC = ROOT / "docs" / "importers" / "veris.md"
ROW = re.compile(r"^\| `(\d+)` \|[^|]*\|[^|]*\|[^|]*\| ([a-z-]+) \|", re.MULTILINE)
NOT_NAICS = {"000", "999300", "432450", "932120", "632"}  # listed under the table

pytestmark = pytest.mark.skipif(
    not VCDB.exists(), reason=f"{VCDB} is absent (the real VCDB file lives outside the repo)"
)


def documented() -> dict[str, str]:
    return dict(ROW.findall(DOC.read_text(encoding="utf-8")))


def distinct_codes() -> set[str]:
    codes = set()
    with VCDB.open(encoding="utf-8") as fh:
        for line in fh:
            industry = json.loads(line).get("victim", {}).get("industry")
            if industry not in (None, ""):
                codes.add(str(industry))
    return codes


def test_every_code_in_vcdb_maps_as_the_docs_table_says():
    table = documented()
    assert len(table) > 30, "the table in docs/importers/veris.md was not found"
    unexplained = {}
    for code in sorted(distinct_codes()):
        rule = naics_rule(code)
        if rule is None:
            if code not in NOT_NAICS:
                unexplained[code] = "no sector, and not listed as 'Not NAICS'"
            continue
        prefix, sector = rule
        if table.get(prefix) != sector:
            unexplained[code] = f"{prefix} -> {sector}, docs say {table.get(prefix)}"
    assert not unexplained


def test_the_reviewed_cases_of_the_issue():
    assert naics_rule("511210") == ("5112", "technology")  # software publishers
    assert naics_rule("928120")[1] == "government"  # international affairs
    assert naics_rule("336411")[1] == "manufacturing"  # aerospace manufacturing
    assert naics_rule("928110")[1] == "defence"  # national security


def test_every_table_row_is_used_by_vcdb():
    used = {naics_rule(code)[0] for code in distinct_codes() if naics_rule(code)}
    assert set(documented()) == used
