"""Charts and timelines read on a phone: at 390 px no two axis labels overlap."""

import pytest

from tests.e2e.conftest import PAGES, screenshot, sign_in_with_cookie

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
