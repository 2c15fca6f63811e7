"""Bit-level comparison of two targets' outputs: the "same bits everywhere" property.

Tolerances compare an artifact with the *original library*; between two builds of the
same C (or its Java port) staticml promises more: identical bits. When they are not
identical the report gives the distance in units in the last place (ulps), measured on the
ordered integer line of doubles, so a sign flip around zero counts as a small distance and
a NaN where the other has a number counts as a mismatch of its own.
"""

from __future__ import annotations

import numpy as np


def _ordered(a: np.ndarray) -> np.ndarray:
    """Doubles mapped to int64s whose order and differences follow the float line."""
    i = np.ascontiguousarray(a, dtype=np.float64).view(np.int64)
    return np.where(i < 0, np.int64(-0x8000000000000000) - i, i)


def ulps(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-element ulp distance; NaN vs NaN is 0, NaN vs number is -1 (never 'close')."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    na, nb = np.isnan(a), np.isnan(b)
    oa = _ordered(np.where(na | nb, 0.0, a))
    ob = _ordered(np.where(na | nb, 0.0, b))
    # Same-sign differences fit in int64 and stay exact; opposite signs can overflow, and
    # are astronomically far apart anyway unless both are tiny: add magnitudes in float.
    same_sign = (oa >= 0) == (ob >= 0)
    with np.errstate(over="ignore"):
        exact = np.abs(np.where(same_sign, oa - ob, 0)).astype(np.float64)
    apart = np.abs(oa).astype(np.float64) + np.abs(ob).astype(np.float64)
    d = np.where(same_sign, exact, apart)
    d = np.where(na & nb, 0.0, d)
    return np.where(na != nb, -1.0, d)


def compare_bits(ref_out: np.ndarray, ref_status: np.ndarray, out: np.ndarray,
                 status: np.ndarray, rows: np.ndarray | None = None) -> dict:
    """How ``out``/``status`` differ from the reference target's, bit for bit.

    ``rows`` (a boolean mask) restricts the comparison, e.g. to rows the reference accepted
    when the other target cannot refuse rows (ONNX).
    """
    ref_out, out = np.asarray(ref_out), np.asarray(out)
    if ref_out.shape != out.shape:
        return {"identical": False, "rows": int(ref_out.shape[0]), "identical_rows": 0,
                "status_mismatches": None, "max_ulps": None, "nan_mismatches": None,
                "problem": f"output shape {out.shape} != {ref_out.shape}"}
    mask = np.ones(len(ref_out), dtype=bool) if rows is None else np.asarray(rows, dtype=bool)
    a, b = ref_out[mask], out[mask]
    same = a.view(np.uint64) == b.view(np.uint64)
    # All NaNs are equal for this purpose: payloads are not part of the contract.
    same |= np.isnan(a) & np.isnan(b)
    d = ulps(a, b)
    status_mismatches = int((np.asarray(ref_status)[mask] != np.asarray(status)[mask]).sum())
    row_same = same.all(axis=1) if a.ndim == 2 else same
    return {
        "identical": bool(row_same.all()) and status_mismatches == 0,
        "rows": int(mask.sum()),
        "identical_rows": int(row_same.sum()),
        "status_mismatches": status_mismatches,
        "nan_mismatches": int((d < 0).sum()),
        "max_ulps": int(d.max(initial=0.0)),
    }
