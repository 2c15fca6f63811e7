"""Pipeline and ColumnTransformer: pure plumbing, they only route slots."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...errors import UnsupportedModelError
from ...ir.graph import Builder
from ...ir.ops import Slots
from ..registry import lower_predictor, lower_transform, register


@register("sklearn.Pipeline", kind="container")
def convert_pipeline(pipe: Any, b: Builder, src: Slots, predictor: bool) -> Any:
    steps = [(n, s) for n, s in pipe.steps if s is not None and s != "passthrough"]
    if not steps:
        raise UnsupportedModelError("the Pipeline has no steps to compile")
    body = steps[:-1] if predictor else steps
    for _, step in body:
        src = lower_transform(step, b, src)
    return lower_predictor(steps[-1][1], b, src) if predictor else src


def _column_indices(ct: Any, name: str, columns: Any) -> list[int]:
    """Input positions a fitted ColumnTransformer routes to transformer ``name``."""
    mapping = getattr(ct, "_transformer_to_input_indices", None)
    if mapping is not None and name in mapping:
        return [int(i) for i in mapping[name]]
    names = list(getattr(ct, "feature_names_in_", []))
    n = ct.n_features_in_
    if isinstance(columns, slice):
        return list(range(n))[columns]
    cols = [columns] if np.isscalar(columns) else list(columns)
    if cols and isinstance(cols[0], (bool, np.bool_)):
        return [i for i, keep in enumerate(cols) if keep]
    return [names.index(c) if isinstance(c, str) else int(c) for c in cols]


def _is_passthrough(trans: Any) -> bool:
    """``"passthrough"``, or what a fitted ColumnTransformer stores for it.

    Since scikit-learn 1.2 the fitted ``transformers_`` (and the remainder) hold
    ``FunctionTransformer(accept_sparse=True, check_inverse=False, ...)`` where the user
    wrote ``"passthrough"``: ``func=None`` without validation is the identity.
    """
    if isinstance(trans, str):
        return trans == "passthrough"
    return (type(trans).__name__ == "FunctionTransformer"
            and type(trans).__module__.startswith("sklearn.")
            and getattr(trans, "func", 0) is None and not getattr(trans, "validate", True))


@register("sklearn.ColumnTransformer", kind="transformer")
def convert_column_transformer(ct: Any, b: Builder, src: Slots) -> Slots:
    out: list[int] = []
    for name, trans, columns in ct.transformers_:
        if isinstance(trans, str) and trans == "drop":
            continue
        idx = _column_indices(ct, name, columns)
        if not idx:
            continue
        sel = tuple(src[i] for i in idx)
        out.extend(sel if _is_passthrough(trans) else lower_transform(trans, b, sel))
    return tuple(out)
