"""Scalers, imputers and encoders, lowered to element-wise IR ops.

Each converter reproduces the transform's arithmetic in scikit-learn's own order and emits
the input validation scikit-learn performs at that step (e.g. scalers reject infinity but
let NaN through to a later imputer).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...errors import UnsupportedModelError
from ...ir.graph import Builder
from ...ir.ops import (CheckFinite, Impute, MissingIndicator, MulAdd, OneHot, Ordinal, Slots,
                       SubDiv)
from ..registry import register
from ._common import (
    category_key,
    check_finite,
    floats,
    is_missing_marker,
    require_numeric,
    sorted_keys,
)


def _sub_div(est: Any, b: Builder, src: Slots, sub: Any, div: Any) -> Slots:
    require_numeric(b, src, est)
    check_finite(b, src, est, allow_nan=True)
    n = len(src)
    sub = np.zeros(n) if sub is None else sub
    div = np.ones(n) if div is None else div
    dst = b.alloc(n)
    b.emit(SubDiv(src, dst, floats(sub), floats(div), note=type(est).__name__))
    return dst


@register("sklearn.StandardScaler", kind="transformer")
def convert_standard_scaler(est: Any, b: Builder, src: Slots) -> Slots:
    sub = est.mean_ if est.with_mean else None
    div = est.scale_ if est.with_std else None
    return _sub_div(est, b, src, sub, div)


@register("sklearn.RobustScaler", kind="transformer")
def convert_robust_scaler(est: Any, b: Builder, src: Slots) -> Slots:
    sub = est.center_ if est.with_centering else None
    div = est.scale_ if est.with_scaling else None
    return _sub_div(est, b, src, sub, div)


@register("sklearn.MaxAbsScaler", kind="transformer")
def convert_max_abs_scaler(est: Any, b: Builder, src: Slots) -> Slots:
    return _sub_div(est, b, src, None, est.scale_)


@register("sklearn.MinMaxScaler", kind="transformer")
def convert_min_max_scaler(est: Any, b: Builder, src: Slots) -> Slots:
    require_numeric(b, src, est)
    check_finite(b, src, est, allow_nan=True)
    dst = b.alloc(len(src))
    clip = tuple(float(v) for v in est.feature_range) if est.clip else None
    b.emit(MulAdd(src, dst, floats(est.scale_), floats(est.min_), clip, note="MinMaxScaler"))
    return dst


@register("sklearn.SimpleImputer", kind="transformer")
def convert_simple_imputer(est: Any, b: Builder, src: Slots) -> Slots:
    marker = est.missing_values
    stats = list(est.statistics_)
    keep = [i for i, s in enumerate(stats) if not (is_missing_marker(s) and
                                                   not getattr(est, "keep_empty_features", False))]
    if est.strategy == "constant":
        keep = list(range(len(src)))
    kept_src = tuple(src[i] for i in keep)
    # scikit-learn validates every input column, including the all-missing ones it drops.
    numeric = [s for s in src if not b.is_string(s)]
    if is_missing_marker(marker):
        check_finite(b, tuple(numeric), est, allow_nan=True)
    else:
        check_finite(b, tuple(numeric), est, allow_nan=False)
        # With a non-NaN marker scikit-learn rejects NaN in string (object) columns too.
        strings = tuple(s for s in src if b.is_string(s))
        if strings:
            b.emit(CheckFinite(strings, False, note="SimpleImputer input validation"))
    fills, missing = [], []
    for i in keep:
        slot, stat = src[i], stats[i]
        if is_missing_marker(marker):
            missing.append(float("nan"))
        elif isinstance(marker, str):
            missing.append(category_key(b, slot, marker, est) if b.is_string(slot) else np.nan)
        else:
            missing.append(float(marker))
        fills.append(category_key(b, slot, stat, est) if b.is_string(slot) else float(stat))
    dst = b.alloc(len(keep))
    # One op per distinct missing marker keeps the IR simple (almost always exactly one).
    for m in sorted(set(map(repr, missing))):
        idx = [k for k, mk in enumerate(missing) if repr(mk) == m]
        b.emit(Impute(tuple(kept_src[k] for k in idx), tuple(dst[k] for k in idx),
                      tuple(fills[k] for k in idx), missing[idx[0]], note="SimpleImputer"))
    for s, d in zip(kept_src, dst):
        b.alias_codes(s, d)
    out = list(dst)
    indicator = getattr(est, "indicator_", None)
    if indicator is not None:
        feats = [int(f) for f in indicator.features_]
        ind_src = tuple(src[f] for f in feats)
        ind_dst = b.alloc(len(feats))
        marker_f = float("nan") if is_missing_marker(marker) else float(marker)
        b.emit(MissingIndicator(ind_src, ind_dst, marker_f, note="SimpleImputer indicator"))
        out.extend(ind_dst)
    return tuple(out)


def _grouped(enc: Any, j: int, cat_idx: int) -> int:
    mapping = getattr(enc, "_default_to_infrequent_mappings", None)
    if mapping is None or mapping[j] is None:
        return cat_idx
    return int(mapping[j][cat_idx])


def _infrequent_index(enc: Any, j: int) -> int | None:
    infreq = getattr(enc, "_infrequent_indices", None)
    if not getattr(enc, "_infrequent_enabled", False) or infreq is None or infreq[j] is None:
        return None
    return _grouped(enc, j, int(infreq[j][0]))


@register("sklearn.OneHotEncoder", kind="transformer")
def convert_one_hot(enc: Any, b: Builder, src: Slots) -> Slots:
    check_finite(b, src, enc, allow_nan=True)
    drop = getattr(enc, "_drop_idx_after_grouping", None)
    policy = enc.handle_unknown
    if policy == "warn":
        policy = "infrequent_if_exist"
    out: list[int] = []
    for j, slot in enumerate(src):
        cats = list(enc.categories_[j])
        n_out = int(enc._n_features_outs[j])
        d = None if drop is None or drop[j] is None else int(drop[j])

        def position(g: int) -> int:
            if d is None:
                return g
            return -1 if g == d else g - (g > d)

        keys, pos, missing_pos = [], [], None
        for k, cat in enumerate(cats):
            p = position(_grouped(enc, j, k))
            if is_missing_marker(cat):
                missing_pos = p
            else:
                keys.append(category_key(b, slot, cat, enc))
                pos.append(p)
        if policy == "error":
            on_unknown: Any = "error"
        else:
            infreq = _infrequent_index(enc, j) if policy == "infrequent_if_exist" else None
            on_unknown = "ignore" if infreq is None else position(infreq)
        skeys, spos = sorted_keys(keys, pos)
        dst = b.alloc(n_out)
        b.emit(OneHot(slot, dst, skeys, spos, missing_pos, on_unknown,
                      note=f"OneHotEncoder column {j}"))
        out.extend(dst)
    return tuple(out)


@register("sklearn.OrdinalEncoder", kind="transformer")
def convert_ordinal(enc: Any, b: Builder, src: Slots) -> Slots:
    check_finite(b, src, enc, allow_nan=True)
    missing_idx = getattr(enc, "_missing_indices", {}) or {}
    unknown = float(enc.unknown_value) if enc.handle_unknown == "use_encoded_value" else None
    if enc.handle_unknown not in ("error", "use_encoded_value"):
        raise UnsupportedModelError(f"OrdinalEncoder(handle_unknown={enc.handle_unknown!r})")
    out: list[int] = []
    for j, slot in enumerate(src):
        keys, vals, missing_value = [], [], None
        for k, cat in enumerate(enc.categories_[j]):
            if is_missing_marker(cat):
                missing_value = float(enc.encoded_missing_value) if j in missing_idx else float(
                    _grouped(enc, j, k))
                continue
            keys.append(category_key(b, slot, cat, enc))
            vals.append(float(_grouped(enc, j, k)))
        skeys, svals = sorted_keys(keys, vals)
        (dst,) = b.alloc(1)
        b.emit(Ordinal(slot, dst, skeys, svals, missing_value, unknown,
                       note=f"OrdinalEncoder column {j}"))
        out.append(dst)
    return tuple(out)
