"""Training profile and drift report, including the issue's two acceptance statements."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from staticml.data.drift import (count, critical_value, drift, psi, report,
                                 report_from_counters, counter_layout)
from staticml.data.profile import code_bins, numeric_bins, profile
from staticml.errors import InputError
from staticml.ir.ops import InputColumn

CATS = ("a", "b", "c", "d", "e", "r1", "r2")
INPUTS = [InputColumn("x1", "number"), InputColumn("x2", "number"),
          InputColumn("x3", "number"), InputColumn("k", "number"),
          InputColumn("c", "string", CATS), InputColumn("m", "number")]


def gen(n: int, rng: np.random.Generator, shift_sd: float = 0.0) -> pd.DataFrame:
    """Six columns: normals, a lognormal, a discrete 0..5 column, a skewed categorical with
    rare levels and one the model never saw ("r3"), and a normal with 10% missing.
    ``shift_sd`` moves x2 (sd 2) by that many standard deviations."""
    return pd.DataFrame({
        "x1": rng.normal(0, 1, n),
        "x2": rng.normal(5, 2, n) + 2 * shift_sd,
        "x3": rng.lognormal(0, 1, n),
        "k": rng.integers(0, 6, n).astype(float),
        "c": rng.choice(["a", "b", "c", "d", "e", "r1", "r2", "r3"], n,
                        p=[.4, .25, .15, .1, .07, .01, .01, .01]),
        "m": np.where(rng.random(n) < 0.1, np.nan, rng.normal(size=n)),
    })


@pytest.fixture(scope="module")
def prof() -> dict:
    return profile(gen(20_000, np.random.default_rng(0)), INPUTS)


def test_profile_format(prof):
    json.dumps(prof, allow_nan=False)
    assert prof["rows"] == 20_000 and prof["edges_from"] == {"rows": 20_000, "exact": True}
    x1, k, c, m = (prof["columns"][i] for i in (0, 3, 4, 5))
    assert len(x1["edges"]) == 9 and sum(x1["counts"]) == 20_000
    assert all(1900 <= v <= 2100 for v in x1["counts"])
    assert k["edges"] == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0] and k["counts"][0] == 0
    assert c["categories"] == list(CATS) and len(c["counts"]) == len(CATS)
    assert c["unseen"] == 20_000 - sum(c["counts"]) and 0.005 < c["unseen_rate"] < 0.015
    assert c["missing"] == 0 and c["missing_rate"] == 0.0
    assert 0.09 < m["missing_rate"] < 0.11 and sum(m["counts"]) == 20_000 - m["missing"]
    assert abs(x1["mean"]) < 0.05 and abs(x1["std"] - 1) < 0.05


def test_profile_from_files_and_sampled_edges(prof, tmp_path):
    df = gen(20_000, np.random.default_rng(0))
    df.to_csv(tmp_path / "t.csv", index=False)
    df.to_parquet(tmp_path / "t.parquet")
    assert profile(tmp_path / "t.csv", INPUTS) == prof
    assert profile(tmp_path / "t.parquet", INPUTS) == prof
    sampled = profile(tmp_path / "t.parquet", INPUTS, sample_rows=3000)
    assert sampled["edges_from"] == {"rows": 3000, "exact": False}
    # the sample depends on row positions only, not on how each format is batched
    from_csv = profile(tmp_path / "t.csv", INPUTS, sample_rows=3000)
    assert [c.get("edges") for c in from_csv["columns"]] == \
        [c.get("edges") for c in sampled["columns"]]
    for got, want in zip(sampled["columns"], prof["columns"]):
        if got["kind"] == "number":
            assert sum(got["counts"]) + got["missing"] == 20_000   # counts are exact
            if got["name"] != "k":                                 # edges are close
                assert max(got["counts"]) < 2600
            assert got["mean"] == pytest.approx(want["mean"], abs=1e-12)


def test_profile_of_a_column_without_values():
    p = profile(pd.DataFrame({"a": [np.nan, np.nan], "b": [1.0, np.inf]}),
                [InputColumn("a", "number"), InputColumn("b", "number")])
    a, b = p["columns"]
    assert a["edges"] == [] and a["min"] is None and a["mean"] is None and a["missing"] == 2
    assert b["infinite"] == 1 and b["max"] == 1.0
    json.dumps(p, allow_nan=False)


def test_bin_rules():
    edges = np.array([-1.0, 0.0, 2.5])
    x = np.array([-np.inf, -1.0000001, -1.0, -0.0, 0.0, 1.0, 2.5, 1e308, np.inf, np.nan])
    assert numeric_bins(edges, x).tolist() == [0, 0, 1, 2, 2, 2, 3, 3, 3, 4]
    codes = np.array([0.0, 2.0, 3.0, -1.0, 1.5, np.nan, 99.0, -0.0])
    assert code_bins(3, codes).tolist() == [0, 2, 3, 3, 3, 4, 3, 0]


def test_psi_formula():
    assert psi([10, 10], 20, [5, 5], 10) == 0.0
    q, p = 0.5 / 10, 0.5                    # an empty bin counts as half a row
    want = (q - p) * np.log(q / p) + (1.0 - 0.5) * np.log(1.0 / 0.5)   # 3rd bin: 0 and 0
    assert psi([10, 10, 0], 20, [0, 10, 0], 10) == pytest.approx(want, rel=1e-15)
    assert np.isnan(psi([1], 1, [0], 0))


def test_acceptance_shift_of_half_a_standard_deviation_is_flagged_and_named(prof):
    rng = np.random.default_rng(1)
    for _ in range(50):
        res = drift(prof, gen(1000, rng, shift_sd=0.5))
        x2 = res["columns"][1]
        assert x2["psi"] > 0.1 and x2["psi_adjusted"] > 0.1 and x2["verdict"] != "none"
        assert res["drifted"] == ["x2"] and res["verdict"] != "none"
        assert x2["ks"] > 0.1 and 0 <= x2["out_of_range_rate"] < 0.01


def test_acceptance_fresh_samples_of_100_rows_rarely_flagged(prof):
    """1000 trials of 100 fresh rows from the training distribution: each column is
    flagged (verdict != none) in fewer than 5% of the trials."""
    rng = np.random.default_rng(2)
    trials = 1000
    flagged = np.zeros(len(INPUTS))
    raw_over = np.zeros(len(INPUTS))
    for _ in range(trials):
        res = drift(prof, gen(100, rng))
        flagged += [c["verdict"] != "none" for c in res["columns"]]
        raw_over += [c["psi"] > 0.1 for c in res["columns"]]
    rates = {c.name: float(v) for c, v in zip(INPUTS, flagged / trials)}
    raw = {c.name: float(v) for c, v in zip(INPUTS, raw_over / trials)}
    print(f"\nflagged fraction per column (n=100, {trials} trials): {rates}; "
          f"raw PSI > 0.1: {raw}")
    assert max(rates.values()) < 0.05, rates


def test_missing_and_unseen_surges_are_drift(prof):
    rng = np.random.default_rng(3)
    df = gen(2000, rng)
    df.loc[: 600, "x1"] = np.nan
    df.loc[: 300, "c"] = "brand-new"
    res = drift(prof, df)
    by = {c["name"]: c for c in res["columns"]}
    assert by["x1"]["verdict"] == "major" and by["x1"]["missing_rate"] > 0.3
    assert by["c"]["verdict"] == "major" and by["c"]["unseen_rate"] > 0.15
    assert by["x1"]["training_missing_rate"] == 0.0
    assert res["verdict"] == "major" and set(res["drifted"]) == {"x1", "c"}


def test_report_from_counts_and_counters_match_drift(prof, tmp_path):
    df = gen(700, np.random.default_rng(4), shift_sd=0.3)
    df.to_parquet(tmp_path / "d.parquet")
    want = drift(prof, df)
    assert drift(prof, tmp_path / "d.parquet") == want
    rows, counts, oor = count(prof, df)
    assert report(prof, rows, counts, oor) == want
    flat = []
    for (start, nb, num), c, o in zip(counter_layout(prof), counts, oor):
        assert start == len(flat)
        flat += list(c) + ([o] if num else [])
    assert report_from_counters(prof, rows, flat) == want
    json.dumps(want, allow_nan=False)


def test_encoded_matrix_input(prof):
    df = gen(300, np.random.default_rng(5))
    from staticml.data.schema import RowEncoder

    x = RowEncoder(INPUTS).encode(df)
    assert drift(prof, x) == drift(prof, df)


def test_no_rows_and_bad_input(prof):
    res = drift(prof, gen(0, np.random.default_rng(0)))
    assert res["rows"] == 0 and res["verdict"] == "none"
    assert all(c["psi"] is None for c in res["columns"])
    with pytest.raises(InputError, match="missing column"):
        drift(prof, pd.DataFrame({"x1": [1.0]}))
    with pytest.raises(InputError, match="not a staticml training profile"):
        drift({"format": "x"}, pd.DataFrame())


def test_critical_values():
    assert critical_value(9) == pytest.approx(21.665994, rel=1e-6)
    assert critical_value(0) == critical_value(1)
