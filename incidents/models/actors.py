"""Threat actors. Their names are public; everything else is for members (incidents.presenters)."""

from django.db import models
from django.db.models import Case, Count, Exists, F, OuterRef, Prefetch, Q, Subquery, Value, When
from django.db.models.functions import Coalesce, Lower
from django.urls import reverse
from django_countries.fields import CountryField

from accounts.access import is_member, sees_drafts

from .. import rules
from .base import MARKDOWN_HELP, CleanText, SlugManager
from .reference import ActorType, Dataset, Software, Technique

ATTACK_DATASET = "mitre-attack-enterprise"  # the Dataset slug of ATT&CK's imports


class ThreatActorQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Actors whose page ``user`` may open.

        Staff see every actor. Others see actors with a published incident or from
        a public dataset (ATT&CK groups), so an actor made for a draft stays hidden.
        An unattributed actor (a VERIS category such as "organized crime, Russia")
        is named after its type and location, which are for members only.
        """
        if sees_drafts(user):
            return self.all()
        visible = self.known_publicly()
        return visible if is_member(user) else visible.filter(is_unattributed=False)

    def known_publicly(self):
        """Actors of a published incident or of a public dataset (what members see)."""
        return self.filter(Exists(_published_links()) | Q(dataset__isnull=False))

    def with_public_attack_id(self):
        """Annotate ``public_attack_id``: the ATT&CK ID of an actor imported from ATT&CK
        (MITRE's public knowledge, shown to anyone), "" for any other actor (an ATT&CK ID
        staff gave an actor is their attribution, for members only)."""
        return self.annotate(
            public_attack_id=Case(
                When(dataset__slug=ATTACK_DATASET, then=F("attack_id")),
                default=Value(""),
                output_field=models.CharField(),
            )
        )

    def with_public_attack_profile(self):
        """``with_public_attack_id`` plus ``public_description``: ATT&CK's description of a
        group imported from ATT&CK (public knowledge), "" for any other actor (a description
        staff wrote is for members only)."""
        return self.with_public_attack_id().annotate(
            public_description=Case(
                When(dataset__slug=ATTACK_DATASET, then=F("description")),
                default=Value(""),
                output_field=models.TextField(),
            )
        )

    def for_member_profile(self):
        """An actor page's members-only data: type, techniques (with parent and tactics for
        the matrix) and software."""
        return self.select_related("actor_type").prefetch_related(
            Prefetch(
                "techniques",
                Technique.objects.select_related("parent").prefetch_related("tactics"),
            ),
            "software",
        )

    def with_incident_counts(self):
        """Annotate ``incident_count``: published incidents linked to each actor."""
        counts = (
            _published_links()
            .order_by()
            .values("threatactor")
            .annotate(n=Count("incident"))
            .values("n")
        )
        return self.annotate(incident_count=Coalesce(Subquery(counts), Value(0)))


def _published_links():
    """Links between the outer threat actor and its published incidents (the incident model
    reached through the relation: incident.py imports this module)."""
    Incident = ThreatActor._meta.get_field("incidents").related_model  # noqa: N806 - a model
    return Incident.threat_actors.through.objects.filter(
        threatactor=OuterRef("pk"), incident__status=Incident.Status.PUBLISHED
    )


class ThreatActorManager(SlugManager.from_queryset(ThreatActorQuerySet)):
    pass


class ThreatActor(CleanText):
    """A named or unnamed attacker. Its name is public; everything else is for members."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, unique=True)
    aliases = models.JSONField(default=list, blank=True, help_text="Other names for this actor")
    actor_type = models.ForeignKey(
        ActorType, null=True, blank=True, on_delete=models.PROTECT, related_name="actors"
    )
    country = CountryField(blank=True, help_text="Where the actor is believed to operate from")
    # Where the type and country come from, shown to members beside them ("MISP galaxy
    # threat-actor, version 349"). Empty: set by staff. An importer only rewrites a value
    # it set itself (its source is not empty), so clear the source when correcting one.
    actor_type_source = models.CharField(
        "source of the type", max_length=200, blank=True, help_text="Empty when staff set it"
    )
    country_source = models.CharField(
        "source of the location", max_length=200, blank=True, help_text="Empty when staff set it"
    )
    description = models.TextField(blank=True, help_text=MARKDOWN_HELP)
    attack_id = models.CharField(
        "ATT&CK group ID", max_length=12, blank=True, help_text="e.g. G0007, when ATT&CK tracks it"
    )
    is_unattributed = models.BooleanField(
        default=False,
        help_text="A category of unnamed attacker (e.g. from VERIS), not one identified group",
    )
    dataset = models.ForeignKey(
        Dataset, null=True, blank=True, on_delete=models.PROTECT, related_name="threat_actors"
    )
    external_id = models.CharField(max_length=200, blank=True, help_text="Key in the dataset")
    # What MITRE ATT&CK relates to the group ("uses" relationships), not incident evidence.
    techniques = models.ManyToManyField(
        Technique, blank=True, related_name="actors", help_text="Techniques ATT&CK says it uses"
    )
    software = models.ManyToManyField(
        Software, blank=True, related_name="actors", help_text="Software ATT&CK says it uses"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ThreatActorManager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(Lower("name"), name="threatactor_unique_name_ci"),
            # Re-imports find the actor by its key in the dataset.
            models.UniqueConstraint(
                fields=["dataset", "external_id"],
                condition=Q(dataset__isnull=False),
                name="threatactor_unique_external_id",
            ),
        ]

    def __str__(self):
        return self.name

    def natural_key(self):
        return (self.slug,)

    def get_absolute_url(self):
        return reverse("incidents:actor_detail", args=[self.slug])

    def save(self, *args, **kwargs):
        if not self.slug:
            self.slug = rules.unique_slug(ThreatActor, self.name, exclude_pk=self.pk)
        super().save(*args, **kwargs)
