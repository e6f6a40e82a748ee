"""Importers of external datasets (MITRE ATT&CK, VERIS/VCDB) into the catalogue."""
