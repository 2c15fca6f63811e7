"""What losing one feature in production costs, measured on real data.

``staticml features DIR --without COL --data DATA`` predicts DATA twice with the artifact:
as is, and with COL unavailable. Unavailable means what production would do: if the
bundle has a fallback for COL, the column is left out and the artifact substitutes it;
otherwise COL is replaced by ``fill`` (a fallback strategy, computed on DATA, exactly as
``build --fallback`` would compute it). The report compares the two predictions: label
agreement for classifiers, and the change of probabilities or values.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InputError
from . import fallback as fb


def feature_impact(art: Any, data: Any, column: str, fill: str | None = None) -> dict:
    """What predicting without ``column`` costs on ``data``: the bundle's fallback for it,
    else ``fill`` (default: median for numbers, most frequent for strings) of ``data``."""
    names = [c.name for c in art.inputs]
    if column not in names:
        dropped = art.manifest.get("dropped_inputs", [])
        why = " (the bundle dropped it as unused: losing it costs nothing)" \
            if column in dropped else ""
        raise InputError(f"the model has no input {column!r}{why}; its inputs are {names}")
    if not hasattr(data, "columns"):
        raise InputError("--without needs named columns: pass a CSV/Parquet file or DataFrame")
    if column not in data.columns:
        raise InputError(f"the data lacks {column!r}: the measure compares predictions with it "
                         "and without it, so --data needs the column")
    if not len(data):
        raise InputError("the data has no rows to measure on")
    record = next(c for c in art.manifest["inputs"] if c["name"] == column)
    if fill is None:
        fill = "most_frequent" if record["dtype"] == "string" else "median"
    if record.get("fallback"):
        degraded = data.drop(columns=[column])
        how = {"source": "bundle fallback", **record["fallback"]}
    else:
        spec = fill if "=" in fill else f"{column}={fill}"
        resolved = fb.resolve([spec], art.inputs, data)
        f = next(iter(resolved.values()))
        degraded = data.copy()
        degraded[column] = f.value
        how = {"source": f"{f.strategy} of --data", "strategy": f.strategy, "value": f.value}
    out_full, st_full = art.run(data)
    out_deg, st_deg = art.run(degraded)
    ok = (st_full == 0) & (st_deg == 0)
    report: dict[str, Any] = {"column": column, "rows": int(len(data)),
                              "rows_compared": int(ok.sum()), "fill": how}
    if art.task == "classification":
        same = out_full[ok, 0] == out_deg[ok, 0]
        report["label_agreement"] = float(same.mean()) if ok.any() else None
        report["labels_changed"] = int((~same).sum())
    cols = art._proba if art._proba is not None else art._values
    if cols is not None and ok.any():
        diff = np.abs(out_full[ok][:, cols] - out_deg[ok][:, cols])
        kind = "proba" if art._proba is not None else "values"
        report[f"{kind}_mean_abs_change"] = float(diff.mean())
        report[f"{kind}_max_abs_change"] = float(diff.max())
    return report
