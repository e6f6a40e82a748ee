"""Browser tests: Playwright drives Debian's Chromium against pytest-django's live server.

Every page opened through ``new_page`` fails its test if the browser logs an error
(a Content-Security-Policy violation, a script error, a missing resource).
"""

from pathlib import Path

import pytest
from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.management import call_command
from django.test import Client

from incidents.models import IncidentTechnique
from tests.factories import PlanFactory, SubscriptionFactory, UserFactory

CHROMIUM = Path("/usr/bin/chromium")
AXE = Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = Path(__file__).parent / "screenshots"  # kept out of git (.gitignore)
FIXTURES = Path(settings.BASE_DIR) / "fixtures"
PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory's

MITSUBISHI = "/incidents/2020-11-mitsubishi-electric-corporation/"
PAGES = {
    "home": "/",
    "incident-list": "/incidents/",
    "incident": MITSUBISHI,
    "organisation": "/organisations/mitsubishi-electric-corporation/",
    "actor": "/actors/bronze-butler/",
    "actor-timeline": "/actors/apt29/",  # two incidents: a timeline for members
    "login": "/accounts/login/",
    "membership": "/accounts/membership/",
    "api-tokens": "/accounts/tokens/",
    "statistics": "/statistics/",
    "browse": "/browse/",
    "country-hub": "/countries/US/",
    "sector-hub": "/sectors/healthcare/",
    "year-hub": "/years/2020/",
    "attack": "/attack/",
    "technique-hub": "/attack/techniques/T1566/",
    "pricing": "/pricing/",
    "plan": "/pricing/individual/",
    "organisations": "/organisations/?q=electric",
    "shared-members-link": "/incidents/?motive=espionage&technique=T1566&q=mitsubishi",
    "about": "/about/",
    "methodology": "/methodology/",
    "contact": "/contact/",
    "privacy": "/privacy/",
    "terms": "/terms/",
    "data-sources": "/data/",
}


@pytest.fixture(scope="module")
def browser():
    """Chromium for one test module, so that no other test runs beside Playwright's event loop."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: run `make e2e-deps` (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with pytest.MonkeyPatch.context() as env, sync_playwright() as playwright:
        # That loop runs in the test thread, so Django takes the tests' own ORM calls
        # (and the database flush after each test) for async code; they are synchronous.
        env.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def axe_source():
    if not AXE.exists():
        pytest.skip(f"{AXE} is missing: run `make e2e-deps` (npm ci --prefix tests/e2e)")
    return AXE.read_text(encoding="utf-8")


@pytest.fixture
def new_page(browser, live_server):
    """``new_page(**context_options)``: a page in a fresh browser context (own cookies)."""
    contexts, errors = [], []

    def on_console(message):
        if message.type == "error":
            page_url = message.page.url if message.page else "?"
            source = message.location.get("url")
            errors.append(f"on {page_url}: {message.text}" + (f" ({source})" if source else ""))

    def make(**options):
        context = browser.new_context(base_url=live_server.url, **options)
        context.set_default_timeout(10_000)
        context.on("console", on_console)
        context.on("weberror", lambda error: errors.append(f"uncaught: {error.error}"))
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()
    if errors:
        pytest.fail("The browser logged errors:\n" + "\n".join(errors), pytrace=False)


@pytest.fixture
def page(new_page):
    return new_page()


@pytest.fixture
def demo_data(transactional_db):
    """The taxonomy and demo incidents, reloaded for each test (the live server's
    database is emptied after every test), and the plans the migrations create."""
    call_command("loaddata", FIXTURES / "taxonomy.json", FIXTURES / "demo.json", verbosity=0)
    PlanFactory(slug="individual", name="Individual", price=290)
    # One of the incident page's techniques derived from VERIS (the demo's are all reported),
    # so the accessibility checks meet the derived marks in the list and on the matrix.
    link = IncidentTechnique.objects.filter(incident__slug=MITSUBISHI.split("/")[2]).first()
    IncidentTechnique.objects.filter(pk=link.pk).update(
        provenance="derived", derived_from="action.hacking.vector.Web application"
    )


@pytest.fixture
def member(demo_data):
    return SubscriptionFactory(plan__slug="individual").user


@pytest.fixture
def staff(transactional_db):
    user = UserFactory(is_staff=True, is_superuser=True)
    EmailAddress.objects.update_or_create(
        user=user, email=user.email, defaults={"verified": True, "primary": True}
    )
    return user


def sign_in_with_cookie(page, user, base_url):
    """Sign ``user`` in without the login form (for tests about other pages)."""
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": base_url}])


def screenshot(page, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)
