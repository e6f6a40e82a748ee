from django.contrib.syndication.views import Feed
from django.urls import reverse_lazy
from django.utils.feedgenerator import Atom1Feed

from .models import Incident


class LatestIncidentsFeed(Feed):
    """The newest published incidents; public fields only (victim, date, summary)."""

    feed_type = Atom1Feed
    title = "Cyber Incident Portal: latest incidents"
    link = reverse_lazy("incidents:incident_list")
    subtitle = "Publicly reported cyber incidents, newest first."

    def items(self):
        return (
            Incident.objects.published()
            .select_related("organisation")
            .only(
                "slug",
                "date",
                "date_precision",
                "summary",
                "published_at",
                "updated_at",
                "organisation__name",
            )
            .newest_first()[:30]
        )

    def item_title(self, item):
        return f"Cyber Incident Victim: {item.organisation.name} ({item.date_display})"

    def item_description(self, item):
        return item.summary

    def item_pubdate(self, item):
        return item.published_at

    def item_updateddate(self, item):
        return item.updated_at
