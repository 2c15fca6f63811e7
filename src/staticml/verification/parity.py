"""Parity: does an artifact (or the IR interpreter) predict what the original model predicts?

The original model is the reference. Rows where scikit-learn raises (NaN into a linear
model, an unknown category with ``handle_unknown='error'``) must be errors in the artifact
too: a number where the original refuses is a silently wrong prediction.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

TOLERANCE = 1e-9


@dataclass
class Reference:
    """The original model's results; ``error[i]`` means it raised on row ``i``."""

    labels: np.ndarray | None
    values: np.ndarray | None
    proba: np.ndarray | None
    decision: np.ndarray | None
    error: np.ndarray
    scores: np.ndarray | None = None


def _take(X: Any, idx: np.ndarray) -> Any:
    return X.iloc[idx] if hasattr(X, "iloc") else np.asarray(X)[idx]


def _call(fn: Callable[[Any], Any], X: Any) -> np.ndarray:
    from joblib import parallel_config

    # Many small calls: joblib worker pools would cost more than the predictions.
    with warnings.catch_warnings(), parallel_config(backend="sequential"):
        warnings.simplefilter("ignore")
        return np.asarray(fn(X))


def _safe_call(fn: Callable[[Any], np.ndarray], X: Any, n: int,
               groups: list[np.ndarray]) -> tuple[np.ndarray | None, np.ndarray]:
    """Call ``fn`` on all rows; where it raises, find exactly which rows fail.

    Rows come in ``groups`` (the sample, then one group per probe value); a group that
    raises is bisected, so the cost is one call per group plus a few per failing row.
    """
    error = np.zeros(n, dtype=bool)
    chunks: list[tuple[np.ndarray, np.ndarray]] = []

    def go(idx: np.ndarray) -> None:
        if not len(idx):
            return
        try:
            chunks.append((idx, _call(fn, _take(X, idx))))
        except Exception:
            if len(idx) == 1:
                error[idx[0]] = True
            else:
                half = len(idx) // 2
                go(idx[:half])
                go(idx[half:])

    try:
        chunks.append((np.arange(n), _call(fn, X)))
    except Exception:
        for g in groups:
            go(g)
    if not chunks:
        return None, error
    dtype = np.result_type(*(res.dtype for _, res in chunks))
    out = np.empty((n, *chunks[0][1].shape[1:]), dtype=dtype)
    if out.dtype.kind == "f":
        out[:] = np.nan
    for idx, res in chunks:
        out[idx] = res
    return out, error


def _groups(labels: list[str] | None, n: int) -> list[np.ndarray]:
    """Consecutive runs of rows sharing a description ("probe age=nan", ...)."""
    if not labels or len(labels) != n:
        return [np.arange(n)]
    keys = [_group_key(lab) for lab in labels]
    bounds = [0] + [i for i in range(1, n) if keys[i] != keys[i - 1]] + [n]
    return [np.arange(a, b) for a, b in zip(bounds, bounds[1:])]


def _is_outlier_detector(model: Any) -> bool:
    """IsolationForest & co. predict labels (-1/1) without a ``classes_`` attribute."""
    try:
        from sklearn.utils import get_tags

        return get_tags(model).estimator_type == "outlier_detector"
    except Exception:
        return getattr(model, "_estimator_type", None) == "outlier_detector"


def _group_key(label: str) -> str:
    """Finite probe values of one column share a group; special values get their own."""
    if not label.startswith("probe "):
        return "sample"
    column, _, value = label[6:].rpartition("=")
    try:
        finite = np.isfinite(float(value))
    except ValueError:
        finite = False
    return f"{column}:finite" if finite else label


def reference(model: Any, X: Any, labels: list[str] | None = None) -> Reference:
    """The model's results on ``X``; rows it refuses are found once, via ``predict``."""
    n = len(X)
    labels_out = values = proba = decision = None
    pred, error = _safe_call(model.predict, X, n, _groups(labels, n))
    ok = np.flatnonzero(~error)

    def on_ok_rows(fn: Callable[[Any], Any]) -> np.ndarray | None:
        if not len(ok):
            return None
        res = _call(fn, _take(X, ok))
        out = np.full((n, *res.shape[1:]), np.nan)
        out[ok] = res
        return out

    if hasattr(model, "classes_") or _is_outlier_detector(model):
        labels_out = pred
        if hasattr(model, "predict_proba"):
            proba = on_ok_rows(model.predict_proba)
        if hasattr(model, "decision_function"):
            decision = on_ok_rows(model.decision_function)
    else:
        values = pred
    scores = on_ok_rows(model.score_samples) if hasattr(model, "score_samples") else None
    return Reference(labels_out, values, proba, decision, error, scores)


def _max_diff(a: np.ndarray | None, b: np.ndarray | None, ok: np.ndarray) -> tuple[float, np.ndarray]:
    if a is None or b is None or not ok.any():
        return 0.0, np.zeros(len(ok))
    a2 = np.asarray(a, dtype=np.float64).reshape(len(ok), -1)
    b2 = np.asarray(b, dtype=np.float64).reshape(len(ok), -1)
    with np.errstate(invalid="ignore"):
        d = np.abs(a2 - b2)
    d[np.isnan(a2) & np.isnan(b2)] = 0.0
    d[np.isnan(a2) ^ np.isnan(b2)] = np.inf
    per_row = np.where(ok, d.max(axis=1), 0.0)
    return float(per_row.max()), per_row


def compare(ref: Reference, got: dict[str, np.ndarray | None], got_error: np.ndarray,
            row_labels: list[str], target: str, tolerance: float = TOLERANCE) -> dict:
    """Compare one target's outputs with the reference; returns a JSON-able report."""
    n = len(ref.error)
    both_ok = ~ref.error & ~got_error
    error_mismatch = ref.error != got_error
    label_mismatch = np.zeros(n, dtype=bool)
    if ref.labels is not None and got.get("labels") is not None:
        label_mismatch = both_ok & (np.asarray(ref.labels) != np.asarray(got["labels"]))
    diffs = {}
    worst = np.zeros(n)
    for key, ref_arr in (("proba", ref.proba), ("decision", ref.decision), ("values", ref.values),
                         ("scores", ref.scores)):
        if ref_arr is None or got.get(key) is None:
            continue
        m, per_row = _max_diff(ref_arr, got[key], both_ok)
        diffs[key] = m
        worst = np.maximum(worst, per_row)
    bad = error_mismatch | label_mismatch | (worst > tolerance)
    order = np.argsort(-(bad * 1e300 + worst), kind="stable")[: min(5, n)]
    worst_rows = [
        {"row": int(i), "what": row_labels[i] if i < len(row_labels) else f"row {i}",
         "abs_diff": float(worst[i]), "label_mismatch": bool(label_mismatch[i]),
         "reference_error": bool(ref.error[i]), "artifact_error": bool(got_error[i])}
        for i in order if bad[i] or worst[i] > 0
    ]
    return {
        "target": target,
        "rows": int(n),
        "tolerance": tolerance,
        "label_mismatches": int(label_mismatch.sum()),
        "error_mismatches": int(error_mismatch.sum()),
        "rows_refused_by_both": int((ref.error & got_error).sum()),
        "max_abs_diff": diffs,
        "identical": all(v == 0.0 for v in diffs.values()),
        "passed": not bool(bad.any()),
        "worst_rows": worst_rows,
    }


def summarize_failure(report: dict) -> str:
    lines = [f"parity check failed for target {report['target']}: "
             f"{report['label_mismatches']} label mismatch(es), "
             f"{report['error_mismatches']} error mismatch(es), max abs diff "
             f"{max(report['max_abs_diff'].values(), default=0.0):.3g} "
             f"(tolerance {report['tolerance']:g}). Worst rows:"]
    for w in report["worst_rows"]:
        lines.append(f"  row {w['row']} ({w['what']}): diff {w['abs_diff']:.3g}, "
                     f"label mismatch {w['label_mismatch']}, model raised "
                     f"{w['reference_error']}, artifact refused {w['artifact_error']}")
    return "\n".join(lines)
