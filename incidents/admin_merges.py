"""The admin's merge candidates: pairs of incidents an importer found alike, with the
evidence side by side, for staff to merge or to keep apart (never merged silently)."""

from django.contrib import admin, messages
from django.utils.html import format_html, format_html_join

from . import services
from .models import Incident, IncidentRecord, MergeCandidate

# The rows of the side-by-side table: (label, how to read it from an incident).
SIDE_BY_SIDE = (
    ("Victim", lambda i: i.organisation.name),
    ("State", lambda i: i.organisation.state or "—"),
    ("Date", lambda i: i.date_display),
    (
        "Records affected",
        lambda i: "—" if i.records_affected is None else f"{i.records_affected:,}",
    ),
    ("Summary", lambda i: i.summary or "—"),
    ("Dataset", lambda i: f"{i.dataset.name if i.dataset_id else 'staff'} {i.external_id}"),
    ("Status", lambda i: i.get_status_display()),
)


@admin.register(MergeCandidate)
class MergeCandidateAdmin(admin.ModelAdmin):
    list_display = ["pair", "score", "name_similarity", "records", "days", "status", "created_at"]
    list_filter = ["status"]
    list_select_related = ["incident__organisation", "duplicate__organisation"]
    search_fields = ["incident__organisation__name", "duplicate__organisation__name"]
    readonly_fields = ["side_by_side", "evidence_table", "score", "status", "decided_at"]
    fields = readonly_fields
    actions = ["merge", "reject"]

    def has_add_permission(self, request):
        return False

    @admin.display(description="pair")
    def pair(self, obj):
        other = obj.duplicate.organisation.name if obj.duplicate_id else "(merged)"
        return f"{obj.incident.organisation.name} ~ {other}"

    @admin.display(description="name similarity")
    def name_similarity(self, obj):
        return obj.evidence.get("name_similarity")

    @admin.display(description="records")
    def records(self, obj):
        return obj.evidence.get("records")

    @admin.display(description="days before filing")
    def days(self, obj):
        return obj.evidence.get("days_before_submission")

    @admin.display(description="the two incidents")
    def side_by_side(self, obj):
        pair = [obj.incident, obj.duplicate] if obj.duplicate_id else [obj.incident]
        ids = [i.pk for i in pair]
        incidents = Incident.objects.select_related("organisation", "dataset").in_bulk(ids)
        pair = [incidents[pk] for pk in ids]
        header = format_html_join(
            "",
            '<th scope="col"><a href="{}">{}</a></th>',
            ((i.get_absolute_url(), i) for i in pair),
        )
        rows = format_html_join(
            "",
            '<tr><th scope="row">{}</th>{}</tr>',
            (
                (label, format_html_join("", "<td>{}</td>", ((read(i),) for i in pair)))
                for label, read in SIDE_BY_SIDE
            ),
        )
        records = format_html_join(
            "",
            "<li>{} {}: {}</li>",
            (
                (r.dataset.name, r.external_id, r.values)
                for r in IncidentRecord.objects.filter(incident__in=ids).select_related("dataset")
            ),
        )
        return format_html(
            "<table><thead><tr><th></th>{}</tr></thead><tbody>{}</tbody></table><ul>{}</ul>",
            header,
            rows,
            records,
        )

    @admin.display(description="evidence")
    def evidence_table(self, obj):
        return format_html_join(
            "", "<div><strong>{}</strong>: {}</div>", sorted(obj.evidence.items())
        )

    @admin.action(
        description="Merge: one event (the second joins the first)", permissions=["change"]
    )
    def merge(self, request, queryset):
        done = 0
        for candidate in queryset.filter(
            status=MergeCandidate.Status.OPEN, duplicate__isnull=False
        ):
            described = f"{candidate.duplicate} ({candidate.duplicate.external_id})"
            services.merge_incidents(candidate)
            self.log_change(request, candidate.incident, f"Merged into this incident: {described}.")
            done += 1
        self.message_user(request, f"Merged {done} pair(s).", messages.SUCCESS)

    @admin.action(description="Not the same event: keep both", permissions=["change"])
    def reject(self, request, queryset):
        n = 0
        for candidate in queryset.filter(status=MergeCandidate.Status.OPEN):
            services.reject_merge(candidate)
            n += 1
        self.message_user(request, f"{n} pair(s) kept apart.", messages.SUCCESS)
