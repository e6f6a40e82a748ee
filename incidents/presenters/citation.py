"""How to cite an incident page (public fields only)."""

from __future__ import annotations

from dataclasses import dataclass

from .incidents import IncidentPublic


@dataclass(frozen=True)
class Citation:
    url: str
    text: str
    bibtex: str


BIBTEX_SPECIAL = str.maketrans({c: "\\" + c for c in "{}&%$#_"} | {"\\": "", "^": "", "~": ""})


def citation(incident: IncidentPublic, title: str, site_url: str) -> Citation:
    """How to cite an incident page: public fields only, with its stable address (an
    incident's slug does not change once it is published)."""
    url = f"{site_url}{incident.url}"
    updated = incident.last_updated  # the date the page shows
    text = f"Cyber Incident Portal. “{title}.” Last updated {updated.day} {updated:%B %Y}. {url}"
    bibtex = "\n".join(
        [
            f"@misc{{cip-{incident.slug},",
            f"  title = {{{{{title.translate(BIBTEX_SPECIAL)}}}}},",
            "  author = {{Cyber Incident Portal}},",
            f"  year = {{{updated:%Y}}},",
            f"  howpublished = {{\\url{{{url}}}}},",
            f"  note = {{Last updated {updated:%Y-%m-%d}}}",
            "}",
        ]
    )
    return Citation(url=url, text=text, bibtex=bibtex)
