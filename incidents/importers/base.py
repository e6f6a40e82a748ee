"""What every importer shares: a report of what happened, and a progress bar."""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass, field

from tqdm import tqdm


class ImportAborted(Exception):
    """Raised to roll the whole batch back (the report says why)."""


@dataclass(frozen=True)
class Problem:
    """A record that could not be imported: where it is, which field, and why."""

    where: str  # "vcdb_validated.jsonl:123" or a STIX id
    field: str
    message: str

    def __str__(self):
        return (
            f"{self.where}: {self.field}: {self.message}"
            if self.field
            else (f"{self.where}: {self.message}")
        )


@dataclass
class ImportReport:
    """Counts per kind of object and outcome, plus the problems met."""

    counts: Counter = field(default_factory=Counter)
    problems: list[Problem] = field(default_factory=list)

    def add(self, kind: str, outcome: str, n: int = 1):
        self.counts[(kind, outcome)] += n

    def skip(self, where: str, field_name: str, message: str, kind: str = "record"):
        self.problems.append(Problem(where, field_name, message))
        self.add(kind, "skipped")

    def total(self, outcome: str) -> int:
        return sum(n for (_, o), n in self.counts.items() if o == outcome)

    def summary_lines(self, max_problems: int = 50) -> list[str]:
        kinds = sorted({k for k, _ in self.counts})
        lines = []
        for kind in kinds:
            parts = [
                f"{self.counts[(kind, o)]} {o}"
                for o in (
                    "created",
                    "merged",
                    "matched",
                    "updated",
                    "unchanged",
                    "removed",
                    "skipped",
                    "not created",
                    "failed",
                )
                if self.counts[(kind, o)]
            ]
            lines.append(f"{kind}: " + ", ".join(parts))
        if self.problems:
            lines.append(f"{len(self.problems)} problem(s):")
            lines += [f"  {p}" for p in self.problems[:max_problems]]
            if len(self.problems) > max_problems:
                lines.append(f"  ... and {len(self.problems) - max_problems} more")
        return lines


def progress(iterable=None, *, total=None, desc="", unit="record", stream=None):
    """A progress bar with rate and ETA on a terminal; silent otherwise (logs, CI, tests)."""
    stream = stream or sys.stderr
    return tqdm(
        iterable,
        total=total,
        desc=desc,
        unit=unit,
        file=stream,
        disable=not (hasattr(stream, "isatty") and stream.isatty()),
        dynamic_ncols=True,
        mininterval=0.25,
    )
