"""A loose check of EU VAT identification numbers: the country prefix and the shape of the
number that follows it, as each member state writes it. No checksum, no VIES lookup."""

import re

# Greece writes EL, not its ISO code GR.
_SHAPES = {
    "AT": r"U\d{8}",
    "BE": r"[01]\d{9}",
    "BG": r"\d{9,10}",
    "CY": r"\d{8}[A-Z]",
    "CZ": r"\d{8,10}",
    "DE": r"\d{9}",
    "DK": r"\d{8}",
    "EE": r"\d{9}",
    "EL": r"\d{9}",
    "ES": r"[A-Z0-9]\d{7}[A-Z0-9]",
    "FI": r"\d{8}",
    "FR": r"[A-HJ-NP-Z0-9]{2}\d{9}",
    "HR": r"\d{11}",
    "HU": r"\d{8}",
    "IE": r"\d{7}[A-W][A-I]?|\d[A-Z+*]\d{5}[A-W]",
    "IT": r"\d{11}",
    "LT": r"\d{9}|\d{12}",
    "LU": r"\d{8}",
    "LV": r"\d{11}",
    "MT": r"\d{8}",
    "NL": r"\d{9}B\d{2}",
    "PL": r"\d{10}",
    "PT": r"\d{9}",
    "RO": r"\d{2,10}",
    "SE": r"\d{12}",
    "SI": r"\d{8}",
    "SK": r"\d{10}",
}
_PATTERNS = {prefix: re.compile(shape) for prefix, shape in _SHAPES.items()}
_COUNTRY_PREFIX = {"GR": "EL"}


def normalise_vat_id(value: str) -> str:
    """Upper case, without the spaces, dots and dashes people type."""
    return re.sub(r"[\s.\-]", "", value).upper()


def vat_id_error(vat_id: str, country: str) -> str | None:
    """Why ``vat_id`` (normalised) is not an EU VAT id for ``country`` (ISO code), or None.

    Outside the EU any VAT or tax number is accepted as typed.
    """
    expected = _COUNTRY_PREFIX.get(country, country)
    if expected not in _PATTERNS:
        return None
    prefix, number = vat_id[:2], vat_id[2:]
    if prefix not in _PATTERNS:
        return f"An EU VAT id starts with its country code ({expected} for this country)."
    if prefix != expected:
        return f"This VAT id is from {prefix}; the billing address is in {country}."
    if not _PATTERNS[prefix].fullmatch(number):
        return f"This does not look like a {prefix} VAT id: check the digits after {prefix}."
    return None
