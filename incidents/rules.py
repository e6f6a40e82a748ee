"""The catalogue's own rules, below the models: every writer and every model save applies
them, and this module imports no other module of ``incidents`` (tests/test_layering.py).

- Text: ``clean_text``, ``clean_text_fields``: control characters never reach the database.
- Dates as far as they are known: ``DatePrecision``, ``incident_date_iso``,
  ``format_incident_date``, ``slug_date``; the period a date stands for (``period``).
- The timeline (occurred, discovered, disclosed): ``timeline_problems`` (what is
  impossible about it), ``catalogue_date`` (the one date lists show), ``disclosure_lag``,
  ``prepare_timeline`` (every writer: the dates at their period's first day, the catalogue
  date and the lag).
- Victim identity: ``organisation_key`` (what importers match victims by, with the country).
- Taxonomy: ``SECTORS``, ``MOTIVES``, ``ACTOR_TYPES``, ``INCIDENT_TYPES``, the terms importers
  map to.
- Slugs: ``SlugAllocator`` (a set of taken slugs, one query up front) and ``unique_slug``.
  Drafts get slugs from their own space (``draft-<random>``); an incident's public slug is
  allocated when it is first published and kept from then on, so a draft never shapes a
  public slug (a public "-2" would tell a visitor a hidden incident exists).
- Publication: ``prepare_incident`` for a model save (``incident_slug`` for bulk writers
  too), ``publication_values`` for bulk writers. ``published_at`` is set once.

Models are reached through the objects and classes passed in, never imported.
"""

from __future__ import annotations

import calendar
import datetime
import functools
import re
import secrets
import unicodedata
from collections.abc import Iterable

from django.db import models
from django.utils import timezone
from django.utils.text import slugify

# Text

# C0 and C1 control characters, DEL included; tab, line feed and carriage return are text.
CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def clean_text(value):
    """``value`` without control characters (U+000B from word processors, NUL, ...)."""
    if isinstance(value, str):
        return CONTROL_CHARACTERS.sub("", value)
    if isinstance(value, list):
        return [clean_text(item) for item in value]
    return value


def clean_text_fields(instance) -> None:
    """Remove control characters from every text field of a model instance."""
    for field in instance._meta.concrete_fields:
        if isinstance(field, models.CharField | models.TextField | models.JSONField):
            value = getattr(instance, field.attname)
            if isinstance(value, str | list):
                cleaned = clean_text(value)
                if cleaned != value:
                    setattr(instance, field.attname, cleaned)


# Dates as far as they are known


class DatePrecision(models.TextChoices):
    YEAR = "year", "Year"
    MONTH = "month", "Month"
    DAY = "day", "Day"


def slug_date(value, precision):
    """The date part of an incident slug: "2014" for a year, else "2020-11"."""
    monthly = DatePrecision.YEAR if precision == DatePrecision.YEAR else DatePrecision.MONTH
    return incident_date_iso(value, monthly)


def incident_date_iso(value, precision):
    """The date as far as it is known, in ISO 8601: "2020", "2020-11" or "2020-11-20"."""
    if value is None:
        return ""
    if precision == DatePrecision.YEAR:
        return f"{value:%Y}"
    if precision == DatePrecision.MONTH:
        return f"{value:%Y-%m}"
    return value.isoformat()


def format_incident_date(value, precision):
    """ "2020", "Nov 2020" or "20 Nov 2020", as far as the date is known."""
    if value is None:
        return "Date unknown"
    if precision == DatePrecision.YEAR:
        return f"{value:%Y}"
    if precision == DatePrecision.MONTH:
        return f"{value:%b %Y}"
    return f"{value.day} {value:%b %Y}"


def period(value, precision) -> tuple[datetime.date, datetime.date]:
    """The first and last day of the period a date stands for: its day, month or year."""
    if precision == DatePrecision.YEAR:
        return datetime.date(value.year, 1, 1), datetime.date(value.year, 12, 31)
    if precision == DatePrecision.MONTH:
        last = calendar.monthrange(value.year, value.month)[1]
        return value.replace(day=1), value.replace(day=last)
    return value, value


def date_in_period(value, precision):
    """How a date of ``precision`` is stored: the first day of its period, never a guessed day."""
    return None if value is None else period(value, precision)[0]


# The timeline: when an incident occurred (from, and until when known), was discovered and
# was disclosed (first public report or regulator filing). Public. Each date has its own
# precision; ``Incident.<name>_on`` and ``<name>_precision`` hold them.

TIMELINE_DATES = {
    "occurred": "Occurred",
    "occurred_end": "Occurred until",
    "discovered": "Discovered",
    "disclosed": "Disclosed",
}
# (a date, the date it cannot be before): compared as periods, so "Nov 2020" is not
# before "20 Nov 2020".
TIMELINE_ORDER = (
    ("occurred_end", "occurred"),
    ("discovered", "occurred"),
    ("disclosed", "occurred"),
)


def timeline_of(incident) -> dict[str, tuple[datetime.date | None, str]]:
    """name -> (date or None, precision) of each timeline date of an incident."""
    return {
        name: (getattr(incident, f"{name}_on"), getattr(incident, f"{name}_precision"))
        for name in TIMELINE_DATES
    }


def timeline_problems(dates, today) -> dict[str, str]:
    """What is impossible about a timeline (``timeline_of``): name -> why. A date whose
    whole period is after ``today`` is in the future; a date whose period ends before the
    period of the date it follows is out of order."""
    problems = {}
    for name, (value, precision) in dates.items():
        if value is not None and period(value, precision)[0] > today:
            problems[name] = (
                f"{TIMELINE_DATES[name]} date {format_incident_date(value, precision)} is in "
                "the future."
            )
    for name, earlier in TIMELINE_ORDER:
        (value, precision), (before, before_precision) = dates[name], dates[earlier]
        if value is None or before is None or name in problems:
            continue
        if period(value, precision)[1] < period(before, before_precision)[0]:
            problems[name] = (
                f"{TIMELINE_DATES[name]} ({format_incident_date(value, precision)}) cannot be "
                f"before {TIMELINE_DATES[earlier].lower()} "
                f"({format_incident_date(before, before_precision)})."
            )
    return problems


def catalogue_date(dates) -> tuple[datetime.date, str] | None:
    """The one date lists show and sort by: when it occurred, else when it was disclosed
    (the earliest of the two, since a disclosure is never before the occurrence); None
    when the timeline has neither (the date is then the one a writer gave)."""
    for name in ("occurred", "disclosed"):
        value, precision = dates[name]
        if value is not None:
            return date_in_period(value, precision), precision
    return None


def disclosure_lag(dates) -> int | None:
    """Days from occurred (or, when that is not known to the day, discovered) to disclosed,
    where both are known to the day; None otherwise, and for an impossible order."""
    disclosed, precision = dates["disclosed"]
    if disclosed is None or precision != DatePrecision.DAY:
        return None
    for name in ("occurred", "discovered"):
        value, precision = dates[name]
        if value is not None and precision == DatePrecision.DAY:
            days = (disclosed - value).days
            return days if days >= 0 else None
    return None


def prepare_timeline(incident) -> None:
    """Before an incident is written (a save, or a bulk writer per row): each timeline
    date at its period's first day, the catalogue date from the timeline where it has one
    (``catalogue_date``), and the disclosure lag."""
    for name in TIMELINE_DATES:
        value, precision = getattr(incident, f"{name}_on"), getattr(incident, f"{name}_precision")
        setattr(incident, f"{name}_on", date_in_period(value, precision))
    dates = timeline_of(incident)
    derived = catalogue_date(dates)
    if derived is not None:
        incident.date, incident.date_precision = derived
    elif incident.date is not None:
        incident.date = date_in_period(incident.date, incident.date_precision)
    incident.disclosure_lag_days = disclosure_lag(dates)


# Organisation identity

# Legal forms that do not tell two victims apart ("Microsoft Corp" is "Microsoft"); the
# US professional forms the HHS portal's names carry ("P.C.", "PLLC", "P.A.") among them.
LEGAL_SUFFIXES = {
    "inc", "incorporated", "corp", "corporation", "co", "company", "ltd", "limited", "llc",
    "llp", "lp", "plc", "gmbh", "ag", "sa", "nv", "bv", "pty", "pte", "srl", "spa", "ab", "oy",
    "kk", "pc", "pllc", "pa", "psc", "lllp",
}  # fmt: skip
# Letters with dots, "L.L.C." or "P.C.": one word, so the legal form is recognised.
DOTTED_ABBREVIATION = re.compile(r"\b(?:[^\W\d_]\.){2,}")
# "Legal name d/b/a Trade name", "X a/k/a Y", "X f/k/a Y" (formerly known as).
TRADE_NAME = re.compile(
    r"\s+\(?(d\s*/\s*b\s*/\s*a|dba|a\s*/\s*k\s*/\s*a|f\s*/\s*k\s*/\s*a)\.?\s+", re.I
)
# A trailing definition of a short name: ' (“CVS”)', ' ("the Practice")'.
SHORT_NAME = re.compile(r"\s*\(\s*[\"“”'‘’][^()]*\)\s*$")


@functools.lru_cache(maxsize=65536)
def organisation_key(name: str) -> str:
    """The normalised name organisations are matched by, with their country: case, accents,
    punctuation, spacing, a leading "The" and trailing legal forms ignored, so "Microsoft
    Corp.", "microsoft" and "MICROSOFT Corporation" share one key."""
    text = unicodedata.normalize("NFKD", name or "")
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    text = DOTTED_ABBREVIATION.sub(lambda m: m.group(0).replace(".", ""), text)
    words = re.sub(r"[\W_]+", " ", text.replace("&", " and ")).split()
    if words[:1] == ["the"] and len(words) > 1:
        words = words[1:]
    while len(words) > 1 and words[-1] in LEGAL_SUFFIXES:
        words.pop()
    return "".join(words)[:200] or text.strip()[:200]


US_STATE_NAMES = {
    "alabama": "AL", "alaska": "AK", "arizona": "AZ", "arkansas": "AR", "california": "CA",
    "colorado": "CO", "connecticut": "CT", "delaware": "DE", "district of columbia": "DC",
    "florida": "FL", "georgia": "GA", "hawaii": "HI", "idaho": "ID", "illinois": "IL",
    "indiana": "IN", "iowa": "IA", "kansas": "KS", "kentucky": "KY", "louisiana": "LA",
    "maine": "ME", "maryland": "MD", "massachusetts": "MA", "michigan": "MI",
    "minnesota": "MN", "mississippi": "MS", "missouri": "MO", "montana": "MT",
    "nebraska": "NE", "nevada": "NV", "new hampshire": "NH", "new jersey": "NJ",
    "new mexico": "NM", "new york": "NY", "north carolina": "NC", "north dakota": "ND",
    "ohio": "OH", "oklahoma": "OK", "oregon": "OR", "pennsylvania": "PA",
    "puerto rico": "PR", "rhode island": "RI", "south carolina": "SC", "south dakota": "SD",
    "tennessee": "TN", "texas": "TX", "utah": "UT", "vermont": "VT", "virginia": "VA",
    "washington": "WA", "west virginia": "WV", "wisconsin": "WI", "wyoming": "WY",
}  # fmt: skip
# An ISO 3166-2 subdivision code: "US-CA", "CA-ON".
SUBDIVISION = re.compile(r"([A-Z]{2})-([A-Z0-9]{1,3})")


def region_code(value, country: str = "") -> str:
    """A victim's state or province as organisations keep it: "US-CA" and "California"
    are "CA" in the US; "CA-ON" is "ON"; anything else as given, tidied."""
    text = " ".join(str(value or "").split())[:20]
    match = SUBDIVISION.fullmatch(text.upper())
    if match and (not country or match.group(1) == country):
        return match.group(2)
    if country in ("", "US") and text.lower() in US_STATE_NAMES:
        return US_STATE_NAMES[text.lower()]
    return text.upper() if len(text) <= 3 else text


def victim_names(name: str) -> tuple[str, tuple[str, ...]]:
    """(the name to show, every name the victim goes by) for a name as a source gives it:
    "MHNU Corporation d/b/a Medical Home Network" is shown as "Medical Home Network" and
    matched by both names; "X f/k/a Y" is shown as X (its name now) and matched by both; a
    trailing short-name definition (' (“CVS”)') is left out of the shown name."""
    name = " ".join((name or "").split())
    shown = SHORT_NAME.sub("", name).strip(" ,;") or name
    parts = TRADE_NAME.split(shown)
    if len(parts) < 3:
        return shown, tuple(dict.fromkeys(n for n in (shown, name) if n))
    legal, kind, rest = parts[0], parts[1], parts[2:]
    others = [p.strip(" ,;()") for i, p in enumerate(rest) if i % 2 == 0]
    trade = others[0] if others and others[0] else legal
    is_dba = kind.replace(" ", "").replace("/", "").lower() == "dba"
    shown = trade if is_dba else legal.strip(" ,;")
    names = (shown, legal.strip(" ,;"), *others, name)
    return shown, tuple(dict.fromkeys(n for n in names if n))


# Taxonomy: the sectors, motives and actor types writers map to (services.ensure_taxonomy)

SECTORS = {
    "agriculture": "Agriculture and food",
    "construction": "Construction",
    "defence": "Defence",
    "education": "Education and research",
    "energy": "Energy and utilities",
    "finance": "Finance and insurance",
    "government": "Government and public administration",
    "healthcare": "Healthcare",
    "hospitality": "Hospitality and leisure",
    "manufacturing": "Manufacturing",
    "media": "Media and entertainment",
    "non-profit": "Non-profit and civil society",
    "other-services": "Other services",
    "professional-services": "Professional services",
    "real-estate": "Real estate",
    "retail": "Retail",
    "technology": "Technology",
    "telecommunications": "Telecommunications",
    "transportation": "Transportation and logistics",
}
# VERIS actor motives.
MOTIVES = {
    slug: slug.capitalize()
    for slug in (
        "financial",
        "espionage",
        "ideology",
        "grudge",
        "fun",
        "convenience",
        "fear",
        "secondary",
        "other",
    )
}
ACTOR_TYPES = {
    "nation-state": ("Nation-state", ""),
    "criminal-group": ("Criminal group", ""),
    "hacktivist": ("Hacktivist", ""),
    "terrorist": ("Terrorist", "Actors using attacks to intimidate or coerce for political ends."),
    "competitor": ("Competitor", ""),
    "lone-actor": ("Lone actor", ""),
    "insider": ("Insider", ""),
    "partner": ("Partner", "A supplier, contractor or other third party with legitimate access."),
    "unknown": ("Unknown", ""),
}
# The actor type that says no type is known: an actor of this type has no type to show.
UNKNOWN_ACTOR_TYPE = "unknown"
# The kinds of attack an incident is classified by (public, DESIGN.md), in display order:
# slug -> (name, description). Peers' taxonomies (Hackmageddon, EuRepoC) use these; the
# VERIS importer maps records to them (importers/veris/types.py, docs/importers/veris.md).
INCIDENT_TYPES = {
    "ransomware": (
        "Ransomware",
        "Malware that encrypts or steals the victim's data and a demand for payment to "
        "restore or not publish it.",
    ),
    "data-breach": (
        "Data breach",
        "Data confirmed as disclosed to someone not entitled to it: stolen, leaked or exposed.",
    ),
    "ddos": (
        "Denial of service (DDoS)",
        "A service made unavailable by flooding it with traffic or requests.",
    ),
    "wiper": (
        "Wiper or destructive attack",
        "Data or systems deliberately destroyed or made unusable, without a way back.",
    ),
    "espionage": (
        "Espionage",
        "Intrusion to gather secrets: state, political, military or commercial intelligence.",
    ),
    "defacement": (
        "Defacement",
        "A website or public account altered to show the attacker's message.",
    ),
    "bec": (
        "Business email compromise (BEC)",
        "Email from a compromised or impersonated account used to divert payments or data.",
    ),
    "supply-chain": (
        "Supply chain",
        "An attack that reached its victims through a supplier's software, service or access.",
    ),
    "insider-misuse": (
        "Insider misuse",
        "Staff or partners abusing the access they were trusted with.",
    ),
    "error": (
        "Error or misconfiguration",
        "An accident: data sent to the wrong people, published by mistake or left exposed by a "
        "misconfigured system.",
    ),
}


# Slugs

DRAFT_SLUG = re.compile(r"draft-[0-9a-f]{12}\Z")


def slug_base(text: str, max_length: int = 80) -> str:
    return slugify(text)[:max_length].strip("-") or "item"


class SlugAllocator:
    """Unique slugs ("acme", "acme-2", ...) against a set of taken ones, for writers of many
    rows: the taken slugs are read once, and each slug handed out is taken at once."""

    def __init__(self, taken: Iterable[str] = (), *, max_length: int = 80):
        self.taken = set(taken)
        self.max_length = max_length

    @classmethod
    def for_model(cls, model, *, max_length: int = 80):
        return cls(model._default_manager.values_list("slug", flat=True), max_length=max_length)

    def allocate(self, text: str) -> str:
        base = slug_base(text, self.max_length)
        slug, n = base, 2
        while slug in self.taken:
            slug = f"{base[: self.max_length - len(str(n)) - 1]}-{n}"
            n += 1
        self.taken.add(slug)
        return slug


def unique_slug(model, text: str, *, max_length: int = 80, exclude_pk=None) -> str:
    """A slug for ``text`` not yet used by ``model`` (one query: the slugs it could clash with)."""
    existing = model._default_manager.filter(slug__startswith=slug_base(text, max_length))
    if exclude_pk is not None:
        existing = existing.exclude(pk=exclude_pk)
    allocator = SlugAllocator(existing.values_list("slug", flat=True), max_length=max_length)
    return allocator.allocate(text)


def draft_slug() -> str:
    """A slug from the drafts' own space: it says nothing and no public slug depends on it."""
    return f"draft-{secrets.token_hex(6)}"


def is_draft_slug(slug: str) -> bool:
    return bool(DRAFT_SLUG.match(slug or ""))


INCIDENT_SLUG_LENGTH = 100


def incident_slug_text(date, precision, victim_name: str) -> str:
    """What an incident's public slug is made from: "2020-11 Acme" becomes "2020-11-acme"."""
    return f"{slug_date(date, precision)} {victim_name}"


# Publication


def publication_values(published: bool, now, published_at=None) -> tuple[str, object]:
    """(status, published_at) for a row written in bulk; ``published_at`` is kept once set."""
    if published:
        return "published", published_at or now
    return "draft", published_at


def incident_slug(slug: str, *, published: bool, public_slug) -> str:
    """The slug an incident is written with, by every writer.

    A draft without a slug gets one from the drafts' space; an incident being published
    with no slug or a draft-space slug gets ``public_slug()``, its public slug, chosen
    among the other public-space slugs only. A slug staff typed is kept, and so is a
    public slug once allocated (also after unpublishing: it was public already).
    """
    if published and (not slug or is_draft_slug(slug)):
        return public_slug()
    return slug or draft_slug()


def prepare_incident(incident) -> None:
    """Before an incident is saved: its slug (``incident_slug``) and publication timestamp."""
    published = incident.status == incident.Status.PUBLISHED
    incident.slug = incident_slug(
        incident.slug,
        published=published,
        public_slug=lambda: unique_slug(
            type(incident),
            incident_slug_text(incident.date, incident.date_precision, incident.organisation_name),
            max_length=INCIDENT_SLUG_LENGTH,
            exclude_pk=incident.pk,
        ),
    )
    if published and incident.published_at is None:
        incident.published_at = timezone.now()
