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
from .gates import ActorGates, actor_gates
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
    ATT&CK group, its ATT&CK ID, MITRE's page and ATT&CK's description (ATT&CK's own public
    knowledge)."""

    name: str
    slug: str
    url: str
    incident_count: int
    is_unattributed: bool
    attack_id: str = ""
    attack_url: str = ""
    description_html: SafeString = SafeString("")  # ATT&CK's description only
    summary: str = ""  # its first sentence or so, for lists
    gates: ActorGates | None = None  # with_value_presence() only


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
    # The techniques its catalogued incidents used (incident evidence, not ATT&CK's).
    incident_techniques: tuple[UsedTechnique, ...] = ()


@dataclass(frozen=True)
class UsedTechnique:
    """A technique an actor's incidents used: how many of them, and whether ATT&CK also
    relates it to the actor."""

    attack_id: str
    name: str
    parent_name: str
    tactics: tuple[str, ...]
    url: str
    incident_count: int
    finder_query: str
    also_in_attack: bool


_DIGITS = re.compile(r"(\d+)")


def natural_key(name: str) -> tuple:
    """Sort key reading digits as numbers: APT3 before APT29, "Group 9" before "Group 10"."""
    return tuple(int(part) if part.isdigit() else part.casefold() for part in _DIGITS.split(name))


def attack_group_url(attack_id: str) -> str:
    return f"https://attack.mitre.org/groups/{attack_id}/" if attack_id else ""


def actor_public(actor) -> ActorPublic:
    """``actor`` from ThreatActor.objects.with_public_attack_id() (with_public_attack_profile()
    adds ATT&CK's description, with_value_presence() what a non-member reads of the rest)."""
    description = getattr(actor, "public_description", "")
    return ActorPublic(
        actor.name,
        actor.slug,
        actor.get_absolute_url(),
        actor.incident_count,
        actor.is_unattributed,
        actor.public_attack_id,
        attack_group_url(actor.public_attack_id),
        description_html=render_markdown(description) if description else SafeString(""),
        summary=first_sentence(description),
        gates=actor_gates(actor) if hasattr(actor, "type_known") else None,
    )


_MARKDOWN_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_SENTENCE_END = re.compile(r"(?<=[a-z0-9)][.!?])\s+(?=[A-Z])")


def first_sentence(text: str, limit: int = 220) -> str:
    """The first sentence of a (Markdown) description as plain text, cut at ``limit``."""
    plain = " ".join(_MARKDOWN_LINK.sub(r"\1", text or "").split())
    sentence = _SENTENCE_END.split(plain, 1)[0]
    return sentence if len(sentence) <= limit else sentence[: limit - 1].rsplit(" ", 1)[0] + "…"


def actor_gated(actor, incident_techniques=()) -> ActorGated:
    """Members only: call after is_member(), on an actor from for_member_profile();
    ``incident_techniques`` from selectors.actors.techniques_of_incidents."""
    techniques = list(actor.techniques.all())
    related = {t.attack_id for t in techniques}
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
        incident_techniques=tuple(
            UsedTechnique(
                attack_id=t.attack_id,
                name=t.name,
                parent_name=t.parent.name if t.parent_id else "",
                tactics=tuple(tac.name for tac in t.tactics.all()),
                url=t.url,
                incident_count=t.incident_count,
                finder_query=urlencode({"actor": actor.slug, "technique": t.attack_id}),
                also_in_attack=t.attack_id in related,
            )
            for t in incident_techniques
        ),
    )
