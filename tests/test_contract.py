"""The input contract: recorded at build time, checked identically in Python and in C,
applied under the policy chosen at build time."""

from __future__ import annotations

import ctypes
import json
import sys
from pathlib import Path

import numpy as np
import pytest

import staticml
from staticml import errors

sys.path.insert(0, str(Path(__file__).parent))
from targets.zoo import logreg_pipeline  # noqa: E402


@pytest.fixture(scope="module")
def lr():
    return logreg_pipeline()


def _bad_rows(held):
    bad = held.copy()
    bad["region"] = "north"
    bad.loc[bad.index[0], "age"] = 500.0          # out of range
    bad.loc[bad.index[1], "region"] = "atlantis"  # unseen category (encoder ignores it)
    bad.loc[bad.index[2], "income"] = np.nan      # never missing in the sample
    return bad


def test_manifest_records_the_contract(lr, tmp_path) -> None:
    model, sample, _ = lr
    art = staticml.build(model, sample=sample, out=tmp_path / "b", name="lr")
    rec = {c["name"]: c for c in art.manifest["inputs"]}
    assert rec["age"]["kind"] == "numeric" and rec["age"]["missing_allowed"] is True
    assert rec["age"]["range"] == [float(sample["age"].min()), float(sample["age"].max())]
    assert rec["income"]["missing_allowed"] is False
    assert rec["plan"]["kind"] == "categorical"
    assert set(rec["plan"]["categories"]) == {"basic", "plus", "pro"}
    assert all(c["used"] for c in rec.values())
    schema = art.schema
    assert schema["schema_sha256"] == art.manifest["schema_sha256"]
    assert schema["inputs"][0]["range"] == rec["age"]["range"]
    header = (tmp_path / "b/include/lr.h").read_text()
    assert "training range" in header and "lr_contract_check" in header


def test_python_and_c_checks_agree(lr, tmp_path) -> None:
    model, sample, held = lr
    art = staticml.build(model, sample=sample, out=tmp_path / "b", name="lr")
    x = art.encode(_bad_rows(held))
    py = art._contract.check(x)
    lib = ctypes.CDLL(str(art.library_path))
    fn = lib.lr_contract_check
    fn.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    kinds = np.zeros(x.shape[1], dtype=np.uint8)
    for i in range(len(x)):
        row = np.ascontiguousarray(x[i])
        n = fn(row.ctypes.data, kinds.ctypes.data)
        assert kinds.tolist() == py[i].tolist(), i
        assert n == int((py[i] != 0).sum())
    assert py[0, 0] == 1 and py[1, 4] == 2 and py[2, 1] == 3


def test_count_policy_counts_and_predicts(lr, tmp_path) -> None:
    model, sample, held = lr
    art = staticml.build(model, sample=sample, out=tmp_path / "b", name="lr")
    bad = _bad_rows(held)
    np.testing.assert_array_equal(art.predict(bad.iloc[3:]), model.predict(bad.iloc[3:]))
    art.violations(reset=True)
    art.predict(bad.iloc[:2])
    rep = art.violations()
    assert rep["rows"] == 2 and rep["rows_with_violations"] == 2
    assert rep["by_column"]["age"] == {"out_of_range": 1}
    assert rep["by_column"]["region"] == {"unseen_category": 1}
    assert art.check(bad)["by_column"]["income"]["unexpected_missing"] == 1
    # the one-row paths (one C call that predicts and counts) count as well
    art.violations(reset=True)
    art.predict(bad.iloc[:1])
    art.predict_one(bad.iloc[1].to_dict())
    art.predict_one(bad.iloc[5].to_dict())
    rep = art.violations()
    assert rep["rows"] == 3 and rep["rows_with_violations"] == 2
    assert rep["by_column"] == {"age": {"out_of_range": 1}, "region": {"unseen_category": 1}}


def test_error_policy_refuses_and_names_the_column(lr, tmp_path) -> None:
    model, sample, held = lr
    art = staticml.build(model, sample=sample, out=tmp_path / "b", name="lr",
                         on_violation="error")
    assert art.manifest["parity"]["linux-x86_64"]["contract_refused_rows"] > 0
    inside = held[~(art._contract.check(art.encode(held)) != 0).any(axis=1)]
    np.testing.assert_array_equal(art.predict(inside), model.predict(inside))
    with pytest.raises(errors.InputError, match="'age'.*training contract") as exc:
        art.predict(_bad_rows(held).iloc[:1])
    assert exc.value.code == errors.E_CONTRACT


def test_ignore_policy_does_not_count(lr, tmp_path) -> None:
    model, sample, held = lr
    art = staticml.build(model, sample=sample, out=tmp_path / "b", name="lr",
                         on_violation="ignore")
    art.predict(_bad_rows(held))
    assert art.violations()["rows"] == 0
    with pytest.raises(staticml.StaticMLError, match="on_violation"):
        staticml.build(model, sample=sample, out=tmp_path / "c", on_violation="warn")
    assert json.loads((tmp_path / "b/manifest.json").read_text())["contract"] == {
        "on_violation": "ignore"}


def test_counter_sums_threads_and_resets_across_threads() -> None:
    """Each thread adds to its own tally without a lock; the report sums all of them and
    a reset (from any thread) empties every tally, including idle threads' ones."""
    import threading

    from staticml.data.contract import ContractCounter

    counter = ContractCounter(["a", "b"])
    one_bad = np.array([[1, 0, 0], [0, 0, 2]], dtype=np.int64)  # a: out of range, b: missing x2

    def work(n: int) -> None:
        for i in range(n):
            counter.add_counts(1, i % 2, one_bad if i % 2 else None)

    threads = [threading.Thread(target=work, args=(1000,)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rep = counter.report()
    assert rep["rows"] == 4000 and rep["rows_with_violations"] == 2000
    assert counter.rows == 4000 and counter.rows_with_violations == 2000
    counter.reset()
    assert counter.report()["rows"] == 0 and counter.rows_with_violations == 0
    work(3)  # the main thread's tally starts from zero after the reset
    assert counter.rows == 3 and counter.rows_with_violations == 1
