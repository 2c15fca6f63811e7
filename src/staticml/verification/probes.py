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
    return edges


def _column_values(graph: Graph, i: int, sample_col: np.ndarray, edges: set[float]) -> list[Any]:
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
    vals += sorted(edges)
    return vals


def probe_frame(graph: Graph, sample: Any, n_base: int = 4, max_rows: int = 20000) -> tuple[Any, list[str]]:
    """Probe rows in the sample's own format (DataFrame or ndarray) and a label for each."""
    is_frame = hasattr(sample, "columns")
    names = [c.name for c in graph.inputs]
    base = sample.iloc[:n_base] if is_frame else np.asarray(sample)[:n_base]
    edges = numeric_edges(graph)
    blocks, labels = [], []
    for i, col in enumerate(graph.inputs):
        key = names[i] if is_frame else i
        raw = (sample[key].to_numpy() if is_frame else np.asarray(sample)[:, i])
        numeric = raw.astype(np.float64) if col.dtype == "number" and raw.dtype.kind in "biuf" \
            else np.asarray([v for v in raw if isinstance(v, (int, float))], dtype=np.float64)
        for value in _column_values(graph, i, numeric, edges.get(i, set())):
            block = base.copy()
            if is_frame:
                if col.dtype == "number" and block[key].dtype.kind in "biu":
                    block[key] = block[key].astype(np.float64)
                block[key] = [value] * len(block)
            else:
                if block.dtype.kind != "O" and not isinstance(value, (float, int)):
                    block = block.astype(object)
                if block.dtype.kind in "biu":
                    block = block.astype(np.float64)
                block[:, i] = value
            blocks.append(block)
            labels += [f"{col.name}={value!r}"] * len(block)
    if not blocks:
        return base[:0], []
    if is_frame:
        import pandas as pd

        frame = pd.concat(blocks, ignore_index=True)
    else:
        frame = np.concatenate(blocks, axis=0)
    return frame[:max_rows], labels[:max_rows]
