"""Accessibility of the main pages for a visitor and a member: axe-core (from npm, injected
by the test, never served by the site), small screens and the keyboard."""

import pytest

from tests.e2e.conftest import PAGES, screenshot, sign_in_with_cookie

AUDIENCES = ["visitor", "member"]
BLOCKING_IMPACTS = {"serious", "critical"}
MAIN_NAVIGATION = [
    "Incidents",
    "Browse",
    "Statistics",
    "Organisations",
    "Threat actors",
    "ATT&CK",
    "Pricing",
]


def pages_for(audience):
    # The login page sends a signed-in member on to their membership page.
    return {name: path for name, path in PAGES.items() if audience == "visitor" or name != "login"}


RUN_AXE = "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"

# Elements sticking out past the viewport's right edge, outermost first, leaving out
# those inside a scrolling or clipping box (a wide table in its .table-wrap).
WIDER_THAN_VIEWPORT = r"""() => {
  const root = document.documentElement;
  if (root.scrollWidth <= root.clientWidth) return null;
  const limit = root.clientWidth + 1;
  const clipped = (el) => {
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
      if (getComputedStyle(a).overflowX !== "visible") return true;
    }
    return false;
  };
  const tag = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
    + [...el.classList].map((c) => "." + c).join("");
  const describe = (el) => `${tag(el.parentElement)} > ${tag(el)} `
    + `"${el.textContent.trim().replace(/\s+/g, " ").slice(0, 60)}"`;
  const wide = [...document.body.querySelectorAll("*")]
    .filter((el) => el.getBoundingClientRect().right > limit && !clipped(el));
  const outermost = wide.filter((el) => !wide.includes(el.parentElement));
  return {
    scrollWidth: root.scrollWidth,
    clientWidth: root.clientWidth,
    elements: outermost.slice(0, 5).map(
      (el) => `${describe(el)} (right edge at ${Math.round(el.getBoundingClientRect().right)}px)`
    ),
  };
}"""

FOCUSED = """() => {
  const el = document.activeElement;
  const style = getComputedStyle(el);
  const box = el.getBoundingClientRect();
  const outline = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0;
  return {
    element: el.outerHTML.slice(0, 120),
    name: el.getAttribute("name"),
    text: (el.innerText || "").trim(),
    inMainNav: Boolean(el.closest('nav[aria-label="Main"]')),
    indicated: el.matches(":focus-visible") && (outline || style.boxShadow !== "none"),
    onScreen: box.width > 0 && box.height > 0 && box.left >= 0 && box.top >= 0,
  };
}"""


@pytest.fixture
def page_for(new_page, demo_data, member, live_server):
    """``page_for(audience, **context_options)``: a page as a visitor or a member sees it."""

    def make(audience, **options):
        page = new_page(**options)
        if audience == "member":
            sign_in_with_cookie(page, member, live_server.url)
            page.goto("/")
            # The pages checked below are the member's own, not a visitor's.
            # (Its text, also where the phone's menu is folded.)
            assert page.locator(".account-nav .badge-member").text_content() == "Member"
        return page

    return make


def describe(violations):
    lines = []
    for violation in violations:
        lines.append(
            f"[{violation['impact']}] {violation['id']}: {violation['help']}"
            f" ({violation['helpUrl']})"
        )
        for node in violation["nodes"]:
            lines.append(f"    at {' '.join(map(str, node['target']))}: {node['html'][:200]}")
            lines.append("      " + node["failureSummary"].replace("\n", "\n      "))
    return "\n".join(lines)


@pytest.mark.parametrize("audience", AUDIENCES)
def test_no_serious_axe_violations(page_for, axe_source, audience):
    page = page_for(audience)
    failures = []
    for name, path in pages_for(audience).items():
        page.goto(path)
        screenshot(page, f"{name}-{audience}")
        page.evaluate(axe_source)
        violations = [v for v in page.evaluate(RUN_AXE) if v["impact"] in BLOCKING_IMPACTS]
        if violations:
            failures.append(f"{path}:\n{describe(violations)}")
    assert not failures, f"axe, as a {audience}:\n" + "\n".join(failures)


@pytest.mark.parametrize("audience", AUDIENCES)
def test_no_horizontal_scrolling_at_360px(page_for, audience):
    page = page_for(audience, viewport={"width": 360, "height": 740})
    too_wide = {}
    for name, path in pages_for(audience).items():
        page.goto(path)
        screenshot(page, f"{name}-{audience}-360px")
        if overflow := page.evaluate(WIDER_THAN_VIEWPORT):
            too_wide[path] = overflow
    assert not too_wide, "pages scrolling sideways at 360px:\n" + "\n".join(
        f"  {path}: {o['scrollWidth']}px wide in {o['clientWidth']}px, {', '.join(o['elements'])}"
        for path, o in too_wide.items()
    )


def test_keyboard_reaches_navigation_and_search(page):
    page.goto(PAGES["incident-list"])
    reached = []
    for _ in range(60):
        page.keyboard.press("Tab")
        reached.append(page.evaluate(FOCUSED))
        if reached[-1]["name"] == "q":
            break

    assert reached[0]["text"] == "Skip to content" and reached[0]["onScreen"], reached[0]
    assert [f["text"] for f in reached if f["inMainNav"]] == MAIN_NAVIGATION
    assert reached[-1]["name"] == "q", "Tab never reached the incident search box"
    unmarked = [f["element"] for f in reached if not f["indicated"]]
    assert not unmarked, f"focused without a visible focus style: {unmarked}"
