"""Members' counts over ATT&CK: the top techniques, the tactics, and the matrix of
techniques under their tactics. Gated (which incidents use a technique): members only."""

from __future__ import annotations

from django.db.models import Count

from ..charts import Chart, Row
from .base import link, links

TOP_TECHNIQUES = 20


def techniques(incidents, params):
    counts = (
        links(incidents, "techniques")
        .values_list("technique__attack_id", "technique__name")
        .annotate(n=Count("incident"))
        .order_by("-n", "technique__attack_id")[:TOP_TECHNIQUES]
    )
    rows = [
        Row(f"{attack_id} {name}", (n,), link(params, technique=attack_id), attack_id)
        for attack_id, name, n in counts
    ]
    return [
        Chart(
            "techniques",
            "Top ATT&CK techniques",
            f"Incidents in this selection using each ATT&CK technique, the {TOP_TECHNIQUES} most "
            "used (a sub-technique counts on its own; its link also finds the parent's "
            "other sub-techniques).",
            "Technique",
            ("Incidents",),
            tuple(rows),
        )
    ]


def tactics(incidents, params):
    counts = (
        links(incidents, "techniques")
        .exclude(technique__tactics=None)
        .values_list(
            "technique__tactics__shortname", "technique__tactics__name", "technique__tactics__order"
        )
        .annotate(n=Count("incident", distinct=True))
    )
    ordered = sorted(counts, key=lambda c: (c[2], c[1]))
    rows = [Row(name, (n,), link(params, tactic=short), short) for short, name, _, n in ordered]
    return [
        Chart(
            "tactics",
            "ATT&CK tactics",
            "Incidents in this selection using at least one technique of each tactic, in the "
            "order of the ATT&CK matrix.",
            "Tactic",
            ("Incidents",),
            tuple(rows),
        )
    ]


def attack_matrix(incidents, params):
    counts = (
        links(incidents, "techniques")
        .exclude(technique__tactics=None)
        .values_list(
            "technique__tactics__order",
            "technique__tactics__shortname",
            "technique__tactics__name",
            "technique__attack_id",
            "technique__name",
        )
        .annotate(n=Count("incident", distinct=True))
    )
    ordered = sorted(counts, key=lambda c: (c[0], c[2], -c[5], c[3]))
    rows = [
        Row(
            f"{attack_id} {name}",
            (n,),
            link(params, technique=attack_id),
            attack_id,
            group=tactic_name,
            group_key=shortname,
        )
        for _, shortname, tactic_name, attack_id, name, n in ordered
    ]
    return [
        Chart(
            "attack-matrix",
            "ATT&CK matrix",
            "Incidents in this selection using each ATT&CK technique, under each of its tactics "
            "(every tactic as a column, in the matrix's order, the next ones on the next row; "
            "a sub-technique counts on its own). "
            "Darker cells: more incidents.",
            "Technique",
            ("Incidents",),
            tuple(rows),
            layout="matrix",
        )
    ]
