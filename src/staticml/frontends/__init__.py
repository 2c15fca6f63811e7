"""Frontends: lower trained models to the IR. ``lower(model, inputs)`` is the entry point."""

from __future__ import annotations

from typing import Any

from ..ir.graph import Builder, Graph
from ..ir.ops import Classify, InputColumn
from . import lightgbm as _lightgbm  # noqa: F401  (registers LightGBM converters)
from . import sklearn as _sklearn  # noqa: F401  (registers converters)
from . import xgboost as _xgboost  # noqa: F401  (registers XGBoost converters)
from .registry import lower_predictor, supported

__all__ = ["lower", "supported"]


def lower(model: Any, inputs: list[InputColumn]) -> Graph:
    b = Builder(list(inputs))
    head = lower_predictor(model, b, tuple(range(len(inputs))))
    return b.finish(head, "classification" if isinstance(head, Classify) else "regression")
