"""The full real VCDB (../shared/data) through import_veris, then the gating invariants.

Skipped with a clear reason when the shared data folder is absent (CI has it). The
import runs once per module inside a transaction that is rolled back at the end, so
the other test modules never see these 9,427 incidents; each test runs in its own
savepoint within it.
"""

import datetime
import time
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import transaction
from django.db.models import CharField, Count, Value
from django.db.models.functions import Cast, Concat

from incidents.models import (
    CIAPosture,
    Incident,
    Motive,
    Organisation,
    Source,
    Technique,
    ThreatActor,
)
from tests.conftest import client_for

SHARED = Path(settings.BASE_DIR).parent / "shared" / "data"
VCDB_FILE = SHARED / "vcdb" / "vcdb_validated.jsonl"
MAPPING = SHARED / "veris" / "master" / "veris-1.4.0_attack-16.1-enterprise.csv"
TAXONOMY = Path(settings.BASE_DIR) / "fixtures" / "taxonomy.json"

VCDB_RECORDS = 9427
WITH_VICTIM_COUNTRY = 9208
IMPOSSIBLE_TIMELINES = 73

pytestmark = pytest.mark.skipif(
    not VCDB_FILE.exists(),
    reason=f"the real VCDB file is not on this machine ({VCDB_FILE}); "
    "copy ../shared/data beside the project to run the integration test",
)


def import_veris(*args, **options):
    out = StringIO()
    call_command("import_veris", *map(str, args), stdout=out, stderr=StringIO(), **options)
    return out.getvalue()


def incident_counts(out):
    (line,) = [line for line in out.splitlines() if line.startswith("incident: ")]
    return line


@pytest.fixture(scope="module")
def vcdb(django_db_setup, django_db_blocker):
    """The taxonomy fixture and the whole validated VCDB, imported once and published."""
    options = {"publish": True}
    if MAPPING.exists():
        options["attack_mapping"] = MAPPING
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            call_command("loaddata", str(TAXONOMY), verbosity=0)
            started = time.perf_counter()
            out = import_veris(VCDB_FILE, **options)
            seconds = time.perf_counter() - started
        except BaseException:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
            raise
    print(f"\nVCDB import: {seconds:.1f} s ({settings.DATABASES['default']['ENGINE']})")
    yield {"out": out, "options": options}
    with django_db_blocker.unblock():
        transaction.set_rollback(True)
        outer.__exit__(None, None, None)


def by_key(key):
    return Incident.objects.select_related("organisation", "sector", "cia_posture").get(
        dataset__slug="vcdb", external_id=key
    )


@pytest.mark.django_db
def test_full_import_counts(vcdb):
    out = vcdb["out"]
    assert incident_counts(out) == f"incident: {VCDB_RECORDS} created"
    assert Incident.objects.filter(dataset__slug="vcdb").count() == VCDB_RECORDS
    assert Incident.objects.exclude(country="").count() == WITH_VICTIM_COUNTRY
    # The records whose timeline the rules refuse stay drafts (docs/importers/veris.md).
    assert Incident.objects.exclude(status="published").count() == IMPOSSIBLE_TIMELINES
    assert CIAPosture.objects.count() == VCDB_RECORDS
    # Every problem is a warning (impossible days), none a skipped record.
    # (The report lists the first problems, then "... and N more".)
    problems = [
        line
        for line in out.splitlines()
        if line.startswith("  ") and not line.startswith("  ... and ")
    ]
    assert problems and all(": warning: " in line for line in problems)
    assert Incident.objects.filter(motives__isnull=False).distinct().count() > 3000
    assert ThreatActor.objects.filter(is_unattributed=True).count() > 100
    if MAPPING.exists():
        assert Incident.objects.filter(techniques__isnull=False).distinct().count() > 100


# docs/importers/veris.md, "Incident types": the counts on the real file.
TYPE_COUNTS = {
    "data-breach": 6337,
    "error": 2717,
    "insider-misuse": 1815,
    "ransomware": 364,
    "ddos": 169,
    "defacement": 141,
    "wiper": 45,
    "bec": 27,
    "supply-chain": 21,
}
UNTYPED = 1616


@pytest.mark.django_db
def test_incident_types_as_documented(vcdb):
    through = Incident.types.through.objects.filter(incident__dataset__slug="vcdb")
    counted = dict(
        through.order_by().values_list("incidenttype__slug").annotate(n=Count("incident"))
    )
    assert counted == TYPE_COUNTS
    untyped = Incident.objects.filter(dataset__slug="vcdb", types=None)
    assert untyped.count() == UNTYPED
    # A visitor's finder narrows by type (public).
    page = client_for("anonymous").get("/incidents/?type=bec").content.decode()
    assert f"{TYPE_COUNTS['bec']} incidents" in page


@pytest.mark.django_db
def test_spot_values(vcdb):
    # An insider at the US Department of Veterans Affairs, a day-precise date.
    va = by_key("0001AA7F-C601-424A-B2B8-BE6C9F5164E7")
    assert va.external_id == "0001AA7F-C601-424A-B2B8-BE6C9F5164E7"
    assert va.organisation.name == "United States Department of Veterans Affairs"
    assert (va.country, va.sector.slug) == ("US", "government")
    assert (va.date, va.date_precision) == (datetime.date(2010, 4, 9), "day")
    assert va.summary == (
        "A billing clerk filed a claim for Patient A without consent to bill for 7332 "
        "protected health information. The bill has been cancelled."
    )
    assert va.records_affected == 1
    assert list(va.motives.all()) == []  # the record's motive is "Unknown"
    assert [a.name for a in va.threat_actors.all()] == ["Unattributed insider"]
    posture = va.cia_posture
    assert (posture.confidentiality, posture.integrity, posture.availability) == (
        "high",
        "high",
        "none",
    )
    assert list(va.sources.values_list("url", flat=True)) == ["http://vcdb.org/pdf/va-security.pdf"]

    # Espionage by a nation-state, known to the year only.
    timor = by_key("09D7BE5D-23E0-4D19-9396-40FFBB4D9BA1")
    assert timor.organisation.name == "TL Government of Timor-Leste"
    assert timor.country == "TL"
    assert (timor.date, timor.date_precision) == (datetime.date(2004, 1, 1), "year")
    assert timor.summary.startswith("Australia has been accused by East Timor of bugging")
    assert "whistleblower. That seizure was done legally" in timor.summary  # spaces collapsed
    assert timor.records_affected is None
    assert [m.slug for m in timor.motives.all()] == ["espionage"]
    assert [a.name for a in timor.threat_actors.all()] == ["Unattributed nation-state (Australia)"]
    assert timor.sources.count() == 4

    # Organized crime for money, known to the month, with millions of records.
    ameritrade = by_key("8F4508A0-EA75-4209-8E46-67D2BF949C2D")
    assert ameritrade.organisation.name == "TD Ameritrade Holding Corp"
    assert ameritrade.sector.slug == "finance"
    assert (ameritrade.date, ameritrade.date_precision) == (datetime.date(2007, 9, 1), "month")
    assert ameritrade.summary == "Hackers steal email address database from TD Ameritrade."
    assert ameritrade.records_affected == 6_300_000
    assert [m.slug for m in ameritrade.motives.all()] == ["financial"]
    assert [a.name for a in ameritrade.threat_actors.all()] == [
        "Unattributed organized crime (India)"
    ]
    assert ameritrade.cia_posture.confidentiality == "medium"
    assert ameritrade.cia_posture.availability == "medium"
    assert list(ameritrade.sources.values_list("url", flat=True))[:2] == [
        "http://www.sophos.com/en-us/press-office/press-releases/2007/09/ameritrade.aspx",
        "http://www.wired.com/threatlevel/2008/07/ameritrade-hack/",
    ]


@pytest.mark.django_db
def test_reimport_reports_all_unchanged(vcdb):
    before = (
        Incident.objects.count(),
        Organisation.objects.count(),
        ThreatActor.objects.count(),
        Source.objects.count(),
        CIAPosture.objects.count(),
        Incident.motives.through.objects.count(),
        Incident.techniques.through.objects.count(),
        Incident.threat_actors.through.objects.count(),
    )
    out = import_veris(VCDB_FILE, **vcdb["options"])
    assert incident_counts(out) == f"incident: {VCDB_RECORDS} unchanged"
    after = (
        Incident.objects.count(),
        Organisation.objects.count(),
        ThreatActor.objects.count(),
        Source.objects.count(),
        CIAPosture.objects.count(),
        Incident.motives.through.objects.count(),
        Incident.techniques.through.objects.count(),
        Incident.threat_actors.through.objects.count(),
    )
    assert after == before


def plant_canaries():
    """Rename every gated value to a unique CANARY string (bulk updates)."""

    def tagged(prefix):
        return Concat(Value(prefix), Cast("pk", CharField()))

    # An unattributed actor's name encodes its type and location (gated); a named actor's
    # name is public on its own page and the actor list (DESIGN.md), never on an incident's.
    ThreatActor.objects.filter(is_unattributed=True).update(name=tagged("CANARYACTOR"))
    ThreatActor.objects.filter(is_unattributed=False).update(name=tagged("NAMEDACTOR"))
    Motive.objects.update(name=tagged("CANARYMOTIVE"))
    Technique.objects.update(name=tagged("CANARYTECH"))
    CIAPosture.objects.update(notes=tagged("CANARYCIA"))


def sample_incidents():
    """~30 published imported incidents with actors and motives, spread over the set;
    a third of them with techniques too when the mapping linked any."""
    tagged = (
        Incident.objects.filter(dataset__slug="vcdb", status="published", motives__isnull=False)
        .filter(threat_actors__isnull=False)
        .distinct()
        .order_by("pk")
    )
    with_techniques = list(
        tagged.filter(techniques__isnull=False).distinct().values_list("pk", flat=True)
    )
    others = list(tagged.values_list("pk", flat=True))
    named = list(
        tagged.filter(threat_actors__is_unattributed=False).distinct().values_list("pk", flat=True)
    )
    chosen = named[:3]
    chosen += [
        pk for pk in with_techniques[:: max(1, len(with_techniques) // 10)][:10] if pk not in chosen
    ]
    chosen += [pk for pk in others[:: max(1, len(others) // 25)] if pk not in chosen]
    return list(Incident.objects.filter(pk__in=chosen[:30]).select_related("organisation"))


def expected_canaries(incident):
    canaries = [
        f"{'CANARYACTOR' if unattributed else 'NAMEDACTOR'}{pk}"
        for pk, unattributed in incident.threat_actors.values_list("pk", "is_unattributed")
    ]
    canaries += [f"CANARYMOTIVE{pk}" for pk in incident.motives.values_list("pk", flat=True)]
    canaries += [f"CANARYTECH{pk}" for pk in incident.techniques.values_list("pk", flat=True)]
    canaries.append(f"CANARYCIA{incident.cia_posture.pk}")
    return canaries


def public_pages(incidents):
    pages = ["/incidents/", "/incidents/?page=2", "/incidents/?page=3"]
    pages += [i.get_absolute_url() for i in incidents]
    pages += ["/actors/", "/organisations/", "/incidents/feed/", "/sitemap.xml"]
    pages += [f"/sitemap-{section}.xml" for section in ("pages", "incidents", "organisations")]
    pages += ["/sitemap-actors.xml"]
    pages += sorted({i.organisation.get_absolute_url() for i in incidents})[:5]
    return pages


@pytest.mark.django_db
def test_no_gated_value_reaches_a_non_member_after_the_full_import(vcdb):
    plant_canaries()
    incidents = sample_incidents()
    assert len(incidents) >= 25
    assert any(i.techniques.exists() for i in incidents) or not MAPPING.exists()
    assert any(i.threat_actors.filter(is_unattributed=False).exists() for i in incidents)
    pages = public_pages(incidents)
    for kind in ("anonymous", "expired_member"):
        client = client_for(kind)
        for path in pages:
            response = client.get(path)
            assert response.status_code == 200, (kind, path)
            body = b"".join(response) if response.streaming else response.content
            assert b"CANARY" not in body + str(response.headers).encode(), (kind, path)
            if path.startswith("/incidents/"):
                assert b"NAMEDACTOR" not in body, (kind, path)
    # The non-member incident page still says how many there are.
    body = client_for("anonymous").get(incidents[0].get_absolute_url()).content.decode()
    n = incidents[0].threat_actors.count()
    assert f"{n} actor{'s' if n != 1 else ''}" in body
    # Unattributed actors: no page for non-members.
    actor = incidents[0].threat_actors.filter(is_unattributed=True).first()
    assert client_for("anonymous").get(actor.get_absolute_url()).status_code == 404


@pytest.mark.django_db
def test_members_see_the_canaries_of_the_same_pages(vcdb):
    plant_canaries()
    incidents = sample_incidents()
    client = client_for("member")
    for incident in incidents:
        body = client.get(incident.get_absolute_url()).content.decode()
        for canary in expected_canaries(incident):
            assert canary in body, (incident.external_id, canary)
    actor = incidents[0].threat_actors.filter(is_unattributed=True).first()
    assert client.get(actor.get_absolute_url()).status_code == 200
