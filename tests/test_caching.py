"""Pages that depend on who is looking are never stored by shared caches."""

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from tests.conftest import VERSIONS_READ
from tests.factories import IncidentFactory, ThreatActorFactory
from tests.locking import free_here, held_elsewhere


@pytest.fixture
def pages(db):
    actor = ThreatActorFactory()
    incident = IncidentFactory(threat_actors=[actor])
    return [
        reverse("home"),
        reverse("incidents:incident_list"),
        incident.get_absolute_url(),
        incident.organisation.get_absolute_url(),
        reverse("incidents:actor_list"),
        actor.get_absolute_url(),
        reverse("accounts:membership"),
        reverse("incidents:incident_feed"),
        reverse("sitemap_index"),
        "/no-such-page/",
    ]


def test_every_page_is_private_and_varies_on_cookie(viewer, pages):
    kind, client, member = viewer
    for path in pages:
        response = client.get(path)
        cache_control = response.get("Cache-Control", "")
        assert "private" in cache_control, (path, cache_control)
        assert "public" not in cache_control, (path, cache_control)
        assert "Cookie" in response.get("Vary", ""), path


def test_pages_cached_for_members_never_reach_non_members(db):
    """Fill the shared cache as a member and as staff, then read as each non-member."""
    from tests.conftest import NON_MEMBERS, client_for
    from tests.factories import MotiveFactory

    actor = ThreatActorFactory(name="Cached Secret Actor", aliases=["CachedAlias"])
    incident = IncidentFactory(
        threat_actors=[actor], motives=[MotiveFactory(name="CachedSecretMotive")]
    )
    draft = IncidentFactory(status="draft", summary="CachedDraftSummary")
    pages = [
        incident.get_absolute_url(),
        draft.get_absolute_url(),
        reverse("incidents:incident_list"),
        reverse("incidents:incident_list") + "?q=Cached",
        actor.get_absolute_url(),
    ]
    for kind in ("member", "staff"):
        client = client_for(kind)
        for path in pages:
            client.get(path)
    assert "CachedSecretMotive" in client_for("member").get(pages[0]).content.decode()
    for kind in NON_MEMBERS:
        client = client_for(kind)
        for path in pages:
            html = client.get(path).content.decode()
            for secret in ("CachedSecretMotive", "CachedAlias", "CachedDraftSummary"):
                assert secret not in html, (kind, path, secret)
        assert client.get(draft.get_absolute_url()).status_code == 404


def test_an_edit_is_visible_at_once_despite_the_cache(client, db):
    incident = IncidentFactory(summary="Before the edit.")
    assert "Before the edit." in client.get(incident.get_absolute_url()).content.decode()
    assert "Before the edit." in client.get(reverse("incidents:incident_list")).content.decode()
    incident.summary = "After the edit."
    incident.save()
    assert "After the edit." in client.get(incident.get_absolute_url()).content.decode()
    assert "After the edit." in client.get(reverse("incidents:incident_list")).content.decode()


def test_a_bulk_update_never_leaves_old_pages_behind(client, db):
    from django.core.cache import caches

    incident = IncidentFactory(summary="Old text.")
    client.get(incident.get_absolute_url())
    caches["default"].clear()  # the versions live in the database, not in a cache
    Incident = type(incident)
    Incident.objects.filter(pk=incident.pk).update(summary="New text.")  # no signal
    assert "New text." in client.get(incident.get_absolute_url()).content.decode()


def test_anonymous_visitors_share_whole_pages_and_nobody_else_does(db, django_assert_num_queries):
    """Whole pages are cached for anonymous visitors only: a signed-in viewer's header
    (name, CSRF token) never lands in them, and they never carry a signed-in header."""
    from django.test import Client

    from tests.conftest import client_for
    from tests.factories import MotiveFactory, UserFactory

    incident = IncidentFactory(motives=[MotiveFactory(name="WholePageSecretMotive")])
    IncidentFactory(status="draft", summary="WholePageDraftSummary")
    pages = [reverse("home"), reverse("incidents:incident_list"), incident.get_absolute_url()]
    for kind in ("member", "staff"):  # their pages are rendered (and parts cached) first
        member_client = client_for(kind)
        for path in pages:
            member_client.get(path)
    reader = UserFactory(email="reader-in-cache@example.org")
    signed_in = Client()
    signed_in.force_login(reader)
    for path in pages:
        assert "reader-in-cache@example.org" in signed_in.get(path).content.decode()
        first = Client().get(path).content
        with django_assert_num_queries(VERSIONS_READ):
            again = Client().get(path).content
        assert again == first
        assert b"reader-in-cache@example.org" not in again
        assert b"csrfmiddlewaretoken" not in again
        assert b"WholePageSecretMotive" not in again
        assert b"WholePageDraftSummary" not in again
        assert "reader-in-cache@example.org" in signed_in.get(path).content.decode()


def test_a_visitor_with_a_message_waiting_sees_it_despite_the_whole_page_cache(db):
    from allauth.account.models import EmailAddress
    from django.test import Client

    from tests.factories import UserFactory

    incident = IncidentFactory()
    Client().get(incident.get_absolute_url())  # cached for anonymous visitors
    user = UserFactory()
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    client = Client()
    client.force_login(user)
    client.post(reverse("account_logout"))  # "You have signed out." waits for the next page
    assert "You have signed out." in client.get(incident.get_absolute_url()).content.decode()
    assert "You have signed out." not in client.get(incident.get_absolute_url()).content.decode()


def test_form_choices_kept_in_process_memory_follow_catalogue_changes(client, db):
    from tests.factories import SectorFactory

    IncidentFactory()
    assert "Brand-new sector" not in client.get(reverse("incidents:incident_list")).content.decode()
    SectorFactory(name="Brand-new sector")
    assert "Brand-new sector" in client.get(reverse("incidents:incident_list")).content.decode()


def test_each_kind_of_viewer_gets_its_own_call_to_action_from_the_cached_body(db):
    from tests.conftest import client_for

    path = IncidentFactory().get_absolute_url()
    order = ["anonymous", "registered", "member", "anonymous", "registered", "member"]
    for kind in order:
        html = client_for(kind).get(path).content.decode()
        if kind == "anonymous":
            assert "?next=" in html and "Become a member</a>" not in html
        elif kind == "registered":
            assert "Become a member</a>" in html and "?next=" not in html
        else:
            assert "members-cta" not in html


def test_linking_a_motive_is_visible_at_once_despite_the_cache(db):
    from tests.conftest import client_for
    from tests.factories import MotiveFactory

    incident = IncidentFactory()
    motive = MotiveFactory(name="Newly linked motive")
    member = client_for("member")
    assert "Newly linked motive" not in member.get(incident.get_absolute_url()).content.decode()
    incident.motives.add(motive)  # only m2m_changed tells the cache
    assert "Newly linked motive" in member.get(incident.get_absolute_url()).content.decode()


@pytest.mark.parametrize("name", ["request", "user", "csrf_token", "perms"])
def test_a_shared_fragment_refuses_anything_of_one_viewers(name):
    from incidents import caching

    with pytest.raises(caching.ViewerDataInSharedFragment, match=name):
        caching.render_shared("includes/_members_cta.html", {name: object()})
    with pytest.raises(caching.ViewerDataInSharedFragment, match=name):
        caching.render_shared("includes/_members_cta.html", {}, **{name: object()})


def test_the_incident_article_is_rendered_without_the_request(db):
    """Whatever its template might reach for, the cached article never had a viewer's
    request, user, CSRF token or permissions in its context; the call to action gets the
    one per-viewer difference as a flag."""
    from django.template.context import RequestContext
    from django.test.signals import template_rendered

    from tests.conftest import client_for

    path = IncidentFactory().get_absolute_url()
    seen = []

    def record(sender, template, context, **kwargs):
        if template.name == "incidents/includes/_incident_article.html":
            seen.append(context)

    template_rendered.connect(record)
    try:
        for kind in ("anonymous", "registered", "member"):
            client_for(kind).get(path)
    finally:
        template_rendered.disconnect(record)
    assert len(seen) == 3
    for context in seen:
        assert not isinstance(context, RequestContext)
        for name in ("request", "user", "csrf_token", "perms"):
            assert name not in context, name
    assert [context.get("signed_in") for context in seen] == [False, True, True]


def test_filling_the_page_cache_cannot_evict_a_login_lock(db, settings):
    """Many distinct searches fill the page cache; the failed-login counter that locks an
    account lives in the other cache and survives (issue 9.4: Redis evicted it)."""
    from allauth.account.models import EmailAddress
    from django.contrib.auth import SESSION_KEY
    from django.core.cache import caches
    from django.test import Client

    from tests.factories import UserFactory

    locmem = "django.core.cache.backends.locmem.LocMemCache"
    settings.CACHES = {
        "default": {"BACKEND": locmem, "LOCATION": "lock-test", "OPTIONS": {"MAX_ENTRIES": 100}},
        "pages": {"BACKEND": locmem, "LOCATION": "lock-pages", "OPTIONS": {"MAX_ENTRIES": 10}},
        "local": {"BACKEND": locmem, "LOCATION": "lock-local"},
    }
    for alias in settings.CACHES:
        caches[alias].clear()
    IncidentFactory()
    user = UserFactory()  # password: correct-horse-battery (tests.factories)
    EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=True)
    login = reverse("account_login")
    for _ in range(5):  # ACCOUNT_RATE_LIMITS["login_failed"]: 5 per account in 5 minutes
        Client().post(login, {"login": user.email, "password": "wrong-password"})

    for i in range(40):  # four times what the pages cache holds
        assert (
            Client().get(reverse("incidents:incident_list"), {"q": f"flood{i}"}).status_code == 200
        )

    client = Client()
    response = client.post(login, {"login": user.email, "password": "correct-horse-battery"})
    assert SESSION_KEY not in client.session
    assert "Too many failed login attempts" in response.content.decode()


def test_a_whole_page_that_used_the_visitors_csrf_token_is_never_stored(db, rf):
    from django.contrib.auth.models import AnonymousUser
    from django.middleware.csrf import get_token

    from incidents import caching

    def request():
        made = rf.get("/somewhere/")
        made.user = AnonymousUser()
        return made

    context = {"status": 404, "title": "Not found", "message": "Nothing here."}
    plain = caching.WholePage(request(), "test", ["plain"])
    plain.render("error.html", context)
    assert caching.WholePage(request(), "test", ["plain"]).html is not None

    with_token = request()
    page = caching.WholePage(with_token, "test", ["token"])
    get_token(with_token)  # as a {% csrf_token %} in the page would
    page.render("error.html", context)
    assert caching.WholePage(request(), "test", ["token"]).html is None


def test_a_local_value_is_kept_in_this_process_and_keyed_by_the_catalogue_version(db):
    from django.core.cache import caches

    from incidents import caching
    from tests.conftest import new_catalogue_version

    computed = []

    def compute():
        computed.append(1)
        return ["choice"]

    assert caching.cached("choices", "public", ["t"], compute, local=True) == ["choice"]
    assert caching.cached("choices", "public", ["t"], compute, local=True) == ["choice"]
    assert computed == [1]
    assert caching.pages().get(caching.key("choices", "public", "t")) is None  # not shared
    assert caches["local"].get(caching.key("choices", "public", "t")) == ["choice"]
    new_catalogue_version()
    caching.cached("choices", "public", ["t"], compute, local=True)
    assert computed == [1, 1]


def test_a_value_may_say_how_long_it_is_kept(db):
    from incidents import caching

    assert caching.cached("kept", "public", ["x"], lambda: ("v", 7), lambda pair: pair[1])
    full_key = caching.key("kept", "public", "x")
    expiry = caching.pages()._expire_info[caching.pages().make_key(full_key)]
    assert 0 < expiry - __import__("time").time() <= 7


@pytest.mark.parametrize("path", ["/statistics/", "/statistics/?year=2021", "/countries/FR/"])
def test_a_members_page_is_shared_by_members_each_with_their_own_header(
    db, path, django_assert_max_num_queries
):
    """A member's statistics page or hub is rendered once per audience and query
    (caching.ViewerPage); each member's request renders only their header into it."""
    import datetime

    from incidents import caching
    from tests.factories import SubscriptionFactory

    IncidentFactory(country="FR", date=datetime.date(2021, 5, 1))
    first = SubscriptionFactory(user__email="first-member@example.org").user
    second = SubscriptionFactory(user__email="second-member@example.org").user
    clients = {}
    for user in (first, second):
        clients[user.email] = client = Client()
        client.force_login(user)
    first_page = clients[first.email].get(path).content.decode()
    # The second member's request: their session, their user, their membership; nothing
    # of the page is counted or rendered again.
    with django_assert_max_num_queries(3 + VERSIONS_READ):
        second_page = clients[second.email].get(path).content.decode()
    assert "first-member@example.org" in first_page
    assert "second-member@example.org" in second_page
    assert "first-member@example.org" not in second_page
    assert 'name="csrfmiddlewaretoken"' in second_page
    assert without_header(first_page) == without_header(second_page)
    assert f'rel="canonical" href="{settings.SITE_URL}{path.split("?")[0]}"' in second_page
    # What is cached holds no viewer's header: only the slots for it.
    marker = "-shell:member:"
    shells = [v for k, v in caching.pages()._cache.items() if marker in k]
    assert shells
    for stored in shells:
        blob = repr(stored)
        assert "member@example.org" not in blob and "csrfmiddlewaretoken" not in blob


def without_header(html: str) -> str:
    start = html.index('<div class="account-nav">')
    return html[:start] + html[html.index("</header>", start) :]


def test_a_message_waiting_is_shown_on_a_page_shared_by_an_audience(db):
    from allauth.account.models import EmailAddress

    from tests.factories import UserFactory

    IncidentFactory()
    Client().get("/statistics/")  # the visitors' whole page, cached
    user = UserFactory()
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    client = Client()
    client.force_login(user)
    client.get("/statistics/")  # the public audience's shared page, cached
    client.post(reverse("account_logout"))  # "You have signed out." waits for the next page
    assert "You have signed out." in client.get("/statistics/").content.decode()
    assert "You have signed out." not in client.get("/statistics/").content.decode()
    assert "You have signed out." not in Client().get("/statistics/").content.decode()


def test_a_slow_count_is_made_once_while_others_wait_for_it(db, monkeypatch):
    """caching.cached(single_flight=True): a reader arriving while another process computes
    the same value waits for it (here it lands during the first wait) instead of computing it
    again."""
    from incidents import caching

    calls = []
    full_key = caching.key("once-test", "public", "q")
    monkeypatch.setattr(caching, "_sleep", lambda s: caching.pages().set(full_key, "theirs", 60))
    with held_elsewhere(f"{full_key}:computing"):  # another process is computing
        value = caching.cached(
            "once-test", "public", ["q"], lambda: calls.append(1), single_flight=True
        )
    assert value == "theirs"
    assert calls == []


def test_a_waiting_reader_computes_itself_when_the_other_never_finishes(db, monkeypatch):
    from incidents import caching

    monkeypatch.setattr(caching, "ONCE_WAIT", 0.05)
    monkeypatch.setattr(caching, "ONCE_STEP", 0.01)
    full_key = caching.key("once-test", "public", "r")
    with held_elsewhere(f"{full_key}:computing"):
        assert (
            caching.cached("once-test", "public", ["r"], lambda: "mine", single_flight=True)
            == "mine"
        )
        assert caching.pages().get(full_key) == "mine"
        assert not free_here(f"{full_key}:computing")  # the other's lock is still theirs
