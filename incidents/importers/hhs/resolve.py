"""Entity resolution: is an HHS case a victim and an event the catalogue already holds?

Pure (no database): the writer hands in what it read. The rules, with what they were
measured to do on the real files, are in docs/importers/hhs.md ("Merging").

- The victim: an organisation in the US whose name or any spelling has the case's
  organisation key (rules.organisation_key of every name the case goes by: "X d/b/a Y" is
  X and Y) in the case's state, or with no state when exactly one such organisation exists.
  Failing that, the most similar key in that state (rapidfuzz), only as evidence for staff.
- The event: an incident of that victim from another dataset whose date falls in the
  window (from two years before the submission to a month after it: a breach is filed
  after it happens, within 60 days of discovery under HIPAA, often much later) and whose
  records affected agree (equal, or within 10%).
- Merged only when the victim is the same by key and exactly one incident agrees on date
  and records (with an equal count, or with a close one and no other incident of the
  victim in the window); a pair that agrees on less (a similar name, counts that differ or are
  missing, several possible incidents) is a merge candidate for staff.
"""

from __future__ import annotations

import calendar
import datetime
from collections import defaultdict
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from ...rules import DatePrecision

WINDOW_BEFORE = datetime.timedelta(days=730)
WINDOW_AFTER = datetime.timedelta(days=31)
# Two names this alike (rapidfuzz ratio of their keys, 0-100) may be one victim.
SIMILAR_NAME = 88
RECORDS_TOLERANCE = 0.10


@dataclass(frozen=True)
class KnownOrganisation:
    pk: int
    name: str
    state: str


@dataclass(frozen=True)
class KnownIncident:
    """An incident from another dataset, as matching sees it."""

    pk: int
    organisation_id: int
    date: datetime.date
    precision: str
    records_affected: int | None


@dataclass
class Match:
    """What to do with a case: ``merge`` into ``incident``; or create it (on
    ``organisation`` when one was found) and ask staff about each of ``candidates``."""

    organisation: int | None = None
    merge: KnownIncident | None = None
    candidates: list[tuple[KnownIncident, float, dict]] = None
    evidence: dict = None

    def __post_init__(self):
        self.candidates = self.candidates or []
        self.evidence = self.evidence or {}


def period(date: datetime.date, precision: str) -> tuple[datetime.date, datetime.date]:
    """The first and last day a date of that precision may stand for."""
    if precision == DatePrecision.YEAR:
        return date.replace(month=1, day=1), date.replace(month=12, day=31)
    if precision == DatePrecision.MONTH:
        last = calendar.monthrange(date.year, date.month)[1]
        return date.replace(day=1), date.replace(day=last)
    return date, date


def days_apart(incident: KnownIncident, submitted: datetime.date) -> int | None:
    """Days from the incident (as far as its date is known) to the submission, when the
    incident's date falls in the window; None when it does not."""
    first, last = period(incident.date, incident.precision)
    if first > submitted + WINDOW_AFTER or last < submitted - WINDOW_BEFORE:
        return None
    if first <= submitted <= last:
        return 0
    return (submitted - last).days if last < submitted else (submitted - first).days


def records_agree(a: int | None, b: int | None) -> str:
    """ "equal", "close" (within 10%), "differ", or "unknown" (one is not known)."""
    if a is None or b is None:
        return "unknown"
    if a == b:
        return "equal"
    return "close" if abs(a - b) <= RECORDS_TOLERANCE * max(a, b) else "differ"


def score(similarity: float, days: int, records: str) -> float:
    """How alike two reports are, 0-100: the name half, the date a fifth, records the rest."""
    date_part = max(0.0, 1 - abs(days) / WINDOW_BEFORE.days)
    records_part = {"equal": 1.0, "close": 0.8, "unknown": 0.4, "differ": 0.0}[records]
    return round(similarity * 0.5 + 20 * date_part + 30 * records_part, 1)


class Resolver:
    """The catalogue's US organisations and their incidents from other datasets, indexed
    for matching; ``add_organisation`` keeps it current as the writer creates them."""

    def __init__(self, organisations, spellings, incidents, taken=()):
        """``organisations``: KnownOrganisation of US victims; ``spellings``: (organisation
        pk, key) pairs for every name and alias; ``incidents``: KnownIncident from other
        datasets; ``taken``: incidents that already hold a record of this dataset."""
        self.organisations = {o.pk: o for o in organisations}
        self.by_key: dict[str, set[int]] = defaultdict(set)
        for pk, key in spellings:
            if pk in self.organisations:
                self.by_key[key].add(pk)
        self.incidents: dict[int, list[KnownIncident]] = defaultdict(list)
        for incident in incidents:
            self.incidents[incident.organisation_id].append(incident)
        self.taken = set(taken)
        self._choices: dict[str, list[tuple[str, int]]] | None = None

    def add_organisation(self, organisation: KnownOrganisation, keys):
        self.organisations[organisation.pk] = organisation
        for key in keys:
            self.by_key[key].add(organisation.pk)
        if self._choices is not None:
            for key in keys:
                self._choices[organisation.state].append((key, organisation.pk))

    def organisation(self, keys, state: str) -> int | None:
        """The one organisation these keys name in ``state`` (or, with no state, the only
        one of that name), else None."""
        found = {pk for key in keys for pk in self.by_key.get(key, ())}
        same_state = sorted(pk for pk in found if self.organisations[pk].state == state)
        if same_state:
            return same_state[0]
        stateless = [pk for pk in found if not self.organisations[pk].state]
        return stateless[0] if len(stateless) == 1 else None

    def similar(self, keys, state: str) -> list[tuple[int, float]]:
        """Organisations in ``state`` (or with no state) with a name like one of ``keys``."""
        if self._choices is None:
            self._choices = defaultdict(list)
            for key, pks in self.by_key.items():
                for pk in pks:
                    self._choices[self.organisations[pk].state].append((key, pk))
        choices = self._choices.get(state, []) + (self._choices.get("", []) if state else [])
        best: dict[int, float] = {}
        names = [key for key, _ in choices]
        for key in keys:
            for _, similarity, i in process.extract(
                key, names, scorer=fuzz.ratio, score_cutoff=SIMILAR_NAME, limit=5
            ):
                pk = choices[i][1]
                best[pk] = max(best.get(pk, 0), similarity)
        return sorted(best.items(), key=lambda kv: (-kv[1], kv[0]))

    def match(self, keys, state: str, submitted, records, name: str) -> Match:
        """What to do with a case of victim ``name`` (its ``keys``) in ``state``."""
        case = (name, state)
        organisation = self.organisation(keys, state)
        if organisation is not None:
            agreeing, others = self._in_window(organisation, submitted, records)
            # One incident agrees: merged if its count is the case's, or if no other
            # incident of the victim falls in the window at all.
            if len(agreeing) == 1 and (agreeing[0][2] == "equal" or not others):
                incident, days, agreement = agreeing[0]
                self.taken.add(incident.pk)
                return Match(
                    organisation=organisation,
                    merge=incident,
                    evidence=self._evidence(incident, case, 100.0, days, agreement),
                )
            pairs = [(i, 100.0, d, a) for i, d, a in agreeing + others]
            return Match(organisation=organisation, candidates=self._candidates(pairs, case))
        pairs = []
        for pk, similarity in self.similar(keys, state):
            agreeing, _ = self._in_window(pk, submitted, records)
            pairs += [(i, similarity, d, a) for i, d, a in agreeing]
        return Match(candidates=self._candidates(pairs, case))

    def _in_window(self, organisation, submitted, records):
        agreeing, others = [], []
        for incident in self.incidents.get(organisation, ()):
            if incident.pk in self.taken:
                continue
            days = days_apart(incident, submitted)
            if days is None:
                continue
            agreement = records_agree(incident.records_affected, records)
            (agreeing if agreement in ("equal", "close") else others).append(
                (incident, days, agreement)
            )
        return agreeing, others

    def _candidates(self, pairs, case):
        found = []
        for incident, similarity, days, agreement in pairs:
            evidence = self._evidence(incident, case, similarity, days, agreement)
            found.append((incident, score(similarity, days, agreement), evidence))
        return sorted(found, key=lambda c: (-c[1], c[0].pk))

    def _evidence(self, incident, case, similarity, days, agreement) -> dict:
        """Each side's value (the catalogue's incident first, then the case) and the
        verdict on it, for the admin's side-by-side view."""
        organisation = self.organisations[incident.organisation_id]
        return {
            "victim": [organisation.name, case[0]],
            "state": [organisation.state, case[1]],
            "name_similarity": round(similarity, 1),
            "days_before_submission": days,
            "records": agreement,
        }
