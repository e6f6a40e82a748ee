"""Reading VERIS records: .json files, directories of them, and VCDB's JSON Lines."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass
class RawRecord:
    where: str
    external_id: str
    data: dict | None
    error: str = ""


def read_records(paths: Iterable[str | Path]) -> Iterator[RawRecord]:
    """Every VERIS record in the given .json files, directories and .jsonl files."""
    for path in map(Path, paths):
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.suffix.lower() == ".json")
            for file in files:
                yield _read_json_file(file)
        elif path.suffix.lower() in (".jsonl", ".ndjson"):
            yield from _read_jsonl(path)
        elif path.is_file():
            yield _read_json_file(path)
        else:
            raise FileNotFoundError(f"{path}: no such file or directory")


def _read_json_file(path: Path) -> RawRecord:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return RawRecord(str(path), path.stem, None, f"not valid JSON ({exc})")
    return RawRecord(str(path), path.stem, data)


def _read_jsonl(path: Path) -> Iterator[RawRecord]:
    # VCDB's JSON Lines files come with NAME.source_files.txt: line N names the
    # original file of line N, the only unique key (incident_id repeats).
    names_file = path.with_name(path.name.rsplit(".", 1)[0] + ".source_files.txt")
    names = names_file.read_text().splitlines() if names_file.exists() else None
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            where = f"{path.name}:{lineno}"
            if not line.strip():
                continue
            key = Path(names[lineno - 1]).stem if names and lineno <= len(names) else ""
            try:
                data = json.loads(line)
            except json.JSONDecodeError as exc:
                yield RawRecord(where, key, None, f"not valid JSON ({exc.msg})")
                continue
            if not key and isinstance(data, dict):
                key = str(data.get("incident_id") or "")
            yield RawRecord(where, key, data)
