"""Reference interpreter: runs a Graph with numpy, the oracle of every parity test.

It is written for obviousness, not speed: each op is a few lines of numpy mirroring the
formula in its docstring, so a disagreement between an artifact and this interpreter
points at the backend, and one between this interpreter and the original model points at
the frontend.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from .. import errors
from . import interpret_trees
from . import ops as o
from .graph import Graph
from .layout import output_layout

# The smallest double that rounds to inf in float32 (round to nearest, ties to even: the
# midpoint between FLT_MAX and 2^128 goes up, as FLT_MAX's last bit is odd). Doubles between
# FLT_MAX and it round down to FLT_MAX, and scikit-learn's float32 cast takes them.
F32_OVERFLOW = float.fromhex("0x1.ffffffp+127")


def _lookup(keys: tuple[float, ...], x: np.ndarray) -> np.ndarray:
    """Index of each x in the sorted ``keys`` (exact match) or -1."""
    k = np.asarray(keys, dtype=np.float64)
    if k.size == 0:
        return np.full(x.shape, -1, dtype=np.int64)
    pos = np.searchsorted(k, x)
    pos_c = np.clip(pos, 0, k.size - 1)
    return np.where(k[pos_c] == x, pos_c, -1)


def _is_missing(x: np.ndarray, missing: float) -> np.ndarray:
    return np.isnan(x) if np.isnan(missing) else x == missing


def _fail(status: np.ndarray, detail: np.ndarray, rows: np.ndarray, code: int, slot) -> None:
    new = rows & (status == 0)
    status[new] = code
    detail[new] = slot if np.isscalar(slot) else np.asarray(slot)[new]


def run(graph: Graph, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run ``graph`` on rows ``x`` (n × n_inputs slot values).

    Returns ``(out, status, detail)``: the output layout rows, the error code per row
    (0 = ok) and the slot that caused it (-1 if none). Rows with an error have NaN outputs.
    """
    n = x.shape[0]
    v = np.full((n, graph.n_slots), np.nan)
    v[:, : graph.n_inputs] = x
    status = np.zeros(n, dtype=np.int32)
    detail = np.full(n, -1, dtype=np.int64)
    with np.errstate(all="ignore"):
        for op in graph.ops:
            _step(op, v, status, detail)
        out = _head(graph, v)
    out[status != 0] = np.nan
    return out, status, detail


def _step(op: o.Op, v: np.ndarray, status: np.ndarray, detail: np.ndarray) -> None:
    if isinstance(op, o.CheckFinite):
        src = v[:, list(op.src)]
        idx = np.arange(src.shape[1])
        bad_nan = np.isnan(src)
        bad_inf = np.isinf(src)
        if op.float32:  # what becomes +-inf when the library casts to float32
            bad_inf |= np.abs(src) >= F32_OVERFLOW
        if not op.allow_nan:
            rows = bad_nan.any(axis=1)
            first = np.asarray(op.src)[np.argmax(bad_nan, axis=1)]
            _fail(status, detail, rows, errors.E_MISSING_VALUE, first)
        if not op.allow_inf:
            rows = bad_inf.any(axis=1)
            first = np.asarray(op.src)[np.argmax(bad_inf, axis=1)]
            _fail(status, detail, rows, errors.E_INFINITE_VALUE, first)
        del idx
    elif isinstance(op, o.Constant):
        v[:, list(op.dst)] = np.asarray(op.values, dtype=np.float64)
    elif isinstance(op, o.Impute):
        src = v[:, list(op.src)]
        fill = np.asarray(op.fill, dtype=np.float64)
        v[:, list(op.dst)] = np.where(_is_missing(src, op.missing), fill, src)
    elif isinstance(op, o.MissingIndicator):
        v[:, list(op.dst)] = _is_missing(v[:, list(op.src)], op.missing).astype(np.float64)
    elif isinstance(op, o.SubDiv):
        v[:, list(op.dst)] = (v[:, list(op.src)] - np.asarray(op.sub)) / np.asarray(op.div)
    elif isinstance(op, o.MulAdd):
        y = v[:, list(op.src)] * np.asarray(op.mul) + np.asarray(op.add)
        if op.clip is not None:
            y = np.clip(y, op.clip[0], op.clip[1])
        v[:, list(op.dst)] = y
    elif isinstance(op, o.OneHot):
        _one_hot(op, v, status, detail)
    elif isinstance(op, o.Ordinal):
        _ordinal(op, v, status, detail)
    elif isinstance(op, o.TreeEnsemble):
        v[:, list(op.dst)] = interpret_trees.run(op, v[:, list(op.src)])
    elif isinstance(op, o.Linear):
        v[:, list(op.dst)] = v[:, list(op.src)] @ op.coef.T + np.asarray(op.intercept)
    elif isinstance(op, o.Elementwise):
        v[:, list(op.dst)] = _activation(op.fn, v[:, list(op.src)])
    elif isinstance(op, o.Softmax):
        z = v[:, list(op.src)]
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        v[:, list(op.dst)] = e / e.sum(axis=1, keepdims=True)
    elif isinstance(op, o.BinaryProba):
        p = _link(op.fn, v[:, op.src])
        v[:, op.dst[0]] = 1 - p
        v[:, op.dst[1]] = p
    elif isinstance(op, o.OvrNormalize):
        p = _link(op.fn, v[:, list(op.src)])
        s = p.sum(axis=1)
        zero = s == 0
        p[zero, :] = 1
        s[zero] = p.shape[1]
        v[:, list(op.dst)] = p / s[:, None]
    else:  # pragma: no cover - every op is handled above
        raise TypeError(f"interpreter has no rule for {type(op).__name__}")


def _activation(fn: str, z: np.ndarray) -> np.ndarray:
    if fn == "identity":
        return z
    if fn == "relu":
        return np.maximum(z, 0)
    if fn == "tanh":
        return np.tanh(z)
    if fn == "logistic":
        return expit(z)
    if fn == "exp":
        return np.exp(z)
    if fn == "exp2":
        return np.exp2(z)
    if fn == "negate":
        return -z
    raise ValueError(fn)


def _link(fn: str, d: np.ndarray) -> np.ndarray:
    if fn == "logistic":
        return expit(d)
    if fn == "modified_huber":
        return (np.clip(d, -1, 1) + 1) / 2
    return d.copy()


def _one_hot(op: o.OneHot, v: np.ndarray, status: np.ndarray, detail: np.ndarray) -> None:
    x = v[:, op.src]
    hit = _lookup(op.keys, x)
    pos = np.where(hit >= 0, np.asarray(op.position + (-1,))[hit], -1)
    known = hit >= 0
    nan = np.isnan(x)
    if op.missing_position is not None:
        pos = np.where(nan, op.missing_position, pos)
        known |= nan
    unknown = ~known
    if op.on_unknown == "error":
        _fail(status, detail, unknown, errors.E_UNKNOWN_CATEGORY, op.src)
    elif op.on_unknown != "ignore":
        pos = np.where(unknown, int(op.on_unknown), pos)
    block = np.zeros((x.shape[0], len(op.dst)))
    rows = np.nonzero(pos >= 0)[0]
    block[rows, pos[rows]] = 1.0
    v[:, list(op.dst)] = block


def _ordinal(op: o.Ordinal, v: np.ndarray, status: np.ndarray, detail: np.ndarray) -> None:
    x = v[:, op.src]
    hit = _lookup(op.keys, x)
    vals = np.asarray(op.values + (np.nan,), dtype=np.float64)[hit]
    nan = np.isnan(x)
    unknown = hit < 0
    if op.missing_value is not None:
        vals = np.where(nan, op.missing_value, vals)
        unknown &= ~nan
    if op.unknown_value is None:
        _fail(status, detail, unknown, errors.E_UNKNOWN_CATEGORY, op.src)
    else:
        vals = np.where(unknown, op.unknown_value, vals)
    v[:, op.dst] = vals


def _head(graph: Graph, v: np.ndarray) -> np.ndarray:
    head = graph.head
    lay = output_layout(head)
    out = np.empty((v.shape[0], lay.n_outputs))
    if isinstance(head, o.Regress):
        out[:] = v[:, list(head.values)]
        return out
    dec = v[:, list(head.decision)]
    proba = v[:, list(head.proba)] if head.proba else None
    if head.rule == "positive":
        label = (dec[:, 0] > 0).astype(np.float64)
    elif head.rule == "nonnegative":
        label = (dec[:, 0] >= 0).astype(np.float64)
    elif head.rule == "argmax":
        label = np.argmax(dec, axis=1).astype(np.float64)
    elif head.rule == "proba_gt_half":
        label = (proba[:, 1] > 0.5).astype(np.float64)
    else:
        label = np.argmax(proba, axis=1).astype(np.float64)
    out[:, 0] = label
    if lay.proba is not None:
        out[:, lay.proba] = proba
    if lay.decision is not None:
        out[:, lay.decision] = dec
    if lay.scores is not None:
        out[:, lay.scores] = v[:, list(head.score_samples)]
    return out
