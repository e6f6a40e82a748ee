"""One incident as an export record, per audience (allow-lists: a field is in a file
only if it is named here)."""

from __future__ import annotations

import re

from django.urls import reverse
from django_countries.fields import Country

from ..models import Impact, Incident, Source, incident_date_iso

OWN_RECORDS_LICENCE = "Cyber Incident Portal"


def _country(value) -> str:
    return value.code if value else ""


def _iso(value) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


# The timeline's columns (public, DESIGN.md), in the order timeline_record reads them.
TIMELINE_VALUES = (
    "occurred_on",
    "occurred_precision",
    "occurred_source",
    "occurred_end_on",
    "occurred_end_precision",
    "discovered_on",
    "discovered_precision",
    "discovered_source",
    "disclosed_on",
    "disclosed_precision",
    "disclosed_source",
    "disclosure_lag_days",
    "confirmation",
)


def _dated(value, precision, source=None) -> dict | None:
    if value is None:
        return None
    dated = {"date": incident_date_iso(value, precision), "precision": precision}
    if source is not None:
        dated["source"] = source
    return dated


def timeline_record(values) -> dict:
    """The timeline part of a record from TIMELINE_VALUES' values, in their order."""
    (
        occurred,
        occurred_precision,
        occurred_source,
        until,
        until_precision,
        discovered,
        discovered_precision,
        discovered_source,
        disclosed,
        disclosed_precision,
        disclosed_source,
        lag,
        confirmation,
    ) = values
    return {
        "confirmation": confirmation,
        "timeline": {
            "occurred": _dated(occurred, occurred_precision, occurred_source),
            "occurred_until": _dated(until, until_precision),
            "discovered": _dated(discovered, discovered_precision, discovered_source),
            "disclosed": _dated(disclosed, disclosed_precision, disclosed_source),
            "disclosure_lag_days": lag,
        },
    }


def public_record(incident, base_url: str) -> dict:
    """What anyone may export: the public fields and the gated counts as pages show them."""
    org = incident.organisation
    dataset = incident.dataset if incident.dataset_id else None
    return {
        "slug": incident.slug,
        "url": base_url + incident.get_absolute_url(),
        "victim": {
            "name": org.name,
            "slug": org.slug,
            "country": _country(org.country),
            "website": org.website,
        },
        "date": incident_date_iso(incident.date, incident.date_precision),
        "date_precision": incident.date_precision,
        "country": _country(incident.country),
        "sector": incident.sector.name if incident.sector_id else "",
        # The incident types' slugs (public), in the types' order.
        "types": [t.slug for t in incident.types.all()],
        "summary": incident.summary,
        "description": incident.description,
        "records_affected": incident.records_affected,
        "published_at": _iso(incident.published_at),
        "updated_at": _iso(incident.updated_at),
        "sources": [
            {
                "url": s.url,
                "citation": s.citation,
                "title": s.title,
                "publisher": s.publisher,
                "published_on": s.published_on.isoformat() if s.published_on else None,
            }
            for s in incident.sources.all()
        ],
        "counts": {
            "motives": incident.motive_count,
            "techniques": incident.technique_count,
            "threat_actors": incident.actor_count,
        },
        "provenance": {
            "dataset": dataset.name if dataset else OWN_RECORDS_LICENCE,
            "licence": dataset.licence if dataset else "",
            "licence_url": dataset.licence_url if dataset else "",
        },
        **timeline_record([getattr(incident, name) for name in TIMELINE_VALUES]),
    }


def member_record(incident, base_url: str) -> dict:
    """Members only (call after is_member(), on a row of ``for_export(member=True)``)."""
    record = public_record(incident, base_url)
    try:
        posture = incident.cia_posture
    except incident._meta.model.cia_posture.RelatedObjectDoesNotExist:
        posture = None
    record.update(
        {
            "status": incident.status,
            "cia_posture": None
            if posture is None
            else {
                "confidentiality": Impact(posture.confidentiality).value,
                "integrity": Impact(posture.integrity).value,
                "availability": Impact(posture.availability).value,
                "notes": posture.notes,
            },
            "motives": sorted(m.name for m in incident.motives.all()),
            "techniques": [
                {
                    "attack_id": t.attack_id,
                    "name": t.name,
                    "parent": t.parent.name if t.parent_id else "",
                    "tactics": sorted(tac.shortname for tac in t.tactics.all()),
                    "tactic_names": sorted(tac.name for tac in t.tactics.all()),
                    "url": t.url,
                    "stix_id": t.stix_id,
                    # reported by a source, or derived from the VERIS record through the
                    # VERIS-to-ATT&CK mapping (from these enumerations).
                    "provenance": link.provenance,
                    "derived_from": link.derived_from_list,
                }
                for link in incident.technique_list()
                for t in [link.technique]
            ],
            "threat_actors": [
                {
                    "name": a.name,
                    "slug": a.slug,
                    "url": base_url + a.get_absolute_url(),
                    "type": a.actor_type.name if a.actor_type_id else "",
                    "location": _country(a.country),
                    "aliases": [str(x) for x in (a.aliases or [])],
                    "attack_id": a.attack_id,
                }
                for a in sorted(incident.threat_actors.all(), key=lambda a: a.slug)
            ],
        }
    )
    return record


ATTACK_NOTICE = {
    "name": "MITRE ATT&CK®",
    "copyright": "© The MITRE Corporation. This work is reproduced and distributed with "
    "the permission of The MITRE Corporation.",
    "licence_url": "https://attack.mitre.org/resources/legal-and-branding/terms-of-use/",
}
NOTICE = (
    "Each incident names the dataset it comes from and that dataset's licence (VERIS "
    "Community Database: CC BY-SA 4.0, share alike, attribute the VERIS Community "
    "Database). Reuse must follow it."
)


def licence(datasets, *, member: bool) -> dict:
    """The licence statement of a file: the notice, every dataset's licence and, for
    members (whose files carry ATT&CK techniques), ATT&CK's terms."""
    statement = {
        "notice": NOTICE,
        "datasets": [
            {
                "name": d.name,
                "url": d.url,
                "licence": d.licence,
                "licence_url": d.licence_url,
                "attribution": d.attribution,
            }
            for d in datasets
        ],
    }
    if member:
        statement["attack"] = ATTACK_NOTICE
    return statement


def licence_text(statement: dict) -> str:
    parts = [statement["notice"]]
    parts += [
        f"{d['name']}: {d['licence']} {d['licence_url']}".strip() for d in statement["datasets"]
    ]
    if "attack" in statement:
        attack = statement["attack"]
        parts.append(f"{attack['name']} {attack['copyright']} {attack['licence_url']}")
    return " ".join(parts)


# The public record read as plain tuples (the fast path of incidents.exports.build): the
# same dict as public_record() gives, without model instances or per-row subqueries.
PUBLIC_VALUES = (
    "pk",
    "slug",
    "organisation__name",
    "organisation__slug",
    "organisation__country",
    "organisation__website",
    "date",
    "date_precision",
    "country",
    "sector__name",
    "summary",
    "description",
    "records_affected",
    "published_at",
    "updated_at",
    "dataset_id",
    "motive_count",
    "technique_count",
    "actor_count",
    *TIMELINE_VALUES,
)
_PLAIN_SLUG = re.compile(r"[-a-zA-Z0-9_]+\Z")
_PLACEHOLDER = "placeholder-slug-0"


def _chunks(iterable, size):
    chunk = []
    for item in iterable:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def public_records(selected, datasets, base_url: str, *, chunk_size: int):
    """public_record() of each row of ``selected`` (an ordered, sliced queryset of
    incidents; the gated counts are its columns), read as tuples from one cursor, with the
    sources and the incident types of each chunk of rows in one query each; ``datasets``:
    all of them."""
    datasets = {
        d.pk: {"dataset": d.name, "licence": d.licence, "licence_url": d.licence_url}
        for d in datasets
    }
    own = {"dataset": OWN_RECORDS_LICENCE, "licence": "", "licence_url": ""}
    codes = {}

    def country(code):
        if code not in codes:
            codes[code] = _country(Country(code=code)) if code else ""
        return codes[code]

    url_head, url_tail = reverse("incidents:incident_detail", args=[_PLACEHOLDER]).split(
        _PLACEHOLDER
    )
    url_head = base_url + url_head

    def url_of(slug):
        if _PLAIN_SLUG.match(slug):
            return url_head + slug + url_tail
        return base_url + reverse("incidents:incident_detail", args=[slug])

    rows = selected.values_list(*PUBLIC_VALUES).iterator(chunk_size=chunk_size)
    for chunk in _chunks(rows, chunk_size):
        ids = [row[0] for row in chunk]
        sources = {}
        for incident_id, *source in (
            Source.objects.using(selected.db)
            .filter(incident_id__in=ids)
            .order_by(*Source._meta.ordering)
            .values_list("incident_id", "url", "citation", "title", "publisher", "published_on")
        ):
            url, citation, title, publisher, published_on = source
            sources.setdefault(incident_id, []).append(
                {
                    "url": url,
                    "citation": citation,
                    "title": title,
                    "publisher": publisher,
                    "published_on": published_on.isoformat() if published_on else None,
                }
            )
        types = {}
        for incident_id, type_slug in (
            Incident.types.through.objects.using(selected.db)
            .filter(incident_id__in=ids)
            .order_by("incidenttype__position", "incidenttype__name")
            .values_list("incident_id", "incidenttype__slug")
        ):
            types.setdefault(incident_id, []).append(type_slug)
        for row in chunk:
            (
                pk,
                slug,
                org_name,
                org_slug,
                org_country,
                org_website,
                date,
                precision,
                incident_country,
                sector,
                summary,
                description,
                records_affected,
                published_at,
                updated_at,
                dataset_id,
                motive_count,
                technique_count,
                actor_count,
            ) = row[: len(PUBLIC_VALUES) - len(TIMELINE_VALUES)]
            yield {
                "slug": slug,
                "url": url_of(slug),
                "victim": {
                    "name": org_name,
                    "slug": org_slug,
                    "country": country(org_country),
                    "website": org_website,
                },
                "date": incident_date_iso(date, precision),
                "date_precision": precision,
                "country": country(incident_country),
                "sector": sector or "",
                "types": types.get(pk, []),
                "summary": summary,
                "description": description,
                "records_affected": records_affected,
                "published_at": _iso(published_at),
                "updated_at": _iso(updated_at),
                "sources": sources.get(pk, []),
                "counts": {
                    "motives": motive_count,
                    "techniques": technique_count,
                    "threat_actors": actor_count,
                },
                "provenance": dict(datasets[dataset_id]) if dataset_id else dict(own),
                **timeline_record(row[len(PUBLIC_VALUES) - len(TIMELINE_VALUES) :]),
            }
