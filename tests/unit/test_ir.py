"""IR invariants, serialization and the reference interpreter on hand-built graphs."""

import json

import numpy as np
import pytest

from staticml import errors
from staticml.ir import interpret, ops as o, serialize
from staticml.ir.graph import Graph
from staticml.passes.dependencies import blame, used_inputs


def _graph():
    inputs = (o.InputColumn("x", "number"), o.InputColumn("c", "string", ("a", "b")),
              o.InputColumn("unused", "number"))
    ops = (
        o.CheckFinite((0,), allow_nan=True),
        o.Impute((0,), (3,), (2.0,)),
        o.SubDiv((3,), (4,), (1.0,), (4.0,)),
        o.OneHot(1, (5, 6), (0.0, 1.0), (0, 1), None, "error"),
        o.Linear((4, 5, 6), (7,), np.array([[2.0, 1.0, -1.0]]), (0.5,)),
        o.BinaryProba(7, (8, 9), "logistic"),
    )
    head = o.Classify(("no", "yes"), "<U3", "positive", (7,), (8, 9))
    return Graph(inputs, ops, head, 10, "classification")


def test_interpreter_computes_the_documented_formulas():
    g = _graph()
    x = np.array([[5.0, 0.0, 9.0], [np.nan, 1.0, 9.0]])
    out, status, _ = interpret.run(g, x)
    assert status.tolist() == [0, 0]
    d0 = 2 * (5 - 1) / 4 + 1 + 0.5
    d1 = 2 * (2 - 1) / 4 - 1 + 0.5
    assert out[:, 3].tolist() == [d0, d1]
    assert out[:, 0].tolist() == [1.0, 0.0]
    np.testing.assert_allclose(out[:, 2], 1 / (1 + np.exp(-np.array([d0, d1]))), rtol=1e-15)


def test_interpreter_reports_errors_per_row_with_the_slot():
    g = _graph()
    x = np.array([[np.inf, 0.0, 0.0], [1.0, -1.0, 0.0], [1.0, np.nan, 0.0], [1.0, 0.0, 0.0]])
    out, status, detail = interpret.run(g, x)
    assert status.tolist() == [errors.E_INFINITE_VALUE, errors.E_UNKNOWN_CATEGORY,
                               errors.E_UNKNOWN_CATEGORY, 0]
    assert detail[:3].tolist() == [0, 1, 1]
    assert np.isnan(out[:3]).all() and not np.isnan(out[3]).any()


def test_serialization_round_trips_exactly():
    g = _graph()
    g2 = serialize.from_dict(json.loads(json.dumps(serialize.to_dict(g))))
    x = np.array([[0.25, 1.0, 0.0]])
    assert np.array_equal(interpret.run(g, x)[0], interpret.run(g2, x)[0])
    assert g2.inputs == g.inputs


def test_check_rejects_a_slot_written_twice():
    g = _graph()
    bad = Graph(g.inputs, g.ops + (o.Impute((0,), (3,), (1.0,)),), g.head, 10, g.task)
    with pytest.raises(AssertionError, match="rewrites slot 3"):
        bad.check()


def test_dependencies_blame_inputs_and_find_unused_columns():
    g = _graph()
    assert blame(g)[4] == 0 and blame(g)[6] == 1
    assert used_inputs(g) == {0, 1}
