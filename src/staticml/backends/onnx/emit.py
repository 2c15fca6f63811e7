"""The scratchpad the ONNX backend writes into: nodes, constants and where each slot lives.

The IR is a register file of per-row scalars; ONNX is a graph of ``[N, k]`` tensors. The
``Emitter`` bridges the two: every op's result is one ``[N, len(dst)]`` double tensor, and
``slots`` remembers, for each IR slot, which tensor and column holds it. Reading a set of
slots then costs a ``Gather`` per contiguous run (or nothing when the slots are exactly one
tensor), so a ``ColumnTransformer``'s selection and concatenation stay almost free here too.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from onnx import NodeProto, TensorProto, helper, numpy_helper

ML_DOMAIN = "ai.onnx.ml"


class Emitter:
    """Collects nodes and initializers; maps IR slots to ``(tensor, column)``."""

    def __init__(self, input_name: str, n_inputs: int) -> None:
        self.nodes: list[NodeProto] = []
        self.initializers: list[TensorProto] = []
        self.slots: dict[int, tuple[str, int]] = {i: (input_name, i) for i in range(n_inputs)}
        self.width: dict[str, int] = {input_name: n_inputs}
        self._count = 0
        self._columns: dict[tuple[int, ...], str] = {}

    def fresh(self, hint: str) -> str:
        self._count += 1
        return f"{hint}_{self._count}"

    def const(self, value: Any, dtype: Any = np.float64, hint: str = "c") -> str:
        """An initializer holding ``value`` (exact: doubles are stored as raw bytes)."""
        name = self.fresh(hint)
        self.initializers.append(numpy_helper.from_array(np.asarray(value, dtype=dtype), name))
        return name

    def op(self, op_type: str, inputs: Sequence[str], *, out: str | None = None,
           domain: str | None = None, **attrs: Any) -> str:
        """Append one single-output node and return its output name."""
        name = out or self.fresh(op_type.lower())
        self.nodes.append(helper.make_node(op_type, list(inputs), [name], name=f"n_{name}",
                                           domain=domain, **attrs))
        return name

    def cast(self, x: str, to: int) -> str:
        return self.op("Cast", [x], to=to)

    def bind(self, tensor: str, dst: Sequence[int]) -> None:
        """Record that column ``j`` of ``tensor`` holds slot ``dst[j]``."""
        self.width[tensor] = len(dst)
        for j, s in enumerate(dst):
            self.slots[s] = (tensor, j)

    def columns(self, slots: Sequence[int]) -> str:
        """A ``[N, len(slots)]`` tensor holding ``slots`` in order (cached per slot tuple)."""
        key = tuple(slots)
        if key in self._columns:
            return self._columns[key]
        runs: list[tuple[str, list[int]]] = []
        for s in key:
            tensor, col = self.slots[s]
            if runs and runs[-1][0] == tensor:
                runs[-1][1].append(col)
            else:
                runs.append((tensor, [col]))
        parts = []
        for tensor, cols in runs:
            if cols == list(range(self.width[tensor])):
                parts.append(tensor)
            else:
                parts.append(self.op("Gather", [tensor, self.const(cols, np.int64, "cols")],
                                     axis=1))
        result = parts[0] if len(parts) == 1 else self.op("Concat", parts, axis=1)
        self._columns[key] = result
        return result

    def where_nan(self, x: str) -> str:
        return self.op("IsNaN", [x])

    def select(self, cond: str, yes: str, no: str) -> str:
        return self.op("Where", [cond, yes, no])

    def clip(self, x: str, lo: float, hi: float) -> str:
        """``np.clip`` with NaN kept NaN (ONNX ``Clip``/``Max`` leave NaN to the kernel)."""
        lo_c, hi_c = self.const(lo), self.const(hi)
        x = self.select(self.op("Less", [x, lo_c]), lo_c, x)
        return self.select(self.op("Greater", [x, hi_c]), hi_c, x)

    def reduce(self, kind: str, x: str) -> str:
        """``ReduceSum``/``ReduceMax`` over columns, keeping ``[N, 1]``."""
        return self.op(kind, [x, self.const([1], np.int64, "axes")], keepdims=1)


DOUBLE = TensorProto.DOUBLE
FLOAT = TensorProto.FLOAT
