"""Assemble a TreeEnsemble op from per-tree arrays (what every tree frontend produces)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .ops import MISSING_NAN, Slots, TreeEnsemble


@dataclass
class Tree:
    """One tree with local node indices; leaves have ``feature == -1``.

    ``categories[n]`` (categorical nodes only) lists the integer categories that go left.
    ``value`` is ``(n_nodes, width)``; ``target`` as in ``TreeEnsemble``.
    """

    feature: np.ndarray
    threshold: np.ndarray
    left: np.ndarray
    right: np.ndarray
    default_left: np.ndarray
    value: np.ndarray
    target: int = -1
    missing_type: np.ndarray | None = None
    categories: Sequence[Sequence[int] | None] | None = None


def assemble(trees: Sequence[Tree], src: Slots, dst: Slots, base: Sequence[float], *,
             input_float32: bool = False, accumulate_float32: bool = False,
             average: bool = False, note: str = "") -> TreeEnsemble:
    offsets = np.cumsum([0] + [len(t.feature) for t in trees])
    n = int(offsets[-1])
    width = max((t.value.shape[1] for t in trees), default=1)
    feature = np.full(n, -1, dtype=np.int32)
    threshold = np.zeros(n)
    left = np.zeros(n, dtype=np.int32)
    right = np.zeros(n, dtype=np.int32)
    default_left = np.zeros(n, dtype=bool)
    missing_type = np.full(n, MISSING_NAN, dtype=np.int8)
    cat_node = np.full(n, -1, dtype=np.int32)
    value = np.zeros((n, width))
    cat_sets: list[Sequence[int]] = []
    for t, off in zip(trees, offsets[:-1]):
        k = len(t.feature)
        sl = slice(off, off + k)
        feature[sl] = t.feature
        is_leaf = np.asarray(t.feature) < 0
        threshold[sl] = np.where(is_leaf, 0.0, t.threshold)
        left[sl] = np.where(is_leaf, 0, np.asarray(t.left) + off)
        right[sl] = np.where(is_leaf, 0, np.asarray(t.right) + off)
        default_left[sl] = t.default_left
        if t.missing_type is not None:
            missing_type[sl] = t.missing_type
        value[sl, : t.value.shape[1]] = t.value
        if t.categories is not None:
            for j, cats in enumerate(t.categories):
                if cats is not None and not is_leaf[j]:
                    cat_node[off + j] = len(cat_sets)
                    cat_sets.append(cats)
    words = max((max(c, default=0) // 32 + 1 for c in cat_sets), default=1)
    cat_bits = np.zeros((max(len(cat_sets), 1), words), dtype=np.uint32)
    for i, cats in enumerate(cat_sets):
        for c in cats:
            cat_bits[i, c // 32] |= np.uint32(1) << np.uint32(c % 32)
    return TreeEnsemble(
        src=tuple(src), dst=tuple(dst), feature=feature, threshold=threshold, left=left,
        right=right, default_left=default_left, missing_type=missing_type, cat_node=cat_node,
        cat_bits=cat_bits, value=value, roots=np.asarray(offsets[:-1], dtype=np.int32),
        target=np.asarray([t.target for t in trees], dtype=np.int32),
        base=tuple(float(b) for b in base), input_float32=input_float32,
        accumulate_float32=accumulate_float32, average=average, note=note)
