"""What a non-member reads in place of each members' field: the one decision.

Whether a members' field holds a value at all is public, like the counts (DESIGN.md,
docs/gating.md); the value never is. So a lock ("Available to members", or a count) stands
only over a value, and a field with nothing behind it says so to everyone: "Not assessed",
"No actor identified", "Not identified", "None recorded", "None known". The presence comes
from the selectors' ``with_value_presence`` annotations (incidents, actors), never
from the gated rows themselves, so a non-member's page is built without them.
"""

from __future__ import annotations

from dataclasses import dataclass

# The wording (docs/gating.md).
MEMBERS_ONLY = "Available to members"
NOT_ASSESSED = "Not assessed"  # no CIA posture (or one that knows nothing)
NO_ACTOR = "No actor identified"  # no threat actor linked
NOT_IDENTIFIED = "Not identified"  # no actor type (or only Unknown), no location
NONE_RECORDED = "None recorded"  # no motive, no technique
NONE_KNOWN = "None known"  # an actor with no alias, no technique or software ATT&CK relates


@dataclass(frozen=True)
class Gate:
    """A members' field as a non-member reads it: locked over a value, or what is missing."""

    text: str
    locked: bool


def gate(has_value: bool, missing: str, locked: str = MEMBERS_ONLY) -> Gate:
    """The one decision of what a non-member reads in place of a members' field: ``locked``
    ("Available to members", or a count) where a value exists, ``missing`` where none does."""
    return Gate(locked, True) if has_value else Gate(missing, False)


def counted(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


@dataclass(frozen=True)
class IncidentGates:
    """What a non-member reads in each members' field of an incident page."""

    cia: Gate
    motives: Gate
    techniques: Gate
    actors: Gate
    actor_type: Gate
    actor_location: Gate


def incident_gates(incident) -> IncidentGates:
    """``incident`` from selectors.incidents.with_value_presence (the counts are columns)."""
    return IncidentGates(
        cia=gate(incident.cia_assessed, NOT_ASSESSED),
        motives=gate(
            incident.motive_count > 0, NONE_RECORDED, counted(incident.motive_count, "motive")
        ),
        techniques=gate(
            incident.technique_count > 0,
            NONE_RECORDED,
            counted(incident.technique_count, "technique"),
        ),
        actors=gate(incident.actor_count > 0, NO_ACTOR, counted(incident.actor_count, "actor")),
        actor_type=gate(incident.actor_type_known, NOT_IDENTIFIED),
        actor_location=gate(incident.actor_location_known, NOT_IDENTIFIED),
    )


@dataclass(frozen=True)
class ActorGates:
    """What a non-member reads in each members' field of an actor page."""

    actor_type: Gate
    location: Gate
    aliases: Gate
    attack_relates: Gate


def actor_gates(actor) -> ActorGates:
    return ActorGates(
        actor_type=gate(actor.type_known, NOT_IDENTIFIED),
        location=gate(actor.location_known, NOT_IDENTIFIED),
        aliases=gate(actor.aliases_known, NONE_KNOWN),
        attack_relates=gate(actor.attack_relates, NONE_KNOWN),
    )
