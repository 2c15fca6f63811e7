"""The XGBoost model parser and the UBJSON decoder, on hand-made and hostile files.

A model file is untrusted input: every malformed file must fail fast with an
``UnsupportedModelError`` that names the problem, never another exception, a hang or a huge
allocation. These tests need no xgboost (models are written by hand, in JSON and in UBJSON
through the small encoder below).
"""

from __future__ import annotations

import copy
import json
import math
import struct

import numpy as np
import pytest

from staticml.data.schema import RowEncoder
from staticml.errors import ModelFileError, UnsupportedModelError
from staticml.frontends import ubjson
from staticml.frontends import xgboost as fx
from staticml.ir import interpret
from staticml.ir.graph import Builder
from staticml.ir.ops import InputColumn, TreeEnsemble

from hostile import bounded


# ------------------------------------------------------------------ a tiny UBJSON encoder
def ubj(value) -> bytes:
    """UBJSON as XGBoost writes it: int64 lengths, typed arrays for numpy arrays."""
    if isinstance(value, dict):
        out = b"{"
        for k, v in value.items():
            kb = k.encode()
            out += b"L" + struct.pack(">q", len(kb)) + kb + ubj(v)
        return out + b"}"
    if isinstance(value, np.ndarray):
        marker = {"f4": b"d", "f8": b"D", "i4": b"l", "i8": b"L", "u1": b"U", "i1": b"i"}[
            value.dtype.str[1:]]
        be = value.astype(value.dtype.newbyteorder(">"))
        return b"[$" + marker + b"#L" + struct.pack(">q", len(value)) + be.tobytes()
    if isinstance(value, list):
        return b"[#L" + struct.pack(">q", len(value)) + b"".join(ubj(v) for v in value)
    if isinstance(value, bool):
        return b"T" if value else b"F"
    if isinstance(value, int):
        if not -2 ** 63 <= value < 2 ** 63:
            digits = str(value).encode()
            return b"HL" + struct.pack(">q", len(digits)) + digits
        return b"L" + struct.pack(">q", value)
    if isinstance(value, float):
        return b"D" + struct.pack(">d", value)
    if isinstance(value, str):
        b = value.encode()
        return b"SL" + struct.pack(">q", len(b)) + b
    if value is None:
        return b"Z"
    raise TypeError(value)


# ------------------------------------------------------------------ hand-made models
def tree(left, right, split, cond, default_left=None, split_type=None, categories=None):
    n = len(left)
    t = {"tree_param": {"num_nodes": str(n), "size_leaf_vector": "1", "num_feature": "3",
                        "num_deleted": "0"},
         "left_children": list(left), "right_children": list(right),
         "split_indices": list(split), "split_conditions": list(cond),
         "default_left": list(default_left or [0] * n), "split_type": list(split_type or [0] * n),
         "categories": [], "categories_nodes": [], "categories_segments": [],
         "categories_sizes": [], "base_weights": [0.0] * n, "parents": [2147483647] * n,
         "id": 0}
    if categories:
        for node, cats in categories.items():
            t["categories_nodes"].append(node)
            t["categories_segments"].append(len(t["categories"]))
            t["categories_sizes"].append(len(cats))
            t["categories"].extend(cats)
    return t


def stump(feature=0, threshold=0.5, lo=-1.0, hi=1.0, default_left=0):
    return tree([1, -1, -1], [2, -1, -1], [feature, 0, 0], [threshold, lo, hi],
                default_left=[default_left, 0, 0])


def model(trees=None, objective="reg:squarederror", base_score="[5E-1]", num_feature=3,
          num_class=0, attributes=None, feature_names=None, feature_types=None, cats=None,
          tree_info=None):
    trees = [stump()] if trees is None else trees
    groups = max(num_class, 1)
    m = {"gbtree_model_param": {"num_parallel_tree": "1", "num_trees": str(len(trees))},
         "iteration_indptr": list(range(0, len(trees) + 1, groups)),
         "tree_info": tree_info if tree_info is not None else [i % groups
                                                               for i in range(len(trees))],
         "trees": trees}
    if cats is not None:
        m["cats"] = cats
    return {"learner": {
        "attributes": attributes or {},
        "feature_names": feature_names or [], "feature_types": feature_types or [],
        "gradient_booster": {"model": m, "name": "gbtree"},
        "learner_model_param": {"base_score": base_score, "boost_from_average": "1",
                                "num_class": str(num_class), "num_feature": str(num_feature),
                                "num_target": "1"},
        "objective": {"name": objective}},
        "version": [3, 2, 0]}


def as_json(doc) -> bytes:
    return json.dumps(doc).encode()


def parse(doc, fmt="json", **kw):
    data = as_json(doc) if fmt == "json" else ubj(doc)
    return fx.parse_model(data, fmt=fmt, **kw)


def refused(data: bytes, match: str, fmt: str | None = None) -> str:
    with bounded(), pytest.raises(UnsupportedModelError, match=match) as exc:
        fx.parse_model(data, fmt=fmt)
    return str(exc.value)


def run(m: fx.XGBoostModel, X) -> np.ndarray:
    inputs = [InputColumn(f"x{i}", "number") for i in range(m.n_features_in_)]
    b = Builder(inputs)
    head = fx.lower_model(m, b, tuple(range(len(inputs))))
    graph = b.finish(head, "regression")
    out, status, _ = interpret.run(graph, RowEncoder(graph.inputs).encode(np.asarray(X, float)))
    assert (status == 0).all()
    return out


# ==================================================================== UBJSON decoder
def test_ubjson_round_trip_matches_json():
    doc = model(trees=[stump(), stump(1, -2.5)])
    doc["learner"]["gradient_booster"]["model"]["trees"][0]["split_conditions"] = \
        np.asarray([0.5, -1, 1], dtype=np.float32)
    got = ubjson.decode(ubj(doc))
    assert isinstance(got["learner"]["gradient_booster"]["model"]["trees"][0]
                      ["split_conditions"], np.ndarray)
    assert got["learner"]["objective"] == {"name": "reg:squarederror"}
    assert got["version"] == [3, 2, 0]


def test_ubjson_scalars_and_markers():
    assert ubjson.decode(b"i\xff") == -1
    assert ubjson.decode(b"U\xff") == 255
    assert ubjson.decode(b"I\x01\x00") == 256
    assert ubjson.decode(b"d" + struct.pack(">f", 0.1)) == float(np.float32(0.1))
    assert ubjson.decode(b"HU\x0512345") == 12345
    assert ubjson.decode(b"[TFZ]") == [True, False, None]
    assert ubjson.decode(b"[Ni\x01N]") == [1]  # no-ops are skipped
    assert ubjson.decode(b"{U\x01ai\x02}") == {"a": 2}
    assert ubjson.decode(b"{#U\x01U\x01ai\x02") == {"a": 2}  # counted object
    assert ubjson.decode(b"[$i#U\x02\x01\xff").tolist() == [1, -1]
    assert ubjson.decode(b"[$S#U\x02U\x01aU\x00") == ["a", ""]


@pytest.mark.parametrize("data, match", [
    (b"", "truncated"),
    (b"{", "truncated"),
    (b"{L\x00\x00\x00\x00\x00\x00\x00\x05lea", "exceeds"),
    (b"X", "unknown type marker 'X'"),
    (b"{U\x01aX}", "unknown type marker 'X'"),
    (b"{S\x01a}", "object key length must be an integer"),
    (b"]", "unexpected container end"),
    (b"[$[#U\x01", "unsupported strongly typed container"),
    (b"[$Z#L\x00\x00\x01\x00\x00\x00\x00\x00", "unsupported strongly typed container"),
    (b"[$i]", "must declare its count"),
    (b"[#i\xff", "negative container count"),
    (b"[#L\x3f\xff\xff\xff\xff\xff\xff\xff", "declares 4611686018427387903 elements"),
    (b"[$d#L\x10\x00\x00\x00\x00\x00\x00\x00", "declares"),
    (b"{#L\x10\x00\x00\x00\x00\x00\x00\x00", "declares"),
    (b"SL\x00\x00\x01\x00\x00\x00\x00\x00abc", "declared length 1099511627776 exceeds"),
    (b"S\xff", "string length must be an integer"),
    (b"SU\x02\xff\xfe", "not valid UTF-8"),
    (b"HU\x03abc", "invalid high-precision number"),
    (b"[]]", "unexpected bytes after the end"),
    (b"i\x01i\x02", "unexpected bytes after the end"),
])
def test_ubjson_malformed(data, match):
    with bounded(), pytest.raises(UnsupportedModelError, match=match):
        ubjson.decode(data)


def test_ubjson_deep_nesting_is_refused_without_recursion():
    for data in (b"[" * 200_000, b"{U\x01a" * 200_000):
        with bounded(), pytest.raises(UnsupportedModelError, match="nested deeper than 64"):
            ubjson.decode(data)
    assert ubjson.decode(b"[" * 64 + b"]" * 64) == _nested(64)


def _nested(depth):
    value: list = []
    for _ in range(depth - 1):
        value = [value]
    return value


def test_every_truncation_of_a_model_is_refused():
    data = ubj(model(trees=[stump(), stump(2, 1.5)]))
    fx.parse_model(data)  # the whole file is fine
    for cut in range(len(data)):
        with pytest.raises(UnsupportedModelError):
            fx.parse_model(data[:cut], fmt="ubj")
    text = as_json(model())
    for cut in range(0, len(text), 7):
        with pytest.raises(UnsupportedModelError):
            fx.parse_model(text[:cut], fmt="json")


def test_random_corruption_never_crashes():
    rng = np.random.default_rng(0)
    data = bytearray(ubj(model(trees=[stump(), stump(1, -0.5)])))
    outcomes = {"ok": 0, "refused": 0}
    with bounded():
        for _ in range(400):
            bad = bytearray(data)
            for pos in rng.integers(0, len(bad), size=rng.integers(1, 4)):
                bad[pos] = int(rng.integers(0, 256))
            try:
                fx.parse_model(bytes(bad), fmt="ubj")
                outcomes["ok"] += 1
            except UnsupportedModelError:
                outcomes["refused"] += 1
    assert outcomes["refused"] > 100


# ==================================================================== file-level checks
@pytest.mark.parametrize("data, match", [
    (b"", "not an XGBoost model"),
    (b"PK\x03\x04rest", "not an XGBoost model"),
    (b"\x00\x01", "not an XGBoost model"),
    (b"[1, 2]", "not an XGBoost model"),
    (b"tree\n0:[f0<0.5]", "not an XGBoost model"),  # a text dump, not a model
])
def test_wrong_magic(data, match):
    refused(data, match)


def test_json_syntax_and_nesting():
    refused(b'{"learner": ', "not valid JSON")
    refused(b'{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested too deeply", fmt="json")
    refused(b'{"learner": {"x": "\xff"}}', "not UTF-8", fmt="json")
    refused(ubj(model()), "looks like UBJSON", fmt="json")


def test_load_file_checks_suffix_and_content(tmp_path):
    good = tmp_path / "m.json"
    good.write_bytes(as_json(model()))
    assert fx.load_xgboost_file(good).objective == "reg:squarederror"
    (tmp_path / "m.ubj").write_bytes(ubj(model()))
    assert fx.load_xgboost_file(tmp_path / "m.ubj").n_features_in_ == 3
    (tmp_path / "swapped.json").write_bytes(ubj(model()))
    with pytest.raises(UnsupportedModelError, match="holds UBJSON"):
        fx.load_xgboost_file(tmp_path / "swapped.json")
    (tmp_path / "swapped.ubj").write_bytes(json.dumps(model(), indent=1).encode())
    with pytest.raises(UnsupportedModelError, match="holds JSON"):
        fx.load_xgboost_file(tmp_path / "swapped.ubj")
    with pytest.raises(UnsupportedModelError, match="does not exist"):
        fx.load_xgboost_file(tmp_path / "missing.json")


# ==================================================================== schema checks
def edit(path, value=None, delete=False, doc=None):
    doc = copy.deepcopy(doc or model(trees=[stump(), stump(1, -1.0)]))
    *parents, last = path
    node = doc
    for p in parents:
        node = node[p]
    if delete:
        del node[last]
    else:
        node[last] = value
    return doc


GB = ("learner", "gradient_booster")
T0 = (*GB, "model", "trees", 0)
LMP = ("learner", "learner_model_param")


@pytest.mark.parametrize("path, value, delete, match", [
    (("learner",), None, True, "missing key 'learner'"),
    ((*GB, "model", "trees"), None, True, "missing key 'trees'"),
    ((*LMP, "num_feature"), None, True, "missing key 'num_feature'"),
    ((*LMP, "num_feature"), "0", False, "out of range"),
    ((*LMP, "num_feature"), "many", False, "must be an integer"),
    ((*LMP, "num_target"), "2", False, "multi-output"),
    ((*LMP, "base_score"), "[abc]", False, "is not a number"),
    ((*LMP, "base_score"), "[0.5,0.5]", False, "has 2 values but the model has 1"),
    ((*LMP, "base_score"), "[nan]", False, "not finite"),
    ((*GB, "model", "gbtree_model_param", "num_trees"), "3", False, "has 2 trees"),
    ((*GB, "model", "tree_info"), [0, 5], False, "output group outside"),
    ((*GB, "model", "iteration_indptr"), [0, 3], False, "does not partition"),
    ((*GB, "name"), "dart", False, "DART"),
    ((*GB, "name"), "gblinear", False, "linear model"),
    (("learner", "objective", "name"), "rank:pairwise", False, "not supported"),
    (("learner", "objective", "name"), "binary:hinge", False, "not supported"),
    (("learner", "attributes"), {"best_iteration": "7"}, False, "beyond the model's 2"),
    (("learner", "attributes"), {"best_iteration": "-1"}, False, "out of range"),
    (("learner", "attributes"), {"scikit_learn": '{"_estimator_type": "ranker"}'}, False,
     "ranker"),
    (("learner", "feature_names"), ["a", "b"], False, "has 2 entries for 3 features"),
    ((*T0, "tree_param", "num_nodes"), "4", False, "has 3 entries, expected 4"),
    ((*T0, "tree_param", "num_nodes"), str(2 ** 40), False, "out of range"),
    ((*T0, "tree_param", "num_nodes"), "-1", False, "out of range"),
    ((*T0, "tree_param", "size_leaf_vector"), "2", False, "multi-target tree"),
    ((*T0, "left_children"), [1, -1], False, "has 2 entries, expected 3"),
    ((*T0, "left_children"), [7, -1, -1], False, "child 7, outside"),
    ((*T0, "left_children"), [0, -1, -1], False, "node 0 is reached twice"),
    ((*T0, "left_children"), [2, -1, -1], False, "node 2 is reached twice"),
    ((*T0, "left_children"), [1.0, -1, -1], False, "must hold integers"),
    ((*T0, "left_children"), [10 ** 30, -1, -1], False, "out of range"),
    ((*T0, "left_children"), "[1, -1, -1]", False, "must be an array"),
    ((*T0, "right_children"), [2, 5, -1], False, "has one child"),
    ((*T0, "split_indices"), [3, 0, 0], False, "splits on feature 3"),
    ((*T0, "split_conditions"), [float("nan"), 0.0, 1.0], False, "split condition nan"),
    ((*T0, "split_conditions"), [float("-inf"), 0.0, 1.0], False, "split condition -inf"),
    ((*T0, "split_conditions"), [0.5, float("inf"), 1.0], False, "not finite"),
    ((*T0, "split_conditions"), [0.5, "x", 1.0], False, "must hold numbers"),
    ((*T0, "default_left"), [2, 0, 0], False, "must hold 0/1"),
    ((*T0, "split_type"), [1, 0, 0], False, "categorical node 0 has no category list"),
])
def test_schema_errors(path, value, delete, match):
    doc = edit(path, value, delete)
    # A model staticml does not support is not a damaged file: only the latter is told to
    # write the file again (ModelFileError).
    damaged = match not in ("multi-output", "DART", "linear model", "not supported", "ranker",
                            "multi-target tree")
    for fmt in ("json", "ubj"):
        data = as_json(doc) if fmt == "json" else ubj(doc)
        with pytest.raises(UnsupportedModelError, match=match) as exc:
            fx.parse_model(data, fmt=fmt)
        assert str(exc.value).startswith("model")  # names the source
        assert isinstance(exc.value, ModelFileError) == damaged, (fmt, type(exc.value))


def test_two_node_cycle_below_the_root():
    t = tree([1, 2, 1, -1], [3, 3, -1, -1], [0, 1, 2, 0], [0.0, 0.0, 0.0, 1.0])
    refused(as_json(model(trees=[t])), "reached twice")


def test_categorical_list_errors():
    base = tree([1, -1, -1], [2, -1, -1], [0, 0, 0], [0.0, -1.0, 1.0], split_type=[1, 0, 0],
                categories={0: [1, 3]})
    parse(model(trees=[base]))
    bad = copy.deepcopy(base)
    bad["categories_segments"] = [5]
    refused(as_json(model(trees=[bad])), "out of range")
    bad = copy.deepcopy(base)
    bad["categories"] = [1, 16777215]
    refused(as_json(model(trees=[bad])), "category outside")
    bad = copy.deepcopy(base)
    bad["categories"] = [-1, 2]
    refused(as_json(model(trees=[bad])), "category outside")


def test_category_table_errors():
    enc_ok = {"enc": [{"offsets": [], "values": []},
                      {"offsets": [0, 1, 3], "values": [97, 98, 99]},
                      {"type": 15, "values": [10, 20]}],
              "feature_segments": [], "sorted_idx": []}
    m = parse(model(cats=enc_ok))
    assert m.categories[0] is None
    assert m.categories[1].values == ("a", "bc") and m.categories[1].is_string
    assert m.categories[2].values == (10, 20) and m.categories[2].dtype == "int64"
    non_ascii = copy.deepcopy(enc_ok)
    non_ascii["enc"][1]["values"] = [97, -61, 99]
    refused(as_json(model(cats=non_ascii)), "not ASCII")
    bad = copy.deepcopy(enc_ok)
    bad["enc"][1]["offsets"] = [0, 5, 3]
    refused(as_json(model(cats=bad)), "do not partition")
    bad = copy.deepcopy(enc_ok)
    bad["enc"] = bad["enc"][:2]
    refused(as_json(model(cats=bad)), "2 entries for 3 features")
    bad = copy.deepcopy(enc_ok)
    bad["enc"][2]["values"] = [10, 10]
    refused(as_json(model(cats=bad)), "twice")


def test_unreachable_nodes_are_ignored():
    # Pruned (deleted) nodes stay in the arrays but are not reachable from the root.
    t = tree([1, -1, -1, 0, -1], [2, -1, -1, 0, -1], [0, 0, 0, 5, 0],
             [0.5, -1.0, 1.0, float("nan"), 9.0])
    m = parse(model(trees=[t]))
    assert m.trees[0].n_nodes == 3


# ==================================================================== semantics
def test_strict_less_than_in_float32():
    t = float(np.float32(0.1))
    m = parse(model(trees=[stump(0, 0.1)], base_score="[0E0]"))
    below = float(np.nextafter(np.float32(t), np.float32(-1)))
    X = [[t, 0, 0], [below, 0, 0], [0.1, 0, 0], [np.nextafter(t, -1.0), 0, 0],
         [np.nextafter(t, 2.0), 0, 0], [np.nan, 0, 0], [-np.inf, 0, 0], [np.inf, 0, 0]]
    # (float)x < float32(0.1): 0.1 rounds to float32(0.1), so it goes right; so does the
    # double just below float32(0.1), which rounds up to it.
    assert run(m, X)[:, 0].tolist() == [1, -1, 1, 1, 1, 1, -1, 1]


def test_default_left_and_float32_accumulation():
    m = parse(model(trees=[stump(0, 0.5, lo=0.1, hi=0.2, default_left=1),
                           stump(1, 0.5, lo=0.7, hi=0.3)], base_score="[1E-1]"))
    got = run(m, [[np.nan, 0, 0], [1.0, 1.0, 0]])[:, 0]
    f = np.float32
    assert got[0] == float(f(f(f(0.1) + f(0.1)) + f(0.7)))
    assert got[1] == float(f(f(f(0.1) + f(0.2)) + f(0.3)))


def test_categorical_split_orientation_and_invalid_values():
    # XGBoost: categories in the set go RIGHT; negative or >= 2^24 (invalid) go LEFT.
    t = tree([1, -1, -1], [2, -1, -1], [0, 0, 0], [0.0, -1.0, 1.0], split_type=[1, 0, 0],
             categories={0: [1, 3, 40]}, default_left=[1, 0, 0])
    m = parse(model(trees=[t], base_score="[0E0]", feature_types=["c", "q", "q"]))
    X = [[1, 0, 0], [3.7, 0, 0], [40, 0, 0], [0, 0, 0], [2, 0, 0], [-1, 0, 0], [-0.5, 0, 0],
         [16777216, 0, 0], [2.0 ** 31 + 3, 0, 0], [np.inf, 0, 0], [np.nan, 0, 0],
         [1e300, 0, 0], [-0.0, 0, 0]]
    assert run(m, X)[:, 0].tolist() == [1, 1, 1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1]


def test_exact_decimal_to_float32():
    # 16777217 is halfway between float32 16777216 and 16777218: ties go to even.
    assert fx.decimal_to_f32("16777217") == np.float32(16777216)
    assert fx.decimal_to_f32("16777217.000000001") == np.float32(16777218)
    assert fx.decimal_to_f32("16777216.999999999") == np.float32(16777216)
    assert fx.decimal_to_f32("16777219") == np.float32(16777220)
    assert fx.decimal_to_f32("5.0355E-1") == np.float32(0.50355)
    assert fx.decimal_to_f32("-1e-50") == np.float32(-0.0)
    assert np.isinf(fx.decimal_to_f32("1e39"))
    with pytest.raises(ValueError):
        fx.decimal_to_f32("0x10")
    # the same correction inside JSON node arrays
    text = as_json(model(trees=[stump(0, 12345.5)])).replace(b"12345.5", b"16777217.000000001")
    m = fx.parse_model(text)
    assert m.trees[0].threshold[0] == np.float32(16777218)


def test_base_score_formats():
    assert fx.parse_base_score("5E-1") == [np.float32(0.5)]
    assert fx.parse_base_score("[5.0355E-1]") == [np.float32(0.50355)]
    assert fx.parse_base_score("[1E0, -2E0 ,3.5E-1]") == [np.float32(1), np.float32(-2),
                                                          np.float32(0.35)]
    for bad in ("", "[]", "[1,]", "[1e", "0.5abc", "[1;2]"):
        with pytest.raises(UnsupportedModelError):
            fx.parse_base_score(bad)


def test_base_margin_links():
    f = np.float32
    assert fx.base_margin("reg:squarederror", [f(3.5)], 1) == (f(3.5),)
    (m,) = fx.base_margin("binary:logistic", [f(0.25)], 1)
    assert abs(float(m) - math.log(0.25 / 0.75)) < 1e-6
    assert fx.base_margin("binary:logistic", [f(0.5)], 1)[0] == 0
    # XGBoost clamps p into [1e-6, 1 - 1e-6] before the logit
    assert fx.base_margin("binary:logistic", [f(1e-9)], 1) == \
        fx.base_margin("binary:logistic", [f(1e-6)], 1)
    (m,) = fx.base_margin("count:poisson", [f(2.5)], 1)
    assert abs(float(m) - math.log(2.5)) < 1e-6
    with pytest.raises(UnsupportedModelError, match="must be > 0"):
        fx.base_margin("reg:gamma", [f(0.0)], 1)
    assert fx.base_margin("multi:softprob", [f(0.5)], 3) == (f(0.5),) * 3


def test_binary_label_threshold():
    t = np.float32(fx.binary_label_threshold())
    assert 0 < t < 1e-7
    assert fx.sigmoid_f32(t) == np.float32(0.5)
    assert fx.sigmoid_f32(np.nextafter(t, np.float32(1))) > np.float32(0.5)


def test_classifier_kinds_and_attributes():
    clf = parse(model(objective="binary:logistic"))
    assert clf.kind == "classifier" and clf.classes_.tolist() == [0, 1]
    assert not hasattr(clf, "feature_names_in_")
    reg = parse(model(objective="binary:logistic",
                      attributes={"scikit_learn": '{"_estimator_type": "regressor"}'}))
    assert reg.kind == "regressor"
    assert not hasattr(reg, "classes_") and not hasattr(reg, "predict_proba")
    named = parse(model(feature_names=["a", "b", "c"]))
    assert named.feature_names_in_.tolist() == ["a", "b", "c"]
    multi = parse(model(objective="multi:softprob", num_class=3,
                        trees=[stump(), stump(), stump()], base_score="[1E0,2E0,3E0]"))
    assert multi.classes_.tolist() == [0, 1, 2] and multi.n_groups == 3
    assert parse(model(), kind="booster").kind == "booster"
    with pytest.raises(ValueError):
        parse(model(), kind="nonsense")


def test_best_iteration_truncates_wrappers_not_boosters():
    doc = model(trees=[stump(0, 0.5, 1.0, 1.0), stump(0, 0.5, 10.0, 10.0)],
                attributes={"best_iteration": "0"}, base_score="[0E0]")
    assert run(parse(doc), [[0, 0, 0]])[0, 0] == 1.0
    assert run(parse(doc, kind="booster"), [[0, 0, 0]])[0, 0] == 11.0


def test_multi_softmax_needs_classifier_semantics():
    m = parse(model(objective="multi:softmax", num_class=3, trees=[stump()] * 3),
              kind="regressor")
    with pytest.raises(UnsupportedModelError, match="argmax labels"):
        run(m, [[0, 0, 0]])


def test_lowering_produces_one_tree_ensemble():
    m = parse(model(trees=[stump(), stump(2, 1.5)]), fmt="ubj")
    b = Builder([InputColumn(f"x{i}", "number") for i in range(3)])
    fx.lower_model(m, b, (0, 1, 2))
    (op,) = b.ops
    assert isinstance(op, TreeEnsemble)
    assert op.input_float32 and op.accumulate_float32 and op.n_trees == 2
