import re

from django.contrib.syndication.views import Feed
from django.urls import reverse_lazy
from django.utils.feedgenerator import Atom1Feed

from .models import Incident

# Characters outside XML 1.0's Char production: C0 controls but tab, newline and
# carriage return, lone surrogates, U+FFFE and U+FFFF.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str) -> str:
    """``text`` without the characters XML 1.0 does not allow."""
    return _NOT_XML.sub("", text)


def _xml_safe(value):
    if isinstance(value, str):
        return xml_text(value)
    if isinstance(value, (list, tuple)):
        return type(value)(_xml_safe(v) for v in value)
    return value


class XmlSafeAtom1Feed(Atom1Feed):
    """Atom with every string of the feed and its entries made XML-safe: Django's XML
    writer refuses a control character (a 500), and one pasted into a summary or a
    victim's name can get past the write-side cleaning (a raw update, an old row)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*_xml_safe(args), **{k: _xml_safe(v) for k, v in kwargs.items()})

    def add_item(self, *args, **kwargs):
        super().add_item(*_xml_safe(args), **{k: _xml_safe(v) for k, v in kwargs.items()})


class LatestIncidentsFeed(Feed):
    """The newest published incidents; public fields only (victim, date, summary)."""

    feed_type = XmlSafeAtom1Feed
    title = "Cyber Incident Portal: latest incidents"
    link = reverse_lazy("incidents:incident_list")
    subtitle = "Publicly reported cyber incidents, newest first."

    def items(self):
        return (
            Incident.objects.published()
            .select_related("organisation")
            .only(
                "slug",
                "date",
                "date_precision",
                "summary",
                "published_at",
                "updated_at",
                "organisation__name",
            )
            .newest_first()[:30]
        )

    def item_title(self, item):
        return f"Cyber Incident Victim: {item.organisation.name} ({item.date_display})"

    def item_description(self, item):
        return item.summary

    def item_pubdate(self, item):
        return item.published_at

    def item_updateddate(self, item):
        return item.updated_at
