"""Drift: does new data still look like the training data, column by column?

``drift(profile, data)`` bins ``data`` exactly as the training profile did (see
``profile.py``; the same bins the C monitor uses) and reports per column:

* ``psi``: the population stability index over the column's bins, value bins plus the
  "missing" bin (and "unseen" for strings), so a surge of missing values or unknown
  categories is drift too:  ``PSI = sum_i (q_i - p_i) * ln(q_i / p_i)``, p = training
  proportions, q = the data's.  Empty bins: a bin with no row on one side counts as half a
  row there (``p_i = max(C_i, 0.5) / N``, ``q_i = max(c_i, 0.5) / n``); a bin empty on
  both sides contributes 0.  Half a row (a continuity correction) rather than a fixed
  epsilon such as 1e-4: with 100 rows a rare category (1%) is absent a third of the time,
  and an epsilon would charge ``0.01 * ln(100)`` = 0.046 for each such bin, enough for a
  few rare categories to fake drift; half a row keeps the charge at the evidence an empty
  bin actually carries (its true share is probably below ~1/n).
* ``psi_adjusted = max(0, psi - (m - 1) * (1/n + 1/N))``, m = bins with training rows.
  PSI is a sum of squared deviations scaled like Pearson's chi-square: when nothing
  drifted, ``PSI / (1/n + 1/N)`` is about chi-square with m - 1 degrees of freedom, so
  sampling noise alone makes PSI about ``(m - 1) * (1/n + 1/N)`` on average (the 1/N for
  the training proportions' own noise).  With 10 bins and n = 100 rows that is 0.09,
  nearly the 0.1 threshold: raw PSI flags a third of fresh 100-row samples of the very
  training distribution.  ``psi_adjusted`` removes that bias, so it estimates the same
  quantity at every sample size; raw and adjusted converge as n grows.
* ``noise_level = chi2.ppf(0.99, m - 1) * (1/n + 1/N)``: the PSI that sampling noise alone
  exceeds about 1% of the time (m - 1 >= 1).
* ``verdict``: "moderate" when ``psi_adjusted > 0.1``, "major" when ``> 0.25`` (the usual
  PSI thresholds), and in both cases only if ``psi > noise_level``.  The first condition
  is the practical one (is the change big?), the second the statistical one (is it more
  than noise?).  Removing the mean alone is not enough at small n: the noise's spread is
  ``sqrt(2 (m - 1)) (1/n + 1/N)``, and PSI's tail is heavier than chi-square's, so with 11
  bins (10 deciles + missing) 5.4% of fresh 100-row samples still pass 0.1, and 14% with
  20 bins.  With both conditions, measured on fresh samples of the training distribution
  at n = 100: 2.0% (10 bins), 2.4% (11), 3.2% (20 equiprobable categories), <1% for skewed
  categoricals, 0 at n = 1000; a 0.5-standard-deviation shift of a normal column (binned
  PSI 0.24) is flagged ~86% of the time at n = 100, >99% at n = 200, always from n = 500.
* ``ks`` (numbers): the Kolmogorov-Smirnov statistic of the *binned* distributions of the
  non-missing values: max over bin boundaries of |F_train - F_data|.  It can only see the
  decile boundaries, so it underestimates the exact KS statistic by at most the larger
  of the two distributions' mass in one bin; it is what the bins support without keeping
  training values.
* ``out_of_range_rate`` (numbers): share of non-missing values outside the training
  [min, max] (infinities included); ``unseen_rate`` (strings): share of non-missing values
  that are not a vocabulary category; ``missing_rate`` with the training rate beside it.

``report(profile, rows, counts)`` turns bin counts into that report; it is what the C
monitor's counters go through too (``report_from_counters``), so Python and C agree.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any, Sequence

import numpy as np

from ..errors import InputError
from .profile import FORMAT, bin_counts, column_bins, encoded_batches, inputs_of, n_bins

MODERATE = 0.1
MAJOR = 0.25
VERDICTS = ("none", "moderate", "major")


# ----------------------------------------------------------------------------- the statistics

def psi(train: Sequence[int], train_rows: int, counts: Sequence[int], rows: int) -> float:
    """Population stability index with the half-row rule for empty bins (module doc).

    Summed bin by bin in order, with the same operations as the C monitor's
    ``sm_mon_psi``, so both give the same double (up to one ulp of each log).
    """
    if rows <= 0 or train_rows <= 0:
        return math.nan
    n, big_n = float(rows), float(train_rows)
    s = 0.0
    for c_train, c in zip(train, counts):
        if c_train == 0 and c == 0:
            continue
        p = (float(c_train) if c_train > 0 else 0.5) / big_n
        q = (float(c) if c > 0 else 0.5) / n
        s += (q - p) * math.log(q / p)
    return s


def degrees_of_freedom(train: Sequence[int]) -> int:
    """Bins that hold training rows, minus one (the chi-square degrees of freedom)."""
    return max(sum(1 for c in train if c > 0) - 1, 0)


def psi_adjusted(value: float, df: int, train_rows: int, rows: int) -> float:
    """PSI minus its expected value under no drift, ``df * (1/n + 1/N)``, floored at 0."""
    if rows <= 0 or value != value:
        return math.nan
    adj = value - float(df) * (1.0 / float(rows) + 1.0 / float(train_rows))
    return adj if adj > 0.0 else 0.0


NOISE_QUANTILE = 0.99


@lru_cache(maxsize=None)
def critical_value(df: int) -> float:
    """chi-square quantile ``NOISE_QUANTILE`` for ``max(df, 1)`` degrees of freedom (scipy,
    a scikit-learn dependency).  The C monitor embeds this number per column."""
    from scipy.stats import chi2

    return float(chi2.ppf(NOISE_QUANTILE, max(df, 1)))


def noise_level(critical: float, train_rows: int, rows: int) -> float:
    """The PSI sampling noise alone exceeds ~1% of the time: ``critical * (1/n + 1/N)``."""
    if rows <= 0:
        return math.nan
    return critical * (1.0 / float(rows) + 1.0 / float(train_rows))


def verdict(value: float, adjusted: float, noise: float, moderate: float = MODERATE,
            major: float = MAJOR) -> str:
    """"major"/"moderate" if the bias-corrected PSI passes the threshold and the raw PSI
    exceeds the noise level; else "none" (also for no rows)."""
    if not (value > noise):          # False for NaN too
        return "none"
    return "major" if adjusted > major else "moderate" if adjusted > moderate else "none"


def binned_ks(train_values: Sequence[int], values: Sequence[int]) -> float | None:
    """KS statistic between two binned distributions (value bins only, no missing)."""
    a = np.asarray(train_values, dtype=np.float64)
    b = np.asarray(values, dtype=np.float64)
    if a.sum() <= 0 or b.sum() <= 0:
        return None
    return float(np.max(np.abs(np.cumsum(a) / a.sum() - np.cumsum(b) / b.sum())))


# ----------------------------------------------------------------------------- counting

def count(profile: dict, data: Any) -> tuple[int, list[np.ndarray], list[int]]:
    """Rows, per-column bin counts (``column_bins`` order) and out-of-range counts of
    ``data`` (DataFrame, CSV/Parquet path streamed, or the flat encoded matrix)."""
    _check(profile)
    cols = profile["columns"]
    counts = [np.zeros(n_bins(c), dtype=np.int64) for c in cols]
    oor = [0] * len(cols)
    bounds = [_bounds(c) for c in cols]
    rows = 0
    for x in encoded_batches(data, inputs_of(profile)):
        rows += x.shape[0]
        for j, col in enumerate(cols):
            v = x[:, j]
            counts[j] += np.bincount(column_bins(col, v), minlength=len(counts[j]))
            if col["kind"] == "number":
                lo, hi = bounds[j]
                oor[j] += int(((v < lo) | (v > hi)).sum())
    return rows, counts, oor


def _bounds(col: dict) -> tuple[float, float]:
    """Training [min, max]; a column without finite training values has an empty range."""
    if col["kind"] != "number" or col["min"] is None:
        return math.inf, -math.inf
    return float(col["min"]), float(col["max"])


def _check(profile: dict) -> None:
    if profile.get("format") != FORMAT:
        raise InputError(f"not a staticml training profile (format {profile.get('format')!r})")


# ----------------------------------------------------------------------------- reporting

def report(profile: dict, rows: int, counts: Sequence[Sequence[int]],
           out_of_range: Sequence[int] | None = None, *, moderate: float = MODERATE,
           major: float = MAJOR) -> dict:
    """The drift report for bin counts (see ``drift`` for the format)."""
    _check(profile)
    big_n = profile["rows"]
    columns = []
    for j, col in enumerate(profile["columns"]):
        train = bin_counts(col)
        c = [int(v) for v in counts[j]]
        if len(c) != len(train):
            raise InputError(f"column {col['name']!r}: {len(c)} bin counts for "
                             f"{len(train)} bins")
        value = psi(train, big_n, c, rows)
        df = degrees_of_freedom(train)
        adj = psi_adjusted(value, df, big_n, rows)
        noise = noise_level(critical_value(df), big_n, rows)
        missing = c[-1]
        present = rows - missing
        entry: dict[str, Any] = {
            "name": col["name"], "kind": col["kind"], "rows": rows,
            "psi": _json(value), "psi_adjusted": _json(adj), "df": df,
            "noise_level": _json(noise), "verdict": verdict(value, adj, noise, moderate, major),
            "missing_rate": missing / rows if rows else None,
            "training_missing_rate": col["missing_rate"],
        }
        if col["kind"] == "number":
            entry["ks"] = binned_ks(col["counts"], c[:-1])
            entry["out_of_range_rate"] = ((int(out_of_range[j]) / present if present else None)
                                          if out_of_range is not None else None)
            entry["training_range"] = [col["min"], col["max"]]
        else:
            entry["ks"] = None
            entry["unseen_rate"] = c[-2] / present if present else None
            entry["training_unseen_rate"] = col["unseen_rate"]
        entry["counts"] = c
        columns.append(entry)
    worst = max((VERDICTS.index(e["verdict"]) for e in columns), default=0)
    drifted = sorted((e for e in columns if e["verdict"] != "none"),
                     key=lambda e: -(e["psi_adjusted"] or 0.0))
    return {"rows": rows, "training_rows": big_n, "verdict": VERDICTS[worst],
            "drifted": [e["name"] for e in drifted],
            "thresholds": {"moderate": moderate, "major": major,
                           "statistic": "psi_adjusted, when psi > noise_level",
                           "noise_quantile": NOISE_QUANTILE},
            "columns": columns}


def _json(v: float) -> float | None:
    return v if v == v and math.isfinite(v) else None


def drift(profile: dict, data: Any, *, moderate: float = MODERATE,
          major: float = MAJOR) -> dict:
    """Compare ``data`` (DataFrame, CSV/Parquet path, or encoded float matrix) with the
    training ``profile``.

    Returns ``{"rows", "training_rows", "verdict": "none"|"moderate"|"major" (worst
    column), "drifted": [names, worst first], "thresholds": {...}, "columns": [per input:
    {"name", "kind", "rows", "psi", "psi_adjusted", "df", "noise_level", "verdict",
    "missing_rate",
    "training_missing_rate", "ks" (numbers; null for strings), "out_of_range_rate" and
    "training_range" (numbers) or "unseen_rate" and "training_unseen_rate" (strings),
    "counts" (rows per bin, ``profile.column_bins`` order)}]}``.  Rates are null when
    undefined (no rows); ``psi`` is null for no rows.
    """
    rows, counts, oor = count(profile, data)
    return report(profile, rows, counts, oor, moderate=moderate, major=major)


# ----------------------------------------------------------------------------- C monitor counters

def counter_layout(profile: dict) -> list[tuple[int, int, bool]]:
    """Where each column's counters sit in ``NAME_monitor.counts``: (start, bins, has an
    out-of-range counter right after its bins).  Number columns: value bins, missing,
    then out-of-range; string columns: categories, unseen, missing."""
    out, start = [], 0
    for col in profile["columns"]:
        nb = n_bins(col)
        num = col["kind"] == "number"
        out.append((start, nb, num))
        start += nb + (1 if num else 0)
    return out


def report_from_counters(profile: dict, rows: int, counters: Sequence[int], **kw) -> dict:
    """The drift report for a C monitor's ``rows`` and ``counts`` array (e.g. read back
    from a device): the same report ``drift`` gives for the rows it observed."""
    layout = counter_layout(profile)
    counts = [list(counters[s:s + nb]) for s, nb, _ in layout]
    oor = [int(counters[s + nb]) if num else 0 for s, nb, num in layout]
    return report(profile, rows, counts, oor, **kw)
