"""Lower ``TreeEnsemble`` to ``ai.onnx.ml`` opset 5 ``TreeEnsemble`` (double thresholds).

The IR's traversal rule (ir/ops.py) is reproduced exactly:

* ``input_float32``: ``Cast`` to float and back to double before any comparison.
* Numeric split ``x <= t`` is ``BRANCH_LEQ`` on the double input with a double split.
* ``MISSING_NAN``: NaN follows ``default_left`` (``nodes_missing_value_tracks_true``).
  ``MISSING_NONE`` (NaN counts as 0.0): NaN follows the side ``0.0 <= t`` picks.
  ``MISSING_ZERO`` (NaN and ``|x| <= 1e-35f`` follow ``default_left``): the node reads a
  derived column in which that zero band is NaN, so missing-value tracking applies to it.
* Categorical split: the node reads ``Floor(x)`` (for ``x >= 0`` the same integer as the
  IR's truncation; negatives, ``inf`` and huge values match no category, as in the IR) and
  tests ``BRANCH_MEMBER`` against the categories of its bitset; NaN follows ``default_left``.
* Leaves: ONNX leaves carry one ``(target, weight)`` pair, so a tree whose leaves hold a
  vector (``target == -1``) is emitted once per output; per output, trees still add up in
  tree order. A non-zero ``base`` is a leading one-leaf tree, so it is the first term of the
  sum as in the IR (adding it afterwards would round differently).
* Shared subtrees (the IR allows a node to have several parents) are copied: onnxruntime
  accepts trees only.
* ``accumulate_float32`` (XGBoost): ONNX has no float32 accumulator for double trees, so each
  tree gets its own output column and a ``Scan`` adds them in float32, in tree order, from
  ``float(base)``: bit for bit the IR's sum, at the cost of an ``[N, n_trees]`` intermediate
  (``[N, n_trees * n_outputs]`` for vector leaves).
* ``average``: ``SUM`` then a ``Div`` by the tree count, as the IR divides after summing.

onnxruntime sums trees in order when a session runs on one thread; with several threads it
may split the trees into chunks and add partial sums, which can change the last bits.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from onnx import TensorProto, helper, numpy_helper

from ...ir.interpret_trees import ZERO_THRESHOLD
from ...ir.ops import MISSING_NONE, MISSING_ZERO, TreeEnsemble
from .emit import DOUBLE, FLOAT, ML_DOMAIN, Emitter

BRANCH_LEQ, BRANCH_LT, BRANCH_MEMBER = 0, 1, 6
SUM = 1


def _unshare(op: TreeEnsemble) -> TreeEnsemble:
    """The same forest with every node reached from one parent only.

    The IR allows a node to be the child of several nodes (the LightGBM frontend shares
    subtrees when it splits a categorical decision into several nodes); onnxruntime
    requires trees, so shared subtrees are copied.
    """
    inner = np.flatnonzero(op.feature >= 0)
    parents = np.bincount(np.concatenate([op.left[inner], op.right[inner], op.roots]),
                          minlength=len(op.feature))
    if parents.max(initial=0) <= 1:
        return op
    order: list[int] = []  # old index of each new node
    left: list[int] = []
    right: list[int] = []
    roots: list[int] = []

    def copy(node: int) -> int:
        new = len(order)
        order.append(node)
        left.append(0)
        right.append(0)
        return new

    for root in op.roots:
        roots.append(copy(int(root)))
        stack = [roots[-1]]
        while stack:
            new = stack.pop()
            old = order[new]
            if op.feature[old] < 0:
                continue
            left[new] = copy(int(op.left[old]))
            right[new] = copy(int(op.right[old]))
            stack += [left[new], right[new]]
    idx = np.asarray(order, dtype=np.int64)
    return dataclasses.replace(
        op, feature=op.feature[idx], threshold=op.threshold[idx],
        left=np.asarray(left, dtype=np.int32), right=np.asarray(right, dtype=np.int32),
        default_left=op.default_left[idx], missing_type=op.missing_type[idx],
        cat_node=op.cat_node[idx], value=op.value[idx], roots=np.asarray(roots, dtype=np.int32))


def _tree_of(op: TreeEnsemble) -> np.ndarray:
    """The tree each node belongs to (-1 = unreachable), found breadth-first from the roots."""
    tree = np.full(len(op.feature), -1, dtype=np.int64)
    frontier = np.asarray(op.roots, dtype=np.int64)
    tree[frontier] = np.arange(len(frontier))
    while frontier.size:
        inner = frontier[op.feature[frontier] >= 0]
        kids = np.concatenate([op.left[inner], op.right[inner]]).astype(np.int64)
        owners = np.concatenate([tree[inner], tree[inner]])
        tree[kids] = owners
        frontier = kids
    return tree


def _category_sets(op: TreeEnsemble) -> list[np.ndarray]:
    """Categories (as doubles) that go left, per row of ``cat_bits``."""
    bits = np.unpackbits(op.cat_bits.astype("<u4").view(np.uint8), axis=1, bitorder="little")
    return [np.flatnonzero(row).astype(np.float64) for row in bits]


class _Features:
    """The ensemble's input matrix: the (rounded) source columns plus derived ones."""

    def __init__(self, e: Emitter, op: TreeEnsemble) -> None:
        self.e = e
        x = e.columns(op.src)
        if op.input_float32:
            x = e.cast(e.cast(x, FLOAT), DOUBLE)
        self.x, self.n = x, len(op.src)
        self.derived: dict[tuple[str, int], int] = {}
        self.parts: list[str] = [x]

    def column(self, kind: str, feature: int) -> int:
        """Column index of ``feature`` as read by a ``"zero"`` or ``"cat"`` node.

        Plain nodes read column ``feature`` itself.
        """
        key = (kind, feature)
        if key not in self.derived:
            e = self.e
            col = e.op("Gather", [self.x, e.const([feature], np.int64, "cols")], axis=1)
            if kind == "zero":  # the IR's zero band |x| <= 1e-35f behaves as missing
                band = e.op("LessOrEqual", [e.op("Abs", [col]), e.const(ZERO_THRESHOLD)])
                col = e.select(band, e.const(np.nan), col)
            else:
                col = e.op("Floor", [col])
            self.derived[key] = self.n + len(self.derived)
            self.parts.append(col)
        return self.derived[key]

    def matrix(self) -> str:
        return self.parts[0] if len(self.parts) == 1 else self.e.op("Concat", self.parts, axis=1)


def _node_attrs(op: TreeEnsemble, feats: _Features) -> dict[str, np.ndarray]:
    """Per IR node: ONNX feature, mode, split, NaN direction, and membership set (or None)."""
    n = len(op.feature)
    inner = op.feature >= 0
    cat = inner & (op.cat_node >= 0)
    zero = inner & ~cat & (op.missing_type == MISSING_ZERO)
    none = inner & ~cat & (op.missing_type == MISSING_NONE)
    feature = np.where(inner, op.feature, 0).astype(np.int64)
    mode = np.full(n, BRANCH_LEQ, dtype=np.uint8)
    split = np.asarray(op.threshold, dtype=np.float64).copy()
    # MISSING_NONE: NaN is read as 0.0, so it goes where 0.0 <= t sends it.
    nan_left = np.where(none, 0.0 <= split, np.asarray(op.default_left, dtype=bool))
    for kind, mask in (("zero", zero), ("cat", cat)):
        for f in np.unique(op.feature[mask]):
            feature[mask & (op.feature == f)] = feats.column(kind, int(f))
    members = np.empty(n, dtype=object)
    if cat.any():
        sets = _category_sets(op)
        for k in np.flatnonzero(cat):
            cats = sets[int(op.cat_node[k])]
            if cats.size:
                mode[k], split[k], members[k] = BRANCH_MEMBER, 0.0, cats
            else:  # an empty set: nothing but NaN can go left
                mode[k], split[k] = BRANCH_LT, -np.inf
    return {"feature": feature, "mode": mode, "split": split, "nan_left": nan_left,
            "members": members}


class _Forest:
    """Accumulates ONNX ``nodes_*`` / ``leaf_*`` arrays over any number of tree copies."""

    def __init__(self) -> None:
        self.cols: dict[str, list] = {k: [] for k in (
            "feature", "mode", "split", "true_id", "true_leaf", "false_id", "false_leaf",
            "nan_true", "members")}
        self.leaf_target: list[int] = []
        self.leaf_weight: list[float] = []
        self.roots: list[int] = []

    @property
    def n_nodes(self) -> int:
        return len(self.cols["feature"])

    def constant_tree(self, target: int, weight: float) -> None:
        """A tree of one leaf: a node whose both branches reach it."""
        leaf = len(self.leaf_target)
        self.leaf_target.append(target)
        self.leaf_weight.append(weight)
        self.roots.append(self.n_nodes)
        for k, v in (("feature", 0), ("mode", BRANCH_LEQ), ("split", 0.0), ("true_id", leaf),
                     ("true_leaf", 1), ("false_id", leaf), ("false_leaf", 1),
                     ("nan_true", 0), ("members", None)):
            self.cols[k].append(v)

    def add(self, op: TreeEnsemble, attrs: dict, keep: np.ndarray, target: np.ndarray,
            weight: np.ndarray, trees: np.ndarray) -> None:
        """Append the nodes where ``keep`` is set; leaves get ``target``/``weight`` per node.

        ``trees`` lists the roots to register (in tree order).
        """
        inner = keep & (op.feature >= 0)
        leaf = keep & (op.feature < 0)
        node_id = np.cumsum(inner) - 1 + self.n_nodes
        leaf_id = np.cumsum(leaf) - 1 + len(self.leaf_target)
        idx = np.flatnonzero(inner)
        for side, child in (("true", op.left[idx]), ("false", op.right[idx])):
            is_leaf = op.feature[child] < 0
            self.cols[f"{side}_leaf"] += is_leaf.astype(np.int64).tolist()
            self.cols[f"{side}_id"] += np.where(is_leaf, leaf_id[child], node_id[child]).tolist()
        self.cols["feature"] += attrs["feature"][idx].tolist()
        self.cols["mode"] += attrs["mode"][idx].tolist()
        self.cols["split"] += attrs["split"][idx].tolist()
        self.cols["nan_true"] += attrs["nan_left"][idx].astype(np.int64).tolist()
        self.cols["members"] += attrs["members"][idx].tolist()
        lidx = np.flatnonzero(leaf)
        self.leaf_target += target[lidx].tolist()
        self.leaf_weight += weight[lidx].tolist()
        for r in op.roots[trees]:
            if op.feature[r] >= 0:
                self.roots.append(int(node_id[r]))
            else:
                self.constant_tree(int(target[r]), float(weight[r]))

    def emit(self, e: Emitter, x: str, n_targets: int) -> str:
        c = self.cols
        sets = [np.append(m, np.nan) for m in c["members"] if m is not None]
        extra = {}
        if sets:
            extra["membership_values"] = numpy_helper.from_array(np.concatenate(sets))
        return e.op(
            "TreeEnsemble", [x], domain=ML_DOMAIN, n_targets=n_targets, aggregate_function=SUM,
            post_transform=0, tree_roots=self.roots, nodes_featureids=c["feature"],
            nodes_modes=numpy_helper.from_array(np.asarray(c["mode"], dtype=np.uint8)),
            nodes_splits=numpy_helper.from_array(np.asarray(c["split"], dtype=np.float64)),
            nodes_truenodeids=c["true_id"], nodes_trueleafs=c["true_leaf"],
            nodes_falsenodeids=c["false_id"], nodes_falseleafs=c["false_leaf"],
            nodes_missing_value_tracks_true=c["nan_true"], leaf_targetids=self.leaf_target,
            leaf_weights=numpy_helper.from_array(np.asarray(self.leaf_weight, dtype=np.float64)),
            **extra)


def _terms(op: TreeEnsemble, k_out: int) -> np.ndarray:
    """``[n_trees, k_out]``: the index of each (tree, output) addition in tree order, or -1.

    A tree with ``target >= 0`` adds one term; a tree with vector leaves adds ``k_out``.
    """
    terms = np.full((op.n_trees, k_out), -1, dtype=np.int64)
    count = 0
    for t, tgt in enumerate(np.asarray(op.target)):
        outs = [int(tgt)] if tgt >= 0 else range(k_out)
        for k in outs:
            terms[t, k] = count
            count += 1
    return terms


def lower_tree_ensemble(e: Emitter, op: TreeEnsemble) -> str:
    """A ``[N, len(op.dst)]`` double tensor equal to the IR's ``TreeEnsemble`` result."""
    k_out, n_trees = len(op.dst), op.n_trees
    base = np.asarray(op.base if op.base else (0.0,) * k_out, dtype=np.float64)
    if n_trees == 0:
        raise ValueError("a TreeEnsemble without trees cannot be lowered to ONNX")
    op = _unshare(op)
    feats = _Features(e, op)
    attrs = _node_attrs(op, feats)
    owner = _tree_of(op)
    safe_owner = np.maximum(owner, 0)
    tree_target = np.asarray(op.target, dtype=np.int64)
    forest = _Forest()
    # float32 accumulation: every (tree, output) term gets its own ONNX target, summed by Scan.
    terms = _terms(op, k_out) if op.accumulate_float32 else None
    if terms is None:
        for k in np.flatnonzero(base != 0):
            forest.constant_tree(int(k), float(base[k]))
    for k in range(k_out):
        # Copy k: the trees that add to output k (vector leaves contribute their k-th entry).
        in_copy = (tree_target == k) | (tree_target == -1)
        if not in_copy.any():
            continue
        keep = (owner >= 0) & in_copy[safe_owner]
        column = np.where(tree_target[safe_owner] >= 0, 0, min(k, op.value.shape[1] - 1))
        weight = op.value[np.arange(len(op.feature)), column].astype(np.float64)
        target = np.full(len(op.feature), k) if terms is None else terms[safe_owner, k]
        forest.add(op, attrs, keep, target, weight, np.flatnonzero(in_copy))
    x = feats.matrix()
    if terms is None:
        y = forest.emit(e, x, k_out)
    else:
        n_terms = int(terms.max()) + 1
        y = _float32_sum(e, forest.emit(e, x, n_terms), terms, base)
    if op.average:
        y = e.op("Div", [y, e.const(float(n_trees))])
    return y


def _float32_sum(e: Emitter, values: str, terms: np.ndarray, base: np.ndarray) -> str:
    """Add the ``[N, n_terms]`` tree terms in float32, in order, from ``float(base)``.

    A ``Scan`` over the terms carries the ``[N, k_out]`` float32 accumulator; step ``p`` adds
    term ``p`` to its output (and +0.0 to the others, which changes nothing but the sign of
    a zero sum).
    """
    k_out = terms.shape[1]
    mask = np.zeros((int(terms.max()) + 1, k_out), dtype=bool)
    for t, k in zip(*np.nonzero(terms >= 0)):
        mask[terms[t, k], k] = True
    vals = e.cast(values, FLOAT)
    rows = e.op("Shape", [values], start=0, end=1)
    shape = e.op("Concat", [rows, e.const([k_out], np.int64, "k")], axis=0)
    acc0 = e.op("Expand", [e.const(base.astype(np.float32), np.float32), shape])
    zero = helper.make_tensor("zero", TensorProto.FLOAT, [], [0.0])
    axes = helper.make_tensor("axes", TensorProto.INT64, [1], [1])
    body = helper.make_graph(
        [helper.make_node("Constant", [], ["zero"], value=zero),
         helper.make_node("Constant", [], ["axes"], value=axes),
         helper.make_node("Unsqueeze", ["term", "axes"], ["column"]),
         helper.make_node("Where", ["which", "column", "zero"], ["add"]),
         helper.make_node("Add", ["acc_in", "add"], ["acc_out"])], "float32_sum",
        [helper.make_tensor_value_info("acc_in", TensorProto.FLOAT, None),
         helper.make_tensor_value_info("term", TensorProto.FLOAT, None),
         helper.make_tensor_value_info("which", TensorProto.BOOL, None)],
        [helper.make_tensor_value_info("acc_out", TensorProto.FLOAT, None)])
    total = e.op("Scan", [acc0, vals, e.const(mask, np.bool_, "which")], body=body,
                 num_scan_inputs=2, scan_input_axes=[1, 0])
    return e.cast(total, DOUBLE)
