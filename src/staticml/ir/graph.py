"""The whole program (inputs, ops, head) and the builder frontends use to write it."""

from __future__ import annotations

from dataclasses import dataclass, field

from .ops import Head, InputColumn, Op, Slots, head_reads, op_reads, op_writes


@dataclass(frozen=True, eq=False)
class Graph:
    """A compiled model: slot ``i < len(inputs)`` is input ``i``; ops run in order."""

    inputs: tuple[InputColumn, ...]
    ops: tuple[Op, ...]
    head: Head
    n_slots: int
    task: str  # "classification" | "regression"

    @property
    def n_inputs(self) -> int:
        return len(self.inputs)

    def check(self) -> None:
        """Validate SSA form: each slot written once, read only after it is written."""
        written = set(range(self.n_inputs))
        for k, op in enumerate(self.ops):
            for s in op_reads(op):
                if s not in written:
                    raise AssertionError(f"op {k} ({type(op).__name__}) reads unwritten slot {s}")
            for s in op_writes(op):
                if s in written or not 0 <= s < self.n_slots:
                    raise AssertionError(f"op {k} ({type(op).__name__}) rewrites slot {s}")
                written.add(s)
        for s in head_reads(self.head):
            if s not in written:
                raise AssertionError(f"head reads unwritten slot {s}")


@dataclass
class Builder:
    """Mutable scratchpad for frontends: allocates slots, records ops and string codes.

    Vocabularies grow as encoders and imputers name strings (``code``), so a string
    column's vocabulary is exactly the strings the model distinguishes.
    """

    inputs: list[InputColumn]
    ops: list[Op] = field(default_factory=list)
    vocab: dict[int, dict[str, int]] = field(default_factory=dict)
    n_slots: int = 0
    # Which input column each slot carries codes for (string columns only).
    code_of_slot: dict[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.n_slots = len(self.inputs)
        for i, col in enumerate(self.inputs):
            if col.dtype == "string":
                self.vocab[i] = {s: k for k, s in enumerate(col.vocabulary)}
                self.code_of_slot[i] = i

    def alloc(self, n: int) -> Slots:
        start = self.n_slots
        self.n_slots += n
        return tuple(range(start, start + n))

    def emit(self, op: Op) -> None:
        self.ops.append(op)

    def is_string(self, slot: int) -> bool:
        return slot in self.code_of_slot

    def code(self, slot: int, value: str) -> int:
        """Code of ``value`` in the vocabulary of the string column behind ``slot``."""
        table = self.vocab[self.code_of_slot[slot]]
        if value not in table:
            table[value] = len(table)
        return table[value]

    def alias_codes(self, src: int, dst: int) -> None:
        """Mark ``dst`` as holding the same kind of codes as ``src`` (e.g. after imputing)."""
        if src in self.code_of_slot:
            self.code_of_slot[dst] = self.code_of_slot[src]

    def finish(self, head: Head, task: str) -> Graph:
        inputs = tuple(
            InputColumn(c.name, c.dtype, tuple(self.vocab[i]) if c.dtype == "string" else ())
            for i, c in enumerate(self.inputs)
        )
        graph = Graph(inputs, tuple(self.ops), head, self.n_slots, task)
        graph.check()
        return graph
