"""Assertions shared by the parity test modules."""

from __future__ import annotations

from typing import Any

import numpy as np

import staticml
from staticml.bundle.targets import host_target  # noqa: E402

HOST = host_target()


def max_abs(a: Any, b: Any) -> float:
    """Largest absolute difference; NaN must sit in the same places on both sides."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape, (a.shape, b.shape)
    assert np.array_equal(np.isnan(a), np.isnan(b)), "NaN in different places"
    return float(np.nan_to_num(np.abs(a - b), nan=0.0).max(initial=0.0))


def build_reports_passed(art: staticml.Artifact, sample_rows: int, tol: float,
                         reference: str | None = None) -> dict[str, float]:
    """The build's own parity reports (sample + probe rows) passed, for IR and native."""
    parity = art.manifest["parity"]
    assert set(parity) == {"ir", HOST}
    worst = {}
    for target in ("ir", HOST):
        rep = parity[target]
        assert rep["passed"] is True, (target, rep["worst_rows"])
        assert rep["label_mismatches"] == 0, target
        assert rep["error_mismatches"] == 0, target
        if reference is not None:
            assert rep["reference"] == reference, rep["reference"]
        assert rep["rows"] > sample_rows  # probe rows were checked too
        assert all(v <= tol for v in rep["max_abs_diff"].values()), rep["max_abs_diff"]
        worst[f"build-{target}"] = max(rep["max_abs_diff"].values(), default=0.0)
    return worst
