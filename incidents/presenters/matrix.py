"""Techniques laid out on the ATT&CK Enterprise matrix (an incident's, a threat actor's): for
members only, like the techniques themselves."""

from __future__ import annotations

from dataclasses import dataclass


def derived_text(derived: bool, derived_from) -> str:
    """ "derived from VERIS: action.malware.variety.Ransomware" for a derived technique."""
    if not derived:
        return ""
    return "derived from VERIS" + (": " + ", ".join(derived_from) if derived_from else "")


@dataclass(frozen=True)
class MatrixCell:
    """A technique in a tactic's column, with the sub-techniques used under it. A parent
    that is not itself used (only a sub-technique is) has ``used`` False."""

    attack_id: str
    name: str
    url: str
    used: bool
    subtechniques: tuple[MatrixCell, ...] = ()
    # An incident's matrix only: what the technique was derived from VERIS from, as the
    # technique list says it ("derived from VERIS: ..."); empty when reported (or unused).
    derived_text: str = ""


@dataclass(frozen=True)
class MatrixColumn:
    tactic: str
    shortname: str
    cells: tuple[MatrixCell, ...]


def technique_matrix(techniques, *, derived=None) -> tuple[MatrixColumn, ...]:
    """``techniques`` laid out on the Enterprise matrix: a column per tactic that has any (in
    the matrix's order), sub-techniques under their parent. Rows need ``parent`` selected
    and ``tactics`` prefetched; a technique with no tactic has no place on the matrix.
    ``derived``: technique pk -> what a derived technique's cell says (an incident's)."""
    derived = derived or {}
    columns: dict[int, tuple] = {}  # tactic pk -> (tactic, {parent attack id: [cell, subs]})
    for t in techniques:
        for tactic in t.tactics.all():
            _, cells = columns.setdefault(tactic.pk, (tactic, {}))
            parent = t.parent if t.parent_id else t
            cell = cells.setdefault(parent.attack_id, [parent, set(), False])
            if t.parent_id:
                cell[1].add(t)
            else:
                cell[2] = True
    return tuple(
        MatrixColumn(
            tactic.name,
            tactic.shortname,
            tuple(
                MatrixCell(
                    parent.attack_id,
                    parent.name,
                    parent.url,
                    used,
                    tuple(
                        MatrixCell(
                            sub.attack_id,
                            sub.name,
                            sub.url,
                            True,
                            derived_text=derived.get(sub.pk, ""),
                        )
                        for sub in sorted(subs, key=lambda sub: sub.attack_id)
                    ),
                    derived_text=derived.get(parent.pk, "") if used else "",
                )
                for _, (parent, subs, used) in sorted(cells.items())
            ),
        )
        for tactic, cells in sorted(columns.values(), key=lambda c: (c[0].order, c[0].name))
    )
