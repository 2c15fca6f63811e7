"""Which input columns each slot derives from.

Used to name the input column behind a runtime error (a NaN reaching LogisticRegression
through a scaler is reported against the column the user passed) and to tell which inputs
a model actually uses.
"""

from __future__ import annotations

from ..ir.graph import Graph
from ..ir.ops import (Elementwise, Impute, Linear, MissingIndicator, MulAdd, SubDiv, head_reads,
                      op_reads, op_writes)

_ELEMENTWISE = (Impute, MissingIndicator, SubDiv, MulAdd, Elementwise)


def slot_sources(graph: Graph) -> list[frozenset[int]]:
    """For every slot, the set of input columns whose value can change it."""
    deps: list[frozenset[int]] = [frozenset()] * graph.n_slots
    for i in range(graph.n_inputs):
        deps[i] = frozenset((i,))
    for op in graph.ops:
        reads, writes = op_reads(op), op_writes(op)
        if isinstance(op, Linear):
            # A zero coefficient does not make the output depend on that input.
            for j, d in enumerate(writes):
                deps[d] = frozenset().union(
                    *(deps[s] for s, w in zip(reads, op.coef[j]) if w != 0.0))
            continue
        if isinstance(op, _ELEMENTWISE):  # slot i maps to slot i
            for s, d in zip(reads, writes):
                deps[d] = deps[s]
            continue
        union = frozenset().union(*(deps[s] for s in reads))
        for d in writes:
            deps[d] = union
    return deps


def blame(graph: Graph) -> list[int]:
    """The first input column each slot derives from, or -1 (a constant)."""
    return [min(d) if d else -1 for d in slot_sources(graph)]


def used_inputs(graph: Graph) -> set[int]:
    """Input columns the outputs (or an input check) depend on."""
    deps = slot_sources(graph)
    used: set[int] = set()
    for s in head_reads(graph.head):
        used |= deps[s]
    return used
