"""``staticml quickstart``: the whole flow on a built-in churn model, end to end.

Trains a ColumnTransformer + LogisticRegression pipeline on generated customer data
(numeric columns with missing values, string categories), builds and verifies the bundle,
then compiles ``examples/c`` against it with a plain C compiler and checks that the C
program prints what Python predicts.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from .errors import BuildError, ToolchainError

CONTRACTS = ["month-to-month", "one-year", "two-year"]
PAYMENTS = ["card", "bank-transfer", "check", "wallet"]
REGIONS = ["north", "south", "east", "west", "central"]


def churn_data(n: int = 5000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """A synthetic customer table and churn labels (fixed seed, no download)."""
    rng = np.random.default_rng(seed)
    tenure = rng.integers(0, 73, n).astype(float)
    charges = np.round(rng.uniform(18, 120, n), 2)
    calls = rng.poisson(1.5, n).astype(float)
    calls[rng.random(n) < 0.08] = np.nan
    contract = rng.choice(CONTRACTS, n, p=[0.55, 0.25, 0.2])
    payment = rng.choice(PAYMENTS, n)
    region = rng.choice(REGIONS, n)
    logit = (1.2 - 0.05 * tenure + 0.02 * charges + 0.4 * np.nan_to_num(calls, nan=1.5)
             - 1.5 * (contract == "two-year") - 0.8 * (contract == "one-year")
             + 0.5 * (payment == "check"))
    y = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "churn", "stay")
    df = pd.DataFrame({"tenure_months": tenure, "monthly_charges": charges,
                       "support_calls": calls, "contract": contract,
                       "payment_method": payment, "region": region})
    return df, y


def churn_pipeline():
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = ["tenure_months", "monthly_charges", "support_calls"]
    categorical = ["contract", "payment_method", "region"]
    pre = ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
        ("cat", OneHotEncoder(handle_unknown="ignore"), categorical),
    ])
    return Pipeline([("features", pre), ("model", LogisticRegression(max_iter=1000))])


def example_dir() -> Path:
    """examples/c from a source checkout, else the copy shipped inside the wheel."""
    repo = Path(__file__).resolve().parents[2] / "examples" / "c"
    if (repo / "main.c").exists():
        return repo
    return Path(str(resources.files("staticml") / "_examples" / "c"))


@dataclass
class QuickstartResult:
    out: Path
    bundle: Path
    model_file: Path
    data_file: Path
    demo: Path | None
    accuracy: float
    parity: dict
    c_matches: bool
    seconds: dict = field(default_factory=dict)


def run(out: Path, say: Callable[[str], None]) -> QuickstartResult:
    import skops.io as sio

    from . import api

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    times: dict[str, float] = {}
    t = time.perf_counter()
    X, y = churn_data()
    X_train, X_test, y_train, y_test = X[:4000], X[4000:], y[:4000], y[4000:]
    model = churn_pipeline().fit(X_train, y_train)
    times["train"] = time.perf_counter() - t
    accuracy = float((model.predict(X_test) == y_test).mean())
    say(f"trained {type(model[-1]).__name__} on 4000 generated customers "
        f"(held-out accuracy {accuracy:.3f})")
    model_file = out / "churn.skops"
    sio.dump(model, model_file)
    data_file = out / "customers.csv"
    X_test.to_csv(data_file, index=False)

    t = time.perf_counter()
    bundle = out / "churn"
    art = api.build(model_file, sample=X_train.sample(500, random_state=0), out=bundle,
                    name="churn", progress=say)
    times["build"] = time.perf_counter() - t

    t = time.perf_counter()
    report = api.verify(bundle, model, X_test)
    times["verify"] = time.perf_counter() - t
    if not report["passed"]:
        raise BuildError("held-out parity check failed: " + str(report["targets"]))
    say(f"verified on {report['targets'][art.target]['rows']} held-out + probe rows: "
        f"{report['targets'][art.target]['label_mismatches']} label mismatches, max abs diff "
        f"{max(report['targets'][art.target]['max_abs_diff'].values(), default=0.0):.2g}")

    t = time.perf_counter()
    demo, matches = _run_c_example(bundle, data_file, art, X_test, out, say)
    times["c_example"] = time.perf_counter() - t
    return QuickstartResult(out, bundle, model_file, data_file, demo, accuracy,
                            report["targets"][art.target], matches, times)


def _run_c_example(bundle: Path, data_file: Path, art, X_test: pd.DataFrame, out: Path,
                   say: Callable[[str], None]) -> tuple[Path | None, bool]:
    from .toolchain.compilers import find_compiler

    compiler = find_compiler()
    src = example_dir() / "main.c"
    demo = out / "churn_demo"
    lib_dir = (bundle / art.manifest["targets"][art.target]["path"]).parent
    argv = [*compiler.argv, "-O2", f"-I{bundle / 'include'}", str(src), f"-L{lib_dir}",
            "-lchurn", f"-Wl,-rpath,{lib_dir.resolve()}", "-o", str(demo)]
    say(f"compiling examples/c/main.c with {compiler.description}")
    res = subprocess.run(argv, capture_output=True, text=True)
    if res.returncode != 0:
        raise ToolchainError(f"compiling examples/c failed:\n{res.stderr[-2000:]}")
    res = subprocess.run([str(demo), str(data_file)], capture_output=True, text=True)
    if res.returncode not in (0, 1):
        raise ToolchainError(f"churn_demo failed ({res.returncode}): {res.stderr[-2000:]}")
    lines = res.stdout.strip().splitlines()
    labels = np.array([ln.split(",")[0] for ln in lines])
    proba = np.array([[float(v) for v in ln.split(",")[1:]] for ln in lines])
    same = bool(np.array_equal(labels, art.predict(X_test))
                and np.array_equal(proba, art.predict_proba(X_test)))
    say(f"ran {demo.name} on {len(lines)} rows: C output "
        f"{'identical to' if same else 'DIFFERENT from'} Python's")
    return demo, same


def cleanup(out: Path) -> None:  # pragma: no cover - convenience for interactive use
    shutil.rmtree(out, ignore_errors=True)
