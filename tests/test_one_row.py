"""The one-row latency path (per-thread buffers, a DataFrame's block read directly, the
C accelerator or ready ctypes parameters) gives the batch path's bits, labels, errors and
contract counts. Every test runs both ways: through the accelerator and through ctypes."""

import os
import pickle
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import staticml
from staticml.errors import E_ARGUMENT, E_MISSING_VALUE, InputError
from staticml.runtime import accel
from staticml.runtime.artifact import Artifact

pytestmark = pytest.mark.needs_cc

COLS = [f"c{i}" for i in range(6)]


@pytest.fixture(params=["accelerated", "ctypes"])
def path(request, monkeypatch):
    """Which one-row path artifacts loaded in the test take (rows are made on first use)."""
    if request.param == "ctypes":
        monkeypatch.setattr(accel, "module", lambda: None)
    elif accel.module() is None:
        why = f"the one-row accelerator is {accel.status()}"
        if os.environ.get("STATICML_REQUIRE_RUNNERS"):
            pytest.fail(f"{why}, and STATICML_REQUIRE_RUNNERS is set")
        pytest.skip(why)
    return request.param


def _open(art: Artifact, path: str) -> Artifact:
    """A fresh load of ``art``'s bundle, checked to take ``path``."""
    fresh = staticml.load(art.root)
    assert (fresh._row().fast is not None) == (path == "accelerated"), accel.status()
    return fresh


@pytest.fixture(scope="module")
def numeric_build(tmp_path_factory):
    """Numbers only, string labels, no imputer (NaN is refused), policy "count"."""
    X, y = make_classification(600, 6, n_informative=4, n_classes=3, random_state=2)
    X = pd.DataFrame(X, columns=COLS)
    y = np.array(["ant", "bee", "cat"])[y]
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X[:400], y[:400])
    art = staticml.build(model, X[:400], tmp_path_factory.mktemp("one") / "num", name="num")
    return model, X[400:].reset_index(drop=True), art


@pytest.fixture
def numeric(numeric_build, path):
    model, X, art = numeric_build
    return model, X, _open(art, path)


def _same(a: np.ndarray, b: np.ndarray) -> None:
    assert a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def test_every_one_row_form_gives_the_batch_bits(numeric):
    model, X, art = numeric
    arr = X.to_numpy()
    proba, labels = art.predict_proba(X), art.predict(X)  # batch path
    _same(labels, model.predict(X))
    shuffled = X[COLS[::-1]]
    extra = X.assign(other=1.0, name="x")  # more blocks: the general frame path
    unpickled = pickle.loads(pickle.dumps(arr))  # an equal dtype, not numpy's singleton
    for i in range(20):
        forms = [arr[i:i + 1], unpickled[i:i + 1], np.asfortranarray(arr[i:i + 1]),
                 arr[i:i + 2][::2], X.iloc[[i]], shuffled.iloc[[i]], extra.iloc[[i]],
                 pd.DataFrame([X.iloc[i].to_dict()])]
        for form in forms:
            _same(art.predict_proba(form), proba[i:i + 1])
            _same(art.predict(form), labels[i:i + 1])
        d = X.iloc[i].to_dict()
        _same(art.predict_proba_one(d), proba[i])
        got = art.predict_one(d)
        assert got == labels[i] and type(got) is type(labels[i])
    assert art._encoder.frame_row_block(X.iloc[[0]])[1] is None  # the block is the row
    assert art._encoder.frame_row_block(shuffled.iloc[[0]])[1] is not None
    assert art._encoder.frame_row_block(extra.iloc[[0]]) is None
    # the returned arrays are fresh: the next call does not change them
    a = art.predict_proba(arr[:1])
    keep = a.copy()
    art.predict_proba(arr[1:2])
    _same(a, keep)


def test_errors_fire_on_the_one_row_paths(numeric):
    _, X, art = numeric
    arr = X.to_numpy()
    bad = arr[:1].copy()
    bad[0, 2] = np.nan
    frame = X.iloc[[0]].copy()
    frame.loc[0, "c2"] = np.nan
    for form in (bad, frame):
        with pytest.raises(InputError, match="row 0 in column 'c2'.*missing") as e:
            art.predict_proba(form)
        assert e.value.code == E_MISSING_VALUE and e.value.column == "c2"
    with pytest.raises(InputError, match="column 'c2'") as e:
        art.predict_one({**X.iloc[0].to_dict(), "c2": None})
    assert e.value.code == E_MISSING_VALUE
    with pytest.raises(InputError, match="expected 6 columns"):
        art.predict(np.zeros((1, 7)))
    with pytest.raises(InputError, match="missing column"):
        art.predict(X.iloc[[0]].drop(columns="c4"))
    with pytest.raises(InputError, match="missing column 'c4'") as e:
        art.predict_one({k: v for k, v in X.iloc[0].to_dict().items() if k != "c4"})
    assert e.value.code == E_ARGUMENT
    with pytest.raises(InputError, match="'c1' must be numeric"):
        art.predict_one({**X.iloc[0].to_dict(), "c1": "3.5"})
    with pytest.raises(InputError, match="'c1' must be numeric"):
        art.predict(X.iloc[[0]].astype({"c1": object}).assign(c1="abc"))
    # a good row after the errors is still right (the buffers hold no stale state)
    _same(art.predict_proba(arr[:1]), art.predict_proba(arr[:2])[:1])


def test_one_row_paths_count_contract_violations(numeric):
    _, X, art = numeric
    arr = X.to_numpy()
    far = arr[:1].copy()
    far[0, 0] = 1e6  # out of the training range: counted, still predicted
    art.violations(reset=True)
    art.predict(arr[:1])
    art.predict(far)
    art.predict(pd.DataFrame(far, columns=COLS))
    art.predict_one(dict(zip(COLS, far[0])))
    rep = art.violations()
    assert rep["rows"] == 4 and rep["rows_with_violations"] == 3
    assert rep["by_column"] == {"c0": {"out_of_range": 3}}


def test_one_row_buffers_are_per_thread(numeric):
    _, X, art = numeric
    arr = X.to_numpy()
    want = art.predict_proba(arr)

    def run(i: int) -> bool:
        return all(art.predict_proba(arr[k:k + 1]).tobytes() == want[k].tobytes()
                   for k in range(i, len(arr), 4))

    with ThreadPoolExecutor(4) as pool:
        assert all(pool.map(run, range(4)))


def test_regression_one_row_values(tmp_path, path):
    X, y = make_classification(300, 4, random_state=0)
    model = LinearRegression().fit(X, y.astype(float))
    art = _open(staticml.build(model, X, tmp_path / "reg", name="reg"), path)
    ref = art.predict(X[:10])
    for i in range(10):
        _same(art.predict(X[i:i + 1]), ref[i:i + 1])
        assert art.predict_one({f"x{j}": X[i, j] for j in range(4)}) == ref[i]


class _MatrixOnly:
    """A library with only ``predict_matrix`` (as engines of other targets have)."""

    def __init__(self, lib):
        self._inner = lib
        self.schema_json, self.path = lib.schema_json, lib.path

    def predict_matrix(self, x):
        return self._inner.predict_matrix(x)


def test_libraries_without_one_row_bindings_take_the_same_paths(numeric):
    _, X, art = numeric
    other = Artifact(art.root, art.manifest, _MatrixOnly(art._lib), "other")
    arr = X.to_numpy()
    far = arr[:1].copy()
    far[0, 0] = 1e6
    for i in range(5):
        _same(other.predict_proba(arr[i:i + 1]), art.predict_proba(arr[i:i + 1]))
        _same(other.predict(X.iloc[[i]]), art.predict(X.iloc[[i]]))
    other.violations(reset=True)
    other.predict(far)
    assert other.violations()["by_column"] == {"c0": {"out_of_range": 1}}
    bad = arr[:1].copy()
    bad[0, 3] = np.nan
    with pytest.raises(InputError, match="column 'c3'"):
        other.predict(bad)


def test_one_row_mixed_rows_give_the_batch_bits(tmp_path, path):
    """A one-row object array (numbers and strings, as ``df.to_numpy(dtype=object)`` gives)
    or mixed-dtype DataFrame is encoded value by value; it must give what the same row gets
    inside a batch, unseen categories and missing values included."""
    from sklearn.compose import make_column_transformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    rng = np.random.default_rng(8)
    X = pd.DataFrame({"x": rng.normal(size=300), "color": rng.choice(["red", "blue"], 300)})
    model = make_pipeline(
        make_column_transformer((SimpleImputer(), ["x"]),
                                (OneHotEncoder(handle_unknown="ignore"), ["color"])),
        LogisticRegression()).fit(X, X.x > 0)
    art = _open(staticml.build(model, X, tmp_path / "mixed"), path)
    rows = X.to_numpy(dtype=object)[:40]
    rows[3, 0], rows[5, 1], rows[7, 1] = None, "green", None  # missing, unseen, missing
    batch = art.predict_proba(rows)
    xs = rows[:, 0].astype(float)
    frames = [pd.DataFrame(rows, columns=["x", "color"]),  # object columns
              pd.DataFrame({"color": pd.Series(rows[:, 1], dtype="string"),  # other dtypes,
                            "extra": 1, "x": xs}),                           # order, extra
              pd.DataFrame({"x": xs, "color": pd.Series(rows[:, 1], dtype="str")}),  # Arrow
              pd.DataFrame({"flag": True, "color": pd.Categorical(rows[:, 1]),  # categorical,
                            "n": np.arange(len(rows)), "x": xs})]  # more blocks
    for df in frames:  # each is read from pandas' blocks (the accelerator's input)
        assert art._encoder.frame_row_values(df.iloc[[0]]) is not None
    for r in range(len(rows)):
        assert art.predict_proba(rows[r:r + 1]).tobytes() == batch[r:r + 1].tobytes(), r
        for df in frames:  # one-row DataFrames take the same value-by-value path
            assert art.predict_proba(df.iloc[[r]]).tobytes() == batch[r:r + 1].tobytes(), r
    assert np.abs(batch - model.predict_proba(pd.DataFrame(rows, columns=["x", "color"])
                                              .astype({"x": float}))).max() <= 1e-9


def _outcome(fn, arg):
    """What a call gives: its bits, or its error's class, code, column and message."""
    try:
        got = fn(arg)
    except Exception as exc:  # noqa: BLE001 - the error itself is what is compared
        return ("raised", type(exc).__name__, getattr(exc, "code", None),
                getattr(exc, "column", None), str(exc))
    got = np.asarray(got)
    return ("value", got.dtype.str, got.shape, got.tobytes())


def test_accelerator_and_ctypes_agree_on_every_kind_of_value(tmp_path, monkeypatch):
    """The accelerator takes only values whose encoding is unambiguous and hands the rest
    to the Python path: each of these values, in a numeric and in a string column, as a
    dict, an object row and a DataFrame, gives the same bits or the same error both ways."""
    from decimal import Decimal
    from collections import defaultdict

    from sklearn.compose import make_column_transformer
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import OneHotEncoder

    if accel.module() is None:
        if os.environ.get("STATICML_REQUIRE_RUNNERS"):
            pytest.fail(f"the one-row accelerator is {accel.status()}")
        pytest.skip(f"the one-row accelerator is {accel.status()}")
    rng = np.random.default_rng(3)
    X = pd.DataFrame({"x": rng.normal(size=200), "y": rng.normal(size=200),
                      "color": rng.choice(["red", "blue", "green"], 200)})
    model = make_pipeline(
        make_column_transformer((SimpleImputer(), ["x", "y"]),
                                (OneHotEncoder(handle_unknown="ignore"), ["color"])),
        LogisticRegression()).fit(X, X.x + X.y > 0)
    built = staticml.build(model, X, tmp_path / "grid", name="grid")
    fast = staticml.load(built.root)
    assert fast._row().fast is not None
    monkeypatch.setattr(accel, "module", lambda: None)
    slow = staticml.load(built.root)
    assert slow._row().fast is None
    numbers = [0.25, -3, True, False, np.float64(1.5), np.float32(0.5), np.int64(2),
               float("nan"), float("inf"), None, "3.5", Decimal("1.25"), 10 ** 400,
               np.nan, pd.NA, [1.0], "red"]
    strings = ["red", "blue", np.str_("green"), "purple", "", None, float("nan"), 1.0, 7,
               np.float64("nan"), b"red", pd.NA]
    rows = [{"x": v, "y": 0.5, "color": "red"} for v in numbers]
    rows += [{"x": 0.5, "y": -1.0, "color": v} for v in strings]
    rows += [{"x": 0.5, "color": "red"}, {"x": 0.5, "y": 1.0, "color": "red", "extra": 1}]
    rows += [defaultdict(lambda: 0.0, {"x": 1.0, "color": "blue"})]
    compared = 0
    for row in rows:
        for method in ("predict_one", "predict_proba_one"):
            a = _outcome(getattr(fast, method), row)
            assert a == _outcome(getattr(slow, method), row), (method, row)
            compared += a[0] == "value"
        if isinstance(row, dict) and len(row) == 3 and list(row) == ["x", "y", "color"]:
            obj = np.array([list(row.values())], dtype=object)
            for method in ("predict", "predict_proba"):
                a = _outcome(getattr(fast, method), obj)
                assert a == _outcome(getattr(slow, method), obj), (method, row)
    assert compared > 20  # most rows predict; the rest must fail the same way
    # numbers in a numeric-only model: float64 arrays of every layout, and other dtypes
    num = make_pipeline(StandardScaler(), LogisticRegression()).fit(X[["x", "y"]], X.x > 0)
    nb = staticml.build(num, X[["x", "y"]], tmp_path / "num2", name="num2")
    monkeypatch.undo()
    nfast = staticml.load(nb.root)
    assert nfast._row().fast is not None
    monkeypatch.setattr(accel, "module", lambda: None)
    nslow = staticml.load(nb.root)
    arr = X[["x", "y"]].to_numpy()
    forms = [arr[:1], arr[:1].astype(np.float32), arr[:1].astype(">f8"), arr[:1].astype(int),
             arr[:1].astype(object), np.asfortranarray(arr[:1]), arr[:2][::2], arr[:1].T,
             np.array([[1.0, "2.5"]], dtype=object), np.array([[np.nan, 1.0]]),
             X[["y", "x"]].iloc[[0]], X[["x", "y"]].iloc[[0]]]
    for form in forms:
        for method in ("predict", "predict_proba"):
            a = _outcome(getattr(nfast, method), form)
            assert a == _outcome(getattr(nslow, method), form), (method, form)
    with pytest.raises(InputError, match="column 'x'"):  # the accelerator leaves it to Python
        nfast.predict_one({"x": "3.5", "y": 1.0})


def test_accelerator_falls_back_to_ctypes_when_it_cannot_be_used(tmp_path, monkeypatch):
    """No compiler, or a cache folder others may write to: ctypes, same answers, and
    ``status()`` says why."""
    monkeypatch.setattr(accel, "_state", {})
    monkeypatch.setenv("STATICML_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("STATICML_ACCEL", "0")
    assert accel.module() is None and "STATICML_ACCEL" in accel.status()

    monkeypatch.setattr(accel, "_state", {})
    monkeypatch.delenv("STATICML_ACCEL")
    monkeypatch.setenv("STATICML_CC", "/nonexistent/cc")
    assert accel.module() is None and "STATICML_CC" in accel.status()

    if hasattr(os, "getuid"):
        monkeypatch.setattr(accel, "_state", {})
        monkeypatch.delenv("STATICML_CC")
        folder = tmp_path / "cache" / "accel"
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o777)  # anybody could swap the library in
        assert accel.module() is None and "writable by others" in accel.status()


def test_a_prediction_made_while_reading_a_dict_does_not_mix_rows(numeric):
    """Reading a dict can run Python code (a key's __eq__ on a hash collision), which may
    predict on the same thread: the outer row must still be predicted from its own values."""
    _, X, art = numeric
    want = art.predict_proba(X[:2])
    inner = X.iloc[1].to_dict()

    class Sneaky:
        def __hash__(self):
            return hash("c3")  # collides with a column name: its __eq__ runs on lookup

        def __eq__(self, other):
            art.predict_proba_one(inner)  # a whole prediction on this thread's buffers
            return False

    outer = {Sneaky(): 0.0, **X.iloc[0].to_dict()}
    assert art.predict_proba_one(outer).tobytes() == want[0].tobytes()
    assert art.predict_proba_one(inner).tobytes() == want[1].tobytes()
