"""Which organisation a VERIS record's victim is: its name's key (rules.organisation_key),
its country and its state. Same-named victims each in a state of its own are several
victims ("Methodist Hospital" in TX, KY and TN); a name that also appears without a state
in that country is one national organisation whose records name an office's state
(Microsoft in CA and WA, the Department of Veterans Affairs); a record with an Unknown
country joins the one organisation of that name when exactly one exists."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from ... import rules


def resolve_victims(records, known: Iterable[tuple[str, str, str]] = ()) -> None:
    """Settle each record's ``org_country`` and ``org_state`` against the others in the
    batch and the organisations already in the catalogue (``known``: their (key, country,
    state)), so a re-import settles them the same way:

    - a name with records (or an organisation) both with and without a state in one
      country is one organisation there, its state left empty;
    - otherwise the state tells victims apart;
    - a record with no country ("Unknown") joins the one organisation its name has, if
      exactly one; otherwise it stays apart.
    Placeholder victims ("Unidentified organisation (Canada)") are never split by state.
    """
    identities: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for key, country, state in known:
        if country:
            identities[key].add((country, state))
    for p in records:
        if p.is_placeholder_victim:
            p.org_state = ""
        elif p.org_country:
            identities[rules.organisation_key(p.victim)].add((p.org_country, p.org_state))
    national = {
        (key, country)
        for key, found in identities.items()
        for country in {c for c, _ in found}
        if (country, "") in found and any(c == country and s for c, s in found)
    }

    def settle(key, country, state):
        return (country, "") if (key, country) in national else (country, state)

    for p in records:
        if p.is_placeholder_victim:
            continue
        key = rules.organisation_key(p.victim)
        if p.org_country:
            p.org_country, p.org_state = settle(key, p.org_country, p.org_state)
            continue
        resolved = {settle(key, country, state) for country, state in identities[key]}
        if len(resolved) == 1:
            p.org_country, p.org_state = resolved.pop()
