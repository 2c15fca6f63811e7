"""Row encoding: both code paths (per value, vectorized) agree on every kind of value."""

import numpy as np
import pandas as pd
import pytest

from staticml.data.schema import RowEncoder
from staticml.errors import InputError
from staticml.ir.ops import InputColumn

COLS = [InputColumn("n", "number"), InputColumn("s", "string", ("b", "a", "é"))]


@pytest.mark.parametrize("dtype", [object, "str"])
@pytest.mark.parametrize("n_rows", [5, 500], ids=["per-value", "vectorized"])
def test_codes_for_known_unseen_and_missing(dtype, n_rows):
    values = ["a", "zzz", None, "é", np.nan] * (n_rows // 5)
    df = pd.DataFrame({"n": np.arange(n_rows, dtype=float),
                       "s": pd.Series(values, dtype=dtype)})
    x = RowEncoder(COLS).encode(df)
    expected = [1.0, -1.0, np.nan, 2.0, np.nan] * (n_rows // 5)
    np.testing.assert_array_equal(x[:, 1], expected)
    np.testing.assert_array_equal(x[:, 0], np.arange(n_rows))


@pytest.mark.parametrize("n_rows", [5, 500], ids=["per-value", "vectorized"])
def test_non_strings_in_a_string_column_are_rejected(n_rows):
    df = pd.DataFrame({"n": [1.0] * n_rows, "s": pd.Series(["a", 3] * (n_rows // 2) + ["a"] *
                                                           (n_rows % 2), dtype=object)})
    with pytest.raises(InputError, match="column 's' must hold strings but holds 3"):
        RowEncoder(COLS).encode(df)


def test_object_numbers_and_none_in_numeric_column():
    arr = np.array([[1, "a"], [None, "b"]], dtype=object)
    x = RowEncoder(COLS).encode(arr)
    assert x[0, 0] == 1.0 and np.isnan(x[1, 0]) and x[1, 1] == 0.0


def test_integer_and_bool_columns_become_doubles():
    enc = RowEncoder([InputColumn("i", "number"), InputColumn("b", "number")])
    x = enc.encode(pd.DataFrame({"i": [1, 2], "b": [True, False]}))
    assert x.tolist() == [[1.0, 1.0], [2.0, 0.0]]


def test_dict_rows_refuse_strings_in_numeric_columns():
    enc = RowEncoder([InputColumn("a", "number"), InputColumn("b", "number")])
    assert enc.encode_dict({"a": 1, "b": None})[0] == 1.0
    with pytest.raises(InputError, match="column 'b' must be numeric"):
        enc.encode_dict({"a": 1.0, "b": "1.5"})


def test_column_cache_follows_labels_not_frames():
    """The frame encoder caches the column lookup per label array; a new frame with the
    same labels reuses it, one with the same labels in another order must not."""
    enc = RowEncoder([InputColumn("a", "number"), InputColumn("b", "number"),
                      InputColumn("c", "number")])
    first = pd.DataFrame({"a": [1.0], "b": [2.0], "c": [3.0]})
    same = pd.DataFrame({"a": [4.0], "b": [5.0], "c": [6.0]})
    shuffled = pd.DataFrame({"c": [9.0], "a": [7.0], "b": [8.0]})
    extra = pd.DataFrame({"z": ["x"], "b": [2.0], "a": [1.0], "c": [3.0]})
    assert enc.encode(first).tolist() == [[1.0, 2.0, 3.0]]
    assert enc.encode(same).tolist() == [[4.0, 5.0, 6.0]]
    assert enc.encode(shuffled).tolist() == [[7.0, 8.0, 9.0]]
    assert enc.encode(first.iloc[[0]]).tolist() == [[1.0, 2.0, 3.0]]
    assert enc.encode(extra).tolist() == [[1.0, 2.0, 3.0]]
    assert enc.encode(same).tolist() == [[4.0, 5.0, 6.0]]
    with pytest.raises(InputError, match="missing column"):
        enc.encode(pd.DataFrame({"a": [1.0], "b": [2.0]}))
