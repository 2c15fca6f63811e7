"""The leaf-bitvector batch kernel (backends/c/forest_bitvectors.py) against the walk.

Forests of trees with at most 64 leaves run batches of 16 rows or more through the
bitvector scan on x86-64 (SSE2 for small batches, AVX2 from the AVX2 batch size on when the
CPU has it) and single rows through the lock-step walk. Each must give the walk's bits on
every row: both are exact, so the tolerance is zero, and both are also checked against the
library on held-out rows (1e-9; XGBoost, which sums in float, 1e-6).
"""

import platform
import re

import numpy as np
import pytest

import staticml

from .forest_cases import FOREST_CASES, forest_case, forest_data, on_thresholds, tree_op

pytestmark = pytest.mark.needs_cc

X86 = platform.machine().lower() in ("x86_64", "amd64")


# (elsewhere SM_BV_BLOCK is the walk: both builds would run the same kernel)
@pytest.mark.skipif(not X86, reason="the bitvector scan is built for x86-64 only")
@pytest.mark.parametrize("case", FOREST_CASES)
def test_bitvector_kernel_gives_the_walks_bits(case, tmp_path, monkeypatch):
    model, X, method = forest_case(case)
    sample, held_out = X[:1000], X[1000:]
    art = staticml.build(model, sample, tmp_path / "bv", name="forest")
    src = (tmp_path / "bv" / "src" / "forest.c").read_text().split("===== model =====")[1]
    assert "SM_BV_BLOCK(" in src, "this model should take the bitvector kernel"
    avx2_rows = int(src.split("#define DENSE_AVX2(n) ((n) >= ")[1].split(" ")[0])
    assert avx2_rows <= 1500  # so the 2000-row batch below runs the AVX2 scan where it can
    monkeypatch.setenv("STATICML_FOREST_BLOCK", "walk")
    walk = staticml.build(model, sample, tmp_path / "walk", name="forest")
    walk_src = (tmp_path / "walk" / "src" / "forest.c").read_text()
    assert "SM_BV_BLOCK(" not in walk_src.split("===== model =====")[1]
    probe = on_thresholds(tmp_path / "bv", held_out[:2000])
    for n in (1, 7, 16, 23, 64, 2000):  # walk (< 16 rows), SSE2 scan, AVX2 scan
        x = probe[:n]
        got, want = getattr(art, method)(x), getattr(walk, method)(x)
        assert got.tobytes() == want.tobytes(), f"{n} rows differ from the walk"
    got = getattr(art, method)(held_out)
    ref = getattr(model, method)(held_out)
    tol = 1e-6 if case == "xgb" else 1e-9
    assert np.abs(got - ref).max() <= tol
    if method == "predict_proba":
        assert (art.predict(held_out) == model.predict(held_out)).all()


def test_trees_beyond_64_leaves_keep_the_walk(tmp_path):
    from sklearn.ensemble import RandomForestClassifier

    X, y = forest_data(nan=0.0)
    model = RandomForestClassifier(10, max_depth=12, random_state=0).fit(X, y)
    art = staticml.build(model, X[:500], tmp_path / "rf", name="forest")
    src = (tmp_path / "rf" / "src" / "forest.c").read_text().split("===== model =====")[1]
    assert "SM_BV_BLOCK(" not in src and re.search(r"sm_fast_forest\w*_block\(", src)
    assert art.predict_proba(X).tobytes() == model.predict_proba(X).tobytes()


def test_bitvector_tables_find_every_walks_leaf(tmp_path):
    """The tables alone, in numpy: for every tree and row, the lowest bit left after the
    failed nodes' masks is the leaf the walk reaches (the C scan does the same)."""
    from sklearn.ensemble import HistGradientBoostingRegressor

    from staticml.backends.c.forest_bitvectors import CHUNK, bitvectors
    from staticml.backends.c.forest_layout import layout

    X, y = forest_data()
    model = HistGradientBoostingRegressor(max_iter=30, max_leaf_nodes=50,
                                          random_state=0).fit(X, y)
    staticml.build(model, X[:200], tmp_path / "hgb", name="hgb")
    f = layout(tree_op(tmp_path / "hgb"))
    bv = bitvectors(f)
    assert bv is not None and (bv.mask != np.uint64(2**64 - 1)).all()
    n_copies = 2 * len(f.features)
    for x in X[:50]:
        xs = np.empty(n_copies)
        xs[0::2] = np.where(np.isnan(x), -np.inf, x)  # forest_layout's two copies
        xs[1::2] = x
        words = np.full(len(f.tree_depth), np.uint64(2**64 - 1))
        start = 0
        for run, end in enumerate(bv.copy_end):
            c = run % n_copies
            for k in range(start, end):
                if not xs[c] <= bv.thr[k]:
                    words[(run // n_copies) * CHUNK + bv.tree[k]] &= bv.mask[k]
            start = end
        for t, w in enumerate(words):
            i = int(f.roots[t])
            for _ in range(int(f.tree_depth[t])):
                i = int(f.left[i]) + (not xs[f.feat[i]] <= f.thr[i])
            low = (int(w) & -int(w)).bit_length() - 1
            assert bv.leaf_node[bv.leaf_start[t] + low] == i
