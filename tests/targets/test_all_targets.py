"""`--target all` on the zoo: every target builds, every target that can run here runs,
and all of them predict the same bits as the host library (ONNX: within 1e-9, since it
computes in onnxruntime's kernels); macOS libraries pass their structure checks."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

import staticml
from staticml.bundle.targets import ALL_TARGETS, host_target
from staticml.runtime.engines import runs_of

from .runners import unavailable
from .zoo import ZOO

pytestmark = [pytest.mark.cross, pytest.mark.filterwarnings("ignore::UserWarning")]
HOST = host_target()
# ONNX against the original model: the build's tolerance (1e-9; XGBoost's float32 outputs
# scale it to ~1e-6), since onnxruntime's Exp/Tanh/MatMul are not C's; against the host
# library it must stay within a few ulps of double rounding.
ONNX_MAX_ULPS = 1 << 12


def _check(parity: dict) -> None:
    not_run = {t: r["reason"] for t, r in parity.items()
               if not r.get("ran", True) and not t.startswith("macos-")}
    if not_run:
        unavailable(f"targets that did not run: {not_run}")
    for target, rep in parity.items():
        if target == "ir":
            assert rep["passed"], rep
            continue
        if target.startswith("macos-"):
            assert rep["ran"] is False and rep["passed"] is True, rep
            assert rep["structure"]["problems"] == []
            continue
        assert rep["passed"] and rep["label_mismatches"] == 0, (target, rep)
        assert rep["error_mismatches"] == 0, target
        if target == "onnx":
            assert max(rep["max_abs_diff"].values(), default=0.0) <= rep["tolerance"], rep
            assert rep["bits"]["max_ulps"] <= ONNX_MAX_ULPS, rep["bits"]
        else:
            assert rep["bits"]["identical"], (target, rep["bits"])


@pytest.mark.parametrize("key", sorted(ZOO))
def test_every_target_predicts_the_same_bits(key, tmp_path) -> None:
    model, sample, held = ZOO[key]()
    art = staticml.build(model, sample=sample, out=tmp_path / "b", name=key,
                         targets=["all"])
    assert set(art.manifest["targets"]) == set(ALL_TARGETS)
    parity = art.manifest["parity"]
    assert set(parity) == {"ir", *runs_of(list(ALL_TARGETS))}
    _check(parity)
    # held-out rows (with NaN and unseen categories where the model takes them)
    report = staticml.verify(tmp_path / "b", model, held)
    assert report["passed"], report["not_run"]
    _check(report["targets"])
    assert report["targets"][HOST]["rows"] > len(held)
    if key == "logreg_pipeline":  # an edited manifest is refused by every engine's schema
        import shutil

        shutil.copytree(tmp_path / "b", tmp_path / "edited")
        m = json.loads((tmp_path / "edited" / "manifest.json").read_text())
        m["outputs"]["classes"] = m["outputs"]["classes"][::-1]
        (tmp_path / "edited" / "manifest.json").write_text(json.dumps(m))
        for target in ("native", "wasm32", "onnx"):
            with pytest.raises(staticml.errors.ArtifactError, match="in outputs"):
                staticml.load(tmp_path / "edited", target=target)


def test_cli_target_all_and_verify_json(tmp_path) -> None:
    import skops.io as sio

    model, sample, held = ZOO["ridge_regression"]()
    sio.dump(model, tmp_path / "m.skops")
    cols = [f"x{i}" for i in range(sample.shape[1])]
    import pandas as pd

    pd.DataFrame(sample, columns=cols).to_csv(tmp_path / "s.csv", index=False)
    pd.DataFrame(held, columns=cols).to_csv(tmp_path / "h.csv", index=False)
    res = subprocess.run([sys.executable, "-m", "staticml", "build", tmp_path / "m.skops",
                          "--sample", tmp_path / "s.csv", "-o", tmp_path / "b", "--name",
                          "ridge", "--target", "all"], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert "[9/9] building python" in res.stderr and "identical" in res.stderr
    res = subprocess.run([sys.executable, "-m", "staticml", "verify", tmp_path / "b",
                          "--model", tmp_path / "m.skops", "--data", tmp_path / "h.csv",
                          "--json"], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    report = json.loads(res.stdout)
    _check(report["targets"])
    assert set(report["not_run"]) == {"macos-arm64", "macos-x86_64"}
    # a target name that does not exist is a usage-level error naming the choices
    res = subprocess.run([sys.executable, "-m", "staticml", "build", tmp_path / "m.skops",
                          "--sample", tmp_path / "s.csv", "-o", tmp_path / "c",
                          "--target", "solaris"], capture_output=True, text=True)
    assert res.returncode == 3 and "unknown target 'solaris'" in res.stderr
    assert not (tmp_path / "c").exists()
