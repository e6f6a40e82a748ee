"""PostgreSQL full-text search in the finder, over small catalogues each test builds.

Search over the shared catalogue of test_finder.py is tested there; these tests need
incidents of their own (and no others) to tell phrases, ranks and snippets apart. What
they check depends on the audience only (tests.conftest.AUDIENCES): anonymous stands for
every non-member.
"""

import datetime
import re
from types import SimpleNamespace

import pytest
from django.db import connection
from django.utils import timezone

from incidents.models import Incident, Organisation
from tests.factories import IncidentFactory, OrganisationFactory
from tests.incidents.pages import RAW_SCRIPT_RE, fetch, postgres_only, slugs_on


def _org(name):
    return OrganisationFactory(name=name, country="DE")


@postgres_only
class TestPostgresSearch:
    @pytest.fixture
    def texts(self, db):
        return SimpleNamespace(
            adjacent=IncidentFactory(
                organisation=_org("Harbour Insurance"),
                summary="A data breach hit the insurer.",
                date=datetime.date(2021, 1, 1),
            ),
            apart=IncidentFactory(
                organisation=_org("Kestrel Systems"),
                summary="Data was copied after the breach of a firewall.",
                date=datetime.date(2022, 1, 1),
            ),
            ransomware=IncidentFactory(
                organisation=_org("Larch Foods"),
                summary="Larch Foods was hit by ransomware.",
                description="Files were encrypted.",
                date=datetime.date(2020, 1, 1),
            ),
        )

    def slugs(self, client, q, **params):
        response = fetch(client, {"q": q, **params})
        assert response.status_code == 200
        return set(slugs_on(response))

    def test_quoted_phrase_matches_only_adjacent_words(self, anonymous_client, texts):
        assert self.slugs(anonymous_client, '"data breach"') == {texts.adjacent.slug}
        assert self.slugs(anonymous_client, "data breach") == {
            texts.adjacent.slug,
            texts.apart.slug,
        }

    def test_minus_excludes(self, anonymous_client, texts):
        assert self.slugs(anonymous_client, "breach -firewall") == {texts.adjacent.slug}
        assert self.slugs(anonymous_client, "data -insurer -firewall") == set()

    def test_or(self, anonymous_client, texts):
        assert self.slugs(anonymous_client, "insurer or firewall") == {
            texts.adjacent.slug,
            texts.apart.slug,
        }
        assert self.slugs(anonymous_client, "insurer or zqxjvkw") == {texts.adjacent.slug}
        assert self.slugs(anonymous_client, "insurer firewall") == set()

    def test_last_word_is_a_prefix_while_typing(self, anonymous_client, texts):
        assert self.slugs(anonymous_client, "ransomw") == {texts.ransomware.slug}
        assert self.slugs(anonymous_client, "larch ransomw") == {texts.ransomware.slug}
        assert self.slugs(anonymous_client, "encrypted ransomw") == {texts.ransomware.slug}
        # Only the last word: a complete earlier word must still match as a word.
        assert self.slugs(anonymous_client, "ransomw files") == set()
        # A finished phrase is not a prefix.
        assert self.slugs(anonymous_client, '"ransomw"') == set()

    def test_prefix_matching_does_not_depend_on_the_servers_default_config(
        self, anonymous_client, texts
    ):
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL default_text_search_config = 'pg_catalog.simple'")
        assert self.slugs(anonymous_client, "encrypted ransomw") == {texts.ransomware.slug}

    def test_victim_name_ranks_above_description_only(self, anonymous_client, db):
        named = IncidentFactory(
            organisation=_org("Northwind Logistics"),
            summary="Customer portal outage.",
            date=datetime.date(2019, 1, 1),
        )
        mentioned = IncidentFactory(
            organisation=_org("Harbour Freight"),
            summary="Shipping delays.",
            description="Systems at the supplier Northwind were affected.",
            date=datetime.date(2023, 1, 1),
        )
        relevance = fetch(anonymous_client, {"q": "northwind"})
        assert slugs_on(relevance) == [named.slug, mentioned.slug]
        newest = fetch(anonymous_client, {"q": "northwind", "sort": "newest"})
        assert slugs_on(newest) == [mentioned.slug, named.slug]

    def test_summary_ranks_above_description(self, anonymous_client, db):
        in_summary = IncidentFactory(
            organisation=_org("Alder Works"),
            summary="Wiper malware destroyed disks.",
            date=datetime.date(2019, 1, 1),
        )
        in_description = IncidentFactory(
            organisation=_org("Birch Works"),
            summary="Outage.",
            description="A wiper was found later.",
            date=datetime.date(2023, 1, 1),
        )
        response = fetch(anonymous_client, {"q": "wiper"})
        assert slugs_on(response) == [
            in_summary.slug,
            in_description.slug,
        ]

    def test_snippets_highlight_matches_and_escape_the_rest(self, audience_viewer, db):
        kind, client, member = audience_viewer
        IncidentFactory(
            organisation=_org("Spruce Media"),
            summary='Attackers left <script>alert("x")</script> & a ransomware note.',
        )
        response = fetch(client, {"q": "ransomware"})
        html = response.content.decode()
        assert "<mark>ransomware</mark> note." in html
        assert "&amp; a <mark>" in html
        assert not RAW_SCRIPT_RE.search(html)
        summaries = "".join(re.findall(r'<p class="row-summary">(.*?)</p>', html, re.S))
        assert "<mark>ransomware</mark>" in summaries
        assert "<script" not in summaries and "</script>" not in summaries
        assert set(re.findall(r"</?(\w+)", summaries)) == {"mark"}

    def test_snippet_keeps_angle_bracket_text_escaped(self, anonymous_client, db):
        IncidentFactory(
            organisation=_org("Spruce Media"),
            summary='Attackers left <script>alert("x")</script> & a ransomware note.',
        )
        html = fetch(anonymous_client, {"q": "ransomware"}).content.decode()
        assert "<mark>ransomware</mark>" in html
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html

    def test_snippet_only_with_a_query(self, anonymous_client, texts):
        html = fetch(anonymous_client).content.decode()
        assert "<mark>" not in html

    def test_vector_is_current_after_save(self, anonymous_client, db):
        incident = IncidentFactory(organisation=_org("Cedar Labs"), summary="Quokka sighting.")
        assert self.slugs(anonymous_client, "quokka") == {incident.slug}
        incident.summary = "Wombat sighting."
        incident.save()
        assert self.slugs(anonymous_client, "quokka") == set()
        assert self.slugs(anonymous_client, "wombat") == {incident.slug}
        incident.description = "Numbat tracks."
        incident.save(update_fields=["description"])
        assert self.slugs(anonymous_client, "numbat") == {incident.slug}
        Incident.objects.filter(pk=incident.pk).update(summary="Bilby burrow.")
        assert self.slugs(anonymous_client, "bilby") == {incident.slug}
        assert self.slugs(anonymous_client, "wombat") == set()
        incident.organisation = _org("Dingo Freight")
        incident.save()
        assert self.slugs(anonymous_client, "dingo") == {incident.slug}

    def test_vector_is_current_after_bulk_create_and_bulk_update(self, anonymous_client, db):
        org = _org("Elm Logistics")
        now = timezone.now()
        created = Incident.objects.bulk_create(
            [
                Incident(
                    organisation=org,
                    slug=f"bulk-{i}",
                    date=datetime.date(2020, 1, i + 1),
                    summary=f"Platypus {word} report.",
                    status=Incident.Status.PUBLISHED,
                    published_at=now,
                )
                for i, word in enumerate(["alpha", "beta"])
            ]
        )
        assert self.slugs(anonymous_client, "platypus") == {"bulk-0", "bulk-1"}
        assert self.slugs(anonymous_client, "platypus beta") == {"bulk-1"}
        assert self.slugs(anonymous_client, "elm logistics") == {"bulk-0", "bulk-1"}
        created[0].summary = "Echidna report."
        Incident.objects.bulk_update([created[0]], ["summary"])
        assert self.slugs(anonymous_client, "echidna") == {"bulk-0"}
        assert self.slugs(anonymous_client, "platypus") == {"bulk-1"}

    def test_vector_is_current_after_the_victim_is_renamed(self, anonymous_client, db):
        org = _org("Oldname Widgets")
        incidents = {IncidentFactory(organisation=org).slug for _ in range(2)}
        org.name = "Zephyr Dynamics"
        org.save()
        assert self.slugs(anonymous_client, "zephyr") == incidents
        assert self.slugs(anonymous_client, "oldname") == set()
        Organisation.objects.filter(pk=org.pk).update(name="Quasar Tooling")
        assert self.slugs(anonymous_client, "quasar") == incidents
        assert self.slugs(anonymous_client, "zephyr") == set()
