"""Writing an ATT&CK release: one catalogue write, set-based queries; records are found
again by their ATT&CK id, so a re-import updates in place and counts what did not change."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from ...models import ATTACK_DATASET, Dataset, Tactic, Technique, ThreatActor
from ...rules import SlugAllocator
from ...services import catalogue_write
from ..base import ImportReport, Problem
from .galaxy import Galaxy
from .map import AttackRelease, read_release
from .profiles import write_galaxy, write_software, write_uses

DATASET = {
    "slug": ATTACK_DATASET,
    "name": "MITRE ATT&CK Enterprise",
    "url": "https://attack.mitre.org/",
    "licence": "ATT&CK Terms of Use",
    "licence_url": "https://attack.mitre.org/resources/legal-and-branding/terms-of-use/",
    "attribution": "© The MITRE Corporation. This work is reproduced and distributed "
    "with the permission of The MITRE Corporation.",
}

TACTIC_FIELDS = ["attack_id", "shortname", "name", "url", "description", "stix_id", "order"]
TECHNIQUE_FIELDS = ["name", "description", "url", "version", "stix_id"]
TECHNIQUE_FIELDS += ["is_revoked", "is_deprecated", "parent", "revoked_by"]
ACTOR_MATCH_FIELDS = ["name", "aliases", "description", "attack_id", "is_unattributed"]
ACTOR_MATCH_FIELDS += ["dataset", "external_id", "actor_type", "country"]
ACTOR_MATCH_FIELDS += ["actor_type_source", "country_source"]
ACTOR_FIELDS = ["attack_id", "aliases", "description", "dataset", "external_id", "updated_at"]


@dataclass
class AttackImportResult:
    report: ImportReport
    version: str
    previous_version: str
    ignored: Counter
    dry_run: bool
    galaxy_matches: dict | None = None  # groups per matching rule, when a galaxy was given


def import_attack(
    bundle: dict,
    *,
    release: str | None = None,
    galaxy: Galaxy | None = None,
    dry_run: bool = False,
    progress_stream=None,
) -> AttackImportResult:
    """Import a parsed bundle (see load_bundle) in one transaction; roll back if ``dry_run``.

    With ``galaxy`` (MISP's threat-actor cluster, see galaxy.read_galaxy), groups also get
    their type and country from it."""
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
        actors = _write_groups(content, dataset, report, now)
        write_uses(content, actors, write_software(content, report), report)
        matches = write_galaxy(galaxy, content.groups, actors, report, now) if galaxy else None
        if dry_run:
            transaction.set_rollback(True)
    return AttackImportResult(report, version, previous, content.ignored, dry_run, matches)


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


def _write_groups(
    content: AttackRelease, dataset: Dataset, report: ImportReport, now
) -> dict[str, ThreatActor]:
    """Upsert ATT&CK groups as threat actors, keeping what staff set on existing actors;
    return the actors by their group's STIX id."""
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
    imported = {}
    for attack_id, group in content.groups.items():
        actor, conflict = matcher.match(attack_id, group["name"], replaced[attack_id])
        if conflict:
            report.skip(group["where"], "name", conflict, kind="threat actor")
            continue
        if actor is None:
            actor = ThreatActor(name=group["name"], slug=slugs.allocate(group["name"]), aliases=[])
            matcher.add(actor)
            new.append(actor)
        imported[group["stix_id"]] = actor
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
    return imported


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
