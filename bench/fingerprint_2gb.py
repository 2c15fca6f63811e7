"""Fingerprint a ~2 GB CSV in bounded memory: throughput and peak RSS.

    .venv/bin/python bench/fingerprint_2gb.py                 # 2 GB CSV in /tmp, deleted after
    .venv/bin/python bench/fingerprint_2gb.py --gb 0.2        # a quicker run
    .venv/bin/python bench/fingerprint_2gb.py --parquet       # also stream-convert to Parquet
                                                              # and check the hashes match

The file (fixed seed) has 13 columns per row: 6 float64 (N(0,1) scaled, 3% missing in one),
2 integers, 1 boolean, 2 low-cardinality strings (5 and 50 levels, 2% missing), 1 unique
string id per row and 1 timestamp, about 170 bytes a row.  It is written with pyarrow's
CSV writer in chunks, so generating it needs little memory too.

The fingerprint runs in a fresh child process so its peak RSS (VmHWM from /proc) is the
fingerprint's own, reported next to the same process's RSS right after importing staticml
(the interpreter + numpy + pyarrow baseline).  Throughput = file bytes / wall time; the
child's CPU time (user + sys; pyarrow's CSV parsing uses every core) is printed too, as
wall time depends on what else the machine runs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

CHILD = r"""
import json, resource, sys, time
def hwm():
    for line in open("/proc/self/status"):
        if line.startswith(("VmHWM", "VmRSS")):
            yield line.split(":")[0], int(line.split()[1]) // 1024
from staticml.data.fingerprint import fingerprint
base = dict(hwm())
def cpu():
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime
c0, t0 = cpu(), time.perf_counter()
fp = fingerprint(sys.argv[1])
wall, cpu_s = time.perf_counter() - t0, cpu() - c0
print(json.dumps({"wall_s": wall, "cpu_s": cpu_s,
                  "baseline_rss_mb": base["VmRSS"], "peak_rss_mb": dict(hwm())["VmHWM"],
                  "rows": fp["rows"], "content_sha256": fp["content_sha256"],
                  "unordered_sha256": fp["unordered_sha256"], "schema": fp["schema"]}))
"""


def _chunk(rng: np.random.Generator, start: int, n: int) -> pa.Table:
    levels5 = np.array(["red", "green", "blue", "cyan", "magenta"])
    levels50 = np.array([f"city_{k:02d}" for k in range(50)])
    f0 = rng.normal(size=n)
    f0[rng.random(n) < 0.03] = np.nan
    s5 = levels5[rng.integers(0, 5, n)].astype(object)
    s5[rng.random(n) < 0.02] = None
    cols = {
        "f0": f0,
        **{f"f{k}": rng.normal(size=n) * 10.0 ** k for k in range(1, 6)},
        "i0": rng.integers(0, 100, n),
        "i1": rng.integers(-10**9, 10**9, n),
        "flag": rng.random(n) < 0.3,
        "colour": pa.array(s5, type=pa.string()),
        "city": levels50[rng.integers(0, 50, n)],
        "id": np.char.add("user-", np.arange(start, start + n).astype(str)),
        "ts": (np.datetime64("2020-01-01T00:00:00") +
               rng.integers(0, 10**8, n).astype("timedelta64[s]")),
    }
    return pa.table(cols)


def generate(path: Path, target_bytes: int, chunk_rows: int = 250_000) -> int:
    rng = np.random.default_rng(20240611)
    rows = 0
    with open(path, "wb") as fh:
        writer = None
        while fh.tell() < target_bytes:
            table = _chunk(rng, rows, chunk_rows)
            if writer is None:
                writer = pacsv.CSVWriter(fh, table.schema)
            writer.write_table(table)
            rows += chunk_rows
        if writer is not None:
            writer.close()
    return rows


def to_parquet(csv: Path, out: Path) -> None:
    """Stream-convert with the types the fingerprint would read (bounded memory)."""
    reader = pacsv.open_csv(csv, read_options=pacsv.ReadOptions(block_size=1 << 24))
    writer = None
    for batch in reader:
        if writer is None:
            writer = pq.ParquetWriter(out, batch.schema)
        writer.write_batch(batch)
    writer.close()


def measure(path: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    proc = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True,
                          text=True, env=env, check=True)
    return json.loads(proc.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gb", type=float, default=2.0, help="CSV size in GB (default 2)")
    ap.add_argument("--dir", default=tempfile.gettempdir(), help="where to write (default /tmp)")
    ap.add_argument("--parquet", action="store_true", help="also fingerprint a Parquet copy")
    ap.add_argument("--keep", action="store_true", help="keep the generated files")
    args = ap.parse_args()
    csv = Path(args.dir) / "staticml-fingerprint-bench.csv"
    parquet = csv.with_suffix(".parquet")
    try:
        t0 = time.perf_counter()
        rows = generate(csv, int(args.gb * 1e9))
        size = csv.stat().st_size
        print(f"generated {csv} ({size / 1e9:.2f} GB, {rows:,} rows) in "
              f"{time.perf_counter() - t0:.0f} s", flush=True)
        r = measure(csv)
        print(f"CSV      : {r['rows']:,} rows in {r['wall_s']:.1f} s = "
              f"{size / 1e6 / r['wall_s']:.0f} MB/s, {r['rows'] / r['wall_s'] / 1e6:.2f} M rows/s "
              f"(CPU {r['cpu_s']:.1f} s on {os.cpu_count()} cores);"
              f" peak RSS {r['peak_rss_mb']} MB (baseline after imports {r['baseline_rss_mb']} MB)")
        print(f"           schema {r['schema']}")
        if args.parquet:
            to_parquet(csv, parquet)
            p = measure(parquet)
            print(f"Parquet  : {parquet.stat().st_size / 1e9:.2f} GB in {p['wall_s']:.1f} s "
                  f"(CPU {p['cpu_s']:.1f} s), peak RSS {p['peak_rss_mb']} MB; content hash equal to the CSV's: "
                  f"{p['content_sha256'] == r['content_sha256']}, unordered equal: "
                  f"{p['unordered_sha256'] == r['unordered_sha256']}")
    finally:
        if not args.keep:
            csv.unlink(missing_ok=True)
            parquet.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
