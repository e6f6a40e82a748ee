"""VERIS (VCDB) incidents into the catalogue.

Reading (``read``: ``read_records``) and mapping (``map``: ``parse_record``) are pure
functions of the input; ``write.VerisImporter`` writes a whole batch set-wise as one
catalogue write (incidents.services). The field-by-field mapping, with what is dropped
and why, is documented in docs/importers/veris.md.
"""

from .map import (
    ACTOR_TYPES,
    MAX_TECHNIQUES_PER_VARIETY,
    MOTIVES,
    NAICS_SECTORS,
    ParsedIncident,
    RecordError,
    actor_name,
    load_technique_map,
    naics_rule,
    parse_record,
)
from .read import RawRecord, read_records
from .references import SourceRef
from .write import VCDB, VerisImporter

__all__ = [
    "ACTOR_TYPES",
    "MAX_TECHNIQUES_PER_VARIETY",
    "MOTIVES",
    "NAICS_SECTORS",
    "VCDB",
    "ParsedIncident",
    "RawRecord",
    "RecordError",
    "SourceRef",
    "VerisImporter",
    "actor_name",
    "load_technique_map",
    "naics_rule",
    "parse_record",
    "read_records",
]
