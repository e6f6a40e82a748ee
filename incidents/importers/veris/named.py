"""Writing the actors VERIS records name (``actor.*.name``, read by actor_names): one
threat actor per name however records spell it, matched to an actor the catalogue knows by
its name or alias (an ATT&CK group) or created once."""

from __future__ import annotations

from collections import defaultdict

from ...models import ThreatActor
from ...rules import UNKNOWN_ACTOR_TYPE
from .actor_names import NamedGroup, group_spellings, name_keys

# Where the type and location of a named actor this importer created come from.
NAMED_ACTOR_SOURCE = "VERIS Community Database (VCDB), the record's actor"


class NamedActors:
    """The named actors of one import: ``prepare`` groups the spellings of all its records,
    ``ensure`` gives each group of a chunk its actor, ``ids`` the actors a record names."""

    def __init__(self, dataset, actor_types, slugs, report):
        self.dataset, self.actor_types, self.slugs, self.report = (
            dataset,
            actor_types,
            slugs,
            report,
        )
        # Matched by actor_names.name_keys: first by an actor's name, then by its aliases
        # (an ATT&CK group's: "Fancy Bear" is APT28).
        self.by_name_key: dict[str, set[int]] = defaultdict(set)
        self.by_alias_key: dict[str, set[int]] = defaultdict(set)
        for name, aliases, pk in ThreatActor.objects.values_list("name", "aliases", "pk"):
            self._index(pk, name, aliases if isinstance(aliases, list) else [])
        self.groups: dict[str, NamedGroup] = {}

    def prepare(self, records):
        self.groups = group_spellings(a for p in records for a in p.named_actors)

    def _index(self, pk, name, aliases):
        for key in name_keys(name):
            self.by_name_key[key].add(pk)
        for alias in aliases:
            for key in name_keys(str(alias)):
                self.by_alias_key[key].add(pk)

    def _known(self, keys) -> int | None:
        """The one actor a group's keys match: by name first, then by alias; None when none
        does, or several do alike (then a new actor is made)."""
        for index in (self.by_name_key, self.by_alias_key):
            found = set().union(*(index.get(k, ()) for k in keys))
            if len(found) == 1:
                return found.pop()
            if found:
                return None
        return None

    def group(self, actor) -> NamedGroup:
        return self.groups[next(iter(actor.reading.keys))]

    def ensure(self, chunk, actor_names: dict):
        """An actor the catalogue knows by a name or alias (an ATT&CK group) is linked as it
        is; any other is created once, with the type and location the records give it and
        its other spellings as aliases. ``actor_names`` (lower-case name -> pk) learns them."""
        new = {}
        for p in chunk:
            for actor in p.named_actors:
                group = self.group(actor)
                if group.pk is not None or id(group) in new:
                    continue
                group.pk = self._known(group.keys)
                if group.pk is not None:
                    self.report.add("named actor", "matched")
                    continue
                new[id(group)] = (group, self._new_actor(group))
        if new:
            ThreatActor.objects.bulk_create([a for _, a in new.values()], batch_size=500)
            for group, actor in new.values():
                group.pk = actor.pk
                actor_names[actor.name.lower()] = actor.pk
                self._index(actor.pk, actor.name, actor.aliases)
            self.report.add("threat actor", "created", len(new))

    def _new_actor(self, group: NamedGroup) -> ThreatActor:
        name = group.name
        typed = group.actor_type != UNKNOWN_ACTOR_TYPE
        return ThreatActor(
            name=name,
            slug=self.slugs.allocate(name),
            aliases=group.other_names,
            actor_type_id=self.actor_types[group.actor_type],
            actor_type_source=NAMED_ACTOR_SOURCE if typed else "",
            country=group.country,
            country_source=NAMED_ACTOR_SOURCE if group.country else "",
            dataset=self.dataset,
            external_id=f"veris:name:{name.lower()}",
        )

    def ids(self, p) -> set[int]:
        """The actors record ``p`` names."""
        return {self.group(a).pk for a in p.named_actors if self.group(a).pk}
