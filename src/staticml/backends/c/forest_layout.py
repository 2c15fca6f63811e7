"""Re-lay a TreeEnsemble for branch-free traversal (the fast C kernel).

The general kernel follows ``left``/``right`` pointers and branches on leaf, NaN, missing
type and categorical tests at every node: ~12 ns per visited node. This layout removes every
branch from the inner loop:

* siblings are adjacent, so ``next = left + !(x <= t)`` (one 16-byte node: threshold,
  feature, left; or an 8-byte rank node, below), integer arithmetic, no branch;
* NaN needs no test: each feature is stored twice per row, once with NaN replaced by -inf
  (read by nodes whose missing values go left: ``-inf <= t`` always holds) and once as is
  (read by nodes whose missing values go right: ``NaN <= t`` is false);
* leaves point to themselves with ``t = +inf``, so every tree can take a fixed number of
  steps (its depth) without testing for leaves;
* LightGBM's per-feature missing types become a one-off rewrite of the row's features
  (None: NaN -> 0; Zero: |x| <= 1e-35f or NaN -> NaN), after which NaN is the only missing
  marker; float32 rounding (scikit-learn, XGBoost) also happens once per feature;
* trees are walked G at a time in lock-step, so G independent loads are in flight. Leaf
  values are still added tree by tree in the original order: the sums are bit-identical;
* leaf-wise trees (LightGBM, HistGradientBoosting) are ragged: a depth-15 tree whose rows
  mostly stop after 5 steps. The one-row kernel walks SM_TREES trees of one row in
  lock-step for ``group_from`` steps, then finishes each walk still moving on its own
  (a loop per lane, one mispredicted exit each). ``group_from`` is the depth by which the
  group's walks are expected to be done but for 1/TAIL_LANES of a lane, with each walk
  turning left or right with probability 1/2 (real rows go deeper: the trees split where
  the data is). Measured with 16-byte nodes and TAIL_LANES = 16 on bench/trees.py (C ns/row,
  one-row kernel) against a fixed lock-step depth K: LightGBM 6,431 / 6,189 / 6,206 / 6,424
  at K = 8 / 9 / 10 / 11, HGB 2,866 / 2,653 / 2,632 / 2,739; this rule picks 9-10 there;
  lock-step to the full depth with a check for "no walk moved" (the previous kernel) was
  7,189 and 3,050-3,270 (see TAIL_LANES for rank nodes). Only
  ragged groups get a tail: those whose trees' expected path is at most RAGGED of the
  group's depth (LightGBM/HGB groups sit at 0.27-0.41, RandomForest depth 10 and XGBoost
  depth 6 at 0.65-1.0). In the batch kernel, where SM_GROUP rows walk one tree, stopping
  early does not help (+9% on LightGBM; the deepest of 16 rows saves only 17% of the
  steps; one check per group at depth 7-11: +2-11%), nor did tails as above per tree
  (+10% LightGBM, +15% HGB), nor refilling lanes (a lane taking the next row as soon as
  its row reached a leaf: 1.5-2x slower, more work per step than it saves; for one row,
  lanes taking the next tree: 1.9x slower). Also tried for one row and not kept: every
  tree walks K steps, then the walks not yet at a leaf are listed and walked in groups of
  16, K' steps at a time, until none is left (LightGBM 5,152 -> 4,642-4,878 ns, HGB 2,231
  -> 2,075 for K, K' = 4-6, 2-4: 7-10%, not worth a third one-row kernel). One row reads
  every node it visits from L2 (LightGBM: 488 KB of nodes): ~5 cycles a step.
* ragged forests are walked one window of WINDOW groups at a time, the window's trees
  sorted by depth (``walk_order``), so the 20 walks of a group end near the same step; the
  window's leaves are added in tree order through ``walk_pos`` (see WINDOW). Tried for
  LightGBM's one-row call and not kept (C ns, bench model, 3,600 with lock-step groups):
  each of 8-20 lanes walking its own list of trees, taking the next root when its walk
  reaches a leaf (7,400-9,600: the refill lengthens every step's dependency chain);
  "threaded" trees, each leaf pointing to the next tree's root so a lane walks its trees
  with the plain step and records a leaf at each step (5,200-5,700: 3,175 steps a row
  instead of 6,760, but a store at a computed address and more spills per step).
* batches through trees of at most 64 leaves (boosting) take leaf bitvectors instead
  (forest_bitvectors.py), whose work per row does not depend on the trees' shapes.
* rank nodes (``rank_nodes``): the walk is bound by loads and integer work per step, not by
  node size while the nodes stay in L2. So each threshold is replaced by its rank among its
  feature's thresholds, and each row's feature by its rank r = #{t < x} (a branch-free
  binary search per feature, once per row): x <= t_i exactly when r <= i. With the feature
  copy in the top bits of both words, one unsigned compare of the row's word with the
  8-byte node word decides (``SM_STEPR``): two loads and three integer ops a step where the
  16-byte node took four loads. Measured (bench/trees.py's models, C ns/row, one-row entry;
  the block walk in brackets): LightGBM 5,130 -> 3,800 (4,130 -> 2,850), HGB 2,250 -> 1,840,
  XGBoost 3,350 -> 2,440 (2,680 -> 2,100), GradientBoosting 1,250 -> 1,300 (1,180 -> 1,160;
  depth-4 trees: the ranking costs about what the shorter steps save). RandomForest's large
  float32 forest keeps its float32 nodes (rank nodes 1,780 vs 1,420-1,530). A feature with more than
  MAX_CUTS thresholds keeps the 16-byte nodes. Tried with rank nodes and not kept: 12 or 24
  walks in lock-step instead of 16 (12: 4% slower, fewer loads in flight; 24: 1.5x slower,
  the walks no longer fit in registers), loading both children before the compare (a
  shorter dependency chain, but 3 loads a step: 16% slower), adding a group's leaves during
  the next group's walk, lock-step tails with a "none moved" check, unfinished walks re-listed
  in groups of 16 (0-7% slower), aligning trees to cache lines (no change).

Ensembles with categorical splits, or whose missing type differs between nodes on the same
feature, keep the general kernel.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...ir.ops import MISSING_NAN, MISSING_NONE, MISSING_ZERO, TreeEnsemble

GROUP = 20  # trees of one row walked in lock-step (SM_TREES in the runtime says why)
LINK_BITS = 21  # float32 nodes: left child in the low bits, 2 * feature + 1 above (sm_node32)
# 8-byte nodes cost two extra integer ops per step (unpacking the link) and save half the
# memory: a loss while 16-byte nodes stay in L2, a win beyond. Measured (bench/trees.py):
# XGBoost 28k nodes (450 KB) +9% slower, GradientBoosting 9k nodes +13% slower; RF 79k
# nodes (1.3 MB) 5-9% faster, the 2000-tree RF 591k nodes (9.4 MB) 2.0x faster.
FLOAT32_NODES_FROM = 65536  # nodes (1 MiB of 16-byte nodes)
RAGGED = 0.6  # groups whose expected path is at most this share of their depth are ragged
# Ragged groups: lock-step until under 1/TAIL_LANES walks are expected to move. 16 with the
# 16-byte nodes; with rank nodes (cheaper steps) 16 / 32 / 64 / 128 measured LightGBM 3,740 /
# 3,690 / 3,680 / 3,710 ns, HGB 1,840 / 1,780 / 1,765 (one-row C entry, bench/trees.py);
# with 20 trees a group, over three copies of each library: LightGBM 3,615-3,685 at 16 ->
# 3,570-3,590 at 64.
# With windows sorted by depth (WINDOW), 64 / 128 / 256 / none (lock-step to the group's
# depth) measured LightGBM 3,470-3,550 / 3,400-3,430 / 3,405-3,435 / 3,420-3,440 ns, HGB
# 1,685-1,695 / 1,650-1,665 / - / 1,645-1,715 (prototype kernel, two copies of each library).
TAIL_LANES = 128
# Ragged forests (a group in tree order is ragged, see RAGGED) may be walked one window of
# WINDOW groups (WINDOW * GROUP trees) at a time, each window's trees in order of depth, so
# the walks of a group end near the same step: LightGBM's groups mixed depth-8 and depth-17
# trees, and the short walks idled through the long ones' steps. A window's leaves are then
# added in tree order (the sums stay bit-identical). Measured (bench/trees.py models, one-row
# C entry, min of 6 alternating runs over two copies of each library): LightGBM 3,600 ->
# 3,355 ns, HGB 1,720 -> 1,620; RF, XGBoost and GBR (not ragged: tree order, window 1) the
# same. On a prototype: sorting the whole forest was no faster than windows of 100 or 200
# trees; windows of 60 kept less (3,570-3,600); adding all leaves after the whole walk rather
# than per window cost 4-8% (500 dependent adds that no walk hides).
WINDOW = 5
# Windows only pay when sorting shortens the lock-step walks (the sum of group_from) by
# WINDOW_SAVING or more: LightGBM 5,460 -> 5,140 steps (-6%; measured -7%), HGB 2,220 ->
# 2,060 (-7%; measured -6%); a fully grown 100-tree RF (depths 22-29) 1,780 -> 1,780, where
# windows measured 6% slower (3,470-3,580 -> 3,760-3,780 ns: the window's bookkeeping, no
# shorter walks) and which keeps tree order.
WINDOW_SAVING = 0.03
# Feature rewrite modes (applied once per row before the walk).
MODE_PLAIN, MODE_NAN_IS_ZERO, MODE_ZERO_IS_MISSING = 0, 1, 2


@dataclass(frozen=True)
class FastForest:
    thr: np.ndarray          # float64 per node
    feat: np.ndarray         # int32 per node: index into the op's feature list
    left: np.ndarray         # uint32 per node: left child | default_left << 31
    value: np.ndarray        # float64 (n_nodes, width)
    roots: np.ndarray        # int32 per tree, in tree order (batch kernel)
    walk_roots: np.ndarray   # int32: roots in walk order (one-row kernel), padded to a
                             # multiple of GROUP with node 0, the dummy leaf
    walk_pos: np.ndarray     # int32 per tree: its place in its window of walk_roots
    window: int              # groups whose leaves are added together: WINDOW or 1 (tree order)
    group_depth: np.ndarray  # int32 per group of GROUP trees of walk_roots
    group_from: np.ndarray   # int32 per group: lock-step steps before walks finish alone
    tree_depth: np.ndarray   # int32 per real tree
    target: np.ndarray       # int32 per real tree
    features: np.ndarray     # int32: op.src positions used, in feature order
    modes: np.ndarray        # uint8 per feature: MODE_*


def layout(op: TreeEnsemble) -> FastForest | None:
    """The branch-free layout of ``op``, or None when only the general kernel is exact."""
    internal = op.feature >= 0
    if (op.cat_node >= 0).any():
        return None
    modes = np.full(len(op.src), MODE_PLAIN, dtype=np.uint8)
    for f in np.unique(op.feature[internal]):
        types = set(op.missing_type[internal & (op.feature == f)].tolist())
        if len(types) != 1:
            return None
        mt = types.pop()
        modes[f] = {MISSING_NAN: MODE_PLAIN, MISSING_NONE: MODE_NAN_IS_ZERO,
                    MISSING_ZERO: MODE_ZERO_IS_MISSING}[mt]
    width = op.value.shape[1]
    # Node 0 is a shared dummy leaf (value 0) that pads the last group of trees.
    old_ids: list[int] = [-1]
    roots, depths, tails, expected = [], [], [], []
    for root in op.roots:
        r, depth, leaf_mass = _lay_tree(op, int(root), old_ids)
        roots.append(r)
        depths.append(depth)
        tails.append(_unfinished(leaf_mass))
        expected.append(float(np.dot(np.arange(len(leaf_mass)), leaf_mass)))
    old = np.asarray(old_ids, dtype=np.int64)
    n = len(old)
    is_leaf = np.ones(n, dtype=bool)
    is_leaf[1:] = op.feature[old[1:]] < 0
    # Children of new node i are the consecutive pair first_child[i], first_child[i] + 1.
    new_of_old = np.zeros(len(op.feature), dtype=np.int64)
    new_of_old[old[1:]] = np.arange(1, n)
    first_child = np.where(is_leaf, 0, new_of_old[op.left[np.maximum(old, 0)]])
    idx = np.arange(n)
    thr = np.where(is_leaf, np.inf, op.threshold[np.maximum(old, 0)])
    # Each feature appears twice in the row: NaN as -inf (nodes whose missing values go
    # left: -inf <= t always holds) and unchanged (missing goes right: NaN <= t is false).
    # A node reads the copy for its default direction; the walk never tests for NaN.
    dl = np.where(is_leaf, True, op.default_left[np.maximum(old, 0)])
    feat = np.where(is_leaf, 0, 2 * op.feature[np.maximum(old, 0)] + (~dl)).astype(np.int32)
    left = np.where(is_leaf, idx, first_child).astype(np.uint32)
    value = np.where(is_leaf[:, None], op.value[np.maximum(old, 0)], 0.0)
    value[0] = 0.0
    n_trees = len(roots)
    tree_depth = np.asarray(depths, dtype=np.int32)
    walk = np.arange(n_trees)
    walk_roots, group_depth, group_from, ragged = _groups(walk, roots, depths, tails, expected)
    window = 1
    if ragged.any() and WINDOW > 1:  # sort each window by depth, if it pays (see WINDOW)
        by_depth = walk_order(tree_depth, np.asarray(expected, dtype=np.float64))
        groups = _groups(by_depth, roots, depths, tails, expected)
        if groups[2].sum() <= (1.0 - WINDOW_SAVING) * group_from.sum():
            window, walk = WINDOW, by_depth
            walk_roots, group_depth, group_from, _ = groups
    walk_pos = np.empty(n_trees, dtype=np.int32)
    walk_pos[walk] = np.arange(n_trees, dtype=np.int32) % (window * GROUP)
    return FastForest(
        thr=thr.astype(np.float64), feat=feat, left=left, value=value.reshape(n, width),
        roots=np.asarray(roots, dtype=np.int32), walk_roots=walk_roots, walk_pos=walk_pos,
        window=window, group_depth=group_depth, group_from=group_from, tree_depth=tree_depth,
        target=np.asarray(op.target, dtype=np.int32),
        features=np.arange(len(op.src), dtype=np.int32), modes=modes)


def _groups(order: np.ndarray, roots: list[int], depths: list[int], tails: list[np.ndarray],
            expected: list[float]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The one-row kernel's groups for trees walked in ``order``: (roots padded to a multiple
    of GROUP with the dummy leaf 0, depth per group, lock-step steps per group, which groups
    are ragged)."""
    pad = (-len(order)) % GROUP
    w_depth = [depths[t] for t in order] + [0] * pad
    w_tails = [tails[t] for t in order] + [np.zeros(1)] * pad  # the dummy leaf never moves
    w_expected = [expected[t] for t in order] + [0.0] * pad
    if not w_depth:
        empty = np.zeros(0, dtype=np.int32)
        return empty, empty, empty, np.zeros(0, dtype=bool)
    group_depth = np.asarray(w_depth, dtype=np.int32).reshape(-1, GROUP).max(axis=1)
    ragged = np.asarray(w_expected).reshape(-1, GROUP).max(axis=1) <= RAGGED * group_depth
    group_from = group_depth.copy()
    for g in np.flatnonzero(ragged):
        group_from[g] = _lock_step_depth(w_tails[g * GROUP:(g + 1) * GROUP],
                                         int(group_depth[g]))
    walk_roots = np.asarray([roots[t] for t in order] + [0] * pad, dtype=np.int32)
    return walk_roots, group_depth, group_from, ragged


def walk_order(depth: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """Tree indices in the order the one-row kernel walks them: each window of
    WINDOW * GROUP trees sorted by depth (then expected path), so that a group's walks end
    near the same step (see WINDOW)."""
    size = WINDOW * GROUP
    order = [w0 + np.lexsort((expected[w0:w0 + size], depth[w0:w0 + size]))
             for w0 in range(0, len(depth), size)]
    return np.concatenate(order).astype(np.int64) if order else np.zeros(0, dtype=np.int64)


def _lay_tree(op: TreeEnsemble, root: int, old_ids: list[int]
              ) -> tuple[int, int, np.ndarray]:
    """Append one tree breadth-first with siblings adjacent; returns (root index, depth,
    probability of ending at each depth for a walk turning left or right with
    probability 1/2).

    BFS appends both children of a node one after the other, so they are adjacent.
    """
    start = len(old_ids)
    old_ids.append(root)
    depth = {root: 0}
    seen = {root}
    i = start
    max_depth = 0
    leaf_depths: list[int] = []
    while i < len(old_ids):
        node = old_ids[i]
        if op.feature[node] < 0:
            leaf_depths.append(depth[node])
        else:
            for k in (int(op.left[node]), int(op.right[node])):
                if k in seen:
                    raise ValueError("tree nodes are shared or cyclic")
                seen.add(k)
                depth[k] = depth[node] + 1
                max_depth = max(max_depth, depth[k])
                old_ids.append(k)
        i += 1
    d = np.asarray(leaf_depths)
    mass = np.bincount(d, weights=0.5 ** d.astype(np.float64), minlength=max_depth + 1)
    return start, max_depth, mass


def _unfinished(leaf_mass: np.ndarray) -> np.ndarray:
    """P(a walk is still moving after k steps), k = 0..depth, from P(ending at depth d)."""
    return leaf_mass[::-1].cumsum()[::-1] - leaf_mass


def _lock_step_depth(tails: list[np.ndarray], depth: int) -> int:
    """The first step count after which the group's walks still moving are expected to be
    fewer than 1/TAIL_LANES (see the module docstring)."""
    for k in range(depth + 1):
        if sum(float(t[k]) if k < len(t) else 0.0 for t in tails) < 1.0 / TAIL_LANES:
            return k
    return depth


def float32_nodes(op: TreeEnsemble, f: FastForest) -> tuple[np.ndarray, np.ndarray] | None:
    """Thresholds and links of 8-byte float32 nodes (``sm_node32``), or None.

    Only for forests that compare a float32-rounded x (scikit-learn trees, XGBoost): for a
    float xf, ``xf <= thr`` holds exactly when ``xf <= thr32`` with thr32 the largest float
    not above thr, so rounding every threshold down keeps every decision. None when the
    forest compares doubles, is small enough for 16-byte nodes to stay in cache
    (FLOAT32_NODES_FROM), or does not fit the packing (2**21 nodes, 1024 features).
    """
    n = len(f.thr)
    if not op.input_float32 or n < FLOAT32_NODES_FROM or (f.modes != MODE_PLAIN).any():
        return None  # (sm_forest_features32 applies no missing-type rewrite)
    if n >= 1 << LINK_BITS or 2 * len(f.features) > 1 << (32 - LINK_BITS):
        return None
    with np.errstate(over="ignore"):
        thr32 = f.thr.astype(np.float32)  # round to nearest (+-inf beyond float's range)
    above = thr32.astype(np.float64) > f.thr
    thr32[above] = np.nextafter(thr32[above], np.float32(-np.inf))
    link = f.left.astype(np.uint64) | (f.feat.astype(np.uint64) << LINK_BITS)
    return thr32, link.astype(np.uint32)


@dataclass(frozen=True)
class RankNodes:
    """8-byte nodes comparing ranks (``sm_fast_forest_r``, see the module docstring)."""

    nodes: np.ndarray      # uint64 per node: left | rank << 32 | feature copy << 48
    cuts: np.ndarray       # float64: a pad, then per feature its thresholds and +inf pads
    cut_start: np.ndarray  # int32 per feature + 1: where its cuts start (powers of two apart)
    n_cuts: np.ndarray     # int32 per feature: its thresholds (before the pads)
    steps: int             # halvings that bring the longest run of cuts to one


LEAF_RANK = 0xFFFF  # a leaf's rank: above every row's, so a leaf never turns right
MAX_CUTS = LEAF_RANK - 1  # thresholds per feature (a NaN ranks n_cuts: below LEAF_RANK)


def rank_nodes(f: FastForest) -> RankNodes | None:
    """The forest's nodes with each threshold replaced by its rank among its feature's
    thresholds; None when a feature has more than MAX_CUTS thresholds, 2**15 features or
    more, or a NaN threshold (the rank order would not be the comparison's)."""
    internal = f.left != np.arange(len(f.left))  # leaves point to themselves
    n_feat = len(f.features)
    if 2 * n_feat > 0xFFFF or np.isnan(f.thr[internal]).any():  # copies fit in 16 bits
        return None
    # internal nodes sorted by (feature, threshold), once: feature k's are one slice
    nodes = np.flatnonzero(internal)
    nodes = nodes[np.lexsort((f.thr[nodes], f.feat[nodes] // 2))]
    bounds = np.searchsorted(f.feat[nodes] // 2, np.arange(n_feat + 1))
    cuts, starts, counts = [np.zeros(1)], [1], []  # the pad makes cuts[lo - 1] readable
    rank = np.full(len(f.thr), LEAF_RANK, dtype=np.uint64)
    for k in range(n_feat):
        on_k = nodes[bounds[k]:bounds[k + 1]]
        t = np.unique(f.thr[on_k])
        if len(t) > MAX_CUTS:
            return None
        rank[on_k] = np.searchsorted(t, f.thr[on_k])
        size = 1 << max(len(t) - 1, 0).bit_length()  # the power of two >= len(t), >= 1
        cuts.append(np.concatenate([t, np.full(size - len(t), np.inf)]))
        starts.append(starts[-1] + size)
        counts.append(len(t))
    copy = np.where(internal, f.feat, 0).astype(np.uint64)
    words = f.left.astype(np.uint64) | (rank << np.uint64(32)) | (copy << np.uint64(48))
    start = np.asarray(starts, dtype=np.int32)
    return RankNodes(nodes=words, cuts=np.concatenate(cuts), cut_start=start,
                     n_cuts=np.asarray(counts, dtype=np.int32),
                     steps=int(np.diff(start).max(initial=1)).bit_length() - 1)
