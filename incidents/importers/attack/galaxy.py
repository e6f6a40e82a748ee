"""Type and country of ATT&CK groups from MISP's threat-actor galaxy (pure: no database writes).

ATT&CK has no field for a group's country or type; MISP's galaxy cluster ``threat-actor``
has ``country`` (ISO alpha-2) and, from the CFR's data, ``cfr-suspected-state-sponsor``.
A group is matched to one galaxy entry by its ATT&CK id, else by its name and aliases
(docs/importers/attack.md, "Country and type").
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from django_countries import countries

from ..base import ImportAborted

GALAXY_DATASET = {
    "slug": "misp-galaxy-threat-actor",
    "name": "MISP galaxy: threat actors",
    "url": "https://github.com/MISP/misp-galaxy",
    "licence": "CC0 1.0 or BSD 2-Clause",
    "licence_url": "https://github.com/MISP/misp-galaxy/blob/main/LICENSE.md",
    "attribution": "MISP galaxy threat-actor cluster, by the MISP Project and contributors.",
}
_GROUP_ID = re.compile(r"\bG\d{4}\b")
_GROUP_URL = re.compile(r"attack\.mitre\.org/groups/(G\d{4})", re.IGNORECASE)
# The actor types (fixtures/taxonomy.json slugs) a galaxy entry implies, and why.
NATION_STATE, CRIMINAL, HACKTIVIST = "nation-state", "criminal-group", "hacktivist"
_NO_SPONSOR = {"", "unknown"}


@dataclass(frozen=True)
class GalaxyEntry:
    value: str
    uuid: str
    country: str  # ISO alpha-2, "" when the entry has none or an unknown code
    actor_type: str  # an ActorType slug, "" when the entry implies none
    type_reason: str  # e.g. "cfr-suspected-state-sponsor: Russian Federation"


@dataclass
class Galaxy:
    version: str
    by_group_id: dict[str, list[GalaxyEntry]]
    by_name: dict[str, list[GalaxyEntry]]

    def match(self, attack_id: str, names: list[str]) -> tuple[GalaxyEntry | None, str]:
        """The entry for a group, and the rule that chose it ("attack-id", "name"), or
        (None, why not)."""
        for rule, candidates in (
            ("attack-id", self.by_group_id.get(attack_id, [])),
            ("name", _unique(e for n in names for e in self.by_name.get(n.lower(), []))),
        ):
            if not candidates:
                continue
            if len(candidates) == 1:
                return candidates[0], rule
            exact = [e for e in candidates if e.value.lower() == names[0].lower()]
            if len(exact) == 1:
                return exact[0], rule + ", exact name"
            # What the entries agree on is kept; a field they disagree on stays unset.
            countries_ = {e.country for e in candidates}
            types = {(e.actor_type, e.type_reason) for e in candidates}
            agreed = GalaxyEntry(
                " / ".join(sorted(e.value for e in candidates)),
                "",
                countries_.pop() if len(countries_) == 1 else "",
                *(types.pop() if len(types) == 1 else ("", "")),
            )
            if agreed.country or agreed.actor_type:
                return agreed, rule + ", several entries, what they agree on"
            return None, f"several galaxy entries disagree ({agreed.value}); left unset"
        return None, ""


def _unique(entries):
    seen, unique = set(), []
    for entry in entries:
        if entry.uuid not in seen:
            seen.add(entry.uuid)
            unique.append(entry)
    return unique


def load_galaxy(path: str) -> dict:
    """The galaxy file at ``path`` as a dict; ImportAborted if it is not a threat-actor cluster."""
    file = Path(path)
    if not file.is_file():
        raise ImportAborted(f"{path}: no such file")
    try:
        data = json.loads(file.read_bytes().decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ImportAborted(f"{path}: not a MISP galaxy cluster (not JSON text: {exc})") from exc
    if not (
        isinstance(data, dict)
        and data.get("type") == "threat-actor"
        and isinstance(data.get("values"), list)
    ):
        raise ImportAborted(
            f'{path}: not MISP\'s threat-actor cluster (expected "type": "threat-actor" and a '
            '"values" list)'
        )
    return data


def _strings(value) -> list[str]:
    """MISP's loose typing: a string, a list of strings, or something else (ignored)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def _actor_type(meta: dict) -> tuple[str, str]:
    sponsors = [s for s in _strings(meta.get("cfr-suspected-state-sponsor")) if s.strip()]
    sponsors = [s for s in sponsors if s.strip().lower() not in _NO_SPONSOR]
    if sponsors:
        return NATION_STATE, "cfr-suspected-state-sponsor: " + ", ".join(sponsors)
    motives = [m.strip().lower() for m in _strings(meta.get("motive"))]
    if "cybercrime" in motives:
        return CRIMINAL, "motive: Cybercrime"
    if any(m.startswith("hacktivist") for m in motives):
        return HACKTIVIST, "motive: " + ", ".join(_strings(meta.get("motive")))
    return "", ""


def read_galaxy(data: dict) -> Galaxy:
    """Index a threat-actor cluster by the ATT&CK group ids and the names its entries give."""
    by_group_id, by_name = defaultdict(list), defaultdict(list)
    for raw in data["values"]:
        if not isinstance(raw, dict) or not isinstance(raw.get("value"), str):
            continue
        meta = raw.get("meta") if isinstance(raw.get("meta"), dict) else {}
        codes = [c.strip().upper() for c in _strings(meta.get("country"))]
        country = codes[0] if len(codes) == 1 and codes[0] in countries else ""
        actor_type, reason = _actor_type(meta)
        uuid = str(raw.get("uuid", raw["value"]))
        entry = GalaxyEntry(raw["value"], uuid, country, actor_type, reason)
        synonyms = _strings(meta.get("synonyms"))
        group_ids = set()
        for text in synonyms + _strings(meta.get("name-attribution")):
            group_ids.update(_GROUP_ID.findall(text.split(":", 1)[0]))
        for ref in _strings(meta.get("refs")):
            group_ids.update(_GROUP_URL.findall(ref))
        for group_id in group_ids:
            by_group_id[group_id].append(entry)
        for name in {raw["value"].lower(), *(s.lower() for s in synonyms)}:
            by_name[name].append(entry)
    return Galaxy(str(data.get("version", "")), dict(by_group_id), dict(by_name))
