"""Every catalogue writer invalidates cached pages: write through it, then read as an
anonymous visitor (whose pages are cached whole): the change is visible at once.

Each write runs as it does in production, its transaction committed (on-commit
callbacks executed), and the page is read before the write so it is in the cache.
"""

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.urls import reverse

from incidents.importers.attack import import_attack, load_bundle
from incidents.importers.veris import RawRecord, VerisImporter, parse_record
from incidents.models import Incident
from tests.conftest import VERSIONS_READ
from tests.factories import IncidentFactory, TechniqueFactory, UserFactory

DATA = Path(__file__).resolve().parent.parent / "data"
FINDER = reverse("incidents:incident_list")
HOME = reverse("home")

pytestmark = pytest.mark.django_db


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run a write as committed: its on-commit callbacks (cache invalidation) run."""

    def run(write, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return write(*args, **kwargs)

    return run


def anonymous(path):
    return Client().get(path).content.decode()


def test_the_anonymous_pages_read_here_are_cached(django_assert_num_queries):
    """A second read is the cached page (no query but the catalogue's versions): the tests
    below measure invalidation."""
    IncidentFactory(summary="Cached summary.")
    assert "Cached summary." in anonymous(FINDER)
    with django_assert_num_queries(VERSIONS_READ):
        assert "Cached summary." in anonymous(FINDER)


def test_a_bulk_update_and_raw_sql(committed):
    """No writer path, no signal: the database's triggers change the version."""
    incident = IncidentFactory(summary="Cached summary.")
    assert "Cached summary." in anonymous(FINDER)
    Incident.objects.filter(pk=incident.pk).update(summary="Changed in bulk.")
    assert "Changed in bulk." in anonymous(FINDER)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE incidents_incident SET summary = 'Changed by SQL.' WHERE id = %s",
            [incident.pk],
        )
    assert "Changed by SQL." in anonymous(FINDER)


def test_model_save(committed):
    incident = IncidentFactory(summary="Before the edit.")
    assert "Before the edit." in anonymous(FINDER)
    incident.summary = "After the edit."
    committed(incident.save)
    assert "After the edit." in anonymous(FINDER)


def admin_action(action, incident):
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    url = reverse("admin:incidents_incident_changelist")
    client.post(url, {"action": action, "_selected_action": [str(incident.pk)]})


def test_admin_publish(committed):
    draft = IncidentFactory(status="draft", organisation__name="Hidden Until Published")
    assert "Hidden Until Published" not in anonymous(FINDER)
    committed(admin_action, "publish", draft)
    draft.refresh_from_db()
    assert "Hidden Until Published" in anonymous(FINDER)
    assert Client().get(draft.get_absolute_url()).status_code == 200


def test_admin_unpublish(committed):
    incident = IncidentFactory(organisation__name="Withdrawn Victim")
    assert "Withdrawn Victim" in anonymous(FINDER)
    assert Client().get(incident.get_absolute_url()).status_code == 200
    committed(admin_action, "unpublish", incident)
    assert "Withdrawn Victim" not in anonymous(FINDER)
    assert Client().get(incident.get_absolute_url()).status_code == 404


def test_veris_importer_without_its_command(committed):
    assert "Imported Victim Ltd" not in anonymous(FINDER)
    record = {
        "timeline": {"incident": {"year": 2021, "month": 4}},
        "victim": {"victim_id": "Imported Victim Ltd", "country": ["GB"]},
        "summary": "Imported\x0b through the VERIS importer.",
    }
    parsed = parse_record(RawRecord("test", "KEY-1", record))

    committed(VerisImporter(publish=True).run, [parsed])
    assert "Imported Victim Ltd" in anonymous(FINDER)
    assert Incident.objects.get(external_id="KEY-1").summary == (
        "Imported through the VERIS importer."
    )


def test_attack_importer_without_its_command(committed):
    assert "<strong>0</strong> threat actors" in anonymous(HOME)
    committed(import_attack, load_bundle(str(DATA / "attack" / "enterprise-sample.json")))
    assert "<strong>0</strong> threat actors" not in anonymous(HOME)


def test_generator(committed):
    TechniqueFactory(attack_id="T1566")
    assert "<strong>0</strong> incidents" in anonymous(HOME)
    committed(
        call_command,
        "generate_incidents",
        count=20,
        seed=1,
        publish_ratio=1,
        stdout=StringIO(),
    )
    assert "<strong>20</strong> incidents" in anonymous(HOME)


def test_seed_demo(committed, settings):
    settings.DEBUG = True
    assert "<strong>0</strong> incidents" in anonymous(HOME)
    committed(call_command, "seed_demo", quiet_accounts=True, stdout=StringIO())
    published = Incident.objects.published().count()
    assert published
    assert f"<strong>{published}</strong> incidents" in anonymous(HOME)
