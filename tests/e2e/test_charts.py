"""Charts and timelines read on a phone: at 390 px no two axis labels overlap."""

import pytest

from tests.e2e.conftest import PAGES, SCREENSHOTS, screenshot, sign_in_with_cookie
from tests.e2e.test_accessibility import BLOCKING_IMPACTS, RUN_AXE

PHONE = {"width": 390, "height": 844}

# The boxes, as drawn, of the SVG texts ``selector`` finds that are laid out along one line
# (the same y attribute), in left-to-right order: [[y, [[left, right], ...]], ...].
AXIS_BOXES = """(selector) => {
  const lines = {};
  for (const text of document.querySelectorAll(selector)) {
    const box = text.getBoundingClientRect();
    if (!box.width) continue;
    (lines[text.getAttribute("y")] ||= []).push([box.left, box.right, text.textContent]);
  }
  return Object.values(lines).map((boxes) => boxes.sort((a, b) => a[0] - b[0]));
}"""


def overlapping(page, selector):
    lines = page.evaluate(AXIS_BOXES, selector)
    assert lines, f"nothing drawn for {selector}"
    return [
        (a[2], b[2])
        for boxes in lines
        for a, b in zip(boxes, boxes[1:], strict=False)
        if a[1] > b[0] - 2  # closer than 2 px is touching
    ]


def test_no_month_or_year_axis_labels_overlap_at_390px(new_page, demo_data):
    page = new_page(viewport=PHONE)
    page.goto(PAGES["statistics"])
    screenshot(page, "statistics-visitor-390px")
    for chart in ("months", "years", "records-total"):
        assert overlapping(page, f"#chart-{chart} svg text.chart-axis[text-anchor=middle]") == []


@pytest.mark.parametrize("audience", ["visitor", "member"])
def test_a_timeline_is_legible_at_390px(new_page, demo_data, member, live_server, audience):
    page = new_page(viewport=PHONE)
    if audience == "member":
        sign_in_with_cookie(page, member, live_server.url)
    page.goto(PAGES["organisation"])  # a recurring victim: two incidents
    screenshot(page, f"organisation-timeline-{audience}-390px")
    assert page.locator(".timeline svg a").count() >= 2
    assert overlapping(page, ".timeline .chart-drawing svg text.chart-axis") == []


DESKTOP = {"width": 1280, "height": 900}


def test_the_attack_matrix_shows_every_tactic_and_heatmaps_whole_labels_at_1280px(
    new_page, member, live_server, axe_source
):
    """Issue 25: at 1280 px the matrix showed 7 of its 11 tactics and scrolled without
    saying so; the heatmaps cut sector names ("Energy and utilit...")."""
    page = new_page(viewport=DESKTOP)
    sign_in_with_cookie(page, member, live_server.url)
    page.goto(PAGES["statistics"])
    matrix = page.locator("#chart-attack-matrix")
    matrix.scroll_into_view_if_needed()
    matrix.screenshot(path=SCREENSHOTS / "statistics-matrix-member-1280px.png")
    drawing = matrix.locator(".chart-drawing")
    assert drawing.evaluate("d => d.scrollWidth <= d.clientWidth")
    right = drawing.evaluate("d => d.getBoundingClientRect().right")
    headings = matrix.locator(".attack-tactic h4")
    assert headings.count() >= 10
    for box in headings.evaluate_all("hs => hs.map(h => h.getBoundingClientRect().right)"):
        assert box <= right
    for name in ("actor-type-sector", "motives-by-year", "cia"):
        texts = page.locator(f"#chart-{name} svg text").all_text_contents()
        assert texts and not any(text.endswith("…") for text in texts), name
    assert "Energy and utilities" in page.locator("svg text").all_text_contents()
    page.evaluate(axe_source)
    violations = [v for v in page.evaluate(RUN_AXE) if v["impact"] in BLOCKING_IMPACTS]
    assert violations == [], [v["id"] for v in violations]
