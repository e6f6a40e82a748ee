"""Rich text written by staff (or imported): Markdown, then sanitised with nh3.

Descriptions are rendered through here and nowhere else, so a staff account (or an
imported record) cannot plant script, styles or event handlers in a public page.
"""

import markdown
import nh3
from django.utils.safestring import SafeString, mark_safe
from markdown.extensions import Extension

ALLOWED_TAGS = {
    "p", "br", "hr", "strong", "em", "code", "pre", "blockquote",
    "ul", "ol", "li", "a", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}
URL_SCHEMES = {"http", "https", "mailto"}


class RawHtmlAsText(Extension):
    """Raw HTML and <autolinks> stay text, escaped once when the HTML is written (code
    included): only Markdown syntax makes markup."""

    def extendMarkdown(self, md):
        md.preprocessors.deregister("html_block")
        for name in ("html", "autolink", "automail"):
            md.inlinePatterns.deregister(name)


def render_markdown(text: str) -> SafeString:
    """Safe HTML for ``text``. Headings start at h3: the page owns h1 and h2.

    Raw HTML is shown as text (so imported notes such as "<unknown>" survive), and a
    single line break stays one, as in the plain-text descriptions written before.
    """
    html = markdown.markdown(
        text or "",
        extensions=[RawHtmlAsText(), "tables", "sane_lists", "nl2br"],
        output_format="html",
    )
    for level in (2, 1):
        html = html.replace(f"<h{level}>", f"<h{level + 2}>").replace(
            f"</h{level}>", f"</h{level + 2}>"
        )
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="nofollow noopener noreferrer",
        strip_comments=True,
    )
    return mark_safe(clean)  # noqa: S308 - sanitised by nh3 just above
