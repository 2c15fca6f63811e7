"""ONNX backend: print a Graph as one ONNX model with the C entry point's interface.

Input ``x``: float64 ``[N, n_inputs]``, exactly what ``NAME_predict_matrix`` reads (numbers
as they are, NaN = missing; a string column holds its vocabulary code, -1 = unseen, NaN =
missing; the vocabularies are in the ``schema_json`` metadata entry). Output ``out``:
float64 ``[N, n_outputs]`` in the row layout of ``ir/layout.py``.

Every op is lowered in double precision with the formula of its docstring, in the same
order of operations, so most results are bit-identical; what ONNX cannot express exactly
is listed by ``known_deviations`` and measured, never assumed (tests/targets/test_onnx.py).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper

from ... import __version__
from ...ir import ops as o
from ...ir.graph import Graph
from ...ir.layout import output_layout
from .emit import DOUBLE, ML_DOMAIN, Emitter
from .trees import lower_tree_ensemble

OPSET = 21  # ai.onnx: onnx 1.16, the first with ai.onnx.ml 5 (TreeEnsemble)
ML_OPSET = 5
IR_VERSION = 10
INPUT, OUTPUT = "x", "out"
# Same constant as sm_runtime.h: 2^x is computed as e^(x ln 2).
LN2 = float.fromhex("0x1.62e42fefa39efp-1")


def _sigmoid(e: Emitter, x: str) -> str:
    """``1 / (1 + exp(-x))``, within 2-4 ulp of the correctly rounded logistic.

    onnxruntime's double ``Sigmoid`` kernel loses the relative precision of small results
    (thousands of ulp below x = -10, and 0.0 below about -36), so it is not used.
    """
    one = e.const(1.0)
    return e.op("Div", [one, e.op("Add", [one, e.op("Exp", [e.op("Neg", [x])])])])


def _link(e: Emitter, fn: str, d: str) -> str:
    if fn == "logistic":
        return _sigmoid(e, d)
    if fn == "modified_huber":
        return e.op("Div", [e.op("Add", [e.clip(d, -1.0, 1.0), e.const(1.0)]), e.const(2.0)])
    return d


def _missing(e: Emitter, x: str, missing: float) -> str:
    return e.where_nan(x) if math.isnan(missing) else e.op("Equal", [x, e.const(missing)])


def _lookup(e: Emitter, x: str, keys: tuple[float, ...], table: list[float]) -> str:
    """``table[k]`` where ``x == keys[k]`` (exact), else ``table[len(keys)]``: ``[N, 1]``.

    The equality matrix gets a trailing column of 0.5, so ``ArgMax`` (first maximum) finds
    the hit, or that column when nothing matched; NaN matches no key, as in the IR.
    """
    hits = e.cast(e.op("Equal", [x, e.const(keys)]), DOUBLE)
    padded = e.op("Pad", [hits, e.const([0, 0, 0, 1], np.int64, "pads"), e.const(0.5)])
    idx = e.op("ArgMax", [padded], axis=1, keepdims=1)
    return e.op("Gather", [e.const(table), idx], axis=0)


def _one_hot(e: Emitter, op: o.OneHot) -> str:
    x = e.columns((op.src,))
    unknown = op.on_unknown if isinstance(op.on_unknown, int) else -1
    # "error": the native artifact refuses the row; here it gets all zeros.
    pos = _lookup(e, x, op.keys, [float(p) for p in op.position] + [float(unknown)])
    if op.missing_position is not None:
        pos = e.select(e.where_nan(x), e.const([float(op.missing_position)]), pos)
    slots = e.const(np.arange(len(op.dst), dtype=np.float64))
    return e.cast(e.op("Equal", [pos, slots]), DOUBLE)


def _ordinal(e: Emitter, op: o.Ordinal) -> str:
    x = e.columns((op.src,))
    unknown = np.nan if op.unknown_value is None else op.unknown_value
    y = _lookup(e, x, op.keys, list(op.values) + [unknown])
    if op.missing_value is not None:
        y = e.select(e.where_nan(x), e.const([op.missing_value]), y)
    return y


def _lower(e: Emitter, op: o.Op) -> str | None:
    """The ``[N, len(dst)]`` tensor an op writes (None for checks)."""
    if isinstance(op, o.CheckFinite):
        return None  # ONNX cannot refuse a row; see runtime/onnx.py
    if isinstance(op, o.Constant):  # the same values on every row: [N, k]
        n = e.op("Shape", [INPUT], start=0, end=1)
        shape = e.op("Concat", [n, e.const([len(op.dst)], np.int64, "k")], axis=0)
        return e.op("Expand", [e.const(op.values), shape])
    if isinstance(op, o.OneHot):
        return _one_hot(e, op)
    if isinstance(op, o.Ordinal):
        return _ordinal(e, op)
    if isinstance(op, o.TreeEnsemble):
        return lower_tree_ensemble(e, op)
    x = e.columns(o.op_reads(op))
    if isinstance(op, o.Impute):
        return e.select(_missing(e, x, op.missing), e.const(op.fill), x)
    if isinstance(op, o.MissingIndicator):
        return e.cast(_missing(e, x, op.missing), DOUBLE)
    if isinstance(op, o.SubDiv):
        return e.op("Div", [e.op("Sub", [x, e.const(op.sub)]), e.const(op.div)])
    if isinstance(op, o.MulAdd):
        y = e.op("Add", [e.op("Mul", [x, e.const(op.mul)]), e.const(op.add)])
        return e.clip(y, *op.clip) if op.clip is not None else y
    if isinstance(op, o.Linear):
        y = e.op("MatMul", [x, e.const(np.asarray(op.coef, dtype=np.float64).T)])
        return e.op("Add", [y, e.const(op.intercept)]) if len(op.intercept) else y
    if isinstance(op, o.Elementwise):
        return _activation(e, op.fn, x)
    if isinstance(op, o.Softmax):
        z = e.op("Exp", [e.op("Sub", [x, e.reduce("ReduceMax", x)])])
        return e.op("Div", [z, e.reduce("ReduceSum", z)])
    if isinstance(op, o.BinaryProba):
        p = _link(e, op.fn, x)
        return e.op("Concat", [e.op("Sub", [e.const(1.0), p]), p], axis=1)
    if isinstance(op, o.OvrNormalize):
        p = _link(e, op.fn, x)
        s = e.reduce("ReduceSum", p)
        zero = e.op("Equal", [s, e.const(0.0)])
        p = e.select(zero, e.const(1.0), p)
        s = e.select(zero, e.const(float(len(op.src))), s)
        return e.op("Div", [p, s])
    raise TypeError(f"the ONNX backend has no rule for {type(op).__name__}")


def _activation(e: Emitter, fn: str, x: str) -> str:
    simple = {"identity": "Identity", "relu": "Relu", "tanh": "Tanh", "exp": "Exp",
              "negate": "Neg"}
    if fn == "logistic":
        return _sigmoid(e, x)
    if fn == "exp2":
        return e.op("Exp", [e.op("Mul", [x, e.const(LN2)])])
    return e.op(simple[fn], [x])


def _head(e: Emitter, graph: Graph) -> None:
    """Write ``out``: the output row layout of ir/layout.py."""
    head, lay = graph.head, output_layout(graph.head)
    if isinstance(head, o.Regress):
        e.op("Identity", [e.columns(head.values)], out=OUTPUT)
        return
    dec = e.columns(head.decision)
    proba = e.columns(head.proba) if head.proba else ""
    if head.rule == "positive":
        label = e.op("Greater", [e.columns(head.decision[:1]), e.const(0.0)])
    elif head.rule == "nonnegative":
        label = e.op("GreaterOrEqual", [e.columns(head.decision[:1]), e.const(0.0)])
    elif head.rule == "proba_gt_half":
        label = e.op("Greater", [e.columns(head.proba[1:2]), e.const(0.5)])
    else:  # argmax / proba_argmax: the first maximum, as numpy
        label = e.op("ArgMax", [dec if head.rule == "argmax" else proba], axis=1, keepdims=1,
                     select_last_index=0)
    parts = [e.cast(label, DOUBLE)]
    if lay.proba is not None:
        parts.append(proba)
    if lay.decision is not None:
        parts.append(dec)
    if lay.scores is not None:
        parts.append(e.columns(head.score_samples))
    e.op("Concat", parts, axis=1, out=OUTPUT)


def schema_json(graph: Graph, name: str) -> str:
    """The input schema in the same JSON as the C library's ``NAME_schema_json()``."""
    inputs = [{"name": c.name, "dtype": c.dtype, "vocabulary": list(c.vocabulary)}
              for c in graph.inputs]
    return json.dumps({"name": name, "inputs": inputs}, separators=(",", ":"))


def outputs_json(graph: Graph) -> str:
    """The output row layout (slices as [start, stop]) and the class names."""
    lay = output_layout(graph.head)
    rec: dict = {"n_outputs": lay.n_outputs}
    for key in ("proba", "decision", "values", "scores"):
        s = getattr(lay, key)
        rec[key] = [s.start, s.stop] if s is not None else None
    if isinstance(graph.head, o.Classify):
        rec["classes"] = [c.item() if isinstance(c, np.generic) else c for c in graph.head.classes]
    return json.dumps(rec, separators=(",", ":"), default=str)


def render_onnx(graph: Graph, name: str, metadata: dict[str, str]) -> bytes:
    """A serialized ModelProto computing ``graph`` (see the module docstring for the interface).

    ``metadata_props`` holds ``staticml_version``, ``schema_json`` (the vocabularies a user
    needs to encode strings) and ``outputs_json`` (the output row layout and class names);
    ``metadata`` entries are added and take precedence.
    """
    e = Emitter(INPUT, graph.n_inputs)
    for op in graph.ops:
        y = _lower(e, op)
        if y is not None:
            e.bind(y, o.op_writes(op))
    _head(e, graph)
    lay = output_layout(graph.head)
    g = helper.make_graph(
        e.nodes, name, [helper.make_tensor_value_info(INPUT, TensorProto.DOUBLE,
                                                      ["N", graph.n_inputs])],
        [helper.make_tensor_value_info(OUTPUT, TensorProto.DOUBLE, ["N", lay.n_outputs])],
        initializer=e.initializers)
    model = helper.make_model(
        g, opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid(ML_DOMAIN, ML_OPSET)],
        ir_version=IR_VERSION, producer_name="staticml", producer_version=__version__,
        doc_string=f"staticml model {name}: x = float64 [N, {graph.n_inputs}] encoded rows, "
                   f"out = float64 [N, {lay.n_outputs}] output rows")
    props = {"staticml_version": __version__, "schema_json": schema_json(graph, name),
             "outputs_json": outputs_json(graph), **metadata}
    helper.set_model_props(model, props)
    onnx.checker.check_model(model)
    return model.SerializeToString()


def known_deviations(graph: Graph) -> list[str]:
    """Where this graph's ONNX model may differ from the native artifact, and why."""
    kinds = {type(op).__name__: op for op in graph.ops}
    out: list[str] = []
    if "CheckFinite" in kinds or any(
            (isinstance(op, o.OneHot) and op.on_unknown == "error")
            or (isinstance(op, o.Ordinal) and op.unknown_value is None) for op in graph.ops):
        out.append("rows the native artifact refuses (NaN/inf input validation, unknown "
                   "categories) are not refused: ONNX has no per-row error; they get numbers "
                   "(or NaN), and OnnxEngine reports status 0 for every row")
    if "Linear" in kinds:
        out.append("Linear is a MatMul: onnxruntime's summation order (and FMA use) is "
                   "unspecified, so sums may differ from the C's left-to-right sum in the "
                   "last bits")
    fns = {op.fn for op in graph.ops
           if isinstance(op, (o.Elementwise, o.BinaryProba, o.OvrNormalize))}
    if fns & {"tanh", "logistic", "exp", "exp2"} or "Softmax" in kinds:
        out.append("exp and tanh come from onnxruntime's kernels (measured: exp <= 2 ulp, "
                   "tanh <= 7 ulp from correctly rounded; the logistic, 1/(1+exp(-x)), <= 4 ulp) "
                   "where sm_math.h rounds correctly; their vectorised and scalar paths also "
                   "round differently, so a row's last bits can depend on the batch around it")
    if any(isinstance(op, (o.Softmax, o.OvrNormalize)) for op in graph.ops):
        out.append("ReduceSum's order over the classes is onnxruntime's")
    if "TreeEnsemble" in kinds:
        out.append("tree sums are in tree order only on a single-threaded session; onnxruntime "
                   "may add partial sums of tree chunks with several threads")
    if any(isinstance(op, o.TreeEnsemble) and op.accumulate_float32 for op in graph.ops):
        out.append("float32 tree accumulation (XGBoost) materialises one column per tree "
                   "([N, n_trees] doubles) to add them in float32 with a Scan")
    return out


def describe(path: str | Path) -> dict:
    """Statistics for a parity report: opsets, node counts (incl. subgraphs), size."""
    model = onnx.load(str(path))
    counts: dict[str, int] = {}

    def walk(graph: onnx.GraphProto) -> int:
        total = 0
        for node in graph.node:
            key = f"{node.domain}:{node.op_type}" if node.domain else node.op_type
            counts[key] = counts.get(key, 0) + 1
            total += 1
            for attr in node.attribute:
                if attr.type == onnx.AttributeProto.GRAPH:
                    total += walk(attr.g)
        return total

    total = walk(model.graph)
    return {
        "ir_version": model.ir_version,
        "opsets": {(op.domain or "ai.onnx"): op.version for op in model.opset_import},
        "nodes": len(model.graph.node),
        "nodes_with_subgraphs": total,
        "op_types": dict(sorted(counts.items())),
        "initializers": len(model.graph.initializer),
        "bytes": Path(path).stat().st_size,
        "metadata": sorted(p.key for p in model.metadata_props),
    }
