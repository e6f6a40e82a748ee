"""A threat actor as each audience gets it: its name and number of incidents for anyone (with
ATT&CK's own public knowledge of a group), its type, location, aliases, techniques and
software for members only."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlencode

from django.urls import reverse
from django.utils.safestring import SafeString
from django_countries.fields import Country

from ..markup import render_markdown
from .matrix import MatrixColumn, technique_matrix
from .places import country_or_none


@dataclass(frozen=True)
class ActorRef:
    name: str
    url: str
    actor_type: str
    country: Country | None
    finder_query: str = ""


def actor_ref(actor) -> ActorRef:
    """Members only: an actor with its type and location."""
    return ActorRef(
        name=actor.name,
        url=actor.get_absolute_url(),
        actor_type=actor.actor_type.name if actor.actor_type_id else "",
        country=country_or_none(actor.country),
        finder_query=urlencode({"actor": actor.slug}),
    )


@dataclass(frozen=True)
class ActorPublic:
    """A threat actor as anyone sees it: its name, its number of known incidents and, for an
    ATT&CK group, its ATT&CK ID and MITRE's page (ATT&CK's own public knowledge)."""

    name: str
    slug: str
    url: str
    incident_count: int
    is_unattributed: bool
    attack_id: str = ""
    attack_url: str = ""


@dataclass(frozen=True)
class SoftwareView:
    attack_id: str
    name: str
    kind: str
    url: str


@dataclass(frozen=True)
class ActorGated:
    actor_type: str
    actor_type_source: str
    country: Country | None
    country_source: str
    aliases: tuple[str, ...]
    description_html: SafeString
    attack_id: str
    attack_url: str
    matrix: tuple[MatrixColumn, ...]
    technique_count: int
    software: tuple[SoftwareView, ...]
    layer_url: str


_DIGITS = re.compile(r"(\d+)")


def natural_key(name: str) -> tuple:
    """Sort key reading digits as numbers: APT3 before APT29, "Group 9" before "Group 10"."""
    return tuple(int(part) if part.isdigit() else part.casefold() for part in _DIGITS.split(name))


def attack_group_url(attack_id: str) -> str:
    return f"https://attack.mitre.org/groups/{attack_id}/" if attack_id else ""


def actor_public(actor) -> ActorPublic:
    """``actor`` from ThreatActor.objects.with_public_attack_id()."""
    return ActorPublic(
        actor.name,
        actor.slug,
        actor.get_absolute_url(),
        actor.incident_count,
        actor.is_unattributed,
        actor.public_attack_id,
        attack_group_url(actor.public_attack_id),
    )


def actor_gated(actor) -> ActorGated:
    """Members only: call after is_member(), on an actor from for_member_profile()."""
    techniques = list(actor.techniques.all())
    return ActorGated(
        actor_type=actor.actor_type.name if actor.actor_type_id else "",
        actor_type_source=actor.actor_type_source if actor.actor_type_id else "",
        country=country_or_none(actor.country),
        country_source=actor.country_source if actor.country else "",
        aliases=tuple(str(a) for a in (actor.aliases or [])),
        description_html=render_markdown(actor.description),
        attack_id=actor.attack_id,
        attack_url=attack_group_url(actor.attack_id),
        matrix=technique_matrix(techniques),
        technique_count=len(techniques),
        software=tuple(
            SoftwareView(s.attack_id, s.name, s.get_kind_display(), s.url)
            for s in sorted(actor.software.all(), key=lambda s: natural_key(s.name))
        ),
        layer_url=reverse("incidents:actor_layer", args=[actor.slug]) if techniques else "",
    )
