"""Java backend: print a Graph as one self-contained, dependency-free ``NAME.java``.

Why the program is data, not code: the JVM limits a method to 64 KB of bytecode and a class
to 65535 constant-pool entries, which is where generators that print a 2000-tree forest as
Java statements or array initializers fail. Here every number of every op (tree nodes,
coefficients, vocabularies, schema) goes into one compact little-endian binary blob, stored
as base64 string constants (each well under the 65535-byte limit of one class-file string)
returned by small methods, decoded once in a static initializer and run by a short
interpreter (``runtime/SmRuntime.java.in``) that is the Java twin of ``sm_runtime.h``. The
source size is linear in the model, the bytecode and constant pool are not, and the one
file needs no resources.

The runtime reproduces the C library bit for bit: ``runtime/SmMath.java.in`` is a
statement-by-statement port of ``sm_math.h``, float32 semantics are Java's own ``(float)``
casts and float additions, a forest runs on the same kernel and node layout as in C (the
branch-free one from ``backends/c/forest_layout.py`` where C uses it, else the general one;
both add leaves in tree order), and the class is ``strictfp`` for JVMs older than 17.
"""

from __future__ import annotations

import base64
import functools
import json
import os
import re
import struct
from importlib import resources

import numpy as np

from ...ir import ops as o
from ...ir.graph import Graph
from ...ir.layout import output_layout
from ...passes.dependencies import blame
from ..c.forest_layout import FastForest, layout
from ..c.render import ABI_VERSION

PACKAGE = "staticml.models"
CHUNK = 60_000       # base64 characters per string constant (< 65535 bytes, multiple of 4)
PER_PART = 256       # string constants per method: ~2 KB of bytecode each
MAGIC, END = b"SMJ1", b"END!"

_OPCODES = {o.CheckFinite: 1, o.Impute: 2, o.MissingIndicator: 3, o.SubDiv: 4, o.MulAdd: 5,
            o.OneHot: 6, o.Ordinal: 7, o.Linear: 8, o.Elementwise: 9, o.Softmax: 10,
            o.BinaryProba: 11, o.OvrNormalize: 12, o.TreeEnsemble: 13}
_FAST_FOREST = 14  # TreeEnsemble in the branch-free layout of backends/c/forest_layout.py
_FN = {"identity": 0, "relu": 1, "tanh": 2, "logistic": 3, "exp": 4, "exp2": 5, "negate": 6}
_LINK = {"logistic": 0, "identity": 1, "modified_huber": 2}
_RULES = {"positive": 0, "nonnegative": 1, "argmax": 2, "proba_gt_half": 3, "proba_argmax": 4}


def _template(name: str) -> str:
    return (resources.files(__package__) / "runtime" / name).read_text(encoding="utf-8")


# ---------------------------------------------------------------------------------- naming

@functools.cache
def _reserved() -> frozenset[str]:
    """Capitalised names the generated file refers to: a model class of the same name would
    shadow them (``String``, ``Map``, ...) or clash with a nested class (``Program``)."""
    text = "".join(_template(f) for f in ("Model.java.in", "SmMath.java.in", "SmRuntime.java.in"))
    return frozenset(re.findall(r"\b[A-Z][A-Za-z0-9_]*\b", text))


def java_class_name(name: str) -> str:
    """PascalCase Java class name for an artifact name: ``churn_model`` -> ``ChurnModel``."""
    parts = [p for p in re.split(r"[^0-9A-Za-z]+", name) if p]
    ident = "".join(p[:1].upper() + p[1:] for p in parts) or "Model"
    if ident[0].isdigit():
        ident = "Model" + ident
    if ident in _reserved():
        ident += "Model"
    return ident


def main_class(name: str) -> str:
    """Fully qualified class (with the harness ``main``) for an artifact name."""
    return f"{PACKAGE}.{java_class_name(name)}"


# ------------------------------------------------------------------------------ the blob

def _zigzag(a) -> np.ndarray:
    a = np.asarray(a, dtype=np.int64).ravel()
    if a.size and (a.min() < -(1 << 31) or a.max() >= 1 << 31):
        raise ValueError("integer table value does not fit in 32 bits")
    return ((a << 1) ^ (a >> 63)).astype(np.uint64)


def _uvarints(a: np.ndarray) -> bytes:
    """Unsigned LEB128 of every element (vectorised: forests have millions of values)."""
    a = np.asarray(a, dtype=np.uint64).ravel()
    if a.size == 0:
        return b""
    n = np.ones(a.size, dtype=np.int64)
    for k in range(1, 5):
        n += a >= np.uint64(1 << (7 * k))
    out = np.zeros(int(n.sum()), dtype=np.uint8)
    start = np.cumsum(n) - n
    for k in range(5):
        m = n > k
        byte = (a[m] >> np.uint64(7 * k)) & np.uint64(0x7F)
        more = (n[m] > k + 1).astype(np.uint64) << np.uint64(7)
        out[start[m] + k] = (byte | more).astype(np.uint8)
    return out.tobytes()


class _Writer:
    """The little-endian program format read by ``Reader`` in SmRuntime.java.in."""

    def __init__(self) -> None:
        self.buf = bytearray()

    def raw(self, b: bytes) -> None:
        self.buf += b

    def u8(self, x: int) -> None:
        self.buf.append(int(x) & 0xFF)

    def uv(self, x: int) -> None:
        self.raw(_uvarints(np.asarray([x])))

    def iv(self, x: int) -> None:
        self.raw(_uvarints(_zigzag([x])))

    def f64(self, x: float) -> None:
        self.raw(struct.pack("<d", float(x)))

    def ints(self, a) -> None:
        a = np.asarray(a, dtype=np.int64).ravel()
        self.uv(a.size)
        self.raw(_uvarints(_zigzag(a)))

    def doubles(self, a) -> None:
        a = np.asarray(a, dtype=np.float64).ravel()
        self.uv(a.size)
        self.raw(a.astype("<f8").tobytes())

    def string(self, s: str) -> None:
        b = s.encode("utf-8")
        self.uv(len(b))
        self.raw(b)


def _slots(op) -> tuple[int, ...]:
    return (op.src,) if isinstance(op.src, int) else tuple(op.src)


def _nan(x: float) -> bool:
    return x != x


def _write_op(w: _Writer, op: o.Op) -> None:
    """One op: its code, then its fields in the order its Java constructor reads them."""
    if isinstance(op, o.TreeEnsemble):
        # The C library's choice of kernel (and its switch), so Java walks the same nodes.
        fast = None if os.environ.get("STATICML_FOREST_KERNEL") == "general" else layout(op)
        w.u8(_OPCODES[o.TreeEnsemble] if fast is None else _FAST_FOREST)
        if fast is None:
            _write_forest(w, op)
        else:
            _write_fast_forest(w, op, fast)
        return
    w.u8(_OPCODES[type(op)])
    if isinstance(op, o.CheckFinite):
        w.ints(op.src)
        w.u8(int(op.allow_nan) | int(op.allow_inf) << 1 | int(op.float32) << 2)
        return
    if isinstance(op, o.OneHot):
        w.iv(op.src)
        w.ints(op.dst)
        w.doubles(op.keys)
        w.ints(op.position)
        w.iv(-2 if op.missing_position is None else op.missing_position)
        w.iv({"error": -1, "ignore": -2}.get(op.on_unknown, op.on_unknown))  # type: ignore[arg-type]
        return
    if isinstance(op, o.Ordinal):
        w.iv(op.src)
        w.iv(op.dst)
        w.doubles(op.keys)
        w.doubles(op.values)
        for value in (op.missing_value, op.unknown_value):
            w.u8(value is not None)
            w.f64(0.0 if value is None else value)
        return
    if isinstance(op, o.BinaryProba):
        w.iv(op.src)
        w.iv(op.dst[0])
        w.iv(op.dst[1])
        w.u8(_LINK[op.fn])
        return
    w.ints(op.src)  # every other op maps slots src -> dst
    w.ints(op.dst)
    if isinstance(op, (o.Impute, o.MissingIndicator)):
        if isinstance(op, o.Impute):
            w.doubles(op.fill)
        w.u8(_nan(op.missing))
        w.f64(0.0 if _nan(op.missing) else op.missing)
    elif isinstance(op, o.SubDiv):
        w.doubles(op.sub)
        w.doubles(op.div)
    elif isinstance(op, o.MulAdd):
        w.doubles(op.mul)
        w.doubles(op.add)
        lo, hi = op.clip if op.clip else (0.0, 0.0)
        w.u8(op.clip is not None)
        w.f64(lo)
        w.f64(hi)
    elif isinstance(op, o.Linear):
        coef = np.asarray(op.coef, dtype=np.float64)
        if coef.shape != (len(op.dst), len(op.src)):
            raise ValueError(f"Linear coef shape {coef.shape} != ({len(op.dst)}, {len(op.src)})")
        w.doubles(coef)
        # C pads a missing intercept with a single 0.0 table entry; 0.0 per output here.
        w.doubles(op.intercept if len(op.intercept) else (0.0,) * len(op.dst))
    elif isinstance(op, o.Elementwise):
        w.u8(_FN[op.fn])
    elif isinstance(op, o.OvrNormalize):
        w.u8(_LINK[op.fn])
    # Softmax: slots only.


def _write_forest(w: _Writer, op: o.TreeEnsemble) -> None:
    """Node arrays as the C general kernel reads them (feature = slot), stored compactly:
    per-node fields only where they are read (thresholds, children and flags for splits,
    values for leaves), children as varint offsets from the node."""
    feature = np.asarray(op.feature, dtype=np.int64)
    n = feature.size
    split = feature >= 0
    src = np.asarray(_slots(op), dtype=np.int64)
    slot = np.where(split, src[np.maximum(feature, 0)] if src.size else 0, -1)
    idx = np.arange(n, dtype=np.int64)
    w.uv(n)
    w.raw(_uvarints(_zigzag(slot)))
    w.raw(np.asarray(op.threshold, dtype=np.float64)[split].astype("<f8").tobytes())
    w.raw(_uvarints(_zigzag(np.asarray(op.left, dtype=np.int64)[split] - idx[split])))
    w.raw(_uvarints(_zigzag(np.asarray(op.right, dtype=np.int64)[split] - idx[split])))
    flags = (np.asarray(op.default_left, dtype=np.uint8)
             | (np.asarray(op.missing_type, dtype=np.uint8) << 1))
    w.raw(flags[split].astype(np.uint8).tobytes())
    cat_node = np.asarray(op.cat_node, dtype=np.int64)
    cat_bits = np.atleast_2d(np.asarray(op.cat_bits, dtype=np.uint32))
    has_cat = bool((cat_node[split] >= 0).any())
    w.uv(cat_bits.shape[0] if has_cat else 0)
    w.uv(cat_bits.shape[1])
    if has_cat:
        w.raw(_uvarints(_zigzag(cat_node[split])))
        w.raw(cat_bits.astype("<u4").ravel().tobytes())
    value = np.asarray(op.value, dtype=np.float64).reshape(n, -1)
    w.uv(value.shape[1])
    w.raw(value[~split].astype("<f8").ravel().tobytes())
    w.ints(op.roots)
    w.ints(op.target)
    w.doubles(op.base or (0.0,) * len(op.dst))
    w.ints(op.dst)
    w.u8(int(op.input_float32) | int(op.accumulate_float32) << 1 | int(op.average) << 2)


def _write_fast_forest(w: _Writer, op: o.TreeEnsemble, f: FastForest) -> None:
    """The branch-free layout: leaves are the nodes that loop to themselves (left == index;
    a split's children come after it), so thresholds and features are stored for splits
    only and values for leaves only."""
    n = len(f.thr)
    idx = np.arange(n, dtype=np.int64)
    left = np.asarray(f.left, dtype=np.int64)
    leaf = left == idx
    w.uv(n)
    w.raw(_uvarints(_zigzag(left - idx)))
    w.raw(np.asarray(f.thr, dtype=np.float64)[~leaf].astype("<f8").tobytes())
    w.raw(_uvarints(_zigzag(np.asarray(f.feat)[~leaf])))
    value = np.asarray(f.value, dtype=np.float64).reshape(n, -1)
    w.uv(value.shape[1])
    w.raw(value[leaf].astype("<f8").ravel().tobytes())
    n_trees = op.n_trees
    w.ints(np.asarray(f.roots)[:n_trees])  # the C lock-step padding is not needed here
    w.ints(f.tree_depth)
    w.ints(f.target)
    src = _slots(op)
    w.ints([src[k] for k in f.features])
    w.raw(np.asarray(f.modes, dtype=np.uint8).tobytes())
    w.doubles(op.base or (0.0,) * len(op.dst))
    w.ints(op.dst)
    w.u8(int(op.input_float32) | int(op.accumulate_float32) << 1 | int(op.average) << 2)


def _write_head(w: _Writer, head: o.Head) -> None:
    if isinstance(head, o.Regress):
        w.u8(0)
        w.ints(head.values)
        return
    w.u8(1)
    w.u8(_RULES[head.rule])
    w.ints(head.decision)
    w.ints(head.proba or ())
    w.u8(head.has_decision_function)
    w.ints(head.score_samples or ())
    w.uv(len(head.classes))
    for c in head.classes:
        w.string(str(c))


def encode_program(graph: Graph, schema_json: str, version_json: str) -> bytes:
    """The binary program the generated class decodes (format: ``Program`` in
    SmRuntime.java.in)."""
    for op in graph.ops:
        if type(op) not in _OPCODES:
            raise TypeError(f"the Java backend has no rule for {type(op).__name__}")
    w = _Writer()
    w.raw(MAGIC)
    w.uv(graph.n_inputs)
    w.uv(graph.n_slots)
    w.uv(output_layout(graph.head).n_outputs)
    w.string(schema_json)
    w.string(version_json)
    for col in graph.inputs:
        w.string(col.name)
        w.u8(col.dtype == "string")
        if col.dtype == "string":
            w.uv(len(col.vocabulary))
            for s in col.vocabulary:
                w.string(s)
    w.ints(blame(graph))
    w.uv(len(graph.ops))
    for op in graph.ops:
        _write_op(w, op)
    _write_head(w, graph.head)
    w.raw(END)
    return bytes(w.buf)


# ----------------------------------------------------------------------------- the source

def _comment(s: str) -> str:
    """Text safe inside a Java (doc) comment: no ``*/``, no ``\\u`` escapes, no HTML."""
    s = s.replace("\\", "\\\\").replace("*/", "*\\/")
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _doc(graph: Graph, name: str, cls: str) -> str:
    """The class comment: input columns and output row, like the C header's."""
    lines = [" * <p>Input row (Object[] in this order; numbers: NaN or null = missing, strings:",
             " * null = missing):", " * <pre>"]
    limit = 200
    for i, col in enumerate(graph.inputs[:limit]):
        if col.dtype == "number":
            lines.append(f" *   [{i}] {_comment(json.dumps(col.name))}: number")
        else:
            shown = ", ".join(json.dumps(s) for s in col.vocabulary[:4])
            more = f", ... ({len(col.vocabulary)} known)" if len(col.vocabulary) > 4 else ""
            lines.append(f" *   [{i}] {_comment(json.dumps(col.name))}: string, e.g. "
                         f"{_comment(shown + more)}")
    if graph.n_inputs > limit:
        lines.append(f" *   ... {graph.n_inputs - limit} more: see inputNames()")
    lines.append(" * </pre>")
    head, lay = graph.head, output_layout(graph.head)
    lines += [" * <p>Output row:", " * <pre>"]
    if isinstance(head, o.Classify):
        lines.append(" *   out[0]  index of the predicted class in classNames()")
        for span, what in ((lay.proba, "probability of each class, in that order"),
                           (lay.decision, "decision function (scikit-learn's decision_function)"),
                           (lay.scores, "score_samples")):
            if span:
                lines.append(f" *   out[{span.start}..{span.stop - 1}]  {what}")
    else:
        lines.append(f" *   out[0..{lay.n_outputs - 1}]  predicted value(s)")
    lines.append(" * </pre>")
    lines.append(f" * <p>Harness: {{@code java -cp {name}.jar {PACKAGE}.{cls} IN OUT}} (see main).")
    return "\n".join(lines)


def render_java(graph: Graph, name: str, schema_json: str, version_json: str,
                banner: str) -> dict[str, str]:
    """The Java sources of ``graph``: ``{"java/src/<package path>/<Class>.java": text}``
    (paths relative to the bundle root; compile with ``toolchain.javac.build_jar``)."""
    cls = java_class_name(name)
    blob = encode_program(graph, schema_json, version_json)
    text = base64.b64encode(blob).decode("ascii")
    chunks = [text[i:i + CHUNK] for i in range(0, len(text), CHUNK)] or [""]
    parts = [chunks[i:i + PER_PART] for i in range(0, len(chunks), PER_PART)]
    methods = []
    for k, part in enumerate(parts):
        body = ",\n".join(f'                "{c}"' for c in part)
        methods.append(f"\n        static String[] part{k}() {{\n"
                       f"            return new String[] {{\n{body}\n            }};\n        }}")
    lay = output_layout(graph.head)
    extra = ""
    if isinstance(graph.head, o.Classify):
        extra = (f"    /** Number of classes (see classNames()). */\n"
                 f"    public static final int N_CLASSES = {len(graph.head.classes)};\n")
    fill = {
        "CLASS": cls, "PACKAGE": PACKAGE, "NAME": _comment(name), "BANNER": _comment(banner),
        "DOC": _doc(graph, name, cls), "ABI": str(ABI_VERSION),
        "N_INPUTS": str(graph.n_inputs), "N_OUTPUTS": str(lay.n_outputs),
        "EXTRA_CONSTANTS": extra.rstrip("\n"),
        "MATH": _template("SmMath.java.in").rstrip("\n"),
        "RUNTIME": _template("SmRuntime.java.in").rstrip("\n"),
        "CHUNK": str(CHUNK), "PER_PART": str(PER_PART), "BLOB_BYTES": str(len(blob)),
        "PART_CALLS": ", ".join(f"part{k}()" for k in range(len(parts))),
        "PARTS": "\n".join(methods),
    }
    src = _template("Model.java.in")
    # One pass, so text substituted in (e.g. a banner) is never itself substituted.
    src = re.sub(r"@@([A-Z_]+)@@", lambda m: fill[m.group(1)], src)
    return {f"java/src/{PACKAGE.replace('.', '/')}/{cls}.java": src}
