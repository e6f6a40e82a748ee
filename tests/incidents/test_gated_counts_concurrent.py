"""Two transactions linking motives to one incident at once both count (PostgreSQL; SQLite
serialises writers, so the race cannot happen there).

The second transaction's recount waits for the first's lock on the incident row; it must
then count the first's committed link too, not the links as its statement first saw them
(migration 0023: the recount runs in the incident's BEFORE trigger, after the lock, in a
fresh snapshot)."""

import threading

import pytest
from django.db import connection, connections, transaction

from incidents.denormalised import gated_count_mismatches
from tests.factories import IncidentFactory, MotiveFactory

WAITS = 500  # polls of pg_stat_activity, 20 ms apart, for the second writer to wait


def waiting_on_a_lock():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_two_writers_linking_one_incident_at_once_both_count():
    if connection.vendor != "postgresql":
        pytest.skip("needs concurrent writers (PostgreSQL)")
    incident = IncidentFactory()
    first_motive, second_motive = MotiveFactory(), MotiveFactory()
    first_linked, second_waits = threading.Event(), threading.Event()
    errors = []

    def first():
        try:
            with transaction.atomic():
                incident.motives.add(first_motive)  # its recount locks the incident's row
                first_linked.set()
                second_waits.wait(timeout=30)
        except Exception as exc:
            errors.append(exc)
        finally:
            first_linked.set()
            connections.close_all()

    def second():
        try:
            first_linked.wait(timeout=30)
            with transaction.atomic():
                incident.motives.add(second_motive)  # waits for the first to commit
        except Exception as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    waited = False
    for _ in range(WAITS):
        if waiting_on_a_lock():
            waited = True
            break
        threading.Event().wait(0.02)
    second_waits.set()
    for thread in threads:
        thread.join()

    assert errors == []
    assert waited, "the second writer never waited for the first: no race was tested"
    incident.refresh_from_db()
    assert incident.motive_count == 2
    assert gated_count_mismatches() == []
