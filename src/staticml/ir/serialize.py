"""IR <-> JSON, so a bundle carries its own program (for ``inspect``, ``verify`` and rebuilds)."""

from __future__ import annotations

import base64
import dataclasses
import typing
import math
from typing import Any

import numpy as np

from . import ops as o
from .graph import Graph

IR_VERSION = 1
_OPS = {cls.__name__: cls for cls in typing.get_args(o.Op)}
_HEADS = {"Classify": o.Classify, "Regress": o.Regress}


def _enc(v: Any) -> Any:
    if isinstance(v, np.ndarray):  # exact bytes, little-endian, base64: compact and fast
        arr = np.ascontiguousarray(v, dtype=v.dtype.newbyteorder("<"))
        return {"ndarray": base64.b64encode(arr.tobytes()).decode("ascii"),
                "dtype": arr.dtype.str, "shape": list(v.shape)}
    if isinstance(v, float) and not math.isfinite(v):
        return {"float": repr(v)}
    if isinstance(v, (tuple, list)):
        return [_enc(x) for x in v]
    return v


def _dec(v: Any) -> Any:
    if isinstance(v, dict) and "ndarray" in v:
        data = base64.b64decode(v["ndarray"])
        return np.frombuffer(data, dtype=np.dtype(v["dtype"])).reshape(v["shape"]).copy()
    if isinstance(v, dict) and "float" in v:
        return float(v["float"])
    if isinstance(v, list):
        return tuple(_dec(x) for x in v)
    return v


def _fields(obj: Any) -> dict:
    return {f.name: _enc(getattr(obj, f.name)) for f in dataclasses.fields(obj)}


def to_dict(graph: Graph) -> dict:
    return {
        "ir_version": IR_VERSION,
        "task": graph.task,
        "n_slots": graph.n_slots,
        "inputs": [_fields(c) for c in graph.inputs],
        "ops": [{"op": type(op).__name__, **_fields(op)} for op in graph.ops],
        "head": {"head": type(graph.head).__name__, **_fields(graph.head)},
    }


def from_dict(data: dict) -> Graph:
    if data.get("ir_version") != IR_VERSION:
        raise ValueError(f"IR version {data.get('ir_version')} is not {IR_VERSION}")
    inputs = tuple(o.InputColumn(c["name"], c["dtype"], tuple(c["vocabulary"]))
                   for c in data["inputs"])
    ops = []
    for d in data["ops"]:
        d = dict(d)
        cls = _OPS[d.pop("op")]
        ops.append(cls(**{k: _dec(v) for k, v in d.items()}))
    h = dict(data["head"])
    head = _HEADS[h.pop("head")](**{k: _dec(v) for k, v in h.items()})
    graph = Graph(inputs, tuple(ops), head, int(data["n_slots"]), data["task"])
    graph.check()
    return graph
