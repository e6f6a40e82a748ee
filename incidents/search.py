"""Text search over incidents.

PostgreSQL: the trigger-maintained ``search_vector`` (victim and the spellings sources
used for it A, summary and incident types B, description C; migration 0028) queried
with web-search syntax ("quoted phrase", -exclusion, or), the last word also matched as
a prefix while typing, ranked with ts_rank, plus typo-tolerant victim names through
pg_trgm similarity.

SQLite (development): every plain word must appear, case-insensitively, in the
victim's name or a spelling of it, the summary, the description or the name of one of
the incident's types; "-word" excludes; quotes are
read as plain words. For queries of plain words it finds the same incidents
as PostgreSQL up to stemming ("breach" also finds "breaches" there).

Members' searches (``member=True``) also match threat actor names and aliases,
technique IDs and names, and motives, word by word on both databases: each plain
word must appear in the public text or in one of those. Nothing else calls this
with member=True: the view passes ``is_member(user)``.

Spellings of a victim's name that sources used (``OrganisationAlias``) and the incident
types (public: "ransomware" finds an incident typed ransomware whose text never says it)
match like the text, on both databases; on PostgreSQL victims named like the words also
match when the words found nothing (typos).

A query without a word (just quotes, "or", "-") matches nothing on both databases.
"""

from __future__ import annotations

import operator
import re
from functools import reduce

from django.contrib.postgres.search import SearchHeadline, SearchQuery, SearchRank
from django.db import connection
from django.db.models import Exists, F, OuterRef, Q, Value
from django.db.models.functions import Greatest, Replace

from .models import (
    Incident,
    IncidentType,
    Motive,
    Organisation,
    OrganisationAlias,
    Technique,
    ThreatActor,
)

MAX_QUERY_LENGTH = 200
# Relevance ranks the newest RANK_WINDOW matches: bounded work however common the words.
RANK_WINDOW = 500
MARK_START, MARK_END = "\x02", "\x03"  # ts_headline markers, escaped then turned into <mark>
LESS_THAN = "\x0e"  # stands in for "<" inside ts_headline


def clean_query(text: str) -> str:
    text = (text or "").replace("\x00", "")
    return " ".join(text.split())[:MAX_QUERY_LENGTH]


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def search(queryset, text: str, *, member: bool, fuzzy: bool = True):
    """Incidents matching ``text``, annotated with ``rank`` (higher is better). ``fuzzy``:
    on PostgreSQL, victims named like the words when no word matches (typos)."""
    text = clean_query(text)
    if not text:
        return queryset.annotate(rank=Value(0.0))
    if _plain_words(text) == ([], []):
        return queryset.none().annotate(rank=Value(0.0))
    if is_postgres():
        return _search_postgres(queryset, text, member=member, fuzzy=fuzzy)
    return _search_sqlite(queryset, text, member=member)


def _web_query(text: str) -> SearchQuery:
    query = SearchQuery(text, search_type="websearch", config="english")
    last = text.split()[-1]
    if re.fullmatch(r"[A-Za-z0-9]{2,}", last) and not text.endswith(('"', " ")):
        # "ransomw" while typing: also accept the last word as a prefix.
        prefix = SearchQuery(f"{last.lower()}:*", search_type="raw", config="english")
        head = " ".join(text.split()[:-1])
        typed = (
            prefix
            if not head
            else SearchQuery(head, search_type="websearch", config="english") & prefix
        )
        query = query | typed
    return query


def _search_postgres(queryset, text, *, member, fuzzy):
    query = _web_query(text)
    include, exclude = _plain_words(text)
    matches = Q(search_vector=query)
    if member and include:
        # Word by word, as on SQLite: one word may match the summary and the next a motive.
        words = (_public_word_postgres(w) | _member_matches(w) for w in include)
        matches |= reduce(operator.and_, words)
    found = queryset.filter(matches)
    if fuzzy and include and not found.exists():
        # Nothing matched the words: try victim names that look like them (typos),
        # using the wanted words only. A separate step keeps the word search on its
        # GIN index; OR-ing a join into it would scan every incident.
        # Spellings sources used ("Microsoft Corp", "11-Jul") count as the victim's name.
        wanted = " ".join(include)
        victims = Organisation.objects.filter(
            Q(name__trigram_similar=wanted)
            | Q(
                pk__in=OrganisationAlias.objects.filter(name__icontains=wanted).values(
                    "organisation"
                )
            )
        )
        found = queryset.filter(organisation__in=victims.values("pk"))
    queryset = found
    for word in exclude:
        queryset = queryset.exclude(
            search_vector=SearchQuery(word, search_type="plain", config="english")
        )
    return queryset.annotate(
        rank=Greatest(
            SearchRank(F("search_vector"), query),
            Value(0.0),
        )
    )


def _public_word_postgres(word: str) -> Q:
    return Q(search_vector=SearchQuery(word, search_type="plain", config="english"))


def _plain_words(text):
    include, exclude = [], []
    for token in text.replace('"', " ").split():
        if token.lower() == "or":
            continue
        target = exclude if token.startswith("-") and len(token) > 1 else include
        word = token.lstrip("-")
        if word:
            target.append(word)
    return include, exclude


def _search_sqlite(queryset, text, *, member):
    include, exclude = _plain_words(text)
    for word in include:
        found = _public_word(word)
        if member:
            found |= _member_matches(word)
        queryset = queryset.filter(found)
    for word in exclude:
        queryset = queryset.exclude(_public_word(word))
    return queryset.annotate(rank=Value(0.0))


def _public_word(word: str) -> Q:
    """SQLite: ``word`` starts a word of the victim's name or of a spelling sources used
    for it, the summary, the description or an incident type's name or slug (as
    PostgreSQL's word index, without its stemming)."""
    pattern = r"(?<!\w)" + re.escape(word)
    spelt = OrganisationAlias.objects.filter(
        organisation=OuterRef("organisation"), name__iregex=pattern
    )
    types = IncidentType.objects.filter(Q(name__iregex=pattern) | Q(slug__iregex=pattern))
    return (
        Q(organisation__name__iregex=pattern)
        | Q(Exists(spelt))
        | Q(summary__iregex=pattern)
        | Q(description__iregex=pattern)
        | Q(linked("types", incidenttype__in=types.values("pk")))
    )


def linked(relation: str, **lookups) -> Exists:
    """The outer incident has a ``relation`` link (types, motives, techniques,
    threat_actors) matching ``lookups``."""
    through = getattr(Incident, relation).through
    return Exists(through.objects.filter(incident=OuterRef("pk"), **lookups))


def _member_matches(term: str) -> Q:
    """Members only: incidents linked to actors, techniques or motives matching the word
    ``term``."""
    if not term:
        return Q(pk__in=[])
    actors = ThreatActor.objects.filter(Q(name__icontains=term) | Q(aliases__icontains=term))
    techniques = Technique.objects.filter(
        Q(attack_id__iexact=term) | Q(attack_id__istartswith=term + ".") | Q(name__icontains=term)
    )
    motives = Motive.objects.filter(Q(name__iexact=term) | Q(slug__iexact=term))
    return (
        Q(linked("threat_actors", threatactor__in=actors.values("pk")))
        | Q(linked("techniques", technique__in=techniques.values("pk")))
        | Q(linked("motives", motive__in=motives.values("pk")))
    )


def ranked(queryset):
    """Order by relevance among the newest RANK_WINDOW matches (then newest first)."""
    if not is_postgres():
        return queryset.order_by("-date", "-pk")
    window = queryset.order_by("-date", "-pk").values("pk")[:RANK_WINDOW]
    return queryset.filter(pk__in=window).order_by("-rank", "-date", "-pk")


def with_snippets(queryset, text: str):
    """Annotate ``snippet``: the summary with matches marked (PostgreSQL; else the summary)."""
    text = clean_query(text)
    if not text or not is_postgres():
        return queryset
    # ts_headline would read "<...>" in a summary as markup and drop it: hide "<" first.
    summary = Replace(F("summary"), Value("<"), Value(LESS_THAN))
    return queryset.annotate(
        snippet=SearchHeadline(
            summary,
            _web_query(text),
            config="english",
            start_sel=MARK_START,
            stop_sel=MARK_END,
            max_words=45,
            min_words=20,
            highlight_all=False,
        )
    )
