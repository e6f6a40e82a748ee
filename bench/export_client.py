"""Download one export from a running server and measure it (bench/export_benchmark.sh).

    python bench/export_client.py URL --workers PID,PID [--cookie sessionid=...] [--format csv]

Reads the body as it arrives (into a temporary file), and prints one JSON line: time to the
response headers, to the first body byte and to the first rows, rows, bytes, seconds, rows/s, and
the resident memory (VmRSS, /proc) of each server worker, sampled every 0.1 s: before the
request, the highest seen during it, and after. Rows are counted after the download, by
parsing what was received (CSV rows with csv, JSON and STIX with json), so a newline inside
a quoted cell does not count as a row; the download is timed on its own. --stop-after-mib
hangs up early (CSV only: the whole rows received are counted).
"""

from __future__ import annotations

import argparse
import csv
import http.client
import json
import sys
import tempfile
import threading
import time
from urllib.parse import urlsplit


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Sampler(threading.Thread):
    def __init__(self, pids, interval=0.1):
        super().__init__(daemon=True)
        self.pids, self.interval = pids, interval
        self.before = {pid: rss_kib(pid) for pid in pids}
        self.peak = dict(self.before)
        self.timeline = []  # (seconds since start, {pid: KiB})
        self.stopped = threading.Event()
        self.started = time.perf_counter()

    def run(self):
        while not self.stopped.is_set():
            now = {pid: rss_kib(pid) for pid in self.pids}
            self.timeline.append((time.perf_counter() - self.started, now))
            for pid, kib in now.items():
                self.peak[pid] = max(self.peak[pid], kib)
            self.stopped.wait(self.interval)


def count_rows(path: str, fmt: str) -> int:
    if fmt == "csv":
        with open(path, encoding="utf-8-sig", newline="") as f:
            return sum(1 for _ in csv.reader(f)) - 1  # the header row
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    if fmt == "json":
        return len(data["incidents"])
    return sum(1 for o in data["objects"] if o["type"] == "incident")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--workers", required=True, help="server worker pids, comma-separated")
    parser.add_argument("--cookie", default="")
    parser.add_argument("--format", default="csv", choices=["csv", "json", "stix"])
    parser.add_argument("--label", default="")
    parser.add_argument(
        "--stop-after-mib",
        type=float,
        default=0,
        help="hang up after this much (the rows counted are the whole ones received)",
    )
    args = parser.parse_args()
    pids = [int(p) for p in args.workers.split(",") if p]
    parts = urlsplit(args.url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")

    sampler = Sampler(pids)
    sampler.start()
    out = tempfile.NamedTemporaryFile(prefix="export-", suffix=".out", delete=True)  # noqa: SIM115
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=600)
    started = time.perf_counter()
    conn.request("GET", path, headers={"Cookie": args.cookie} if args.cookie else {})
    response = conn.getresponse()
    headers_at = time.perf_counter() - started
    first_byte_at = first_rows_at = None
    size = 0
    head = b""
    while True:
        piece = response.read1(1 << 20)
        if not piece:
            break
        if first_byte_at is None:
            first_byte_at = time.perf_counter() - started
            if len(piece) > 4096:  # the header and rows came together
                first_rows_at = first_byte_at
        elif first_rows_at is None:
            first_rows_at = time.perf_counter() - started
        if size < 300:
            head += piece[:300]
        size += len(piece)
        out.write(piece)
        if args.stop_after_mib and size >= args.stop_after_mib * 2**20:
            break
    seconds = time.perf_counter() - started
    partial = bool(args.stop_after_mib) and size >= args.stop_after_mib * 2**20
    conn.close()
    time.sleep(0.3)
    sampler.stopped.set()
    sampler.join()
    after = {pid: rss_kib(pid) for pid in pids}
    out.flush()
    rows = count_rows(out.name, args.format) if response.status == 200 and not partial else 0
    if partial and args.format == "csv":  # the last row may be cut short: not counted
        rows = count_rows(out.name, "csv") - 1
    out.close()
    growth = {pid: (sampler.peak[pid] - sampler.before[pid]) / 1024 for pid in pids}
    result = {
        "label": args.label,
        "status": response.status,
        "partial": partial,
        "headers_s": round(headers_at, 3),
        "first_byte_s": round(first_byte_at or 0, 3),
        # The first piece is the file's head (header row, JSON opening), written before any
        # incident is read; this is when the next one (the first rows) arrived.
        "first_rows_s": round(first_rows_at or 0, 3),
        "seconds": round(seconds, 2),
        "rows": rows,
        "mib": round(size / 2**20, 1),
        "rows_per_s": round(rows / seconds) if seconds else 0,
        "rss_before_mib": {pid: round(kib / 1024, 1) for pid, kib in sampler.before.items()},
        "rss_peak_mib": {pid: round(kib / 1024, 1) for pid, kib in sampler.peak.items()},
        "rss_after_mib": {pid: round(kib / 1024, 1) for pid, kib in after.items()},
        "rss_growth_mib": round(max(growth.values()), 1),
        # The worker that grew most, every 10% of the download.
        "rss_timeline_mib": [
            (round(t, 1), round(max(s.values()) / 1024, 1))
            for t, s in sampler.timeline[:: max(1, len(sampler.timeline) // 10)]
        ],
    }
    if response.status != 200:
        result["body"] = head[:300].decode(errors="replace")
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
