"""Mapping a bundle's objects to what the catalogue holds (pure: no database writes).

The raw JSON is filtered by type first, then every object that is mapped is parsed and
validated by ``stix2``; a malformed object is skipped and reported.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

import stix2
from django.utils.text import slugify
from stix2 import exceptions as stix_errors
from stix2 import properties as stix_props
from stix2 import registry as stix_registry
from stix2 import v20, v21

from ...models import Software, Tactic, Technique, ThreatActor
from ...rules import clean_text
from ..base import ImportAborted, ImportReport, progress

SOURCE_NAME = "mitre-attack"  # the external_references entry holding ATT&CK ids and URLs
ENTERPRISE_MATRIX = "enterprise-attack"

TACTIC_ID = re.compile(r"TA\d{4}\Z")
TECHNIQUE_ID = re.compile(r"T\d{4}(\.\d{3})?\Z")
GROUP_ID = re.compile(r"G\d{4}\Z")
SOFTWARE_ID = re.compile(r"S\d{4}\Z")

# The STIX types read, and what they become (the "kind" in the report).
KINDS = {
    "x-mitre-tactic": "tactic",
    "attack-pattern": "technique",
    "intrusion-set": "threat actor",
    "malware": "software",
    "tool": "software",
    "x-mitre-matrix": "matrix",
    "x-mitre-collection": "collection",
    "relationship": "relationship",
}
RELATIONSHIPS = {"subtechnique-of", "revoked-by", "uses"}
# The "uses" relationships imported: what a group uses. Software -> technique (~10,600) and
# campaigns' are not (the portal shows neither).
USES = {
    ("intrusion-set", "attack-pattern"),
    ("intrusion-set", "malware"),
    ("intrusion-set", "tool"),
}


def _stix_type(ref) -> str:
    return ref.split("--", 1)[0] if isinstance(ref, str) else ""


def _wanted(raw: dict) -> bool:
    """Whether a relationship is read at all (a cheap test before stix2 parses it)."""
    kind = raw.get("relationship_type")
    if kind not in RELATIONSHIPS:
        return False
    if kind != "uses":
        return True
    if raw.get("revoked") or raw.get("x_mitre_deprecated"):
        return False
    return (_stix_type(raw.get("source_ref")), _stix_type(raw.get("target_ref"))) in USES


def _register_mitre_types():
    """Teach stix2 MITRE's own object types, so they are validated rather than passed through."""
    for module, version in ((v20, "2.0"), (v21, "2.1")):
        types = {
            "x-mitre-tactic": [
                ("name", stix_props.StringProperty(required=True)),
                ("description", stix_props.StringProperty()),
                ("x_mitre_shortname", stix_props.StringProperty(required=True)),
            ],
            "x-mitre-matrix": [
                ("name", stix_props.StringProperty(required=True)),
                (
                    "tactic_refs",
                    stix_props.ListProperty(
                        stix_props.ReferenceProperty(
                            valid_types="x-mitre-tactic", spec_version=version
                        ),
                        required=True,
                    ),
                ),
            ],
            "x-mitre-collection": [
                ("name", stix_props.StringProperty(required=True)),
                ("x_mitre_version", stix_props.StringProperty(required=True)),
            ],
        }
        for stix_type, props in types.items():
            # Another library (mitreattack-python) may have registered them already.
            if stix_registry.class_for_type(stix_type, version, "objects") is None:
                module.CustomObject(stix_type, props)(type(stix_type, (), {}))


_register_mitre_types()


_CITATION = re.compile(r"\(Citation:[^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\]\([^)\s]*\)")
_MARKUP = re.compile(r"</?code>|\*\*")
_SPACE = re.compile(r"\s+")
_SPACE_BEFORE_PUNCTUATION = re.compile(r" ([.,;:!?])(?=\s|$)")  # left where a citation was


def clean_description(text: str | None) -> str:
    """The first paragraph of an ATT&CK description, as plain text.

    "(Citation: ...)" markers are removed (the references they name are not imported),
    markdown links are reduced to their text, <code> tags and bold markers are dropped.
    """
    if not text:
        return ""
    paragraph = re.split(r"\n\s*\n", clean_text(text).strip(), maxsplit=1)[0]
    paragraph = _MARKUP.sub("", _LINK.sub(r"\1", _CITATION.sub(" ", paragraph)))
    return _SPACE_BEFORE_PUNCTUATION.sub(r"\1", _SPACE.sub(" ", paragraph)).strip()


@dataclass
class AttackRelease:
    """What a bundle holds for the portal, read and validated, before the database is touched."""

    tactics: dict[str, dict] = field(default_factory=dict)  # by ATT&CK id (TA0001)
    tactic_refs: list[str] | None = None  # the Enterprise matrix's tactic order (STIX ids)
    techniques: dict[str, dict] = field(default_factory=dict)  # by ATT&CK id (T1566.001)
    groups: dict[str, dict] = field(default_factory=dict)  # active groups, by ATT&CK id (G0016)
    retired_groups: dict[str, dict] = field(default_factory=dict)  # revoked or deprecated
    software: dict[str, dict] = field(default_factory=dict)  # active malware and tools, by S-id
    # "uses" relationships of groups: (group's STIX id, technique's or software's, where)
    uses: list[tuple[str, str, str]] = field(default_factory=list)
    # From relationships, by STIX id: child -> (parent, where), revoked -> (successor, where)
    parent_of: dict[str, tuple[str, str]] = field(default_factory=dict)
    revoked_by: dict[str, tuple[str, str]] = field(default_factory=dict)
    collection_version: str = ""
    latest_modified: str = ""
    ignored: Counter = field(default_factory=Counter)  # object types not mapped


def _where(index: int, obj) -> str:
    stix_id = obj.get("id") if isinstance(obj, dict) else None
    return f"objects[{index}] {stix_id}" if stix_id else f"objects[{index}]"


def _stix_error(exc: Exception) -> tuple[str, str]:
    """(field, message) for an error raised by stix2 while parsing one object."""
    if isinstance(exc, stix_errors.InvalidValueError):
        return exc.prop_name, exc.reason
    if isinstance(exc, stix_errors.MissingPropertiesError):
        return ", ".join(exc.properties), "required property missing"
    if isinstance(exc, stix_errors.ExtraPropertiesError):
        return ", ".join(exc.properties), "unexpected property"
    return "", str(exc)


def _attack_ref(obj) -> dict | None:
    """The object's "mitre-attack" external reference (its ATT&CK id and page)."""
    for ref in obj.get("external_references") or ():
        if ref.get("source_name") == SOURCE_NAME and ref.get("external_id"):
            return ref
    return None


def _too_long(model, values: dict) -> tuple[str, str] | None:
    """(field, message) for the first value too long for its column, if any."""
    for name, value in values.items():
        max_length = getattr(model._meta.get_field(name), "max_length", None)
        if max_length and isinstance(value, str) and len(value) > max_length:
            return name, f"longer than {max_length} characters"
    return None


def read_release(bundle: dict, report: ImportReport, progress_stream=None) -> AttackRelease:
    """Parse and validate the objects the portal maps; skip and report malformed ones."""
    release = AttackRelease()
    objects = bundle["objects"]
    version = "2.0" if bundle.get("spec_version") == "2.0" else None  # else per object
    matrices = {}
    for index, raw in progress(
        enumerate(objects), total=len(objects), desc="ATT&CK", unit="object", stream=progress_stream
    ):
        if not isinstance(raw, dict) or not isinstance(raw.get("type"), str):
            report.skip(_where(index, raw), "type", "not a STIX object", kind="object")
            continue
        if isinstance(raw.get("modified"), str):
            release.latest_modified = max(release.latest_modified, raw["modified"])
        stix_type = raw["type"]
        kind = KINDS.get(stix_type)
        if kind is None or (kind == "relationship" and not _wanted(raw)):
            release.ignored[stix_type if kind is None else "relationship"] += 1
            continue
        if kind == "software" and (raw.get("revoked") or raw.get("x_mitre_deprecated")):
            release.ignored[f"{stix_type} (revoked or deprecated)"] += 1
            continue
        where = _where(index, raw)
        if stix_type == "intrusion-set" and (raw.get("revoked") or raw.get("x_mitre_deprecated")):
            # Not imported; kept aside to name them in the report and to match old ids.
            ref = _attack_ref(raw) or {}
            release.retired_groups[raw.get("id") or where] = {
                "where": where,
                "attack_id": ref.get("external_id", ""),
                "name": raw.get("name", ""),
                "field": "revoked" if raw.get("revoked") else "x_mitre_deprecated",
            }
            continue
        try:
            obj = stix2.parse(raw, allow_custom=True, version=version)
        except (stix_errors.STIXError, ValueError, TypeError, AttributeError) as exc:
            report.skip(where, *_stix_error(exc), kind=kind)
            continue
        reader = _READERS[stix_type]
        problem = reader(release, obj, where, matrices)
        if problem:
            report.skip(where, *problem, kind=kind)

    if ENTERPRISE_MATRIX in matrices:
        release.tactic_refs = matrices[ENTERPRISE_MATRIX]
    elif matrices:
        raise ImportAborted(
            f"This bundle holds the {', '.join(sorted(matrices))} matrix, not ATT&CK "
            "Enterprise; only Enterprise is imported."
        )
    if not release.tactics and not release.techniques:
        raise ImportAborted(
            "No ATT&CK tactics or techniques found (x-mitre-tactic, or attack-pattern with a "
            f'"{SOURCE_NAME}" external id): is this an ATT&CK bundle?'
        )
    return release


def _read_tactic(release, obj, where, matrices):
    ref = _attack_ref(obj)
    if ref is None or not TACTIC_ID.match(ref["external_id"]):
        return "external_references", f'no "{SOURCE_NAME}" external_id of the form TA0000'
    attack_id = ref["external_id"]
    if attack_id in release.tactics:
        return "external_references", f"{attack_id} appears twice; the first one is kept"
    values = {
        "shortname": obj.x_mitre_shortname,
        "name": clean_text(obj.name),
        "url": ref.get("url") or f"https://attack.mitre.org/tactics/{attack_id}",
        "description": clean_description(obj.get("description")),
        "stix_id": obj.id,
    }
    if problem := _too_long(Tactic, values):
        return problem
    if slugify(values["shortname"]) != values["shortname"]:
        return "x_mitre_shortname", f"{values['shortname']!r} is not a slug"
    release.tactics[attack_id] = values
    return None


def _read_matrix(release, obj, where, matrices):
    ref = _attack_ref(obj)
    matrices[ref["external_id"] if ref else obj.name] = list(obj.tactic_refs)
    return None


def _read_collection(release, obj, where, matrices):
    release.collection_version = obj.x_mitre_version
    return None


def _read_technique(release, obj, where, matrices):
    ref = _attack_ref(obj)
    if ref is None:
        return "external_references", f'no "{SOURCE_NAME}" external_id (the ATT&CK id)'
    attack_id = ref["external_id"]
    if not TECHNIQUE_ID.match(attack_id):
        return "external_references", f"{attack_id!r} is not an ATT&CK technique id (T0000[.000])"
    if attack_id in release.techniques:
        return "external_references", f"{attack_id} appears twice; the first one is kept"
    values = {
        "name": clean_text(obj.name),
        "description": clean_description(obj.get("description")),
        "url": ref.get("url")
        or "https://attack.mitre.org/techniques/" + attack_id.replace(".", "/"),
        "version": str(obj.get("x_mitre_version", "")),
        "stix_id": obj.id,
        "is_revoked": bool(obj.get("revoked", False)),
        "is_deprecated": bool(obj.get("x_mitre_deprecated", False)),
    }
    if problem := _too_long(Technique, values):
        return problem
    values["tactics"] = [
        phase.phase_name
        for phase in obj.get("kill_chain_phases") or ()
        if phase.kill_chain_name == SOURCE_NAME
    ]
    values["where"] = where
    release.techniques[attack_id] = values
    return None


def _read_group(release, obj, where, matrices):
    ref = _attack_ref(obj)
    if ref is None or not GROUP_ID.match(ref["external_id"]):
        return "external_references", f'no "{SOURCE_NAME}" external_id of the form G0000'
    attack_id = ref["external_id"]
    if attack_id in release.groups:
        return "external_references", f"{attack_id} appears twice; the first one is kept"
    name = clean_text(obj.name).strip()
    if not name or len(name) > ThreatActor._meta.get_field("name").max_length:
        return "name", "empty or too long"
    release.groups[attack_id] = {
        "name": name,
        "aliases": [a.strip() for a in clean_text(list(obj.get("aliases") or ())) if a.strip()],
        "description": clean_description(obj.get("description")),
        "stix_id": obj.id,
        "where": where,
    }
    return None


def _read_software(release, obj, where, matrices):
    ref = _attack_ref(obj)
    if ref is None or not SOFTWARE_ID.match(ref["external_id"]):
        return "external_references", f'no "{SOURCE_NAME}" external_id of the form S0000'
    attack_id = ref["external_id"]
    if attack_id in release.software:
        return "external_references", f"{attack_id} appears twice; the first one is kept"
    name = clean_text(obj.name).strip()
    aliases = [a.strip() for a in clean_text(list(obj.get("x_mitre_aliases") or ())) if a.strip()]
    values = {
        "name": name,
        "kind": obj.type,
        "aliases": [a for a in aliases if a.lower() != name.lower()],
        "description": clean_description(obj.get("description")),
        "url": ref.get("url") or f"https://attack.mitre.org/software/{attack_id}",
        "stix_id": obj.id,
    }
    if not name:
        return "name", "empty"
    if problem := _too_long(Software, values):
        return problem
    release.software[attack_id] = values
    return None


def _read_relationship(release, obj, where, matrices):
    if obj.relationship_type == "uses":
        release.uses.append((obj.source_ref, obj.target_ref, where))
        return None
    links = release.parent_of if obj.relationship_type == "subtechnique-of" else release.revoked_by
    links[obj.source_ref] = (obj.target_ref, where)
    return None


_READERS = {
    "x-mitre-tactic": _read_tactic,
    "x-mitre-matrix": _read_matrix,
    "x-mitre-collection": _read_collection,
    "attack-pattern": _read_technique,
    "intrusion-set": _read_group,
    "malware": _read_software,
    "tool": _read_software,
    "relationship": _read_relationship,
}
