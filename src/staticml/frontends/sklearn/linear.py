"""Linear models: one Linear op, then the estimator's own link and decision rule."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...errors import UnsupportedModelError
from ...ir.graph import Builder
from ...ir.ops import BinaryProba, Classify, Linear, OvrNormalize, Regress, Slots, Softmax
from ..registry import register
from ._common import check_finite, floats, require_numeric


def linear_scores(est: Any, b: Builder, src: Slots) -> Slots:
    """Emit validation plus ``X @ coef_.T + intercept_`` and return the score slots."""
    require_numeric(b, src, est)
    if est.coef_.shape[-1] != len(src):
        raise UnsupportedModelError(
            f"{type(est).__name__} expects {est.coef_.shape[-1]} features but the pipeline "
            f"feeds it {len(src)}"
        )
    check_finite(b, src, est, allow_nan=False)
    coef = np.atleast_2d(np.asarray(est.coef_, dtype=np.float64))
    intercept = np.broadcast_to(np.asarray(est.intercept_, dtype=np.float64), coef.shape[:1])
    dst = b.alloc(coef.shape[0])
    b.emit(Linear(src, dst, coef.copy(), floats(intercept), note=type(est).__name__))
    return dst


def classes_of(est: Any) -> tuple[tuple, str]:
    classes = np.asarray(est.classes_)
    return tuple(classes.tolist()), classes.dtype.str


def linear_classifier(est: Any, b: Builder, src: Slots, proba_fn: str | None,
                      multiclass_proba: str) -> Classify:
    """LinearClassifierMixin: label = scores > 0 (binary) or argmax; optional probabilities."""
    scores = linear_scores(est, b, src)
    classes, dtype = classes_of(est)
    proba = None
    if len(scores) == 1:
        if proba_fn is not None:
            proba = b.alloc(2)
            b.emit(BinaryProba(scores[0], (proba[0], proba[1]), proba_fn, note="predict_proba"))
        return Classify(classes, dtype, "positive", scores, proba)
    if proba_fn is not None:
        proba = b.alloc(len(scores))
        if multiclass_proba == "softmax":
            b.emit(Softmax(scores, proba, note="predict_proba (multinomial)"))
        else:
            b.emit(OvrNormalize(scores, proba, proba_fn, note="predict_proba (one-vs-rest)"))
    return Classify(classes, dtype, "argmax", scores, proba)


@register("sklearn.LogisticRegression", "sklearn.LogisticRegressionCV", kind="predictor")
def convert_logistic_regression(est: Any, b: Builder, src: Slots) -> Classify:
    multi = getattr(est, "multi_class", "auto")
    ovr = multi == "ovr" or (multi == "auto" and getattr(est, "solver", "") == "liblinear"
                             and _sklearn_before((1, 5)))
    return linear_classifier(est, b, src, "logistic", "ovr" if ovr else "softmax")


def _sklearn_before(version: tuple[int, int]) -> bool:
    import sklearn

    major, minor = (int(p) for p in sklearn.__version__.split(".")[:2])
    return (major, minor) < version


@register("sklearn.SGDClassifier", kind="predictor")
def convert_sgd_classifier(est: Any, b: Builder, src: Slots) -> Classify:
    fn = {"log_loss": "logistic", "log": "logistic", "modified_huber": "modified_huber"}
    return linear_classifier(est, b, src, fn.get(est.loss), "ovr")


@register("sklearn.LinearSVC", "sklearn.RidgeClassifier", "sklearn.Perceptron",
          kind="predictor")
def convert_linear_classifier(est: Any, b: Builder, src: Slots) -> Classify:
    return linear_classifier(est, b, src, None, "ovr")


@register("sklearn.LinearRegression", "sklearn.Ridge", "sklearn.Lasso", "sklearn.ElasticNet",
          "sklearn.SGDRegressor", "sklearn.LinearSVR", "sklearn.RidgeCV", "sklearn.LassoCV",
          "sklearn.ElasticNetCV", kind="predictor")
def convert_linear_regressor(est: Any, b: Builder, src: Slots) -> Regress:
    values = linear_scores(est, b, src)
    return Regress(values, squeeze=np.ndim(est.coef_) == 1)
