"""Import MITRE ATT&CK Enterprise from a STIX 2.x bundle: tactics, techniques, groups with the
techniques and software they use, and (from MISP's galaxy) the groups' type and country.

Reading (``read``) and mapping (``map``): the raw JSON is filtered by type first (the
~13,000 relationships this importer does not use cost nothing), then every object that is
mapped is parsed and validated by the ``stix2`` library. A malformed object is skipped and
reported with where it is (index and STIX id) and which field is wrong; a file that is not
a STIX bundle aborts the import.

Writing (``write``): one catalogue write (incidents.services), set-based queries
(bulk_create, bulk_update, one insert and one delete for technique-tactic links), so a full
release takes a few seconds. Records are found again by their ATT&CK id, so a re-import
updates in place and counts what did not change. The mapping, and what is dropped, is
described in docs/importers/attack.md.
"""

from .galaxy import GALAXY_DATASET, load_galaxy, read_galaxy
from .map import clean_description, read_release
from .read import load_bundle
from .write import DATASET, AttackImportResult, import_attack

__all__ = [
    "DATASET",
    "GALAXY_DATASET",
    "AttackImportResult",
    "clean_description",
    "import_attack",
    "load_bundle",
    "load_galaxy",
    "read_galaxy",
    "read_release",
]
