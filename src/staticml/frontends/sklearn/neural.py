"""Multi-layer perceptrons: a chain of Linear ops with the estimator's activations."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...errors import UnsupportedModelError
from ...ir.graph import Builder
from ...ir.ops import BinaryProba, Classify, Elementwise, Linear, Regress, Slots, Softmax
from ..registry import register
from ._common import check_finite, floats, require_numeric
from .linear import classes_of


def _forward(est: Any, b: Builder, src: Slots) -> Slots:
    require_numeric(b, src, est)
    check_finite(b, src, est, allow_nan=False)
    if est.activation not in ("identity", "relu", "tanh", "logistic"):
        raise UnsupportedModelError(f"MLP activation {est.activation!r}")
    x = src
    last = len(est.coefs_) - 1
    for i, (w, c) in enumerate(zip(est.coefs_, est.intercepts_)):
        z = b.alloc(w.shape[1])
        b.emit(Linear(x, z, np.asarray(w, dtype=np.float64).T.copy(), floats(c),
                      note=f"{type(est).__name__} layer {i + 1}"))
        fn = est.out_activation_ if i == last else est.activation
        if fn == "identity":
            x = z
            continue
        if fn == "softmax":
            a = b.alloc(len(z))
            b.emit(Softmax(z, a, note="output softmax"))
        else:
            a = b.alloc(len(z))
            b.emit(Elementwise(z, a, fn, note=f"layer {i + 1} {fn}"))
        x = a
    return x


@register("sklearn.MLPClassifier", kind="predictor")
def convert_mlp_classifier(est: Any, b: Builder, src: Slots) -> Classify:
    classes, dtype = classes_of(est)
    if getattr(est._label_binarizer, "y_type_", "") == "multilabel-indicator":
        raise UnsupportedModelError("multilabel MLPClassifier")
    out = _forward(est, b, src)
    if len(out) == 1:
        proba = b.alloc(2)
        b.emit(BinaryProba(out[0], (proba[0], proba[1]), "identity", note="predict_proba"))
        return Classify(classes, dtype, "proba_gt_half", out, proba, has_decision_function=False)
    return Classify(classes, dtype, "proba_argmax", out, out, has_decision_function=False)


@register("sklearn.MLPRegressor", kind="predictor")
def convert_mlp_regressor(est: Any, b: Builder, src: Slots) -> Regress:
    out = _forward(est, b, src)
    return Regress(out, squeeze=est.n_outputs_ == 1)
