"""XGBoost: ``XGBClassifier``, ``XGBRegressor``, ``XGBRF*``, raw ``Booster`` and model files.

One code path: every model, live object or file, is read from its JSON/UBJSON serialisation
by staticml's own validating parser (no XGBoost code runs to read a file) into an
``XGBoostModel``, which is then lowered to one ``TreeEnsemble`` plus the objective's link.
Live objects go through ``booster.save_raw("json")``.

Numerics, reproduced exactly (see ``TreeEnsemble``):

* XGBoost casts every input to float32 and goes left iff ``x < t`` with a float32 ``t``;
  staticml stores ``nextafter(t, -inf)`` and compares ``(float)x <= t'``: the same set.
* Leaves are float32 and are summed in float32, in tree order, starting from the base
  margin, so the margins are bit-identical to ``predict(output_margin=True)``.
* The base margin is ``ProbToMargin(base_score)`` computed as XGBoost does, in float32 with
  the platform's ``logf`` (called through ctypes): ``-logf(1/p - 1)`` for logistic
  objectives (``p`` clamped to ``[1e-6, 1 - 1e-6]``), ``logf(p)`` for log-link ones. The
  stored ``base_score`` (``"[5.0355E-1]"`` in 3.x, a vector for multi-class) is rounded
  from decimal to float32 exactly.
* Categorical splits send the categories *in* the set right, and invalid ones (negative,
  >= 2^24) left; staticml swaps the children so "in the set" is left. Models trained on
  pandas categories (XGBoost >= 3.1) re-code values to training codes at prediction time;
  staticml does the same with an ``Ordinal`` step and refuses unseen categories
  (``E_UNKNOWN_CATEGORY``). XGBoost 3.2 raises only for values beyond the largest training
  category and silently maps other unseen values to the next training category; staticml
  deliberately does not reproduce that (see ``XGBoostReference``).
* ``XGBClassifier.predict`` labels a binary row 1 iff the *float32* probability is
  ``> 0.5``, which is ``margin > T`` for a tiny positive ``T`` (about 9e-8), not
  ``margin > 0``; staticml compares the margin with that ``T``.
* The scikit-learn wrappers predict with ``iteration_range=(0, best_iteration + 1)`` when
  early stopping set ``best_iteration``; a raw ``Booster`` uses every tree.
* The wrappers accept NaN and +-inf (``inplace_predict``); ``DMatrix``, which a raw
  ``Booster`` needs, refuses values that overflow float32, so only a Booster gets a check.

Remaining float32 differences: XGBoost's probabilities and ``exp`` outputs are float32
(``1/(1+expf(-x))``, ``expf``, its softmax); staticml's link ops compute in double, so these
outputs differ by about one float32 ulp (<= 1.2e-7 for probabilities). ``multi:softprob``
labels are the argmax of the margins; XGBoost takes the argmax of its float32
probabilities, which can differ only when the two largest margins are within ~3e-8.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import math
import re
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..errors import ModelFileError, UnsupportedModelError
from ..ir.graph import Builder
from ..ir.ops import (BinaryProba, CheckFinite, Classify, Elementwise, Head, Linear, Ordinal,
                      Regress, Slots, Softmax)
from ..ir.trees import Tree, assemble
from . import ubjson
from .registry import register

# -- limits: a model file is untrusted input ------------------------------------------------
MAX_FILE_BYTES = 1 << 30  # 1 GiB; a model this size would not compile to C anyway
MAX_FEATURES = 1 << 24
MAX_CLASSES = 1 << 16
MAX_NODES_PER_TREE = 1 << 24
MAX_CATEGORY = 16777216 - 1  # XGBoost's OutOfRangeCat(): categories are < this
MAX_BITSET_WORDS = 1 << 22  # 16 MB of categorical bitsets at most
F32_EPS = np.float32(1e-6)  # XGBoost's kRtEps
_F32_NEG_INF = np.float32(-np.inf)

# objective -> (ProbToMargin, PredTransform); verified against XGBoost 3.2 bit for bit
_OBJECTIVES: dict[str, tuple[str, str]] = {
    "reg:squarederror": ("identity", "identity"),
    "reg:linear": ("identity", "identity"),  # the pre-1.0 name of reg:squarederror
    "reg:squaredlogerror": ("identity", "identity"),
    "reg:pseudohubererror": ("identity", "identity"),
    "reg:absoluteerror": ("identity", "identity"),
    "reg:logistic": ("logit", "logistic"),
    "binary:logistic": ("logit", "logistic"),
    "count:poisson": ("log", "exp"),
    "reg:gamma": ("log", "exp"),
    "reg:tweedie": ("log", "exp"),
    "multi:softprob": ("identity", "softmax"),
    "multi:softmax": ("identity", "argmax"),
}
_CLASSIFIER_OBJECTIVES = ("binary:logistic", "multi:softprob", "multi:softmax")
KINDS = ("auto", "classifier", "regressor", "booster")
# XGBoost's category-container type codes -> numpy dtype of pandas integer categories
_CAT_DTYPES = {9: "int8", 10: "uint8", 11: "int16", 12: "uint16", 13: "int32", 14: "uint32",
               15: "int64", 16: "uint64"}


# ============================================================================================
# exact float32 arithmetic as XGBoost does it
# ============================================================================================

@lru_cache(maxsize=1)
def _libm() -> Any:
    """The C math library XGBoost links against, for ``logf``/``expf`` bit for bit."""
    names = [ctypes.util.find_library("m"), ctypes.util.find_library("c"), "ucrtbase", "msvcrt"]
    for name in names:
        if not name:
            continue
        try:
            lib = ctypes.CDLL(name)
            for fn in ("logf", "expf"):
                f = getattr(lib, fn)
                f.restype = ctypes.c_float
                f.argtypes = [ctypes.c_float]
            return lib
        except (OSError, AttributeError):
            continue
    return None


def logf(x: np.float32) -> np.float32:
    lib = _libm()
    if lib is not None:
        return np.float32(lib.logf(float(x)))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.float32(np.log(np.float64(x)))  # correctly rounded but for rare ties


def expf(x: np.float32) -> np.float32:
    lib = _libm()
    if lib is not None:
        return np.float32(lib.expf(float(x)))
    with np.errstate(over="ignore"):
        return np.float32(np.exp(np.float64(x)))


def sigmoid_f32(x: np.float32) -> np.float32:
    """XGBoost's ``common::Sigmoid``: ``1.0f / (1.0f + expf(-x))`` in float32."""
    one = np.float32(1.0)
    with np.errstate(over="ignore"):
        return one / (one + expf(-np.float32(x)))


@lru_cache(maxsize=1)
def binary_label_threshold() -> float:
    """The largest float32 margin ``T`` with ``sigmoid_f32(T) <= 0.5``.

    ``XGBClassifier.predict`` labels a row 1 iff its float32 probability is ``> 0.5``, i.e.
    iff the margin is ``> T``. ``T`` is about 8.9e-8: XGBoost's float32 sigmoid rounds to
    exactly 0.5 for smaller positive margins.
    """
    half = np.float32(0.5)
    lo = 0  # bit pattern of +0.0: sigmoid = 0.5
    hi = int(np.float32(1e-3).view(np.uint32))
    assert sigmoid_f32(np.uint32(hi).view(np.float32)) > half
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if sigmoid_f32(np.uint32(mid).view(np.float32)) <= half:
            lo = mid
        else:
            hi = mid
    return float(np.uint32(lo).view(np.float32))


_FLOAT_TEXT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\Z")


def _round_ties(d: np.ndarray, f: np.ndarray, text_of: Any) -> np.ndarray:
    """Fix float64 -> float32 double rounding where the decimal text is known.

    Rounding a decimal to float64 and then to float32 can differ from rounding it to float32
    directly only when the float64 lands exactly on a float32 midpoint; those (rare) values
    are re-rounded from their exact decimal text, ties to even, as XGBoost's parser does.
    """
    back = f.astype(np.float64)
    cand = np.flatnonzero((back != d) & np.isfinite(back))
    if cand.size == 0:
        return f
    toward = np.where(d[cand] > back[cand], np.float32(np.inf), _F32_NEG_INF).astype(np.float32)
    other = np.nextafter(f[cand], toward)
    with np.errstate(over="ignore", invalid="ignore"):
        mid = (back[cand] + other.astype(np.float64)) / 2
    out = f.copy()
    for pos in cand[d[cand] == mid]:
        text = text_of(int(pos))
        if text is None:
            continue
        a, b = f[pos], np.nextafter(f[pos], np.float32(np.inf) if d[pos] > back[pos]
                                    else _F32_NEG_INF)
        lo, hi = (a, b) if a < b else (b, a)
        exact = Fraction(text)
        m = (Fraction(float(lo)) + Fraction(float(hi))) / 2
        if exact < m:
            out[pos] = lo
        elif exact > m:
            out[pos] = hi
        else:
            out[pos] = lo if int(np.float32(lo).view(np.uint32)) % 2 == 0 else hi
    return out


def decimal_to_f32(text: str) -> np.float32:
    """Round a decimal string to the nearest float32 (ties to even) exactly."""
    s = text.strip()
    if s.lower().lstrip("+-") in ("nan", "inf", "infinity"):
        return np.float32(float(s))
    if len(s) > 100 or not _FLOAT_TEXT.match(s):
        raise ValueError(f"not a decimal number: {text[:40]!r}")
    d = np.array([float(s)])
    with np.errstate(over="ignore"):
        f = d.astype(np.float32)
    return _round_ties(d, f, lambda _: s)[0]


def base_margin(objective: str, base_score: Sequence[np.float32], n_groups: int,
                where: str = "model") -> tuple[np.float32, ...]:
    """``ProbToMargin(base_score)`` per output group, in float32 as XGBoost computes it."""
    scores = [np.float32(s) for s in base_score]
    if len(scores) == 1 and n_groups > 1:
        scores = scores * n_groups
    if len(scores) != n_groups:
        raise ModelFileError(
            f"{where}: base_score has {len(scores)} values but the model has {n_groups} "
            "outputs")
    if not all(np.isfinite(s) for s in scores):
        raise ModelFileError(f"{where}: base_score {scores} is not finite")
    link = _OBJECTIVES[objective][0]
    one = np.float32(1.0)
    out = []
    for p in scores:
        if link == "logit":
            p = min(max(p, F32_EPS), one - F32_EPS)
            m = -logf(one / p - one)
        elif link == "log":
            if not p > 0:
                raise ModelFileError(
                    f"{where}: base_score {float(p)} must be > 0 for {objective}")
            m = logf(p)
        else:
            m = p
        out.append(np.float32(m))
    return tuple(out)


# ============================================================================================
# parsing: JSON / UBJSON bytes -> validated XGBoostModel
# ============================================================================================

class _Num(str):
    """A JSON number with a fraction or exponent, kept as its text for exact float32 rounding."""


def _fail(where: str, what: str) -> ModelFileError:
    return ModelFileError(f"{where}: {what}")


def _sniff(data: bytes) -> str:
    head = data.lstrip()[:2]
    if head[:1] != b"{":
        raise ModelFileError(
            "not an XGBoost model: a JSON or UBJSON model starts with '{' "
            f"(found {bytes(data[:8])!r})")
    return "ubj" if head[1:2] and head[1:2] in b"iUIlL$#N" else "json"


def _decode(data: bytes, fmt: str, name: str) -> Any:
    if fmt == "ubj":
        if data[:1] != b"{":
            raise ModelFileError(
                f"{name}: not a UBJSON XGBoost model (it must start with '{{', found "
                f"{bytes(data[:8])!r})")
        if data[1:2] in (b'"', b" ", b"\n", b"\r", b"\t"):
            raise UnsupportedModelError(f"{name} holds JSON, not UBJSON; rename it to .json")
        return ubjson.decode(data, name=name)
    if _looks_ubj(data):
        raise UnsupportedModelError(f"{name}: not a JSON XGBoost model (it looks like UBJSON; "
                                    "save it as .ubj)")
    try:
        text = bytes(data).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ModelFileError(f"{name}: not UTF-8 JSON ({exc})") from None
    if not text.lstrip().startswith("{"):
        raise ModelFileError(f"{name}: not a JSON XGBoost model (it must start with '{{')")
    try:
        return json.loads(text, parse_float=_Num, parse_constant=_Num)
    except RecursionError:
        raise ModelFileError(f"{name}: JSON nested too deeply") from None
    except ValueError as exc:
        raise ModelFileError(f"{name}: not valid JSON ({exc})") from None


def _looks_ubj(data: bytes) -> bool:
    return data[:1] == b"{" and data[1:2] in (b"i", b"U", b"I", b"l", b"L")


def _get(obj: Any, key: str, where: str, kind: type | tuple | None = None,
         default: Any = ...) -> Any:
    if not isinstance(obj, dict):
        raise _fail(where, "is not a JSON object")
    if key not in obj:
        if default is not ...:
            return default
        raise _fail(where, f"missing key {key!r} (not an XGBoost model, or a damaged one)")
    value = obj[key]
    if kind is not None and not isinstance(value, kind):
        raise _fail(f"{where}.{key}", f"has the wrong type ({type(value).__name__})")
    return value


def _int_param(obj: Any, key: str, where: str, lo: int, hi: int, default: Any = ...) -> int:
    """XGBoost writes parameters as strings ("4"); accept ints too."""
    if default is not ... and isinstance(obj, dict) and key not in obj:
        return default
    value = _get(obj, key, where)
    if isinstance(value, bool):
        raise _fail(f"{where}.{key}", f"must be an integer, not {value!r}")
    if isinstance(value, str) and not isinstance(value, _Num) \
            and re.fullmatch(r"[+-]?[0-9]{1,19}", value.strip()):
        value = int(value)
    if not isinstance(value, (int, np.integer)) or isinstance(value, _Num):
        raise _fail(f"{where}.{key}", f"must be an integer, not {str(value)[:40]!r}")
    value = int(value)
    if not lo <= value <= hi:
        raise _fail(f"{where}.{key}", f"{value} is out of range [{lo}, {hi}]")
    return value


def _ints(obj: Any, key: str, where: str, n: int | None = None,
          default: Any = ...) -> np.ndarray:
    value = _get(obj, key, where, default=default)
    path = f"{where}.{key}"
    if isinstance(value, np.ndarray):
        if value.ndim != 1 or value.dtype.kind not in "iub":
            raise _fail(path, f"must be an array of integers (found {value.dtype})")
        out = value.astype(np.int64)
    elif isinstance(value, list):
        for v in value:
            if not isinstance(v, (int, bool)) or isinstance(v, _Num):
                raise _fail(path, f"must hold integers, found {str(v)[:40]!r}")
        try:
            out = np.array(value, dtype=np.int64) if value else np.zeros(0, np.int64)
        except OverflowError:
            raise _fail(path, "holds an integer out of range") from None
    else:
        raise _fail(path, "must be an array")
    if n is not None and len(out) != n:
        raise _fail(path, f"has {len(out)} entries, expected {n}")
    return out


def _floats32(obj: Any, key: str, where: str, n: int) -> np.ndarray:
    value = _get(obj, key, where)
    path = f"{where}.{key}"
    if isinstance(value, np.ndarray):
        if value.ndim != 1 or value.dtype.kind not in "iuf":
            raise _fail(path, f"must be an array of numbers (found {value.dtype})")
        with np.errstate(over="ignore"):
            out = value if value.dtype == np.float32 else value.astype(np.float32)
    elif isinstance(value, list):
        for v in value:
            if isinstance(v, bool) or not isinstance(v, (int, float, _Num)) \
                    or (isinstance(v, str) and not isinstance(v, _Num)):
                raise _fail(path, f"must hold numbers, found {str(v)[:40]!r}")
        try:
            d = np.array([float(v) for v in value], dtype=np.float64)
        except (OverflowError, ValueError):
            raise _fail(path, "holds a number out of range") from None
        with np.errstate(over="ignore"):
            f = d.astype(np.float32)
        out = _round_ties(d, f, lambda i: (str(value[i]) if isinstance(value[i], (_Num, int))
                                           else None))
    else:
        raise _fail(path, "must be an array")
    if len(out) != n:
        raise _fail(path, f"has {len(out)} entries, expected {n}")
    return out


def parse_base_score(value: Any, where: str = "learner_model_param.base_score") -> list:
    """``"5E-1"`` (2.x), ``"[5.0355E-1]"`` or ``"[a,b,c]"`` (3.x) -> float32 values, exactly."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return [np.float32(value)] if not isinstance(value, _Num) else [decimal_to_f32(value)]
    if not isinstance(value, str):
        raise _fail(where, f"must be a string, not {type(value).__name__}")
    text = value.strip()
    if len(text) > 1_000_000:
        raise _fail(where, "is too long")
    if text.startswith("[") and text.endswith("]"):
        tokens = [t.strip() for t in text[1:-1].split(",")]
    else:
        tokens = [text]
    if not tokens or any(not t for t in tokens) or len(tokens) > MAX_CLASSES:
        raise _fail(where, f"{text[:60]!r} is not a number or a list of numbers")
    out = []
    for t in tokens:
        try:
            out.append(decimal_to_f32(t))
        except ValueError:
            raise _fail(where, f"{text[:60]!r} is not a number or a list of numbers") from None
    return out


@dataclass(frozen=True, eq=False)
class XGBoostTree:
    """One validated tree, nodes renumbered in discovery order from the root (node 0).

    ``threshold`` is XGBoost's float32 split value (go left iff ``x < threshold``);
    ``categories[n]`` (categorical nodes) are the categories XGBoost sends *right*.
    """

    feature: np.ndarray  # int32, -1 = leaf
    threshold: np.ndarray  # float32
    left: np.ndarray
    right: np.ndarray
    default_left: np.ndarray
    leaf: np.ndarray  # float32 leaf values (0 on internal nodes)
    categories: tuple  # per node: tuple of ints, or None

    @property
    def n_nodes(self) -> int:
        return int(len(self.feature))


def _parse_tree(t: Any, where: str, num_feature: int) -> XGBoostTree:
    tp = _get(t, "tree_param", where, dict)
    n = _int_param(tp, "num_nodes", f"{where}.tree_param", 1, MAX_NODES_PER_TREE)
    leaf_vec = _int_param(tp, "size_leaf_vector", f"{where}.tree_param", 0, 1 << 20, default=1)
    if leaf_vec > 1:
        raise UnsupportedModelError(f"{where}: is a multi-target tree (size_leaf_vector="
                                    f"{leaf_vec}); staticml supports one output per tree")
    left = _ints(t, "left_children", where, n)
    right = _ints(t, "right_children", where, n)
    split_index = _ints(t, "split_indices", where, n)
    cond = _floats32(t, "split_conditions", where, n)
    default_left = _ints(t, "default_left", where, n)
    if ((default_left != 0) & (default_left != 1)).any():
        raise _fail(f"{where}.default_left", "must hold 0/1")
    split_type = _ints(t, "split_type", where, n, default=[0] * n)
    if ((split_type != 0) & (split_type != 1)).any():
        raise _fail(f"{where}.split_type", "must hold 0 (numerical) or 1 (categorical)")
    cat_of: dict[int, tuple[int, ...]] = {}
    if (split_type == 1).any():
        cats = _ints(t, "categories", where)
        nodes = _ints(t, "categories_nodes", where)
        segs = _ints(t, "categories_segments", where, len(nodes))
        sizes = _ints(t, "categories_sizes", where, len(nodes))
        for node, seg, size in zip(nodes.tolist(), segs.tolist(), sizes.tolist()):
            if not (0 <= node < n and 0 <= seg and 0 <= size and seg + size <= len(cats)):
                raise _fail(f"{where}.categories_segments",
                            f"entry for node {node} (segment {seg}, size {size}) is out of "
                            f"range ({len(cats)} categories, {n} nodes)")
            chosen = cats[seg:seg + size]
            if size and (chosen.min() < 0 or chosen.max() >= MAX_CATEGORY):
                raise _fail(f"{where}.categories",
                            f"node {node} holds a category outside [0, {MAX_CATEGORY})")
            cat_of[node] = tuple(sorted(set(chosen.tolist())))

    # Walk from the root: every reachable node exactly once, children in range.
    new_index = np.full(n, -1, dtype=np.int64)
    new_index[0] = 0
    order = [0]
    stack = [0]
    while stack:
        i = stack.pop()
        lc, rc = int(left[i]), int(right[i])
        if lc == -1 or rc == -1:
            if lc != rc:
                raise _fail(where, f"node {i} has one child ({lc}, {rc}); a node has two "
                                   "children or none")
            continue
        for c in (lc, rc):
            if not 0 <= c < n:
                raise _fail(where, f"node {i} has child {c}, outside the tree's {n} nodes")
            if new_index[c] != -1:
                raise _fail(where, f"node {c} is reached twice (from node {i}): the tree has "
                                   "a cycle or a shared subtree")
            new_index[c] = len(order)
            order.append(c)
            stack.append(c)
        f = int(split_index[i])
        if not 0 <= f < num_feature:
            raise _fail(where, f"node {i} splits on feature {f}, but the model has "
                               f"{num_feature} features")
        if split_type[i] == 1:
            if i not in cat_of:
                raise _fail(where, f"categorical node {i} has no category list")
        elif np.isnan(cond[i]) or cond[i] == _F32_NEG_INF:
            raise _fail(where, f"node {i} has split condition {cond[i]}")

    old = np.asarray(order, dtype=np.int64)
    is_leaf = left[old] == -1
    leaf_values = np.where(is_leaf, cond[old], np.float32(0)).astype(np.float32)
    if not np.isfinite(leaf_values).all():
        raise _fail(where, "has a leaf value that is not finite")
    feature = np.where(is_leaf, -1, split_index[old]).astype(np.int32)
    threshold = np.where(is_leaf | (split_type[old] == 1), np.float32(0),
                         cond[old]).astype(np.float32)
    new_left = np.where(is_leaf, -1, new_index[np.where(is_leaf, 0, left[old])]).astype(np.int32)
    new_right = np.where(is_leaf, -1,
                         new_index[np.where(is_leaf, 0, right[old])]).astype(np.int32)
    categories = tuple(cat_of.get(int(o)) if (split_type[o] == 1 and not is_leaf[k]) else None
                       for k, o in enumerate(order))
    return XGBoostTree(feature, threshold, new_left, new_right,
                       default_left[old].astype(bool), leaf_values, categories)


@dataclass(frozen=True)
class CategoryTable:
    """Training categories of one pandas-categorical feature: code ``k`` is ``values[k]``."""

    values: tuple  # str (string categories) or int
    is_string: bool
    dtype: str  # numpy dtype of the pandas categories ("object" for strings)


def _parse_categories(model: Any, num_feature: int, where: str) -> tuple:
    cats = _get(model, "cats", where, default=None)
    if cats is None:
        return (None,) * num_feature
    enc = _get(cats, "enc", f"{where}.cats", list, default=[])
    if not enc:
        return (None,) * num_feature
    if len(enc) != num_feature:
        raise _fail(f"{where}.cats.enc", f"has {len(enc)} entries for {num_feature} features")
    out: list[CategoryTable | None] = []
    for i, e in enumerate(enc):
        w = f"{where}.cats.enc[{i}]"
        if not isinstance(e, dict):
            raise _fail(w, "is not a JSON object")
        values = _ints(e, "values", w)
        if "offsets" in e:
            offsets = _ints(e, "offsets", w)
            if len(offsets) == 0:
                if len(values):
                    raise _fail(w, "has category bytes but no offsets")
                out.append(None)
                continue
            if offsets[0] != 0 or offsets[-1] != len(values) or (np.diff(offsets) < 0).any():
                raise _fail(f"{w}.offsets", "do not partition the category bytes")
            if len(values) and (values.min() < 0 or values.max() > 127):
                raise UnsupportedModelError(
                    f"{w}: a category name is not ASCII; XGBoost stores such names truncated "
                    "(byte count taken as character count), so staticml cannot tell which "
                    "string each code stands for. Use ASCII category names")
            raw = bytes(values.astype(np.uint8).tolist())
            names = tuple(raw[a:b].decode("ascii") for a, b in zip(offsets[:-1], offsets[1:]))
            if len(set(names)) != len(names):
                raise _fail(w, "lists a category twice")
            out.append(CategoryTable(names, True, "object"))
        elif "type" in e:
            code = _int_param(e, "type", w, 0, 255)
            if len(values) == 0:
                out.append(None)
                continue
            if np.abs(values).max() > 2 ** 53:
                raise _fail(w, "holds an integer category beyond 2^53 (not exact in a double)")
            if len(set(values.tolist())) != len(values):
                raise _fail(w, "lists a category twice")
            out.append(CategoryTable(tuple(values.tolist()), False, _CAT_DTYPES.get(code, "int64")))
        else:
            raise _fail(w, "has neither 'offsets' (string categories) nor 'type' (integers)")
    return tuple(out)


def _string_list(obj: Any, key: str, where: str, n: int) -> tuple[str, ...] | None:
    value = _get(obj, key, where, default=[])
    if not isinstance(value, list) or not all(isinstance(v, str) and not isinstance(v, _Num)
                                              for v in value):
        raise _fail(f"{where}.{key}", "must be a list of strings")
    if not value:
        return None
    if len(value) != n:
        raise _fail(f"{where}.{key}", f"has {len(value)} entries for {n} features")
    return tuple(value)


class XGBoostModel:
    """An XGBoost model read by staticml's own parser from its JSON/UBJSON serialisation.

    Mirrors what produced it: ``kind`` is ``"classifier"`` (``XGBClassifier`` semantics:
    ``classes_`` = 0..k-1, ``predict`` labels, ``predict_proba``), ``"regressor"``
    (``XGBRegressor``) or ``"booster"`` (``Booster.predict(DMatrix(X))``). The wrappers use
    ``best_iteration`` when early stopping recorded one; a Booster uses every tree.
    ``predict``/``predict_proba`` run the original model through XGBoost (``reference_model``)
    and need xgboost installed; reading and compiling the model do not.
    ``library = "xgboost"`` names the source library for the bundle manifest.
    """

    def __init__(self, *, raw: bytes, fmt: str, source: str, kind: str, objective: str,
                 num_feature: int, feature_names: tuple | None, feature_types: tuple | None,
                 n_groups: int, num_class: int, base_score: tuple, trees: tuple,
                 tree_group: np.ndarray, iteration_indptr: np.ndarray,
                 best_iteration: int | None, categories: tuple, version: tuple,
                 attributes: dict) -> None:
        self._raw = raw
        self.format = fmt
        self.source = source
        self.kind = kind
        self.objective = objective
        self.n_features_in_ = num_feature
        self.feature_names = feature_names
        self.feature_types = feature_types
        self.n_groups = n_groups
        self.num_class = num_class
        self.base_score = base_score
        self.base_margin = base_margin(objective, base_score, n_groups, source)
        self.trees = trees
        self.tree_group = tree_group
        self.iteration_indptr = iteration_indptr
        self.best_iteration = best_iteration
        self.categories = categories
        self.version = version
        self.attributes = attributes
        self.library = "xgboost"
        self._xgb: Any = None

    # -- the scikit-learn-like surface staticml's schema and parity code read -------------
    @property
    def classes_(self) -> np.ndarray:
        if self.kind != "classifier":
            raise AttributeError("classes_ (this XGBoost model is not a classifier)")
        return np.arange(self.n_classes_)

    @property
    def n_classes_(self) -> int:
        if self.kind != "classifier":
            raise AttributeError("n_classes_ (this XGBoost model is not a classifier)")
        return 2 if self.n_groups == 1 else self.n_groups

    @property
    def feature_names_in_(self) -> np.ndarray:
        if self.feature_names is None:
            raise AttributeError("feature_names_in_ (the model file has no feature names)")
        return np.asarray(self.feature_names, dtype=object)

    @property
    def n_iterations(self) -> int:
        return int(len(self.iteration_indptr) - 1)

    def tree_range(self) -> tuple[int, int]:
        """Trees ``predict`` uses: every one, or those of iterations ``0..best_iteration``."""
        end = self.n_iterations
        if self.kind != "booster" and self.best_iteration is not None:
            end = self.best_iteration + 1
        return int(self.iteration_indptr[0]), int(self.iteration_indptr[end])

    def to_bytes(self) -> bytes:
        """The serialised model exactly as read."""
        return self._raw

    def xgboost_model(self) -> Any:
        """The same bytes loaded into xgboost: an ``XGBClassifier``, ``XGBRegressor`` or
        ``Booster`` by ``kind``; None if xgboost is not installed."""
        if self._xgb is not None:
            return self._xgb
        try:
            import xgboost as xgb
        except ImportError:
            return None
        booster = xgb.Booster()
        booster.load_model(bytearray(self._raw))
        if self.kind == "booster":
            self._xgb = booster
            return booster
        # The wrapper refuses a file whose scikit_learn attribute names the other kind; the
        # kind here is already decided (from that attribute, the objective, or the caller).
        booster.set_attr(scikit_learn=None)
        est = xgb.XGBClassifier() if self.kind == "classifier" else xgb.XGBRegressor()
        est.load_model(bytearray(booster.save_raw("ubj")))
        self._xgb = est
        return est

    def reference_model(self) -> Any:
        """The original model as XGBoost runs it, for parity checks; None without xgboost.

        An ``XGBoostReference`` around ``xgboost_model()``: ``predict``/``predict_proba``
        (classifiers) return exactly what the xgboost object returns when called the way its
        users call it (a Booster through ``DMatrix``; pandas-categorical columns with their
        category dtype).
        """
        model = self.xgboost_model()
        if model is None:
            return None
        cls = XGBoostClassifierReference if self.kind == "classifier" else XGBoostReference
        return cls(model, self)

    def predict(self, X: Any) -> np.ndarray:
        return parity_model(self).predict(X)

    @property
    def predict_proba(self) -> Any:
        if self.kind != "classifier":
            raise AttributeError("predict_proba (this XGBoost model is not a classifier)")
        return lambda X: parity_model(self).predict_proba(X)

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_xgb"] = None
        return state

    def __repr__(self) -> str:
        return (f"XGBoostModel({self.kind}, objective={self.objective!r}, "
                f"{len(self.trees)} trees, {self.n_features_in_} features, from {self.source})")


def parse_model(data: bytes, kind: str = "auto", source: str = "model",
                fmt: str | None = None) -> XGBoostModel:
    """Parse and validate an XGBoost JSON or UBJSON model (bytes) into an ``XGBoostModel``.

    Raises ``UnsupportedModelError`` naming the problem for anything malformed or unsupported.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    data = bytes(data)
    if len(data) > MAX_FILE_BYTES:
        raise UnsupportedModelError(f"{source}: {len(data)} bytes is larger than the "
                                    f"{MAX_FILE_BYTES} staticml reads")
    fmt = fmt or _sniff(data)
    doc = _decode(data, fmt, source)
    try:
        return _model_from_doc(doc, data, fmt, kind, source)
    except UnsupportedModelError:
        raise
    except (TypeError, ValueError, KeyError, IndexError, OverflowError, AttributeError,
            ZeroDivisionError, RecursionError) as exc:  # a malformed file we did not foresee
        raise ModelFileError(
            f"{source}: malformed XGBoost model ({type(exc).__name__}: {exc})") from None


def load_xgboost_file(path: str | Path, kind: str = "auto") -> XGBoostModel:
    """Read an XGBoost ``.json``/``.ubj`` model file (no XGBoost code runs to read it)."""
    path = Path(path)
    if not path.is_file():
        raise UnsupportedModelError(f"model file {path} does not exist")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise UnsupportedModelError(f"{path.name}: {size} bytes is larger than the "
                                    f"{MAX_FILE_BYTES} staticml reads")
    data = path.read_bytes()
    suffix = path.suffix.lower()
    fmt = {".json": "json", ".ubj": "ubj"}.get(suffix)
    if fmt == "json" and _looks_ubj(data):
        raise UnsupportedModelError(f"{path.name} holds UBJSON, not JSON; rename it to .ubj")
    return parse_model(data, kind=kind, source=path.name, fmt=fmt)


def _model_from_doc(doc: Any, raw: bytes, fmt: str, kind: str, source: str) -> XGBoostModel:
    w = source
    learner = _get(doc, "learner", w, dict)
    version = _get(doc, "version", w, default=[])
    if not isinstance(version, (list, np.ndarray)):
        raise _fail(f"{w}.version", "must be a list")
    version = tuple(int(v) for v in list(version)[:3] if isinstance(v, (int, np.integer)))
    wl = f"{w}: learner"
    lmp = _get(learner, "learner_model_param", wl, dict)
    wp = f"{wl}.learner_model_param"
    num_feature = _int_param(lmp, "num_feature", wp, 1, MAX_FEATURES)
    num_class = _int_param(lmp, "num_class", wp, 0, MAX_CLASSES, default=0)
    num_target = _int_param(lmp, "num_target", wp, 0, 1 << 20, default=1)
    if num_target > 1:
        raise UnsupportedModelError(f"{w}: multi-output model ({num_target} targets); staticml "
                                    "supports one target (or one multi-class output)")
    base_score = parse_base_score(_get(lmp, "base_score", wp), f"{wp}.base_score")

    objective = _get(_get(learner, "objective", wl, dict), "name", f"{wl}.objective", str)
    if objective not in _OBJECTIVES:
        raise UnsupportedModelError(
            f"{w}: objective {objective!r} is not supported; supported: "
            f"{', '.join(sorted(_OBJECTIVES))}")
    multi = objective.startswith("multi:")
    if multi and num_class < 1:
        raise _fail(wp, f"{objective} needs num_class >= 1")
    if not multi and num_class > 1:
        raise _fail(wp, f"num_class={num_class} with the single-output objective {objective}")
    n_groups = num_class if multi else 1

    gb = _get(learner, "gradient_booster", wl, dict)
    gb_name = _get(gb, "name", f"{wl}.gradient_booster", str)
    if gb_name != "gbtree":
        why = {"dart": "DART drops and re-weights trees (weight_drop)",
               "gblinear": "it is a linear model, not trees"}.get(gb_name, "unknown booster")
        raise UnsupportedModelError(f"{w}: booster {gb_name!r} is not supported ({why}); "
                                    "staticml compiles booster='gbtree'")
    wm = f"{wl}.gradient_booster.model"
    model = _get(gb, "model", f"{wl}.gradient_booster", dict)
    gbp = _get(model, "gbtree_model_param", wm, dict)
    num_trees = _int_param(gbp, "num_trees", f"{wm}.gbtree_model_param", 0, 1 << 31)
    n_parallel = _int_param(gbp, "num_parallel_tree", f"{wm}.gbtree_model_param", 1, 1 << 31,
                            default=1)
    trees_doc = _get(model, "trees", wm, list)
    if len(trees_doc) != num_trees:
        raise _fail(f"{wm}.trees", f"has {len(trees_doc)} trees, num_trees says {num_trees}")
    tree_info = _ints(model, "tree_info", wm, num_trees)
    if num_trees and (tree_info.min() < 0 or tree_info.max() >= n_groups):
        raise _fail(f"{wm}.tree_info", f"names an output group outside [0, {n_groups})")
    if "iteration_indptr" in model:
        indptr = _ints(model, "iteration_indptr", wm)
        if len(indptr) < 1 or indptr[0] != 0 or indptr[-1] != num_trees \
                or (np.diff(indptr) < 0).any():
            raise _fail(f"{wm}.iteration_indptr", f"does not partition the {num_trees} trees")
    else:
        per = n_parallel * n_groups
        if num_trees % per:
            raise _fail(wm, f"{num_trees} trees do not make whole iterations of {per}")
        indptr = np.arange(0, num_trees + 1, per, dtype=np.int64)

    attributes = _get(learner, "attributes", wl, dict, default={})
    attributes = {k: v for k, v in attributes.items() if isinstance(v, str)}
    best_iteration = None
    if "best_iteration" in attributes:
        best_iteration = _int_param(attributes, "best_iteration", f"{wl}.attributes", 0,
                                    1 << 31)
        if best_iteration + 1 > len(indptr) - 1:
            raise _fail(f"{wl}.attributes", f"best_iteration {best_iteration} is beyond the "
                                            f"model's {len(indptr) - 1} iterations")

    feature_names = _string_list(learner, "feature_names", wl, num_feature)
    feature_types = _string_list(learner, "feature_types", wl, num_feature)
    categories = _parse_categories(model, num_feature, wm)

    if kind == "auto":
        kind = _kind_from_attributes(attributes, w) or (
            "classifier" if objective in _CLASSIFIER_OBJECTIVES else "regressor")
    trees = tuple(_parse_tree(t, f"{wm}.trees[{i}]", num_feature)
                  for i, t in enumerate(trees_doc))
    return XGBoostModel(
        raw=raw, fmt=fmt, source=source, kind=kind, objective=objective,
        num_feature=num_feature, feature_names=feature_names, feature_types=feature_types,
        n_groups=n_groups, num_class=num_class, base_score=tuple(base_score), trees=trees,
        tree_group=tree_info.astype(np.int32), iteration_indptr=indptr,
        best_iteration=best_iteration, categories=categories, version=version,
        attributes=attributes)


def _kind_from_attributes(attributes: dict, source: str) -> str | None:
    meta = attributes.get("scikit_learn")
    if not meta or len(meta) > 100_000:
        return None
    try:
        kind = json.loads(meta).get("_estimator_type")
    except (ValueError, AttributeError, RecursionError):
        return None
    if kind in ("classifier", "regressor"):
        return kind
    if kind is not None:
        raise UnsupportedModelError(f"{source}: the model was saved from an XGBoost {kind}; "
                                    "staticml compiles classifiers and regressors")
    return None


# ============================================================================================
# live XGBoost objects -> the same parser
# ============================================================================================

_WRAPPER_KIND = {"XGBClassifier": "classifier", "XGBRFClassifier": "classifier",
                 "XGBRegressor": "regressor", "XGBRFRegressor": "regressor"}


def from_estimator(est: Any) -> XGBoostModel:
    """An ``XGBoostModel`` for a live Booster / scikit-learn wrapper (via ``save_raw``)."""
    if isinstance(est, XGBoostModel):
        return est
    name = type(est).__name__
    if name == "Booster":
        return parse_model(bytes(est.save_raw("json")), kind="booster", source="Booster",
                           fmt="json")
    if name not in _WRAPPER_KIND:
        raise UnsupportedModelError(f"{name} is not a supported XGBoost model")
    if callable(getattr(est, "objective", None)):
        raise UnsupportedModelError(
            f"{name} with a custom (callable) objective: XGBoost does not record how its "
            "margins turn into predictions; train with a built-in objective")
    missing = getattr(est, "missing", np.nan)
    if missing is not None and not (isinstance(missing, float) and math.isnan(missing)):
        raise UnsupportedModelError(
            f"{name}(missing={missing!r}): XGBoost treats every value whose float32 rounding "
            f"equals float32({missing!r}) as missing, which staticml cannot express; use "
            "missing=np.nan and pass NaN for missing values")
    try:
        booster = est.get_booster()
    except Exception as exc:  # NotFittedError / XGBoostError
        raise UnsupportedModelError(f"{name} is not fitted ({exc})") from None
    return parse_model(bytes(booster.save_raw("json")), kind=_WRAPPER_KIND[name], source=name,
                       fmt="json")


# ============================================================================================
# lowering to IR
# ============================================================================================

def _input_slots(m: XGBoostModel, b: Builder, src: Slots, est: str) -> Slots:
    """Map each input column to the value XGBoost's trees read (category codes, re-coded)."""
    out = []
    for i, s in enumerate(src):
        table = m.categories[i]
        name = b.inputs[s].name if s < len(b.inputs) else f"feature {i}"
        is_cat = table is not None or (m.feature_types is not None and m.feature_types[i] == "c")
        if b.is_string(s):
            if table is None or not table.is_string:
                what = ("was trained on integer category codes" if is_cat
                        else "is numeric")
                raise UnsupportedModelError(
                    f"column {name!r} holds strings but feature {i} of the {est} {what}; pass "
                    "it as numbers")
            pairs = sorted((float(b.code(s, c)), float(k)) for k, c in enumerate(table.values))
        elif table is not None and table.is_string:
            raise UnsupportedModelError(
                f"column {name!r} holds numbers but the {est} learned string categories "
                f"{list(table.values[:5])} for it; pass it as strings (a pandas category or "
                "str column)")
        elif table is not None:
            pairs = sorted((float(c), float(k)) for k, c in enumerate(table.values))
        else:
            out.append(s)
            continue
        dst = b.alloc(1)[0]
        b.emit(Ordinal(s, dst, tuple(p[0] for p in pairs), tuple(p[1] for p in pairs),
                       missing_value=float("nan"), unknown_value=None,
                       note=f"{est}: pandas category -> training code (unseen = error)"))
        out.append(dst)
    return tuple(out)


def _ir_tree(t: XGBoostTree, target: int) -> Tree:
    is_leaf = t.feature < 0
    is_cat = np.asarray([c is not None for c in t.categories], dtype=bool)
    # x < t  <=>  (float)x <= nextafter(t, -inf) for every float32 x
    below = np.nextafter(t.threshold, _F32_NEG_INF).astype(np.float64)
    threshold = np.where(is_leaf | is_cat, 0.0, below)
    # categories in the set go right in XGBoost: swap, so "in the set" is our left
    left = np.where(is_cat, t.right, t.left)
    right = np.where(is_cat, t.left, t.right)
    default_left = np.where(is_cat, ~t.default_left, t.default_left)
    return Tree(feature=t.feature, threshold=threshold, left=left, right=right,
                default_left=default_left, value=t.leaf.astype(np.float64)[:, None],
                target=target, categories=list(t.categories))


def lower_model(m: XGBoostModel, b: Builder, src: Slots) -> Head:
    est = {"classifier": "XGBClassifier", "regressor": "XGBRegressor",
           "booster": "Booster"}[m.kind]
    if len(src) != m.n_features_in_:
        raise UnsupportedModelError(f"the {est} takes {m.n_features_in_} features, the input "
                                    f"has {len(src)} columns")
    transform = _OBJECTIVES[m.objective][1]
    if m.kind == "classifier":
        if m.objective not in _CLASSIFIER_OBJECTIVES:
            raise UnsupportedModelError(f"XGBClassifier with objective {m.objective!r}: "
                                        f"supported are {', '.join(_CLASSIFIER_OBJECTIVES)}")
        if m.objective.startswith("multi:") and m.n_groups < 3:
            raise UnsupportedModelError(
                f"XGBClassifier with {m.objective} and num_class={m.n_groups}: XGBClassifier "
                "treats this as multi-label; use binary:logistic for two classes")
    elif transform == "argmax":
        raise UnsupportedModelError(
            f"{est} with objective multi:softmax predicts argmax labels as numbers; compile "
            "it as a classifier (XGBClassifier, or load_xgboost_file(path, kind='classifier'))"
            " or train with multi:softprob")
    if m.kind == "booster":
        numeric = tuple(s for s in src if not b.is_string(s))
        if numeric:
            b.emit(CheckFinite(numeric, allow_nan=True, allow_inf=False, float32=True,
                               note="xgboost.DMatrix refuses inf and values beyond float32"))
    x = _input_slots(m, b, src, est)
    start, end = m.tree_range()
    trees = [_ir_tree(m.trees[i], int(m.tree_group[i]) if m.n_groups > 1 else 0)
             for i in range(start, end)]
    _check_bitsets(trees)
    margin = b.alloc(m.n_groups)
    used = (end - start)
    note = (f"{est} ({m.objective}): {used} trees, {m.n_iterations} iterations"
            + (f", best_iteration {m.best_iteration}" if end < m.iteration_indptr[-1] else ""))
    b.emit(assemble(trees, x, margin, [float(v) for v in m.base_margin], input_float32=True,
                    accumulate_float32=True, note=note))

    if m.kind == "classifier":
        classes = tuple(range(m.n_classes_))
        dtype = np.arange(1).dtype.str
        if m.n_groups == 1:
            # predict: float32 sigmoid(margin) > 0.5  <=>  margin > T
            dec = b.alloc(1)
            b.emit(Linear(margin, dec, np.ones((1, 1)), (-binary_label_threshold(),),
                          note="XGBClassifier label: float32 probability > 0.5"))
            proba = b.alloc(2)
            b.emit(BinaryProba(margin[0], (proba[0], proba[1]), "logistic",
                               note="predict_proba"))
            return Classify(classes, dtype, "positive", dec, proba, has_decision_function=False)
        proba = b.alloc(m.n_groups)
        b.emit(Softmax(margin, proba, note="predict_proba"))
        return Classify(classes, dtype, "argmax", margin, proba, has_decision_function=False)

    squeeze = m.n_groups == 1
    if transform == "identity":
        return Regress(margin, squeeze=squeeze)
    out = b.alloc(m.n_groups)
    if transform == "softmax":
        b.emit(Softmax(margin, out, note=f"{m.objective} probabilities"))
    else:
        b.emit(Elementwise(margin, out, transform, note=f"{m.objective} inverse link"))
    return Regress(out, squeeze=squeeze)


def _check_bitsets(trees: list[Tree]) -> None:
    n_sets, top = 0, 0
    for t in trees:
        for c in t.categories or ():
            if c is not None:
                n_sets += 1
                top = max(top, max(c, default=0))
    if n_sets * (top // 32 + 1) > MAX_BITSET_WORDS:
        raise UnsupportedModelError(
            f"{n_sets} categorical splits over categories up to {top} need more than "
            f"{MAX_BITSET_WORDS * 4 >> 20} MB of bitsets; staticml refuses models this large")


@register("xgboost.XGBClassifier", "xgboost.XGBRegressor", "xgboost.XGBRFClassifier",
          "xgboost.XGBRFRegressor", "xgboost.Booster", "staticml.XGBoostModel",
          kind="predictor")
def convert_xgboost(est: Any, b: Builder, src: Slots) -> Head:
    return lower_model(from_estimator(est), b, src)


# ============================================================================================
# the original model, as its users call it (for staticml's parity check)
# ============================================================================================

class XGBoostReference:
    """Calls the original XGBoost model the way its users do, for the parity check.

    * a raw Booster predicts through ``DMatrix`` (which is what refuses inf);
    * DataFrame columns of pandas-categorical features are given back their category dtype
      with the training categories (the probe rows staticml appends lose it), so XGBoost
      re-codes them as it would for the user;
    * a category not seen in training makes the row an error. This deliberately departs
      from XGBoost 3.2, whose re-coder raises only for values beyond the largest training
      category and silently maps any other unseen value to the next training category
      (``'c'`` -> ``'d'`` for training categories ``b, d, f``): the compiled model sees an
      unseen string only as "unknown" and refuses it (``E_UNKNOWN_CATEGORY``) rather than
      return a prediction for a category it never learned.
    """

    def __init__(self, model: Any, parsed: XGBoostModel) -> None:
        self.model = model
        self.parsed = parsed

    def _prepare(self, X: Any) -> Any:
        m = self.parsed
        if not (hasattr(X, "columns") and any(t is not None for t in m.categories)):
            return X
        import pandas as pd

        X = X.copy()
        names = m.feature_names or tuple(str(c) for c in X.columns)
        for name, table in zip(names, m.categories):
            if table is None or name not in X.columns:
                continue
            X[name] = _as_category(X[name], table, pd)
        return X

    def _dmatrix(self, X: Any) -> Any:
        import xgboost as xgb

        cat = any(t is not None for t in self.parsed.categories) or (
            self.parsed.feature_types is not None and "c" in self.parsed.feature_types)
        if hasattr(X, "columns"):
            return xgb.DMatrix(X, enable_categorical=cat)
        return xgb.DMatrix(np.asarray(X, dtype=np.float64),
                           feature_names=list(self.parsed.feature_names or []) or None,
                           feature_types=list(self.parsed.feature_types or []) or None,
                           enable_categorical=cat)

    def predict(self, X: Any) -> np.ndarray:
        X = self._prepare(X)
        if self.parsed.kind == "booster":
            return self.model.predict(self._dmatrix(X))
        return self.model.predict(X)


class XGBoostClassifierReference(XGBoostReference):
    def __init__(self, model: Any, parsed: XGBoostModel) -> None:
        super().__init__(model, parsed)
        self.classes_ = parsed.classes_

    def predict_proba(self, X: Any) -> np.ndarray:
        return self.model.predict_proba(self._prepare(X))


def _as_category(col: Any, table: CategoryTable, pd: Any) -> Any:
    values = list(col.to_numpy(dtype=object))
    known = set(table.values)
    clean = []
    for v in values:
        if v is None or (isinstance(v, float) and math.isnan(v)) \
                or type(v).__name__ in ("NAType", "NaTType"):
            clean.append(None)
            continue
        if not table.is_string:
            if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.number)) \
                    or not float(v).is_integer():
                raise ValueError(f"{v!r} is not an integer category")
            v = int(v)
        if v not in known:
            # XGBoost 3.2 raises only for categories beyond the largest training one and
            # silently re-codes the others to the next training category (a lower_bound
            # without an equality check); staticml refuses every unseen category.
            raise ValueError(f"category {v!r} was not seen in training")
        clean.append(v)
    index = pd.Index(list(table.values), dtype=object if table.is_string else table.dtype)
    return pd.Categorical(clean, categories=index)


def parity_model(obj: Any) -> Any:
    """What staticml's parity check should call ``predict``/``predict_proba`` on."""
    if isinstance(obj, XGBoostReference):
        return obj
    if isinstance(obj, XGBoostModel):
        ref = obj.reference_model()
        if ref is None:
            raise UnsupportedModelError(
                "xgboost is not installed, so the original model cannot be run to check the "
                "compiled one; pip install xgboost")
        return ref
    parsed = from_estimator(obj)
    cls = XGBoostClassifierReference if parsed.kind == "classifier" else XGBoostReference
    return cls(obj, parsed)


# XGBoost's transformed outputs (probabilities, expf) are float32, staticml's link ops are
# double: they differ by float32 rounding, about 1.2e-7 relative (margins are bit-exact).
FLOAT32_RTOL = 1e-6


def parity_tolerance(*outputs: Any) -> float:
    """Absolute parity tolerance for XGBoost outputs: ``FLOAT32_RTOL * max(1, max |output|)``.

    Pass the reference's values/probabilities (None entries are skipped).
    """
    scale = 1.0
    for arr in outputs:
        if arr is None:
            continue
        a = np.abs(np.asarray(arr, dtype=np.float64))
        a = a[np.isfinite(a)]
        if a.size:
            scale = max(scale, float(a.max()))
    return FLOAT32_RTOL * scale


def is_xgboost(obj: Any) -> bool:
    """Is ``obj`` a model this frontend handles (the parity check must use ``parity_model``)?"""
    mod = type(obj).__module__.split(".")[0]
    return isinstance(obj, (XGBoostModel, XGBoostReference)) or (
        mod == "xgboost" and (type(obj).__name__ in _WRAPPER_KIND
                              or type(obj).__name__ == "Booster"))


__all__ = ["XGBoostModel", "XGBoostTree", "CategoryTable", "load_xgboost_file", "parse_model",
           "from_estimator", "lower_model", "parity_model", "is_xgboost", "XGBoostReference",
           "XGBoostClassifierReference", "FLOAT32_RTOL", "parity_tolerance",
           "binary_label_threshold", "sigmoid_f32", "decimal_to_f32", "parse_base_score",
           "base_margin"]
