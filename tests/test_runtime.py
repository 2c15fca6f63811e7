"""The loaded artifact: thread safety, empty input, arrays, label dtypes."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import staticml

pytestmark = pytest.mark.needs_cc


def test_concurrent_predictions_from_threads_are_correct(churn, churn_bundle):
    model, _, X_test, _ = churn
    art = staticml.load(churn_bundle)
    chunks = [X_test.iloc[i::8] for i in range(8)]
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(art.predict_proba, chunks * 4))
    for chunk, got in zip(chunks * 4, results):
        assert np.abs(got - model.predict_proba(chunk)).max() <= 1e-9


def test_empty_input_gives_empty_output(churn, churn_bundle):
    _, _, X_test, _ = churn
    art = staticml.load(churn_bundle)
    assert art.predict(X_test[:0]).shape == (0,)
    assert art.predict_proba(X_test[:0]).shape == (0, 2)


def test_numpy_arrays_and_integer_labels(tmp_path):
    X, y = make_classification(400, 6, n_informative=4, n_classes=3, random_state=0)
    y = np.array([3, 7, 11])[y]
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)
    art = staticml.build(model, X[:100], tmp_path / "arr", name="arr")
    assert [c.name for c in art.inputs] == [f"x{i}" for i in range(6)]
    got = art.predict(X)
    assert got.dtype == model.predict(X).dtype and np.array_equal(got, model.predict(X))
    assert np.abs(art.decision_function(X) - model.decision_function(X)).max() <= 1e-9
    one = art.predict(X[:1])
    assert one.shape == (1,) and one[0] == model.predict(X[:1])[0]
