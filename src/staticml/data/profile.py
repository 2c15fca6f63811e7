"""Training profile: what each input column looked like in training, for drift checks.

``profile(source, inputs)`` reads the training data (DataFrame, CSV/Parquet path streamed
in batches, or the flat float matrix the C library takes) through the model's schema, so
it sees exactly the values the artifact sees: numbers as float64, string columns as
vocabulary codes (-1 = a string the model does not know, NaN = missing).

Per number column: decile bin edges, the count of training values in each bin, missing
and infinite counts, min/max/mean/std of the finite values.  Per string column: the count
of each vocabulary category, of other strings ("unseen": strings the model's vocabulary
lacks, e.g. infrequent categories an encoder dropped) and of missing values.

Bins (shared with ``drift`` and the C monitor, which must put every value in the same bin):

* number: ``edges`` are strictly increasing finite values; bin k of ``len(edges) + 1``
  holds ``edges[k-1] <= x < edges[k]`` (first and last bins open-ended, so +-inf and any
  value outside the training range land in them): ``bin = #{edges <= x}``, i.e.
  ``numpy.searchsorted(edges, x, side="right")``.  NaN goes to an extra "missing" bin.
* string: bin = the code for an integral code in ``[0, len(categories))``, then one
  "unseen" bin (code -1 or anything else) and one "missing" bin (NaN).

Edges are the 10%, 20%, ..., 90% quantiles (``method="inverted_cdf"``: every edge is a
training value; repeated edges of discrete columns are merged, so such columns get fewer
bins).  Computed from all rows when the data has at most ``sample_rows`` rows; otherwise
from a uniform random sample of that many rows (one pass: each row gets a pseudo-random
key from its position and the ``sample_rows`` smallest keys are kept), and a second pass
counts the exact bin populations.  A sampled edge is off by ~sqrt(p(1-p)/n) in probability (~0.1%
for 200k rows), which makes a bin hold 9.9% instead of 10%; the counts, hence PSI's
training proportions, are always exact.

The result is plain JSON (no NaN or infinity: statistics of a column without finite
values are null).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from ..errors import InputError
from ..ir.ops import InputColumn
from .io import iter_batches
from .schema import RowEncoder

FORMAT = "staticml.profile/1"
DEFAULT_BINS = 10
SAMPLE_ROWS = 200_000
SAMPLE_VALUES = 4_000_000     # rows x number columns kept for edges (32 MB of doubles)
FRAME_CHUNK = 65_536


# ----------------------------------------------------------------------------- reading

def encoded_batches(source: Any, inputs: Sequence[InputColumn],
                    chunk_rows: int = FRAME_CHUNK) -> Iterator[np.ndarray]:
    """The data as float64 matrices in input order (the C library's flat row format).

    ``source``: a pandas DataFrame (by column name), a path to a CSV/Parquet file (streamed),
    or a 2-D float array that already is that matrix (string columns as codes).  Other
    arrays (e.g. object arrays holding strings) are encoded like ``Artifact.predict``'s.
    """
    encoder = RowEncoder(inputs)
    if isinstance(source, (str, Path)):
        for df in iter_batches(source, inputs):
            yield encoder.encode(df)
        return
    if type(source).__module__.startswith("pandas") and hasattr(source, "columns"):
        for start in range(0, len(source), chunk_rows):
            yield encoder.encode(source.iloc[start:start + chunk_rows])
        return
    arr = np.asarray(source)
    if arr.ndim != 2 or arr.shape[1] != len(inputs):
        raise InputError(f"expected a 2-D array with {len(inputs)} columns (the model's inputs "
                         f"in order), got shape {arr.shape}")
    if arr.dtype.kind != "f":
        arr = encoder.encode(arr)
    for start in range(0, arr.shape[0], chunk_rows):
        yield np.asarray(arr[start:start + chunk_rows], dtype=np.float64)


# ----------------------------------------------------------------------------- bins

def numeric_bins(edges: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Bin of each value: ``#{edges <= x}``; NaN -> ``len(edges) + 1`` (missing)."""
    idx = np.searchsorted(edges, x, side="right")
    idx[np.isnan(x)] = len(edges) + 1
    return idx


def code_bins(n_categories: int, x: np.ndarray) -> np.ndarray:
    """Bin of each code: the code if integral in [0, n); NaN -> n + 1; anything else -> n."""
    idx = np.full(x.shape, n_categories, dtype=np.int64)
    known = (x >= 0) & (x < n_categories)
    known &= np.floor(np.where(known, x, 0.0)) == x
    idx[known] = x[known].astype(np.int64)
    idx[np.isnan(x)] = n_categories + 1
    return idx


def n_bins(col: dict) -> int:
    """Bins of a profiled column, as PSI sees them (value bins + unseen + missing)."""
    if col["kind"] == "number":
        return len(col["edges"]) + 2
    return len(col["categories"]) + 2


def column_bins(col: dict, x: np.ndarray) -> np.ndarray:
    if col["kind"] == "number":
        return numeric_bins(np.asarray(col["edges"], dtype=np.float64), x)
    return code_bins(len(col["categories"]), x)


def bin_counts(col: dict) -> list[int]:
    """The training counts in the bin order of ``column_bins``."""
    if col["kind"] == "number":
        return [*col["counts"], col["missing"]]
    return [*col["counts"], col["unseen"], col["missing"]]


def inputs_of(profile: dict) -> list[InputColumn]:
    """The input columns a profile was made for (names, kinds, vocabularies)."""
    return [InputColumn(c["name"], "number") if c["kind"] == "number"
            else InputColumn(c["name"], "string", tuple(c["categories"]))
            for c in profile["columns"]]


# ----------------------------------------------------------------------------- profiling

class _Moments:
    """Count, mean and sum of squared deviations, merged batch by batch (Chan et al.), so
    the mean and std of a long stream are as accurate as a two-pass computation."""

    def __init__(self) -> None:
        self.n, self.mean, self.m2 = 0, 0.0, 0.0
        self.lo, self.hi = np.inf, -np.inf

    def add(self, x: np.ndarray) -> None:
        if x.size == 0:
            return
        nb, mb = x.size, float(x.mean())
        with np.errstate(over="ignore"):  # |x| near DBL_MAX: std becomes inf -> null
            m2b = float(np.square(x - mb).sum())
        n = self.n + nb
        delta = mb - self.mean
        self.mean += delta * nb / n
        self.m2 += m2b + delta * delta * self.n * nb / n
        self.n = n
        self.lo, self.hi = min(self.lo, float(x.min())), max(self.hi, float(x.max()))


def _finite_or_none(v: float) -> float | None:
    return float(v) if np.isfinite(v) else None


class _Reservoir:
    """A uniform sample of at most ``cap`` rows: row i gets the key splitmix64(seed + i) and
    the rows with the ``cap`` smallest keys are kept.  Keys depend on the row's position
    only, so the sample (hence the edges) does not depend on how the source is batched:
    a CSV and a Parquet copy of the same table get the same profile."""

    def __init__(self, cap: int, width: int, seed: int) -> None:
        self.cap = cap
        self.seed = np.uint64(seed)
        self.seen = 0
        self.keys = np.empty(0, dtype=np.uint64)
        self.rows = np.empty((0, width))

    def add(self, rows: np.ndarray) -> None:
        z = np.arange(self.seen, self.seen + rows.shape[0], dtype=np.uint64)
        self.seen += rows.shape[0]
        z += self.seed
        z *= np.uint64(0x9E3779B97F4A7C15)
        z ^= z >> np.uint64(30)
        z *= np.uint64(0xBF58476D1CE4E5B9)
        z ^= z >> np.uint64(27)
        z *= np.uint64(0x94D049BB133111EB)
        z ^= z >> np.uint64(31)
        self.keys = np.concatenate([self.keys, z])
        self.rows = np.concatenate([self.rows, rows])
        if self.keys.size > self.cap:
            keep = np.argpartition(self.keys, self.cap - 1)[:self.cap]
            keep.sort()
            self.keys, self.rows = self.keys[keep], self.rows[keep]


def _edges(values: np.ndarray, bins: int) -> list[float]:
    values = values[np.isfinite(values)]
    if values.size == 0:
        return []
    probs = np.arange(1, bins) / bins
    edges = np.unique(np.quantile(values, probs, method="inverted_cdf"))
    return [float(e) for e in edges]


def profile(source: Any, inputs: Sequence[InputColumn], bins: int = DEFAULT_BINS, *,
            sample_rows: int | None = None, seed: int = 0) -> dict:
    """Profile the training data ``source`` over the model's ``inputs`` (see module doc).

    Returns ``{"format": "staticml.profile/1", "rows": N, "bins": bins,
    "edges_from": {"rows": rows used for the edges, "exact": bool},
    "columns": [per input, in input order:
      number: {"name", "kind": "number", "edges": [...], "counts": [len(edges)+1 ints],
               "missing", "missing_rate", "infinite", "min", "max", "mean", "std"},
      string: {"name", "kind": "string", "categories": [vocabulary], "counts": [per
               category], "unseen", "unseen_rate", "missing", "missing_rate"}]}``.
    ``unseen_rate`` is over non-missing values; ``std`` is the population std (ddof 0).
    """
    if bins < 2:
        raise InputError(f"bins must be at least 2, got {bins}")
    inputs = list(inputs)
    num = [j for j, c in enumerate(inputs) if c.dtype == "number"]
    cat = [j for j, c in enumerate(inputs) if c.dtype != "number"]
    if sample_rows is None:
        sample_rows = max(10_000, min(SAMPLE_ROWS, SAMPLE_VALUES // max(len(num), 1)))
    moments = {j: _Moments() for j in num}
    missing = dict.fromkeys(range(len(inputs)), 0)
    infinite = dict.fromkeys(num, 0)
    cat_counts = {j: np.zeros(len(inputs[j].vocabulary) + 2, dtype=np.int64) for j in cat}
    sample = _Reservoir(sample_rows, len(num), seed)
    rows = 0
    for x in encoded_batches(source, inputs):
        rows += x.shape[0]
        for j in num:
            v = x[:, j]
            fin = np.isfinite(v)
            nan = np.isnan(v)
            missing[j] += int(nan.sum())
            infinite[j] += int((~fin & ~nan).sum())
            moments[j].add(v[fin])
        for j in cat:
            cat_counts[j] += np.bincount(code_bins(len(inputs[j].vocabulary), x[:, j]),
                                         minlength=len(inputs[j].vocabulary) + 2)
        if num:
            sample.add(x[:, num])
    exact = rows <= sample_rows
    edges = {j: _edges(sample.rows[:, k], bins) for k, j in enumerate(num)}
    counts = {j: np.zeros(len(edges[j]) + 2, dtype=np.int64) for j in num}
    if num:
        batches = [sample.rows] if exact else (x[:, num] for x in encoded_batches(source, inputs))
        for x in batches:
            for k, j in enumerate(num):
                counts[j] += np.bincount(numeric_bins(np.asarray(edges[j]), x[:, k]),
                                         minlength=len(edges[j]) + 2)
    for j in cat:
        missing[j] = int(cat_counts[j][-1])
    columns = []
    for j, col in enumerate(inputs):
        rate = missing[j] / rows if rows else None
        if col.dtype == "number":
            m = moments[j]
            columns.append({
                "name": col.name, "kind": "number", "edges": edges[j],
                "counts": [int(c) for c in counts[j][:-1]],
                "missing": missing[j], "missing_rate": rate, "infinite": infinite[j],
                "min": _finite_or_none(m.lo), "max": _finite_or_none(m.hi),
                "mean": _finite_or_none(m.mean) if m.n else None,
                "std": _finite_or_none(np.sqrt(m.m2 / m.n)) if m.n else None,
            })
        else:
            c = cat_counts[j]
            vocab = len(col.vocabulary)
            present = rows - int(c[vocab + 1])
            columns.append({
                "name": col.name, "kind": "string", "categories": list(col.vocabulary),
                "counts": [int(v) for v in c[:vocab]],
                "unseen": int(c[vocab]), "unseen_rate": int(c[vocab]) / present if present
                else None, "missing": missing[j], "missing_rate": rate,
            })
    return {"format": FORMAT, "rows": rows, "bins": bins,
            "edges_from": {"rows": int(sample.rows.shape[0]) if num else rows, "exact": exact},
            "columns": columns}
