"""Bad prediction input gets an error that names the problem, the column and the fix."""

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.compose import make_column_transformer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import staticml
from staticml.errors import E_INFINITE_VALUE, E_MISSING_VALUE, E_UNKNOWN_CATEGORY, InputError

pytestmark = pytest.mark.needs_cc


@pytest.fixture(scope="module")
def strict(tmp_path_factory):
    """A pipeline with no imputer and an encoder that rejects unknown categories."""
    rng = np.random.default_rng(3)
    X = pd.DataFrame({"x": rng.normal(size=300), "color": rng.choice(["red", "blue"], 300)})
    y = (X.x + (X.color == "red") > 0.5).astype(int)
    model = make_pipeline(
        make_column_transformer((StandardScaler(), ["x"]), (OneHotEncoder(), ["color"])),
        LogisticRegression()).fit(X, y)
    art = staticml.build(model, X, tmp_path_factory.mktemp("s") / "strict", name="strict")
    return model, X, art


def test_nan_where_the_pipeline_cannot_take_it(strict):
    model, X, art = strict
    bad = X[:5].copy()
    bad.loc[3, "x"] = np.nan
    with pytest.raises(ValueError):
        model.predict(bad)
    with pytest.raises(InputError, match=r"row 3 in column .x.*missing value.*SimpleImputer") as e:
        art.predict(bad)
    assert e.value.code == E_MISSING_VALUE and e.value.row == 3 and e.value.column == "x"


def test_infinity(strict):
    _, X, art = strict
    bad = X[:2].copy()
    bad.loc[1, "x"] = np.inf
    with pytest.raises(InputError, match="infinite") as e:
        art.predict(bad)
    assert e.value.code == E_INFINITE_VALUE


def test_unknown_category_where_the_encoder_says_error(strict):
    model, X, art = strict
    bad = X[:3].copy()
    bad.loc[0, "color"] = "green"
    with pytest.raises(ValueError):
        model.predict(bad)
    with pytest.raises(InputError, match="column 'color'.*not seen in training") as e:
        art.predict(bad)
    assert e.value.code == E_UNKNOWN_CATEGORY


def test_missing_column_names_it(strict):
    _, X, art = strict
    with pytest.raises(InputError, match=r"missing column\(s\) \['color'\]"):
        art.predict(X[["x"]])


def test_extra_columns_and_any_order_are_fine(strict):
    model, X, art = strict
    shuffled = X[["color", "x"]].assign(extra=1.0)
    assert np.array_equal(art.predict(shuffled), model.predict(X))


def test_wrong_dtype_names_the_column(strict):
    _, X, art = strict
    bad = X[:2].copy()
    bad["x"] = ["a", "b"]
    with pytest.raises(InputError, match="column 'x' must be numeric"):
        art.predict(bad)
    bad = X[:2].copy()
    bad["color"] = [1.5, 2.5]
    with pytest.raises(InputError, match="column 'color' must hold strings"):
        art.predict(bad)


def test_numeric_looking_strings_are_refused_not_parsed(tmp_path):
    """A string in a numeric column is a wrong dtype even when it reads as a number:
    float("3.5") would silently accept it (and "1,5" or "N/A" would then fail elsewhere)."""
    rng = np.random.default_rng(4)
    X = pd.DataFrame(rng.normal(size=(200, 3)), columns=["a", "b", "c"])
    art = staticml.build(LogisticRegression().fit(X, X.a > 0), X, tmp_path / "num")
    forms = [pd.DataFrame({"a": ["3.5"], "b": [1.0], "c": [2.0]}),           # one row
             pd.DataFrame({"a": [0.5, 1.0], "b": ["1", "2"], "c": [2.0, 1]}),  # a batch
             np.array([[0.1, "3.5", 2.0]], dtype=object),                     # object array
             {"a": 0.1, "b": 1.0, "c": "2"}]                                  # a dict row
    for bad in forms:
        with pytest.raises(InputError, match="must be numeric but holds '.*' \\(str\\)"):
            art.predict_one(bad) if isinstance(bad, dict) else art.predict(bad)
    # numbers of any numeric dtype are still fine
    ok = pd.DataFrame({"a": [1], "b": np.float32([0.5]), "c": [True]})
    assert art.predict(ok).tolist() == [True]


def test_wrong_width_array(strict):
    _, _, art = strict
    with pytest.raises(InputError, match="expected 2 columns"):
        art.predict(np.zeros((2, 3)))
    with pytest.raises(InputError, match="2-D"):
        art.predict(np.zeros(5))


def test_dict_rows(strict):
    model, X, art = strict
    row = X.iloc[7].to_dict()
    assert art.predict_one(row) == model.predict(X.iloc[[7]])[0]
    np.testing.assert_allclose(art.predict_proba_one(row), model.predict_proba(X.iloc[[7]])[0],
                               rtol=0, atol=1e-12)
    with pytest.raises(InputError, match="missing column 'color'"):
        art.predict_one({"x": 1.0})
    with pytest.raises(InputError, match="must hold strings"):
        art.predict_one({"x": 1.0, "color": 3})


def test_numbers_of_other_types_are_taken_the_same_way_in_every_form(strict):
    """Decimal and Fraction are numbers (float() takes them, as numpy does for a batch);
    an int beyond float64's range and a complex number are refused with the column named,
    whether the row comes alone, in a batch, as a dict or as a DataFrame."""
    from decimal import Decimal
    from fractions import Fraction

    _, X, art = strict
    rows = X[:3].to_numpy(dtype=object)
    want = art.predict_proba(X[:3].assign(x=1.25))
    for value in (Decimal("1.25"), Fraction(5, 4), np.float16(1.25)):
        r = rows.copy()
        r[:, 0] = value
        assert art.predict_proba(r).tobytes() == want.tobytes()
        assert art.predict_proba(r[:1]).tobytes() == want[:1].tobytes()
        assert art.predict_proba(pd.DataFrame(r, columns=X.columns)).tobytes() == want.tobytes()
        d = {"x": value, "color": rows[0, 1]}
        assert art.predict_proba_one(d).tobytes() == want[0].tobytes()
    for value, match in ((10 ** 400, "too large for a float64"), (1.5 + 0j, "must be numeric")):
        r = rows.copy()
        r[:, 0] = value
        for form in (r, r[:1], pd.DataFrame(r, columns=X.columns)):
            with pytest.raises(InputError, match=f"column 'x'.*{match}") as e:
                art.predict(form)
            assert e.value.column == "x"
        with pytest.raises(InputError, match=f"column 'x'.*{match}"):
            art.predict_one({"x": value, "color": rows[0, 1]})


@pytest.mark.parametrize("n", [3, 200], ids=["value-loop", "arrow-path"])
def test_values_no_model_takes_are_refused_at_every_batch_size(strict, n):
    """Bytes in a string column (Arrow would decode b'red' to 'red'; scikit-learn never
    matches them), complex numbers (numpy's float() drops the imaginary part with a warning)
    and a column given twice are refused whether the batch takes the per-value loop or the
    vectorized path (over 64 rows)."""
    model, X, art = strict
    rows = pd.concat([X] * 2, ignore_index=True)[:n]
    raw = rows.copy()
    raw["color"] = pd.Series([c.encode() for c in rows["color"]], dtype=object)
    with pytest.raises(InputError, match=r"column 'color' must hold strings but holds b'"):
        art.predict(raw)
    cplx = rows.copy()
    cplx["x"] = rows["x"] + 1j
    with pytest.raises(InputError, match=r"column 'x' must be numeric .*complex"):
        art.predict(cplx)
    twice = pd.concat([rows, rows[["x"]]], axis=1)
    with pytest.raises(InputError, match=r"\['x'\] appear more than once"):
        art.predict(twice)
    # a lone surrogate is a string no training category equals: unknown, at every size
    odd = rows.copy()
    odd["color"] = pd.Series(["\ud800"] * n, dtype=object)
    with pytest.raises(InputError, match="column 'color'.*not seen in training"):
        art.predict(odd)


def test_one_row_must_be_a_mapping(strict):
    model, X, art = strict
    assert art.predict_one(X.iloc[3]) == art.predict_one(X.iloc[3].to_dict()) \
        == model.predict(X[3:4])[0]  # a Series is a row too
    for bad, hint in [([0.1, "red"], r"predict\(\[\[...\]\]\)"), (None, "NoneType"),
                      ("red", "str"), (X[:2], r"predict\(df\)")]:
        with pytest.raises(InputError, match=f"one row is a mapping.*{hint}"):
            art.predict_one(bad)


def test_frames_and_rows_of_the_wrong_shape(strict):
    _, X, art = strict
    multi = X[:3].copy()
    multi.columns = pd.MultiIndex.from_tuples([("f", c) for c in X.columns])
    with pytest.raises(InputError, match="MultiIndex columns; flatten them"):
        art.predict(multi)
    with pytest.raises(InputError, match="rows of different lengths; every row needs 2 values"):
        art.predict([[0.1, "red"], [0.2, "blue", 3.0]])
