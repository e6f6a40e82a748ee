"""Incidents, their CIA posture and sources, and the public column lists of each consumer."""

from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django_countries.fields import CountryField

from accounts.access import sees_drafts

from ..rules import TIMELINE_DATES, DatePrecision, format_incident_date, prepare_incident
from .actors import ThreatActor
from .base import MARKDOWN_HELP, CleanText
from .organisations import Organisation
from .reference import Dataset, IncidentType, Motive, Sector, Technique, public_types
from .timeline import TIMELINE_CONSTRAINTS, TIMELINE_INDEXES, Timeline


class IncidentQuerySet(models.QuerySet):
    def published(self):
        return self.filter(status=Incident.Status.PUBLISHED)

    def visible_to(self, user):
        """What ``user`` may see at all: staff see drafts too, everyone else published only."""
        return self.for_audience("staff" if sees_drafts(user) else "public")

    def for_audience(self, audience):
        """What a viewer of ``audience`` (incidents.caching.audience) may see: for work done
        for an audience rather than a person, such as the statistics roll-ups."""
        return self.all() if audience == "staff" else self.published()

    def newest_first(self):
        return self.order_by("-date", "-pk")

    def for_public_list(self):
        """Rows of an incident list: the public columns a row shows, the gated counts among
        them (columns, see Incident.motive_count), and the incident types (one query for
        the page)."""
        return (
            self.select_related("organisation", "sector")
            .only(*PUBLIC_ROW_FIELDS, *PUBLIC_RELATED_FIELDS)
            .prefetch_related(public_types())
        )

    def for_member_list(self):
        """Members' rows: the public row with the motives, technique IDs and actor names."""
        return self.for_public_list().prefetch_related(
            models.Prefetch("motives", Motive.objects.only("name", "slug")),
            models.Prefetch(
                "techniques", Technique.objects.only("attack_id", "name").order_by("attack_id")
            ),
            models.Prefetch("threat_actors", ThreatActor.objects.only("name", "slug")),
        )

    def for_timeline(self):
        """A timeline's incidents (incidents.statistics.timelines), oldest first: the date
        as far as it is known, the summary and the victim's name (public fields only)."""
        return (
            self.select_related("organisation")
            .only("slug", "date", "date_precision", "summary", "status", "organisation__name")
            .order_by("date", "pk")
        )

    def for_public_detail(self):
        return (
            self.select_related("organisation", "sector", "dataset")
            .only(*PUBLIC_INCIDENT_FIELDS, *PUBLIC_RELATED_FIELDS, *PUBLIC_PROVENANCE_FIELDS)
            .prefetch_related("sources", public_types())
        )

    def with_records(self):
        """Each dataset's record of the incident with its dataset (public: what each source
        said; the incident page shows them). The model is reached through the relation
        (records.py imports this module)."""
        records = self.model._meta.get_field("records").related_model
        return self.prefetch_related(
            models.Prefetch("records", records.objects.select_related("dataset"))
        )

    def for_member_detail(self):
        return (
            self.select_related("organisation", "sector", "dataset", "cia_posture")
            .defer("search_vector")
            .prefetch_related(
                "sources",
                public_types(),
                "motives",
                # The techniques through their links: each says how it is known (reported
                # or derived from VERIS). Read them with Incident.technique_list().
                models.Prefetch(
                    "technique_links",
                    IncidentTechnique.objects.select_related(
                        "technique", "technique__parent"
                    ).prefetch_related("technique__tactics"),
                ),
                models.Prefetch("threat_actors", ThreatActor.objects.select_related("actor_type")),
            )
        )

    def for_export(self, *, member):
        """Rows of an export (incidents.exports), read with ``.iterator(chunk_size=...)``:
        the columns of an incident page for the audience (non-members: the public columns,
        provenance and the gated counts, nothing else), related lists prefetched per chunk."""
        return self.for_member_detail() if member else self.for_public_detail()


# What Incident.save writes besides what it was given (a save with update_fields too).
DERIVED_ON_SAVE = (
    "slug",
    "published_at",
    "date",
    "date_precision",
    "disclosure_lag_days",
    *(f"{name}_on" for name in TIMELINE_DATES),
)


class IncidentManager(models.Manager.from_queryset(IncidentQuerySet)):
    def get_by_natural_key(self, slug):
        return self.get(slug=slug)


class Incident(CleanText, Timeline):
    """One publicly reported event affecting one victim organisation; its timeline
    (occurred, discovered, disclosed) is in ``Timeline``."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"

    slug = models.SlugField(
        max_length=120,
        unique=True,
        blank=True,
        help_text="Leave empty to derive from date and victim",
    )
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="incidents", verbose_name="victim"
    )
    # The catalogue date lists show and sort by: the timeline's occurred date, else its
    # disclosed date (rules.catalogue_date), written by every writer; as a writer gave it
    # only when the timeline has neither.
    date = models.DateField(
        help_text="When it happened or was disclosed; with month or year precision, "
        "the first day of that month or year. Set from the timeline when it has an occurred "
        "or disclosed date."
    )
    date_precision = models.CharField(
        max_length=5, choices=DatePrecision.choices, default=DatePrecision.DAY
    )
    country = CountryField(blank=True, help_text="Where the incident took place")
    sector = models.ForeignKey(
        Sector, null=True, blank=True, on_delete=models.PROTECT, related_name="incidents"
    )
    # The source's full summary; may be empty (the page says so). Lists shorten it.
    summary = models.TextField(blank=True)
    description = models.TextField(blank=True, help_text=MARKDOWN_HELP)
    records_affected = models.PositiveBigIntegerField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    published_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Provenance of imported incidents (public, with the dataset's licence).
    dataset = models.ForeignKey(
        Dataset, null=True, blank=True, on_delete=models.PROTECT, related_name="incidents"
    )
    external_id = models.CharField(max_length=200, blank=True, help_text="Key in the dataset")
    imported_at = models.DateTimeField(null=True, blank=True, editable=False)
    # PostgreSQL keeps this current with a trigger (migration 0006): victim name (weight A),
    # summary (B), description (C). Unused on SQLite (see incidents.search).
    search_vector = SearchVectorField(null=True, editable=False)

    # Public, like the sector (one or more); in PostgreSQL's search_vector (migration 0028).
    types = models.ManyToManyField(
        IncidentType, blank=True, related_name="incidents", verbose_name="incident types"
    )

    # Members only (see incidents.presenters).
    motives = models.ManyToManyField(Motive, blank=True, related_name="incidents")
    # Each link says whether a source reported the technique or the VERIS importer derived
    # it through the VERIS-to-ATT&CK mapping (IncidentTechnique).
    techniques = models.ManyToManyField(
        Technique, blank=True, related_name="incidents", through="IncidentTechnique"
    )
    threat_actors = models.ManyToManyField(ThreatActor, blank=True, related_name="incidents")
    # How many of each the incident has: public ("2 motives", DESIGN.md), shown by every
    # list, page, export and API record. Database triggers keep them (migration 0023:
    # whoever writes a link, the m2m API, an inline, bulk_create, a cascade or raw SQL,
    # and whatever a save writes here, the row holds its links' count);
    # incidents.denormalised checks them (manage.py check_denormalised).
    motive_count = models.IntegerField(default=0, editable=False)
    technique_count = models.IntegerField(default=0, editable=False)
    actor_count = models.IntegerField(default=0, editable=False)

    objects = IncidentManager()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(date_precision__in=DatePrecision.values),
                name="incident_date_precision_valid",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["draft", "published"]), name="incident_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(published_at__isnull=False),
                name="incident_published_has_timestamp",
            ),
            # Re-imports find the incident by its key in the dataset.
            models.UniqueConstraint(
                fields=["dataset", "external_id"],
                condition=Q(dataset__isnull=False),
                name="incident_unique_external_id",
            ),
            models.CheckConstraint(
                condition=Q(dataset__isnull=True) | ~Q(external_id=""),
                name="incident_imported_has_external_id",
            ),
            models.CheckConstraint(
                condition=Q(motive_count__gte=0, technique_count__gte=0, actor_count__gte=0),
                name="incident_gated_counts_not_negative",
            ),
            *TIMELINE_CONSTRAINTS,
        ]
        indexes = [
            # The public list: published incidents, newest first.
            models.Index(fields=["status", "-date", "-id"], name="incident_status_date_idx"),
            # An organisation's page: its incidents, newest first.
            models.Index(fields=["organisation", "-date"], name="incident_org_date_idx"),
            # The finder: a victim country or a sector, newest first.
            models.Index(
                fields=["status", "country", "-date", "-id"], name="incident_country_date_idx"
            ),
            models.Index(
                fields=["status", "sector", "-date", "-id"], name="incident_sector_date_idx"
            ),
            # The finder sorted by records affected.
            models.Index(fields=["status", "-records_affected"], name="incident_records_idx"),
            *TIMELINE_INDEXES,
        ]

    def __str__(self):
        return f"{self.organisation_name} ({self.date_display})"

    @property
    def organisation_name(self):
        return self.organisation.name if self.organisation_id else "?"

    @property
    def date_display(self):
        return format_incident_date(self.date, self.date_precision)

    def natural_key(self):
        return (self.slug,)

    def get_absolute_url(self):
        return reverse("incidents:incident_detail", args=[self.slug])

    def technique_list(self) -> list["IncidentTechnique"]:
        """Members only: the incident's technique links (``link.technique``, its provenance)
        by ATT&CK ID; prefetched by ``for_member_detail()``."""
        return sorted(self.technique_links.all(), key=lambda link: link.technique.attack_id)

    def save(self, *args, **kwargs):
        # Dates stored as the first day of the known period (never a guessed day), the
        # catalogue date and the disclosure lag from the timeline, the slug.
        before = {name: getattr(self, name) for name in DERIVED_ON_SAVE}
        self.prepare_timeline()
        prepare_incident(self)
        if kwargs.get("update_fields") is not None:
            changed = {name for name, value in before.items() if getattr(self, name) != value}
            kwargs["update_fields"] = {*kwargs["update_fields"], *changed}
        super().save(*args, **kwargs)


# The incident columns any viewer may see; everything else is private until added here.
PUBLIC_TIMELINE_FIELDS = (
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
    "timeline_raw",
)
# A list row needs these (incidents.presenters.IncidentRow) ...
PUBLIC_ROW_FIELDS = (
    "slug",
    "organisation",
    "date",
    "date_precision",
    "country",
    "sector",
    "summary",
    "records_affected",
    "status",
    "confirmation",
    "disclosure_lag_days",
    # The gated counts are public; the motives, techniques and actors are not.
    "motive_count",
    "technique_count",
    "actor_count",
)
# ... and an incident page these as well.
PUBLIC_INCIDENT_FIELDS = (
    *PUBLIC_ROW_FIELDS,
    "description",
    "published_at",
    "updated_at",
    # The timeline is public (DESIGN.md).
    *PUBLIC_TIMELINE_FIELDS,
)
PUBLIC_RELATED_FIELDS = (
    "organisation__name",
    "organisation__slug",
    "organisation__country",
    "organisation__sector",
    "organisation__website",
    "organisation__is_placeholder",
    "sector__name",
    "sector__slug",
)
PUBLIC_PROVENANCE_FIELDS = (
    "dataset",
    "dataset__name",
    "dataset__url",
    "dataset__licence",
    "dataset__licence_url",
    "dataset__attribution",
)


class TechniqueProvenance(models.TextChoices):
    REPORTED = "reported", "Reported"
    DERIVED = "derived", "Derived from VERIS"


class IncidentTechnique(CleanText):
    """An ATT&CK technique of an incident (members only), and how the catalogue knows it:
    reported by a source (staff, demo data) or derived by the VERIS importer from the
    record's action enumerations through the VERIS-to-ATT&CK mapping (``derived_from``).
    One link per technique: a technique both reported and derived is reported."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="technique_links")
    technique = models.ForeignKey(
        Technique, on_delete=models.CASCADE, related_name="incident_links"
    )
    provenance = models.CharField(
        max_length=8,
        choices=TechniqueProvenance.choices,
        default=TechniqueProvenance.REPORTED,
        help_text="Reported by a source, or derived from the VERIS record through the mapping",
    )
    derived_from = models.CharField(
        max_length=1000,
        blank=True,
        default="",
        help_text='The VERIS enumerations that mapped to it, "; "-separated '
        '("action.malware.variety.Ransomware"); empty for a reported technique',
    )

    class Meta:
        # The table Django made for the plain many-to-many (migration 0018 kept it).
        db_table = "incidents_incident_techniques"
        unique_together = [("incident", "technique")]
        verbose_name = "technique"
        constraints = [
            models.CheckConstraint(
                condition=Q(provenance__in=TechniqueProvenance.values),
                name="incidenttechnique_provenance_valid",
            ),
            # What a derived link was derived from means nothing on a reported one.
            models.CheckConstraint(
                condition=Q(provenance=TechniqueProvenance.DERIVED) | Q(derived_from=""),
                name="incidenttechnique_reported_not_derived",
            ),
        ]

    def __str__(self):
        return f"{self.technique_id} of incident {self.incident_id} ({self.provenance})"

    def clean(self):
        if self.provenance == TechniqueProvenance.REPORTED:
            self.derived_from = ""

    def save(self, *args, **kwargs):
        self.clean()  # a derived link staff mark reported drops what it was derived from
        super().save(*args, **kwargs)

    @property
    def is_derived(self):
        return self.provenance == TechniqueProvenance.DERIVED

    @property
    def derived_from_list(self) -> list[str]:
        return split_derived_from(self.derived_from) if self.is_derived else []


DERIVED_FROM_SEPARATOR = "; "


def split_derived_from(value: str) -> list[str]:
    return [v for v in (value or "").split(DERIVED_FROM_SEPARATOR) if v]


def join_derived_from(values) -> str:
    return DERIVED_FROM_SEPARATOR.join(sorted(set(values)))[:1000]


class Impact(models.TextChoices):
    NONE = "none", "None"
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    UNKNOWN = "unknown", "Unknown"


class CIAPostureManager(models.Manager):
    def get_by_natural_key(self, incident_slug):
        return self.get(incident__slug=incident_slug)


class CIAPosture(CleanText):
    """An incident's impact on confidentiality, integrity and availability (members only)."""

    incident = models.OneToOneField(Incident, on_delete=models.CASCADE, related_name="cia_posture")
    confidentiality = models.CharField(max_length=8, choices=Impact.choices, default=Impact.UNKNOWN)
    integrity = models.CharField(max_length=8, choices=Impact.choices, default=Impact.UNKNOWN)
    availability = models.CharField(max_length=8, choices=Impact.choices, default=Impact.UNKNOWN)
    notes = models.TextField(blank=True)

    objects = CIAPostureManager()

    class Meta:
        verbose_name = "CIA posture"
        verbose_name_plural = "CIA postures"
        constraints = [
            models.CheckConstraint(
                condition=Q(confidentiality__in=Impact.values)
                & Q(integrity__in=Impact.values)
                & Q(availability__in=Impact.values),
                name="ciaposture_impact_valid",
            ),
        ]

    def __str__(self):
        return f"CIA posture of {self.incident}"

    def natural_key(self):
        return self.incident.natural_key()

    natural_key.dependencies = ["incidents.incident"]


class SourceManager(models.Manager):
    def get_by_natural_key(self, incident_slug, url):
        return self.get(incident__slug=incident_slug, url=url)


class Source(CleanText):
    """A public reference backing an incident."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="sources")
    url = models.URLField(max_length=1000, blank=True)
    title = models.CharField(max_length=300, blank=True)
    citation = models.TextField(
        blank=True, help_text="The reference as the dataset gives it, when it names no URL"
    )
    publisher = models.CharField(max_length=200, blank=True)
    published_on = models.DateField(null=True, blank=True)

    objects = SourceManager()

    class Meta:
        ordering = ["published_on", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "url"],
                condition=~Q(url=""),
                name="source_unique_url_per_incident",
            ),
            models.CheckConstraint(
                condition=~Q(url="") | ~Q(citation=""), name="source_has_url_or_citation"
            ),
        ]

    def __str__(self):
        return self.title or self.url or self.citation[:80]

    def natural_key(self):
        return (*self.incident.natural_key(), self.url)

    natural_key.dependencies = ["incidents.incident"]
