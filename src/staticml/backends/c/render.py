"""C backend: print a Graph as ``include/NAME.h`` and a self-contained ``src/NAME.c``.

The generated C is tables plus a short, straight-line ``run`` function calling the
hand-written runtime (``runtime/sm_runtime.h``, ``runtime/sm_math.h``), which is pasted
into ``NAME.c`` so that one file compiles on its own with any C99 compiler.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources

from ...ir import ops as o
from ...ir.graph import Graph
from ...ir.layout import output_layout
from ...passes.dependencies import blame
from ..literals import c_array, c_double, c_float, c_identifier, c_string
from .forest_bitvectors import Bitvectors, bitvectors
from .forest_layout import FastForest, float32_nodes, layout, rank_nodes
from ...data.contract import Contract

ABI_VERSION = 1
# Every function the library exports, as NAME_<fn>: the ABI (docs/c-abi.md). Linkers,
# export lists and the binary checks of every target take it from here.
API_FUNCTIONS = ("predict", "predict_batch", "predict_matrix", "strerror", "schema_json",
                 "version_json", "abi_version", "schema_hash", "contract_check",
                 "contract_count", "predict_matrix_counted", "monitor_init", "monitor_observe", "monitor_observe_matrix",
                 "monitor_rows", "monitor_psi", "monitor_psi_adjusted", "monitor_verdict",
                 "monitor_missing_rate", "monitor_out_of_range")

_FN = {"identity": "SM_IDENTITY", "relu": "SM_RELU", "tanh": "SM_TANH", "logistic": "SM_LOGISTIC",
       "exp": "SM_EXP", "exp2": "SM_EXP2", "negate": "SM_NEGATE"}
_LINK = {"logistic": "SM_LINK_LOGISTIC", "identity": "SM_LINK_IDENTITY",
         "modified_huber": "SM_LINK_MODIFIED_HUBER"}


@dataclass(frozen=True)
class CSources:
    header: str
    source: str


def runtime_text() -> str:
    pkg = resources.files(__package__) / "runtime"
    return "\n".join((pkg / f).read_text() for f in ("sm_math.h", "sm_runtime.h"))


def _struct(ctype: str, name: str, fields: dict) -> str:
    """A static const struct with C99 designated initializers (one field per line)."""
    body = ",\n".join(f"    .{k} = {v}" for k, v in fields.items())
    return f"static const {ctype} {name} = {{\n{body}\n}};"


def _i32(name: str, values) -> str:
    return c_array("int32_t", name, values, fmt=str, per_line=12)


def _f64(name: str, values) -> str:
    return c_array("double", name, values, fmt=c_double, per_line=4)


class _OpPrinter:
    """Collects table definitions and the body of ``run`` while walking the ops."""

    def __init__(self) -> None:
        self.tables: list[str] = []
        self.body: list[str] = []
        # The program split at each op with a block kernel: ("rows", lines) runs row by row,
        # ("block", row_call, block_call) is one op with a row kernel (run()) and a kernel
        # over a block of rows (run_block(): forests tree by tree, dense layers in lanes).
        self.segments: list[tuple] = [("rows", self.body)]
        # multiply-adds per row in dense layers (+ SIGMOID_MACS per sigmoid in lanes, + one
        # per node of a bitvector forest scan): is the AVX2 check worth it?
        self.dense_macs = 0

    def _start_rows(self) -> None:
        self.body = []
        self.segments.append(("rows", self.body))

    def emit(self, k: int, op: o.Op) -> None:
        p = f"op{k}"
        title = f"/* {k}. {type(op).__name__}{': ' + op.note if op.note else ''} */"
        self.body.append("    " + title)
        self.tables.append(title)
        getattr(self, "_" + type(op).__name__)(p, op)

    def _slots(self, p: str, op) -> None:
        self.tables.append(_i32(f"{p}_src", op_src(op)))
        if getattr(op, "dst", None) is not None and not isinstance(op.dst, int):
            self.tables.append(_i32(f"{p}_dst", op.dst))

    def _call(self, text: str) -> None:
        self.body.append(f"    {text}")

    def _check(self, text: str) -> None:
        self.body.append(f"    if ((rc = {text}) != SM_OK) return rc;")

    def _CheckFinite(self, p: str, op: o.CheckFinite) -> None:
        first = _contiguous(op.src)
        if first is not None and not op.float32:
            self._check(f"sm_check_finite_range(v + {first}, {first}, {len(op.src)}, "
                        f"{int(op.allow_nan)}, {int(op.allow_inf)}, bad)")
            return
        self._slots(p, op)
        fn = "sm_check_finite_f32" if op.float32 else "sm_check_finite"
        self._check(f"{fn}(v, {p}_src, {len(op.src)}, {int(op.allow_nan)}, "
                    f"{int(op.allow_inf)}, bad)")

    def _Constant(self, p: str, op: o.Constant) -> None:
        self.tables.append(_f64(f"{p}_values", op.values))
        self.tables.append(_i32(f"{p}_dst", op.dst))
        self._call(f"{{ int32_t i; for (i = 0; i < {len(op.dst)}; i++) "
                   f"v[{p}_dst[i]] = {p}_values[i]; }}")

    def _Impute(self, p: str, op: o.Impute) -> None:
        self.tables.append(_f64(f"{p}_fill", op.fill))
        nan = op.missing != op.missing
        src, dst, n = _contiguous(op.src), _contiguous(op.dst), len(op.src)
        if src is not None and dst is not None and (src == dst or abs(src - dst) >= n):
            self._call(f"sm_impute_range(v + {dst}, v + {src}, {p}_fill, {n}, {int(nan)}, "
                       f"{'0.0' if nan else c_double(op.missing)});")
            return
        self._slots(p, op)
        self._call(f"sm_impute(v, {p}_src, {p}_dst, {p}_fill, {len(op.src)}, {int(nan)}, "
                   f"{'0.0' if nan else c_double(op.missing)});")

    def _MissingIndicator(self, p: str, op: o.MissingIndicator) -> None:
        self._slots(p, op)
        nan = op.missing != op.missing
        self._call(f"sm_missing_indicator(v, {p}_src, {p}_dst, {len(op.src)}, {int(nan)}, "
                   f"{'0.0' if nan else c_double(op.missing)});")

    def _SubDiv(self, p: str, op: o.SubDiv) -> None:
        self.tables += [_f64(f"{p}_sub", op.sub), _f64(f"{p}_div", op.div)]
        # (A block kernel with the divisions in SIMD lanes across rows was tried: no faster
        # on the MLP benchmark, 40% slower on scaler + logistic regression: one more pass
        # over the block. Pairs of columns of one row in a vector are what pays.)
        src, dst = _contiguous(op.src), _contiguous(op.dst)
        n = len(op.src)
        if src is not None and dst is not None and (src == dst or abs(src - dst) >= n):
            self._call(f"SM_SUB_DIV_RANGE(avx2, v + {dst}, v + {src}, {p}_sub, {p}_div, {n});")
            self.dense_macs += n  # an AVX2 division: 4 quotients at once
        else:
            self._slots(p, op)
            self._call(f"sm_sub_div(v, {p}_src, {p}_dst, {p}_sub, {p}_div, {n});")

    def _MulAdd(self, p: str, op: o.MulAdd) -> None:
        self._slots(p, op)
        self.tables += [_f64(f"{p}_mul", op.mul), _f64(f"{p}_add", op.add)]
        lo, hi = op.clip if op.clip else (0.0, 0.0)
        self._call(f"sm_mul_add(v, {p}_src, {p}_dst, {p}_mul, {p}_add, {len(op.src)}, "
                   f"{int(op.clip is not None)}, {c_double(lo)}, {c_double(hi)});")

    def _OneHot(self, p: str, op: o.OneHot) -> None:
        self.tables += [_i32(f"{p}_dst", op.dst), _f64(f"{p}_keys", op.keys),
                        _i32(f"{p}_pos", op.position)]
        miss = -2 if op.missing_position is None else op.missing_position
        unk = {"error": -1, "ignore": -2}.get(op.on_unknown, op.on_unknown)  # type: ignore
        self._check(f"sm_one_hot(v, {op.src}, {p}_dst, {len(op.dst)}, {p}_keys, {p}_pos, "
                    f"{len(op.keys)}, {miss}, {unk})")
        self.body[-1] = self.body[-1].replace("return rc;", f"{{ *bad = {op.src}; return rc; }}")

    def _Ordinal(self, p: str, op: o.Ordinal) -> None:
        self.tables += [_f64(f"{p}_keys", op.keys), _f64(f"{p}_values", op.values)]
        mv = 0.0 if op.missing_value is None else op.missing_value
        uv = 0.0 if op.unknown_value is None else op.unknown_value
        self._check(
            f"sm_ordinal(v, {op.src}, {op.dst}, {p}_keys, {p}_values, {len(op.keys)}, "
            f"{int(op.missing_value is not None)}, {c_double(mv)}, "
            f"{int(op.unknown_value is not None)}, {c_double(uv)})")
        self.body[-1] = self.body[-1].replace("return rc;", f"{{ *bad = {op.src}; return rc; }}")

    def _TreeEnsemble(self, p: str, op: o.TreeEnsemble) -> None:
        fast = None if os.environ.get("STATICML_FOREST_KERNEL") == "general" else layout(op)
        if fast is not None:
            self._fast_forest(p, op, fast)
        else:
            self._general_forest(p, op)

    def _fast_forest(self, p: str, op: o.TreeEnsemble, f: FastForest) -> None:
        # every tree adds one number to output 0, the only output (binary, regression)
        one_sum = len(op.dst) == 1 and f.value.shape[1] == 1 and bool((f.target == 0).all())
        kernel, xt, node_table, fields = self._forest_nodes(p, op, f)
        # walked in tree order (window 1), the walk's roots are the roots, padded; the
        # window positions are read only when trees are walked out of order
        roots = f"{p}_walk_roots" if f.window == 1 else f"{p}_roots"
        walk_pos = "NULL" if f.window == 1 else f"{p}_walk_pos"
        self.tables += [
            _i32(f"{p}_dst", op.dst),
            node_table,
            _f64(f"{p}_value", f.value.ravel()),
            _i32(f"{p}_walk_roots", f.walk_roots),
            *([] if f.window == 1 else [_i32(f"{p}_roots", f.roots),
                                        _i32(f"{p}_walk_pos", f.walk_pos)]),
            _i32(f"{p}_group_depth", f.group_depth),
            _i32(f"{p}_group_from", f.group_from),
            _i32(f"{p}_target", f.target),
            _i32(f"{p}_feat_slot", [op.src[k] for k in f.features]),
            c_array("uint8_t", f"{p}_mode", f.modes, per_line=24),
            _f64(f"{p}_base", op.base or (0.0,) * len(op.dst)),
            _i32(f"{p}_tree_depth", f.tree_depth),
            _struct("sm_fast_forest", f"{p}_forest", {
                **fields, "value": f"{p}_value", "width": f.value.shape[1],
                "roots": roots, "walk_roots": f"{p}_walk_roots",
                "walk_pos": walk_pos, "window": f.window,
                "group_depth": f"{p}_group_depth",
                "group_from": f"{p}_group_from", "n_groups": len(f.group_depth),
                "tree_depth": f"{p}_tree_depth",
                "target": f"{p}_target", "n_trees": op.n_trees,
                "feat_slot": f"{p}_feat_slot", "mode": f"{p}_mode", "n_feat": len(f.features),
                "base": f"{p}_base", "input_float32": int(op.input_float32),
                "accumulate_float32": int(op.accumulate_float32), "average": int(op.average),
                "one_sum": int(one_sum)}),
        ]
        nf, nd = 2 * max(len(f.features), 1), len(op.dst)
        block_call = (f"{{ {xt} xs[BLOCK * {nf}]; {kernel}_block(V, N_SLOTS, nb, rc, "
                      f"&{p}_forest, xs, BLOCK, {p}_dst, {nd}); }}")
        bv = None if xt == "float" or os.environ.get("STATICML_FOREST_BLOCK") == "walk" \
            else bitvectors(f)
        if bv is not None:
            block_call = self._bitvector_block(p, f, bv, one_sum, nf, nd, kernel, xt)
        self._block_op(
            "the forest kernel",
            f"{{ {xt} xs[{nf}]; {kernel}_run(v, &{p}_forest, xs, {p}_dst, {nd}); }}",
            block_call)

    def _forest_nodes(self, p: str, op: o.TreeEnsemble, f: FastForest
                      ) -> tuple[str, str, str, dict[str, str]]:
        """Print the node table of the node kind chosen for ``f``: float32 nodes for large
        float32 forests, else rank nodes, else (a feature with 65535 thresholds or more)
        16-byte double nodes; forest_layout.py says why. Returns the kernel prefix, its
        feature type, the node table and the node fields of sm_fast_forest."""
        packed = float32_nodes(op, f)
        if packed is not None:
            nodes = ",\n    ".join(f"{{{c_float(t)}, 0x{int(ln):08x}u}}" for t, ln in zip(*packed))
            return ("sm_fast_forest32", "float",
                    f"static const sm_node32 {p}_nodes[{len(f.thr)}] = {{\n    {nodes}\n}};",
                    {"nodes32": f"{p}_nodes"})
        # STATICML_FOREST_NODES=double: the 16-byte nodes, to compare kernels in tests
        ranked = None if os.environ.get("STATICML_FOREST_NODES") == "double" else rank_nodes(f)
        if ranked is not None:
            self.tables += [_f64(f"{p}_cuts", ranked.cuts),
                            _i32(f"{p}_cut_start", ranked.cut_start),
                            _i32(f"{p}_n_cuts", ranked.n_cuts)]
            return ("sm_fast_forest_r", "uint64_t",
                    "/* left | rank among the feature's cuts << 32 | copy << 48 (SM_STEPR) */\n"
                    + c_array("uint64_t", f"{p}_nodes", ranked.nodes,
                              fmt=lambda w: f"0x{int(w):016x}u", per_line=4),
                    {"nodes_r": f"{p}_nodes", "cuts": f"{p}_cuts",
                     "cut_start": f"{p}_cut_start", "n_cuts": f"{p}_n_cuts",
                     "rank_steps": ranked.steps})
        nodes = ",\n    ".join(f"{{{c_double(t)}, {int(ft)}, {int(lf)}u}}"
                               for t, ft, lf in zip(f.thr, f.feat, f.left))
        return ("sm_fast_forest", "double",
                f"static const sm_node {p}_nodes[{len(f.thr)}] = {{\n    {nodes}\n}};",
                {"nodes": f"{p}_nodes"})

    def _bitvector_block(self, p: str, f: FastForest, bv: Bitvectors, one_sum: bool,
                         nf: int, nd: int, kernel: str, xt: str) -> str:
        """Print the leaf-bitvector tables (forest_bitvectors.py); returns the block call."""
        self.tables += [
            _f64(f"{p}_bv_thr", bv.thr),
            c_array("uint16_t", f"{p}_bv_tree", bv.tree, per_line=16),
            c_array("uint64_t", f"{p}_bv_mask", bv.mask,
                    fmt=lambda w: f"0x{int(w):016x}u", per_line=4),
            _i32(f"{p}_bv_copy_end", bv.copy_end),
            _i32(f"{p}_bv_leaf_start", bv.leaf_start),
            c_array("uint32_t", f"{p}_bv_leaf_node", bv.leaf_node, per_line=12),
            _f64(f"{p}_bv_leaf_value", f.value[bv.leaf_node, 0] if one_sum else []),
            _struct("sm_bv_forest", f"{p}_bv", {
                "forest": f"&{p}_forest", "thr": f"{p}_bv_thr", "tree": f"{p}_bv_tree",
                "mask": f"{p}_bv_mask", "copy_end": f"{p}_bv_copy_end",
                "leaf_start": f"{p}_bv_leaf_start", "leaf_node": f"{p}_bv_leaf_node",
                "leaf_value": f"{p}_bv_leaf_value"}),
        ]
        # The scan compares 4 rows per instruction under AVX2, 2 without; a node and row
        # cost about a multiply-add, for the AVX2 question (_avx2_rows).
        self.dense_macs += len(bv.thr)
        # one buffer for both kernels' features (the walk's for blocks under SM_GROUP rows)
        return (f"{{ union {{ double bv[BLOCK * {nf}]; {xt} walk[BLOCK * {nf}]; }} xs; "
                f"SM_BV_BLOCK(avx2, {kernel}_block, V, N_SLOTS, nb, rc, &{p}_bv, xs.bv, xs.walk, "
                f"BLOCK, {p}_dst, {nd}); }}")

    def _block_op(self, what: str, row_call: str, block_call: str) -> None:
        """End the current row segment with an op that has its own block kernel."""
        self.body.append(f"    /* -> {what} (row by row: run(); in blocks: run_block()) */")
        self.segments.append(("block", row_call, block_call))
        self._start_rows()

    def _general_forest(self, p: str, op: o.TreeEnsemble) -> None:
        import numpy as np

        src = np.asarray(op.src, dtype=np.int64)
        slot = np.where(op.feature >= 0, src[np.maximum(op.feature, 0)], -1)
        flags = op.default_left.astype(np.uint8) | (op.missing_type.astype(np.uint8) << 1)
        self.tables += [
            _i32(f"{p}_dst", op.dst),
            _i32(f"{p}_feature", slot), _f64(f"{p}_threshold", op.threshold),
            _i32(f"{p}_left", op.left), _i32(f"{p}_right", op.right),
            c_array("uint8_t", f"{p}_flags", flags, per_line=24),
            _i32(f"{p}_cat_node", op.cat_node),
            c_array("uint32_t", f"{p}_cat_bits", op.cat_bits.ravel(),
                    fmt=lambda w: f"0x{int(w):08x}u", per_line=8),
            _f64(f"{p}_value", op.value.ravel()),
            _i32(f"{p}_roots", op.roots), _i32(f"{p}_target", op.target),
            _f64(f"{p}_base", op.base or (0.0,) * len(op.dst)),
            _struct("sm_forest", f"{p}_forest", {
                "feature": f"{p}_feature", "threshold": f"{p}_threshold", "left": f"{p}_left",
                "right": f"{p}_right", "flags": f"{p}_flags", "cat_node": f"{p}_cat_node",
                "cat_bits": f"{p}_cat_bits", "cat_words": op.cat_bits.shape[1],
                "value": f"{p}_value", "width": op.value.shape[1], "roots": f"{p}_roots",
                "target": f"{p}_target", "n_trees": op.n_trees, "base": f"{p}_base",
                "input_float32": int(op.input_float32),
                "accumulate_float32": int(op.accumulate_float32), "average": int(op.average)}),
        ]
        self._call(f"sm_tree_ensemble(v, &{p}_forest, {p}_dst, {len(op.dst)});")

    def _Linear(self, p: str, op: o.Linear) -> None:
        self._slots(p, op)
        self.tables += ["/* input-major: coef[i * n_out + j] (coef_ transposed; see sm_linear) */",
                        _f64(f"{p}_coef", op.coef.T.ravel()), _f64(f"{p}_intercept", op.intercept)]
        n_in, n_out = len(op.src), len(op.dst)
        self._block_op(
            "the dense kernel",
            f"{{ double x[{n_in}]; sm_linear(v, {p}_src, {n_in}, {p}_dst, {n_out}, "
            f"{p}_coef, {p}_intercept, x); }}",
            f"{{ sm_lanes xt[2 * {n_in}]; SM_LINEAR_BLOCK(avx2, V, N_SLOTS, nb, rc, {p}_src, "
            f"{n_in}, {p}_dst, {n_out}, {p}_coef, {p}_intercept, xt); }}")
        self.dense_macs += n_in * n_out

    def _Elementwise(self, p: str, op: o.Elementwise) -> None:
        n = len(op.src)
        src, dst = _contiguous(op.src), _contiguous(op.dst)
        if (op.fn == "relu" and src is not None and dst is not None
                and (src == dst or abs(src - dst) >= n)):
            self._call(f"sm_relu_range(v + {dst}, v + {src}, {n});")
            return
        self._slots(p, op)
        row_call = f"sm_elementwise(v, {p}_src, {p}_dst, {n}, {_FN[op.fn]});"
        if op.fn == "logistic" and (tuple(op.src) == tuple(op.dst)
                                    or not set(op.src) & set(op.dst)):
            self._block_op("the sigmoid kernel", row_call,
                           f"{{ double xs[BLOCK * {n}]; sm_logistic_block(V, N_SLOTS, nb, rc, "
                           f"{p}_src, {p}_dst, {n}, avx2, xs); }}")
            self.dense_macs += SIGMOID_MACS * n
        else:
            self._call(row_call)

    def _Softmax(self, p: str, op: o.Softmax) -> None:
        self._slots(p, op)
        self._call(f"sm_softmax(v, {p}_src, {p}_dst, {len(op.src)});")

    def _BinaryProba(self, p: str, op: o.BinaryProba) -> None:
        row_call = f"sm_binary_proba(v, {op.src}, {op.dst[0]}, {op.dst[1]}, {_LINK[op.fn]});"
        if op.fn == "logistic":
            self._block_op("the sigmoid kernel", row_call,
                           f"{{ double xs[BLOCK]; sm_binary_proba_block(V, N_SLOTS, nb, rc, "
                           f"{op.src}, {op.dst[0]}, {op.dst[1]}, avx2, xs); }}")
            self.dense_macs += SIGMOID_MACS
        else:
            self._call(row_call)

    def _OvrNormalize(self, p: str, op: o.OvrNormalize) -> None:
        self._slots(p, op)
        self._call(f"sm_ovr_normalize(v, {p}_src, {p}_dst, {len(op.src)}, {_LINK[op.fn]});")


# One sm_sigmoid costs about as much as this many multiply-adds (~25 ns scalar), for the
# AVX2 question below: the sigmoid kernel runs 4 lanes under AVX2, 2 without.
SIGMOID_MACS = 50

# When a batch asks the CPU about AVX2: cpuid costs ~3.6 us in a VM (measured on KVM), so
# only from the batch size whose dense work (~0.5 ns per multiply-add) is about
# AVX2_WORK_NS, where the question costs a few percent.
AVX2_WORK_NS = 100_000


def _avx2_rows(dense_macs: int) -> int:
    """Smallest batch that checks for AVX2 (0 = never: too little dense work)."""
    if dense_macs < 64:
        return 0
    return max(64, min(1 << 16, int(AVX2_WORK_NS / (0.5 * dense_macs))))


def _program(printer: _OpPrinter, head_body: list[str], n_slots: int) -> list[str]:
    """Segment functions, ``head``, ``run`` (one row) and ``run_block`` (a block of rows)."""
    lines: list[str] = []
    calls_row: list[str] = []
    calls_block: list[str] = []
    for k, seg in enumerate(printer.segments):
        if seg[0] == "rows":
            if not any(not ln.lstrip().startswith("/*") for ln in seg[1]):
                continue
            lines += [f"static int seg{k}(double *v, int32_t *bad, int avx2) {{",
                      "    int rc = SM_OK;", *seg[1], "    (void)rc; (void)bad; (void)avx2;",
                      "    return SM_OK;", "}", ""]
            calls_row.append(f"    if ((rc = seg{k}(v, bad, 0)) != SM_OK) return rc;")
            calls_block += [f"    for (b = 0; b < nb; b++)",
                            f"        if (rc[b] == SM_OK) rc[b] = seg{k}(V + b * N_SLOTS, "
                            "&bad[b], avx2);"]
        else:
            calls_row.append(f"    {seg[1]}")
            calls_block.append(f"    {seg[2]}")
    # (bench/pipelines.py (c), MLP, 226 slots, 16 rows a block: 8, 32 and 64 rows measured
    # 303-314 ns/row all, within noise: the rule stays.)
    block = max(1, min(64, 4096 // max(n_slots, 1)))
    if block >= 16:  # forest kernels walk SM_GROUP (16) rows at a time over the block
        block -= block % 16
    avx2_rows = _avx2_rows(printer.dense_macs)
    return [
        *lines,
        "static void head(const double *v, double *out) {", "    int32_t i;", *head_body,
        "    (void)i;", "}", "",
        "/* The model on one row. v[0..N_INPUTS) holds the inputs; returns an error code,",
        "   with *bad = the slot that caused it. */",
        "static int run(double *v, double *out, int32_t *bad) {", "    int rc = SM_OK;",
        *calls_row, "    head(v, out);", "    (void)rc;", "    return SM_OK;", "}", "",
        f"/* Rows per block in run_block: forests walk a block of rows tree by tree, so each",
        f"   tree stays in cache; dense layers reuse each weight for SM_LANES rows. Bounded",
        f"   so the block's register files stay small; a multiple of SM_GROUP from 16 rows on,",
        f"   since forest kernels walk SM_GROUP rows at a time (feature-major, BLOCK per row). */",
        f"#define BLOCK {block}",
        "",
        "/* avx2: use the AVX2 kernels (dense layers, sigmoid lanes, contiguous SubDiv; see",
        "   SM_CPU_AVX2 in the runtime). */",
        "static void run_block(double *V, int32_t nb, int *rc, int32_t *bad, int avx2) {",
        "    int32_t b;", *calls_block,
        "    (void)b; (void)V; (void)rc; (void)bad; (void)nb; (void)avx2;", "}", "",
        "/* Ask the CPU about AVX2 (cpuid: microseconds in a VM) only in batches whose dense",
        "   work (linear and MLP layers) is big enough to pay for the question. */",
        f"#define DENSE_AVX2(n) ((n) >= {avx2_rows} ? SM_CPU_AVX2() : 0)" if avx2_rows
        else "#define DENSE_AVX2(n) 0",
        "",
    ]


def _contiguous(slots: Sequence[int]) -> int | None:
    """The first slot if ``slots`` are consecutive (k, k+1, ...), else None."""
    if len(slots) and all(b == a + 1 for a, b in zip(slots, slots[1:])):
        return int(slots[0])
    return None


def op_src(op: o.Op) -> tuple[int, ...]:
    return (op.src,) if isinstance(op.src, int) else tuple(op.src)


def _head_code(graph: Graph) -> tuple[list[str], list[str]]:
    """Tables and statements that fill ``out`` from the register file."""
    head, lay = graph.head, output_layout(graph.head)
    tables, body = [], []
    if isinstance(head, o.Regress):
        tables.append(_i32("head_values", head.values))
        body.append(f"    for (i = 0; i < {len(head.values)}; i++) out[i] = v[head_values[i]];")
        return tables, body
    tables.append(_i32("head_decision", head.decision))
    if head.proba:
        tables.append(_i32("head_proba", head.proba))
    rule = {
        "positive": "v[head_decision[0]] > 0.0 ? 1.0 : 0.0",
        "nonnegative": "v[head_decision[0]] >= 0.0 ? 1.0 : 0.0",
        "argmax": f"(double)sm_argmax(v, head_decision, {len(head.decision)})",
        "proba_gt_half": "v[head_proba[1]] > 0.5 ? 1.0 : 0.0",
        "proba_argmax": f"(double)sm_argmax(v, head_proba, {len(head.proba or ())})",
    }[head.rule]
    body.append(f"    out[0] = {rule};")
    if lay.proba is not None:
        body.append(f"    for (i = 0; i < {len(head.proba)}; i++) "
                    f"out[{lay.proba.start} + i] = v[head_proba[i]];")
    if lay.decision is not None:
        body.append(f"    for (i = 0; i < {len(head.decision)}; i++) "
                    f"out[{lay.decision.start} + i] = v[head_decision[i]];")
    if lay.scores is not None:
        tables.append(_i32("head_scores", head.score_samples))
        body.append(f"    for (i = 0; i < {len(head.score_samples)}; i++) "
                    f"out[{lay.scores.start} + i] = v[head_scores[i]];")
    return tables, body


def render(graph: Graph, name: str, schema_json: str, version_json: str, banner: str,
           contract: Contract | None = None, schema_hash: str = "",
           profile: dict | None = None) -> CSources:
    """``contract`` (default: every value accepted) is compiled into NAME_contract_check and,
    under policy "error", into every predict function; ``profile`` (the training profile,
    ``staticml.data.profile``) into the drift monitor ``NAME_monitor``."""
    from .monitor import render_monitor
    fields = _fields(graph)
    contract = contract or Contract.from_records(
        [{"name": c.name, "dtype": c.dtype, "vocabulary": list(c.vocabulary),
          "categories": list(c.vocabulary)} for c in graph.inputs], policy="ignore")
    header = _header(graph, name, fields, banner, contract)
    source = _source(graph, name, fields, schema_json, version_json, banner, contract,
                     schema_hash)
    if profile is not None:
        decls, code = render_monitor(profile, graph.inputs, name)
        tail = "#ifdef __cplusplus\n}\n#endif"
        cut = header.rindex(tail)
        header = header[:cut] + decls + "\n" + header[cut:]
        source += "\n/* ===== drift monitor ===== */\n" + code
    return CSources(header, source)


def _contract_code(graph: Graph, contract: Contract) -> list[str]:
    """Tables and ``contract_check``: the value-level input contract, in C."""
    n = graph.n_inputs
    return [
        "/* ===== input contract: what training data showed per column ===== */",
        "/* Numbers outside [lo, hi] (the training range), categories outside the model's",
        "   vocabulary (code -1: string columns have lo = 0) and missing values in columns",
        "   that were never missing are violations: the model still computes something, but",
        "   nobody has seen how good it is. */",
        _f64("contract_lo", contract.lo), _f64("contract_hi", contract.hi),
        c_array("uint8_t", "contract_missing_ok", contract.missing_ok.astype(int), per_line=24),
        c_array("uint8_t", "contract_is_string", contract.is_string.astype(int), per_line=24),
        "",
        "/* -1 (all bits) where a missing value is a violation: contract_ok's NaN mask. */",
        c_array("int64_t", "contract_nan_bad", [-int(not m) for m in contract.missing_ok],
                per_line=24),
        "",
        "/* 1 when every column is inside [lo, hi] or missing where training had missing",
        "   values (no violation: contract_check's kinds would all be 0): the common case,",
        "   tested with no branch per column. */",
        "static int contract_ok(const double *x) {",
        f"    return sm_within(x, contract_lo, contract_hi, contract_nan_bad, {n});",
        "}",
        "",
        "/* Violations of one encoded row (kinds[i]: 0 ok, 1 out of range, 2 unseen category,",
        "   3 unexpected missing; kinds may be NULL); *first = first violating column. */",
        "static int32_t contract_check(const double *x, uint8_t *kinds, int32_t *first) {",
        "    int32_t i, n = 0;",
        "    if (contract_ok(x)) { /* the common case: no per-column details needed */",
        f"        if (kinds != NULL) for (i = 0; i < {n}; i++) kinds[i] = 0;",
        "        return 0;",
        "    }",
        f"    for (i = 0; i < {n}; i++) {{",
        "        double v = x[i];",
        "        uint8_t k = 0;",
        "        if (sm_is_nan(v)) k = contract_missing_ok[i] ? 0 : 3;",
        "        else if (v < contract_lo[i] || v > contract_hi[i]) k = contract_is_string[i] ? 2 : 1;",
        "        if (kinds != NULL) kinds[i] = k;",
        "        if (k != 0 && n++ == 0 && first != NULL) *first = i;",
        "    }",
        "    return n;",
        "}",
        "",
        "/* Add one encoded row's violations to counts[column * 3 + kind - 1]; 1 if it has any",
        "   (NAME_contract_count and the counted batch path share it). */",
        "static size_t count_row(const double *x, uint64_t *counts) {",
        f"    uint8_t kinds[{n}];",
        "    int32_t i, first;",
        "    if (contract_ok(x) || contract_check(x, kinds, &first) == 0) return 0;",
        f"    for (i = 0; i < {n}; i++)",
        "        if (kinds[i] != 0) counts[i * 3 + kinds[i] - 1]++;",
        "    return 1;",
        "}",
        f"#define CONTRACT_REFUSES {int(contract.policy == 'error')}",
        "",
    ]


def _fields(graph: Graph) -> list[str]:
    taken: set[str] = set()
    return [c_identifier(c.name, taken) for c in graph.inputs]


def _header(graph: Graph, name: str, fields: list[str], banner: str, contract: Contract) -> str:
    N = name.upper()
    lay = output_layout(graph.head)
    lines = [f"/* {name}.h: {banner}", " *",
             f" * Call {name}_predict() with one {name}_input row; it fills out[{N}_N_OUTPUTS]",
             " * and returns 0, or an error code that " f"{name}_strerror() explains.",
             " * The library is reentrant and thread-safe: no globals, no allocation, no I/O.",
             " */", f"#ifndef {N}_H", f"#define {N}_H", "",
             "#include <stddef.h>", "#include <stdint.h>", "",
             "#ifdef __cplusplus", 'extern "C" {', "#endif", "",
             "#if defined(_WIN32) && defined(" + N + "_BUILD_DLL)",
             f"#  define {N}_API __declspec(dllexport)",
             "#elif defined(__GNUC__)",
             f'#  define {N}_API __attribute__((visibility("default")))',
             "#else", f"#  define {N}_API", "#endif", "",
             f"#define {N}_ABI_VERSION {ABI_VERSION}", "",
             "/* Error codes returned by the functions below (0 = success). */",
             f"#define {N}_OK 0",
             f"#define {N}_E_ARGUMENT 1          /* NULL pointer */",
             f"#define {N}_E_MISSING_VALUE 2     /* NaN/NULL where the model cannot take one */",
             f"#define {N}_E_INFINITE_VALUE 3    /* +-inf where the model cannot take one */",
             f"#define {N}_E_UNKNOWN_CATEGORY 4  /* category unseen in training, encoder rejects it */",
             f"#define {N}_E_CONTRACT 5          /* outside the training contract (policy \"error\") */",
             "", f"/* One input row. Numbers: NaN = missing. Strings: NULL = missing. */",
             f"typedef struct {name}_input {{"]
    for j, (col, field) in enumerate(zip(graph.inputs, fields)):
        if col.dtype == "number":
            lo, hi = contract.lo[j], contract.hi[j]
            seen = (f", training range [{lo:.6g}, {hi:.6g}]" if lo == lo and abs(lo) != float("inf")
                    else "")
            miss = "" if contract.missing_ok[j] else ", never missing in training"
            if contract.fallback and contract.fallback[j]:
                miss = f", fallback: NaN {contract.fallback[j]}"
            lines.append(f"    double {field};  /* {json.dumps(col.name)}: number{seen}{miss} */")
        else:
            shown = ", ".join(json.dumps(s) for s in col.vocabulary[:4])
            more = f", ... ({len(col.vocabulary)} known)" if len(col.vocabulary) > 4 else ""
            fb = (f"; fallback: NULL {contract.fallback[j]}"
                  if contract.fallback and contract.fallback[j] else "")
            lines.append(f"    const char *{field};  /* {json.dumps(col.name)}: string, e.g. "
                         f"{shown}{more}{fb} */")
    lines += [f"}} {name}_input;", "", f"#define {N}_N_INPUTS {graph.n_inputs}",
              f"#define {N}_N_OUTPUTS {lay.n_outputs}"]
    head = graph.head
    if isinstance(head, o.Classify):
        k = len(head.classes)
        lines += [f"#define {N}_N_CLASSES {k}",
                  "/* Output row: out[0] = index of the predicted class in "
                  f"{N}_CLASS_NAMES"]
        if lay.proba:
            lines.append(f" * out[{lay.proba.start}..{lay.proba.stop - 1}] = probability of "
                         "each class, in that order")
        if lay.decision:
            lines.append(f" * out[{lay.decision.start}..{lay.decision.stop - 1}] = decision "
                         "function (scikit-learn's decision_function)")
        lines.append(" */")
        names = ", ".join(json.dumps(str(c)) for c in head.classes)
        lines.append(f"#define {N}_CLASS_NAMES {{ {names} }}")
    else:
        lines.append(f"/* Output row: out[0..{lay.n_outputs - 1}] = predicted value(s). */")
    lines += [
        "",
        "/* Predict one row. */",
        f"{N}_API int {name}_predict(const {name}_input *row, double *out);",
        f"/* Predict n rows; out has n * {N}_N_OUTPUTS doubles. Rows that fail get NaN",
        "   outputs; returns the first failing row's error code. */",
        f"{N}_API int {name}_predict_batch(const {name}_input *rows, size_t n, double *out);",
        f"/* Flat entry point for bindings: x is n rows of {N}_N_INPUTS doubles in column",
        "   order; a string column holds its category code (the index in the vocabulary of",
        f"   {name}_schema_json(); -1 = unseen, NaN = missing). status (may be NULL) gets one",
        "   int per row: error code | (1 + input column) << 8. */",
        f"{N}_API int {name}_predict_matrix(const double *x, size_t n, double *out, "
        "int32_t *status);",
        f"{N}_API const char *{name}_strerror(int code);",
        f"/* Input schema (names, types, vocabularies) and build metadata, as JSON. */",
        f"{N}_API const char *{name}_schema_json(void);",
        f"{N}_API const char *{name}_version_json(void);",
        f"{N}_API int {name}_abi_version(void);",
        f"/* sha256 of the input schema (names, types, categories), hex: compare it with the",
        f"   value your application was written against to detect an incompatible upgrade. */",
        f"{N}_API const char *{name}_schema_hash(void);",
        "",
        f"/* Input contract (policy at build time: {contract.policy}). Checks one flat row (as",
        f"   {name}_predict_matrix reads it) against the ranges, categories and missingness of",
        "   the training data; returns the number of violating columns and, if kinds is not",
        f"   NULL, fills kinds[{N}_N_INPUTS]: 0 ok, 1 out of range, 2 unseen category,",
        "   3 missing where training had none. */",
        f"#define {N}_CONTRACT_POLICY \"{contract.policy}\"",
        f"{N}_API int {name}_contract_check(const double *x, uint8_t *kinds);",
        f"/* Count the violations of n flat rows: counts[{N}_N_INPUTS * 3] gets, per column,",
        "   the rows out of range, with an unseen category, missing where training had none",
        "   (added to what it holds). Returns the number of rows with any violation. */",
        f"{N}_API size_t {name}_contract_count(const double *x, size_t n, uint64_t *counts);",
        f"/* {name}_predict_matrix and {name}_contract_count in one call (for bindings: one",
        "   foreign call per prediction); returns the number of rows with a violation. */",
        f"{N}_API size_t {name}_predict_matrix_counted(const double *x, size_t n, double *out,",
        "                                             int32_t *status, uint64_t *counts);",
        "", "#ifdef __cplusplus", "}", "#endif", f"#endif /* {N}_H */", ""]
    return "\n".join(lines)


def _source(graph: Graph, name: str, fields: list[str], schema_json: str, version_json: str,
            banner: str, contract: Contract, schema_hash: str) -> str:
    N = name.upper()
    printer = _OpPrinter()
    for k, op in enumerate(graph.ops):
        printer.emit(k, op)
    head_tables, head_body = _head_code(graph)
    lay = output_layout(graph.head)
    string_cols = [i for i, c in enumerate(graph.inputs) if c.dtype == "string"]
    vocab_tables = []
    for i in string_cols:
        vocab = graph.inputs[i].vocabulary
        order = sorted(range(len(vocab)), key=lambda k: vocab[k].encode("utf-8"))
        vocab_tables.append(
            c_array("char *const", f"vocab{i}_sorted", [vocab[k] for k in order],
                    fmt=c_string, per_line=4))
        vocab_tables.append(_i32(f"vocab{i}_codes", order))
    src = [
        f"/* {name}.c: {banner} */",
        f"#define {N}_BUILD_DLL 1",
        f'#include "{name}.h"', "",
        "#if defined(__GNUC__) || defined(__clang__)",
        '#define SM_NAN __builtin_nan("")',
        "#define SM_INF __builtin_inf()",
        "#else",
        "#define SM_NAN (0.0 / 0.0)",
        "#define SM_INF (1e300 * 1e300)",
        "#endif", "",
        "/* ===== staticml runtime (hand-written; tested in staticml's test suite) ===== */",
        runtime_text(),
        "/* ===== model ===== */",
        f"#define N_SLOTS {graph.n_slots}", "",
        "/* For each slot, the input column it derives from (for error reports). */",
        _i32("slot_blame", blame(graph)), "",
        *vocab_tables,
        *printer.tables,
        *head_tables, "",
        *_contract_code(graph, contract),
        *_program(printer, head_body, graph.n_slots),
        f"static void fill_nan(double *out) {{ int32_t i; "
        f"for (i = 0; i < {lay.n_outputs}; i++) out[i] = sm_nan(); }}", "",
        f"static void load_row(const {name}_input *row, double *v) {{",
    ]
    for i, (col, field) in enumerate(zip(graph.inputs, fields)):
        if col.dtype == "number":
            src.append(f"    v[{i}] = row->{field};")
        else:
            src.append(f"    v[{i}] = sm_string_code(vocab{i}_sorted, vocab{i}_codes, "
                       f"{len(col.vocabulary)}, row->{field});")
    src += [
        "}", "",
        f"int {name}_predict(const {name}_input *row, double *out) {{",
        "    double v[N_SLOTS];", "    int32_t bad = -1;", "    int rc;",
        f"    if (row == NULL || out == NULL) return {N}_E_ARGUMENT;",
        "    load_row(row, v);",
        "    if (CONTRACT_REFUSES && contract_check(v, NULL, &bad) > 0) rc = SM_E_CONTRACT;",
        "    else rc = run(v, out, &bad);",
        "    if (rc != SM_OK) fill_nan(out);",
        "    return rc;", "}", "",
        f"int {name}_predict_batch(const {name}_input *rows, size_t n, double *out) {{",
        "    size_t r;", "    int first = SM_OK;",
        f"    if ((rows == NULL || out == NULL) && n > 0) return {N}_E_ARGUMENT;",
        "    for (r = 0; r < n; r++) {",
        f"        int rc = {name}_predict(rows + r, out + r * {lay.n_outputs});",
        "        if (rc != SM_OK && first == SM_OK) first = rc;",
        "    }", "    return first;", "}", "",
        "/* n flat rows in blocks: each block is copied into register files, checked against",
        "   the contract (counted into counts[] when counts is not NULL: in the same pass, while",
        "   the rows are in cache), run and written out. *first = the first error code. */",
        "static size_t predict_rows(const double *x, size_t n, double *out, int32_t *status,",
        "                           uint64_t *counts, int *first) {",
        "    double V[BLOCK * N_SLOTS];", "    int rc[BLOCK], avx2;", "    int32_t bad[BLOCK];",
        "    size_t r0, violating = 0;", "    int32_t b, i, nb;",
        "    *first = SM_OK;",
        "    avx2 = DENSE_AVX2(n);",
        "    for (r0 = 0; r0 < n; r0 += BLOCK) {",
        "        nb = (int32_t)(n - r0 < BLOCK ? n - r0 : BLOCK);",
        "        for (b = 0; b < nb; b++) {",
        f"            for (i = 0; i < {graph.n_inputs}; i++) "
        f"V[b * N_SLOTS + i] = x[(r0 + (size_t)b) * {graph.n_inputs} + (size_t)i];",
        *(["            if (r0 + BLOCK + (size_t)b < n) { /* the next block's row: see SM_PREFETCH */",
           f"                const char *q = (const char *)(x + (r0 + BLOCK + (size_t)b) * "
           f"{graph.n_inputs});",
           f"                for (i = 0; i < {8 * graph.n_inputs}; i += 64) SM_PREFETCH(q + i);",
           f"                SM_PREFETCH(q + {8 * graph.n_inputs - 1});",
           "            }"] if graph.n_inputs > 0 else []),
        "            rc[b] = SM_OK;", "            bad[b] = -1;",
        "            if (counts != NULL) violating += count_row(V + b * N_SLOTS, counts);",
        "            if (CONTRACT_REFUSES && contract_check(V + b * N_SLOTS, NULL, &bad[b]) > 0)",
        "                rc[b] = SM_E_CONTRACT;",
        "        }",
        "        run_block(V, nb, rc, bad, avx2);",
        "        for (b = 0; b < nb; b++) {",
        f"            double *o = out + (r0 + (size_t)b) * {lay.n_outputs};",
        "            if (rc[b] == SM_OK) head(V + b * N_SLOTS, o);",
        "            else { fill_nan(o); if (*first == SM_OK) *first = rc[b]; }",
        "            if (status != NULL)",
        "                status[r0 + (size_t)b] = rc[b] == SM_OK ? 0 : (int32_t)(rc[b] | ((bad[b] >= 0 ? "
        "slot_blame[bad[b]] + 1 : 0) << 8));",
        "        }", "    }", "    return violating;", "}", "",
        f"int {name}_predict_matrix(const double *x, size_t n, double *out, int32_t *status) {{",
        "    int first;",
        f"    if ((x == NULL || out == NULL) && n > 0) return {N}_E_ARGUMENT;",
        "    (void)predict_rows(x, n, out, status, NULL, &first);",
        "    return first;", "}", "",
        f"const char *{name}_strerror(int code) {{",
        "    switch (code) {",
        '    case 0: return "ok";',
        f'    case {N}_E_ARGUMENT: return "invalid argument: NULL pointer";',
        f'    case {N}_E_MISSING_VALUE: return "missing value (NaN or NULL) in an input the model '
        'cannot take missing; fill it or add an imputer to the pipeline";',
        f'    case {N}_E_INFINITE_VALUE: return "infinite value in an input; pass a finite number";',
        f'    case {N}_E_UNKNOWN_CATEGORY: return "category not seen in training and the encoder '
        'rejects unknown categories; pass a known category";',
        f'    case {N}_E_CONTRACT: return "value outside the training contract (range, categories '
        'or missingness seen in training) and the artifact was built with policy error; check '
        'the input or rebuild with --on-violation count";',
        '    default: return "unknown error code";', "    }", "}", "",
        f"const char *{name}_schema_json(void) {{ return {c_string(schema_json)}; }}",
        f"const char *{name}_version_json(void) {{ return {c_string(version_json)}; }}",
        f"int {name}_abi_version(void) {{ return {N}_ABI_VERSION; }}",
        f"const char *{name}_schema_hash(void) {{ return {c_string(schema_hash)}; }}",
        f"int {name}_contract_check(const double *x, uint8_t *kinds) {{",
        "    int32_t first = -1;",
        "    if (x == NULL) return -1;",
        "    return (int)contract_check(x, kinds, &first);",
        "}", "",
        f"size_t {name}_contract_count(const double *x, size_t n, uint64_t *counts) {{",
        "    size_t r, bad = 0;",
        "    if (x == NULL || counts == NULL) return 0;",
        f"    for (r = 0; r < n; r++) bad += count_row(x + r * {graph.n_inputs}, counts);",
        "    return bad;",
        "}", "",
        f"size_t {name}_predict_matrix_counted(const double *x, size_t n, double *out, "
        "int32_t *status, uint64_t *counts) {",
        "    int first;",
        "    if ((x == NULL || out == NULL) && n > 0) return 0;",
        "    return predict_rows(x, n, out, status, counts, &first);",
        "}", "",
    ]
    return "\n".join(src)
