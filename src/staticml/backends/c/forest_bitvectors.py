"""Leaf bitvectors for blocks of rows through a forest of small trees (QuickScorer).

The lock-step walk (forest_layout.py) pays one step per level of a tree's deepest path for
every row, so ragged leaf-wise trees (LightGBM, HistGradientBoosting) waste more than half
their steps. QuickScorer (Lucchese et al., SIGIR 2015; its vectorised form, SIGIR 2016)
visits the *failed* nodes instead, feature by feature: each tree keeps a word of its leaves,
left to right, all set; a node whose test sends the row right clears the bits of its left
subtree's leaves; the row's leaf is then the lowest bit still set. With the nodes of each
feature sorted by threshold, a row's failed nodes are a prefix of the feature's list, so the
scan streams through memory and stops at the first node every row of the block passes.

Exactness: a node fails exactly when the walk turns right, ``!(x <= t)``, on the same
rewritten copy of the feature the walk reads (see forest_layout.py: NaN is -inf in one copy
and stays NaN in the other, which fails every node). Leaves are added tree by tree in the
original order, so sums are bit-identical to the walks'.

For one row the scan loses to the walk (measured on bench/trees.py: one row fails about
half of all internal nodes, 2,242 for GradientBoosting's 1,216 walk steps, 6,868 for
XGBoost's 3,072, 7,561 for LightGBM's 6,816; the scalar scan took 2,654 / 5,756 / 6,073 ns
against the walk's 1,323 / 3,186 / 5,183; scanning first and clearing after: 8,704 on
LightGBM). In a block, one threshold load and compare serve 16 rows (SM_BV_ROWS): C ns/row
of NAME_predict_matrix on bench/trees.py's models, walk -> bitvectors, GradientBoosting
1,186 -> 693, HistGradientBoosting 1,705 -> 772, XGBoost 2,690 -> 1,772, LightGBM 4,240 ->
1,830 (AVX2). Along the way: 8 rows per scan instead of 16 were 1.1-1.3x slower (the scan
of a feature runs to the largest prefix among the rows, so per row it is shorter with more
rows); AVX-512 (8 rows per vector, mask registers) no faster than AVX2 on Zen 4; the leaf
adds one row at a time, or 16 rows' sums kept in an array, cost 0.6-1.8 us a row (each add
waited for the previous one): now 4 rows' sums in registers.

Only for trees of at most 64 leaves (one 64-bit word) on double nodes, on x86-64 (the
kernels use SSE2/AVX2 intrinsics; elsewhere SM_BV_BLOCK is the walk). CHUNK trees are
scanned at a time so that their 16 rows' words (16 KiB) stay in L1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .forest_layout import FastForest

MAX_LEAVES = 64
CHUNK = 128  # SM_BV_CHUNK: trees whose words are scanned together (tree ids fit uint16)


@dataclass(frozen=True)
class Bitvectors:
    thr: np.ndarray         # float64 per internal node, sorted by (chunk, copy, threshold)
    tree: np.ndarray        # uint16 per internal node: its tree within its chunk
    mask: np.ndarray        # uint64 per internal node: clears its left subtree's leaves
    copy_end: np.ndarray    # int32 per (chunk, feature copy): end of its run of nodes
    leaf_start: np.ndarray  # int32 per tree: its first entry in leaf_node
    leaf_node: np.ndarray   # uint32: the FastForest node of each leaf, trees left to right


def bitvectors(f: FastForest) -> Bitvectors | None:
    """The bitvector tables of ``f``, or None when a tree has more than 64 leaves."""
    n_trees = len(f.tree_depth)
    if n_trees == 0 or np.isnan(f.thr).any():
        return None
    nodes: list[int] = []
    trees: list[int] = []
    masks: list[int] = []
    leaves: list[int] = []
    leaf_start: list[int] = []
    for t in range(n_trees):
        leaf_start.append(len(leaves))
        first = len(leaves)
        # Depth first, left before right, so leaves get their left-to-right numbers; when a
        # node's left subtree is done, its leaves are [lo, hi) and its mask clears them.
        stack: list[tuple[int, int]] = [(int(f.roots[t]), -1)]
        while stack:
            i, lo = stack.pop()
            left = int(f.left[i])
            if left == i:  # a leaf points to itself
                leaves.append(i)
                if len(leaves) - first > MAX_LEAVES:
                    return None
            elif lo < 0:
                stack += [(i, len(leaves) - first), (left, -1)]
            else:
                hi = len(leaves) - first
                nodes.append(i)
                trees.append(t)
                masks.append(~((1 << hi) - (1 << lo)) & 0xFFFF_FFFF_FFFF_FFFF)
                stack.append((left + 1, -1))
    node = np.asarray(nodes, dtype=np.int64)
    tree = np.asarray(trees, dtype=np.int64)
    copy = f.feat[node].astype(np.int64)
    thr = f.thr[node]
    n_copies = 2 * len(f.features)
    run = tree // CHUNK * n_copies + copy  # (chunk, copy) runs in order
    order = np.lexsort((thr, run))
    n_runs = (n_trees + CHUNK - 1) // CHUNK * n_copies
    return Bitvectors(
        thr=thr[order].astype(np.float64),
        tree=(tree[order] % CHUNK).astype(np.uint16),
        mask=np.asarray(masks, dtype=np.uint64)[order],
        copy_end=np.searchsorted(run[order], np.arange(1, n_runs + 1)).astype(np.int32),
        leaf_start=np.asarray(leaf_start, dtype=np.int32),
        leaf_node=np.asarray(leaves, dtype=np.uint32))
