"""A member saves a search in the browser, a matching incident is published, the job queue
sends the alert, and its one-click unsubscribe link works."""

import re
from urllib.parse import urlsplit

from playwright.sync_api import expect

from incidents import services
from incidents.models import Incident, SavedSearch
from tests.e2e.conftest import screenshot, sign_in_with_cookie
from tests.e2e.test_accessibility import BLOCKING_IMPACTS, RUN_AXE
from tests.factories import IncidentFactory


def test_member_saves_a_search_and_gets_an_alert_with_a_working_unsubscribe(
    member, new_page, live_server, mailoutbox
):
    page = new_page()
    sign_in_with_cookie(page, member, live_server.url)
    page.goto("/incidents/?country=US&sort=oldest")
    page.get_by_text("Save this search").click()
    page.get_by_label("Name").fill("US incidents")
    page.get_by_label("Email alerts").select_option(label="Immediately")
    page.get_by_role("button", name="Save search").click()

    expect(page).to_have_url(re.compile(r"/accounts/searches/$"))
    expect(page.locator("main")).to_contain_text("Search “US incidents” saved.")
    expect(page.get_by_role("heading", name="US incidents")).to_be_visible()
    screenshot(page, "saved-searches")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "saved-searches-390")
    assert SavedSearch.objects.get(user=member).query == "country=US&sort=oldest"

    # Staff publish a new incident in the United States (the service every writer uses);
    # the publication's commit enqueues the matcher, whose task enqueues the delivery.
    draft = IncidentFactory(
        status="draft", country="US", organisation__name="Springfield Water Works"
    )
    assert mailoutbox == []
    services.publish(Incident.objects.filter(pk=draft.pk))

    [email] = mailoutbox
    assert email.to == [member.email]
    assert "1 new incident: US incidents" in email.subject
    assert "Springfield Water Works" in email.body
    assert email.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = re.search(r"https?://\S+/alerts/unsubscribe/\S+/", email.body).group()
    assert email.extra_headers["List-Unsubscribe"] == f"<{link}>"

    # Opened from the mail client: another browser, not signed in.
    reader = new_page()
    reader.goto(urlsplit(link).path)
    expect(reader.locator("main")).to_contain_text("Stop the email alerts for the saved search")
    screenshot(reader, "unsubscribe-confirm")
    reader.get_by_role("button", name="Stop these emails").click()
    expect(reader.locator("main")).to_contain_text("Alerts for US incidents are off.")
    assert SavedSearch.objects.get(user=member).alerts == "off"


def test_member_watches_an_organisation_from_its_page_and_gets_an_alert(
    member, new_page, live_server, mailoutbox, axe_source
):
    """Issue 25: watch a supplier; a new incident naming it is emailed like a saved search's."""
    page = new_page()
    sign_in_with_cookie(page, member, live_server.url)
    page.goto("/organisations/mitsubishi-electric-corporation/")
    page.get_by_role("link", name="Watch this organisation").click()
    expect(page.get_by_label("Organisation or web domain")).to_have_value(
        "Mitsubishi Electric Corporation"
    )
    page.get_by_role("button", name="Watch", exact=True).click()
    expect(page.locator("main")).to_contain_text("Watching “Mitsubishi Electric Corporation”.")
    # A supplier not in the catalogue yet, by its web domain.
    page.get_by_label("Organisation or web domain").fill("https://www.acme-logistics.example/")
    page.get_by_role("button", name="Watch", exact=True).click()
    expect(page.locator("main")).to_contain_text("Not in the catalogue yet")
    screenshot(page, "watched-organisations")
    page.evaluate(axe_source)
    violations = [v for v in page.evaluate(RUN_AXE) if v["impact"] in BLOCKING_IMPACTS]
    assert violations == [], [(v["id"], [n["html"][:150] for n in v["nodes"]]) for v in violations]
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "watched-organisations-390")
    assert page.evaluate("document.documentElement.scrollWidth <= 390")

    draft = IncidentFactory(
        status="draft",
        organisation__name="ACME Logistics",
        organisation__website="https://shop.acme-logistics.example/",
    )
    services.publish(Incident.objects.filter(pk=draft.pk))
    [email] = mailoutbox
    assert email.to == [member.email]
    assert "1 new incident: Watched organisations" in email.subject
    assert "names an organisation you watch" in email.body and "ACME Logistics" in email.body
    page.reload()
    expect(page.locator(".incident-list")).to_contain_text("ACME Logistics")
