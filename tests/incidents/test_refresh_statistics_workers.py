"""``refresh_statistics --workers N`` counts roll-ups on N connections at once (the rebuild
at a million incidents: docs/performance.md). Transactional: each worker thread reads the
catalogue through its own connection, which sees only committed rows."""

from urllib.parse import parse_qsl

import pytest
from django.core.management import call_command

from incidents.models import StatisticsRollup
from incidents.statistics import rollups
from tests.factories import IncidentFactory, MotiveFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_workers_count_every_roll_up_as_one_worker_would():
    IncidentFactory(country="GB", motives=[MotiveFactory(name="WorkerMotive")])
    IncidentFactory(country="US", records_affected=10)
    IncidentFactory(country="US", records_affected=30)
    call_command("refresh_statistics", workers=2, verbosity=0)
    stored = list(StatisticsRollup.objects.values_list("audience", "query", "charts"))
    assert {("public", "country=GB"), ("public", "country=US"), ("member", "")} <= {
        (a, q) for a, q, _ in stored
    }
    for audience, query, charts in stored:
        assert rollups.decode(charts) == rollups.count(audience, dict(parse_qsl(query)))


def test_on_sqlite_the_workers_are_one(capsys):
    """SQLite takes one writer at a time (a shared in-memory test database even fails with
    "table is locked"): the command counts on one connection and says so."""
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL counts on several connections")
    IncidentFactory(country="GB")
    call_command("refresh_statistics", workers=2, verbosity=0)
    assert "counting on one connection" in capsys.readouterr().err
    assert StatisticsRollup.objects.filter(audience="public", query="country=GB").exists()
