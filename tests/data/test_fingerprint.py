"""Training-data fingerprint: format independence, order (in)sensitivity, and diffs."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from staticml.data import fingerprint as F
from staticml.data.fingerprint import compare, fingerprint
from staticml.errors import InputError


def _table(n: int = 3000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "num": rng.normal(size=n),
        "ints": rng.integers(-50, 50, n),
        "flag": rng.random(n) < 0.3,
        "cat": rng.choice(["red", "green", "blue", "ünïcode", "NA", None], n),
        "uid": [f"user-{i:08d}-{'x' * (i % 37)}" for i in range(n)],
        "when": pd.Timestamp("2021-03-04") + pd.to_timedelta(rng.integers(0, 10**7, n), "s"),
        "blank": [None] * n,
    })
    df.loc[::17, "num"] = np.nan
    df.loc[5, "num"] = -0.0
    df.loc[6, "num"] = np.inf
    df.loc[7, "cat"] = ""
    return df


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return _table()


@pytest.fixture(scope="module")
def files(table, tmp_path_factory):
    d = tmp_path_factory.mktemp("fp")
    table.to_csv(d / "t.csv", index=False)
    table.to_parquet(d / "t.parquet")
    return d / "t.csv", d / "t.parquet"


def test_csv_parquet_and_dataframe_hash_the_same(table, files):
    fps = [fingerprint(table), fingerprint(files[0]), fingerprint(files[1])]
    want = {"num": "number", "ints": "number", "flag": "number", "cat": "string",
            "uid": "string", "when": "datetime", "blank": "empty"}
    for fp in fps:
        assert fp["schema"] == want
        assert fp["rows"] == len(table)
        json.dumps(fp, allow_nan=False)
    for key in ("content_sha256", "unordered_sha256", "schema_sha256", "column_hashes",
                "row_sketch"):
        assert fps[0][key] == fps[1][key] == fps[2][key], key
    assert compare(fps[0], files[0])["status"] == "same"
    assert compare(fps[1], files[1])["summary"][0].startswith("same data")


def test_storage_type_does_not_matter():
    """3 stored as int64 or as 3.0, True as bool or 1.0, -0.0 or 0.0, NaN or None: one
    canonical value each."""
    a = pd.DataFrame({"x": [1, 2, 3], "b": [True, False, True], "z": [0.0, 1.0, np.nan]})
    b = pd.DataFrame({"x": [1.0, 2.0, 3.0], "b": [1.0, 0.0, 1.0],
                      "z": pd.array([-0.0, 1.0, None], dtype=object)})
    assert fingerprint(a)["content_sha256"] == fingerprint(b)["content_sha256"]


def test_missing_spellings_are_one_value():
    a = pd.DataFrame({"s": ["x", None, "", "NA", "null", "y"]})
    b = pd.DataFrame({"s": ["x", None, None, None, None, "y"]})
    assert fingerprint(a)["content_sha256"] == fingerprint(b)["content_sha256"]
    assert fingerprint(pd.DataFrame({"s": [None, "", "NaN"]}))["schema"] == {"s": "empty"}


def test_column_order_does_not_change_hashes(table):
    a, b = fingerprint(table), fingerprint(table[table.columns[::-1]])
    assert a["content_sha256"] == b["content_sha256"]
    assert compare(a, table[table.columns[::-1]])["columns"]["order_changed"]


def test_shuffled_rows_match_only_without_order(table, files, tmp_path):
    recorded = fingerprint(files[0])
    shuffled = table.sample(frac=1.0, random_state=3)
    shuffled.to_parquet(tmp_path / "s.parquet")
    fp = fingerprint(tmp_path / "s.parquet")
    assert fp["unordered_sha256"] == recorded["unordered_sha256"]
    assert fp["content_sha256"] != recorded["content_sha256"]
    assert all(fp["column_hashes"][c]["unordered"] == recorded["column_hashes"][c]["unordered"]
               for c in table.columns)
    res = compare(recorded, tmp_path / "s.parquet")
    assert res["status"] == "same_rows_different_order"
    assert res["rows"]["absent_at_least"] == res["rows"]["new_at_least"] == 0


@pytest.mark.parametrize("column,value", [("num", 0.5), ("cat", "green"), ("uid", "someone"),
                                          ("when", pd.Timestamp("1999-01-01")),
                                          ("blank", 1.0)])
def test_one_changed_value_is_found_and_named(table, files, tmp_path, column, value):
    recorded = fingerprint(files[0])
    changed = table.copy()
    if column == "blank":
        changed[column] = changed[column].astype(object)
    changed.loc[123, column] = value
    changed.to_csv(tmp_path / "c.csv", index=False)
    res = compare(recorded, tmp_path / "c.csv")
    assert res["status"] == "different"
    if column == "blank":   # an all-missing column gained a value: a new type
        assert res["columns"]["retyped"] == [{"column": "blank", "recorded": "empty",
                                              "data": "number"}]
    else:
        assert res["columns"]["changed"] == [column]
    assert res["rows"] == {"recorded": len(table), "data": len(table), "delta": 0,
                           "absent_at_least": 1, "new_at_least": 1}
    assert any(column in line for line in res["summary"])


def test_added_removed_retyped_and_renamed_columns(table, files):
    recorded = fingerprint(files[1])
    other = table.drop(columns=["flag"]).rename(columns={"uid": "user"})
    other["extra"] = 1.0
    other["ints"] = other["ints"].astype(str)
    res = compare(recorded, other)
    cols = res["columns"]
    assert res["status"] == "different"
    assert set(cols["added"]) == {"user", "extra"}
    assert set(cols["removed"]) == {"flag", "uid"}
    assert cols["retyped"] == [{"column": "ints", "recorded": "number", "data": "string"}]
    assert cols["renamed"] == [{"from": "uid", "to": "user"}]
    assert cols["changed"] == []
    assert res["rows"]["absent_at_least"] is None      # row hashes cover other columns


def test_added_column_still_compares_rows(table, files):
    res = compare(fingerprint(files[1]), table.assign(extra=2.0))
    assert res["columns"]["added"] == ["extra"]
    assert res["rows"]["absent_at_least"] == res["rows"]["new_at_least"] == 0


def test_added_and_dropped_rows(table, files):
    recorded = fingerprint(files[0])
    fewer = table.drop(index=[3, 50, 51, 700])
    res = compare(recorded, fewer)
    assert res["status"] == "different" and res["columns"]["changed"] == []
    assert res["rows"]["delta"] == -4 and res["rows"]["absent_at_least"] == 4
    assert res["rows"]["new_at_least"] == 0
    more = pd.concat([table, table.iloc[:2]], ignore_index=True)
    res = compare(recorded, more)
    assert res["rows"]["delta"] == 2 and res["rows"]["new_at_least"] == 2
    assert res["columns"]["changed"] == []
    assert "rows added: 2" in " ".join(res["summary"])
    # rows removed and a value changed: only that column is named
    edited = fewer.copy()
    edited.loc[10, "ints"] = 999
    res = compare(recorded, edited)
    assert res["columns"]["changed"] == ["ints"] and res["rows"]["delta"] == -4


def test_selected_columns_ignore_the_others(table, files):
    recorded = fingerprint(files[0], columns=["num", "cat"])
    assert recorded["scope"] == "selected" and list(recorded["schema"]) == ["num", "cat"]
    assert compare(recorded, table.assign(extra=1))["status"] == "same"
    res = compare(recorded, table.drop(columns=["cat"]))
    assert res["columns"]["removed"] == ["cat"] and res["columns"]["added"] == []
    res = compare(recorded, table[["ints", "flag"]])
    assert res["columns"]["removed"] == ["num", "cat"] and res["columns"]["added"] == []
    with pytest.raises(InputError, match="no column"):
        fingerprint(files[0], columns=["num", "nope"])


def test_batch_boundaries_do_not_matter(table, files, monkeypatch):
    want = fingerprint(files[0])
    monkeypatch.setattr(F, "CSV_BLOCK", 1 << 14)
    monkeypatch.setattr(F, "CSV_BATCH_ROWS", 100)
    monkeypatch.setattr(F, "FRAME_BATCH", 333)
    monkeypatch.setattr(F, "PARQUET_BATCH", 77)
    for source in (files[0], files[1], table):
        got = fingerprint(source)
        assert got["content_sha256"] == want["content_sha256"]
        assert got["unordered_sha256"] == want["unordered_sha256"]


def test_string_hash_paths_agree():
    """Padded (Arrow) and flat (numpy scatter) word sums are the same function."""
    rng = np.random.default_rng(5)
    values = ["", "a", "é", "12345678", "123456789", "ü\x00", "x" * 300] + [
        "".join(rng.choice(list("abcdé€"), rng.integers(0, 30))) for _ in range(500)]
    arr = pa.array(values)
    nwords = (np.array([len(v.encode()) for v in values]) + 7) >> 3
    padded = F._word_sums_padded(arr[1:200], nwords[1:200])
    flat = F._word_sums_flat(arr[1:200], nwords[1:200])
    assert padded is not None
    assert all((a == b).all() for a, b in zip(padded, flat))
    whole = F._string_words(arr)
    one_by_one = [F._string_words(pa.array([v])) for v in values]
    assert (whole[0] == np.array([h[0][0] for h in one_by_one])).all()
    assert (whole[1] == np.array([h[1][0] for h in one_by_one])).all()
    assert len(set(whole[0].tolist())) == len(set(values))


def test_text_late_in_a_csv_number_column(tmp_path):
    """pyarrow infers types from the first block; a word further down re-reads the column
    as text, which equals the data given as strings."""
    n = 40_000
    lines = ["a,b"] + [f"{i},{i % 7}" for i in range(n)] + ["oops,1.5"]
    (tmp_path / "late.csv").write_text("\n".join(lines) + "\n")
    import staticml.data.fingerprint as mod

    old = mod.CSV_BLOCK
    mod.CSV_BLOCK = 1 << 14
    try:
        fp = fingerprint(tmp_path / "late.csv")
    finally:
        mod.CSV_BLOCK = old
    assert fp["schema"] == {"a": "string", "b": "number"} and fp["rows"] == n + 1
    as_text = pd.DataFrame({"a": [str(i) for i in range(n)] + ["oops"],
                            "b": [i % 7 for i in range(n)] + [1.5]})
    assert fingerprint(as_text)["content_sha256"] == fp["content_sha256"]


def test_csv_timestamps_gain_precision_later(tmp_path, monkeypatch):
    """Whole seconds in the first block, a fraction further down: still one datetime
    column, equal to the same values given as a DataFrame."""
    n = 30_000
    when = pd.Timestamp("2022-05-06") + pd.to_timedelta(np.arange(n), "s")
    when = when.append(pd.DatetimeIndex([pd.Timestamp("2022-05-06 00:00:00.5")]))
    df = pd.DataFrame({"t": when, "v": np.arange(n + 1) * 0.5})
    df.to_csv(tmp_path / "t.csv", index=False)
    monkeypatch.setattr(F, "CSV_BLOCK", 1 << 14)
    fp = fingerprint(tmp_path / "t.csv")
    assert fp["schema"] == {"t": "datetime", "v": "number"}
    assert fp["content_sha256"] == fingerprint(df)["content_sha256"]


def test_errors(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        fingerprint(tmp_path / "nope.csv")
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(InputError, match="unknown data format"):
        fingerprint(tmp_path / "x.json")
    with pytest.raises(InputError, match="not a staticml fingerprint"):
        compare({"format": "other"}, pd.DataFrame({"a": [1]}))


def test_empty_table(tmp_path):
    (tmp_path / "e.csv").write_text("a,b\n")
    fp = fingerprint(tmp_path / "e.csv")
    assert fp["rows"] == 0 and fp["schema"] == {"a": "empty", "b": "empty"}
    assert fp["content_sha256"] == fingerprint(pd.DataFrame({"a": [], "b": []}))[
        "content_sha256"]
