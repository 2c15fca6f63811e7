"""The loaded artifact: thread safety, empty input, arrays, label dtypes."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import staticml

pytestmark = pytest.mark.needs_cc


def test_concurrent_predictions_from_threads_are_correct(churn, churn_bundle):
    model, _, X_test, _ = churn
    art = staticml.load(churn_bundle)
    chunks = [X_test.iloc[i::8] for i in range(8)]
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(art.predict_proba, chunks * 4))
    for chunk, got in zip(chunks * 4, results):
        assert np.abs(got - model.predict_proba(chunk)).max() <= 1e-9


def test_empty_input_gives_empty_output(churn, churn_bundle):
    _, _, X_test, _ = churn
    art = staticml.load(churn_bundle)
    assert art.predict(X_test[:0]).shape == (0,)
    assert art.predict_proba(X_test[:0]).shape == (0, 2)


def test_numpy_arrays_and_integer_labels(tmp_path):
    X, y = make_classification(400, 6, n_informative=4, n_classes=3, random_state=0)
    y = np.array([3, 7, 11])[y]
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)
    art = staticml.build(model, X[:100], tmp_path / "arr", name="arr")
    assert [c.name for c in art.inputs] == [f"x{i}" for i in range(6)]
    got = art.predict(X)
    assert got.dtype == model.predict(X).dtype and np.array_equal(got, model.predict(X))
    assert np.abs(art.decision_function(X) - model.decision_function(X)).max() <= 1e-9
    one = art.predict(X[:1])
    assert one.shape == (1,) and one[0] == model.predict(X[:1])[0]


@pytest.fixture(scope="module")
def mlp_bundle(tmp_path_factory):
    """An MLP behind a scaler, no imputer: NaN rows are refused row by row."""
    from sklearn.neural_network import MLPClassifier

    X, y = make_classification(3000, 7, n_informative=5, n_classes=3, random_state=1)
    model = make_pipeline(StandardScaler(), MLPClassifier((9, 6), max_iter=300,
                                                          random_state=0)).fit(X, y)
    out = tmp_path_factory.mktemp("mlp") / "mlp"
    staticml.build(model, X[:500], out, name="mlp")
    return model, X, out


def _block_equals_rows_alone(art, x: np.ndarray, refused: list[int]):
    """Run ``x`` as one batch and row by row: the rows in ``refused`` (only those) must be
    refused, every other row must get the same bits alone. Returns (outputs, ok rows)."""
    outs, status = art.run(x)
    assert np.flatnonzero(status).tolist() == refused
    for r in range(len(x)):
        one, st = art.run(x[r:r + 1])
        assert st[0] == status[r]
        if st[0] == 0:
            assert one[0].tobytes() == outs[r].tobytes(), f"row {r} differs in a block"
    return outs, np.setdiff1d(np.arange(len(x)), refused)


def test_dense_block_kernel_equals_row_kernel_with_refused_rows_interleaved(mlp_bundle):
    """NAME_predict_matrix runs dense layers SM_LANES rows at a time; every row must get
    the bits it gets alone, whatever its neighbours (refused rows, partial lane groups)."""
    model, X, out = mlp_bundle
    art = staticml.load(out, threads=1)
    x = X[:303].copy()  # > SM_AVX2_MIN_ROWS, not a multiple of the lanes or the block size
    x[[0, 5, 6, 7, 64, 130, 202], 2] = np.nan  # refused rows in and across lane groups
    outs, ok = _block_equals_rows_alone(art, x, refused=[0, 5, 6, 7, 64, 130, 202])
    assert np.abs(outs[ok][:, art._proba] - model.predict_proba(x[ok])).max() <= 1e-9


def test_threads_do_not_change_results_or_contract_counts(mlp_bundle):
    """A batch split over threads gives the same bits and the same violation counts."""
    _, X, out = mlp_bundle
    x = np.concatenate([X] * 4)  # 12,000 rows: several chunks
    x[::97, 0] = 1e6  # out of the training range: counted, still predicted
    got = {}
    for threads in (1, 3):
        art = staticml.load(out, threads=threads)
        got[threads] = (art.predict_proba(x), art.violations())
    assert got[1][0].tobytes() == got[3][0].tobytes()
    assert got[1][1] == got[3][1]
    checked = staticml.load(out).check(x)  # the same rules in numpy, without predicting
    assert got[1][1]["rows_with_violations"] == checked["rows_with_violations"] >= len(x[::97])



@pytest.mark.parametrize("kind", ["rf", "gb-multiclass", "gbr"])
def test_forest_block_kernel_equals_row_kernel_with_refused_rows_interleaved(tmp_path, kind):
    """NAME_predict_matrix walks forests SM_GROUP rows at a time over a feature-major block;
    every row must get the bits it gets alone, whatever its neighbours: refused rows (here
    by the contract policy "error"), partial lane groups, the leaf vector of a random forest
    (one tree, all outputs) and boosting's one output per tree."""
    from sklearn.ensemble import (GradientBoostingClassifier, GradientBoostingRegressor,
                                  RandomForestClassifier)

    X, y = make_classification(2000, 9, n_informative=6, n_classes=3, random_state=2)
    model = {"rf": lambda: RandomForestClassifier(30, max_depth=7, random_state=0),
             "gb-multiclass": lambda: GradientBoostingClassifier(n_estimators=20, random_state=0),
             "gbr": lambda: GradientBoostingRegressor(n_estimators=40, random_state=0)}[kind]()
    model.fit(X, y if kind != "gbr" else X[:, 0] * 3 + y)
    art = staticml.build(model, X, tmp_path / kind, name="forest", on_violation="error")
    x = X[:237].copy()  # several blocks, the last lane group partial
    bad = [0, 3, 15, 16, 17, 64, 100, 236]  # refused rows in and across lane groups
    x[bad, 4] = 1e6  # outside the training range: refused under policy "error"
    _, ok = _block_equals_rows_alone(art, x, refused=bad)
    if kind == "gbr":
        assert np.abs(art.predict(x[ok]) - model.predict(x[ok])).max() <= 1e-9
    else:
        assert np.abs(art.predict_proba(x[ok]) - model.predict_proba(x[ok])).max() <= 1e-9


@pytest.mark.parametrize("classes", [0, 3])
def test_ragged_trees_one_row_kernel_equals_batch_kernel(tmp_path, classes, monkeypatch):
    """Leaf-wise trees (HistGradientBoosting) are ragged: the one-row forest kernel walks
    each window of trees sorted by depth and stops a group early once its walks are expected
    to be done; the batch kernel walks rows, trees in order. Each row alone must give the
    bits the batch kernel gives, NaN rows included: over several windows, the last one
    partial, and (3 classes) with trees adding to different outputs. The regressor's
    sorting saves less than WINDOW_SAVING, so windows are forced for it."""
    import json

    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    from staticml.backends.c import forest_layout
    from staticml.backends.c.forest_layout import GROUP, WINDOW, layout
    from staticml.ir import ops as o
    from staticml.ir.serialize import from_dict

    rng = np.random.default_rng(3)
    X = rng.normal(size=(3000, 6))
    X[rng.random(X.shape) < 0.05] = np.nan
    y = np.where(X[:, 0] > 1.5, 5 * np.nan_to_num(X[:, 1]), 0.0) + np.nan_to_num(X[:, 2]) ** 2
    params = dict(max_iter=130, max_leaf_nodes=40, max_depth=None, early_stopping=False,
                  random_state=0)
    if classes:
        model = HistGradientBoostingClassifier(**params).fit(
            X, np.digitize(y, np.quantile(y, [1 / 3, 2 / 3])))
    else:
        model = HistGradientBoostingRegressor(**params).fit(X, y)
        monkeypatch.setattr(forest_layout, "WINDOW_SAVING", -1.0)
    art = staticml.build(model, X[:500], tmp_path / "hgb", name="hgb")
    graph = from_dict(json.loads((tmp_path / "hgb" / "ir.json").read_text()))
    forest = layout(next(op for op in graph.ops if isinstance(op, o.TreeEnsemble)))
    n_trees = len(forest.tree_depth)
    assert n_trees > WINDOW * GROUP and n_trees % (WINDOW * GROUP), "one window: test is moot"
    assert (forest.group_from < forest.group_depth).any(), "no ragged group: test is moot"
    in_order = np.arange(n_trees) % (WINDOW * GROUP)
    assert forest.window == WINDOW and (forest.walk_pos != in_order).any(), "tree order: moot"
    x = X[:120]
    batch, _ = art.run(x)
    for r in range(len(x)):
        one, _ = art.run(x[r:r + 1])
        assert one[0].tobytes() == batch[r].tobytes(), f"row {r}"
    if classes:
        assert (art.predict(x) == model.predict(x)).all()
        assert np.abs(art.predict_proba(x) - model.predict_proba(x)).max() <= 1e-9
    else:
        assert np.abs(art.predict(x) - model.predict(x)).max() <= 1e-9


@pytest.mark.parametrize("family", ["sklearn-rf", "xgboost", "xgboost-lossguide"])
def test_large_float32_forests_use_8_byte_nodes_exactly(tmp_path, family, monkeypatch):
    """Past FLOAT32_NODES_FROM nodes, float32 forests are printed as 8-byte nodes with
    thresholds rounded down to float; every decision must stay the same (the build's own
    probe rows sit on every threshold and its float32/float64 neighbours). The leaf-wise
    forest is walked in sorted windows (forced: its sorting saves under WINDOW_SAVING)."""
    import json

    from staticml.backends.c import forest_layout
    from staticml.backends.c.forest_layout import FLOAT32_NODES_FROM, float32_nodes, layout
    from staticml.ir import ops as o
    from staticml.ir.serialize import from_dict

    rng = np.random.default_rng(5)
    X = rng.normal(size=(3000, 8)) * rng.choice([1e-3, 1.0, 1e4], size=8)
    X[rng.random(X.shape) < 0.03] = np.nan
    # mostly noise, so the trees grow big (fully grown RF: ~3,000 nodes per tree)
    y = (np.nan_to_num(X[:, 0]) > 0) ^ (rng.random(3000) < 0.4)
    if family == "sklearn-rf":
        from sklearn.ensemble import RandomForestClassifier
        model = RandomForestClassifier(n_estimators=70, random_state=0, n_jobs=1).fit(X, y)
        tol = 1e-9
    elif family == "xgboost":
        xgb = pytest.importorskip("xgboost")
        model = xgb.XGBClassifier(n_estimators=1200, max_depth=6, learning_rate=0.05,
                                  n_jobs=1, random_state=0).fit(X, y)
        tol = 1e-6
    else:
        xgb = pytest.importorskip("xgboost")
        model = xgb.XGBClassifier(n_estimators=700, grow_policy="lossguide", max_depth=0,
                                  max_leaves=64, learning_rate=0.05, n_jobs=1,
                                  random_state=0).fit(X, y)
        tol = 1e-6
        monkeypatch.setattr(forest_layout, "WINDOW_SAVING", -1.0)
    art = staticml.build(model, X[:1000], tmp_path / "big", name="big")
    graph = from_dict(json.loads((tmp_path / "big" / "ir.json").read_text()))
    op = next(op for op in graph.ops if isinstance(op, o.TreeEnsemble))
    fast = layout(op)
    assert len(fast.thr) >= FLOAT32_NODES_FROM and float32_nodes(op, fast) is not None
    assert (fast.window > 1) == (family == "xgboost-lossguide")
    assert "sm_node32" in (tmp_path / "big" / "src" / "big.c").read_text()
    x = rng.normal(size=(2000, 8)) * X[~np.isnan(X)].std()
    x[rng.random(x.shape) < 0.03] = np.nan
    assert np.array_equal(art.predict(x), model.predict(x))
    assert np.abs(art.predict_proba(x) - model.predict_proba(x)).max() <= tol
    for r in range(0, 40):  # one-row kernel: the same bits as in a batch
        assert art.run(x[r:r + 1])[0][0].tobytes() == art.run(x[:40])[0][r].tobytes()


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs os.fork")
def test_big_batches_work_in_a_forked_child(mlp_bundle):
    """Servers fork workers after loading a model (gunicorn --preload, multiprocessing):
    the thread pool of the parent does not exist in the child, which must make its own."""
    import multiprocessing as mp

    _, X, out = mlp_bundle
    art = staticml.load(out, threads=2)
    x = np.concatenate([X] * 4)
    want = art.predict_proba(x)  # the parent's pool now exists
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=lambda: queue.put(art.predict_proba(x).tobytes()))
    child.start()
    try:
        got = queue.get(timeout=60)  # a child stuck on the parent's dead pool times out here
    finally:
        child.join(timeout=10)
        if child.is_alive():
            child.kill()
    assert got == want.tobytes()


def test_batch_results_are_fresh_arrays_not_views_of_reused_buffers(mlp_bundle, tmp_path):
    """Batches run in per-thread scratch buffers that the next batch overwrites; every
    method must return its own array (classifier labels and probabilities, and the
    values of a two-output regressor, the one layout returned without a squeeze)."""
    from sklearn.linear_model import LinearRegression

    model, X, out = mlp_bundle
    reg = LinearRegression().fit(X, np.c_[X[:, 0], X[:, 1] * 2])
    cases = [(staticml.load(out, threads=1), ("predict", "predict_proba")),
             (staticml.build(reg, X[:500], tmp_path / "reg2"), ("predict",))]
    for art, methods in cases:
        first = {m: getattr(art, m)(X[:300]) for m in methods}
        kept = {m: v.copy() for m, v in first.items()}
        for m in methods:
            getattr(art, m)(X[300:550])  # a smaller batch: reuses and overwrites the scratch
        for m in methods:
            assert np.array_equal(first[m], kept[m]), m
    assert np.abs(cases[1][0].predict(X[:300]) - reg.predict(X[:300])).max() <= 1e-9


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_invalid_thread_counts_are_refused_with_the_fix(mlp_bundle, bad, monkeypatch):
    """0 or -1 are not quietly taken as 1 (or as "all cores"): the error says what to pass."""
    _, _, out = mlp_bundle
    with pytest.raises(ValueError, match=r"threads=.*whole number >= 1"):
        staticml.load(out, threads=bad)
    monkeypatch.setenv("STATICML_THREADS", str(bad))
    if str(bad) != "2":
        with pytest.raises(ValueError, match=r"STATICML_THREADS=.*whole number >= 1"):
            staticml.load(out)
    else:
        assert staticml.load(out)._lib.threads == 2
