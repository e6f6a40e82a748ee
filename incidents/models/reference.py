"""Reference data: datasets with their licences, the small public vocabularies (sectors,
motives, actor types, incident types) and MITRE ATT&CK (tactics, techniques)."""

from django.db import models
from django.db.models import Q
from django.urls import reverse

from .base import SlugManager


class Dataset(models.Model):
    """An external dataset records were imported from, with the licence its reuse requires.

    Provenance and licence attribution are public (they are shown on the pages
    of imported incidents); ``version`` is the release last imported.
    """

    slug = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=200)
    url = models.URLField(blank=True)
    licence = models.CharField(max_length=100, blank=True)
    licence_url = models.URLField(blank=True)
    attribution = models.TextField(blank=True, help_text="Shown on public pages of its records")
    version = models.CharField(max_length=100, blank=True, help_text="Release last imported")
    imported_at = models.DateTimeField(null=True, blank=True)
    import_problems = models.JSONField(
        default=list,
        blank=True,
        editable=False,
        help_text="What the last import reported (file:line: field: message)",
    )

    objects = SlugManager()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return f"{self.name} {self.version}".strip()

    def natural_key(self):
        return (self.slug,)


class TaxonomyTerm(models.Model):
    """A term of a small public vocabulary (sectors, motives, actor types)."""

    slug = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)

    objects = SlugManager()

    class Meta:
        abstract = True
        ordering = ["name"]

    def __str__(self):
        return self.name

    def natural_key(self):
        return (self.slug,)


class Sector(TaxonomyTerm):
    class Meta(TaxonomyTerm.Meta):
        pass


class Motive(TaxonomyTerm):
    """Why an actor acted; slugs follow VERIS actor motives (financial, espionage, ...)."""

    class Meta(TaxonomyTerm.Meta):
        pass


class ActorType(TaxonomyTerm):
    class Meta(TaxonomyTerm.Meta):
        pass


class IncidentType(TaxonomyTerm):
    """The coarse kind of attack (ransomware, data breach, DDoS, ...): public, like the
    sector; an incident may have several. The terms are rules.INCIDENT_TYPES (migration
    0028 creates them); the VERIS importer derives them (importers/veris/types.py), staff
    set them for the rest. The techniques stay the members' detail (DESIGN.md)."""

    position = models.PositiveSmallIntegerField(
        default=0, help_text="Where the type comes in lists, menus and charts (lowest first)"
    )

    class Meta(TaxonomyTerm.Meta):
        # Every list of types (a row, the finder's menu, the charts) reads them in this order.
        ordering = ["position", "name"]

    def get_absolute_url(self):
        return reverse("incidents:type_hub", args=[self.slug])


def public_types():
    """The incident types of each incident (public), as every list and page reads them:
    ``incident.types.all()``, in the types' order."""
    return models.Prefetch("types", IncidentType.objects.only("slug", "name", "position"))


class TacticManager(models.Manager):
    def get_by_natural_key(self, shortname):
        return self.get(shortname=shortname)


class Tactic(models.Model):
    """An ATT&CK Enterprise tactic such as initial-access (TA0001)."""

    attack_id = models.CharField("ATT&CK ID", max_length=10, unique=True)
    shortname = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=100)
    url = models.URLField(blank=True)
    description = models.TextField(blank=True)
    stix_id = models.CharField("STIX ID", max_length=100, blank=True)
    order = models.PositiveSmallIntegerField(default=0, help_text="Position in the ATT&CK matrix")

    objects = TacticManager()

    class Meta:
        ordering = ["order", "name"]

    def __str__(self):
        return self.name

    def natural_key(self):
        return (self.shortname,)


class TechniqueQuerySet(models.QuerySet):
    def taggable(self):
        """Techniques offered for new tagging (not revoked or deprecated)."""
        return self.filter(is_revoked=False, is_deprecated=False)


class TechniqueManager(models.Manager.from_queryset(TechniqueQuerySet)):
    def get_by_natural_key(self, attack_id):
        return self.get(attack_id=attack_id)


class Technique(models.Model):
    """An ATT&CK Enterprise technique (T1566) or sub-technique (T1566.001)."""

    attack_id = models.CharField("ATT&CK ID", max_length=12, unique=True)
    name = models.CharField(max_length=200)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="subtechniques"
    )
    tactics = models.ManyToManyField(Tactic, blank=True, related_name="techniques")
    description = models.TextField(blank=True)
    url = models.URLField(blank=True)
    is_revoked = models.BooleanField(default=False)
    is_deprecated = models.BooleanField(default=False)
    revoked_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    stix_id = models.CharField("STIX ID", max_length=100, blank=True, db_index=True)
    version = models.CharField(max_length=20, blank=True, help_text="The technique's own version")

    objects = TechniqueManager()

    class Meta:
        ordering = ["attack_id"]
        constraints = [
            # A sub-technique's ID extends its parent's: T1566.001 under T1566.
            models.CheckConstraint(
                condition=Q(parent__isnull=True) | Q(attack_id__contains="."),
                name="technique_subtechnique_id_has_dot",
            ),
        ]

    def __str__(self):
        return f"{self.attack_id} {self.name}"

    def natural_key(self):
        return (self.attack_id,)

    def save(self, *args, **kwargs):
        if not self.url and self.attack_id:
            self.url = "https://attack.mitre.org/techniques/" + self.attack_id.replace(".", "/")
        super().save(*args, **kwargs)


class Software(models.Model):
    """An ATT&CK software entry (S0002 Mimikatz): malware or a tool that groups use."""

    class Kind(models.TextChoices):
        MALWARE = "malware", "Malware"
        TOOL = "tool", "Tool"

    attack_id = models.CharField("ATT&CK ID", max_length=12, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    aliases = models.JSONField(default=list, blank=True)
    description = models.TextField(blank=True)
    url = models.URLField(blank=True)
    stix_id = models.CharField("STIX ID", max_length=100, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "software"

    def __str__(self):
        return f"{self.attack_id} {self.name}"

    def natural_key(self):
        return (self.attack_id,)
