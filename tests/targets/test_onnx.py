"""The ``onnx`` target: every zoo model rendered to ONNX and run in onnxruntime.

Parity is measured, not assumed. Each model is built natively (``staticml.build``), its
``ir.json`` rendered with ``render_onnx`` and run in ``OnnxEngine`` on held-out rows plus
the build's own sample + probe rows (NaN, inf, 0, -0, every threshold and its float32/64
neighbours, unseen categories). On every row the native library accepts, labels must be
identical and outputs within the family's tolerance below; the measured max abs diff and
the number of bit-identical rows are printed (``pytest -s``) and recorded as properties.

Besides the zoo, ``EXTRAS`` are small models that reach the ops and tree features the zoo
does not (categorical splits, LightGBM's zero/none missing types, vector leaves, OvR,
modified Huber, ordinal/one-hot policies, IsolationForest's scores);
``test_every_op_and_tree_feature_is_exercised`` keeps that true.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import onnx
import onnxruntime as ort
import pandas as pd
import pytest

import staticml
from staticml.backends.onnx import describe, known_deviations, render_onnx
from staticml.ir import interpret
from staticml.ir import ops as o
from staticml.ir.graph import Builder, Graph
from staticml.ir.serialize import from_dict
from staticml.runtime.onnx import OnnxEngine
from staticml.verification.runner import rows_for_check

from .zoo import ZOO

pytestmark = [pytest.mark.needs_cc,
              pytest.mark.filterwarnings("ignore::UserWarning"),
              pytest.mark.filterwarnings("ignore::FutureWarning"),
              pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")]

RNG_SEED = 5


# ------------------------------------------------------------------------- extra models
def _frame(rng: np.random.Generator, n: int = 700) -> pd.DataFrame:
    X = pd.DataFrame({
        "a": rng.normal(size=n), "b": rng.normal(size=n).round(1),
        "c": rng.integers(0, 9, n).astype(float),
        "colour": rng.choice(["red", "green", "blue", "plum"], n),
        "shape": rng.choice(["disc", "cube", "cone", "ring", "star"], n, p=[.4, .3, .2, .07, .03]),
    })
    X.loc[rng.random(n) < 0.08, "a"] = np.nan
    X.loc[rng.random(n) < 0.05, "b"] = -1.0
    X.loc[rng.random(n) < 0.05, "colour"] = np.nan
    X.loc[rng.random(n) < 0.05, "shape"] = np.nan
    return X


def sgd_modified_huber_ovr():
    """OvR modified Huber; imputers with indicators (NaN and -1), clipped MinMax, ordinal."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import SGDClassifier
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import MinMaxScaler, OrdinalEncoder

    X = _frame(np.random.default_rng(RNG_SEED))
    y = np.digitize(np.nan_to_num(X["a"]) + X["b"], [-0.5, 0.5])
    pre = ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(add_indicator=True), MinMaxScaler(clip=True)), ["a"]),
        ("neg", SimpleImputer(missing_values=-1.0, add_indicator=True), ["b"]),
        ("ord", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1,
                               encoded_missing_value=-2), ["colour"]),
        ("pass", "passthrough", ["c"])])
    model = Pipeline([("pre", pre), ("clf", SGDClassifier(loss="modified_huber", random_state=0))])
    model.fit(X[:500], y[:500])
    held = X[500:].copy()
    held.loc[held.index[::9], "colour"] = "mauve"
    return model, X[:150], held


def sgd_log_loss_ovr():
    """OvR logistic; one-hot with drop='first', an erroring encoder, infrequent + NaN category."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import SGDClassifier
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    X = _frame(np.random.default_rng(RNG_SEED + 1))
    y = np.digitize(np.nan_to_num(X["a"]) + (X["colour"] == "red") - 0.5 * X["c"] / 4, [-0.5, 0.5])
    pre = ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), ["a", "b", "c"]),
        ("col", make_pipeline(SimpleImputer(strategy="most_frequent"),
                              OneHotEncoder(drop="first", handle_unknown="error")), ["colour"]),
        ("shp", OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=30), ["shape"])])
    model = Pipeline([("pre", pre), ("clf", SGDClassifier(loss="log_loss", random_state=0))])
    model.fit(X[:500], y[:500])
    held = X[500:].copy()
    held.loc[held.index[::11], "shape"] = "blob"
    held.loc[held.index[::13], "colour"] = "mauve"  # refused natively (handle_unknown='error')
    return model, X[:150], held


def sgd_modified_huber_binary():
    from sklearn.linear_model import SGDClassifier

    X = np.random.default_rng(RNG_SEED).normal(size=(600, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    model = SGDClassifier(loss="modified_huber", random_state=0)
    return model.fit(X[:400], y[:400]), X[:100], X[400:]


def mlp_identity_regressor():
    from sklearn.neural_network import MLPRegressor

    X = np.random.default_rng(RNG_SEED).normal(size=(600, 4))
    y = X @ np.array([1.0, -2.0, 0.5, 3.0])
    model = MLPRegressor(hidden_layer_sizes=(6,), activation="identity", max_iter=300,
                         random_state=0)
    return model.fit(X[:400], y[:400]), X[:100], X[400:]


def mlp_relu_binary():
    from sklearn.neural_network import MLPClassifier

    X = np.random.default_rng(RNG_SEED).normal(size=(600, 4))
    y = (X[:, 0] * X[:, 1] > 0).astype(int)
    model = MLPClassifier(hidden_layer_sizes=(8,), activation="relu", max_iter=400, random_state=0)
    return model.fit(X[:400], y[:400]), X[:100], X[400:]


def isolation_forest():
    from sklearn.ensemble import IsolationForest

    X = np.random.default_rng(RNG_SEED).normal(size=(600, 4))
    return IsolationForest(n_estimators=15, random_state=0).fit(X[:400]), X[:100], X[400:]


def gradient_boosting_classifier():
    from sklearn.ensemble import GradientBoostingClassifier

    X = np.random.default_rng(RNG_SEED).normal(size=(600, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    model = GradientBoostingClassifier(n_estimators=15, max_depth=3, random_state=0)
    return model.fit(X[:400], y[:400]), X[:100], X[400:]


def random_forest_two_targets():
    from sklearn.ensemble import RandomForestRegressor

    X = np.random.default_rng(RNG_SEED).normal(size=(600, 4))
    Y = np.c_[X[:, 0] + X[:, 1], X[:, 2] * X[:, 3]]
    model = RandomForestRegressor(n_estimators=8, max_depth=5, random_state=0)
    return model.fit(X[:400], Y[:400]), X[:100], X[400:]


def hgb_categorical_poisson():
    from sklearn.ensemble import HistGradientBoostingRegressor

    rng = np.random.default_rng(RNG_SEED)
    X = rng.normal(size=(700, 3))
    X[:, 0] = rng.integers(0, 12, 700)
    X[rng.random(700) < 0.05, 0] = np.nan
    y = rng.poisson(np.exp(np.isin(X[:, 0], [1, 4, 7]) + 0.3 * X[:, 1]))
    model = HistGradientBoostingRegressor(loss="poisson", max_iter=20, categorical_features=[0],
                                          random_state=0)
    return model.fit(X[:500], y[:500]), X[:150], X[500:]


def lightgbm_categorical_zero_multiclass():
    import lightgbm as lgb

    rng = np.random.default_rng(RNG_SEED)
    n = 900
    X = rng.normal(size=(n, 4))
    X[:, 3] = rng.integers(0, 10, n)
    X[rng.random(n) < 0.3, 2] = 0.0
    X[rng.random(n) < 0.1, 0] = np.nan
    score = np.nan_to_num(X[:, 0]) + (X[:, 2] == 0) + np.isin(X[:, 3], [0, 3, 5])
    y = np.digitize(score, [0.3, 1.2])
    model = lgb.LGBMClassifier(n_estimators=15, num_leaves=8, min_child_samples=5,
                               min_data_per_group=5, cat_smooth=1.0, max_cat_to_onehot=2,
                               zero_as_missing=True, verbose=-1, n_jobs=1, random_state=0)
    model.fit(X[:600], y[:600], categorical_feature=[3])
    held = X[600:].copy()
    held[:40:4, 3] = [-1.0, 2.5, 31.0, 1e10, np.inf, -0.5, 3.7, 64.0, 2.0**31, -0.0]
    held[1:40:4, 2] = [1e-36, -1e-36, 1e-35, 5e-324, 0.0, -0.0, 1.1e-35, 1e-34, np.nan, 2e-35]
    return model, X[:150], held


def lightgbm_no_nan_in_training():
    """Trained without NaN: LightGBM's 'None' missing type (NaN is read as 0.0)."""
    import lightgbm as lgb

    X = np.random.default_rng(RNG_SEED).normal(size=(900, 3))
    y = X[:, 0] - X[:, 1] ** 2
    model = lgb.LGBMRegressor(n_estimators=15, num_leaves=8, verbose=-1, n_jobs=1, random_state=0)
    held = X[600:].copy()
    held[::7, 0] = np.nan
    return model.fit(X[:600], y[:600]), X[:150], held


def xgboost_categorical_multiclass():
    import xgboost as xgb

    rng = np.random.default_rng(RNG_SEED)
    n = 900
    X = pd.DataFrame({
        "num": rng.normal(size=n),
        "colour": pd.Categorical(rng.choice(["red", "green", "blue", "grey", "teal"], n)),
        "other": rng.normal(size=n)})
    X.loc[rng.random(n) < 0.08, "num"] = np.nan
    y = np.digitize(np.nan_to_num(X["num"]) + X["colour"].isin(["red", "blue"]), [0.0, 1.0])
    model = xgb.XGBClassifier(n_estimators=10, max_depth=3, enable_categorical=True,
                              max_cat_to_onehot=1, tree_method="hist", n_jobs=1, random_state=0)
    return model.fit(X[:600], y[:600]), X[:150], X[600:]


EXTRAS: dict[str, Callable[[], tuple[Any, Any, Any]]] = {
    "sgd_modified_huber_ovr": sgd_modified_huber_ovr,
    "sgd_log_loss_ovr": sgd_log_loss_ovr,
    "sgd_modified_huber_binary": sgd_modified_huber_binary,
    "mlp_identity_regressor": mlp_identity_regressor,
    "mlp_relu_binary": mlp_relu_binary,
    "isolation_forest": isolation_forest,
    "gradient_boosting_classifier": gradient_boosting_classifier,
    "random_forest_two_targets": random_forest_two_targets,
    "hgb_categorical_poisson": hgb_categorical_poisson,
    "lightgbm_categorical_zero_multiclass": lightgbm_categorical_zero_multiclass,
    "lightgbm_no_nan_in_training": lightgbm_no_nan_in_training,
    "xgboost_categorical_multiclass": xgboost_categorical_multiclass,
}
MODELS = {**ZOO, **EXTRAS}

# Allowed max abs difference ONNX vs native per model, with the reason. 0.0 = bit-identical.
# Trees are compared in double with the same thresholds and summed in the IR's order, so
# tree-only outputs are exact; XGBoost's float32 sum is reproduced exactly by a Scan. What is
# not exact comes from onnxruntime's MatMul summation order and its exp/tanh kernels (a few
# ulp, measured ~1e-15): the project-wide 1e-9 applies to those.
ROUNDING = 1e-9
EXACT = 0.0
TOLERANCE: dict[str, float] = {
    "logreg_pipeline": ROUNDING,          # MatMul + logistic
    "mlp_multiclass": ROUNDING,           # MatMul + tanh + softmax
    "ridge_regression": ROUNDING,         # MatMul
    "random_forest": EXACT,               # double trees, averaged
    "gradient_boosting": EXACT,           # double trees from a base
    "hist_gradient_boosting": ROUNDING,   # exact margins, then logistic
    "xgboost_binary": ROUNDING,           # exact float32 margins, then logistic in double
    "lightgbm_regression": EXACT,
    "lightgbm_categories": ROUNDING,      # ordinal codes, exact margins, then logistic
    "sgd_modified_huber_ovr": ROUNDING,
    "sgd_log_loss_ovr": ROUNDING,
    "sgd_modified_huber_binary": ROUNDING,
    "mlp_identity_regressor": ROUNDING,
    "mlp_relu_binary": ROUNDING,
    "isolation_forest": ROUNDING,         # exact depths, then exp2
    "gradient_boosting_classifier": ROUNDING,
    "random_forest_two_targets": EXACT,
    "hgb_categorical_poisson": ROUNDING,  # exact raw prediction, then exp
    "lightgbm_categorical_zero_multiclass": ROUNDING,  # exact raw scores, then softmax
    "lightgbm_no_nan_in_training": EXACT,
    "xgboost_categorical_multiclass": ROUNDING,
}


# ------------------------------------------------------------------------------ running
@dataclass
class Case:
    name: str
    graph: Graph
    path: Path
    x: np.ndarray               # encoded held-out + sample + probe rows
    native: np.ndarray
    status: np.ndarray
    onnx: np.ndarray
    onnx_status: np.ndarray
    art: staticml.Artifact


_CASES: dict[str, Case] = {}


def _case(name: str, tmp_path_factory: pytest.TempPathFactory) -> Case:
    """Build ``name`` natively and as ONNX once per session; run both on the same rows."""
    if name not in _CASES:
        model, sample, held = MODELS[name]()
        root = tmp_path_factory.mktemp(name)
        art = staticml.build(model, sample=sample, out=root / "bundle", name=name)
        graph = from_dict(json.loads((root / "bundle" / "ir.json").read_text()))
        path = root / f"{name}.onnx"
        path.write_bytes(render_onnx(graph, name, {}))
        rows, _ = rows_for_check(graph, sample)
        x = np.vstack([art.encode(held), art.encode(rows)])
        native, status = art._lib.predict_matrix(x)
        engine = OnnxEngine(path, native.shape[1])
        try:
            out, onnx_status = engine.predict_matrix(x)
        finally:
            engine.close()
        _CASES[name] = Case(name, graph, path, x, native, status, out, onnx_status, art)
    return _CASES[name]


def _bits_equal(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per element: same value, or both NaN."""
    return (a == b) | (np.isnan(a) & np.isnan(b))


def measure(case: Case) -> dict:
    """Max abs diff and bit-identical rows between ONNX and native on accepted rows."""
    ok = case.status == 0
    a, b = case.native[ok], case.onnx[ok]
    diff = np.abs(a - b)
    return {
        "rows": int(len(ok)), "accepted": int(ok.sum()),
        "max_abs_diff": float(np.nan_to_num(diff, nan=0.0).max(initial=0.0)),
        "identical_rows": int(_bits_equal(a, b).all(axis=1).sum()),
        "max_ulp": int(np.abs(a.view(np.int64) - b.view(np.int64))[np.isfinite(a) & (a != 0)]
                       .max(initial=0)),
    }


# --------------------------------------------------------------------------------- tests
@pytest.mark.parametrize("name", sorted(MODELS))
def test_parity_with_native(name: str, tmp_path_factory, record_property) -> None:
    case = _case(name, tmp_path_factory)
    ok = case.status == 0
    stats = measure(case)
    record_property("onnx_parity", json.dumps(stats))
    print(f"\n[onnx] {name}: {stats}")
    assert stats["accepted"] > 100
    assert (case.onnx_status == 0).all()  # ONNX cannot refuse a row (runtime/onnx.py)
    a, b = case.native[ok], case.onnx[ok]
    assert np.array_equal(np.isnan(a), np.isnan(b)), "NaN in different places"
    if case.graph.task == "classification":
        assert np.array_equal(a[:, 0], b[:, 0]), "labels differ"
    assert stats["max_abs_diff"] <= TOLERANCE[name], stats
    assert known_deviations(case.graph)


def _slots_graph(graph: Graph, kinds: tuple[type, ...]) -> Graph:
    """``graph`` with a head that outputs every slot written by an op of ``kinds``."""
    slots = tuple(s for op in graph.ops if isinstance(op, kinds) for s in o.op_writes(op))
    return dataclasses.replace(graph, head=o.Regress(values=slots, squeeze=False))


def _assert_slots_bit_identical(case: Case, kinds: tuple[type, ...], path: Path) -> int:
    """Run the ``kinds`` slots through ONNX and the IR interpreter; returns the slot count."""
    graph = _slots_graph(case.graph, kinds)
    path.write_bytes(render_onnx(graph, case.name, {}))
    want, status, _ = interpret.run(graph, case.x)
    engine = OnnxEngine(path, want.shape[1])
    got, _ = engine.predict_matrix(case.x)
    engine.close()
    ok = status == 0
    same = _bits_equal(want[ok], got[ok]).all(axis=1)
    assert same.all(), f"{(~same).sum()} rows differ, e.g. {np.flatnonzero(~same)[:5]}"
    return want.shape[1]


TREE_MODELS = [k for k in sorted(MODELS) if any(
    s in k for s in ("forest", "boosting", "xgboost", "lightgbm", "hgb"))]


@pytest.mark.parametrize("name", TREE_MODELS)
def test_tree_sums_are_bit_identical(name: str, tmp_path_factory, tmp_path) -> None:
    """Every TreeEnsemble's own output equals the IR interpreter's bit for bit.

    The interpreter is the oracle the C library is tested bit-identical against; this
    isolates the trees from the link functions after them.
    """
    assert _assert_slots_bit_identical(_case(name, tmp_path_factory), (o.TreeEnsemble,),
                                       tmp_path / "trees.onnx")


PREPROCESSING = (o.Impute, o.MissingIndicator, o.SubDiv, o.MulAdd, o.OneHot, o.Ordinal,
                 o.Constant)
# Models whose preprocessing reads the inputs only (IsolationForest's SubDiv reads exp2).
PREPROCESSED = ["logreg_pipeline", "mlp_multiclass", "ridge_regression", "sgd_modified_huber_ovr",
                "sgd_log_loss_ovr"]


@pytest.mark.parametrize("name", PREPROCESSED)
def test_preprocessing_is_bit_identical(name: str, tmp_path_factory, tmp_path) -> None:
    """Scalers, imputers and encoders are IEEE-exact elementwise ops: no rounding freedom."""
    assert _assert_slots_bit_identical(_case(name, tmp_path_factory), PREPROCESSING,
                                       tmp_path / "pre.onnx")


@pytest.mark.parametrize("name", ["random_forest", "gradient_boosting", "lightgbm_regression",
                                  "xgboost_binary", "ridge_regression", "logreg_pipeline",
                                  "mlp_multiclass"])
def test_one_row_at_a_time_against_the_batch(name: str, tmp_path_factory, record_property) -> None:
    """A row's result should not depend on the rows around it; measured, not assumed.

    Trees and the exact elementwise ops give the same bits in any batch. onnxruntime's double
    ``Exp``/``Tanh`` kernels do not: their vectorised and scalar paths round differently (a
    one-row call differs from the batch by an ulp or two on ~15% of values), so models using
    them are held to labels + 1e-15 here.
    """
    case = _case(name, tmp_path_factory)
    engine = OnnxEngine(case.path, case.native.shape[1])
    idx = np.arange(0, min(len(case.x), 400), 3)
    rows = np.vstack([engine.predict_matrix(case.x[i:i + 1])[0] for i in idx])
    engine.close()
    batch = case.onnx[idx]
    differ = int((~_bits_equal(rows, batch).all(axis=1)).sum())
    record_property("rows_differing_from_batch", differ)
    print(f"\n[onnx] {name}: {differ} of {len(idx)} one-row calls differ from the batch")
    transcendental = any(isinstance(op, (o.Softmax, o.BinaryProba, o.OvrNormalize, o.Elementwise))
                         for op in case.graph.ops)
    if not transcendental:
        assert differ == 0
    assert np.array_equal(rows[:, 0], batch[:, 0])
    assert np.nanmax(np.abs(rows - batch)) <= 1e-15


@pytest.mark.parametrize("name", sorted(MODELS))
def test_checker_full_check(name: str, tmp_path_factory) -> None:
    case = _case(name, tmp_path_factory)
    onnx.checker.check_model(onnx.load(str(case.path)), full_check=True)


def test_describe_reports_opsets_and_nodes(tmp_path_factory) -> None:
    info = describe(_case("xgboost_binary", tmp_path_factory).path)
    assert info["opsets"] == {"ai.onnx": 21, "ai.onnx.ml": 5}
    assert info["op_types"]["ai.onnx.ml:TreeEnsemble"] == 1
    assert info["op_types"]["Scan"] == 1  # the float32 accumulation
    assert info["nodes_with_subgraphs"] > info["nodes"]  # the Scan body
    assert {"staticml_version", "schema_json", "outputs_json"} <= set(info["metadata"])
    linear = describe(_case("ridge_regression", tmp_path_factory).path)
    assert "ai.onnx.ml:TreeEnsemble" not in linear["op_types"] and linear["nodes"] > 0


def test_metadata_lets_a_user_encode_strings(tmp_path_factory) -> None:
    """With only the .onnx file and onnxruntime, string rows encode and predict as native."""
    case = _case("logreg_pipeline", tmp_path_factory)
    model = onnx.load(str(case.path))
    meta = {p.key: p.value for p in model.metadata_props}
    assert meta["staticml_version"] == staticml.__version__
    schema = json.loads(meta["schema_json"])
    outputs = json.loads(meta["outputs_json"])
    assert outputs["n_outputs"] == case.native.shape[1] and outputs["classes"] == [0, 1]
    _, _, held = ZOO["logreg_pipeline"]()
    cols = []
    for col in schema["inputs"]:
        values = held[col["name"]]
        if col["dtype"] == "number":
            cols.append(values.to_numpy(dtype=np.float64))
        else:
            codes = {s: i for i, s in enumerate(col["vocabulary"])}
            cols.append(np.array([np.nan if pd.isna(v) else codes.get(v, -1) for v in values],
                                 dtype=np.float64))
    x = np.column_stack(cols)
    assert np.array_equal(x, case.art.encode(held), equal_nan=True)
    (out,) = ort.InferenceSession(str(case.path), providers=["CPUExecutionProvider"]).run(
        ["out"], {"x": x})
    native, status = case.art._lib.predict_matrix(x)
    assert (held["region"] == "mars").any()  # unseen strings are in there (code -1)
    assert np.array_equal(out[status == 0, 0], native[status == 0, 0])


def test_caller_metadata_is_kept(tmp_path_factory) -> None:
    case = _case("ridge_regression", tmp_path_factory)
    data = render_onnx(case.graph, "ridge", {"model_version": "7", "staticml_version": "x"})
    meta = {p.key: p.value for p in onnx.load_from_string(data).metadata_props}
    assert meta["model_version"] == "7" and meta["staticml_version"] == "x"


def _features(graph: Graph) -> set[str]:
    """What a graph exercises: op kinds, functions, encoder policies, tree features, head rule."""
    seen: set[str] = set()
    for op in graph.ops:
        seen.add(type(op).__name__)
        if isinstance(op, (o.Elementwise, o.BinaryProba, o.OvrNormalize)):
            seen.add(f"{type(op).__name__}:{op.fn}")
        if isinstance(op, o.OneHot):
            policy = op.on_unknown if isinstance(op.on_unknown, str) else "bucket"
            seen.add(f"OneHot:unknown={policy}")
            if op.missing_position is not None:
                seen.add("OneHot:missing_category")
            if -1 in op.position:
                seen.add("OneHot:drop")
        if isinstance(op, o.Ordinal):
            seen.add(f"Ordinal:unknown={'error' if op.unknown_value is None else 'value'}")
        if isinstance(op, (o.Impute, o.MissingIndicator)) and not np.isnan(op.missing):
            seen.add(f"{type(op).__name__}:value")
        if isinstance(op, o.MulAdd) and op.clip is not None:
            seen.add("MulAdd:clip")
        if isinstance(op, o.TreeEnsemble):
            inner = op.feature >= 0
            seen |= {f"tree:{f}" for f in ("input_float32", "accumulate_float32", "average")
                     if getattr(op, f)}
            seen |= {f"tree:missing_type={m}" for m in np.unique(op.missing_type[inner])}
            if (op.cat_node[inner] >= 0).any():
                seen.add("tree:categorical")
            if any(op.base):
                seen.add("tree:base")
            if len(op.dst) > 1:
                seen.add("tree:vector_leaves" if (op.target < 0).any() else "tree:per_tree_target")
    head = graph.head
    seen.add(f"head:{head.rule}" if isinstance(head, o.Classify) else "head:regress")
    if isinstance(head, o.Classify) and head.score_samples:
        seen.add("head:score_samples")
    return seen


def _hand_built() -> Graph:
    """What the zoo does not reach: an identity Elementwise (no frontend emits one), a
    Constant (``build --drop-unused``) and encoders with empty key lists, next to exp2 and
    negate."""
    b = Builder([o.InputColumn(n, "number") for n in ("u", "v", "w")])
    ident, two, neg, const = b.alloc(3), b.alloc(3), b.alloc(3), b.alloc(2)
    hot, empty_hot, empty_ord = b.alloc(2), b.alloc(2), b.alloc(1)
    b.emit(o.Elementwise((0, 1, 2), ident, "identity"))
    b.emit(o.Elementwise(ident, two, "exp2"))
    b.emit(o.Elementwise((2, 0, 1), neg, "negate"))
    b.emit(o.Constant(const, (1.5, float("nan"))))
    b.emit(o.OneHot(0, hot, (-0.0, 1.5, 2.0), (1, -1, 0), None, "ignore"))
    b.emit(o.OneHot(1, empty_hot, (), (), -1, 1))
    b.emit(o.Ordinal(2, empty_ord[0], (), (), 3.0, -1.0))
    values = ident + two + neg + const + hot + empty_hot + empty_ord
    return b.finish(o.Regress(values=values, squeeze=False), "regression")


def test_hand_built_graph_matches_the_interpreter(tmp_path) -> None:
    graph = _hand_built()
    path = tmp_path / "hand.onnx"
    path.write_bytes(render_onnx(graph, "hand", {}))
    x = np.random.default_rng(0).normal(0, 30, size=(500, 3))
    x[:9] = [[np.nan, np.inf, -np.inf], [0.0, -0.0, 1e-300], [1100, -1100, 5e-324],
             [-1074, -1075, 1023.9], [1023, -1022, 0.5], [1, 2, 3], [-1, -2, -3],
             [1.5, np.nan, np.nan], [2.0, 0.0, 1.0]]
    want, _, _ = interpret.run(graph, x)
    got, _ = OnnxEngine(path, want.shape[1]).predict_matrix(x)
    assert np.array_equal(want[:, :3], got[:, :3], equal_nan=True)  # identity
    assert np.array_equal(want[:, 6:], got[:, 6:], equal_nan=True)  # negate, constant, encoders
    assert np.array_equal(np.isnan(want), np.isnan(got))
    w, g = want[:, 3:6], got[:, 3:6]
    finite = np.isfinite(w) & (w != 0)
    assert np.array_equal(w[~finite], g[~finite], equal_nan=True)  # inf, 0, NaN: exactly
    # exp2 is exp(x * ln2) as in the C, so it carries the rounding of x * ln2 (~|x| 2^-53).
    assert (np.abs(w[finite] - g[finite]) <= 1e-13 * np.abs(w[finite]) + 1e-320).all()


def test_every_op_and_tree_feature_is_exercised(tmp_path_factory) -> None:
    seen: set[str] = _features(_hand_built())
    for name in MODELS:
        seen |= _features(_case(name, tmp_path_factory).graph)
    ops = {cls.__name__ for cls in o.Op.__args__}
    fns = ({f"Elementwise:{f}" for f in o.Activation.__args__}
           | {f"BinaryProba:{f}" for f in ("logistic", "identity", "modified_huber")}
           | {f"OvrNormalize:{f}" for f in ("logistic", "modified_huber")})
    rules = {f"head:{r}" for r in ("positive", "nonnegative", "argmax", "proba_gt_half",
                                    "proba_argmax", "regress", "score_samples")}
    trees = {"tree:input_float32", "tree:accumulate_float32", "tree:average", "tree:base",
             "tree:categorical", "tree:vector_leaves", "tree:per_tree_target",
             *(f"tree:missing_type={m}" for m in (o.MISSING_NONE, o.MISSING_ZERO, o.MISSING_NAN))}
    encoders = {"OneHot:unknown=ignore", "OneHot:unknown=error", "OneHot:unknown=bucket",
                "OneHot:missing_category", "OneHot:drop", "Ordinal:unknown=value",
                "Ordinal:unknown=error", "Impute:value", "MissingIndicator:value", "MulAdd:clip"}
    missing = (ops | fns | rules | trees | encoders) - seen
    assert not missing, sorted(missing)
