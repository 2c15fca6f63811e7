"""LightGBM: ``LGBMClassifier``, ``LGBMRegressor``, ``Booster`` and ``model.txt`` files.

Every route goes through one validating parser of LightGBM's text format (vendor objects via
``booster.model_to_string()``), so what is compiled is exactly what a model file holds and
no LightGBM code runs on an untrusted file. ``parse_model_text`` refuses anything malformed
or hostile with an ``UnsupportedModelError`` naming the problem: every array length is
checked against ``num_leaves``, child pointers must form one tree rooted at node 0, every
number must parse (finite; thresholds may be +-inf, as LightGBM writes them) and every size
is bounded before anything is allocated for it. Refused by name: linear trees, ``reg_sqrt``,
``cross_entropy_lambda``, pandas ``category`` columns, ``pred_early_stop``.

Numerics reproduced (LightGBM 4.x ``include/LightGBM/tree.h``, ``c_api.cpp``, objectives):

* Dense rows reach the trees through a sparse (index, value) list that drops every value
  with ``|x| <= kZeroThreshold``, so such values arrive as exactly ``0.0``.
  ``kZeroThreshold`` is the *float* literal ``1e-35f`` widened to double
  (``1.0000000180025095e-35``). Numeric thresholds in ``[-kZ, kZ)`` are moved so that
  ``x <= t`` gives the flushed answer for every x (see ``_flush_threshold``).
* Numeric splits: NaN becomes 0.0 unless the node's missing type is NaN; missing type Zero
  sends NaN and ``|x| <= kZ`` to the default child; otherwise ``x <= threshold`` in double.
  These are ``TreeEnsemble``'s MISSING_NONE / MISSING_ZERO / MISSING_NAN rules.
* Categorical splits: NaN goes right; otherwise ``int k = (int)x`` (truncation toward zero),
  ``k < 0`` goes right, else left iff bit ``k`` of the node's bitset is set. Truncation sends
  ``-1 < x < 0`` to category 0, while ``TreeEnsemble`` calls every negative value invalid,
  so a node whose set holds category 0 is preceded by two numeric nodes on the same feature
  (``x <= -1`` -> right child, ``x < 0`` -> left child, else the bitset test). The children
  are shared, which the IR allows (nodes are arrays with absolute child indices).
* Leaf values in the text already include shrinkage; the trees of one iteration are added
  class by class, iteration by iteration, in double, starting from 0.0; ``average_output``
  (random forest boosting) divides by the number of iterations used.
* Output transforms (``ConvertOutput``): binary and multiclassova ``1 / (1 + exp(-s * raw))``
  with the model's ``sigmoid:s`` (a ``MulAdd`` by ``s`` when ``s != 1``, then logistic),
  multiclass softmax, cross_entropy logistic, poisson/gamma/tweedie ``exp``, identity for
  the other regression and ranking objectives.
* ``LGBMClassifier.predict_proba`` is ``(1 - p, p)`` for binary models and the transformed
  outputs otherwise; ``predict`` is the first argmax of those, mapped through ``classes_``.
* Which trees: ``predict`` uses ``best_iteration`` when it is > 0 (early stopping), else
  every tree; a model file holds exactly the trees it was saved with.

LightGBM accepts NaN and +-inf at predict time, so no CheckFinite is emitted.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..errors import ModelFileError, UnsupportedModelError
from ..ir.graph import Builder
from ..ir.ops import (MISSING_NAN, MISSING_NONE, MISSING_ZERO, BinaryProba, Classify,
                      Elementwise, Head, MulAdd, Ordinal, Regress, Slots, Softmax)
from ..ir.trees import Tree, assemble
from .registry import key_of, register
from .sklearn._common import category_key, sorted_keys

__all__ = ["LightGBMModel", "load_lightgbm_file", "parse_model_text", "KZERO"]

# LightGBM's kZeroThreshold: `const double kZeroThreshold = 1e-35f;` (a float literal).
KZERO = float(np.float32(1e-35))  # 1.0000000180025095e-35

# ---- bounds: a model file can never make the parser allocate more than these ------------
MAX_FILE_BYTES = 512 * 1024 * 1024
MAX_LEAVES = 131072              # LightGBM's own upper bound for num_leaves
MAX_FEATURES = 1_000_000
MAX_CLASSES = 10_000
MAX_TREES = 1_000_000
MAX_TOTAL_NODES = 20_000_000     # over all trees, after the categorical rewrite
MAX_CAT_WORDS = 1 << 26          # one bitset never covers more than 2^31 categories
MAX_CAT_DENSE_WORDS = 1 << 24    # the IR's dense (cat nodes x words) bitset table
MAX_TREE_LINES = 22              # LightGBM's tree reader stops after 22 key=value lines
MAX_TOKEN = 64
MAX_PANDAS_CATEGORICAL = 16 * 1024 * 1024

KNOWN_VERSIONS = ("v2", "v3", "v4")
HEADER_KEYS = {"tree", "version", "num_class", "num_tree_per_iteration", "label_index",
               "max_feature_idx", "objective", "average_output", "feature_names",
               "monotone_constraints", "feature_infos", "tree_sizes"}
TREE_KEYS = {"num_leaves", "num_cat", "split_feature", "split_gain", "threshold",
             "decision_type", "left_child", "right_child", "leaf_value", "leaf_weight",
             "leaf_count", "internal_value", "internal_weight", "internal_count",
             "cat_boundaries", "cat_threshold", "is_linear", "shrinkage", "leaf_const",
             "num_features", "leaf_features", "leaf_coeff", "leaf_parent"}

# objective -> output transform
_IDENTITY = {"regression", "regression_l1", "huber", "fair", "quantile", "mape", "lambdarank",
             "rank_xendcg", "none", "custom"}
_EXP = {"poisson", "gamma", "tweedie"}
_CLASSIFIER_OBJECTIVES = {"binary", "multiclass", "multiclassova"}

_INT = re.compile(r"[-+]?[0-9]{1,19}")
_FLOAT = re.compile(r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]{1,4})?")


class LightGBMParseError(ModelFileError):
    """A LightGBM model text that staticml refuses (malformed, hostile or unsupported)."""


def _fail(where: str, msg: str) -> LightGBMParseError:
    return LightGBMParseError(f"LightGBM model text: {where}: {msg}" if where
                              else f"LightGBM model text: {msg}")


# ------------------------------------------------------------------------- the model
@dataclass(eq=False)
class LightGBMTree:
    """One tree exactly as the text holds it (LightGBM's own node numbering).

    Internal nodes are ``0..num_leaves-2``; a child ``c < 0`` is leaf ``~c``.
    """

    num_leaves: int
    split_feature: np.ndarray
    threshold: np.ndarray
    decision_type: np.ndarray
    left_child: np.ndarray
    right_child: np.ndarray
    leaf_value: np.ndarray
    cat_boundaries: np.ndarray
    cat_threshold: np.ndarray


@dataclass(eq=False)
class LightGBMModel:
    """A LightGBM model parsed (and validated) by staticml from LightGBM's text format.

    Behaves like the fitted model for staticml: ``n_features_in_``, ``feature_names_in_``,
    ``classes_`` (``0..k-1`` for binary/multiclass objectives; absent for regression-like
    objectives, as on a regressor), ``library``, and ``reference_model()``: a LightGBM-backed
    object whose ``predict`` / ``predict_proba`` are the original library's (None if
    lightgbm is not installed).
    """

    text: str = field(repr=False)
    version: str
    num_class: int
    num_tree_per_iteration: int
    max_feature_idx: int
    objective: str
    objective_params: dict
    average_output: bool
    feature_names: tuple
    trees: list = field(repr=False)
    num_iteration: int                     # iterations predict() uses
    classes: np.ndarray | None = None      # 0..k-1 for classification objectives
    library: str = "lightgbm"
    # (feature, categories) per pandas 'category' column: LightGBM codes a value by position
    pandas_categorical: tuple = ()

    @property
    def classes_(self) -> np.ndarray:
        """Class labels; absent (AttributeError) for regression-like objectives."""
        if self.classes is None:
            raise AttributeError("a LightGBM model with objective "
                                 f"{self.objective!r} has no classes_")
        return self.classes

    @property
    def n_features_in_(self) -> int:
        return self.max_feature_idx + 1

    @property
    def feature_names_in_(self) -> np.ndarray:
        return np.asarray(self.feature_names, dtype=object)

    @property
    def n_iterations(self) -> int:
        """Iterations stored in the text (``num_iteration`` of them are used)."""
        return len(self.trees) // self.num_tree_per_iteration

    @property
    def sigmoid(self) -> float | None:
        return self.objective_params.get("sigmoid")

    def used_trees(self) -> list:
        return self.trees[: self.num_iteration * self.num_tree_per_iteration]

    def reference_model(self) -> Any:
        """LightGBM's own predictor for this text, or None if lightgbm is not importable."""
        try:
            import lightgbm
        except ImportError:
            return None
        booster = lightgbm.Booster(model_str=self.text, params={"verbosity": -1})
        if self.classes is not None:
            return _ReferenceClassifier(booster, self.num_iteration, self.classes,
                                        self.pandas_categorical)
        return _ReferenceRegressor(booster, self.num_iteration, self.pandas_categorical)


class _ReferenceRegressor:
    """``Booster.predict`` with a fixed number of iterations.

    Columns the model took as pandas categories are given back that dtype with the training
    categories: the check's probe rows (strings, NaN, an unseen value) arrive as plain
    columns, which LightGBM refuses; a user's frame has the dtype."""

    def __init__(self, booster: Any, num_iteration: int, categories: tuple = ()) -> None:
        self.booster = booster
        self.num_iteration = num_iteration
        self.categories = categories

    def _prepare(self, X: Any) -> Any:
        if not (self.categories and hasattr(X, "columns")):
            return X
        import pandas as pd

        X = X.copy()
        for j, cats in self.categories:
            col = X.columns[j]
            X[col] = pd.Categorical(X[col], categories=list(cats))
        return X

    def predict(self, X: Any) -> np.ndarray:
        return self.booster.predict(self._prepare(X), num_iteration=self.num_iteration)


class _ReferenceClassifier(_ReferenceRegressor):
    """``LGBMClassifier``'s predict/predict_proba on top of a Booster."""

    def __init__(self, booster: Any, num_iteration: int, classes: np.ndarray,
                 categories: tuple = ()) -> None:
        super().__init__(booster, num_iteration, categories)
        self.classes_ = classes

    def predict_proba(self, X: Any) -> np.ndarray:
        p = self.booster.predict(self._prepare(X), num_iteration=self.num_iteration)
        if p.ndim == 1:
            return np.vstack((1.0 - p, p)).transpose()
        return p

    def predict(self, X: Any) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


# ------------------------------------------------------------------------- parsing
def load_lightgbm_file(path: str | Path) -> LightGBMModel:
    """Parse a LightGBM ``model.txt`` (``booster.save_model``) without LightGBM."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise UnsupportedModelError(f"cannot read LightGBM model file {path}: {exc}") from None
    if size > MAX_FILE_BYTES:
        raise UnsupportedModelError(
            f"{path.name}: {size} bytes is larger than the {MAX_FILE_BYTES} bytes staticml "
            "accepts for a LightGBM model file")
    with open(path, "rb") as fh:
        data = fh.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise UnsupportedModelError(f"{path.name}: file grew while being read")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnsupportedModelError(
            f"{path.name} is not a LightGBM text model (not UTF-8: {exc.reason} at byte "
            f"{exc.start}); staticml reads the text format written by booster.save_model()"
        ) from None
    try:
        return parse_model_text(text)
    except LightGBMParseError as exc:
        raise LightGBMParseError(f"{path.name}: {exc}") from None


def parse_model_text(text: str, num_iteration: int | None = None) -> LightGBMModel:
    """Validate and parse LightGBM's text model format.

    ``num_iteration``: iterations to use (``> 0``); None or ``<= 0`` = every stored one,
    as ``Booster.predict(num_iteration=...)`` counts them.
    """
    if not isinstance(text, str):
        raise _fail("", f"expected text, got {type(text).__name__}")
    if len(text) > MAX_FILE_BYTES:
        raise _fail("", f"{len(text)} characters is more than the {MAX_FILE_BYTES} accepted")
    if "\x00" in text:
        raise _fail("", "contains a NUL character (not a text model)")
    if "\r" in text:
        raise _fail("", "has Windows (CRLF) or CR line endings; LightGBM writes \\n and its "
                    "tree_sizes byte offsets assume it: restore the file as saved")
    lines = text.split("\n")
    offsets = []  # character offset of each line's start
    pos = 0
    for line in lines:
        offsets.append(pos)
        pos += len(line) + 1

    header, first_tree = _parse_header(lines)
    version = header.get("version", "v4")
    if version not in KNOWN_VERSIONS:
        raise UnsupportedModelError(
            f"LightGBM model text: header: version={version!r} is not one staticml knows "
            f"({', '.join(KNOWN_VERSIONS)})")
    num_class = _header_int(header, "num_class", 1, MAX_CLASSES)
    ntpi = (_header_int(header, "num_tree_per_iteration", 1, MAX_CLASSES)
            if "num_tree_per_iteration" in header else num_class)
    _header_int(header, "label_index", -1, 2**31 - 1)
    max_feature_idx = _header_int(header, "max_feature_idx", 0, MAX_FEATURES - 1)
    n_features = max_feature_idx + 1
    if "feature_names" not in header:
        raise _fail("header", "feature_names is missing")
    names = tuple(header["feature_names"].split(" "))
    if len(names) != n_features:
        raise _fail("header", f"feature_names has {len(names)} names but max_feature_idx="
                    f"{max_feature_idx} means {n_features} features")
    if any(not n for n in names):
        raise _fail("header", "feature_names holds an empty name")
    if len(set(names)) != len(names):
        dup = sorted(n for n, c in Counter(names).items() if c > 1)[:5]
        raise _fail("header", f"feature_names repeats {dup}")
    if "feature_infos" not in header:
        raise _fail("header", "feature_infos is missing")
    for key in ("feature_infos", "monotone_constraints"):
        entries = header[key].split(" ") if key in header else None
        if entries is not None and (len(entries) != n_features or not all(entries)):
            raise _fail("header", f"{key} does not have one entry per feature")
    if header.get("average_output", "") != "":
        raise _fail("header", "average_output takes no value")
    objective, obj_params = _parse_objective(header.get("objective"), num_class)
    if ntpi != num_class:
        raise UnsupportedModelError(
            f"LightGBM model text: header: num_tree_per_iteration={ntpi} differs from "
            f"num_class={num_class}; staticml supports one tree per class and iteration")
    if first_tree is None:
        raise _fail("", "no trees (no 'Tree=' line)")

    if "tree_sizes" in header:
        sizes = _int_array(header["tree_sizes"], "tree_sizes", None, 0, MAX_FILE_BYTES)
        if not 1 <= len(sizes) <= MAX_TREES:
            raise _fail("header", f"tree_sizes lists {len(sizes)} trees")
        blocks, end_line = _blocks_by_size(text, lines, offsets, first_tree, sizes)
    else:
        blocks, end_line = _blocks_sequential(lines, first_tree)
    _check_trailer(lines, end_line)

    trees: list[LightGBMTree] = []
    total_nodes = 0
    for i, block in enumerate(blocks):
        tree = _parse_tree(i, block, n_features)
        total_nodes += 3 * tree.num_leaves  # leaves, internal and categorical helper nodes
        if total_nodes > MAX_TOTAL_NODES:
            raise _fail(f"tree {i}", f"more than {MAX_TOTAL_NODES} nodes in total")
        trees.append(tree)
    if len(trees) % ntpi:
        raise _fail("", f"{len(trees)} trees is not a multiple of num_tree_per_iteration="
                    f"{ntpi}")
    pandas_categorical = _pandas_categorical(lines, end_line, n_features)

    n_iter = len(trees) // ntpi
    use = n_iter if num_iteration is None or num_iteration <= 0 else min(num_iteration, n_iter)
    classes = (np.arange(max(num_class, 2), dtype=np.int64)
               if objective in _CLASSIFIER_OBJECTIVES else None)
    return LightGBMModel(
        text=text, version=version, num_class=num_class, num_tree_per_iteration=ntpi,
        max_feature_idx=max_feature_idx, objective=objective, objective_params=obj_params,
        average_output="average_output" in header, feature_names=names, trees=trees,
        num_iteration=use, classes=classes, pandas_categorical=pandas_categorical)


def _parse_header(lines: list[str]) -> tuple[dict[str, str], int | None]:
    header: dict[str, str] = {}
    first_tree = None
    seen_model_type = False
    for i, line in enumerate(lines):
        if line.startswith("Tree="):
            first_tree = i
            break
        if not line:
            continue
        if not seen_model_type:
            if line != "tree":
                raise _fail("line 1", f"expected 'tree' (a LightGBM text model), found "
                            f"{line[:40]!r}")
            seen_model_type = True
            continue
        key, eq, value = line.partition("=")
        if key not in HEADER_KEYS or key == "tree":
            raise _fail(f"line {i + 1}", f"unknown header line {line[:60]!r}")
        if "=" in value and key not in ("feature_names", "monotone_constraints"):
            raise _fail(f"line {i + 1}", f"malformed header line {line[:60]!r}")
        if key in header:
            raise _fail(f"line {i + 1}", f"{key} appears twice")
        header[key] = value
    if not seen_model_type:
        raise _fail("", "empty model text")
    return header, first_tree


def _header_int(header: dict[str, str], key: str, lo: int, hi: int) -> int:
    if key not in header:
        raise _fail("header", f"{key} is missing")
    return _int(header[key], f"header {key}", lo, hi)


def _int(token: str, where: str, lo: int, hi: int) -> int:
    if len(token) > MAX_TOKEN or not _INT.fullmatch(token):
        raise _fail(where, f"{token[:40]!r} is not an integer")
    v = int(token)
    if not lo <= v <= hi:
        raise _fail(where, f"{v} is outside [{lo}, {hi}]")
    return v


def _tokens(value: str, where: str, n: int | None) -> list[str]:
    toks = value.split(" ") if value else []
    if n is not None and len(toks) != n:
        raise _fail(where, f"has {len(toks)} values, expected {n}")
    return toks


def _int_array(value: str, where: str, n: int | None, lo: int, hi: int) -> np.ndarray:
    return np.asarray([_int(t, where, lo, hi) for t in _tokens(value, where, n)],
                      dtype=np.int64)


def _float_array(value: str, where: str, n: int | None, allow_inf: bool = False
                 ) -> np.ndarray:
    out = []
    for t in _tokens(value, where, n):
        if allow_inf and t in ("inf", "+inf", "-inf"):
            out.append(float(t))
            continue
        if len(t) > MAX_TOKEN or not _FLOAT.fullmatch(t):
            raise _fail(where, f"{t[:40]!r} is not a {'' if allow_inf else 'finite '}number")
        v = float(t)
        if not math.isfinite(v):
            raise _fail(where, f"{t[:40]!r} overflows a double")
        out.append(v)
    return np.asarray(out, dtype=np.float64)


def _parse_objective(value: str | None, num_class: int) -> tuple[str, dict]:
    if value is None:  # custom objective (a Python function): predict returns raw scores
        return "none", {}
    toks = value.split(" ")
    name, params = toks[0], {}
    for t in toks[1:]:
        if t == "sqrt":
            raise UnsupportedModelError(
                f"LightGBM objective {value!r}: reg_sqrt=True models predict sign(y)*y^2 of "
                "the raw score, which staticml cannot compile yet")
        key, colon, val = t.partition(":")
        if not colon or key not in ("sigmoid", "num_class") or key in params:
            raise _fail("header", f"objective parameter {t[:40]!r} is not understood")
        if key == "sigmoid":
            arr = _float_array(val, "objective sigmoid", 1)
            if not arr[0] > 0:
                raise _fail("header", "objective sigmoid must be > 0")
            params[key] = float(arr[0])
        else:
            params[key] = _int(val, "objective num_class", 1, MAX_CLASSES)
    if name == "cross_entropy_lambda":
        raise UnsupportedModelError(
            "LightGBM objective cross_entropy_lambda (output log1p(exp(raw))) is not "
            "supported yet")
    known = _IDENTITY | _EXP | _CLASSIFIER_OBJECTIVES | {"cross_entropy"}
    if name not in known:
        raise UnsupportedModelError(f"LightGBM objective {name!r} is not supported; "
                                    f"supported: {', '.join(sorted(known))}")
    if name in ("binary", "multiclassova") and "sigmoid" not in params:
        raise _fail("header", f"objective {name} without sigmoid:")
    if name in ("multiclass", "multiclassova"):
        if params.get("num_class") != num_class or num_class < 2:
            raise _fail("header", f"objective {value!r} disagrees with num_class={num_class}")
    elif num_class != 1:
        raise _fail("header", f"objective {name} with num_class={num_class}")
    return name, params


def _blocks_sequential(lines: list[str], start: int) -> tuple[list[list[tuple[int, str]]], int]:
    blocks = []
    i = start
    while i < len(lines) and lines[i].startswith("Tree="):
        block, i = _read_block(lines, i, len(blocks))
        blocks.append(block)
        if len(blocks) > MAX_TREES:
            raise _fail("", f"more than {MAX_TREES} trees")
        while i < len(lines) and not lines[i]:
            i += 1
    return blocks, i


def _read_block(lines: list[str], i: int, index: int) -> tuple[list[tuple[int, str]], int]:
    """``Tree=index`` then key=value lines up to a blank line; returns (lines, next)."""
    if lines[i] != f"Tree={index}":
        raise _fail(f"line {i + 1}", f"expected 'Tree={index}', found {lines[i][:40]!r}")
    i += 1
    block = []
    while i < len(lines) and lines[i]:
        block.append((i, lines[i]))
        if len(block) > MAX_TREE_LINES:
            raise _fail(f"tree {index}", f"more than {MAX_TREE_LINES} lines")
        i += 1
    if i >= len(lines):
        raise _fail(f"tree {index}", "file ends inside the tree (truncated?)")
    return block, i


def _blocks_by_size(text: str, lines: list[str], offsets: list[int], start: int,
                    sizes: np.ndarray) -> tuple[list[list[tuple[int, str]]], int]:
    """Trees read in order, each checked to span exactly its ``tree_sizes`` entry.

    LightGBM's loader jumps to each tree by these byte offsets; checking them means both
    readings (and so the compiled model and the reference) see the same trees. Trees are
    ASCII, so characters are bytes there.
    """
    blocks = []
    i = start
    for t, size in enumerate(sizes.tolist()):
        if i >= len(lines) or not lines[i].startswith("Tree="):
            raise _fail("header", f"tree_sizes lists {len(sizes)} trees but the file holds "
                        f"{t}")
        block, nxt = _read_block(lines, i, t)
        while nxt < len(lines) and not lines[nxt]:
            nxt += 1
        end_off = offsets[nxt] if nxt < len(lines) else len(text)
        chunk = text[offsets[i]:end_off]
        if not chunk.isascii():
            raise _fail(f"tree {t}", "non-ASCII characters inside a tree")
        if len(chunk) != size:
            raise _fail("header", f"tree_sizes[{t}]={size} but tree {t} is {len(chunk)} "
                        "bytes long")
        blocks.append(block)
        i = nxt
    if i < len(lines) and lines[i].startswith("Tree="):
        raise _fail("header", f"the file holds more trees than the {len(sizes)} tree_sizes "
                    "lists")
    return blocks, i


def _check_trailer(lines: list[str], i: int) -> None:
    if i >= len(lines) or lines[i] != "end of trees":
        found = lines[i][:40] if i < len(lines) else "the end of the file"
        raise _fail(f"line {i + 1}", f"expected 'end of trees', found {found!r} "
                    "(truncated or edited file?)")


def _pandas_categorical(lines: list[str], end_line: int, n_features: int
                        ) -> tuple[tuple[int, tuple], ...]:
    """``(feature, categories)`` for each pandas 'category' column the model was trained on.

    LightGBM's Python package records each such column's categories in the file's last line
    (``pandas_categorical:[[...], ...]``, in column order) and the features they are in the
    saved parameters (``[categorical_feature: 1,3]``); at prediction it codes a value as its
    position in that list, and a value not in it (or missing) as NaN.
    """
    last = next((ln for ln in reversed(lines) if ln.strip()), "")
    key = "pandas_categorical:"
    if not last.startswith(key):
        return ()
    raw = last[len(key):]
    if len(raw) > MAX_PANDAS_CATEGORICAL:
        raise _fail("pandas_categorical", "too long")
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        raise _fail("pandas_categorical", "is not valid JSON") from None
    if value is None or value == []:
        return ()
    if not isinstance(value, list) or not all(isinstance(c, list) and c for c in value):
        raise _fail("pandas_categorical", "is not a list of category lists")
    for cats in value:
        kinds = {type(c) for c in cats}
        if not (kinds <= {str} or kinds <= {int, float}) or len(set(cats)) != len(cats) or \
                any(isinstance(c, float) and not math.isfinite(c) for c in cats):
            raise _fail("pandas_categorical", "a category list must hold distinct strings or "
                        "distinct finite numbers")
    param = next((ln for ln in lines[end_line:] if ln.startswith("[categorical_feature: ")), None)
    if param is None:
        raise UnsupportedModelError(
            "this LightGBM model was trained on pandas 'category' columns but the file does "
            "not say which features they are (no [categorical_feature: ...] parameter); save "
            "it with booster.save_model() from LightGBM's Python package")
    features = _int_array(param[len("[categorical_feature: "):].rstrip("]").replace(",", " "),
                          "categorical_feature", None, 0, n_features - 1)
    if len(features) != len(value) or sorted(set(features)) != sorted(features):
        raise UnsupportedModelError(
            f"this LightGBM model has {len(value)} pandas 'category' columns but "
            f"categorical_feature lists {len(features)} features: categorical features given "
            "both as pandas categories and as integer codes are not supported; use one or "
            "the other")
    return tuple((int(f), tuple(cats)) for f, cats in zip(sorted(features), value))


def _parse_tree(index: int, block: list[tuple[int, str]], n_features: int) -> LightGBMTree:
    where = f"tree {index}"
    kv: dict[str, str] = {}
    for lineno, line in block:
        key, eq, value = line.partition("=")
        if not eq:
            raise _fail(f"{where} (line {lineno + 1})", f"malformed line {line[:60]!r}")
        if key not in TREE_KEYS:
            raise _fail(f"{where} (line {lineno + 1})", f"unknown field {key[:40]!r}")
        if key in kv:
            raise _fail(where, f"{key} appears twice")
        kv[key] = value

    def need(key: str) -> str:
        if key not in kv:
            raise _fail(where, f"{key} is missing")
        return kv[key]

    L = _int(need("num_leaves"), f"{where} num_leaves", 1, MAX_LEAVES)
    num_cat = _int(need("num_cat"), f"{where} num_cat", 0, MAX_LEAVES)
    if "is_linear" in kv and _int(kv["is_linear"], f"{where} is_linear", 0, 1):
        raise UnsupportedModelError(
            "LightGBM linear trees (linear_tree=True: a linear model in each leaf) are not "
            "supported")
    leaf_value = _float_array(need("leaf_value"), f"{where} leaf_value", L)
    n_int = L - 1
    if L == 1:
        empty = np.zeros(0, dtype=np.int64)
        if num_cat:
            raise _fail(where, "a single-leaf tree with categorical splits")
        return LightGBMTree(1, empty, np.zeros(0), empty, empty, empty, leaf_value, empty,
                            empty)
    split_feature = _int_array(need("split_feature"), f"{where} split_feature", n_int, 0,
                               n_features - 1)
    # A numeric threshold can be +-inf (e.g. "every number left, NaN by default").
    threshold = _float_array(need("threshold"), f"{where} threshold", n_int, allow_inf=True)
    decision_type = (_int_array(kv["decision_type"], f"{where} decision_type", n_int, 0, 15)
                     if "decision_type" in kv else np.zeros(n_int, dtype=np.int64))
    left = _int_array(need("left_child"), f"{where} left_child", n_int, -L, n_int - 1)
    right = _int_array(need("right_child"), f"{where} right_child", n_int, -L, n_int - 1)
    # Optional statistics LightGBM also length-checks; a wrong length is a corrupt file.
    for key, n in (("split_gain", n_int), ("internal_value", n_int),
                   ("internal_weight", n_int), ("leaf_weight", L)):
        if key in kv:
            _float_array(kv[key], f"{where} {key}", n)
    for key, n in (("internal_count", n_int), ("leaf_count", L), ("leaf_parent", L)):
        if key in kv:
            _int_array(kv[key], f"{where} {key}", n, -1, 2**31 - 1)
    if "shrinkage" in kv:
        _float_array(kv["shrinkage"], f"{where} shrinkage", 1)
    if ((decision_type >> 2) & 3 == 3).any():
        raise _fail(where, "decision_type with missing type 3 (unknown)")
    is_cat = (decision_type & 1).astype(bool)
    if num_cat:
        bounds = _int_array(need("cat_boundaries"), f"{where} cat_boundaries", num_cat + 1,
                            0, MAX_CAT_WORDS * max(num_cat, 1))
        if bounds[0] != 0 or (np.diff(bounds) < 0).any():
            raise _fail(where, "cat_boundaries must start at 0 and never decrease")
        if (np.diff(bounds) > MAX_CAT_WORDS).any():
            raise _fail(where, "a categorical bitset is larger than 2^31 categories")
        cat_threshold = _int_array(need("cat_threshold"), f"{where} cat_threshold",
                                   int(bounds[-1]), 0, 2**32 - 1)
    else:
        if is_cat.any():
            raise _fail(where, "categorical splits but num_cat=0")
        bounds = np.zeros(1, dtype=np.int64)
        cat_threshold = np.zeros(0, dtype=np.int64)
    for n in np.flatnonzero(is_cat):
        t = threshold[n]
        if not 0 <= t < num_cat or t != math.floor(t):
            raise _fail(where, f"categorical node {n} points at bitset {t}, but num_cat="
                        f"{num_cat}")
    _check_structure(where, L, left, right)
    return LightGBMTree(L, split_feature, threshold, decision_type, left, right, leaf_value,
                        bounds, cat_threshold)


def _check_structure(where: str, L: int, left: np.ndarray, right: np.ndarray) -> None:
    """Child pointers form exactly one binary tree rooted at internal node 0.

    Every internal node but the root and every leaf has exactly one parent, and a walk from
    the root reaches all of them (which also rules out cycles).
    """
    n_int = L - 1
    children = np.concatenate([left, right])
    internal = children[children >= 0]
    leaves = ~children[children < 0]
    if (internal == 0).any():
        raise _fail(where, "a child pointer points back at the root (cycle)")
    if len(np.unique(internal)) != len(internal) or len(internal) != n_int - 1:
        raise _fail(where, "internal nodes are shared or unreachable (not a tree)")
    if len(np.unique(leaves)) != len(leaves) or len(leaves) != L:
        raise _fail(where, "leaves are shared or unreachable (not a tree)")
    seen = 0
    stack = [0]
    while stack:
        node = stack.pop()
        seen += 1
        if seen > n_int:
            raise _fail(where, "child pointers form a cycle")
        for c in (int(left[node]), int(right[node])):
            if c >= 0:
                stack.append(c)
    if seen != n_int:
        raise _fail(where, "child pointers form a cycle or leave nodes unreachable")


# ------------------------------------------------------------------------- lowering
def _flush_threshold(t: float) -> float:
    """Threshold giving LightGBM's answer once inputs with |x| <= kZ arrive as 0.0.

    For ``t`` in ``[0, kZ)`` the flushed rule ``x' <= t`` is ``x <= kZ``; for ``t`` in
    ``[-kZ, 0)`` it is ``x < -kZ``. Other thresholds give the same answer either way.
    """
    if 0.0 <= t < KZERO:
        return KZERO
    if -KZERO <= t < 0.0:
        return float(np.nextafter(-KZERO, -np.inf))
    return t


_NEG_TINY = float(np.nextafter(0.0, -1.0))  # the largest double below 0 (-5e-324)


def _bits_of(words: np.ndarray) -> list[int]:
    if not len(words):
        return []
    bits = np.unpackbits(np.asarray(words, dtype="<u4").view(np.uint8), bitorder="little")
    return np.flatnonzero(bits).tolist()


def _ir_tree(t: LightGBMTree, target: int) -> Tree:
    """Flat IR tree: LightGBM's internal nodes, then its leaves, then helper nodes."""
    L = t.num_leaves
    n_int = L - 1
    if L == 1:
        return Tree(feature=np.array([-1], np.int32), threshold=np.zeros(1),
                    left=np.zeros(1, np.int32), right=np.zeros(1, np.int32),
                    default_left=np.zeros(1, bool), value=t.leaf_value.reshape(1, 1),
                    target=target, missing_type=np.full(1, MISSING_NAN, np.int8))
    cats: list[list[int] | None] = [None] * n_int
    extra = 0
    for n in np.flatnonzero(t.decision_type & 1):
        k = int(t.threshold[n])
        cats[n] = _bits_of(t.cat_threshold[t.cat_boundaries[k]:t.cat_boundaries[k + 1]])
        if cats[n] and cats[n][0] == 0:
            extra += 2
    N = n_int + L + extra

    def child(c: int) -> int:
        return c if c >= 0 else n_int + ~c

    feature = np.full(N, -1, np.int32)
    threshold = np.zeros(N)
    left = np.zeros(N, np.int32)
    right = np.zeros(N, np.int32)
    default_left = np.zeros(N, bool)
    missing = np.full(N, MISSING_NAN, np.int8)
    value = np.zeros((N, 1))
    value[n_int:n_int + L, 0] = t.leaf_value
    categories: list[list[int] | None] = [None] * N
    nxt = n_int + L
    for n in range(n_int):
        f = int(t.split_feature[n])
        dt = int(t.decision_type[n])
        lc, rc = child(int(t.left_child[n])), child(int(t.right_child[n]))
        if dt & 1:
            if cats[n] and cats[n][0] == 0:
                # (int)x truncates, so -1 < x < 0 is category 0 (in the set: left).
                mid, test = nxt, nxt + 1
                nxt += 2
                feature[[n, mid, test]] = f
                threshold[n], left[n], right[n] = -1.0, rc, mid
                threshold[mid], left[mid], right[mid] = _NEG_TINY, lc, test
                left[test], right[test] = lc, rc
                categories[test] = cats[n]
            else:
                feature[n], left[n], right[n] = f, lc, rc
                categories[n] = cats[n]
            continue  # NaN goes right: default_left stays False
        mt = (dt >> 2) & 3
        feature[n] = f
        threshold[n] = t.threshold[n] if mt == MISSING_ZERO else _flush_threshold(
            float(t.threshold[n]))
        left[n], right[n] = lc, rc
        default_left[n] = bool(dt & 2)
        missing[n] = {0: MISSING_NONE, 1: MISSING_ZERO, 2: MISSING_NAN}[mt]
    return Tree(feature=feature, threshold=threshold, left=left, right=right,
                default_left=default_left, value=value, target=target, missing_type=missing,
                categories=categories)


def _check_cat_table(trees: Sequence[Tree]) -> None:
    n_sets, words = 0, 1
    for tr in trees:
        for c in tr.categories or ():
            if c is not None:
                n_sets += 1
                words = max(words, (max(c, default=0) // 32) + 1)
    if n_sets * words > MAX_CAT_DENSE_WORDS:
        raise UnsupportedModelError(
            f"LightGBM model: {n_sets} categorical splits over categories up to "
            f"{32 * words} need a {n_sets * words}-word bitset table, more than the "
            f"{MAX_CAT_DENSE_WORDS} staticml accepts")


def _raw_scores(m: LightGBMModel, b: Builder, src: Slots) -> Slots:
    K = m.num_tree_per_iteration
    used = m.used_trees()
    if not used:
        raise UnsupportedModelError("LightGBM model has no trees to predict with")
    trees = [_ir_tree(t, target=i % K) for i, t in enumerate(used)]
    _check_cat_table(trees)
    note = (f"LightGBM {m.objective}: {m.num_iteration} iterations x {K} trees"
            + (" (averaged)" if m.average_output else ""))
    raw = b.alloc(K)
    if m.average_output and K > 1:
        # The average divides by the iteration count: one op per class.
        for k in range(K):
            group = [replace(tr, target=0) for tr in trees[k::K]]
            b.emit(assemble(group, src, (raw[k],), [0.0], average=True,
                            note=f"{note}, class {k}"))
    else:
        b.emit(assemble(trees, src, raw, [0.0] * K, average=m.average_output, note=note))
    return raw


def _transformed(m: LightGBMModel, b: Builder, raw: Slots) -> Slots:
    """``ConvertOutput`` of the model's objective."""
    obj = m.objective
    if obj in _IDENTITY:
        return raw
    if obj in _EXP:
        out = b.alloc(len(raw))
        b.emit(Elementwise(raw, out, "exp", note=f"{obj}: exp(raw)"))
        return out
    if obj == "multiclass":
        out = b.alloc(len(raw))
        b.emit(Softmax(raw, out, note="multiclass softmax"))
        return out
    # binary, multiclassova: 1 / (1 + exp(-sigmoid * raw)); cross_entropy: sigmoid 1
    s = m.sigmoid if obj != "cross_entropy" else 1.0
    z = raw
    if s != 1.0:
        z = b.alloc(len(raw))
        b.emit(MulAdd(raw, z, (s,) * len(raw), (0.0,) * len(raw),
                      note=f"{obj}: sigmoid parameter {s!r}"))
    out = b.alloc(len(raw))
    b.emit(Elementwise(z, out, "logistic", note=f"{obj}: logistic"))
    return out


def _require_numeric(b: Builder, src: Slots) -> None:
    for s in src:
        if b.is_string(s):
            col = b.inputs[b.code_of_slot[s]].name
            raise UnsupportedModelError(
                f"string column {col!r} reaches a LightGBM model, which takes numbers only "
                "(categorical features are integer codes); encode it first")


def _code_pandas_categories(m: LightGBMModel, b: Builder, src: Slots) -> Slots:
    """Each pandas 'category' column becomes its category's position, as LightGBM codes it
    (``cat.set_categories(training categories).cat.codes``): unseen or missing -> NaN."""
    if not m.pandas_categorical:
        return src
    out = list(src)
    for j, cats in m.pandas_categorical:
        keys = [category_key(b, src[j], c, m) for c in cats]
        skeys, svals = sorted_keys(keys, [float(k) for k in range(len(cats))])
        (dst,) = b.alloc(1)
        b.emit(Ordinal(src[j], dst, skeys, svals, missing_value=math.nan,
                       unknown_value=math.nan,
                       note=f"LightGBM pandas category column {m.feature_names[j]!r}"))
        out[j] = dst
    return tuple(out)


def lower_model(m: LightGBMModel, b: Builder, src: Slots, classes: Any = None,
                as_classifier: bool | None = None) -> Head:
    """Lower a parsed model: a classifier head if it has classes, else its outputs as values.

    ``classes``: labels replacing ``m.classes_`` (an ``LGBMClassifier``'s own ``classes_``).
    ``as_classifier=False``: the raw ``Booster`` view (``predict`` values, no labels).
    """
    if len(src) != m.n_features_in_:
        raise UnsupportedModelError(
            f"the LightGBM model has {m.n_features_in_} features but receives {len(src)} "
            "columns")
    src = _code_pandas_categories(m, b, src)
    _require_numeric(b, src)
    classes = m.classes if classes is None else classes
    if as_classifier is None:
        as_classifier = classes is not None
    out = _transformed(m, b, _raw_scores(m, b, src))
    if not as_classifier:
        return Regress(out, squeeze=len(out) == 1)
    if m.objective not in _CLASSIFIER_OBJECTIVES | {"cross_entropy"}:
        raise UnsupportedModelError(
            f"a LightGBM classifier with objective {m.objective!r}: its predict returns raw "
            "scores, not labels")
    classes = np.asarray(classes)
    k = len(out)
    if (k == 1 and len(classes) != 2) or (k > 1 and len(classes) != k):
        raise UnsupportedModelError(
            f"LightGBM classifier with {len(classes)} classes but {k} outputs per row")
    if k == 1:
        proba = b.alloc(2)
        b.emit(BinaryProba(out[0], (proba[0], proba[1]), "identity",
                           note="predict_proba = (1 - p, p)"))
    else:
        proba = out
    return Classify(tuple(classes.tolist()), classes.dtype.str, "proba_argmax", proba, proba,
                    has_decision_function=False)


# ------------------------------------------------------------------------- vendor objects
def _booster_iterations(booster: Any) -> int:
    """Iterations ``Booster.predict()`` uses by default: ``best_iteration`` if > 0."""
    best = int(getattr(booster, "best_iteration", 0) or 0)
    return best if best > 0 else -1


def from_booster(booster: Any) -> LightGBMModel:
    """Parse a live ``lightgbm.Booster`` through its text form (the one code path)."""
    try:
        text = booster.model_to_string(num_iteration=-1)
    except Exception as exc:  # LightGBMError, a freed booster, ...
        raise UnsupportedModelError(f"cannot read the LightGBM booster: {exc}") from None
    return parse_model_text(text, num_iteration=_booster_iterations(booster))


def _sklearn_booster(est: Any) -> Any:
    fitted = getattr(est, "__sklearn_is_fitted__", None)
    if callable(fitted) and not fitted():
        raise UnsupportedModelError(f"{type(est).__name__} is not fitted")
    custom = callable(getattr(est, "objective", None)) or \
        callable(getattr(est, "_objective", None))
    if custom and key_of(est) == "lightgbm.LGBMClassifier":
        raise UnsupportedModelError(
            f"{type(est).__name__} with a custom objective function: its predict returns "
            "raw scores and its probabilities are undefined")
    params = est.get_params() if hasattr(est, "get_params") else {}
    if params.get("pred_early_stop"):
        raise UnsupportedModelError(
            f"{type(est).__name__}(pred_early_stop=True) stops adding trees per row at "
            "prediction time, which staticml does not reproduce")
    return est.booster_


def is_lightgbm(obj: Any) -> bool:
    return key_of(obj) in ("lightgbm.LGBMClassifier", "lightgbm.LGBMRegressor",
                           "lightgbm.Booster")


def parity_model(obj: Any) -> Any:
    """What the parity check calls for a live LightGBM object: the object itself, or, for a
    model trained on pandas categories, its booster behind the same re-typing of those
    columns the file route's ``reference_model`` does."""
    booster = obj if key_of(obj) == "lightgbm.Booster" else _sklearn_booster(obj)
    if not getattr(booster, "pandas_categorical", None):  # most models: no second parse
        return obj
    parsed = from_booster(booster)
    n_iter = _booster_iterations(booster)
    if key_of(obj) == "lightgbm.LGBMClassifier":
        return _ReferenceClassifier(booster, n_iter, obj.classes_, parsed.pandas_categorical)
    return _ReferenceRegressor(booster, n_iter, parsed.pandas_categorical)


@register("lightgbm.LGBMClassifier", "lightgbm.LGBMRegressor", "lightgbm.Booster",
          "staticml.LightGBMModel", kind="predictor")
def convert_lightgbm(model: Any, b: Builder, src: Slots) -> Head:
    key = key_of(model)
    if key == "staticml.LightGBMModel":
        return lower_model(model, b, src)
    if key == "lightgbm.Booster":
        return lower_model(from_booster(model), b, src, as_classifier=False)
    parsed = from_booster(_sklearn_booster(model))
    if key == "lightgbm.LGBMClassifier":
        return lower_model(parsed, b, src, classes=model.classes_, as_classifier=True)
    return lower_model(parsed, b, src, as_classifier=False)
