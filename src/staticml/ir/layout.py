"""The output row every backend writes, so Python, C, Java and wasm agree on one layout.

Classifier: ``[label_index, proba_0..proba_k-1 (if any), decision_0..decision_m-1 (if any),
score_samples (outlier detectors)]``.
Regressor:  ``[value_0..value_t-1]``.
"""

from __future__ import annotations

from dataclasses import dataclass

from .ops import Classify, Head


@dataclass(frozen=True)
class OutputLayout:
    n_outputs: int
    proba: slice | None
    decision: slice | None
    values: slice | None
    scores: slice | None = None


def output_layout(head: Head) -> OutputLayout:
    if isinstance(head, Classify):
        k = len(head.proba) if head.proba else 0
        m = len(head.decision) if head.has_decision_function else 0
        s = len(head.score_samples) if head.score_samples else 0
        proba = slice(1, 1 + k) if k else None
        decision = slice(1 + k, 1 + k + m) if m else None
        scores = slice(1 + k + m, 1 + k + m + s) if s else None
        return OutputLayout(1 + k + m + s, proba, decision, None, scores)
    n = len(head.values)
    return OutputLayout(n, None, None, slice(0, n))
