"""Generate synthetic incidents shaped like VCDB, for benchmarks; ``--delete`` removes them.

Every generated row is marked: incidents and threat actors belong to the Dataset
"synthetic" (external ids "syn-<n>" and "syn-actor-<n>"); victim organisations are
the ones whose incidents are all synthetic. On PostgreSQL rows go in through COPY
with ids taken from the sequences in bulk; elsewhere through bulk_create. Each batch
is one transaction. See docs/generate_incidents.md for the design and timings.
"""

import random
import time
from collections import Counter

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, models, reset_queries
from django.db.models import BigIntegerField, Max
from django.db.models.functions import Cast, Substr
from django.utils import timezone
from psycopg.types.json import Jsonb

from bench import synthetic
from incidents import rules, services
from incidents.importers.base import progress
from incidents.models import (
    CIAPosture,
    Dataset,
    Incident,
    Organisation,
    Source,
    Technique,
    ThreatActor,
    slug_date,
)

SYNTHETIC = {
    "slug": "synthetic",
    "name": "Synthetic test data",
    "licence": "none",
    "attribution": "Invented by manage.py generate_incidents for tests and benchmarks; "
    "not real incidents.",
}
ACTOR_POOL = 2000
EXTERNAL_ID = r"^syn-[0-9]+$"

# "state": a US victim's state (HHS); synthetic victims have none.
ORG_FIELDS = (
    "id",
    "name",
    "slug",
    "country",
    "sector_id",
    "website",
    "created_at",
    "updated_at",
    "state",
)
INCIDENT_FIELDS = (
    "id",
    "slug",
    "organisation_id",
    "date",
    "date_precision",
    "country",
    "sector_id",
    "summary",
    "description",
    "records_affected",
    "status",
    "published_at",
    "created_at",
    "updated_at",
    "dataset_id",
    "external_id",
    "imported_at",
    # SyntheticIncident.timeline_columns
    "occurred_on",
    "occurred_precision",
    "disclosed_on",
    "disclosed_precision",
    "disclosure_lag_days",
    "confirmation",
    # No source of their own: the incident's sources stand for its dates.
    "occurred_source",
    "discovered_source",
    "disclosed_source",
)
POSTURE_FIELDS = ("incident_id", "confidentiality", "integrity", "availability", "notes")
SOURCE_FIELDS = ("incident_id", "url", "title", "publisher", "published_on", "citation")


def link_fields(m2m):
    """(through model, (incident column attname, other attname)) of an Incident M2M."""
    through = m2m.through
    field = m2m.field
    names = (field.m2m_field_name(), field.m2m_reverse_field_name())
    return through, tuple(through._meta.get_field(n).attname for n in names)


MOTIVE_LINK, TECHNIQUE_LINK, ACTOR_LINK = (
    link_fields(Incident.motives),
    link_fields(Incident.techniques),
    link_fields(Incident.threat_actors),
)


def filled_fields(model, fields):
    """``fields`` plus any other column that needs a value: (attnames, constant values).

    A column added to the model later gets its Python default; COPY would leave it
    NULL. Nullable columns, database defaults and generated columns (a trigger-kept
    search vector, say) are left to the database. A new NOT NULL column without a
    default cannot be guessed and stops the command before it writes anything.
    """
    extra, values = [], []
    for f in model._meta.concrete_fields:
        if f.attname in fields or f.primary_key or getattr(f, "generated", False):
            continue
        if f.has_default() and not f.has_db_default():
            extra.append(f.attname)
            values.append(f.get_default())
        elif not (f.null or f.has_db_default()):
            raise CommandError(
                f"{model.__name__}.{f.name} has no default: generate_incidents must fill it."
            )
    return (*fields, *extra), tuple(values)


class CopyWriter:
    """PostgreSQL: ids from the table's sequence in bulk, rows through COPY."""

    def __init__(self):
        self.sequences = {}

    def ids(self, model, n):
        if not n:
            return []
        table, column = model._meta.db_table, model._meta.pk.column
        with connection.cursor() as cursor:
            if model not in self.sequences:
                cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [table, column])
                self.sequences[model] = cursor.fetchone()[0]
            cursor.execute(
                "SELECT nextval(%s) FROM generate_series(1, %s)", [self.sequences[model], n]
            )
            return [row[0] for row in cursor.fetchall()]

    def write(self, model, fields, rows):
        fields, constants = filled_fields(model, fields)
        # A JSON default ({} of Incident.timeline_raw) goes through COPY as JSON.
        constants = tuple(Jsonb(c) if isinstance(c, dict | list) else c for c in constants)
        qn = connection.ops.quote_name
        columns = ", ".join(qn(model._meta.get_field(f).column) for f in fields)
        statement = f"COPY {qn(model._meta.db_table)} ({columns}) FROM STDIN"
        n = 0
        with connection.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row + constants if constants else row)
                n += 1
        return n


class BulkWriter:
    """Other databases: ids counted on from the largest, rows through bulk_create."""

    def __init__(self):
        self.next_id = {}

    def ids(self, model, n):
        if model not in self.next_id:
            largest = model._base_manager.aggregate(m=Max("pk"))["m"] or 0
            self.next_id[model] = largest + 1
        start = self.next_id[model]
        self.next_id[model] += n
        return list(range(start, start + n))

    def write(self, model, fields, rows):
        objs = [model(**dict(zip(fields, row, strict=True))) for row in rows]
        model._base_manager.bulk_create(objs)
        return len(objs)


class Command(BaseCommand):
    help = (
        "Create N synthetic incidents with VCDB-like distributions (marked with the dataset "
        "'synthetic'), or remove all of them with --delete."
    )

    def add_arguments(self, parser):
        parser.add_argument("--count", type=int, help="How many incidents to add")
        parser.add_argument("--seed", type=int, help="Random seed (default: a new one, printed)")
        parser.add_argument(
            "--publish-ratio",
            type=float,
            default=0.97,
            help="Share of incidents published; the rest are drafts (default 0.97)",
        )
        parser.add_argument(
            "--batch", type=int, default=20000, help="Incidents per transaction (default 20000)"
        )
        parser.add_argument(
            "--delete",
            action="store_true",
            help="Remove every synthetic incident, victim and actor instead",
        )

    def handle(self, *args, count, seed, publish_ratio, batch, delete, **options):
        if delete:
            if count is not None:
                raise CommandError("--delete removes all synthetic data; it takes no --count.")
            return self.delete()
        if count is None or count < 1:
            raise CommandError("--count must be a positive number (or use --delete).")
        if not 0 <= publish_ratio <= 1:
            raise CommandError("--publish-ratio must be between 0 and 1.")
        if batch < 1:
            raise CommandError("--batch must be positive.")
        if seed is None:
            seed = random.SystemRandom().randrange(2**31)
        self.generate(count, seed=seed, publish_ratio=publish_ratio, batch=batch)

    # Generating

    def generate(self, count, *, seed, publish_ratio, batch):
        started = time.monotonic()
        now = timezone.now()
        postgres = connection.vendor == "postgresql"
        writer = CopyWriter() if postgres else BulkWriter()
        with services.catalogue_write():
            dataset, _ = Dataset.objects.update_or_create(
                slug=SYNTHETIC["slug"], defaults={**SYNTHETIC, "imported_at": now}
            )
            taxonomy = services.ensure_taxonomy()
            sectors, motives = taxonomy.sectors, taxonomy.motives
            actors = self.ensure_actor_pool(dataset, seed, taxonomy.actor_types)
        techniques = dict(
            Technique.objects.taggable().order_by("attack_id").values_list("attack_id", "pk")
        )
        last = (
            Incident.objects.filter(dataset=dataset, external_id__regex=EXTERNAL_ID)
            .annotate(n=Cast(Substr("external_id", 5), BigIntegerField()))
            .aggregate(m=Max("n"))["m"]
        )
        first_serial = (last or 0) + 1
        orgs = Organisation.objects.values_list("name", "slug")
        generator = synthetic.SyntheticIncidents(
            count,
            seed=seed,
            first_serial=first_serial,
            publish_ratio=publish_ratio,
            techniques=list(techniques),
            actor_pool=len(actors),
            taken_names=(name.lower() for name, _ in orgs),
            taken_slugs=(slug for _, slug in orgs),
            today=timezone.localdate(),
        )
        other_slugs = set(Incident.objects.exclude(dataset=dataset).values_list("slug", flat=True))
        context = {
            "now": now,
            "dataset": dataset.pk,
            "sectors": sectors,
            "motives": motives,
            "techniques": techniques,
            "actors": actors,
            "other_slugs": other_slugs,
        }
        counts = Counter()
        bar = progress(total=count, desc="Synthetic incidents", unit="incident")
        for start in range(0, count, batch):
            stop = min(count, start + batch)
            with services.catalogue_write():
                self.write_batch(writer, generator, start, stop, context, counts)
            bar.update(stop - start)
            reset_queries()  # with DEBUG on, Django keeps every query's SQL
        bar.close()
        if postgres:
            self.analyze(Organisation, Incident, CIAPosture, Source, ThreatActor)
        elapsed = time.monotonic() - started
        self.stdout.write(
            f"Generated {counts['incidents']:,} incidents ({counts['published']:,} published, "
            f"{counts['incidents'] - counts['published']:,} drafts), "
            f"{counts['organisations']:,} organisations, {counts['postures']:,} CIA postures, "
            f"{counts['sources']:,} sources, {counts['motive links']:,} motive, "
            f"{counts['technique links']:,} technique and {counts['actor links']:,} actor links "
            f"in {elapsed:.1f} s ({counts['incidents'] / elapsed:,.0f} incidents/s); "
            f"seed {seed}, syn-{first_serial}..syn-{first_serial + count - 1}."
        )

    def ensure_actor_pool(self, dataset, seed, actor_types):
        """The pks of actors syn-actor-1..ACTOR_POOL, creating the missing ones."""
        have = dict(ThreatActor.objects.filter(dataset=dataset).values_list("external_id", "pk"))
        missing = [n for n in range(1, ACTOR_POOL + 1) if f"syn-actor-{n}" not in have]
        if missing:
            taken = ThreatActor.objects.values_list("name", "slug")
            new = synthetic.make_actor_pool(
                seed,
                missing,
                taken_names=[name.lower() for name, _ in taken],
                taken_slugs=[slug for _, slug in taken],
            )
            created = ThreatActor.objects.bulk_create(
                ThreatActor(
                    name=a.name,
                    slug=a.slug,
                    aliases=a.aliases,
                    actor_type_id=actor_types[a.actor_type],
                    country=a.country,
                    description=a.description,
                    dataset=dataset,
                    external_id=a.external_id,
                )
                for a in new
            )
            have.update((a.external_id, a.pk) for a in created)
        return [have[f"syn-actor-{n}"] for n in range(1, ACTOR_POOL + 1)]

    def write_batch(self, writer, generator, start, stop, ctx, counts):
        now, sectors = ctx["now"], ctx["sectors"]
        victims = generator.new_victims(start, stop)
        for victim, pk in zip(victims, writer.ids(Organisation, len(victims)), strict=True):
            victim.pk = pk
        counts["organisations"] += writer.write(
            Organisation,
            ORG_FIELDS,
            (
                (v.pk, v.name, v.slug, v.country, sectors.get(v.sector), v.website, now, now, "")
                for v in victims
            ),
        )
        ids = writer.ids(Incident, stop - start)
        postures, sources, motives, techniques, actors = [], [], [], [], []

        def rows():
            # Generated while COPY streams them, so Python and PostgreSQL work at once.
            for pk, i in zip(ids, generator.incidents(start, stop), strict=True):
                slug = f"{slug_date(i.date, i.precision)}-{i.victim.slug[:90]}-{i.serial}"
                if slug in ctx["other_slugs"]:
                    slug += "-syn"
                if i.posture:
                    postures.append((pk, *i.posture))
                sources.extend((pk, *source, "") for source in i.sources)
                motives.extend((pk, ctx["motives"][m]) for m in i.motives)
                techniques.extend((pk, ctx["techniques"][t]) for t in i.techniques)
                actors.extend((pk, ctx["actors"][a]) for a in i.actors)
                counts["published"] += i.published
                status, published_at = rules.publication_values(i.published, now)
                yield (
                    pk,
                    slug,
                    i.victim.pk,
                    i.date,
                    i.precision,
                    i.victim.country,
                    sectors.get(i.victim.sector),
                    i.summary,
                    i.description,
                    i.records_affected,
                    status,
                    published_at,
                    now,
                    now,
                    ctx["dataset"],
                    i.external_id,
                    now,
                    *i.timeline_columns(),
                    "",
                    "",
                    "",
                )

        counts["incidents"] += writer.write(Incident, INCIDENT_FIELDS, rows())
        counts["postures"] += writer.write(CIAPosture, POSTURE_FIELDS, postures)
        counts["sources"] += writer.write(Source, SOURCE_FIELDS, sources)
        for key, (through, fields), links in (
            ("motive links", MOTIVE_LINK, motives),
            ("technique links", TECHNIQUE_LINK, techniques),
            ("actor links", ACTOR_LINK, actors),
        ):
            counts[key] += writer.write(through, fields, links)

    def analyze(self, *models_):
        tables = [m._meta.db_table for m in models_]
        tables += [
            through._meta.db_table for through, _ in (MOTIVE_LINK, TECHNIQUE_LINK, ACTOR_LINK)
        ]
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE " + ", ".join(map(connection.ops.quote_name, tables)))

    # Deleting

    def delete(self):
        started = time.monotonic()
        dataset = Dataset.objects.filter(slug=SYNTHETIC["slug"]).first()
        if dataset is None:
            self.stdout.write("No synthetic data to delete.")
            return
        # Names come from the models through quote_name; values are parameters.
        qn = connection.ops.quote_name
        inc, org = qn(Incident._meta.db_table), qn(Organisation._meta.db_table)
        org_pk = qn(Organisation._meta.pk.column)
        victim = qn(Incident._meta.get_field("organisation").column)
        inc_ds = qn(Incident._meta.get_field("dataset").column)
        actor_ds = qn(ThreatActor._meta.get_field("dataset").column)
        counts = Counter()
        with services.catalogue_write(), connection.cursor() as cursor:
            # Victims of synthetic incidents, remembered before the incidents go ...
            victims = f"SELECT DISTINCT {victim} AS id FROM {inc} WHERE {inc_ds} = %s"  # noqa: S608
            cursor.execute(f"CREATE TEMPORARY TABLE synthetic_victims AS {victims}", [dataset.pk])
            delete_rows(cursor, Incident, f"{inc_ds} = %s", [dataset.pk], counts)
            # ... of which those left without any incident were synthetic.
            used = f"SELECT 1 FROM {inc} WHERE {inc}.{victim} = {org}.{org_pk}"  # noqa: S608
            where = f"{org_pk} IN (SELECT id FROM synthetic_victims) AND NOT EXISTS ({used})"  # noqa: S608
            delete_rows(cursor, Organisation, where, [], counts)
            delete_rows(cursor, ThreatActor, f"{actor_ds} = %s", [dataset.pk], counts)
            cursor.execute("DROP TABLE synthetic_victims")
            dataset.delete()
        if connection.vendor == "postgresql":
            self.analyze(Organisation, Incident, CIAPosture, Source, ThreatActor)
        summary = ", ".join(f"{n:,} {label}" for label, n in counts.items())
        self.stdout.write(f"Deleted {summary} in {time.monotonic() - started:.1f} s.")


def delete_rows(cursor, model, where, params, counts, depth=0):
    """DELETE ``model`` rows matching ``where`` in one statement per table, dependents first.

    Follows the reverse relations as Django's delete() would (CASCADE deletes, SET_NULL
    clears, anything else must find no rows), without loading a row into Python.
    Relations added to the models later are followed too. Table and column names come
    from the models through quote_name; values are always parameters.
    """
    if depth > 5:
        raise CommandError(f"Relations to {model.__name__} nest too deeply to delete in bulk.")
    qn = connection.ops.quote_name
    table, pk = qn(model._meta.db_table), qn(model._meta.pk.column)
    for rel in model._meta.get_fields(include_hidden=True):
        if rel.concrete or not rel.auto_created or not (rel.one_to_many or rel.one_to_one):
            continue
        related, column = rel.related_model, qn(rel.field.column)
        related_table = qn(related._meta.db_table)
        related_where = f"{column} IN (SELECT {pk} FROM {table} WHERE {where})"  # noqa: S608
        if rel.on_delete is models.CASCADE:
            delete_rows(cursor, related, related_where, params, counts, depth + 1)
        elif rel.on_delete is models.SET_NULL:
            sql = f"UPDATE {related_table} SET {column} = NULL WHERE {related_where}"  # noqa: S608
            cursor.execute(sql, params)
        else:
            sql = f"SELECT 1 FROM {related_table} WHERE {related_where} LIMIT 1"  # noqa: S608
            cursor.execute(sql, params)
            if cursor.fetchone():
                raise CommandError(
                    f"{related._meta.label} rows still refer to synthetic "
                    f"{model._meta.verbose_name_plural}; nothing was deleted."
                )
    cursor.execute(f"DELETE FROM {table} WHERE {where}", params)  # noqa: S608
    counts[str(model._meta.verbose_name_plural)] += cursor.rowcount
