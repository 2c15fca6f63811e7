"""Rank nodes (backends/c/forest_layout.py ``rank_nodes``, ``SM_STEPR`` in the runtime).

Forests that compare doubles (and small float32 ones) walk 8-byte nodes holding each
threshold's rank among its feature's thresholds; the row's features become ranks once.
Both steps are exact, so the rank build must give the 16-byte double nodes' bits
(``STATICML_FOREST_NODES=double``) on every row: tolerance zero, through the one-row walk,
blocks under 16 rows (walk), full blocks (bitvector scan, or the block walk with
``STATICML_FOREST_BLOCK=walk``), with a third of the values moved onto thresholds; and the
library's numbers on held-out rows (1e-9; XGBoost, which sums in float, 1e-6).
"""

import numpy as np
import pytest

import staticml

from .forest_cases import forest_case, on_thresholds, tree_op

pytestmark = pytest.mark.needs_cc

RANK_CASES = ["gbr", "gb-multiclass", "rf", "hgb", "xgb", "lgbm-zero", "lgbm-nan"]


def _model_source(bundle):
    return (bundle / "src" / "forest.c").read_text().split("===== model =====")[1]


@pytest.mark.parametrize("case", RANK_CASES)
def test_rank_nodes_give_the_double_nodes_bits(case, tmp_path, monkeypatch):
    model, X, method = forest_case(case)
    sample, held_out = X[:1000], X[1000:]
    ranked = staticml.build(model, sample, tmp_path / "rank", name="forest")
    assert "sm_fast_forest_r_run(" in _model_source(tmp_path / "rank")
    monkeypatch.setenv("STATICML_FOREST_BLOCK", "walk")
    ranked_walk = staticml.build(model, sample, tmp_path / "rank-walk", name="forest")
    monkeypatch.setenv("STATICML_FOREST_NODES", "double")
    double = staticml.build(model, sample, tmp_path / "double", name="forest")
    src = _model_source(tmp_path / "double")
    assert "sm_fast_forest_run(" in src and "sm_fast_forest_r_" not in src
    probe = on_thresholds(tmp_path / "rank", held_out[:2000])
    for n in (1, 7, 2000):  # one-row walk, a short block (walk), full blocks
        want = getattr(double, method)(probe[:n]).tobytes()
        assert getattr(ranked, method)(probe[:n]).tobytes() == want, f"{n} rows"
        assert getattr(ranked_walk, method)(probe[:n]).tobytes() == want, f"{n} rows, walk"
    got, ref = getattr(ranked, method)(held_out), getattr(model, method)(held_out)
    assert np.abs(got - ref).max() <= (1e-6 if case == "xgb" else 1e-9)
    if method == "predict_proba":
        assert (ranked.predict(held_out) == model.predict(held_out)).all()


def test_rank_encoding_decides_like_the_threshold(tmp_path):
    """The tables alone, in numpy: for every internal node, the row's rank word compared
    with the node word (SM_STEPR: go right iff xs >= w) says ``not x <= threshold`` for x on
    the threshold, its float64 and float32 neighbours, +-inf and NaN in both copies; a leaf
    never turns right."""
    from staticml.backends.c.forest_layout import layout, rank_nodes

    model, X, _ = forest_case("lgbm-zero")
    staticml.build(model, X[:300], tmp_path / "lgbm", name="forest")
    f = layout(tree_op(tmp_path / "lgbm"))
    rn = rank_nodes(f)
    assert rn is not None
    internal = f.left != np.arange(len(f.left))

    def word(copy, x):  # the row's word for copy ``copy`` of x (sm_forest_ranks)
        k = copy // 2
        cuts = rn.cuts[rn.cut_start[k]:rn.cut_start[k + 1]]
        r = 0 if np.isnan(x) and copy % 2 == 0 else \
            int(rn.n_cuts[k]) if np.isnan(x) else int((cuts < x).sum())  # pads never count
        return (int(copy) << 48) | (r << 32)

    for i in np.flatnonzero(internal):
        t, copy, w = f.thr[i], int(f.feat[i]), int(rn.nodes[i])
        assert w & 0xFFFFFFFF == f.left[i] >= 1
        xs = [t, np.nextafter(t, np.inf), np.nextafter(t, -np.inf), -np.inf, np.inf,
              float(np.nextafter(np.float32(t), np.float32(np.inf))),
              float(np.nextafter(np.float32(t), np.float32(-np.inf)))]
        for x in xs:
            assert (word(copy, x) >= w) == (not x <= t), (i, x)
        assert (word(copy, np.nan) >= w) == (copy % 2 == 1)  # NaN: the node's default side
    for i in np.flatnonzero(~internal):  # a leaf reads its own copy, and stays
        w = int(rn.nodes[i])
        for x in (np.nan, np.inf, -np.inf, 0.0):
            assert word(w >> 48, x) < w


def test_too_many_thresholds_keep_the_double_nodes(tmp_path, monkeypatch):
    """A feature with more than MAX_CUTS thresholds (65534; 3 here) gets 16-byte double
    nodes, still exact."""
    from staticml.backends.c import forest_layout

    model, X, method = forest_case("hgb")
    monkeypatch.setattr(forest_layout, "MAX_CUTS", 3)
    art = staticml.build(model, X[:500], tmp_path / "hgb", name="forest")
    src = _model_source(tmp_path / "hgb")
    assert "sm_fast_forest_run(" in src and "sm_fast_forest_r_" not in src
    got, ref = getattr(art, method)(X[1000:]), getattr(model, method)(X[1000:])
    assert np.abs(got - ref).max() <= 1e-9
