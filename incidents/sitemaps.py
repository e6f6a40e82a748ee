from django.contrib.sitemaps import Sitemap
from django.urls import reverse

from .models import Incident, Organisation, ThreatActor


class IncidentSitemap(Sitemap):
    changefreq = "monthly"
    limit = 10000

    def items(self):
        return Incident.objects.published().only("slug", "updated_at").order_by("pk")

    def lastmod(self, item):
        return item.updated_at


class OrganisationSitemap(Sitemap):
    changefreq = "monthly"
    limit = 10000

    def items(self):
        return Organisation.objects.visible_to(None).only("slug").order_by("pk")


class ThreatActorSitemap(Sitemap):
    changefreq = "monthly"
    limit = 10000

    def items(self):
        return ThreatActor.objects.visible_to(None).only("slug").order_by("pk")


class StaticSitemap(Sitemap):
    def items(self):
        return [
            "home",
            "incidents:incident_list",
            "incidents:organisation_list",
            "incidents:actor_list",
            "accounts:membership",
            "data_sources",
        ]

    def location(self, item):
        return reverse(item)


sitemaps = {
    "pages": StaticSitemap,
    "incidents": IncidentSitemap,
    "organisations": OrganisationSitemap,
    "actors": ThreatActorSitemap,
}
