"""Build time of `--target all` for a 100-tree forest, with a cold and a warm cache.

Cold = an empty staticml cache directory (zig's cache, the cross harnesses, the wine
prefix all start from nothing); warm = the same cache again, for a freshly generated model
(the C source differs, so nothing is reused but the toolchain's own artifacts). Prints a
table of per-target build seconds and the total wall time of `staticml.build`, including
running every target that can run here for the parity check.

    .venv/bin/python bench/target_builds.py            # ~1-3 minutes (cold wine prefix)
"""

from __future__ import annotations

import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from sklearn.ensemble import RandomForestClassifier

import staticml


def model(seed: int):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(3000, 10))
    y = (X[:, 0] + X[:, 1] * X[:, 2] > 0).astype(int)
    return RandomForestClassifier(n_estimators=100, max_depth=8, random_state=seed,
                                  n_jobs=1).fit(X, y), X[:200]


def run(label: str, seed: int, out: Path) -> dict:
    m, sample = model(seed)
    start = time.perf_counter()
    art = staticml.build(m, sample=sample, out=out / label, name="forest", targets=["all"])
    total = time.perf_counter() - start
    secs = {t: r.get("seconds") for t, r in art.manifest["targets"].items()}
    return {"total": total, "targets": secs,
            "sizes": {t: r.get("size") for t, r in art.manifest["targets"].items()}}


def main() -> None:
    cache = Path(tempfile.mkdtemp(prefix="staticml-cache-"))
    work = Path(tempfile.mkdtemp(prefix="staticml-builds-"))
    os.environ["STATICML_CACHE"] = str(cache)
    try:
        cold = run("cold", 1, work)
        warm = run("warm", 2, work)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)
    print(f"# --target all, RandomForest 100 trees depth 8 ({time.strftime('%Y-%m-%d')}, "
          f"{platform.machine()}, {os.cpu_count()} cores)\n")
    print("| target | cold build s | warm build s | size |")
    print("|---|---|---|---|")
    for t in cold["targets"]:
        print(f"| {t} | {cold['targets'][t]} | {warm['targets'].get(t)} | "
              f"{warm['sizes'].get(t)} |")
    print(f"| **whole build incl. running every target** | **{cold['total']:.1f}** | "
          f"**{warm['total']:.1f}** | |")


if __name__ == "__main__":
    main()
