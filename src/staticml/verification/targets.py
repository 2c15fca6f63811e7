"""Parity of every built target: against the original model, and bit for bit against the
host's library.

Each target that can run here runs the same encoded rows (sample + probes). Its report is
the usual tolerance check against the reference *plus* ``bits``: whether its outputs and
statuses are identical to the host library's, or how many ulps apart. A target that cannot
run here gets ``ran: false`` and the reason; macOS libraries get a structure check instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..data.schema import RowEncoder
from ..ir.graph import Graph
from ..runtime.engines import RunnerUnavailable, open_engine, runs_of
from . import parity
from .bits import compare_bits
from .runner import split_outputs

# Targets that cannot refuse a row (ONNX has no error channel): rows the host library
# refuses are excluded from their comparison, and counted.
CANNOT_REFUSE = ("onnx",)


def _structure(root: Path, manifest: dict, target: str) -> dict:
    from ..backends.c.render import API_FUNCTIONS
    from ..bundle import manifest as mf
    from .binaries import check_binary, inspect_binary

    path = mf.resolve(root, manifest["targets"][target]["path"])
    name = manifest["name"]
    problems = check_binary(path, target, name, api=[f"{name}_{fn}" for fn in API_FUNCTIONS])
    info = inspect_binary(path, target, manifest["name"])
    return {"problems": problems, "info": info}


def check_targets(root: Path, manifest: dict, graph: Graph, rows: Any, labels: list[str],
                  ref: parity.Reference, tolerance: float, host: str,
                  say: Callable[[str], None] = lambda m: None) -> dict[str, dict]:
    """One parity report per engine of every built target (host first)."""
    x = RowEncoder(graph.inputs).encode(rows)
    native = open_engine(root, manifest, host)
    base_out, base_status = native.predict_matrix(x)
    reports: dict[str, dict] = {}
    got, error = split_outputs(graph, base_out, base_status)
    rep = parity.compare(ref, got, error, labels, target=host, tolerance=tolerance)
    rep.update(ran=True, bits={"identical": True, "reference": True})
    reports[host] = rep
    for run in runs_of(list(manifest["targets"])):
        if run == host:
            continue
        try:
            engine = open_engine(root, manifest, run)
        except RunnerUnavailable as exc:
            rec: dict = {"ran": False, "reason": str(exc), "passed": None}
            if run.startswith("macos-"):
                rec["structure"] = _structure(root, manifest, run)
                rec["passed"] = not rec["structure"]["problems"]
            reports[run] = rec
            say(f"{run}: not run here ({exc})")
            continue
        say(f"running {run}")
        try:
            out, status = engine.predict_matrix(x)
        finally:
            engine.close()
        mask = None
        if run in CANNOT_REFUSE:
            refused = base_status != 0
            mask = ~refused
            out = out.copy()
            out[refused] = np.nan
            status = base_status.copy()
        got, error = split_outputs(graph, out, status)
        rep = parity.compare(ref, got, error, labels, target=run, tolerance=tolerance)
        rep["ran"] = True
        rep["bits"] = compare_bits(base_out, base_status, out, status, rows=mask)
        if mask is not None:
            rep["refused_rows_excluded"] = int((~mask).sum())
        reports[run] = rep
    return reports


def bits_summary(rep: dict) -> str:
    """"identical" or "N ulps" (or why not run), for tables."""
    if not rep.get("ran"):
        return "not run"
    bits = rep.get("bits", {})
    if bits.get("identical"):
        return "identical"
    return f"{bits.get('max_ulps')} ulps, {bits.get('status_mismatches')} status diffs"
