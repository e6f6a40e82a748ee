"""The public CSV and JSON read plain tuples (incidents.exports.records.public_records):
the file must be the one the model-instance writer (records.public_record) gives, byte for
byte, on SQLite and PostgreSQL."""

import datetime
import json

import pytest

from incidents import filters, search
from incidents.exports import build, csvfile, jsonfile, records
from incidents.models import Dataset, Incident
from tests.factories import (
    IncidentFactory,
    MotiveFactory,
    OrganisationFactory,
    SectorFactory,
    SourceFactory,
    TechniqueFactory,
    ThreatActorFactory,
)

BASE = "https://portal.example"


@pytest.fixture
def world(db):
    veris = Dataset.objects.create(
        slug="veris",
        name="VERIS Community Database",
        licence="CC BY-SA 4.0",
        licence_url="https://creativecommons.org/licenses/by-sa/4.0/",
    )
    bare = Dataset.objects.create(slug="bare", name="=Bare dataset")
    awkward = OrganisationFactory(
        name='+Victim, "quoted"\nover two lines', country="", website="=HYPERLINK(1)"
    )
    plain = OrganisationFactory(name="Société Générale 日本", country="FR")
    sector = SectorFactory(name="-Health, care")
    day = datetime.date(2021, 5, 17)
    made = [
        IncidentFactory(
            organisation=plain, date=day, sector=sector, dataset=veris, external_id="v-1"
        ),
        IncidentFactory(
            organisation=plain, date=day, records_affected=None, dataset=bare, external_id="b-1"
        ),
        IncidentFactory(
            organisation=awkward,
            date=datetime.date(2020, 1, 1),
            date_precision="year",
            country="",
            summary="@SUM(A1) victim",
            description="\ttabbed\r\nand | piped é",
            records_affected=0,
        ),
        IncidentFactory(
            organisation=awkward,
            date=datetime.date(2022, 3, 1),
            date_precision="month",
            country="US",
            summary="",
            description="",
            records_affected=10**12,
            motives=[MotiveFactory(), MotiveFactory()],
            techniques=[TechniqueFactory()],
            threat_actors=[ThreatActorFactory(), ThreatActorFactory(), ThreatActorFactory()],
        ),
        IncidentFactory(organisation=plain, date=day, motives=[MotiveFactory()]),
    ]
    IncidentFactory(organisation=plain, status=Incident.Status.DRAFT, summary="draft victim")
    first, second, third, fourth, _ = made
    SourceFactory(incident=first, published_on=datetime.date(2021, 6, 1))
    SourceFactory(incident=first, published_on=None, url="", citation="-Printed, p. 3")
    SourceFactory(incident=first, published_on=datetime.date(2021, 5, 20), url="https://a | b")
    SourceFactory(incident=third, url="", citation="Book | chapter", published_on=None)
    SourceFactory(incident=third, published_on=None)
    SourceFactory(incident=fourth, published_on=datetime.date(2022, 3, 2), title="=T")
    return made


def old_records(incidents, sort, rows):
    """What the export wrote before: model instances, records.public_record."""
    selected = incidents.for_export(member=False).order_by(*filters.SORTS[sort])[:rows]
    return [records.public_record(incident, BASE) for incident in selected]


def new_pieces(fmt, incidents, sort, rows):
    return build.pieces(
        fmt, incidents, rows=rows, sort=sort, params={}, member=False, base_url=BASE
    )


def selection(text):
    incidents = Incident.objects.published()
    return search.search(incidents, text, member=False) if text else incidents


CASES = [
    ("newest", "", 100),
    ("oldest", "", 100),
    ("records", "", 100),
    ("newest", "", 3),  # cut short, across a chunk boundary
    ("relevance", "victim", 100),
]


@pytest.mark.parametrize(("sort", "text", "rows"), CASES)
def test_public_csv_is_byte_for_byte_the_model_writers(sort, text, rows, world, settings):
    settings.EXPORT_CHUNK_SIZE = 2  # several chunks, one cut in the middle
    old = "".join(csvfile.stream(old_records(selection(text), sort, rows), member=False))
    new = "".join(new_pieces("csv", selection(text), sort, rows))
    assert new.encode() == old.encode()
    assert new.count("\n") > 3  # the fixture's rows are in it (a header alone is not)


@pytest.mark.parametrize(("sort", "text", "rows"), CASES)
def test_public_json_is_byte_for_byte_the_model_writers(sort, text, rows, world, settings):
    settings.EXPORT_CHUNK_SIZE = 2
    new = "".join(new_pieces("json", selection(text), sort, rows))
    head = json.loads(new)
    for key in ("format", "incidents", "count"):
        head.pop(key)  # the same head (its generated_at) around the old writer's records
    old = "".join(jsonfile.stream(old_records(selection(text), sort, rows), head=head))
    assert new.encode() == old.encode()
    assert json.loads(new)["count"] >= 2  # the fixture's rows are in it
