"""Watched organisations: a member's watch list of victims, by name or by web domain.

A watch list is a saved search of its own kind (``SavedSearch.Kind.WATCHLIST``, one per
user) whose ``Watch`` rows say what it matches; its alerts go through the saved searches'
path (incidents.alerts: an ``AlertMatch`` per (watch list, new incident), delivered and
digested alike, members only when sent). A watch matches an incident whose victim

- is the organisation it was added from (``Watch.organisation``), or
- has the watch's name, or a spelling a source used, as ``rules.organisation_key`` reads
  names ("Acme Corp." and "ACME" alike), or
- has a website on the watch's domain or under it (``shop.example.com`` for
  ``example.com``).

All of these are public fields of the victim, so a watch never reveals a members' value.
"""

from __future__ import annotations

import re
from collections import defaultdict
from urllib.parse import urlsplit

from django.db.models import Q

from . import rules
from .models import Incident, Organisation, OrganisationAlias, SavedSearch, Watch

WATCHLIST_NAME = "Watched organisations"
CANDIDATES = 500  # victims looked at per watch when listing what it names today

HOST = re.compile(r"(?=.{1,253}\Z)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}\Z")


class NotValid(ValueError):
    """What the member wrote is neither a name nor a domain we can match."""


def domain_of(text: str) -> str:
    """The host name ``text`` gives as a domain ("https://www.Example.com/x" ->
    "example.com"), or "" if it is not one (a name with spaces, no dot...)."""
    text = text.strip()
    if not text or any(c.isspace() for c in text):
        return ""
    host = urlsplit(text if "//" in text else f"//{text}").hostname or ""
    try:
        host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return ""
    host = host.removeprefix("www.")
    return host if HOST.match(host) else ""


def website_host(url: str) -> str:
    return domain_of(url) if url else ""


def parse(text: str) -> tuple[str, str, str]:
    """(label, name key, domain) of what a member typed: an organisation's name, or a web
    domain (which is also matched as a name: "Booking.com")."""
    label = " ".join(rules.clean_text(text or "").split())[:200]
    if not label:
        raise NotValid("Write an organisation's name or its web domain.")
    domain = domain_of(label)
    if domain and "/" in label:  # an address: its domain is what it means
        return domain, "", domain
    key = rules.organisation_key(label)
    if not re.search(r"\w", key) and not domain:
        raise NotValid("Write an organisation's name (letters or digits) or its web domain.")
    return label, key, domain


def watchlist_of(user, *, create=False) -> SavedSearch | None:
    """The user's watch list (made, alerts immediate, when ``create``)."""
    mine = {"user": user, "kind": SavedSearch.Kind.WATCHLIST}
    if not create:
        return SavedSearch.objects.filter(**mine).first()
    watchlist, _ = SavedSearch.objects.get_or_create(
        **mine, defaults={"name": WATCHLIST_NAME, "alerts": SavedSearch.Alerts.IMMEDIATE}
    )
    return watchlist


# Matching new incidents (incidents.alerts.match_new_incidents)


def match(incident_ids) -> list[tuple[int, int]]:
    """(watch list id, incident id) for each watch list with alerts on and each published
    incident among ``incident_ids`` whose victim one of its watches names. Three queries:
    the incidents with their victims, the victims' spellings, the watches that could match."""
    incidents = list(
        Incident.objects.published()
        .filter(pk__in=list(incident_ids))
        .values_list("pk", "organisation_id", "organisation__name", "organisation__website")
    )
    if not incidents:
        return []
    spellings = defaultdict(set)
    for organisation, name in OrganisationAlias.objects.filter(
        organisation__in={row[1] for row in incidents}
    ).values_list("organisation_id", "name"):
        spellings[organisation].add(rules.organisation_key(name))
    keys, hosts = {}, {}
    for pk, organisation, name, website in incidents:
        keys[pk] = {rules.organisation_key(name)} | spellings[organisation]
        hosts[pk] = website_host(website)
    domains = {suffix for host in hosts.values() if host for suffix in _suffixes(host)}
    watches = (
        Watch.objects.filter(
            Q(organisation__in={row[1] for row in incidents})
            | Q(name_key__in=set().union(*keys.values()) - {""})
            | Q(domain__in=domains)
        )
        .exclude(watchlist__alerts=SavedSearch.Alerts.OFF)
        .values_list("watchlist_id", "organisation_id", "name_key", "domain")
    )
    pairs = set()
    for watchlist, organisation, key, domain in watches:
        for pk, victim, _, _ in incidents:
            if (
                (organisation is not None and organisation == victim)
                or (key and key in keys[pk])
                or (domain and domain in _suffixes(hosts[pk]))
            ):
                pairs.add((watchlist, pk))
    return sorted(pairs)


def _suffixes(host: str) -> set[str]:
    """``shop.example.com`` -> {shop.example.com, example.com, com}: the domains it is under."""
    if not host:
        return set()
    parts = host.split(".")
    return {".".join(parts[i:]) for i in range(len(parts))}


# What a watch names today (the watch page and the watch list's private feed)


def organisations_named(watch: Watch) -> list[int]:
    """Ids of the victims ``watch`` matches now: its organisation, victims with its name or
    a spelling of it (looked for by the longest word of its label, then compared by key),
    victims with a website on its domain. At most ``CANDIDATES`` looked at per kind."""
    found = set()
    if watch.organisation_id:
        found.add(watch.organisation_id)
    if watch.name_key:
        words = sorted(re.findall(r"\w+", watch.label), key=len, reverse=True)
        if words:
            named = Organisation.objects.named(words[0]).prefetch_related("aliases")
            for organisation in named[:CANDIDATES]:
                spelt = {organisation.name, *(a.name for a in organisation.aliases.all())}
                if watch.name_key in {rules.organisation_key(name) for name in spelt}:
                    found.add(organisation.pk)
    if watch.domain:
        sites = Organisation.objects.filter(website__icontains=watch.domain)
        for pk, website in sites.values_list("pk", "website")[:CANDIDATES]:
            if watch.domain in _suffixes(website_host(website)):
                found.add(pk)
    return sorted(found)


def incidents_named(watchlist: SavedSearch, incidents):
    """The incidents among ``incidents`` whose victims ``watchlist``'s watches name now."""
    organisations = set()
    for watch in watchlist.watches.all():
        organisations.update(organisations_named(watch))
    return incidents.filter(organisation__in=organisations)
