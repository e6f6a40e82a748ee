"""Which organisation a VERIS record's victim is: its name's key (rules.organisation_key),
its country and its state. Same-named victims in two states are two victims ("Methodist
Hospital" in TX, KY and TN); a record that leaves the state or the country out joins the
one victim of that name it can only mean, and stays apart when it could mean several."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from ... import rules


def resolve_victims(records, known: Iterable[tuple[str, str, str]] = ()) -> None:
    """Settle each record's ``org_country`` and ``org_state`` against the others in the
    batch and the organisations already in the catalogue (``known``: their (key, country,
    state)):

    - with a country and no state: the one state that name has in that country, if
      exactly one (Microsoft's records without a state join Microsoft, WA);
    - with no country ("Unknown"): the one organisation that name has anywhere, if exactly
      one (Microsoft's two "Unknown" records join the US one);
    - otherwise as given: a name with several states or countries stays apart by them.
    Placeholder victims ("Unidentified organisation (Canada)") are left as they are.
    """
    identities: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for key, country, state in known:
        if country:
            identities[key].add((country, state))
    for p in records:
        if p.org_country and not p.is_placeholder_victim:
            identities[rules.organisation_key(p.victim)].add((p.org_country, p.org_state))

    def settle(key, country, state):
        if state:
            return country, state
        states = {s for c, s in identities[key] if c == country and s}
        return (country, states.pop()) if len(states) == 1 else (country, "")

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
