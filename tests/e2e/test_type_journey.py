"""A visitor finds incidents by their type (issue 25): the home page's search box finds
the ransomware incidents whose text never says so, and the type's hub lists them; axe
finds nothing serious on either page, at 1280 and 390 px."""

from playwright.sync_api import expect

from tests.e2e.conftest import screenshot
from tests.e2e.test_accessibility import BLOCKING_IMPACTS, RUN_AXE

# Demo incidents typed ransomware (fixtures/demo.json).
RANSOMWARE_VICTIMS = ["JBS", "MGM Resorts International", "Marks and Spencer"]


def no_serious_violations(page, axe_source):
    page.evaluate(axe_source)
    violations = [v for v in page.evaluate(RUN_AXE) if v["impact"] in BLOCKING_IMPACTS]
    assert violations == [], [(v["id"], [n["html"][:150] for n in v["nodes"]]) for v in violations]


def test_visitor_searches_by_type_then_opens_its_hub(demo_data, page, axe_source):
    page.goto("/")
    page.get_by_role("search", name="Search incidents").get_by_role("searchbox").fill("ransomware")
    page.get_by_role("search", name="Search incidents").get_by_role("button").click()
    results = page.locator(".incident-list")
    for victim in RANSOMWARE_VICTIMS:
        expect(results).to_contain_text(victim)
    screenshot(page, "search-by-type")
    no_serious_violations(page, axe_source)

    page.goto("/")
    page.get_by_role("navigation", name="Incidents by type").get_by_role(
        "link", name="Ransomware"
    ).click()
    page.wait_for_url("**/types/ransomware/")
    hub = page.locator("main")
    expect(hub.locator("h1")).to_contain_text("Ransomware")
    for victim in RANSOMWARE_VICTIMS:
        expect(hub).to_contain_text(victim)
    no_serious_violations(page, axe_source)
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "type-hub-390")
    assert page.evaluate("document.documentElement.scrollWidth <= 390")
