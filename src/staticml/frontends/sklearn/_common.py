"""Helpers shared by the scikit-learn converters."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...errors import UnsupportedModelError
from ...ir.graph import Builder
from ...ir.ops import CheckFinite, Slots


def floats(values: Any) -> tuple[float, ...]:
    return tuple(float(v) for v in np.asarray(values, dtype=np.float64).ravel())


def is_missing_marker(value: Any) -> bool:
    """scikit-learn treats None and NaN as the "missing" category / marker."""
    if value is None:
        return True
    try:
        return bool(np.isnan(value))
    except TypeError:
        return False


def require_numeric(b: Builder, src: Slots, est: Any) -> None:
    """Refuse to compile string columns flowing into arithmetic (sklearn would fail too)."""
    for s in src:
        if b.is_string(s):
            col = b.inputs[b.code_of_slot[s]].name
            raise UnsupportedModelError(
                f"string column {col!r} reaches {type(est).__name__} without an encoder; "
                "add a OneHotEncoder or OrdinalEncoder for it in the pipeline"
            )


def check_finite(b: Builder, src: Slots, est: Any, allow_nan: bool) -> None:
    """Emit the input validation scikit-learn runs at this step (numeric slots only)."""
    numeric = tuple(s for s in src if not b.is_string(s))
    if numeric:
        b.emit(CheckFinite(numeric, allow_nan, note=f"{type(est).__name__} input validation"))


def sorted_keys(keys: list[float], payload: list[Any]) -> tuple[tuple[float, ...], tuple]:
    order = np.argsort(np.asarray(keys, dtype=np.float64), kind="stable")
    return tuple(float(keys[i]) for i in order), tuple(payload[i] for i in order)


def category_key(b: Builder, slot: int, value: Any, est: Any) -> float:
    """The slot value that stands for category ``value`` (a string's code, or the number)."""
    if b.is_string(slot):
        if not isinstance(value, str):
            raise UnsupportedModelError(
                f"{type(est).__name__} learned non-string category {value!r} for a string column"
            )
        return float(b.code(slot, value))
    if isinstance(value, str):
        col = b.inputs[slot].name if slot < len(b.inputs) else f"slot {slot}"
        raise UnsupportedModelError(
            f"{type(est).__name__} learned string categories but column {col!r} holds numbers "
            "in the sample; pass a sample whose dtypes match the training data"
        )
    key = float(value)
    # Slots are doubles: an integer category beyond 2**53 would silently share its key
    # with a neighbouring integer (2**53 + 1 reads as 2**53).
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)) \
            and int(key) != int(value):
        raise UnsupportedModelError(
            f"{type(est).__name__} learned the integer category {value!r}, which a float64 "
            "cannot represent exactly; encode such IDs as strings"
        )
    return key
