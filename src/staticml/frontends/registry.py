"""Converter registry: which function lowers which estimator class to IR.

Keys are ``"package.ClassName"`` strings (e.g. ``"sklearn.StandardScaler"``), so optional
libraries (XGBoost, LightGBM) need not be importable to register a converter for them.
A new estimator is one decorated function; nothing else has to change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from ..errors import UnsupportedModelError
from ..ir.graph import Builder
from ..ir.ops import Head, Slots

# (estimator, builder, input slots) -> output slots (transformer) or a Head (predictor)
Converter = Callable[[Any, Builder, Slots], Any]


@dataclass(frozen=True)
class Entry:
    convert: Converter
    kind: str  # "transformer" | "predictor" | "container"


_REGISTRY: dict[str, Entry] = {}


def key_of(obj: Any) -> str:
    cls = type(obj)
    return f"{cls.__module__.split('.')[0]}.{cls.__name__}"


def register(*keys: str, kind: str) -> Callable[[Converter], Converter]:
    def deco(fn: Converter) -> Converter:
        for k in keys:
            _REGISTRY[k] = Entry(fn, kind)
        return fn

    return deco


def supported(kind: str | None = None) -> list[str]:
    return sorted(k for k, e in _REGISTRY.items() if kind is None or e.kind == kind)


def lookup(obj: Any) -> Entry:
    entry = _REGISTRY.get(key_of(obj))
    if entry is None:
        names = ", ".join(k.split(".", 1)[1] for k in supported())
        raise UnsupportedModelError(
            f"{type(obj).__name__} ({type(obj).__module__}) is not supported by staticml. "
            f"Supported: {names}."
        )
    _require_fitted(obj)
    return entry


def _require_fitted(obj: Any) -> None:
    """An unfitted scikit-learn step fails in its converter on a missing ``coef_``; say so
    first, in scikit-learn's own terms."""
    if not type(obj).__module__.startswith("sklearn."):
        return
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    try:
        check_is_fitted(obj)
    except NotFittedError:
        raise UnsupportedModelError(
            f"{type(obj).__name__} is not fitted: call fit() on the model (the whole "
            "pipeline) before building it") from None


def lower_transform(obj: Any, b: Builder, src: Slots) -> Slots:
    entry = lookup(obj)
    if entry.kind == "container":
        return entry.convert(obj, b, src, predictor=False)
    if entry.kind == "predictor":
        raise UnsupportedModelError(
            f"{type(obj).__name__} is a predictor but is used as a transformer "
            "(it is not the last step of its pipeline)."
        )
    return entry.convert(obj, b, src)


def lower_predictor(obj: Any, b: Builder, src: Slots) -> Head:
    entry = lookup(obj)
    if entry.kind == "transformer":
        raise UnsupportedModelError(
            f"the model ends in {type(obj).__name__}, a transformer: staticml compiles models "
            "that predict (the last step must be a classifier or regressor)."
        )
    if entry.kind == "container":
        return entry.convert(obj, b, src, predictor=True)
    return entry.convert(obj, b, src)
