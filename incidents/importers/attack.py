"""Import MITRE ATT&CK Enterprise from a STIX 2.x bundle: tactics, techniques and groups.

Reading: the raw JSON is filtered by type first (the ~20,000 relationships this importer does
not use cost nothing), then every object that is mapped is parsed and validated by the
``stix2`` library. A malformed object is skipped and reported with where it is (index and
STIX id) and which field is wrong; a file that is not a STIX bundle aborts the import.

Writing: one transaction, set-based queries (bulk_create, bulk_update, one insert and one
delete for technique-tactic links), so a full release takes a few seconds. Records are found
again by their ATT&CK id, so a re-import updates in place and counts what did not change.
The mapping, and what is dropped, is described in docs/importers/attack.md.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import stix2
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from stix2 import exceptions as stix_errors
from stix2 import properties as stix_props
from stix2 import registry as stix_registry
from stix2 import v20, v21

from incidents.importers.base import ImportAborted, ImportReport, Problem, progress
from incidents.models import Dataset, Tactic, Technique, ThreatActor
from incidents.services import SlugAllocator, catalogue_write, clean_text

DATASET = {
    "slug": "mitre-attack-enterprise",
    "name": "MITRE ATT&CK Enterprise",
    "url": "https://attack.mitre.org/",
    "licence": "ATT&CK Terms of Use",
    "licence_url": "https://attack.mitre.org/resources/legal-and-branding/terms-of-use/",
    "attribution": "© The MITRE Corporation. This work is reproduced and distributed "
    "with the permission of The MITRE Corporation.",
}
SOURCE_NAME = "mitre-attack"  # the external_references entry holding ATT&CK ids and URLs
ENTERPRISE_MATRIX = "enterprise-attack"
DOWNLOAD_TIMEOUT = 120  # seconds; MITRE's bundle is ~45 MB

TACTIC_ID = re.compile(r"TA\d{4}\Z")
TECHNIQUE_ID = re.compile(r"T\d{4}(\.\d{3})?\Z")
GROUP_ID = re.compile(r"G\d{4}\Z")

# The STIX types read, and what they become (the "kind" in the report).
KINDS = {
    "x-mitre-tactic": "tactic",
    "attack-pattern": "technique",
    "intrusion-set": "threat actor",
    "x-mitre-matrix": "matrix",
    "x-mitre-collection": "collection",
    "relationship": "relationship",
}
RELATIONSHIPS = {"subtechnique-of", "revoked-by"}

TACTIC_FIELDS = ["attack_id", "shortname", "name", "url", "description", "stix_id", "order"]
TECHNIQUE_FIELDS = ["name", "description", "url", "version", "stix_id"]
TECHNIQUE_FIELDS += ["is_revoked", "is_deprecated", "parent", "revoked_by"]
ACTOR_MATCH_FIELDS = ["name", "aliases", "description", "attack_id", "is_unattributed"]
ACTOR_MATCH_FIELDS += ["dataset", "external_id"]
ACTOR_FIELDS = ["attack_id", "aliases", "description", "dataset", "external_id", "updated_at"]


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


# Reading ------------------------------------------------------------------------------------


def load_bundle(source: str) -> dict:
    """The bundle at ``source`` (a path or an http(s) URL) as a dict; ImportAborted if not one.

    Messages do not repeat ``source``: the caller names it.
    """
    if re.match(r"[a-z][a-z0-9+.-]*://", source, re.IGNORECASE):
        data = _download(source)
    else:
        path = Path(source)
        if not path.is_file():
            raise ImportAborted("no such file")
        data = path.read_bytes()
    try:
        bundle = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise ImportAborted(f"not a STIX bundle (not UTF-8 text: {exc.reason})") from exc
    except json.JSONDecodeError as exc:
        raise ImportAborted(
            f"not a STIX bundle (not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno})"
        ) from exc
    if not (
        isinstance(bundle, dict)
        and bundle.get("type") == "bundle"
        and isinstance(bundle.get("objects"), list)
    ):
        raise ImportAborted(
            'not a STIX bundle (expected a JSON object with "type": "bundle" and an "objects" list)'
        )
    return bundle


def _download(url: str) -> bytes:
    if not url.lower().startswith(("http://", "https://")):
        raise ImportAborted("only http(s) URLs or local paths can be read")
    # The scheme is checked above, so S310 (file: or custom schemes) does not apply.
    headers = {"User-Agent": "incident-portal import_attack"}
    request = urllib.request.Request(url, headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=DOWNLOAD_TIMEOUT) as response:  # noqa: S310
            return response.read()
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise ImportAborted(
            f"could not download it ({reason}). Without internet access, download the bundle "
            "on another machine and pass its local path."
        ) from exc


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
        if kind is None or (
            kind == "relationship" and raw.get("relationship_type") not in RELATIONSHIPS
        ):
            release.ignored[stix_type if kind is None else "relationship"] += 1
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


def _read_relationship(release, obj, where, matrices):
    links = release.parent_of if obj.relationship_type == "subtechnique-of" else release.revoked_by
    links[obj.source_ref] = (obj.target_ref, where)
    return None


_READERS = {
    "x-mitre-tactic": _read_tactic,
    "x-mitre-matrix": _read_matrix,
    "x-mitre-collection": _read_collection,
    "attack-pattern": _read_technique,
    "intrusion-set": _read_group,
    "relationship": _read_relationship,
}


# Writing ------------------------------------------------------------------------------------


@dataclass
class AttackImportResult:
    report: ImportReport
    version: str
    previous_version: str
    ignored: Counter
    dry_run: bool


def import_attack(
    bundle: dict, *, release: str | None = None, dry_run: bool = False, progress_stream=None
) -> AttackImportResult:
    """Import a parsed bundle (see load_bundle) in one transaction; roll back if ``dry_run``."""
    report = ImportReport()
    content = read_release(bundle, report, progress_stream)
    version = _release_version(content, release, report)
    now = timezone.now()
    with catalogue_write():
        dataset, _ = Dataset.objects.select_for_update().get_or_create(
            slug=DATASET["slug"], defaults=DATASET
        )
        previous = dataset.version
        _note_downgrade(previous, version, report)
        for name, value in DATASET.items():
            setattr(dataset, name, value)
        dataset.version = version
        dataset.imported_at = now
        dataset.save()
        tactic_pks = _write_tactics(content, report)
        _write_techniques(content, tactic_pks, report)
        _write_groups(content, dataset, report, now)
        if dry_run:
            transaction.set_rollback(True)
    return AttackImportResult(report, version, previous, content.ignored, dry_run)


def _release_version(content: AttackRelease, release: str | None, report: ImportReport) -> str:
    """The bundle's own version, else the one given on the command line, else a date."""
    if content.collection_version:
        if release and release != content.collection_version:
            report.problems.append(
                Problem(
                    "bundle",
                    "x-mitre-collection",
                    f"--release {release} ignored: the bundle says it is "
                    f"{content.collection_version}",
                )
            )
        return content.collection_version
    if release:
        return release
    if content.latest_modified:
        return f"unversioned, objects modified up to {content.latest_modified[:10]}"
    return "unversioned"


def _note_downgrade(previous: str, version: str, report: ImportReport):
    def numbers(text):
        return (
            tuple(int(n) for n in text.split(".")) if re.fullmatch(r"\d+(\.\d+)*", text) else None
        )

    old, new = numbers(previous), numbers(version)
    if old and new and new < old:
        report.problems.append(
            Problem("bundle", "version", f"{version} is older than {previous}, imported before")
        )


def _assign(obj, values: dict) -> bool:
    """Set ``values`` on ``obj``; True if any of them changed."""
    changed = False
    for name, value in values.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed = True
    return changed


def _count(report, kind, created, updated, unchanged):
    report.add(kind, "created", created)
    report.add(kind, "updated", updated)
    report.add(kind, "unchanged", unchanged)


def _write_tactics(content: AttackRelease, report: ImportReport) -> dict[str, int]:
    """Upsert tactics by ATT&CK id; return {shortname: pk} of every tactic in the database."""
    order = {}
    if content.tactic_refs is not None:
        order = {stix_id: n for n, stix_id in enumerate(content.tactic_refs)}
    else:
        report.problems.append(
            Problem("bundle", "x-mitre-matrix", "missing: tactics ordered as in the bundle")
        )
    existing = list(Tactic.objects.all())
    by_id = {t.attack_id: t for t in existing}
    by_shortname = {t.shortname: t for t in existing}
    new, changed, unchanged = [], [], 0
    for n, (attack_id, values) in enumerate(content.tactics.items()):
        values = {
            "attack_id": attack_id,
            **values,
            "order": order.get(values["stix_id"], len(order) + n),
        }
        if content.tactic_refs is not None and values["stix_id"] not in order:
            report.problems.append(
                Problem(attack_id, "order", "not in the Enterprise matrix; placed after it")
            )
        tactic = by_id.get(attack_id) or by_shortname.get(values["shortname"])
        if tactic is None:
            new.append(Tactic(**values))
        elif _assign(tactic, values):
            changed.append(tactic)
        else:
            unchanged += 1
    Tactic.objects.bulk_create(new)
    Tactic.objects.bulk_update(changed, TACTIC_FIELDS)
    _count(report, "tactic", len(new), len(changed), unchanged)
    return dict(Tactic.objects.values_list("shortname", "pk"))


def _write_techniques(content: AttackRelease, tactic_pks: dict[str, int], report: ImportReport):
    """Upsert techniques by ATT&CK id, then their parent, revoked_by and tactics, set-wise."""
    rows = content.techniques
    existing = Technique.objects.in_bulk(list(rows), field_name="attack_id")
    Technique.objects.bulk_create(
        Technique(attack_id=attack_id, **_scalars(values))
        for attack_id, values in rows.items()
        if attack_id not in existing
    )
    created = set(rows) - set(existing)
    # Every technique's pk and STIX id: relationships may point to ones already in the database.
    pk_of, attack_id_of = {}, {}
    for pk, attack_id, stix_id in Technique.objects.values_list("pk", "attack_id", "stix_id"):
        pk_of[attack_id] = pk
        if stix_id:
            attack_id_of[stix_id] = attack_id
    attack_id_of.update((values["stix_id"], attack_id) for attack_id, values in rows.items())

    links = Technique.tactics.through.objects
    current_tactics = defaultdict(set)
    for technique_id, tactic_id in links.filter(technique__attack_id__in=list(rows)).values_list(
        "technique_id", "tactic_id"
    ):
        current_tactics[technique_id].add(tactic_id)

    to_update, updated, unchanged = [], 0, 0
    wanted_links, stale_links = set(), set()
    for attack_id, values in rows.items():
        pk = pk_of[attack_id]
        technique = existing.get(attack_id) or Technique(
            pk=pk, attack_id=attack_id, **_scalars(values)
        )
        scalars = {
            **_scalars(values),
            "parent_id": _link(content.parent_of, values, attack_id_of, pk_of, report, attack_id),
            "revoked_by_id": _link(content.revoked_by, values, attack_id_of, pk_of, report),
        }
        tactics = set()
        for shortname in values["tactics"]:
            if shortname in tactic_pks:
                tactics.add(tactic_pks[shortname])
            else:
                report.problems.append(
                    Problem(values["where"], "kill_chain_phases", f"unknown tactic {shortname!r}")
                )
        fields_changed = _assign(technique, scalars)
        current = current_tactics.get(pk, set())
        wanted_links |= {(pk, t) for t in tactics - current}
        stale_links |= {(pk, t) for t in current - tactics}
        if fields_changed:
            to_update.append(technique)
        if attack_id in created:
            continue
        if fields_changed or tactics != current:
            updated += 1
        else:
            unchanged += 1
    Technique.objects.bulk_update(to_update, TECHNIQUE_FIELDS, batch_size=500)
    if stale_links:
        stale_pks = [
            link_pk
            for link_pk, technique_id, tactic_id in links.filter(
                technique_id__in={pk for pk, _ in stale_links}
            ).values_list("pk", "technique_id", "tactic_id")
            if (technique_id, tactic_id) in stale_links
        ]
        links.filter(pk__in=stale_pks).delete()
    links.bulk_create(
        [links.model(technique_id=pk, tactic_id=t) for pk, t in sorted(wanted_links)],
        batch_size=1000,
    )
    _count(report, "technique", len(created), updated, unchanged)


def _scalars(values: dict) -> dict:
    return {name: values[name] for name in TECHNIQUE_FIELDS if name in values}


def _link(links, values, attack_id_of, pk_of, report, child_id=None) -> int | None:
    """The pk a subtechnique-of or revoked-by relationship points to, or None."""
    target = links.get(values["stix_id"])
    if target is None:
        return None
    target_stix_id, where = target
    target_id = attack_id_of.get(target_stix_id)
    field_name = "target_ref"
    if target_id is None or target_id not in pk_of:
        message = f"{target_stix_id} is not an imported technique; link ignored"
    elif child_id is not None and not child_id.startswith(target_id + "."):
        message = f"{child_id} cannot be a sub-technique of {target_id}; link ignored"
    else:
        return pk_of[target_id]
    report.problems.append(Problem(where, field_name, message))
    return None


def _write_groups(content: AttackRelease, dataset: Dataset, report: ImportReport, now):
    """Upsert ATT&CK groups as threat actors, keeping what staff set on existing actors."""
    actors = list(ThreatActor.objects.order_by("pk").only(*ACTOR_MATCH_FIELDS))
    matcher = _ActorMatcher(actors, dataset.pk)
    active_by_stix = {group["stix_id"]: attack_id for attack_id, group in content.groups.items()}
    replaced = defaultdict(list)  # active G-id -> G-ids ATT&CK revoked in its favour
    for stix_id, retired in content.retired_groups.items():
        target = content.revoked_by.get(stix_id)
        successor = active_by_stix.get(target[0]) if target else None
        if successor:
            replaced[successor].append(retired["attack_id"])
        reason = (
            f"{retired['attack_id']} {retired['name']}: revoked by ATT&CK"
            + (f" in favour of {successor}" if successor else "")
            if retired["field"] == "revoked"
            else f"{retired['attack_id']} {retired['name']}: deprecated by ATT&CK"
        )
        report.skip(retired["where"], retired["field"], reason + "; not imported", "threat actor")

    slugs = SlugAllocator.for_model(ThreatActor)
    new, changed, unchanged = [], [], 0
    for attack_id, group in content.groups.items():
        actor, conflict = matcher.match(attack_id, group["name"], replaced[attack_id])
        if conflict:
            report.skip(group["where"], "name", conflict, kind="threat actor")
            continue
        if actor is None:
            actor = ThreatActor(name=group["name"], slug=slugs.allocate(group["name"]), aliases=[])
            matcher.add(actor)
            new.append(actor)
        values = {
            "attack_id": attack_id,
            "aliases": _merge_aliases(
                actor.aliases, [group["name"], *group["aliases"]], actor.name
            ),
        }
        if not actor.description:
            values["description"] = group["description"]
        if actor.dataset_id in (None, dataset.pk):
            # An actor another dataset (VERIS) imported keeps its own key there.
            values.update(dataset_id=dataset.pk, external_id=attack_id)
        if _assign(actor, values) and actor.pk is not None:
            actor.updated_at = now
            changed.append(actor)
        elif actor.pk is not None:
            unchanged += 1
    ThreatActor.objects.bulk_create(new)
    ThreatActor.objects.bulk_update(changed, ACTOR_FIELDS, batch_size=500)
    _count(report, "threat actor", len(new), len(changed), unchanged)


class _ActorMatcher:
    """Finds the existing actor an ATT&CK group is: by its key, its ATT&CK id, then its name."""

    def __init__(self, actors, dataset_pk):
        self.by_key = {a.external_id: a for a in actors if a.dataset_id == dataset_pk}
        self.by_attack_id = {}
        for actor in actors:  # oldest first
            if actor.attack_id:
                self.by_attack_id.setdefault(actor.attack_id, actor)
        self.by_name = {a.name.lower(): a for a in actors}
        self.claimed = set()

    def add(self, actor):
        self.by_name[actor.name.lower()] = actor
        self.claimed.add(id(actor))

    def match(self, attack_id, name, old_ids) -> tuple[ThreatActor | None, str]:
        actor = self.by_key.get(attack_id) or self._unclaimed(self.by_attack_id.get(attack_id))
        if actor is None and (same_name := self.by_name.get(name.lower())) is not None:
            if id(same_name) in self.claimed:
                return None, f"{attack_id} {name}: another group already matched actor {same_name}"
            if same_name.is_unattributed:
                return None, f"{attack_id} {name}: an unattributed actor category has this name"
            if same_name.attack_id not in ("", attack_id, *old_ids):
                return None, (
                    f"{attack_id} {name}: existing actor {same_name} has ATT&CK id "
                    f"{same_name.attack_id}; correct one of them by hand"
                )
            actor = same_name
        for old_id in old_ids:
            actor = actor or self._unclaimed(self.by_attack_id.get(old_id))
        if actor is not None:
            self.claimed.add(id(actor))
        return actor, ""

    def _unclaimed(self, actor):
        return actor if actor is not None and id(actor) not in self.claimed else None


def _merge_aliases(current, incoming, name) -> list:
    """Existing aliases (staff-added ones included) first, then new ones; never the name."""
    aliases = list(current or [])
    seen = {name.lower(), *(a.lower() for a in aliases if isinstance(a, str))}
    for alias in incoming:
        if alias.lower() not in seen:
            aliases.append(alias)
            seen.add(alias.lower())
    return aliases
