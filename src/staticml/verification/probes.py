"""Probe rows: inputs chosen to sit on every edge the compiled program knows about.

Random held-out rows rarely hit a category boundary, a missing value or infinity, which is
exactly where converters go wrong. For a few base rows from the sample we vary one column
at a time through: NaN/None, +-inf, 0, -0, the sample's min and max, every category and an
unseen one, and each constant the IR compares that column with (encoder keys, imputer
markers) together with its floating-point neighbours.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..ir import ops as o
from ..ir.graph import Graph

UNSEEN = "__staticml_unseen_category__"
MAX_THRESHOLDS = 24  # per column, for tree ensembles


def _neighbours(x: float) -> list[float]:
    return [x, float(np.nextafter(x, -np.inf)), float(np.nextafter(x, np.inf))]


def numeric_edges(graph: Graph) -> dict[int, set[float]]:
    """Constants each *input* column is compared with directly."""
    edges: dict[int, set[float]] = {}
    for op in graph.ops:
        src = op.src if isinstance(op.src, tuple) else (op.src,)
        for s in src:
            if s >= graph.n_inputs or graph.inputs[s].dtype != "number":
                continue
            bucket = edges.setdefault(s, set())
            if isinstance(op, (o.OneHot, o.Ordinal)):
                for k in op.keys:
                    bucket.update(_neighbours(k))
            if isinstance(op, (o.Impute, o.MissingIndicator)) and op.missing == op.missing:
                bucket.update(_neighbours(op.missing))
        if isinstance(op, o.TreeEnsemble):
            _tree_edges(graph, op, edges)
    return edges


def _tree_edges(graph: Graph, op: o.TreeEnsemble, edges: dict[int, set[float]],
                per_column: int = MAX_THRESHOLDS) -> None:
    """Split thresholds on input columns, with their float64 and float32 neighbours.

    Up to ``per_column`` thresholds per column (evenly spread over the sorted distinct
    values), so a 2000-tree model does not turn into millions of probe rows.
    """
    internal = (op.feature >= 0) & (op.cat_node < 0)
    for k in np.unique(op.feature[internal]):
        slot = op.src[int(k)]
        if slot >= graph.n_inputs or graph.inputs[slot].dtype != "number":
            continue
        ts = np.unique(op.threshold[internal & (op.feature == k)])
        ts = ts[np.isfinite(ts)]
        if len(ts) > per_column:
            ts = ts[np.linspace(0, len(ts) - 1, per_column).round().astype(int)]
        bucket = edges.setdefault(slot, set())
        for t in ts.tolist():
            bucket.update(_neighbours(t))
            t32 = np.float32(t)
            if np.isfinite(t32):
                bucket.update(float(v) for v in (t32, np.nextafter(t32, np.float32(-np.inf)),
                                                 np.nextafter(t32, np.float32(np.inf))))


def _column_values(graph: Graph, i: int, sample_col: np.ndarray) -> list[Any]:
    """Special values every column is probed with (on several base rows each)."""
    col = graph.inputs[i]
    if col.dtype == "string":
        # NaN, not None: pandas stores a missing string as NaN, and scikit-learn treats a
        # None in an object column as a distinct (unknown) value; staticml maps both to
        # "missing" (see docs/numerics.md).
        return [np.nan, UNSEEN, *col.vocabulary]
    finite = sample_col[np.isfinite(sample_col)] if sample_col.size else sample_col
    vals = [np.nan, np.inf, -np.inf, 0.0, -0.0]
    if finite.size:
        vals += [float(finite.min()), float(finite.max())]
    return vals


def probe_frame(graph: Graph, sample: Any, n_base: int = 4) -> tuple[Any, list[str]]:
    """Probe rows in the sample's own format (DataFrame or ndarray) and a label for each.

    Special values go on ``n_base`` base rows each; the (many) IR edge values on one base
    row each, cycling through the base rows.
    """
    is_frame = hasattr(sample, "columns")
    names = [c.name for c in graph.inputs]
    arr = None if is_frame else np.asarray(sample)
    n_avail = min(n_base, len(sample))
    if n_avail == 0:
        return (sample.iloc[:0] if is_frame else arr[:0]), []
    edges = numeric_edges(graph)
    base_idx: list[int] = []
    plan: list[tuple[int, Any]] = []  # (column, value) per probe row
    for i, col in enumerate(graph.inputs):
        raw = sample[names[i]].to_numpy() if is_frame else arr[:, i]
        numeric = (raw.astype(np.float64) if col.dtype == "number" and raw.dtype.kind in "biuf"
                   else np.asarray([v for v in raw if isinstance(v, (int, float))], dtype=float))
        for value in _column_values(graph, i, numeric):
            base_idx += list(range(n_avail))
            plan += [(i, value)] * n_avail
        for k, value in enumerate(sorted(edges.get(i, ()))):
            base_idx.append(k % n_avail)
            plan.append((i, value))
    labels = [f"{graph.inputs[i].name}={value!r}" for i, value in plan]
    idx = np.asarray(base_idx)
    cols = np.asarray([i for i, _ in plan])
    if is_frame:
        frame = sample[names].iloc[idx].reset_index(drop=True)
        for i, col in enumerate(graph.inputs):
            rows = np.flatnonzero(cols == i)
            if not len(rows):
                continue
            values = [plan[r][1] for r in rows]
            if col.dtype == "number":
                column = frame[names[i]].to_numpy(dtype=np.float64, copy=True)
                column[rows] = np.asarray(values, dtype=np.float64)
            else:
                column = frame[names[i]].to_numpy(dtype=object, copy=True)
                column[rows] = np.asarray(values, dtype=object)
            frame[names[i]] = column
        return frame, labels
    out = arr[idx].copy()
    if out.dtype.kind in "biu":
        out = out.astype(np.float64)
    if out.dtype.kind != "O" and any(isinstance(v, str) for _, v in plan):
        out = out.astype(object)
    for r, (i, value) in enumerate(plan):
        out[r, i] = value
    return out, labels
