"""Run the model, the IR interpreter and artifacts on the same rows, and compare them."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from ..data.schema import RowEncoder
from ..errors import InputError
from ..ir import interpret
from ..ir.graph import Graph
from ..ir.layout import output_layout
from ..ir.ops import Classify
from . import parity
from .probes import probe_frame


def split_outputs(graph: Graph, out: np.ndarray, status: np.ndarray) -> tuple[dict, np.ndarray]:
    """Slice an output-layout matrix into labels / proba / decision / values."""
    lay = output_layout(graph.head)
    head = graph.head
    got: dict[str, Any] = {}
    error = status != 0
    if isinstance(head, Classify):
        classes = np.asarray(head.classes)
        idx = np.where(error, 0, np.nan_to_num(out[:, 0])).astype(np.intp)
        got["labels"] = classes.take(np.clip(idx, 0, len(classes) - 1))
        got["proba"] = out[:, lay.proba] if lay.proba else None
        dec = out[:, lay.decision] if lay.decision else None
        got["decision"] = dec[:, 0] if dec is not None and dec.shape[1] == 1 else dec
        got["scores"] = out[:, lay.scores][:, 0] if lay.scores else None
    else:
        vals = out[:, lay.values]
        got["values"] = vals[:, 0] if head.squeeze else vals
    return got, error


def rows_for_check(graph: Graph, sample: Any) -> tuple[Any, list[str]]:
    """The sample plus probe rows, in the sample's format, with a description per row.

    Narrow floats (float32, float16) are widened to float64 first, exactly: the artifact
    takes float64 and computes in double, while scikit-learn computes some models in float32
    when given float32 input (outputs ~1e-7 apart). The check compares both on the same
    numbers as float64; docs/numerics.md says so."""
    _check_shape(graph, sample)
    sample = _widen_floats(sample)
    probes, probe_labels = probe_frame(graph, sample)
    labels = [f"sample row {i}" for i in range(len(sample))] + [f"probe {p}" for p in probe_labels]
    if hasattr(sample, "columns"):
        import pandas as pd

        names = [c.name for c in graph.inputs]
        rows = pd.concat([sample[names], probes[names]], ignore_index=True)
    else:
        arr = np.asarray(sample)
        if probes.dtype.kind == "O" and arr.dtype.kind != "O":
            arr = arr.astype(object)
        rows = np.concatenate([arr, probes.astype(arr.dtype) if arr.dtype.kind == "O" else probes])
    return rows, labels


def _check_shape(graph: Graph, sample: Any) -> None:
    """Rows to check must have rows and the model's columns; say which are missing."""
    names = [c.name for c in graph.inputs]
    if hasattr(sample, "columns"):
        counts = Counter(str(c) for c in sample.columns)
        dup = sorted(c for c, k in counts.items() if k > 1)
        if dup:
            raise InputError(f"the data repeats column(s) {dup}; keep one of each")
        missing = [n for n in names if n not in counts]
        if missing:
            raise InputError(f"the data is missing column(s) {missing}; the model needs "
                             f"{names}")
    else:
        shape = np.shape(sample)
        if len(shape) != 2 or shape[1] != len(names):
            raise InputError(f"expected rows of {len(names)} values ({', '.join(names)}), "
                             f"got an array of shape {shape}")
    if not len(sample):
        raise InputError("the data has no rows; parity needs rows to compare")


def _widen_floats(sample: Any) -> Any:
    """``sample`` with float32/float16 arrays, or DataFrame float32/float16/bool columns, as
    float64."""
    def narrow(dt: Any) -> bool:
        return isinstance(dt, np.dtype) and dt.kind == "f" and dt.itemsize < 8

    if hasattr(sample, "columns"):
        # bool columns too: probe rows put NaN and inf in every number column, and a bool
        # column holding them would become object, which XGBoost and LightGBM refuse.
        cols = {c: np.float64 for c, dt in sample.dtypes.items()
                if narrow(dt) or (isinstance(dt, np.dtype) and dt.kind == "b")}
        return sample.astype(cols) if cols else sample
    if isinstance(sample, np.ndarray) and narrow(sample.dtype):
        return sample.astype(np.float64)
    return sample


def reference_from_ir(graph: Graph, rows: Any) -> parity.Reference:
    """The IR interpreter as the reference, for models whose library is not installed."""
    x = RowEncoder(graph.inputs).encode(rows)
    out, status, _ = interpret.run(graph, x)
    got, error = split_outputs(graph, out, status)
    return parity.Reference(got.get("labels"), got.get("values"), got.get("proba"),
                            got.get("decision"), error, got.get("scores"))


def reference_for(model: Any, graph: Graph, rows: Any, labels: list[str] | None = None
                  ) -> tuple[parity.Reference, str, float]:
    """Reference results for ``rows``, what produced them, and the tolerance to apply.

    The original model is the reference when it can run here. Models parsed from files
    (XGBoost/LightGBM) offer ``reference_model()``, the vendor library's own object, or None
    when that library is not installed: then the IR interpreter is the reference. XGBoost
    computes its outputs in float32, so its tolerance scales with float32 rounding, alone or
    as a pipeline's last step (the pipeline then runs as the user runs it: its XGBoost step
    sees the preprocessed numbers, which need none of ``parity_model``'s re-coding). A live
    LightGBM model trained on pandas categories runs behind the same re-typing of those
    columns as its file form (``lightgbm.parity_model``).
    """
    from ..frontends import lightgbm as lgb_frontend
    from ..frontends import xgboost as xgb_frontend

    final = model
    while isinstance(getattr(final, "steps", None), list) and final.steps:
        final = final.steps[-1][1]
    xgb = xgb_frontend.is_xgboost(final)
    factory = getattr(model, "reference_model", None)
    if callable(factory):
        ref_model = factory()
    else:
        ref_model = xgb_frontend.parity_model(model) if xgb and final is model else model
        if lgb_frontend.is_lightgbm(model):
            ref_model = lgb_frontend.parity_model(model)
    if ref_model is None:
        return (reference_from_ir(graph, rows), "ir (the model's library is not installed)",
                parity.TOLERANCE)
    ref = parity.reference(ref_model, rows, labels)
    tol = (max(parity.TOLERANCE, xgb_frontend.parity_tolerance(ref.values, ref.proba))
           if xgb else parity.TOLERANCE)
    return ref, "model", tol


def check_interpreter(graph: Graph, ref: parity.Reference, rows: Any, labels: list[str],
                      tolerance: float = parity.TOLERANCE) -> dict:
    x = RowEncoder(graph.inputs).encode(rows)
    out, status, _ = interpret.run(graph, x)
    got, error = split_outputs(graph, out, status)
    return parity.compare(ref, got, error, labels, target="ir", tolerance=tolerance)


def check_artifact(graph: Graph, art: Any, ref: parity.Reference, rows: Any, labels: list[str],
                   target: str, tolerance: float = parity.TOLERANCE) -> dict:
    out, status = art.run(rows)
    got, error = split_outputs(graph, out, status)
    return parity.compare(ref, got, error, labels, target=target, tolerance=tolerance)
