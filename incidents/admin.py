from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db import models
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.html import format_html

from . import adminparts, quality, services
from .exports import jobs
from .models import (
    ActorType,
    CIAPosture,
    Dataset,
    ExportJob,
    Incident,
    IncidentTechnique,
    IncidentType,
    Motive,
    Organisation,
    OrganisationAlias,
    OrganisationRedirect,
    Sector,
    Software,
    Source,
    Tactic,
    Technique,
    TechniqueProvenance,
    ThreatActor,
)

# Staff paste bare domains ("example.com") into URL fields; read them as https.
URL_FIELDS = {models.URLField: {"assume_scheme": "https"}}


@admin.register(Sector, Motive, ActorType, IncidentType)
class TaxonomyAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Dataset)
class DatasetAdmin(admin.ModelAdmin):
    list_display = ["name", "version", "licence", "imported_at"]
    readonly_fields = ["version", "imported_at"]
    formfield_overrides = URL_FIELDS
    change_list_template = "admin/incidents/dataset/change_list.html"

    def get_urls(self):
        report = self.admin_site.admin_view(self.catalogue_report)
        return [
            path("report/", report, name="incidents_catalogue_report"),
            *super().get_urls(),
        ]

    def catalogue_report(self, request):
        """The data-quality report (incidents.quality), for staff who may view datasets."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        report = quality.build_report()
        return TemplateResponse(
            request,
            "admin/incidents/dataset/report.html",
            {
                **self.admin_site.each_context(request),
                "title": "Catalogue report",
                "opts": self.model._meta,
                "report": report,
                "counts": report.counts(),
                "limit": 200,
            },
        )


@admin.register(Tactic)
class TacticAdmin(admin.ModelAdmin):
    formfield_overrides = URL_FIELDS
    list_display = ["attack_id", "name", "shortname", "order"]
    search_fields = ["attack_id", "name", "shortname"]


@admin.register(Technique)
class TechniqueAdmin(admin.ModelAdmin):
    formfield_overrides = URL_FIELDS
    list_display = ["attack_id", "name", "parent", "is_revoked", "is_deprecated"]
    list_select_related = ["parent"]
    list_filter = ["tactics", "is_revoked", "is_deprecated"]
    search_fields = ["attack_id", "name"]
    autocomplete_fields = ["parent"]
    filter_horizontal = ["tactics"]

    def get_search_results(self, request, queryset, search_term):
        # Autocomplete on an incident offers only techniques that may still be tagged.
        queryset, distinct = super().get_search_results(request, queryset, search_term)
        if request.GET.get("model_name") in ("incident", "incidenttechnique"):
            queryset = queryset.taggable()
        return queryset, distinct


class AliasesField(forms.CharField):
    """A JSON list of aliases edited as comma-separated text."""

    def prepare_value(self, value):
        if isinstance(value, list | tuple):
            return ", ".join(value)
        return value

    def to_python(self, value):
        value = super().to_python(value)
        return [a.strip() for a in value.split(",") if a.strip()]


class ThreatActorForm(forms.ModelForm):
    aliases = AliasesField(required=False, help_text="Comma-separated")

    class Meta:
        model = ThreatActor
        fields = [
            "name",
            "slug",
            "aliases",
            "actor_type",
            "actor_type_source",
            "country",
            "country_source",
            "description",
            "attack_id",
            "is_unattributed",
        ]

    def clean(self):
        """A type or location changed by hand is staff's: its imported source no longer
        applies, and the importer will not overwrite it."""
        cleaned = super().clean()
        for value, source in (("actor_type", "actor_type_source"), ("country", "country_source")):
            if value in self.changed_data and source not in self.changed_data:
                cleaned[source] = ""
        return cleaned


@admin.register(ThreatActor)
class ThreatActorAdmin(admin.ModelAdmin):
    form = ThreatActorForm
    list_display = ["name", "actor_type", "country", "attack_id", "is_unattributed"]
    list_select_related = ["actor_type"]
    list_filter = ["actor_type", "is_unattributed", "dataset"]
    search_fields = ["name", "aliases", "attack_id"]
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["actor_type"]
    readonly_fields = ["techniques_from_attack", "software_from_attack"]

    @admin.display(description="Techniques (from ATT&CK)")
    def techniques_from_attack(self, actor):
        return ", ".join(actor.techniques.values_list("attack_id", flat=True)) or "-"

    @admin.display(description="Software (from ATT&CK)")
    def software_from_attack(self, actor):
        return ", ".join(actor.software.values_list("name", flat=True)) or "-"


@admin.register(Software)
class SoftwareAdmin(admin.ModelAdmin):
    """Imported from ATT&CK (import_attack) and replaced by the next import."""

    list_display = ["attack_id", "name", "kind"]
    list_filter = ["kind"]
    search_fields = ["attack_id", "name"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class OrganisationAliasInline(admin.TabularInline):
    model = OrganisationAlias
    extra = 0
    fields = ["name"]
    verbose_name = "spelling used by sources"
    verbose_name_plural = "spellings used by sources (searchable)"


class OrganisationRedirectInline(admin.TabularInline):
    model = OrganisationRedirect
    extra = 0
    fields = ["old_slug", "created_at"]
    readonly_fields = ["old_slug", "created_at"]
    can_delete = False
    verbose_name_plural = "addresses of organisations merged into this one (301 here)"

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    formfield_overrides = URL_FIELDS
    list_display = ["name", "country", "sector", "is_placeholder", "website"]
    list_select_related = ["sector"]
    list_filter = ["is_placeholder", "sector"]
    search_fields = ["name", "slug", "aliases__name"]
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["sector"]
    inlines = [OrganisationAliasInline, OrganisationRedirectInline]
    actions = ["merge", "split_by_country"]

    @admin.action(description="Merge selected organisations into one…", permissions=["change"])
    def merge(self, request, queryset):
        """Asks which organisation to keep, then merges the others into it (logged on it)."""
        organisations = list(queryset.order_by("name", "pk"))
        if len(organisations) < 2:
            self.message_user(request, "Select at least two organisations.", messages.WARNING)
            return None
        keep = request.POST.get("keep")
        target = next((o for o in organisations if str(o.pk) == keep), None)
        if request.POST.get("confirm") and target is not None:
            others = [o for o in organisations if o.pk != target.pk]
            described = "; ".join(
                f"{o.name} ({o.country or 'no country'}, /{o.slug}/)" for o in others
            )
            try:
                moved = services.merge_organisations(target, others)
            except services.MergeRefused as exc:
                self.message_user(request, str(exc), messages.ERROR)
                return None
            self.log_change(
                request,
                target,
                f"Merged into this organisation: {described}; {moved} incident(s) moved.",
            )
            self.message_user(
                request,
                f"Merged {len(others)} organisation(s) into {target.name}: {moved} incident(s) "
                "moved; their old addresses redirect here.",
                messages.SUCCESS,
            )
            return None
        return TemplateResponse(
            request,
            "admin/incidents/organisation/merge.html",
            {
                **self.admin_site.each_context(request),
                "title": "Merge organisations",
                "opts": self.model._meta,
                "organisations": organisations,
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            },
        )

    @admin.action(
        description="Split selected organisations by incident country", permissions=["change"]
    )
    def split_by_country(self, request, queryset):
        made = 0
        for organisation in queryset:
            new = services.split_organisation_by_country(organisation)
            if new:
                made += len(new)
                countries = ", ".join(str(o.country) for o in new)
                self.log_change(
                    request,
                    organisation,
                    f"Split: incidents in {countries} moved to new organisations.",
                )
        self.message_user(request, f"{made} organisation(s) made.", messages.SUCCESS)


class SourceInline(admin.TabularInline):
    formfield_overrides = URL_FIELDS
    model = Source
    extra = 1
    fields = ["url", "title", "publisher", "published_on"]


class IncidentTechniqueForm(forms.ModelForm):
    class Meta:
        model = IncidentTechnique
        fields = ["technique", "provenance"]

    def clean_provenance(self):
        # Only the VERIS importer derives techniques (and records from what); staff record
        # what a source reported, and may mark a derived technique reported.
        value = self.cleaned_data["provenance"]
        was = self.instance.provenance if self.instance.pk else None
        if value == TechniqueProvenance.DERIVED and was != TechniqueProvenance.DERIVED:
            raise forms.ValidationError(
                "Only the VERIS importer derives techniques; a technique staff add is reported."
            )
        return value


class IncidentTechniqueInline(admin.TabularInline):
    """The incident's ATT&CK techniques (members only) with their provenance: staff add
    reported techniques and may mark a derived one reported (what VERIS derived it from is
    then dropped: the source reports it)."""

    model = IncidentTechnique
    form = IncidentTechniqueForm
    extra = 1
    fields = ["technique", "provenance", "derived_from"]
    readonly_fields = ["derived_from"]
    autocomplete_fields = ["technique"]
    verbose_name = "ATT&CK technique (members only)"
    verbose_name_plural = "ATT&CK techniques (members only)"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("technique")


class CIAPostureInline(admin.StackedInline):
    model = CIAPosture
    can_delete = False
    extra = 1
    max_num = 1


class DropdownFilter(admin.ChoicesFieldListFilter):
    """A filter over many values (about 250 countries) as one menu, not a column of links."""

    template = "admin/dropdown_filter.html"


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    form = adminparts.IncidentForm
    list_display = [
        "organisation",
        "date_shown",
        adminparts.country_code,
        "sector",
        "status",
        adminparts.dataset,
        adminparts.published,
        adminparts.updated,
    ]
    list_filter = [
        "status",
        "confirmation",
        "dataset",
        "date_precision",
        "sector",
        ("country", DropdownFilter),
        "motives",
    ]
    list_select_related = ["organisation", "sector", "dataset"]
    search_fields = ["organisation__name", "slug", "summary", "external_id"]
    date_hierarchy = "date"
    autocomplete_fields = ["organisation", "sector", "motives", "threat_actors"]
    filter_horizontal = ["types"]  # a handful of public incident types, chosen side by side
    readonly_fields = [
        "disclosure_lag_days",
        "published_at",
        "created_at",
        "updated_at",
        "public_page",
        "dataset",
        "external_id",
        "imported_at",
    ]
    inlines = [CIAPostureInline, IncidentTechniqueInline, SourceInline]
    actions = ["publish", "unpublish"]

    class Media:
        js = ["js/admin_dropdown_filter.js"]
        css = {"all": ["css/admin_incidents.css"]}

    fieldsets = [
        (None, {"fields": ["organisation", "slug", "status", "public_page"]}),
        ("When and where", {"fields": [("date", "date_precision"), "country", "sector"]}),
        (
            "Timeline (public)",
            {
                "description": "Each date as far as it is known, with its source. The date "
                "above is set from these: occurred, else disclosed (when either is given).",
                "fields": [
                    ("occurred_on", "occurred_precision", "occurred_source"),
                    ("occurred_end_on", "occurred_end_precision"),
                    ("discovered_on", "discovered_precision", "discovered_source"),
                    ("disclosed_on", "disclosed_precision", "disclosed_source"),
                    "confirmation",
                    "disclosure_lag_days",
                ],
            },
        ),
        ("Public account", {"fields": ["types", "summary", "description", "records_affected"]}),
        # The techniques are an inline (IncidentTechniqueInline): each says its provenance.
        ("Members only", {"fields": ["motives", "threat_actors"]}),
        ("History", {"fields": ["published_at", "created_at", "updated_at"]}),
        ("Provenance", {"fields": ["dataset", "external_id", "imported_at"]}),
    ]

    @admin.display(description="date", ordering="date")
    def date_shown(self, obj):
        return obj.date_display.replace(" ", "\u00a0")  # one line in the list

    @admin.display(description="public page")
    def public_page(self, obj):
        if not obj.pk:
            return "-"
        label = "View on site" if obj.status == Incident.Status.PUBLISHED else "Preview (draft)"
        return format_html('<a href="{}">{}</a>', obj.get_absolute_url(), label)

    def save_model(self, request, obj, form, change):
        # Through the writer: an incident this form publishes is announced to the alerts
        # (matched when the admin's transaction commits, with its inlines saved).
        services.save_incident(obj)

    @admin.action(description="Publish selected incidents", permissions=["change"])
    def publish(self, request, queryset):
        n = services.publish(queryset)
        self.message_user(request, f"Published {n} incident(s).", messages.SUCCESS)

    @admin.action(
        description="Unpublish selected incidents (back to draft)", permissions=["change"]
    )
    def unpublish(self, request, queryset):
        n = services.unpublish(queryset)
        self.message_user(request, f"Unpublished {n} incident(s).", messages.SUCCESS)


@admin.register(ExportJob)
class ExportJobAdmin(admin.ModelAdmin):
    """Members' emailed exports, to look into ("why was mine not made?"): read only, since
    a job's fields are what its run wrote; no link to the file (it is handed only to its
    owner, by the signed link). One action: enqueue again a failed or stalled job."""

    list_display = [
        "pk",
        "owner_email",
        "format",
        "state",
        "stalled",
        "attempts",
        "rows",
        "created_at",
        "finished_at",
        "expires_at",
    ]
    list_filter = ["state", "format"]
    search_fields = ["user__email"]
    list_select_related = ["user"]
    fields = [
        "user",
        "format",
        "query",
        "state",
        "reason",
        "charged_rows",
        "rows",
        "size",
        "file_name",
        "created_at",
        "started_at",
        "attempts",
        "finished_at",
        "expires_at",
    ]
    readonly_fields = fields
    actions = ["enqueue_again"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        # The list's action needs it; a job's own page is read only.
        return obj is None and super().has_change_permission(request)

    @admin.display(description="owner", ordering="user__email")
    def owner_email(self, obj):
        return obj.user.email

    def get_queryset(self, request):
        return super().get_queryset(request).with_stalled()

    @admin.display(description="stalled", boolean=True)
    def stalled(self, obj):
        return obj.is_stalled

    @admin.action(description="Enqueue again (failed or stalled jobs)", permissions=["change"])
    def enqueue_again(self, request, queryset):
        done = sum(jobs.enqueue_again(job) for job in queryset.select_related("user"))
        skipped = queryset.count() - done
        self.message_user(request, f"Enqueued again: {done} export job(s).", messages.SUCCESS)
        if skipped:
            self.message_user(
                request,
                f"{skipped} job(s) left as they were: only failed jobs and jobs stalled "
                "(being written for longer than EXPORT_STALLED_MINUTES) are enqueued again.",
                messages.WARNING,
            )


# The merge candidates' admin lives beside this one (this module is near its size limit).
from . import admin_merges  # noqa: E402, F401
