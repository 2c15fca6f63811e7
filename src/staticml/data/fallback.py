"""Fallbacks: documented substitutes for features that may be unavailable in production.

``build --fallback income=median`` computes the substitute from the training data (or the
sample) once, at build time, and bakes it into the artifact: a missing value in that column
(NaN/NULL in C, NaN/None or an absent column in Python) becomes the substitute before the
model reads it. The manifest records strategy and value so the substitution is visible,
and ``staticml features --without`` measures what it costs on real data.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..errors import BuildError
from ..ir.ops import InputColumn

STRATEGIES = ("median", "mean", "most_frequent", "constant")


@dataclass(frozen=True)
class Fallback:
    column: str
    strategy: str
    value: Any          # what the application would have passed (number or string)
    slot_value: float   # the value in the artifact's encoding (a code for strings)

    def record(self) -> dict:
        return {"strategy": self.strategy, "value": self.value}


def parse_spec(spec: str) -> tuple[str, str, str | None]:
    """``"COL=median"`` / ``"COL=constant:VALUE"`` -> (column, strategy, constant)."""
    if "=" not in spec:
        raise BuildError(f"--fallback {spec!r}: expected COLUMN=STRATEGY, e.g. income=median "
                         f"(strategies: median, mean, most_frequent, constant:VALUE)")
    column, strategy = spec.split("=", 1)
    constant = None
    if strategy.startswith("constant:"):
        strategy, constant = "constant", strategy[len("constant:"):]
    if strategy not in STRATEGIES:
        raise BuildError(f"--fallback {spec!r}: unknown strategy {strategy!r}; use one of "
                         "median, mean, most_frequent, constant:VALUE")
    return column.strip(), strategy, constant


def _parsed(specs: dict[str, str] | Sequence[str]) -> list[tuple[str, str, str | None]]:
    """``{column: strategy}`` or ``["COL=strategy", ...]`` as parsed specs."""
    return ([parse_spec(s) for s in specs] if not isinstance(specs, dict) else
            [parse_spec(f"{k}={v}") for k, v in specs.items()])


def columns_of(data: Any, inputs: Sequence[InputColumn],
               specs: dict[str, str] | Sequence[str]) -> Any:
    """``data`` as ``resolve`` reads it: in-memory data as is; a CSV/Parquet path streamed,
    keeping only the columns that get a fallback (a big file is never held whole)."""
    if not isinstance(data, (str, Path)):
        return data
    import pandas as pd

    from .io import iter_batches

    wanted = {column for column, _, _ in _parsed(specs)}
    keep = [c for c in inputs if c.name in wanted]
    parts = [batch[[c.name for c in keep if c.name in batch.columns]]
             for batch in iter_batches(data, keep)]
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    absent = [c.name for c in keep if c.name not in frame.columns]
    if absent:
        raise BuildError(f"--fallback: {Path(data).name} has no column(s) {absent} to compute "
                         "the substitute from; add them or drop --train-data")
    return frame


def _column(data: Any, inputs: Sequence[InputColumn], name: str) -> np.ndarray:
    if hasattr(data, "columns"):
        return np.asarray(data[name].to_numpy())
    return np.asarray(data)[:, [c.name for c in inputs].index(name)]


def resolve(specs: dict[str, str] | Sequence[str], inputs: Sequence[InputColumn],
            data: Any) -> dict[int, Fallback]:
    """Fallbacks by input index, their values computed from ``data``."""
    items = _parsed(specs)
    names = [c.name for c in inputs]
    out: dict[int, Fallback] = {}
    for column, strategy, constant in items:
        if column not in names:
            raise BuildError(f"--fallback names column {column!r}, which the model does not "
                             f"take; its inputs are {names}")
        i = names.index(column)
        col = inputs[i]
        values = _column(data, inputs, column)
        if col.dtype == "number":
            nums = np.asarray(values, dtype=np.float64)
            nums = nums[np.isfinite(nums)]
            if strategy == "constant":
                try:
                    value: Any = float(constant)  # type: ignore[arg-type]
                except ValueError:
                    raise BuildError(f"--fallback {column}=constant:{constant}: the column is "
                                     "numeric; give a number") from None
            elif not len(nums):
                raise BuildError(f"--fallback {column}={strategy}: the data has no values "
                                 "in that column to compute it from")
            elif strategy == "median":
                value = float(np.median(nums))
            elif strategy == "mean":
                value = float(np.mean(nums))
            else:
                uniq, counts = np.unique(nums, return_counts=True)
                value = float(uniq[np.argmax(counts)])
            out[i] = Fallback(column, strategy, value, value)
            continue
        if strategy in ("median", "mean"):
            raise BuildError(f"--fallback {column}={strategy}: {column!r} holds strings; use "
                             "most_frequent or constant:VALUE")
        if strategy == "constant":
            value = constant
        else:
            present = [v for v in values if isinstance(v, str)]
            if not present:
                raise BuildError(f"--fallback {column}=most_frequent: no values to count")
            uniq, counts = np.unique(np.asarray(present, dtype=object), return_counts=True)
            value = str(uniq[np.argmax(counts)])
        vocab = list(col.vocabulary)
        code = float(vocab.index(value)) if value in vocab else -1.0
        out[i] = Fallback(column, strategy, value, code)
    return out


def apply(rows: Any, inputs: Sequence[InputColumn], fallbacks: dict[int, Fallback]) -> Any:
    """``rows`` with missing values of fallback columns replaced, as the artifact sees them
    (what the original model is compared against)."""
    if not fallbacks:
        return rows
    if hasattr(rows, "columns"):
        rows = rows.copy()
        for fb in fallbacks.values():
            col = rows[fb.column]
            rows[fb.column] = col.where(~col.isna(), fb.value) if col.dtype.kind == "O" \
                else col.fillna(fb.value)
        return rows
    arr = np.array(rows, copy=True)
    for i, fb in fallbacks.items():
        col = arr[:, i]
        miss = (np.isnan(col.astype(np.float64)) if arr.dtype.kind == "f" else
                np.array([v is None or (isinstance(v, float) and v != v) for v in col]))
        arr[miss, i] = fb.value
    return arr
