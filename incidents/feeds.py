import re

from django.contrib.syndication.views import Feed
from django.http import HttpResponseBadRequest
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed

from accounts.access import is_member

from . import alerts, filters, search, watches
from .models import Incident, SavedSearch, public_types
from .selectors.incidents import applied_filters

# Characters outside XML 1.0's Char production: C0 controls but tab, newline and
# carriage return, lone surrogates, U+FFFE and U+FFFF.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str) -> str:
    """``text`` without the characters XML 1.0 does not allow."""
    return _NOT_XML.sub("", text)


def _xml_safe(value):
    if isinstance(value, str):
        return xml_text(value)
    if isinstance(value, (list, tuple)):
        return type(value)(_xml_safe(v) for v in value)
    return value


class XmlSafeAtom1Feed(Atom1Feed):
    """Atom with every string of the feed and its entries made XML-safe: Django's XML
    writer refuses a control character (a 500), and one pasted into a summary or a
    victim's name can get past the write-side cleaning (a raw update, an old row)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*_xml_safe(args), **{k: _xml_safe(v) for k, v in kwargs.items()})

    def add_item(self, *args, **kwargs):
        super().add_item(*_xml_safe(args), **{k: _xml_safe(v) for k, v in kwargs.items()})


FEED_LENGTH = 30
FEED_FIELDS = (
    "slug",
    "date",
    "date_precision",
    "summary",
    "published_at",
    "updated_at",
    "organisation__name",
)


class IncidentFeed(Feed):
    """Incidents as Atom entries with public fields only (victim, date, summary, and the
    incident types as the entries' categories)."""

    feed_type = XmlSafeAtom1Feed

    def newest(self, incidents):
        return (
            incidents.select_related("organisation")
            .only(*FEED_FIELDS)
            .prefetch_related(public_types())
            .newest_first()[:FEED_LENGTH]
        )

    def item_categories(self, item):
        return [t.name for t in item.types.all()]

    def item_title(self, item):
        return f"Cyber Incident Victim: {item.organisation.name} ({item.date_display})"

    def item_description(self, item):
        return item.summary

    def item_pubdate(self, item):
        return item.published_at

    def item_updateddate(self, item):
        return item.updated_at


class LatestIncidentsFeed(IncidentFeed):
    """The newest published incidents, or those of one public facet: the public finder
    filters (victim country, sector, incident type, organisation, dates, records) and
    search text ``q``, as a visitor's finder reads them, whoever asks (a members' filter is
    ignored, as on a visitor's finder). Invalid parameters: 400."""

    def __call__(self, request, *args, **kwargs):
        found = filters.PublicIncidentFilter(
            request.GET or None, queryset=Incident.objects.published()
        )
        if found.is_bound and not found.is_valid():
            return HttpResponseBadRequest(
                "Some feed parameters are not valid: use the incident finder's filters.",
                content_type="text/plain; charset=utf-8",
            )
        request.incident_filter = found
        return super().__call__(request, *args, **kwargs)

    def get_object(self, request):
        return request.incident_filter

    def _params(self, found):
        return {k: v for k, v in filters.canonical_params(found).items() if k != "sort"}

    def title(self, found):
        applied = applied_filters(found, self._params(found))
        described = [f"“{value}”" if label == "Search" else value for label, value, _ in applied]
        base = "Cyber Incident Portal: latest incidents"
        return f"{base}: {', '.join(map(str, described))}" if described else base

    def subtitle(self, found):
        return "Publicly reported cyber incidents, newest first."

    def link(self, found):
        query = filters.encode(self._params(found))
        return reverse("incidents:incident_list") + (f"?{query}" if query else "")

    def feed_url(self, found):
        query = filters.encode(self._params(found))
        return reverse("incidents:incident_feed") + (f"?{query}" if query else "")

    def items(self, found):
        params = self._params(found)
        incidents = found.qs
        if params.get("q"):
            incidents = search.search(incidents, params["q"], member=False)
        return self.newest(incidents)


class SavedSearchFeed(IncidentFeed):
    """A saved search's private feed, at a secret URL. Its entries are what the search
    finds for its owner as a member, read at each request; when the owner is not a member,
    it is empty (incidents.alerts: the same rule as the alerts)."""

    def get_object(self, request, token):
        return get_object_or_404(SavedSearch.objects.select_related("user"), feed_token=token)

    def title(self, saved):
        return f"Cyber Incident Portal: {saved.name}"

    def subtitle(self, saved):
        if is_member(saved.user) and saved.is_watchlist:
            return "Incidents naming the organisations you watch, newest first."
        if is_member(saved.user):
            return "New incidents matching your saved search, newest first."
        return "This private feed lists incidents while its owner is a member."

    def link(self, saved):
        return saved.get_absolute_url()

    def feed_url(self, saved):
        return saved.feed_url()

    def items(self, saved):
        if not is_member(saved.user):
            return []
        if saved.is_watchlist:
            return self.newest(watches.incidents_named(saved, Incident.objects.published()))
        return self.newest(alerts.matching(saved.query, Incident.objects.published()))
