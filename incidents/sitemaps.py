"""The sitemaps: only what a visitor (no account) may open, each entry a 200 for them.

Hubs are listed as the hub views decide for a non-member: a country or year with published
incidents, a sector or incident type with published incidents (every sector and type has
a page; an empty one is not worth listing), and ATT&CK's own tactics and techniques
(published by MITRE, not revoked or deprecated: ``selectors.attack.tactics_for(False)``
and ``techniques_for(False)``, the same selectors the hub pages answer 404 by).
"""

import re

from django.contrib.sitemaps import Sitemap
from django.urls import reverse

from . import browse
from .models import Incident, Organisation, ThreatActor
from .selectors.attack import tactics_for, techniques_for

# What the technique hub's URL accepts (incidents/urls.py); anything else has no address.
TECHNIQUE_ID = re.compile(r"^T[0-9]{4}(?:\.[0-9]{3})?$")


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
            "incidents:statistics",
            "incidents:browse",
            "incidents:browse_countries",
            "incidents:attack_index",
        ]

    def location(self, item):
        return reverse(item)


class HubSitemap(Sitemap):
    def location(self, item):
        name, value = item
        return reverse(name, args=[value])


class FacetHubSitemap(HubSitemap):
    """Country, sector, incident type and year hubs with published incidents (counted once
    per catalogue version by incidents.browse, shared with /browse/)."""

    changefreq = "weekly"

    def items(self):
        return [
            *(("incidents:country_hub", code) for code, _name, _n in browse.by_country()),
            *(("incidents:sector_hub", slug) for slug, _name, _n in browse.by_sector()),
            *(("incidents:type_hub", slug) for slug, _name, n in browse.by_type() if n),
            *(("incidents:year_hub", year) for year, _n in browse.by_year()),
        ]


class AttackHubSitemap(HubSitemap):
    """ATT&CK's own tactics and techniques: the hubs a non-member gets."""

    changefreq = "monthly"
    limit = 10000

    def items(self):
        tactics = tactics_for(False).order_by("order", "shortname")
        techniques = techniques_for(False).order_by("attack_id")
        return [
            *(("incidents:tactic_hub", s) for s in tactics.values_list("shortname", flat=True)),
            *(
                ("incidents:technique_hub", attack_id)
                for attack_id in techniques.values_list("attack_id", flat=True)
                if TECHNIQUE_ID.match(attack_id)
            ),
        ]


sitemaps = {
    "pages": StaticSitemap,
    "incidents": IncidentSitemap,
    "organisations": OrganisationSitemap,
    "actors": ThreatActorSitemap,
    "hubs": FacetHubSitemap,
    "attack": AttackHubSitemap,
}
