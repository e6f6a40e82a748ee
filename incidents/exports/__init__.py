"""Exports of a finder's result set: CSV, JSON and STIX 2.1 (docs/exports.md).

Allow-lists per audience: ``records.public_record`` is all a non-member's file holds
(built from ``for_export(member=False)``, which loads nothing gated);
``records.member_record`` adds what members see. The writers stream, a chunk of rows at
a time, and never hold the whole file.
"""
