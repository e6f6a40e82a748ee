"""MITRE ATT&CK Navigator layers (layer format 4.5): the statistics' matrix of a filtered set,
one incident's techniques, and one threat actor's.

Only members get a layer (each caller checks accounts.access first): every layer scores
techniques by gated links (an incident's techniques, an actor's).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..models import ATTACK_DATASET, Dataset
from . import charts

LAYER_VERSIONS = {"layer": "4.5", "navigator": "5.1.0"}


@dataclass(frozen=True)
class Scored:
    """One technique under one tactic, as a layer holds it."""

    technique_id: str  # T1566 or T1566.001
    tactic: str  # the tactic's shortname, e.g. initial-access
    score: int
    comment: str


def attack_version() -> str:
    """The major ATT&CK release last imported ("18" for 18.1), "" when none was."""
    release = (
        Dataset.objects.filter(slug=ATTACK_DATASET).values_list("version", flat=True).first() or ""
    )
    major = release.split(".")[0]
    return major if major.isdigit() else ""


def layer(
    name: str,
    description: str,
    scored: list[Scored],
    legend: list[tuple[str, str]],
    *,
    version: str = "",
) -> dict:
    """A layer of ``scored`` techniques; ``legend`` is (label, colour) per item."""
    top = max((s.score for s in scored), default=0)
    versions = dict(LAYER_VERSIONS)
    if version:
        versions["attack"] = version
    return {
        "name": name,
        "versions": versions,
        "domain": "enterprise-attack",
        "description": description,
        "sorting": 3,
        "hideDisabled": False,
        "techniques": [
            {
                "techniqueID": s.technique_id,
                "tactic": s.tactic,
                "score": s.score,
                "comment": s.comment,
                "enabled": True,
                "showSubtechniques": True,
            }
            for s in scored
        ],
        "gradient": {
            "colors": [charts.HEAT_COLOURS[0], charts.HEAT_COLOURS[-1]],
            "minValue": 0,
            "maxValue": max(top, 1),
        },
        "legendItems": [{"label": label, "color": colour} for label, colour in legend],
        "showTacticRowBackground": False,
        "selectTechniquesAcrossTactics": True,
        "selectSubtechniquesWithParent": False,
    }


def _incidents(n: int) -> str:
    return f"{n} incident{'' if n == 1 else 's'}"


def statistics_layer(chart, params, *, version="") -> dict:
    """Each technique (per tactic) scored by how many of the selected incidents use it."""
    top = max((row.values[0] for row in chart.rows), default=0)
    selection = ", ".join(f"{k}={v}" for k, v in params.items()) or "all incidents"
    return layer(
        "Cyber Incident Portal: techniques of " + selection,
        "How many published incidents of the Cyber Incident Portal use each technique, "
        f"for {selection}.",
        [
            Scored(row.key, row.group_key, row.values[0], _incidents(row.values[0]))
            for row in chart.rows
        ],
        [
            (f"{text} incident{'' if text == '1' else 's'}", charts.HEAT_COLOURS[level - 1])
            for level, text in charts.heat_legend(top)
        ],
        version=version,
    )


def used_layer(
    name: str, description: str, techniques, comment: str, *, version="", comments=None
) -> dict:
    """Techniques used by one incident or one actor, each scored 1 under each of its tactics.

    ``techniques``: Technique rows with their tactics prefetched. ``comments``: ATT&CK ID ->
    the comment of that technique instead of ``comment`` (an incident's derived techniques:
    "Used in this incident, derived from VERIS: action.malware.variety.Ransomware").
    """
    comments = comments or {}
    scored = [
        Scored(t.attack_id, tactic.shortname, 1, comments.get(t.attack_id, comment))
        for t in sorted(techniques, key=lambda t: t.attack_id)
        for tactic in sorted(t.tactics.all(), key=lambda tactic: tactic.order)
    ]
    return layer(name, description, scored, [(comment, charts.HEAT_COLOURS[-1])], version=version)
