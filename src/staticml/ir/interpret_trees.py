"""Reference semantics of TreeEnsemble in numpy (see the op's docstring for the rules)."""

from __future__ import annotations

import numpy as np

from .ops import MISSING_NAN, MISSING_ZERO, TreeEnsemble

# LightGBM's kZeroThreshold is the float 1e-35f, i.e. 1.0000000180025095e-35 as a double.
ZERO_THRESHOLD = float(np.float32(1e-35))


def leaves(op: TreeEnsemble, x: np.ndarray) -> np.ndarray:
    """Leaf index reached in every tree: shape (n_rows, n_trees)."""
    n = x.shape[0]
    if op.input_float32:
        with np.errstate(over="ignore"):
            x = x.astype(np.float32).astype(np.float64)
    rows = np.arange(n)
    out = np.empty((n, op.n_trees), dtype=np.int64)
    for t, root in enumerate(op.roots):
        node = np.full(n, root, dtype=np.int64)
        active = op.feature[node] >= 0
        while active.any():
            r = rows[active]
            nd = node[active]
            v = x[r, op.feature[nd]]
            mt = op.missing_type[nd]
            nan = np.isnan(v)
            v = np.where(nan & (mt != MISSING_NAN), 0.0, v)
            use_default = (nan & (mt == MISSING_NAN)) | ((mt == MISSING_ZERO) & (np.abs(v) <= ZERO_THRESHOLD))
            cat = op.cat_node[nd]
            go_left = v <= op.threshold[nd]
            is_cat = cat >= 0
            if is_cat.any():
                vc = v[is_cat]
                valid = (vc >= 0) & (vc < 2.0 ** 31)
                k = np.where(valid, vc, 0).astype(np.int64)
                word = k // 32
                in_range = valid & (word < op.cat_bits.shape[1])
                bits = op.cat_bits[cat[is_cat], np.minimum(word, op.cat_bits.shape[1] - 1)]
                member = in_range & (((bits >> (k % 32).astype(np.uint32)) & 1) == 1)
                go_left[is_cat] = member
                use_default[is_cat] = nan[is_cat]
            go_left = np.where(use_default, op.default_left[nd], go_left)
            node[active] = np.where(go_left, op.left[nd], op.right[nd])
            active = op.feature[node] >= 0
        out[:, t] = node
    return out


def run(op: TreeEnsemble, x: np.ndarray) -> np.ndarray:
    """Accumulated outputs, shape (n_rows, len(op.dst))."""
    lv = leaves(op, x)
    n, k = x.shape[0], len(op.dst)
    dtype = np.float32 if op.accumulate_float32 else np.float64
    acc = np.empty((n, k), dtype=dtype)
    acc[:] = np.asarray(op.base, dtype=dtype) if op.base else 0
    for t in range(op.n_trees):
        vals = op.value[lv[:, t]].astype(dtype)
        tgt = op.target[t]
        if tgt >= 0:
            acc[:, tgt] += vals[:, 0]
        else:
            acc += vals[:, :k]
    out = acc.astype(np.float64)
    if op.average:
        out /= op.n_trees
    return out
