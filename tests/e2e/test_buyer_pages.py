"""Issue 25 in a browser, at 1280 and 390 px: the phone's header and menu, the finder's tools
beside the results and its filters on a phone, the API tokens page (copy, curl, revoke with a
confirmation step), the team buyer's return page, and axe on the pages added for them."""

import re

import pytest
from allauth.account.models import EmailAddress
from playwright.sync_api import expect

from accounts.models import Plan
from tests.e2e.conftest import screenshot, sign_in_with_cookie
from tests.e2e.test_accessibility import BLOCKING_IMPACTS, RUN_AXE, describe
from tests.factories import PlanFactory, UserFactory

PHONE = {"width": 390, "height": 844}
WIDE = {"width": 1280, "height": 900}


def signed_in(new_page, user, live_server, viewport):
    page = new_page(viewport=viewport)
    sign_in_with_cookie(page, user, live_server.url)
    return page


def assert_no_axe_violations(page, axe_source):
    page.evaluate(axe_source)
    violations = [v for v in page.evaluate(RUN_AXE) if v["impact"] in BLOCKING_IMPACTS]
    assert not violations, f"axe on {page.url}:\n{describe(violations)}"


def test_the_phone_header_is_short_and_its_menu_opens(demo_data, new_page):
    page = new_page(viewport=PHONE)
    page.goto("/")
    header = page.locator(".site-header").bounding_box()
    assert header["height"] < 100
    menu = page.get_by_role("navigation", name="Main")
    expect(menu.get_by_role("link", name="Pricing")).to_be_hidden()
    page.locator(".menu-button").click()
    expect(menu.get_by_role("link", name="Pricing")).to_be_visible()
    expect(menu.get_by_role("link", name="ATT&CK")).to_be_visible()
    screenshot(page, "issue25-menu-open-390")
    menu.get_by_role("link", name="Pricing").click()
    expect(page).to_have_url(re.compile(r"/pricing/$"))

    wide = new_page(viewport=WIDE)
    wide.goto("/")
    expect(wide.locator(".menu-button")).to_be_hidden()
    expect(
        wide.get_by_role("navigation", name="Main").get_by_role("link", name="ATT&CK")
    ).to_be_visible()


@pytest.mark.parametrize("viewport", [WIDE, PHONE], ids=["1280", "390"])
def test_the_finders_tools_sit_with_the_results(member, new_page, live_server, viewport):
    page = signed_in(new_page, member, live_server, viewport)
    page.goto("/incidents/?q=ransomware")
    tools = page.locator("#results-tools").bounding_box()
    results = page.locator("#results").bounding_box()
    filters = page.locator("#filter-form").bounding_box()
    assert tools["y"] < results["y"]  # above the results, not below the filters
    if viewport is WIDE:
        assert tools["x"] == results["x"] and tools["y"] < filters["y"] + 100
    page.get_by_text("Save this search").click()
    expect(page.locator("#save-search-name")).to_be_visible()
    screenshot(page, f"issue25-finder-{viewport['width']}")
    # One "Filters" on a phone (the fold's summary; the fieldsets are "Public filters" and
    # "Members' filters"), none on a wide screen, where the filters are open beside the results.
    if viewport is PHONE:
        page.locator("#filter-panel > summary").click()
    visible = page.locator("text=/^Filters( \\(\\d+ applied\\))?$/ >> visible=true")
    assert visible.count() == (1 if viewport is PHONE else 0)


def test_on_a_phone_applying_a_filter_shows_the_results(member, new_page, live_server):
    page = signed_in(new_page, member, live_server, PHONE)
    page.goto("/incidents/")
    page.locator("#filter-panel > summary").click()
    page.locator("#id_country").select_option("GB")
    page.locator("#filter-panel").get_by_role("button", name="Apply").click()
    expect(page.locator("#results .lead")).to_contain_text("filtered")
    expect(page.locator("#filter-panel")).not_to_have_attribute("open", "")
    expect(page.locator("#results .incident-list")).to_be_in_viewport()
    # The tools follow the query: the export links carry the filter.
    expect(page.locator("#results-tools a", has_text="CSV")).to_have_attribute(
        "href", re.compile(r"country=GB")
    )
    screenshot(page, "issue25-finder-applied-390")


@pytest.mark.parametrize("viewport", [WIDE, PHONE], ids=["1280", "390"])
def test_the_token_page_copies_shows_curl_and_revokes_after_asking(
    member, new_page, live_server, axe_source, viewport
):
    page = signed_in(new_page, member, live_server, viewport)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto("/accounts/tokens/")
    page.locator("#id_name").fill("laptop script")
    page.get_by_role("button", name="Make a token").click()
    token = page.locator("#new-token").input_value()
    expect(page.locator("#curl-example")).to_contain_text(f"Authorization: Bearer {token}")
    page.get_by_role("button", name="Copy the token").click()
    expect(page.locator("#new-token-status")).to_have_text("Copied.")
    assert page.evaluate("navigator.clipboard.readText()") == token
    screenshot(page, f"issue25-tokens-{viewport['width']}")
    assert_no_axe_violations(page, axe_source)

    revoke = page.get_by_role("button", name="Revoke token laptop script")
    revoke.scroll_into_view_if_needed()
    box = revoke.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"]
    revoke.click()
    expect(page.locator("h1")).to_have_text("Revoke the token “laptop script”?")
    screenshot(page, f"issue25-confirm-revoke-{viewport['width']}")
    assert_no_axe_violations(page, axe_source)
    page.get_by_role("button", name="Revoke the token").click()
    expect(page.locator(".messages")).to_contain_text("The token is revoked")


def test_a_team_buyer_names_the_team_and_invites_from_the_return_page(
    demo_data, new_page, live_server, axe_source, settings, mailoutbox
):
    settings.DEBUG = True
    settings.STRIPE_SECRET_KEY = ""
    # The live server's database is emptied after each test: the plans the migrations make are gone.
    PlanFactory(slug="team", name="Team", seats=10, is_for_sale=True, monthly_price=149)
    buyer = UserFactory(email="lead@example.net")
    EmailAddress.objects.create(user=buyer, email=buyer.email, primary=True, verified=True)
    page = signed_in(new_page, buyer, live_server, PHONE)
    page.goto("/pricing/")
    page.get_by_role("button", name="Buy monthly Team").click()
    page.get_by_role("button", name=re.compile(r"^Pay .* \(TEST MODE\)$")).click()
    expect(page.locator("h1")).to_have_text("Your team is a member")
    screenshot(page, "issue25-team-return-390")
    assert_no_axe_violations(page, axe_source)
    page.locator("#id_name").fill("Northwind SOC")
    page.get_by_role("button", name="Save the name").click()
    expect(page.locator("main")).to_contain_text("Northwind SOC")
    page.goto("/billing/return/")
    page.locator("#id_email").fill("colleague@example.net")
    page.get_by_role("button", name="Send the invitation").click()
    expect(page.locator(".messages")).to_contain_text("Invitation sent to colleague@example.net")
    assert any(m.to == ["colleague@example.net"] for m in mailoutbox)


@pytest.mark.parametrize("viewport", [WIDE, PHONE], ids=["1280", "390"])
def test_pricing_compares_the_plans_with_no_band_above_their_names(demo_data, new_page, viewport):
    Plan.objects.filter(slug="individual").update(
        trial_days=14, api_requests_per_minute=120, export_rows_per_day=100_000
    )
    PlanFactory(
        slug="team",
        name="Team",
        seats=10,
        trial_days=14,
        api_requests_per_minute=600,
        export_rows_per_day=500_000,
        price=1490,
    )
    page = new_page(viewport=viewport)
    page.goto("/pricing/")
    cards = {slug: page.locator(f"#plan-{slug}") for slug in ("individual", "team")}
    for slug, card in cards.items():
        name = page.locator(f"#plan-{slug}-name").bounding_box()
        assert name["y"] - card.bounding_box()["y"] < 32  # the card's padding, no empty band
        expect(card.locator(".plan-terms")).to_contain_text("Free trial14 days, no card")
    expect(cards["team"].locator(".plan-terms")).to_contain_text("API requests a minute600")
    expect(cards["team"].locator(".plan-terms")).to_contain_text("Export rows a day500,000")
    if viewport is WIDE:  # side by side
        assert cards["individual"].bounding_box()["y"] == cards["team"].bounding_box()["y"]
    screenshot(page, f"issue25-pricing-{viewport['width']}")
