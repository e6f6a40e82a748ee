"""Exports on PostgreSQL, in autocommit as a request is served (transactional: listed in the
Makefile's TRANSACTIONAL_TESTS, run in the serial step)."""

import pytest
from django.db import connection

from tests.conftest import client_for
from tests.factories import IncidentFactory, OrganisationFactory
from tests.incidents.test_exports import csv_rows

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="server-side cursors and JIT are PostgreSQL's"
)


@pytest.mark.django_db(transaction=True)  # autocommit, as a request is served
def test_rows_come_from_a_cursor_postgresql_does_not_run_to_the_end_first(settings):
    """Outside a transaction Django declares a WITH HOLD cursor, which PostgreSQL runs to
    the last row before it hands over the first (a 1,000,000-row export would wait for
    all of them): the rows are read inside one, from a cursor that is not holdable, and
    without JIT compilation (which cost seconds before the first row at 1,000,000)."""
    settings.EXPORT_CHUNK_SIZE = 100
    IncidentFactory.create_batch(250, organisation=OrganisationFactory())
    response = client_for("anonymous").get("/incidents/export.csv")
    pieces = iter(response.streaming_content)
    head = next(pieces)  # the header row, before any incident is read
    first = next(pieces)  # the first 200 rows: the cursor is open, 50 rows still to come
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT is_holdable FROM pg_cursors")
            holdable = cursor.fetchall()
            cursor.execute("SHOW jit")  # nothing to compile for index lookups
            jit = cursor.fetchone()
    finally:
        rest = b"".join(pieces)  # the cursor and its transaction closed either way
    assert holdable == [(False,)]
    assert jit == ("off",)
    assert len(csv_rows(head + first + rest)) == 250
    assert not connection.in_atomic_block
