"""scikit-learn tree models: DecisionTree, RandomForest, ExtraTrees, GradientBoosting,
HistGradientBoosting, lowered to one TreeEnsemble op plus the estimator's link.

Numerics (see ``TreeEnsemble``): DecisionTree/RandomForest/ExtraTrees/GradientBoosting cast X
to float32 and compare ``(float)x <= threshold`` with a double threshold, route NaN by
``missing_go_to_left``; HistGradientBoosting compares doubles and has its own categorical
bitsets. Leaf values are precomputed exactly as scikit-learn computes them (e.g. a boosting
stage's ``learning_rate * value`` product), so sums match bit for bit.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ...errors import UnsupportedModelError
from ...ir.graph import Builder
from ...ir.ops import (BinaryProba, CheckFinite, Classify, Elementwise, Regress, Slots,
                       Softmax, SubDiv)
from ...ir.trees import Tree, assemble
from ..registry import lower_transform, register
from ._common import require_numeric
from .linear import classes_of


def _accepts(est: Any, value: float, column: int | None = None,
             own: dict[int, Any] | None = None) -> bool:
    """Does ``est.predict`` accept ``value`` (in one column, or all)? Its own checks decide.

    Columns HistGradientBoosting encodes itself hold a training category in the probe row
    (a float there would fail on the category's type, not on the value being probed);
    ``own`` is ``_own_encoder_columns(est)``, passed by callers that probe many times."""
    n = int(est.n_features_in_)
    row: list[Any] = [value if column in (None, j) else 0.0 for j in range(n)]
    for j, category in (_own_encoder_columns(est) if own is None else own).items():
        row[j] = category
    names = getattr(est, "feature_names_in_", None)
    if names is not None:
        import pandas as pd

        X: Any = pd.DataFrame([row], columns=list(names))
    else:
        X = np.asarray([row], dtype=np.float64)
    from joblib import parallel_config

    try:
        with warnings.catch_warnings(), parallel_config(backend="sequential"):
            warnings.simplefilter("ignore")
            est.predict(X)
        return True
    except (ValueError, TypeError):
        return False


def _own_encoder_columns(est: Any) -> dict[int, Any]:
    """Input columns HistGradientBoosting's own OrdinalEncoder takes, each with its first
    training category (``categorical_features`` from pandas category dtypes or names)."""
    pre = getattr(est, "_preprocessor", None)
    if pre is None:
        return {}
    for name, trans, columns in pre.transformers_:
        if name == "encoder":
            return dict(zip(_column_indices(columns), (c[0] for c in trans.categories_)))
    return {}


def _column_indices(columns: Any) -> list[int]:
    columns = np.asarray(columns)
    return ([i for i, keep in enumerate(columns) if keep] if columns.dtype == bool
            else [int(c) for c in columns])


def _validation(est: Any, b: Builder, src: Slots, float32: bool) -> None:
    """Reproduce the estimator's input checks, probing them rather than assuming them.

    Columns the estimator encodes itself (HistGradientBoosting's categories) are left to
    that encoder's lowering, which has its own rules for strings, NaN and unseen values."""
    own = _own_encoder_columns(est)
    numeric = [(j, s) for j, s in enumerate(src) if j not in own]
    require_numeric(b, tuple(s for _, s in numeric), est)
    groups: dict[tuple[bool, bool], list[int]] = {}
    for value_ok in ((_accepts(est, np.nan, own=own), _accepts(est, np.inf, own=own)),):
        if all(value_ok):
            groups[value_ok] = [s for _, s in numeric]
        else:
            for j, s in numeric:
                key = (_accepts(est, np.nan, j, own), _accepts(est, np.inf, j, own))
                groups.setdefault(key, []).append(s)
    for (allow_nan, allow_inf), slots in groups.items():
        if allow_nan and allow_inf and not float32:
            continue
        b.emit(CheckFinite(tuple(slots), allow_nan=allow_nan, allow_inf=allow_inf,
                           float32=float32, note=f"{type(est).__name__} input validation"))


def _sk_tree(tree: Any, value: np.ndarray, target: int = -1) -> Tree:
    is_leaf = tree.children_left == -1
    missing = getattr(tree, "missing_go_to_left", None)
    return Tree(
        feature=np.where(is_leaf, -1, tree.feature).astype(np.int32),
        threshold=np.asarray(tree.threshold, dtype=np.float64),
        left=tree.children_left.astype(np.int32), right=tree.children_right.astype(np.int32),
        default_left=(np.zeros(len(is_leaf), bool) if missing is None
                      else np.asarray(missing).astype(bool)),
        value=np.asarray(value, dtype=np.float64).reshape(len(is_leaf), -1), target=target)


def _forest(est: Any, b: Builder, src: Slots, trees: list[Tree], base: Any,
            average: bool = False, note: str = "") -> Slots:
    """Validation plus one float32-input TreeEnsemble, as every non-hist sklearn tree has."""
    _validation(est, b, src, float32=True)
    dst = b.alloc(len(base))
    b.emit(assemble(trees, src, dst, base, input_float32=True, average=average,
                    note=f"{type(est).__name__}: {len(trees)} trees{note}"))
    return dst


def _single_output(est: Any) -> None:
    if getattr(est, "n_outputs_", 1) != 1 and hasattr(est, "classes_"):
        raise UnsupportedModelError(f"multi-output {type(est).__name__}")


@register("sklearn.DecisionTreeClassifier", "sklearn.ExtraTreeClassifier",
          "sklearn.RandomForestClassifier", "sklearn.ExtraTreesClassifier", kind="predictor")
def convert_tree_classifier(est: Any, b: Builder, src: Slots) -> Classify:
    _single_output(est)
    members = getattr(est, "estimators_", [est])
    k = len(est.classes_)
    trees = [_sk_tree(m.tree_, m.tree_.value[:, 0, :k]) for m in members]
    proba = _forest(est, b, src, trees, [0.0] * k, average=hasattr(est, "estimators_"))
    classes, dtype = classes_of(est)
    return Classify(classes, dtype, "proba_argmax", proba, proba, has_decision_function=False)


@register("sklearn.DecisionTreeRegressor", "sklearn.ExtraTreeRegressor",
          "sklearn.RandomForestRegressor", "sklearn.ExtraTreesRegressor", kind="predictor")
def convert_tree_regressor(est: Any, b: Builder, src: Slots) -> Regress:
    members = getattr(est, "estimators_", [est])
    n_out = int(est.n_outputs_)
    trees = [_sk_tree(m.tree_, m.tree_.value[:, :, 0]) for m in members]
    values = _forest(est, b, src, trees, [0.0] * n_out, average=hasattr(est, "estimators_"))
    return Regress(values, squeeze=n_out == 1)


def _gb_raw(est: Any, b: Builder, src: Slots) -> Slots:
    init = est.init_
    if not (init == "zero" or type(init).__name__ in ("DummyClassifier", "DummyRegressor")):
        raise UnsupportedModelError(
            f"{type(est).__name__} with init={type(init).__name__}: only the default (prior) "
            "or 'zero' init is a constant that can be compiled")
    n = int(est.n_features_in_)
    base = np.asarray(est._raw_predict_init(np.zeros((1, n), dtype=np.float32)))[0]
    stages, k = est.estimators_.shape
    lr = float(est.learning_rate)
    trees = []
    for i in range(stages):
        for j in range(k):
            tree = est.estimators_[i, j].tree_
            # predict_stages adds scale * value[node]: the same product, computed here once.
            trees.append(_sk_tree(tree, lr * tree.value[:, 0, 0], target=j))
    return _forest(est, b, src, trees, base, note=f", learning rate {lr}")


@register("sklearn.GradientBoostingClassifier", kind="predictor")
def convert_gb_classifier(est: Any, b: Builder, src: Slots) -> Classify:
    raw = _gb_raw(est, b, src)
    classes, dtype = classes_of(est)
    return _boosted_classifier(b, raw, classes, dtype, binary_rule="nonnegative")


@register("sklearn.GradientBoostingRegressor", kind="predictor")
def convert_gb_regressor(est: Any, b: Builder, src: Slots) -> Regress:
    return Regress(_gb_raw(est, b, src))


def _boosted_classifier(b: Builder, raw: Slots, classes: tuple, dtype: str,
                        binary_rule: str) -> Classify:
    if len(raw) == 1:
        proba = b.alloc(2)
        b.emit(BinaryProba(raw[0], (proba[0], proba[1]), "logistic", note="predict_proba"))
        return Classify(classes, dtype, binary_rule, raw, proba)
    proba = b.alloc(len(raw))
    b.emit(Softmax(raw, proba, note="predict_proba"))
    return Classify(classes, dtype, "argmax", raw, proba)


def _hgb_inputs(est: Any, b: Builder, src: Slots) -> Slots:
    """Apply HistGradientBoosting's own categorical preprocessor (an OrdinalEncoder)."""
    pre = getattr(est, "_preprocessor", None)
    if pre is None:
        return src
    out: list[int] = []
    for name, trans, columns in pre.transformers_:
        sel = tuple(src[i] for i in _column_indices(columns))
        if name == "encoder":
            out.extend(lower_transform(trans, b, sel))
        elif trans == "drop" or not sel:
            continue
        else:  # the 'numerical' FunctionTransformer is check_array: a passthrough
            out.extend(sel)
    return tuple(out)


def _hgb_tree(pred: Any, known: np.ndarray, f_idx_map: np.ndarray, target: int) -> Tree:
    nodes = pred.nodes
    n = len(nodes)
    is_leaf = nodes["is_leaf"].astype(bool)
    left = nodes["left"].astype(np.int32)
    right = nodes["right"].astype(np.int32)
    default_left = nodes["missing_go_to_left"].astype(bool)
    categories: list[list[int] | None] = [None] * n
    raw_bits = pred.raw_left_cat_bitsets
    for i in np.flatnonzero(nodes["is_categorical"].astype(bool) & ~is_leaf):
        to_left = _bits(raw_bits[nodes["bitset_idx"][i]])
        known_cats = _bits(known[f_idx_map[nodes["feature_idx"][i]]])
        if default_left[i]:
            # Unknown categories follow the missing direction (left), so the finite set is
            # the one going right: swap the children and let "in the set" mean right.
            categories[i] = sorted(set(known_cats) - set(to_left))
            left[i], right[i] = right[i], left[i]
            default_left[i] = False
        else:
            categories[i] = to_left
    return Tree(feature=np.where(is_leaf, -1, nodes["feature_idx"]).astype(np.int32),
                threshold=nodes["num_threshold"].astype(np.float64), left=left, right=right,
                default_left=default_left, value=nodes["value"].astype(np.float64)[:, None],
                target=target, categories=categories)


def _bits(words: np.ndarray) -> list[int]:
    return [32 * w + k for w, word in enumerate(np.asarray(words, dtype=np.uint32))
            for k in range(32) if (int(word) >> k) & 1]


def _hgb_raw(est: Any, b: Builder, src: Slots) -> Slots:
    _validation(est, b, src, float32=False)
    x = _hgb_inputs(est, b, src)
    known, f_idx_map = est._bin_mapper.make_known_categories_bitsets()
    trees = [_hgb_tree(pred, known, f_idx_map, k)
             for iteration in est._predictors for k, pred in enumerate(iteration)]
    base = np.asarray(est._baseline_prediction, dtype=np.float64).ravel()
    raw = b.alloc(len(base))
    b.emit(assemble(trees, x, raw, base,
                    note=f"{type(est).__name__}: {len(est._predictors)} iterations"))
    return raw


@register("sklearn.HistGradientBoostingClassifier", kind="predictor")
def convert_hgb_classifier(est: Any, b: Builder, src: Slots) -> Classify:
    raw = _hgb_raw(est, b, src)
    classes, dtype = classes_of(est)
    return _boosted_classifier(b, raw, classes, dtype, binary_rule="positive")


@register("sklearn.HistGradientBoostingRegressor", kind="predictor")
def convert_hgb_regressor(est: Any, b: Builder, src: Slots) -> Regress:
    raw = _hgb_raw(est, b, src)
    link = type(est._loss.link).__name__
    if link == "IdentityLink":
        return Regress(raw)
    if link == "LogLink":
        out = b.alloc(len(raw))
        b.emit(Elementwise(raw, out, "exp", note=f"{est.loss} inverse link"))
        return Regress(out)
    raise UnsupportedModelError(f"HistGradientBoostingRegressor with loss={est.loss!r}")


@register("sklearn.IsolationForest", kind="predictor")
def convert_isolation_forest(est: Any, b: Builder, src: Slots) -> Classify:
    """score_samples = -2^(-sum(depth_t + c(n_leaf) - 1) / (n_trees * c(max_samples)))."""
    from sklearn.ensemble._iforest import _average_path_length

    trees = []
    for t, (member, features) in enumerate(zip(est.estimators_, est.estimators_features_)):
        tree = member.tree_
        # The exact per-leaf term sklearn adds: (path length + c(n)) - 1.0, in that order.
        leaf_depth = (est._decision_path_lengths[t] + est._average_path_length_per_tree[t]
                      - 1.0)
        sk = _sk_tree(tree, leaf_depth, target=0)
        sk.feature = np.where(sk.feature >= 0, np.asarray(features)[np.maximum(sk.feature, 0)],
                              -1).astype(np.int32)
        trees.append(sk)
    denominator = len(est.estimators_) * float(_average_path_length([est._max_samples])[0])
    if denominator == 0:
        raise UnsupportedModelError("IsolationForest with max_samples=1")
    (depths,) = _forest(est, b, src, trees, [0.0], note=" (path lengths)")
    (ratio,) = b.alloc(1)
    b.emit(SubDiv((depths,), (ratio,), (0.0,), (denominator,), note="mean path / c(max_samples)"))
    neg, pow2, score = b.alloc(1)[0], b.alloc(1)[0], b.alloc(1)[0]
    b.emit(Elementwise((ratio,), (neg,), "negate", note="-(depths / denominator)"))
    b.emit(Elementwise((neg,), (pow2,), "exp2", note="2 ** -(...)"))
    b.emit(Elementwise((pow2,), (score,), "negate", note="score_samples"))
    (decision,) = b.alloc(1)
    b.emit(SubDiv((score,), (decision,), (float(est.offset_),), (1.0,),
                  note="decision_function = score_samples - offset_"))
    return Classify((-1, 1), np.dtype(int).str, "nonnegative", (decision,), None,
                    has_decision_function=True, score_samples=(score,))
