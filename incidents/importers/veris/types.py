"""The incident types a VERIS record implies (pure: no database). The one place the
VERIS-to-type mapping lives; docs/importers/veris.md ("Incident types") writes it out
with the counts it gives on VCDB.

Each rule is an incident type and the conditions that must all hold for it: a VERIS
path (``actor.*.motive``: any actor category) and the values of which one must be there
(``PRESENT``: any value, the section exists). A type holds when any of its rules does;
a record may have several types, or none (a stolen laptop whose data was not confirmed
disclosed is none of them).

Never from a members' value alone: VERIS says "espionage" only as the actors' motive, and a
public type restating it would tell every visitor the motive (DESIGN.md: motives are for
members). Espionage is typed by staff, where public reporting says so.
"""

from __future__ import annotations

PRESENT = None  # the path holds something (a section or a value), whatever it is

# (incident type slug, ((VERIS path, values), ...)): every condition of a rule must hold.
RULES: tuple[tuple[str, tuple[tuple[str, frozenset[str] | None], ...]], ...] = (
    ("ransomware", (("action.malware.variety", frozenset({"Ransomware"})),)),
    ("data-breach", (("attribute.confidentiality.data_disclosure", frozenset({"Yes"})),)),
    ("ddos", (("action.hacking.variety", frozenset({"DoS"})),)),
    ("ddos", (("action.malware.variety", frozenset({"DoS"})),)),
    ("wiper", (("action.malware.variety", frozenset({"Destroy data"})),)),
    # Destruction by an intruder or malware (not a lost laptop, a fire or a disposal error).
    (
        "wiper",
        (
            ("attribute.availability.variety", frozenset({"Destruction"})),
            ("action", frozenset({"hacking", "malware"})),
        ),
    ),
    ("defacement", (("attribute.integrity.variety", frozenset({"Defacement"})),)),
    # Business email compromise: a phishing or pretexting email that made the victim pay
    # or act on a false identity (DBIR's BEC pattern).
    (
        "bec",
        (
            ("action.social.variety", frozenset({"Phishing", "Pretexting"})),
            ("action.social.vector", frozenset({"Email"})),
            (
                "attribute.integrity.variety",
                frozenset({"Fraudulent transaction", "Misrepresentation"}),
            ),
        ),
    ),
    # Reached through a supplier: its access, its software updates, its distribution.
    ("supply-chain", (("action.hacking.vector", frozenset({"Partner"})),)),
    ("supply-chain", (("action.malware.vector", frozenset({"Software update", "Partner"})),)),
    ("supply-chain", (("value_chain.distribution.variety", frozenset({"Partner"})),)),
    # VERIS's misuse is, by definition, the use of entrusted access against its purpose.
    ("insider-misuse", (("action.misuse", PRESENT),)),
    ("error", (("action.error", PRESENT),)),
)

TYPES = tuple(dict.fromkeys(slug for slug, _ in RULES))


def found(data, path: str) -> set[str]:
    """What a record holds at ``path``: a section's keys, a list's text items, a value."""
    nodes = [data]
    for part in path.split("."):
        following = []
        for node in nodes:
            if not isinstance(node, dict):
                continue
            if part == "*":
                following.extend(node.values())
            elif part in node:
                following.append(node[part])
        nodes = following
    values = set()
    for node in nodes:
        if isinstance(node, dict):
            values.update(str(key) for key in node)
        elif isinstance(node, list):
            values.update(item for item in node if isinstance(item, str))
        elif isinstance(node, str):
            values.add(node)
    return values


def incident_types(data) -> set[str]:
    """The slugs of the incident types a VERIS record (its JSON object) implies."""
    if not isinstance(data, dict):
        return set()
    types = set()
    for slug, conditions in RULES:
        if slug in types:
            continue
        if all(_holds(found(data, path), values) for path, values in conditions):
            types.add(slug)
    return types


def _holds(present: set[str], values: frozenset[str] | None) -> bool:
    return bool(present) if values is PRESENT else bool(present & values)
