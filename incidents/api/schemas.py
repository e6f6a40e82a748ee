"""The API's documented shapes (OpenAPI 3, from these classes).

An incident is the JSON export's record (incidents.exports.records): the public record
for everyone, with the members' fields added only after accounts.access said yes. The
members' fields are optional here; a non-member's response does not have them at all.
"""

from __future__ import annotations

from ninja import Field, Schema

MEMBERS_ONLY = "Members only: absent from a non-member's response."


class Error(Schema):
    detail: str
    errors: dict[str, list[str]] | None = Field(None, description="Per parameter, when known")


class Victim(Schema):
    name: str
    slug: str
    country: str = Field(description="ISO 3166-1 alpha-2, or empty")
    website: str


class Source(Schema):
    url: str
    title: str
    publisher: str
    published_on: str | None


class GatedCounts(Schema):
    motives: int
    techniques: int
    threat_actors: int


class Provenance(Schema):
    dataset: str
    licence: str
    licence_url: str


class CIAPosture(Schema):
    confidentiality: str = Field(description="none, low, medium, high or unknown")
    integrity: str
    availability: str
    notes: str


class IncidentTechnique(Schema):
    attack_id: str
    name: str
    parent: str
    tactics: list[str] = Field(description="ATT&CK tactic short names")
    tactic_names: list[str]
    url: str
    stix_id: str
    provenance: str = Field(
        description="reported (by a source) or derived (from the VERIS record through the "
        "VERIS-to-ATT&CK mapping)"
    )
    derived_from: list[str] = Field(
        description="For a derived technique, the VERIS enumerations that mapped to it "
        "(action.malware.variety.Ransomware); empty when reported or not recorded"
    )


class IncidentActor(Schema):
    name: str
    slug: str
    url: str
    type: str
    location: str
    aliases: list[str]
    attack_id: str


class DatedEvent(Schema):
    date: str = Field(description="ISO 8601 to its precision: 2020, 2020-11 or 2020-11-20")
    precision: str = Field(description="year, month or day")
    source: str | None = Field(None, description="A public reference for this date, or empty")


class Timeline(Schema):
    occurred: DatedEvent | None = Field(description="When it started; null: not known")
    occurred_until: DatedEvent | None = Field(description="When it ended, where known")
    discovered: DatedEvent | None = Field(description="When the victim found out")
    disclosed: DatedEvent | None = Field(description="First public report or regulator filing")
    disclosure_lag_days: int | None = Field(
        description="Days from occurred (or discovered) to disclosed, both known to the day"
    )


class Incident(Schema):
    slug: str
    url: str
    victim: Victim
    date: str = Field(description="ISO 8601 to its precision: 2020, 2020-11 or 2020-11-20")
    date_precision: str = Field(description="year, month or day")
    country: str
    sector: str
    types: list[str] = Field(
        description="Incident type slugs (public), e.g. ransomware, data-breach: "
        "/api/v1/incident-types lists them"
    )
    summary: str
    description: str = Field(description="Markdown source")
    records_affected: int | None
    published_at: str | None
    updated_at: str | None
    sources: list[Source]
    counts: GatedCounts
    provenance: Provenance
    confirmation: str = Field(description="confirmed, suspected or near-miss (VERIS)")
    timeline: Timeline
    status: str | None = Field(None, description=MEMBERS_ONLY)
    cia_posture: CIAPosture | None = Field(None, description=MEMBERS_ONLY + " Null: not rated.")
    motives: list[str] | None = Field(None, description=MEMBERS_ONLY)
    techniques: list[IncidentTechnique] | None = Field(None, description=MEMBERS_ONLY)
    threat_actors: list[IncidentActor] | None = Field(None, description=MEMBERS_ONLY)


class IncidentPage(Schema):
    audience: str = Field(description="public or member: what this response holds")
    query: dict[str, str] = Field(description="The finder's parameters actually applied")
    sort: str
    results: list[Incident]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page")
    next: str | None = Field(description="The next page's URL")


class Organisation(Schema):
    name: str
    slug: str
    url: str
    country: str
    sector: str
    website: str
    incident_count: int = Field(description="Incidents of this victim the caller may see")


class Software(Schema):
    attack_id: str
    name: str
    kind: str
    url: str


class ThreatActor(Schema):
    name: str
    slug: str
    url: str
    incident_count: int
    is_unattributed: bool
    type: str | None = Field(None, description=MEMBERS_ONLY)
    type_source: str | None = Field(None, description=MEMBERS_ONLY + " Where the type comes from.")
    location: str | None = Field(None, description=MEMBERS_ONLY)
    location_source: str | None = Field(
        None, description=MEMBERS_ONLY + " Where the location comes from."
    )
    aliases: list[str] | None = Field(None, description=MEMBERS_ONLY)
    techniques: list[str] | None = Field(
        None, description=MEMBERS_ONLY + " ATT&CK IDs of the techniques MITRE says it uses."
    )
    software: list[Software] | None = Field(
        None, description=MEMBERS_ONLY + " Malware and tools MITRE says it uses."
    )
    description_html: str | None = Field(
        None,
        description="ATT&CK's description: public for groups imported from MITRE ATT&CK; a "
        "description staff wrote for any other actor is for members only.",
    )
    attack_id: str | None = Field(
        None,
        description="The ATT&CK ID: public for groups imported from MITRE ATT&CK; an ID staff "
        "gave any other actor is for members only.",
    )


class IncidentType(Schema):
    slug: str
    name: str
    description: str
    url: str = Field(description="Its hub page")
    incident_count: int = Field(description="Published incidents of this type")


class IncidentTypeList(Schema):
    results: list[IncidentType]


class Technique(Schema):
    attack_id: str
    name: str
    parent: str
    tactics: list[str]
    url: str
    description: str


class OrganisationPage(Schema):
    results: list[Organisation]
    next_cursor: str | None
    next: str | None


class ThreatActorPage(Schema):
    audience: str
    results: list[ThreatActor]
    next_cursor: str | None
    next: str | None


class TechniquePage(Schema):
    results: list[Technique]
    next_cursor: str | None
    next: str | None


class ChartRow(Schema):
    key: str
    label: str
    values: list[int]
    group_key: str = Field(description="The ATT&CK matrix's tactic (short name), else empty")


class Chart(Schema):
    name: str
    title: str
    caption: str
    label_header: str
    value_headers: list[str]
    rows: list[ChartRow]


class Statistics(Schema):
    audience: str
    query: dict[str, str]
    total: int
    charts: list[Chart] = Field(description="Non-members: the charts over public values only")


class FinderParams(Schema):
    """The finder's parameters (docs/exports.md), parsed by the caller's audience's
    FilterSet: a non-member's members-only parameters are ignored, never applied."""

    q: str | None = Field(None, description="Text search (members' also matches gated values)")
    date_from: str | None = Field(None, description="YYYY-MM-DD")
    date_to: str | None = Field(None, description="YYYY-MM-DD")
    year: str | None = None
    country: str | None = Field(None, description="Victim country, ISO 3166-1 alpha-2")
    sector: str | None = Field(None, description="Sector slug")
    type: str | None = Field(None, description="Incident type slug (/api/v1/incident-types)")
    organisation: str | None = Field(None, description="Victim slug")
    records_min: str | None = None
    records_max: str | None = None
    lag_min: str | None = Field(None, description="Disclosed at least this many days after")
    lag_max: str | None = Field(None, description="Disclosed at most this many days after")
    confirmation: str | None = Field(None, description="confirmed, suspected or near-miss")
    sort: str | None = Field(
        None,
        description="newest, oldest, records, lag (longest disclosure lag first), "
        "lag-shortest or relevance",
    )
    motive: str | None = Field(None, description="Members only (ignored otherwise)")
    technique: str | None = Field(None, description="Members only: an ATT&CK ID, e.g. T1566")
    tactic: str | None = Field(None, description="Members only: a tactic short name")
    actor: str | None = Field(None, description="Members only: a threat actor's slug")
    actor_type: str | None = Field(None, description="Members only")
    actor_country: str | None = Field(None, description="Members only")
    confidentiality: str | None = Field(None, description="Members only")
    integrity: str | None = Field(None, description="Members only")
    availability: str | None = Field(None, description="Members only")
