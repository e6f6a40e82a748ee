"""Formula cells in every CSV the portal writes (issue 21, item 6): a cell a spreadsheet
would run, once it trims the leading whitespace of any kind or reads a fullwidth ＝ as =,
gets a leading apostrophe, whichever file it is in (the streamed finder export, the
emailed export, the statistics' CSVs, the whole public catalogue's file)."""

import csv
import io
import unicodedata

import pytest
from django.core.files.storage import storages
from django.test import Client
from hypothesis import given, settings
from hypothesis import strategies as st

from incidents.exports import csvfile, snapshot
from incidents.models import ExportJob
from tests.conftest import client_for
from tests.factories import IncidentFactory, OrganisationFactory, SubscriptionFactory

# What spreadsheet programs skip (LibreOffice's "Trim spaces", Excel's own trimming) or do
# not show before a cell's first character.
BLANKS = (
    " \t\r\n\x0b\x0c\x85\xa0\u1680\u180e\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
    "\u2008\u2009\u200a\u200b\u200c\u200d\u200e\u200f\u2028\u2029\u202f\u205f\u2060\u3000\ufeff"
)
# "=", "+", "-", "@" and what NFKC folds into them: fullwidth, small, superscript, subscript.
STARTS = "=+-@＝＋－＠﹦﹢﹣﹫⁼₌⁺₊"
PAYLOADS = [
    " =1+1",
    "\t=1+1",
    "\n@SUM(A1)",
    "\r\n+1",
    "\xa0-1+1",
    "\u200b=HYPERLINK(1)",
    "\u200c\u200d=1",
    "\ufeff=1",
    "\u3000@A1",
    "\u2060\u202f=1",
    "＝HYPERLINK(1)",
    "  ＋1",
    "\u2003－1",
    "＠SUM(A1)",
    "﹦1",
    "⁼1",
]


@pytest.mark.parametrize("text", PAYLOADS)
def test_a_formula_after_whitespace_or_in_fullwidth_is_neutralised(text):
    assert csvfile.neutralised(text) == "'" + text


@pytest.mark.parametrize("text", ["plain", "a=1", "1-2", "Ünïcode", " plain", "\u3000text", ""])
def test_other_text_is_kept_as_it_is(text):
    assert csvfile.neutralised(text) == text


def test_numbers_stay_numbers():
    assert csvfile.neutralised(-5) == "-5"
    assert csvfile.neutralised(0) == "0"
    assert csvfile.neutralised(12) == "12"
    assert csvfile.neutralised(-2.5) == "-2.5"
    # A negative number written as text is text: a spreadsheet would read it as a formula.
    assert csvfile.neutralised("-5") == "'-5"
    assert csvfile.neutralised(None) == ""


@settings(max_examples=300, deadline=None, database=None)
@given(
    blanks=st.text(alphabet=st.sampled_from(BLANKS), max_size=6)
    | st.text(alphabet=st.characters(categories=["Zs", "Zl", "Zp", "Cf"]), max_size=6),
    start=st.sampled_from(STARTS),
    rest=st.text(max_size=20),
)
def test_any_leading_unicode_whitespace_before_a_formula_is_neutralised(blanks, start, rest):
    text = blanks + start + rest
    assert csvfile.neutralised(text) == "'" + text


def _first_visible(text: str) -> str:
    """The first character a spreadsheet would read, computed another way than the writer:
    the whole text folded by NFKC, then whitespace and invisible format characters dropped."""
    folded = unicodedata.normalize("NFKC", text)
    kept = [c for c in folded if not c.isspace() and unicodedata.category(c) not in ("Cf", "Cc")]
    return kept[0] if kept else ""


@settings(max_examples=500, deadline=None, database=None)
@given(text=st.text(max_size=30))
def test_a_cell_is_kept_whole_and_never_left_a_formula(text):
    cell = csvfile.neutralised(text)
    assert cell in (text, "'" + text)  # nothing lost, at most an apostrophe in front
    if cell == text and text:
        assert _first_visible(text) not in {"=", "+", "-", "@"}, text


def _cells(body: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(body.lstrip("\ufeff"))) for cell in row]


def _assert_neutralised(body: str, payloads):
    cells = _cells(body)
    for payload in payloads:
        assert "'" + payload in cells, payload
        assert payload not in cells, payload


@pytest.fixture
def formulas(db, settings, exports_storage):
    settings.SITE_URL = "http://testserver"
    victim = OrganisationFactory(name=" =cmd|' /C calc'!A0")
    IncidentFactory(
        organisation=victim,
        summary="\u200b=HYPERLINK(1)",
        description="\xa0@SUM(A1)",
    )
    IncidentFactory(organisation=victim, summary="＝1+1", description="\t\n+1")
    return [victim.name, "\u200b=HYPERLINK(1)", "\xa0@SUM(A1)", "＝1+1", "\t\n+1"]


def test_the_streamed_export(formulas):
    for kind in ("anonymous", "member"):
        response = client_for(kind).get("/incidents/export.csv")
        _assert_neutralised(b"".join(response.streaming_content).decode(), formulas)


def test_the_emailed_export(formulas, settings):
    settings.EXPORT_EMAIL_THRESHOLD = 1
    user = SubscriptionFactory().user
    client = Client()
    client.force_login(user)
    client.get("/incidents/export.csv")
    job = ExportJob.objects.get(user=user)
    with storages["exports"].open(job.file_name, "rb") as handle:
        _assert_neutralised(handle.read().decode(), formulas)


def test_the_statistics_csv(formulas):
    body = client_for("anonymous").get("/statistics/victims.csv").content.decode()
    _assert_neutralised(body, formulas[:1])


def test_the_whole_public_catalogues_file(formulas):
    made = snapshot.build_now("csv")
    with storages["exports"].open(made.file_name, "rb") as handle:
        _assert_neutralised(handle.read().decode(), formulas)
