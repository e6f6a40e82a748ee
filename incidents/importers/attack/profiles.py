"""Writing what makes an ATT&CK group a profile: the software it uses, its "uses" links to
techniques and software, and its type and country from MISP's galaxy. Set-based, inside the
import's one catalogue write; re-running changes nothing."""

from __future__ import annotations

from collections import defaultdict

from ...models import Dataset, Software, Technique, ThreatActor
from ...services import ensure_taxonomy
from ..base import ImportReport, Problem
from .galaxy import GALAXY_DATASET, Galaxy
from .map import AttackRelease

SOFTWARE_FIELDS = ["name", "kind", "aliases", "description", "url", "stix_id"]
PROFILE_FIELDS = ["actor_type", "actor_type_source", "country", "country_source", "updated_at"]


def write_software(content: AttackRelease, report: ImportReport) -> dict[str, int]:
    """Upsert malware and tools by ATT&CK id; return {STIX id: pk} of the release's software."""
    existing = Software.objects.in_bulk(list(content.software), field_name="attack_id")
    new, changed, unchanged = [], [], 0
    for attack_id, values in content.software.items():
        software = existing.get(attack_id)
        if software is None:
            new.append(Software(attack_id=attack_id, **values))
            continue
        dirty = [name for name in SOFTWARE_FIELDS if getattr(software, name) != values[name]]
        for name in dirty:
            setattr(software, name, values[name])
        if dirty:
            changed.append(software)
        else:
            unchanged += 1
    Software.objects.bulk_create(new, batch_size=500)
    Software.objects.bulk_update(changed, SOFTWARE_FIELDS, batch_size=500)
    report.add("software", "created", len(new))
    report.add("software", "updated", len(changed))
    report.add("software", "unchanged", unchanged)
    pk_of = dict(Software.objects.values_list("attack_id", "pk"))
    return {values["stix_id"]: pk_of[attack_id] for attack_id, values in content.software.items()}


def write_uses(
    content: AttackRelease,
    actors: dict[str, ThreatActor],
    software_pks: dict[str, int],
    report: ImportReport,
):
    """Make each imported group's techniques and software exactly what ATT&CK relates to it."""
    technique_pks = dict(Technique.objects.exclude(stix_id="").values_list("stix_id", "pk"))
    wanted = {"technique": defaultdict(set), "software": defaultdict(set)}
    for source, target, where in content.uses:
        actor = actors.get(source)
        if actor is None:
            report.problems.append(
                Problem(where, "source_ref", f"{source} is not an imported group; link ignored")
            )
            continue
        kind, pk = (
            ("technique", technique_pks.get(target))
            if target.startswith("attack-pattern--")
            else ("software", software_pks.get(target))
        )
        if pk is None:
            report.problems.append(
                Problem(where, "target_ref", f"{target} is not an imported {kind}; link ignored")
            )
            continue
        wanted[kind][actor.pk].add(pk)
    actor_pks = [actor.pk for actor in actors.values()]
    for kind, through, column in (
        ("technique", ThreatActor.techniques.through, "technique_id"),
        ("software", ThreatActor.software.through, "software_id"),
    ):
        _sync_links(through, column, actor_pks, wanted[kind], report, f"group uses {kind}")


def _sync_links(through, column, actor_pks, wanted, report, kind):
    """Insert the missing (actor, target) rows and delete the stale ones of ``actor_pks``."""
    current = defaultdict(set)
    stale = []
    for pk, actor_id, target_id in through.objects.filter(threatactor_id__in=actor_pks).values_list(
        "pk", "threatactor_id", column
    ):
        if target_id in wanted.get(actor_id, ()):
            current[actor_id].add(target_id)
        else:
            stale.append(pk)
    missing = [
        through(threatactor_id=actor_id, **{column: target_id})
        for actor_id, targets in sorted(wanted.items())
        for target_id in sorted(targets - current[actor_id])
    ]
    through.objects.filter(pk__in=stale).delete()
    through.objects.bulk_create(missing, batch_size=1000)
    report.add(kind, "created", len(missing))
    report.add(kind, "unchanged", sum(len(targets) for targets in current.values()))
    report.add(kind, "removed", len(stale))


def write_galaxy(
    galaxy: Galaxy, groups: dict[str, dict], actors: dict[str, ThreatActor], report, now
):
    """Set each group's type and country from its galaxy entry, with their provenance.

    A value is written only where the actor has none or the importer set it before (its
    source is not empty), so what staff set by hand stays.
    """
    dataset, created = Dataset.objects.get_or_create(
        slug=GALAXY_DATASET["slug"], defaults=GALAXY_DATASET
    )
    if created or dataset.version != galaxy.version:
        dataset.version = galaxy.version
        dataset.imported_at = now
        dataset.save()
    source = f"{GALAXY_DATASET['name']}, version {galaxy.version}"
    types = ensure_taxonomy().actor_types
    rules, changed, unchanged = defaultdict(int), [], 0
    for group in groups.values():
        actor = actors.get(group["stix_id"])
        if actor is None:
            continue
        names = [group["name"], *group["aliases"]]
        entry, rule = galaxy.match(actor.attack_id, names)
        rules[rule.split(",")[0] if entry else "no match"] += 1
        if entry is None:
            if rule:
                report.problems.append(Problem(actor.attack_id, "misp galaxy", rule))
            continue
        values = {}
        if not actor.country or actor.country_source:
            country_source = f"{source} ({entry.value})" if entry.country else ""
            values.update(country=entry.country, country_source=country_source)
        type_pk = types.get(entry.actor_type)
        if entry.actor_type and type_pk is None:
            report.problems.append(
                Problem(actor.attack_id, "actor_type", f"no actor type {entry.actor_type!r}")
            )
        if not actor.actor_type_id or actor.actor_type_source:
            type_source = f"{source} ({entry.value}; {entry.type_reason})" if type_pk else ""
            values.update(actor_type_id=type_pk, actor_type_source=type_source)
        dirty = {name: value for name, value in values.items() if getattr(actor, name) != value}
        for name, value in dirty.items():
            setattr(actor, name, value)
        if dirty:
            actor.updated_at = now
            changed.append(actor)
        else:
            unchanged += 1
    ThreatActor.objects.bulk_update(changed, PROFILE_FIELDS, batch_size=500)
    report.add("actor type and country", "updated", len(changed))
    report.add("actor type and country", "unchanged", unchanged)
    return dict(rules)
