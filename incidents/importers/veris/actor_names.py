"""The names VERIS records give their actors (``actor.*.name``): which name one threat actor,
which are several or a sentence, which name someone who is not an attacker, and the keys
that match a name to an actor the catalogue already knows (an ATT&CK group by its name or
an alias: "APT 18" is APT18, "Fancy Bear, APT 28" is APT28, "Carbanak Gang" is Carbanak).

Pure: no database. The rules, with what they do on the real VCDB file, are in
docs/importers/veris.md ("Named actors").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ... import rules

# Values that name nobody.
PLACEHOLDERS = {"", "unknown", "other", "na", "not applicable"}
# A record id where a name should be ("6A323CB8-6DC7-433C-..."): not an actor's name.
RECORD_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
# Words that end a group's name without telling it apart: "Carbanak Gang", "hive group",
# "the CLOP ransomware group", "Tonto Team". A name is matched with and without them.
GENERIC_SUFFIXES = {"group", "gang", "team", "crew", "ransomware"}
# Spellings the rules cannot join, reviewed by hand: a key -> the name it misspells.
MISSPELLINGS = {"anonomous": "Anonymous"}
# How a name several spellings share is written, where the most used spelling is not the
# clearest ("TheDarkOverlord" 4 records, "The Dark Overlord" 3): key -> name.
PREFERRED_NAMES = {"darkoverlord": "The Dark Overlord"}
# Named parties the record's fields do not show are no attacker, reviewed by hand (key ->
# why): they received what the victim leaked.
NOT_ATTACKERS = {"humanrightscampaign": "received the documents the victim leaked"}
# Words that make a "name" a sentence ("posted on the web by a user using the name of ...").
SENTENCE_WORDS = {
    "a", "an", "as", "at", "by", "from", "in", "is", "known", "name", "of", "on", "posted",
    "the", "to", "user", "using", "was", "web", "who", "with",
}  # fmt: skip
# "attacker known as Netwalker": the name inside a phrase that only introduces it.
INTRODUCED = re.compile(
    r"^(?:an?\s+|the\s+)?(?:attacker|hacker|group|actor|user)s?\s+(?:known\s+as|called|named)"
    r"\s+(?P<name>\S.*)$",
    re.I,
)
PARENTHESIS = re.compile(r"\(([^()]*)\)")
SEVERAL = re.compile(r"\s(?:and|&)\s", re.I)
ALIAS_SEPARATORS = re.compile(r"\s*(?:,|/|\s+aka\s+|\s+a\.k\.a\.\s+)\s*", re.I)
PERSON = re.compile(r"^[A-Z][a-z'’-]+(?: [A-Z][a-z'’.-]+){1,3}$")
QUOTES = "'\"‘’“”"
WORDS = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class NamedActor:
    """An actor a record names, with the type and location the record gives it."""

    reading: NameReading
    actor_type: str  # a portal actor type slug
    country: str  # an ISO code, or ""


@dataclass(frozen=True)
class NameReading:
    """What one ``actor.*.name`` value says: an actor's ``name`` with the ``aliases`` the
    field also gives, or a ``problem`` (why no actor is made of it, reported as it stands)."""

    given: str  # the value as the record gives it (cleaned of control characters)
    name: str = ""
    aliases: tuple[str, ...] = ()
    problem: str = ""

    @property
    def keys(self) -> frozenset[str]:
        """Every key its name and aliases match by (name_keys)."""
        keys = set()
        for spelling in (self.name, *self.aliases):
            keys |= name_keys(spelling)
        return frozenset(keys)


def name_keys(name: str) -> set[str]:
    """The keys a name matches by: its letters and digits in lower case ("APT 18" and
    "APT18": apt18), without a leading "the" ("TheDarkOverlord": darkoverlord) and without
    generic last words ("Carbanak Gang": carbanak), and the keys of what it misspells.
    A parenthesis is not part of the name."""
    words = WORDS.findall(PARENTHESIS.sub(" ", name).lower())
    if not words:
        return set()
    keys = {"".join(words)}
    if words[0] == "the" and len(words) > 1:
        words = words[1:]
    elif len(words) == 1 and words[0].startswith("the") and len(words[0]) > 6:
        words = [words[0][3:]]
    keys.add("".join(words))
    while len(words) > 1 and words[-1] in GENERIC_SUFFIXES:
        words = words[:-1]
        keys.add("".join(words))
    for key in list(keys):
        if key in MISSPELLINGS:
            keys |= name_keys(MISSPELLINGS[key])
    return keys


def read_names(details: dict, category, varieties, countries, types, warnings) -> set:
    """The NamedActors of one record's ``actor.<category>`` (``details``: its ``name``, a
    name or a list of them, and ``motive``), whose ``varieties`` and ``countries`` were read
    already; ``types``: (category, variety) -> actor type slug. A name that is not one
    actor, or not an attacker, is added to ``warnings`` (field, message) instead."""
    actors = set()
    motives = _as_list(details.get("motive"))
    country = countries[0] if countries else ""
    for value in _as_list(details.get("name")):
        name = " ".join(rules.clean_text(str(value or "")).split())[:200]
        if not name or name.lower() in PLACEHOLDERS:
            continue
        reading = read_name(name, category=category, varieties=varieties, motives=motives)
        if reading.problem:
            warnings.append((f"actor.{category}.name", f"{reading.problem}: {name!r}"))
        else:
            actors.add(NamedActor(reading, named_type(category, varieties, types), country))
    return actors


def _as_list(value) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def named_type(category: str, varieties, types) -> str:
    """The type of an actor a record names: its first variety that says one (of "Unknown",
    "Activist": hacktivist), else its category's; not the first variety listed."""
    for variety in varieties:
        slug = types.get((category, variety))
        if slug and slug != rules.UNKNOWN_ACTOR_TYPE:
            return slug
    return types.get((category, "*"), rules.UNKNOWN_ACTOR_TYPE)


def read_name(given: str, *, category: str, varieties=(), motives=()) -> NameReading:
    """Read one ``actor.<category>.name`` value of a record whose actor of that category has
    ``varieties`` and ``motives`` (VERIS enumerations)."""
    text = " ".join(given.split())
    problem = _not_an_attacker(text, category, set(varieties), set(motives))
    if problem:
        return NameReading(text, problem=problem)
    if RECORD_ID.search(text):
        return NameReading(text, problem="not a name (a record id)")
    introduced = INTRODUCED.match(text)
    if introduced:
        text = introduced["name"]
    if _unbalanced(text):
        return NameReading(text, problem="not one actor's name as it stands (stray punctuation)")
    inside = [p.strip() for p in PARENTHESIS.findall(text)]
    main = PARENTHESIS.sub(" ", text).strip(" " + QUOTES)
    if _is_sentence(main):
        return NameReading(text, problem="not one actor: a sentence, not a name")
    if SEVERAL.search(main):
        return NameReading(text, problem="not one actor: it names several")
    parts = [p.strip(" " + QUOTES) for p in ALIAS_SEPARATORS.split(main) if p.strip(" " + QUOTES)]
    if not parts:
        return NameReading(text, problem="not a name")
    if len(parts) > 1 and all(PERSON.match(p) for p in parts):
        return NameReading(text, problem="not one actor: it names several people")
    # A short parenthesis names the actor again ("TheDarkOverlord (TDO)"); a longer one
    # says something about it ("Zebrocy (subset of Sofacy)") and is left out.
    aliases = parts[1:] + [p for p in inside if p and len(p.split()) <= 4 and not _says(p)]
    reading = NameReading(given, name=parts[0], aliases=tuple(dict.fromkeys(aliases)))
    return reading if reading.keys else NameReading(text, problem="not a name")


def _not_an_attacker(text: str, category: str, varieties: set, motives: set) -> str:
    if category == "partner":
        return "not a threat actor: the victim's partner or vendor"
    if category == "external" and varieties and varieties <= {"Other"}:
        return "not a threat actor: an outside party that is no attacker (VERIS Other)"
    if motives - {"Unknown"} == {"NA"}:
        return "not a threat actor: no motive applies (VERIS NA: an error, not an attack)"
    for key in name_keys(text):
        if key in NOT_ATTACKERS:
            return f"not a threat actor: {NOT_ATTACKERS[key]}"
    return ""


def _unbalanced(text: str) -> bool:
    if text.count("(") != text.count(")") or text.count("[") != text.count("]"):
        return True
    stripped = text.strip()
    opening = stripped[:1] in "‘“" and not any(q in stripped[1:] for q in "’”")
    return opening or stripped[:1] in "([{" and not stripped.endswith((")", "]", "}"))


def _says(text: str) -> bool:
    words = text.lower().split()
    return "aka" in words or any(w in SENTENCE_WORDS for w in words)


def _is_sentence(text: str) -> bool:
    words = text.split()
    return len(words) >= 4 and sum(w in SENTENCE_WORDS for w in words) >= 2


def preferred_name(spellings: dict[str, int]) -> str:
    """The name an actor known by several spellings (spelling -> records) is created with:
    the reviewed one for its key, else the most used but a misspelling (one with capitals
    before one without,
    then the shortest: "CLOP" before "the CLOP ransomware group", then the first met)."""
    for spelling in spellings:
        for key in name_keys(spelling):
            if key in PREFERRED_NAMES:
                return PREFERRED_NAMES[key]
    wrong = {s: MISSPELLINGS[k] for s in spellings for k in name_keys(s) if k in MISSPELLINGS}
    right = {s: n for s, n in spellings.items() if s not in wrong} or {
        wrong[s]: n for s, n in spellings.items()
    }
    order = {s: i for i, s in enumerate(right)}
    return max(right, key=lambda s: (right[s], not s.islower(), -len(s), -order[s]))


@dataclass
class NamedGroup:
    """The spellings of one named actor across an import: the name, aliases, type and
    location it is created with (when the catalogue knows none of its keys), and its row."""

    keys: set[str]
    spellings: dict[str, int]
    aliases: set[str]
    types: dict[str, int]
    countries: dict[str, int]
    pk: int | None = None

    @property
    def name(self) -> str:
        return preferred_name(self.spellings)

    @property
    def other_names(self) -> list[str]:
        name = self.name
        return sorted(({*self.spellings, *self.aliases} - {name}), key=str.casefold)

    @property
    def actor_type(self) -> str:
        known = {t: n for t, n in self.types.items() if t != "unknown"}
        return max(known, key=known.get) if known else "unknown"

    @property
    def country(self) -> str:
        return max(self.countries, key=self.countries.get) if self.countries else ""


def group_spellings(named_actors) -> dict[str, NamedGroup]:
    """key -> the NamedGroup of every NamedActor sharing a key with it (directly or through
    another spelling): one actor per group, however many ways records spell it."""
    groups: dict[str, NamedGroup] = {}
    for actor in named_actors:
        reading = actor.reading
        found = {id(groups[k]): groups[k] for k in reading.keys if k in groups}
        group = NamedGroup(set(), {}, set(), {}, {})
        for other in found.values():  # join the groups this spelling links
            group.keys |= other.keys
            group.aliases |= other.aliases
            for mine, theirs in (
                (group.spellings, other.spellings),
                (group.types, other.types),
                (group.countries, other.countries),
            ):
                for k, n in theirs.items():
                    mine[k] = mine.get(k, 0) + n
        group.keys |= reading.keys
        group.aliases |= set(reading.aliases)
        group.spellings[reading.name] = group.spellings.get(reading.name, 0) + 1
        group.types[actor.actor_type] = group.types.get(actor.actor_type, 0) + 1
        if actor.country:
            group.countries[actor.country] = group.countries.get(actor.country, 0) + 1
        for key in group.keys:
            groups[key] = group
    return groups
