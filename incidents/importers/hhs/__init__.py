"""The US HHS Office for Civil Rights breach portal's cases into the catalogue.

Reading (``read``: ``read_rows``, the header checked first) and mapping (``map``:
``parse_row``, which also decides what is a cyber incident) are pure; ``resolve`` finds
the victim and the event the catalogue may already hold (VCDB's); ``write.HhsImporter``
writes a whole batch as one catalogue write. docs/importers/hhs.md says what is imported,
what is skipped and why, and how cases are merged with other datasets' incidents.
"""

from .map import DATASET, ParsedCase, RowError, not_cyber, parse_row
from .read import HeaderError, RawRow, count_rows, read_rows
from .write import HhsImporter

__all__ = [
    "DATASET",
    "HeaderError",
    "HhsImporter",
    "ParsedCase",
    "RawRow",
    "RowError",
    "count_rows",
    "not_cyber",
    "parse_row",
    "read_rows",
]
