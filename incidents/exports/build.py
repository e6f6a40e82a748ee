"""One export, whoever writes it: the streamed response (incidents.views.exports) and the
emailed file (incidents.jobs) select the same rows and write them with the same writers,
so both have the same columns, licence notice and formula-injection neutralisation."""

from __future__ import annotations

import datetime
import tempfile

from django.conf import settings
from django.core.files import File
from django.db import connections, transaction

from .. import filters
from ..models import Dataset
from . import csvfile, jsonfile, records, stixbundle

FORMATS = {
    # format in the URL, also the file's suffix: (content type, members only)
    "csv": ("text/csv; charset=utf-8", False),
    "json": ("application/json", False),
    "stix.json": ("application/stix+json;version=2.1", True),
}


def pieces(
    fmt: str,
    incidents,
    *,
    rows: int,
    sort: str,
    params: dict,
    member: bool,
    base_url: str,
    tally: dict | None = None,
):
    """The file as text pieces: at most ``rows`` incidents, in the finder's order, with the
    audience's allow-list (``records.member_record`` only when ``member``). ``tally``, if
    given, gets ``"rows"``: the number of incidents written so far."""
    selected = incidents.for_export(member=member).order_by(*filters.SORTS[sort])[:rows]
    make_record = records.member_record if member else records.public_record
    fast = not member and fmt in ("csv", "json")
    plain = incidents.order_by(*filters.SORTS[sort])[:rows]
    datasets = list(Dataset.objects.order_by("name"))
    tally = {} if tally is None else tally
    tally["rows"] = 0

    def rows_out():
        """Read in chunks from one server-side cursor in a transaction. Outside one, Django
        declares the cursor WITH HOLD, and PostgreSQL then runs the whole query before the
        first row comes back: a 1,000,000-row export would wait for all of it."""
        # savepoint=False: only reads happen in it (and inside a test's transaction the
        # query count stays that of a request).
        with transaction.atomic(using=selected.db, savepoint=False):
            connection = connections[selected.db]
            if connection.vendor == "postgresql":
                # The query costs as much as reading every row, so PostgreSQL would
                # JIT-compile it: 1-2 s before the first row at 1,000,000 incidents, for
                # index lookups that gain nothing from it (docs/performance.md).
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL jit = off")
            if fast:
                # The public CSV and JSON: plain tuples, each chunk's sources in one query
                # (records.public_records gives the dict of records.public_record()).
                chosen = records.public_records(
                    plain, datasets, base_url, chunk_size=settings.EXPORT_CHUNK_SIZE
                )
            else:
                chosen = (
                    make_record(incident, base_url)
                    for incident in selected.iterator(chunk_size=settings.EXPORT_CHUNK_SIZE)
                )
            for record in chosen:
                tally["rows"] += 1
                yield record

    rows_out = rows_out()
    statement = records.licence(datasets, member=member)
    if fmt == "csv":
        return csvfile.stream(rows_out, member=member)
    if fmt == "json":
        head = {
            "generated_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "audience": "member" if member else "public",
            "query": params,
            "licence": statement,
        }
        return jsonfile.stream(rows_out, head=head)
    return stixbundle.stream(rows_out, statement=statement)


def save(pieces, storage, name: str) -> tuple[str, int]:
    """Write a file's text pieces to ``storage`` under ``name`` (through a scratch file: the
    storage gets it whole or not at all); (the name it was saved under, its size in bytes)."""
    with tempfile.TemporaryFile() as scratch:
        for piece in pieces:
            scratch.write(piece.encode())
        size = scratch.tell()
        scratch.seek(0)
        return storage.save(name, File(scratch, name=name)), size


def file_name(fmt: str) -> str:
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%d")
    return f"incidents-{stamp}.{fmt}"
