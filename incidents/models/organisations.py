"""Victim organisations: who was affected; an organisation may have several incidents."""

from django.db import models
from django.db.models import Count, Exists, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.urls import reverse
from django_countries.fields import CountryField

from .. import rules
from .base import CleanText, SlugManager
from .reference import Sector


class OrganisationQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Organisations with at least one incident ``user`` may see (None: anyone)."""
        incidents = _incidents(self).objects.visible_to(user)
        return self.filter(Exists(incidents.filter(organisation=OuterRef("pk"))))

    def named(self, text):
        """Organisations whose name, or a spelling a source used, contains ``text``."""
        spelt = OrganisationAlias.objects.filter(organisation=OuterRef("pk"), name__icontains=text)
        return self.filter(Q(name__icontains=text) | Exists(spelt))

    def with_incident_counts(self, user=None):
        """Annotate ``incident_count``: incidents of this victim the viewer may see."""
        incidents = _incidents(self).objects.visible_to(user).filter(organisation=OuterRef("pk"))
        counts = incidents.order_by().values("organisation").annotate(n=Count("pk")).values("n")
        return self.annotate(incident_count=Coalesce(Subquery(counts), Value(0)))


def _incidents(organisations):
    """The incident model, reached through the victims' relation to it (incident.py imports
    this module)."""
    return organisations.model._meta.get_field("incidents").related_model


class OrganisationManager(SlugManager.from_queryset(OrganisationQuerySet)):
    pass


class Organisation(CleanText):
    """A victim organisation; it may have several incidents (a recurring victim)."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, unique=True)
    country = CountryField(blank=True)
    # Same-named victims in two states are two victims ("Methodist Hospital" in TX and KY).
    state = models.CharField(
        max_length=20,
        blank=True,
        help_text='State or province, as the sources give it (US: the postal code, "TX")',
    )
    sector = models.ForeignKey(
        Sector, null=True, blank=True, on_delete=models.PROTECT, related_name="organisations"
    )
    website = models.URLField(blank=True)
    is_placeholder = models.BooleanField(
        default=False,
        help_text='Stands for unnamed victims ("Unidentified organisation (Canada)"), '
        "not one organisation: its incidents are not related to each other",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = OrganisationManager()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def natural_key(self):
        return (self.slug,)

    def get_absolute_url(self):
        return reverse("incidents:organisation_detail", args=[self.slug])

    def save(self, *args, **kwargs):
        if not self.slug:
            self.slug = rules.unique_slug(Organisation, self.name, exclude_pk=self.pk)
        super().save(*args, **kwargs)


class OrganisationAlias(CleanText):
    """A spelling of a victim's name as a source gives it ("Microsoft Corp", "microsoft").

    Public, like the name: the organisation list and the finder's text search match it.
    """

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="aliases")
    name = models.CharField(max_length=200)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "organisation aliases"
        constraints = [
            models.UniqueConstraint(fields=["organisation", "name"], name="alias_unique_name"),
        ]

    def __str__(self):
        return self.name


class OrganisationRedirect(models.Model):
    """The address of an organisation merged into another: answered with a 301 to it."""

    old_slug = models.SlugField(max_length=100, unique=True)
    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="redirects"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"{self.old_slug} → {self.organisation.slug}"
