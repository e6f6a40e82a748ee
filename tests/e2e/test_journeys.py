"""Journeys through the site in a real browser: reading, signing up, membership, the admin."""

import re
from urllib.parse import urlsplit

from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from incidents.models import Incident
from tests.e2e.conftest import MITSUBISHI, PASSWORD, screenshot
from tests.factories import totp_code

# What a member sees in the Mitsubishi incident's analysis and a visitor must not:
# its motives, its technique and the CIA posture's notes.
GATED_VALUES = ["Espionage", "Financial", "T1078", "Valid Accounts", "Microsoft 365"]


def text_outside_types(page):
    """What ``page``'s main part reads, less its incident-type links: types are public
    (docs/gating.md), and the type Espionage shares its name with a gated motive."""
    page.evaluate("document.querySelectorAll('main .type-tag').forEach(e => e.remove())")
    return page.locator("main").inner_text()


def submit(page, field):
    """Submit the form holding ``field`` (by name) as a keyboard user would."""
    page.locator(f'main [name="{field}"]').press("Enter")


def log_in(page, email, password, totp_secret=None):
    """Fill the login form the page is on, then the two-factor step if asked."""
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    page.locator('main [name="login"]').fill(email)
    page.locator('main [name="password"]').fill(password)
    submit(page, "password")
    if totp_secret is not None:
        expect(page).to_have_url(re.compile(r"/accounts/2fa/authenticate/"))
        page.locator('main [name="code"]').fill(totp_code(totp_secret))
        submit(page, "code")


def staff_admin(new_page, staff):
    """A page where ``staff`` signed in to the admin through the site's login and MFA."""
    page = new_page()
    page.goto("/admin/")
    log_in(page, staff.email, PASSWORD, totp_secret=staff.totp_secret)
    expect(page).to_have_url(re.compile(r"/admin/$"))
    expect(page.locator("h1")).to_have_text("Site administration")
    return page


def test_visitor_sees_counts_and_no_members_values(demo_data, page):
    page.goto(MITSUBISHI)

    expect(page.locator("h1")).to_have_text(
        "Cyber Incident Victim: Mitsubishi Electric Corporation"
    )
    analysis = page.locator("section.analysis")
    # Honest gates (docs/gating.md): a lock over a value, and no lock over nothing.
    for placeholder in ["2 motives", "1 technique", "No actor identified", "Available to members"]:
        expect(analysis).to_contain_text(placeholder)
    main = text_outside_types(page)
    assert "Mitsubishi Electric contacted each affected partner" in main  # public description
    leaked = [value for value in GATED_VALUES if value in main]
    assert not leaked, f"members-only values shown to a visitor: {leaked}"


def test_sign_up_verify_become_member(demo_data, staff, new_page, mailoutbox):
    email = "new.analyst@example.net"
    visitor = new_page()
    visitor.goto("/accounts/signup/")
    screenshot(visitor, "journey-signup")
    visitor.locator('main [name="email"]').fill(email)
    visitor.locator('main [name="password1"]').fill("a long and unusual passphrase 7")
    visitor.locator('main [name="password2"]').fill("a long and unusual passphrase 7")
    submit(visitor, "password2")
    expect(visitor).to_have_url(re.compile(r"/accounts/confirm-email/$"))

    assert [message.to for message in mailoutbox] == [[email]]
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", mailoutbox[0].body).group()
    # Opened from the mail client: another browser, not signed in.
    user = new_page()
    user.goto(urlsplit(link).path)
    user.get_by_role("button", name="Confirm").click()
    assert EmailAddress.objects.get(email=email).verified
    log_in(user, email, "a long and unusual passphrase 7")
    expect(user).to_have_url(re.compile(r"/accounts/membership/$"))
    expect(user.locator("main")).to_contain_text("You are not a member")
    screenshot(user, "journey-membership-registered")

    admin = staff_admin(new_page, staff)
    screenshot(admin, "admin-index")
    admin.goto("/admin/accounts/subscription/add/")
    username = get_user_model().objects.get(email=email).username
    admin.locator(".field-user .select2-selection").click()
    admin.locator(".select2-container--open .select2-search__field").fill(username)
    admin.locator(".select2-results__option", has_text=username).click()
    admin.locator("#id_plan").select_option(label="Individual")
    screenshot(admin, "admin-subscription-add")
    admin.locator('input[name="_save"]').click()
    expect(admin.locator(".messagelist .success")).to_contain_text("was added successfully")

    user.reload()
    expect(user.locator("main")).to_contain_text("You are a member")
    screenshot(user, "journey-membership-member")
    user.goto(MITSUBISHI)
    analysis = user.locator("section.analysis")
    for value in ["Espionage", "Financial", "T1078", "Valid Accounts", "High"]:
        expect(analysis).to_contain_text(value)
    expect(analysis).to_contain_text("No actor identified")
    expect(analysis).not_to_contain_text("Available to members")


def test_staff_edit_shows_on_public_page(demo_data, staff, new_page):
    visitor = new_page()
    visitor.goto(MITSUBISHI)
    old_summary = visitor.locator("#summary-h + p").inner_text()
    new_summary = "Mitsubishi Electric confirmed the breach of a cloud service it uses (revised)."

    admin = staff_admin(new_page, staff)
    incident = Incident.objects.get(slug=MITSUBISHI.split("/")[2])
    admin.goto(f"/admin/incidents/incident/{incident.pk}/change/")
    admin.locator('[name="summary"]').fill(new_summary)
    screenshot(admin, "admin-incident-change")
    admin.locator('input[name="_save"]').click()
    expect(admin.locator(".messagelist .success")).to_contain_text("was changed successfully")

    visitor.reload()
    expect(visitor.locator("#summary-h + p")).to_have_text(new_summary)
    expect(visitor.locator("main")).not_to_contain_text(old_summary)
