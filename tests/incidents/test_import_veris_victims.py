"""One organisation per victim across VCDB's records (issue 22): the state tells
same-named victims apart; a record without a state or country joins the one victim of
that name it can only mean (incidents/importers/veris/victims.py)."""

import json
from io import StringIO

import pytest
from django.core.management import call_command

from incidents import rules
from incidents.importers.veris import RawRecord, parse_record
from incidents.importers.veris.victims import resolve_victims
from incidents.models import Incident, Organisation


def record(n, name, country=("US",), state=None):
    victim = {"victim_id": name, "country": list(country), "industry": "622110"}
    if state is not None:
        victim["state"] = state
    return {
        "incident_id": f"V-{n}",
        "summary": f"Record {n}.",
        "timeline": {"incident": {"year": 2019, "month": 1, "day": n % 28 + 1}},
        "victim": victim,
    }


def parsed(*records):
    return [
        parse_record(RawRecord(f"t.jsonl:{i}", r["incident_id"], r))
        for i, r in enumerate(records, 1)
    ]


def identities(records):
    resolve_victims(records)
    return [(p.org_country, p.org_state) for p in records]


@pytest.mark.parametrize(
    "value, country, code",
    [("US-CA", "US", "CA"), ("California", "US", "CA"), ("tx", "US", "TX"), ("CA-ON", "CA", "ON"),
     ("Scotland", "GB", "Scotland"), ("", "US", "")],
)  # fmt: skip
def test_region_codes(value, country, code):
    assert rules.region_code(value, country) == code


def test_same_named_victims_in_two_states_stay_apart():
    records = parsed(
        record(1, "Methodist Hospital", state="TX"),
        record(2, "Methodist Hospital", state="KY"),
        record(3, "Methodist Hospital", state="TN"),
    )
    assert identities(records) == [("US", "TX"), ("US", "KY"), ("US", "TN")]


def test_a_name_also_given_without_a_state_is_one_national_organisation():
    records = parsed(
        record(1, "Microsoft", state="WA"),
        record(2, "Microsoft", state="CA"),
        record(3, "Microsoft Corp"),
    )
    assert identities(records) == [("US", "")] * 3


def test_an_unknown_country_joins_the_one_organisation_of_that_name():
    records = parsed(
        record(1, "Microsoft"),
        record(2, "Microsoft", state="WA"),
        record(3, "Microsoft", ["Unknown"]),
    )
    assert identities(records)[2] == ("US", "")
    records = parsed(record(1, "Acme Clinic", state="OH"), record(2, "Acme Clinic", ["Unknown"]))
    assert identities(records)[1] == ("US", "OH")


def test_an_unknown_country_stays_apart_when_the_name_has_several():
    records = parsed(
        record(1, "Google", ["US"]), record(2, "Google", ["IE"]), record(3, "Google", ["Unknown"])
    )
    assert identities(records)[2] == ("", "")


def test_placeholder_victims_are_not_split_by_state():
    records = parsed(record(1, "Unknown", state="TX"), record(2, "Unknown", state="KY"))
    assert identities(records) == [("US", ""), ("US", "")]


@pytest.mark.django_db
def test_import_makes_one_organisation_per_victim(tmp_path):
    path = tmp_path / "v.jsonl"
    rows = [
        record(1, "Methodist Hospital", state="TX"),
        record(2, "Methodist Hospital", state="KY"),
        record(3, "Microsoft", state="WA"),
        record(4, "Microsoft Corporation", state="CA"),
        record(5, "Microsoft"),
        record(6, "Microsoft", ["Unknown"]),
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    call_command("import_veris", str(path), stdout=StringIO(), stderr=StringIO())
    methodist = Organisation.objects.filter(name="Methodist Hospital")
    assert sorted(methodist.values_list("state", flat=True)) == ["KY", "TX"]
    microsoft = Organisation.objects.get(name__startswith="Microsoft")
    assert (microsoft.country, microsoft.state) == ("US", "")
    assert Incident.objects.filter(organisation=microsoft).count() == 4
    # Idempotent: a second run moves nothing.
    call_command("import_veris", str(path), stdout=StringIO(), stderr=StringIO())
    assert Organisation.objects.count() == 3
