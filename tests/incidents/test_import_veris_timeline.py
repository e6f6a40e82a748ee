"""The VERIS importer's timeline (incidents.importers.veris.timeline): the notification
date as disclosed, the relative discovery converted no more precisely than its values
allow (the raw values kept), the status of suspected and near-miss incidents, and an
impossible timeline kept as a draft and reported."""

import datetime
import json
from io import StringIO

import pytest
from django.core.management import call_command

from incidents import quality
from incidents.importers.veris import RawRecord, parse_record
from incidents.models import Incident
from tests.incidents.test_import_veris import import_veris, record

D = datetime.date
TODAY = D(2024, 6, 15)


def parse(data):
    return parse_record(RawRecord("test.jsonl:1", "TEST-0001", data), today=TODAY)


def veris_timeline(incident, **relative):
    return {"incident": incident, **relative}


DAY_2019 = {"year": 2019, "month": 11, "day": 20}
MAR_2010 = {"year": 2010, "month": 3}
YEAR_2010 = {"year": 2010}


def after(unit, value=None, compromise=None):
    """A VERIS discovery ("2 Months"), after a compromise (a unit, or a unit and a value)."""
    relative = {"discovery": {"unit": unit} if value is None else {"unit": unit, "value": value}}
    if compromise is not None:
        unit, *value = compromise
        relative["compromise"] = {"unit": unit, **({"value": value[0]} if value else {})}
    return relative


NONE = (None, "day")


@pytest.mark.parametrize(
    ("incident", "relative", "discovered"),
    [
        # "3 Days" after 20 Nov 2019: 23 or 24 Nov (the hour is unknown): that month.
        (DAY_2019, after("Days", 3), (D(2019, 11, 1), "month")),
        # Minutes after a day: that day or the next: the month.
        (DAY_2019, after("Minutes", 5), (D(2019, 11, 1), "month")),
        # 1 to 2 months after 20 Nov 2019: Dec 2019 or Jan 2020: no single year, no date.
        (DAY_2019, after("Months", 1), NONE),
        # 2 to 3 months after it: in 2020.
        (DAY_2019, after("Months", 2), (D(2020, 1, 1), "year")),
        (MAR_2010, after("Months", 2), (D(2010, 1, 1), "year")),
        # "3 Years" after 2010: at least 3 and less than 4 years: 2013 or 2014.
        (YEAR_2010, after("Years", 3), NONE),
        # A unit without a value: "Days" is one day to a week.
        ({**DAY_2019, "day": 2}, after("Days"), (D(2019, 11, 1), "month")),
        # Nothing to count with.
        (DAY_2019, after("Unknown"), NONE),
        (DAY_2019, after("NA"), NONE),
        (YEAR_2010, after("Years"), NONE),
        # The compromise comes first: an Unknown one leaves the discovery unknown ...
        (DAY_2019, after("Days", 3, compromise=("Unknown",)), NONE),
        # ... a "not applicable" one adds nothing, a counted one adds its time.
        (MAR_2010, after("Months", 2, compromise=("NA",)), (D(2010, 1, 1), "year")),
        (MAR_2010, after("Months", 9, compromise=("Minutes",)), NONE),
        (MAR_2010, after("Weeks", 1, compromise=("Months", 2)), (D(2010, 1, 1), "year")),
    ],
)
def test_a_relative_discovery_is_a_date_only_as_precise_as_its_values(
    incident, relative, discovered
):
    parsed = parse(record(timeline=veris_timeline(incident, **relative)))
    assert parsed.timeline.discovered == discovered
    # The values as the record gave them, converted or not.
    assert parsed.timeline.raw["timeline"] == veris_timeline(incident, **relative)


@pytest.mark.parametrize(
    ("notification", "disclosed", "warned"),
    [
        ({"year": 2020, "month": 1, "day": 20}, (D(2020, 1, 20), "day"), False),
        ({"year": 2020, "month": 1}, (D(2020, 1, 1), "month"), False),
        ({"year": 2020}, (D(2020, 1, 1), "year"), False),
        ({"year": 2020, "month": 2, "day": 30}, (D(2020, 2, 1), "month"), True),
        ({"year": 2020, "month": 13, "day": 1}, (D(2020, 1, 1), "year"), True),
        ({"year": 20020, "month": 1, "day": 1}, (None, "day"), True),
        ({"month": 1, "day": 1}, (None, "day"), True),
        ({}, (None, "day"), False),
    ],
)
def test_the_notification_date_is_the_disclosure_as_far_as_it_is_valid(
    notification, disclosed, warned
):
    parsed = parse(record(plus={"timeline": {"notification": notification}}))
    assert parsed.timeline.disclosed == disclosed
    fields = {f for f, _ in parsed.warnings}
    assert any(f.startswith("plus.timeline.notification") for f in fields) is warned
    assert not parsed.held


def test_the_lag_is_counted_from_the_day_it_occurred_to_the_day_it_was_disclosed():
    parsed = parse(
        record(plus={"timeline": {"notification": {"year": 2020, "month": 1, "day": 20}}})
    )
    columns = parsed.timeline.columns()
    assert columns["occurred_on"] == D(2019, 11, 20)
    assert columns["disclosure_lag_days"] == 61


@pytest.mark.parametrize(
    ("notification", "problem"),
    [
        ({"year": 2019, "month": 11, "day": 19}, "Disclosed (19 Nov 2019) cannot be before"),
        ({"year": 2019, "month": 10}, "Disclosed (Oct 2019) cannot be before"),
        ({"year": 2103, "month": 2, "day": 26}, "Disclosed date 26 Feb 2103 is in the future"),
    ],
)
def test_an_impossible_timeline_is_held_as_a_draft_and_reported(notification, problem):
    parsed = parse(record(plus={"timeline": {"notification": notification}}))
    assert parsed.held
    assert parsed.timeline.columns()["disclosure_lag_days"] is None
    assert any(
        f == "plus.timeline.notification" and m.startswith(problem) and "draft" in m
        for f, m in parsed.warnings
    )


@pytest.mark.parametrize(
    ("value", "confirmation"),
    [("Confirmed", "confirmed"), ("Suspected", "suspected"), ("Near miss", "near-miss")],
)
def test_suspected_and_near_miss_keep_their_status(value, confirmation):
    assert parse(record(security_incident=value)).timeline.confirmation == confirmation


def write_records(tmp_path, *records):
    path = tmp_path / "timeline.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


@pytest.mark.django_db
def test_the_import_fills_the_timeline_and_keeps_an_impossible_one_a_draft(tmp_path):
    good = record(
        incident_id="GOOD",
        timeline=veris_timeline(DAY_2019, discovery={"unit": "Days", "value": 3}),
        plus={"timeline": {"notification": {"year": 2020, "month": 1, "day": 20}}},
        security_incident="Suspected",
    )
    bad = record(
        incident_id="BAD",
        plus={"timeline": {"notification": {"year": 2019, "month": 1, "day": 2}}},
    )
    path = write_records(tmp_path, good, bad)
    out, _ = import_veris(path, publish=True)
    first = Incident.objects.get(external_id="GOOD")
    assert first.status == "published"
    assert (first.date, first.occurred_on, first.occurred_precision) == (
        D(2019, 11, 20),
        D(2019, 11, 20),
        "day",
    )
    assert (first.discovered_on, first.discovered_precision) == (D(2019, 11, 1), "month")
    assert (first.disclosed_on, first.disclosed_precision) == (D(2020, 1, 20), "day")
    assert first.disclosure_lag_days == 61
    assert first.confirmation == "suspected"
    assert first.timeline_raw["timeline"]["discovery"] == {"unit": "Days", "value": 3}
    second = Incident.objects.get(external_id="BAD")
    assert second.status == "draft"
    assert second.disclosed_on == D(2019, 1, 2)  # kept, for staff to look at
    assert "timeline.jsonl:2: plus.timeline.notification: warning: Disclosed (2 Jan 2019)" in out

    # Re-imported unchanged: nothing to write; a published record whose timeline became
    # impossible goes back to draft, its slug kept.
    out, _ = import_veris(path, publish=True)
    assert "incident: 2 unchanged" in out
    slug = first.slug
    good["plus"]["timeline"]["notification"] = {"year": 2019, "month": 10}
    path = write_records(tmp_path, good, bad)
    import_veris(path, publish=True)
    first.refresh_from_db()
    assert (first.status, first.slug, first.disclosure_lag_days) == ("draft", slug, None)


@pytest.mark.django_db
def test_the_catalogue_report_lists_impossible_timelines_and_raw_discoveries(tmp_path):
    raw = record(
        incident_id="RAW",
        victim={"victim_id": "Raw Victim", "country": ["US"]},
        timeline=veris_timeline(DAY_2019, discovery={"unit": "Months", "value": 1}),
    )
    bad = record(
        incident_id="BAD",
        victim={"victim_id": "Bad Victim", "country": ["US"]},
        plus={"timeline": {"notification": {"year": 2019, "month": 1, "day": 2}}},
    )
    import_veris(write_records(tmp_path, raw, bad), publish=True)
    out = StringIO()
    call_command("catalogue_report", stdout=out)
    text = out.getvalue()
    assert "1  impossible timelines" in text
    assert "1  relative discoveries kept raw, not as a date" in text
    assert "(draft): Disclosed (2 Jan 2019) cannot be before occurred (20 Nov 2019)." in text
    assert "{'unit': 'Months', 'value': 1} after an incident dated 20 Nov 2019" in text
    report = quality.build_report()
    assert [i.external_id for i, _ in report.impossible_timelines] == ["BAD"]
