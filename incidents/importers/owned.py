"""What a dataset owns on an incident it made: the values it wrote last, kept on its record
(IncidentRecord.values["wrote"]), so a re-import changes a field only while the incident
still holds what the dataset wrote there. A field staff edited since is theirs: a re-import
leaves it (and keeps noting what the dataset says now)."""

from __future__ import annotations

import datetime
import hashlib

from ..models import IncidentRecord

# Long text is remembered by a digest: enough to tell whether it changed.
DIGEST_OVER = 64


def jsonable(value):
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, str) and len(value) > DIGEST_OVER:
        return "sha256:" + hashlib.sha256(value.encode()).hexdigest()[:32]
    return value


def written(values: dict) -> dict:
    return {name: jsonable(value) for name, value in values.items()}


def not_edited(incident, values: dict, last: dict | None, groups=()) -> dict:
    """``values`` without the fields staff changed since the dataset last wrote them. A
    field of one of ``groups`` (fields computed together: the timeline's dates, the
    catalogue date and the lag) takes its whole group with it."""
    if not last:
        return values
    edited = {
        name for name in values if name in last and jsonable(getattr(incident, name)) != last[name]
    }
    for group in groups:
        if edited & set(group):
            edited |= set(group)
    return {name: value for name, value in values.items() if name not in edited}


class Records:
    """One dataset's records of a chunk's incidents: read in one query, written in bulk."""

    def __init__(self, dataset, external_ids, now):
        self.dataset, self.now = dataset, now
        self.rows = {
            r.external_id: r
            for r in IncidentRecord.objects.filter(dataset=dataset, external_id__in=external_ids)
        }
        self.create, self.update = [], []

    def last(self, external_id) -> dict | None:
        record = self.rows.get(external_id)
        return record.values.get("wrote") if record is not None else None

    def keep(self, external_id, incident_id, wrote: dict):
        record = self.rows.get(external_id)
        if record is None:
            record = IncidentRecord(
                incident_id=incident_id,
                dataset=self.dataset,
                external_id=external_id,
                values={"wrote": wrote},
                imported_at=self.now,
            )
            self.rows[external_id] = record
            self.create.append(record)
        elif record.values.get("wrote") != wrote:
            record.values = {**record.values, "wrote": wrote}
            record.imported_at = self.now
            self.update.append(record)

    def save(self):
        IncidentRecord.objects.bulk_create(self.create, batch_size=500)
        IncidentRecord.objects.bulk_update(self.update, ["values", "imported_at"], batch_size=500)
