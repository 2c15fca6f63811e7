"""The IR's vocabulary: frozen dataclasses, one per numeric operation.

A compiled model is a straight-line program over a *register file* of doubles (one row's
"slots"). Slot ``i < n_inputs`` holds input column ``i``: a number, or for a string column
the *code* of its value in the column's vocabulary (``-1`` = a string the model never saw,
NaN = missing). Every op reads ``src`` slots and writes fresh ``dst`` slots, so the program
is in SSA form and passes can reason about it by slot number alone.

Why a register file and not a graph of tensors: every backend (numpy interpreter, C, Java,
wasm) can run it one row at a time with a fixed-size stack buffer and no allocation, and a
``ColumnTransformer``'s column selection and concatenation disappear into slot numbers.

Ops never hold estimator objects, only numbers, so backends never see scikit-learn.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Union

import numpy as np

Slots = tuple[int, ...]


@dataclass(frozen=True)
class InputColumn:
    """One input column as the application passes it.

    ``dtype`` is ``"number"`` (a double; NaN = missing) or ``"string"`` (NULL/None = missing).
    For string columns ``vocabulary`` lists every string the model can tell apart; the slot
    holds the index into it.
    """

    name: str
    dtype: Literal["number", "string"]
    vocabulary: tuple[str, ...] = ()


@dataclass(frozen=True, eq=False)
class CheckFinite:
    """Reject a row where scikit-learn's input validation would raise.

    scikit-learn estimators validate their input at each step (``ensure_all_finite``):
    most reject NaN and inf, imputers and scalers accept NaN but reject inf. The artifact
    returns an error code at the same place instead of a silently wrong number.
    """

    src: Slots
    allow_nan: bool
    note: str = ""
    # scikit-learn trees cast X to float32 and reject values that overflow it.
    float32: bool = False
    # Tree libraries that route +-inf like any other number.
    allow_inf: bool = False


@dataclass(frozen=True, eq=False)
class Impute:
    """``dst[i] = fill[i] if src[i] is missing else src[i]``.

    ``missing`` is NaN (test with ``isnan``) or a specific value compared with ``==``,
    as ``SimpleImputer(missing_values=...)`` does. For string columns it is a code.
    """

    src: Slots
    dst: Slots
    fill: tuple[float, ...]
    missing: float = float("nan")
    note: str = ""


@dataclass(frozen=True, eq=False)
class Constant:
    """``dst[i] = values[i]``: stands in for an input the application no longer passes
    (``build --drop-unused``). Reads nothing, so ``src`` is empty."""

    dst: Slots
    values: tuple[float, ...]
    src: Slots = ()
    note: str = ""


@dataclass(frozen=True, eq=False)
class MissingIndicator:
    """``dst[i] = 1.0 if src[i] is missing else 0.0`` (``SimpleImputer(add_indicator=True)``)."""

    src: Slots
    dst: Slots
    missing: float = float("nan")
    note: str = ""


@dataclass(frozen=True, eq=False)
class SubDiv:
    """``dst[i] = (src[i] - sub[i]) / div[i]``: StandardScaler, RobustScaler, MaxAbsScaler.

    Kept as subtract-then-divide (not a multiply by 1/div) because that is the order
    scikit-learn uses, so the results are bit-identical, not merely close.
    """

    src: Slots
    dst: Slots
    sub: tuple[float, ...]
    div: tuple[float, ...]
    note: str = ""


@dataclass(frozen=True, eq=False)
class MulAdd:
    """``dst[i] = src[i] * mul[i] + add[i]`` (MinMaxScaler's order), optionally clipped."""

    src: Slots
    dst: Slots
    mul: tuple[float, ...]
    add: tuple[float, ...]
    clip: tuple[float, float] | None = None
    note: str = ""


UnknownPolicy = Union[Literal["error", "ignore"], int]


@dataclass(frozen=True, eq=False)
class OneHot:
    """One-hot encode one slot into ``len(dst)`` slots.

    The input value is looked up (exact ``==``) in the sorted ``keys``; a hit at ``k`` sets
    ``dst[position[k]]`` to 1 (``position -1`` = the dropped category: all zeros). NaN uses
    ``missing_position`` when the encoder learned a missing category, else it is unknown.
    Unknown values follow ``on_unknown``: ``"error"``, ``"ignore"`` (all zeros) or the
    position of the infrequent bucket.
    """

    src: int
    dst: Slots
    keys: tuple[float, ...]
    position: tuple[int, ...]
    missing_position: int | None
    on_unknown: UnknownPolicy
    note: str = ""


@dataclass(frozen=True, eq=False)
class Ordinal:
    """Map one slot through ``keys -> values`` (``OrdinalEncoder``).

    NaN maps to ``missing_value`` if not None (else it is unknown); unknown values map to
    ``unknown_value`` if not None, else the row is an error.
    """

    src: int
    dst: int
    keys: tuple[float, ...]
    values: tuple[float, ...]
    missing_value: float | None
    unknown_value: float | None
    note: str = ""


@dataclass(frozen=True, eq=False)
class Linear:
    """``dst[j] = sum_i coef[j, i] * src[i] + intercept[j]``, summed in index order."""

    src: Slots
    dst: Slots
    coef: np.ndarray = field(repr=False)
    intercept: tuple[float, ...] = ()
    note: str = ""


Activation = Literal["identity", "relu", "tanh", "logistic", "exp", "exp2", "negate"]


@dataclass(frozen=True, eq=False)
class Elementwise:
    """``dst[i] = fn(src[i])`` for an MLP activation or a link function."""

    src: Slots
    dst: Slots
    fn: Activation
    note: str = ""


@dataclass(frozen=True, eq=False)
class Softmax:
    """``dst = exp(src - max(src)) / sum(...)``, the order scikit-learn's ``softmax`` uses."""

    src: Slots
    dst: Slots
    note: str = ""


@dataclass(frozen=True, eq=False)
class BinaryProba:
    """``p = f(src); dst = (1 - p, p)`` for binary classifiers.

    ``fn`` is ``"logistic"`` (LogisticRegression, SGD log_loss), ``"identity"`` (an MLP
    whose output unit already is a probability) or ``"modified_huber"``
    (``(clip(d, -1, 1) + 1) / 2``).
    """

    src: int
    dst: tuple[int, int]
    fn: Literal["logistic", "identity", "modified_huber"]
    note: str = ""


@dataclass(frozen=True, eq=False)
class OvrNormalize:
    """One-vs-rest probabilities: ``p = f(src); dst = p / sum(p)``; all-zero rows become uniform."""

    src: Slots
    dst: Slots
    fn: Literal["logistic", "modified_huber"]
    note: str = ""


# LightGBM's per-node missing-value types; every other library behaves like MISSING_NAN.
MISSING_NONE, MISSING_ZERO, MISSING_NAN = 0, 1, 2


@dataclass(frozen=True, eq=False)
class TreeEnsemble:
    """A forest of binary decision trees, added (or averaged) into ``dst``.

    One traversal rule reproduces scikit-learn, HistGradientBoosting, XGBoost and LightGBM
    exactly; each frontend normalises its library's trees into these arrays:

    * Nodes of all trees are flattened into parallel arrays; ``feature[n] == -1`` marks a
      leaf. Children are absolute node indices.
    * Numeric split: go left iff ``x <= threshold[n]``. If ``input_float32``, ``x`` is first
      rounded to float32 (scikit-learn trees compare ``(float)x <= (double)t``; XGBoost's
      ``(float)x < t`` is stored as ``<=`` the float32 predecessor of ``t``).
    * Missing values follow ``missing_type[n]`` (LightGBM's rules): ``MISSING_NAN`` sends NaN
      to ``default_left``; ``MISSING_ZERO`` first maps NaN to 0.0 and sends
      ``|x| <= 1e-35f`` (a float, ~1.00000002e-35) to ``default_left``; ``MISSING_NONE`` maps
      NaN to 0.0.
    * Categorical split (``cat_node[n] >= 0``): NaN goes to ``default_left``; otherwise the
      value is truncated to an integer ``k`` and goes left iff ``0 <= x < 2^31`` and bit ``k``
      of ``cat_bits[cat_node[n]]`` is set. Frontends orient children so "in the set" is left.
    * Leaves: ``value[n]`` holds ``width`` numbers. A tree with ``target[t] >= 0`` adds
      ``value[leaf, 0]`` to ``dst[target[t]]``; ``target[t] == -1`` adds the whole vector.
      Trees are added in order, starting from ``base``; in float32 if ``accumulate_float32``
      (XGBoost), then divided by the number of trees if ``average`` (random forests).
    """

    src: Slots
    dst: Slots
    feature: np.ndarray = field(repr=False)
    threshold: np.ndarray = field(repr=False)
    left: np.ndarray = field(repr=False)
    right: np.ndarray = field(repr=False)
    default_left: np.ndarray = field(repr=False)
    missing_type: np.ndarray = field(repr=False)
    cat_node: np.ndarray = field(repr=False)
    cat_bits: np.ndarray = field(repr=False)
    value: np.ndarray = field(repr=False)
    roots: np.ndarray = field(repr=False)
    target: np.ndarray = field(repr=False)
    base: tuple[float, ...] = ()
    input_float32: bool = False
    accumulate_float32: bool = False
    average: bool = False
    note: str = ""

    @property
    def n_trees(self) -> int:
        return int(len(self.roots))


Op = Union[
    TreeEnsemble,
    CheckFinite,
    Constant,
    Impute,
    MissingIndicator,
    SubDiv,
    MulAdd,
    OneHot,
    Ordinal,
    Linear,
    Elementwise,
    Softmax,
    BinaryProba,
    OvrNormalize,
]


@dataclass(frozen=True, eq=False)
class Classify:
    """How a classifier turns slots into a label, probabilities and decision values.

    ``rule`` picks the label index: ``"positive"`` (binary, ``decision[0] > 0``),
    ``"nonnegative"`` (binary GradientBoosting: ``decision[0] >= 0``),
    ``"argmax"`` (first maximum of ``decision``), ``"proba_gt_half"`` (binary MLP:
    ``proba[1] > 0.5``), ``"proba_argmax"``.
    """

    classes: tuple
    classes_dtype: str
    rule: Literal["positive", "nonnegative", "argmax", "proba_gt_half", "proba_argmax"]
    decision: Slots
    proba: Slots | None
    has_decision_function: bool = True
    # Outlier detectors (IsolationForest) also expose score_samples.
    score_samples: Slots | None = None


@dataclass(frozen=True, eq=False)
class Regress:
    """A regressor's outputs: one slot per target; ``squeeze`` = 1-D result (one target)."""

    values: Slots
    squeeze: bool = True


Head = Union[Classify, Regress]


def op_reads(op: Op) -> Slots:
    """Slots an op reads (CheckFinite included)."""
    src = op.src
    return (src,) if isinstance(src, int) else tuple(src)


def op_writes(op: Op) -> Slots:
    """Slots an op writes; empty for checks."""
    dst = getattr(op, "dst", ())
    return (dst,) if isinstance(dst, int) else tuple(dst)


def head_reads(head: Head) -> Slots:
    if isinstance(head, Regress):
        return head.values
    return head.decision + (head.proba or ()) + (head.score_samples or ())
