"""STIX 2.1 (members only): a bundle of ``incident``s, their victims as ``identity``,
``attack-pattern``s with ATT&CK's references, ``threat-actor``s (``intrusion-set`` for
ATT&CK groups) with their ``location``, ``relationship``s between them, and a
statement marking with the licences on every object.

Ids are UUIDv5 on our slugs (ATT&CK's own id for a technique when we have it), so a
re-export gives the same ids. Objects shared by several incidents are written once.
The bundle is written object by object, never held whole.
"""

from __future__ import annotations

import datetime
import uuid

import stix2

from .records import licence_text

NAMESPACE = uuid.UUID("6f1d7b3e-3c1a-5b7e-9a57-1f0e9c2d4b11")
# Objects we hold no timestamps for (markings, victims, actors, techniques, locations).
EPOCH = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
ATTACK_URL = "https://attack.mitre.org/"


def stix_id(kind: str, key: str) -> str:
    return f"{kind}--{uuid.uuid5(NAMESPACE, f'{kind}:{key}')}"


def _parse(value: str | None):
    return datetime.datetime.fromisoformat(value) if value else None


class BundleWriter:
    def __init__(self, statement: dict):
        self.marking = stix2.MarkingDefinition(
            id=stix_id("marking-definition", "licence"),
            created=EPOCH,
            name="Licences of this export",
            definition_type="statement",
            definition=stix2.StatementMarking(statement=licence_text(statement)),
        )
        self.markings = [self.marking.id]
        self.written: set[str] = set()

    def _common(self):
        return {"object_marking_refs": self.markings, "created": EPOCH, "modified": EPOCH}

    def _once(self, obj):
        if obj.id in self.written:
            return []
        self.written.add(obj.id)
        return [obj]

    def _relationship(self, source, kind, target, **extra):
        return stix2.Relationship(
            id=stix_id("relationship", f"{source}|{kind}|{target}"),
            relationship_type=kind,
            source_ref=source,
            target_ref=target,
            **extra,
            **self._common(),
        )

    @staticmethod
    def _provenance(technique) -> dict:
        """How the catalogue knows an incident uses a technique, on the "uses" relationship:
        ``x_cip_provenance`` (reported or derived) and, for a technique derived from the
        VERIS record through the mapping, ``x_cip_derived_from`` and a description."""
        extra = {"custom_properties": {"x_cip_provenance": technique["provenance"]}}
        if technique["provenance"] == "derived":
            extra["description"] = "Derived from VERIS" + (
                ": " + ", ".join(technique["derived_from"]) if technique["derived_from"] else ""
            )
            if technique["derived_from"]:
                extra["custom_properties"]["x_cip_derived_from"] = technique["derived_from"]
        return extra

    def objects(self, record) -> list:
        """The STIX objects of one member record: new shared ones, the incident, its links."""
        out = []
        victim = record["victim"]
        identity_id = stix_id("identity", victim["slug"])
        if identity_id not in self.written:
            out += self._once(
                stix2.Identity(
                    id=identity_id,
                    name=victim["name"],
                    identity_class="organization",
                    **self._common(),
                )
            )
        updated = _parse(record["updated_at"]) or EPOCH
        created = min(_parse(record["published_at"]) or updated, updated)
        custom = {
            "x_cip_date": record["date"],
            "x_cip_date_precision": record["date_precision"],
            "x_cip_motives": record["motives"],
        }
        if record["country"]:
            custom["x_cip_country"] = record["country"]
        if record["sector"]:
            custom["x_cip_sector"] = record["sector"]
        if record["records_affected"] is not None:
            custom["x_cip_records_affected"] = record["records_affected"]
        if record["cia_posture"]:
            custom["x_cip_cia_posture"] = record["cia_posture"]
        if not custom["x_cip_motives"]:
            del custom["x_cip_motives"]
        references = [
            {
                "source_name": "cyber-incident-portal",
                "url": record["url"],
                "external_id": record["slug"],
            }
        ]
        references += [
            {
                "source_name": s["publisher"] or "source",
                **({"url": s["url"]} if s["url"] else {}),
                **(
                    {"description": s["title"] or s["citation"]}
                    if s["title"] or s["citation"]
                    else {}
                ),
            }
            for s in record["sources"]
        ]
        incident = stix2.Incident(
            id=stix_id("incident", record["slug"]),
            name=f"{victim['name']} ({record['date']})",
            description=record["summary"],
            created=created,
            modified=updated,
            external_references=references,
            object_marking_refs=self.markings,
            custom_properties=custom,
            # The incident types (public), as STIX labels: "ransomware", "data-breach".
            **({"labels": record["types"]} if record["types"] else {}),
        )
        out.append(incident)
        out.append(self._relationship(incident.id, "targets", identity_id))
        for technique in record["techniques"]:
            pattern_id = technique["stix_id"]
            if not pattern_id.startswith("attack-pattern--"):
                pattern_id = stix_id("attack-pattern", technique["attack_id"])
            if pattern_id not in self.written:
                out += self._once(self._attack_pattern(pattern_id, technique))
            out.append(
                self._relationship(incident.id, "uses", pattern_id, **self._provenance(technique))
            )
        for actor in record["threat_actors"]:
            actor_id, new = self._actor(actor)
            out += new
            out.append(self._relationship(incident.id, "attributed-to", actor_id))
        return out

    def _attack_pattern(self, pattern_id, technique):
        return stix2.AttackPattern(
            id=pattern_id,
            name=technique["name"],
            external_references=[
                {
                    "source_name": "mitre-attack",
                    "external_id": technique["attack_id"],
                    "url": technique["url"] or ATTACK_URL,
                }
            ],
            kill_chain_phases=[
                {"kill_chain_name": "mitre-attack", "phase_name": tactic}
                for tactic in technique["tactics"]
            ],
            **self._common(),
        )

    def _actor(self, actor):
        group = bool(actor["attack_id"])
        kind = "intrusion-set" if group else "threat-actor"
        actor_id = stix_id(kind, actor["slug"])
        if actor_id in self.written:
            return actor_id, []
        fields = {
            "id": actor_id,
            "name": actor["name"],
            "external_references": [
                {
                    "source_name": "cyber-incident-portal",
                    "url": actor["url"],
                    "external_id": actor["slug"],
                }
            ],
            **self._common(),
        }
        if actor["aliases"]:
            fields["aliases"] = actor["aliases"]
        if group:
            fields["external_references"].append(
                {
                    "source_name": "mitre-attack",
                    "external_id": actor["attack_id"],
                    "url": f"{ATTACK_URL}groups/{actor['attack_id']}/",
                }
            )
            obj = stix2.IntrusionSet(**fields)
        else:
            custom = {"x_cip_actor_type": actor["type"]} if actor["type"] else {}
            obj = stix2.ThreatActor(**fields, custom_properties=custom)
        new = self._once(obj)
        if actor["location"]:
            location_id = stix_id("location", actor["location"])
            if location_id not in self.written:
                new += self._once(
                    stix2.Location(id=location_id, country=actor["location"], **self._common())
                )
            new.append(self._relationship(actor_id, "located-at", location_id))
        return actor_id, new


def stream(records, *, statement: dict, batch: int = 200):
    writer = BundleWriter(statement)
    yield (
        f'{{"type":"bundle","id":"bundle--{uuid.uuid4()}","objects":[' + writer.marking.serialize()
    )
    pieces = []
    for record in records:
        pieces += ["," + obj.serialize() for obj in writer.objects(record)]
        if len(pieces) >= batch:
            yield "".join(pieces)
            pieces = []
    yield "".join(pieces) + "]}"
