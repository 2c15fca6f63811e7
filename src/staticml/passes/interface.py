"""Passes that change what the application passes in, not what the model computes.

``drop_unused`` removes input columns no output depends on (``build --drop-unused``): the
application stops collecting a feature the model ignores. ``with_fallbacks`` bakes a
substitute value for a column that may be unavailable in production (``build
--fallback``): a missing value in that column (NaN/NULL, or the column absent in Python)
is replaced by the substitute before anything reads it.

Both rewrite slot numbers only; every op keeps its numbers, so parity is unaffected by
construction and still checked after the pass.
"""

from __future__ import annotations

import dataclasses

from ..ir import ops as o
from ..ir.graph import Graph
from .dependencies import used_inputs


def _remap(value, mapping: dict[int, int]):
    if isinstance(value, int):
        return mapping.get(value, value)
    return tuple(mapping.get(s, s) for s in value)


def remap_reads(op: o.Op, mapping: dict[int, int]) -> o.Op:
    """``op`` reading ``mapping[s]`` instead of each slot ``s`` it reads."""
    if isinstance(op, o.Constant) or not any(s in mapping for s in o.op_reads(op)):
        return op
    return dataclasses.replace(op, src=_remap(op.src, mapping))


def remap_slots(op: o.Op, mapping: dict[int, int]) -> o.Op:
    """``op`` with every slot it reads or writes renumbered."""
    changes = {"src": _remap(op.src, mapping)}
    if getattr(op, "dst", None) is not None:
        changes["dst"] = _remap(op.dst, mapping)
    return dataclasses.replace(op, **changes)


def remap_head(head: o.Head, mapping: dict[int, int]) -> o.Head:
    if isinstance(head, o.Regress):
        return dataclasses.replace(head, values=_remap(head.values, mapping))
    return dataclasses.replace(
        head, decision=_remap(head.decision, mapping),
        proba=None if head.proba is None else _remap(head.proba, mapping),
        score_samples=None if head.score_samples is None else _remap(head.score_samples,
                                                                     mapping))


def drop_unused(graph: Graph, stand_in: dict[int, float] | None = None
                ) -> tuple[Graph, list[str]]:
    """The graph without the inputs no output depends on, and the dropped names.

    A dropped input's slot is still read by ops whose result does not matter (a zero
    coefficient, an input check); a ``Constant`` writes ``stand_in[i]`` (default 0.0, or the
    first category's code) there, a value every check accepts.
    """
    used = sorted(used_inputs(graph))
    dropped = [i for i in range(graph.n_inputs) if i not in used]
    if not dropped:
        return graph, []
    if not used:
        raise ValueError("no input influences the outputs: nothing would be left to pass")
    mapping = {old: new for new, old in enumerate(used)}
    mapping.update({old: len(used) + j for j, old in enumerate(dropped)})
    stand_in = stand_in or {}
    values = tuple(float(stand_in.get(i, 0.0)) for i in dropped)
    names = [graph.inputs[i].name for i in dropped]
    const = o.Constant(dst=tuple(mapping[i] for i in dropped), values=values,
                       note="stand-ins for dropped inputs: " + ", ".join(names))
    ops = (const, *(remap_slots(op, mapping) for op in graph.ops))
    new = Graph(tuple(graph.inputs[i] for i in used), ops, remap_head(graph.head, mapping),
                graph.n_slots, graph.task)
    new.check()
    return new, names


def with_fallbacks(graph: Graph, fallbacks: dict[int, float]) -> Graph:
    """``fallbacks[i]`` replaces a missing value of input ``i`` before any op reads it."""
    if not fallbacks:
        return graph
    mapping: dict[int, int] = {}
    first: list[o.Op] = []
    n = graph.n_slots
    for i, value in sorted(fallbacks.items()):
        mapping[i] = n
        first.append(o.Impute(src=(i,), dst=(n,), fill=(float(value),),
                              note=f"fallback for {graph.inputs[i].name!r}"))
        n += 1
    ops = (*first, *(remap_reads(op, mapping) for op in graph.ops))
    new = Graph(graph.inputs, ops, remap_head(graph.head, mapping), n, graph.task)
    new.check()
    return new
