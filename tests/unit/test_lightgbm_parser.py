"""staticml's own LightGBM text-model parser: valid files parse, hostile ones are refused.

No LightGBM needed: the models are written by hand in LightGBM's text format. Every
malformed input must raise ``UnsupportedModelError`` naming the problem, quickly, without
allocating for sizes the file merely claims.
"""

from __future__ import annotations

import random

import numpy as np
import pytest

import staticml.frontends.lightgbm as lgbm
from staticml.errors import UnsupportedModelError
from staticml.frontends import lower
from staticml.frontends.lightgbm import (KZERO, LightGBMModel, load_lightgbm_file,
                                         parse_model_text)
from staticml.frontends.registry import supported
from staticml.ir import interpret
from staticml.ir.ops import InputColumn

from hostile import bounded

HEADER = {
    "version": "v4", "num_class": "1", "num_tree_per_iteration": "1", "label_index": "0",
    "max_feature_idx": "2", "objective": "binary sigmoid:1",
    "feature_names": "age income city", "feature_infos": "[0:1] [0:1] 0:1:2:3",
}
# Tree 0: numeric. node0: age <= 0.5 (missing NaN, default left) -> node1 | leaf 2
#                  node1: income <= 0 (missing None) -> leaf 0 | leaf 1
# Tree 1: categorical on city, set {0, 3} -> leaf 0 | leaf 1
TREES = [
    {"num_leaves": "3", "num_cat": "0", "split_feature": "0 1", "split_gain": "1 1",
     "threshold": "0.5 0", "decision_type": "10 0", "left_child": "1 -1",
     "right_child": "-3 -2", "leaf_value": "0.25 -0.5 1", "leaf_weight": "1 1 1",
     "leaf_count": "1 1 1", "internal_value": "0 0", "internal_weight": "1 1",
     "internal_count": "3 2", "is_linear": "0", "shrinkage": "1"},
    {"num_leaves": "2", "num_cat": "1", "split_feature": "2", "split_gain": "1",
     "threshold": "0", "decision_type": "1", "left_child": "-1", "right_child": "-2",
     "leaf_value": "0.125 -0.125", "leaf_weight": "1 1", "leaf_count": "1 1",
     "internal_value": "0", "internal_weight": "1", "internal_count": "2",
     "cat_boundaries": "0 1", "cat_threshold": "9", "is_linear": "0", "shrinkage": "0.1"},
]


def tree_text(i: int, tree: dict) -> str:
    return f"Tree={i}\n" + "".join(f"{k}={v}\n" for k, v in tree.items()) + "\n\n"


def model_text(header: dict | None = None, trees: list | None = None, sizes: bool = True,
               trailer: str = "end of trees\n\nparameters:\nend of parameters\n\n"
                              "pandas_categorical:null\n") -> str:
    header = dict(HEADER if header is None else header)
    trees = TREES if trees is None else trees
    blocks = [tree_text(i, t) for i, t in enumerate(trees)]
    if sizes:
        header["tree_sizes"] = " ".join(str(len(b)) for b in blocks)
    head = "tree\n" + "".join(f"{k}={v}\n" for k, v in header.items())
    return head + "\n" + "".join(blocks) + trailer


def with_tree(i: int, **changes) -> list:
    trees = [dict(t) for t in TREES]
    for k, v in changes.items():
        if v is None:
            trees[i].pop(k, None)
        else:
            trees[i][k] = v
    return trees


def refused(text: str, *words: str) -> str:
    with pytest.raises(UnsupportedModelError) as info:
        parse_model_text(text)
    msg = str(info.value)
    for w in words:
        assert w in msg, (w, msg)
    return msg


# ---------------------------------------------------------------------- valid models
def test_valid_model_parses() -> None:
    m = parse_model_text(model_text())
    assert isinstance(m, LightGBMModel)
    assert m.n_features_in_ == 3
    assert list(m.feature_names_in_) == ["age", "income", "city"]
    assert list(m.classes_) == [0, 1]
    assert (m.objective, m.sigmoid, m.num_iteration, m.n_iterations) == ("binary", 1.0, 2, 2)
    assert m.library == "lightgbm"
    assert "staticml.LightGBMModel" in supported()
    # without tree_sizes the trees are read one after the other
    assert parse_model_text(model_text(sizes=False)).n_iterations == 2
    assert parse_model_text(model_text(), num_iteration=1).num_iteration == 1


def test_lowered_model_follows_lightgbm_rules() -> None:
    """Hand-computed routes: NaN default, None-type NaN -> 0, flush to zero, (int)x."""
    m = parse_model_text(model_text(header={**HEADER, "objective": "regression"}))
    assert not hasattr(m, "classes_")  # a regression objective: no labels
    graph = lower(m, [InputColumn(n, "number") for n in ("age", "income", "city")])
    rows = {
        # age     income  city    tree0 leaf          tree1 leaf
        (0.1, -1.0, 0.0): 0.25 + 0.125,      # left, left ; city 0 in {0,3}
        (np.nan, 1.0, 3.0): -0.5 + 0.125,   # NaN -> default left ; income > 0 ; city 3
        (0.1, np.nan, 1.0): 0.25 - 0.125,   # None type: NaN is 0 -> 0 <= 0 left
        (0.1, KZERO, -0.5): 0.25 + 0.125,   # |x| <= 1e-35f arrives as 0 ; (int)-0.5 == 0
        (0.1, 2e-35, -1.0): -0.5 - 0.125,   # 2e-35 > 0 ; -1 is negative -> right
        (0.7, 0.0, np.nan): 1.0 - 0.125,    # NaN category -> right
        (0.5, 0.0, 3.9): 0.25 + 0.125,      # threshold itself goes left ; 3.9 -> 3
        (0.1, 0.0, 2.0**31): 0.25 - 0.125,  # out of int range -> right
    }
    X = np.array(list(rows), dtype=np.float64)
    out, status, _ = interpret.run(graph, X)
    assert not status.any()
    assert out[:, 0].tolist() == list(rows.values())


def test_single_leaf_trees_and_inf_thresholds() -> None:
    leaf = {"num_leaves": "1", "num_cat": "0", "split_feature": "", "threshold": "",
            "decision_type": "", "left_child": "", "right_child": "", "leaf_value": "0.75",
            "leaf_weight": "", "leaf_count": "5", "is_linear": "0", "shrinkage": "1"}
    inf = with_tree(0, threshold="inf -inf")[0]
    m = parse_model_text(model_text(header={**HEADER, "objective": "regression"},
                                    trees=[leaf, inf]))
    graph = lower(m, [InputColumn(n, "number") for n in ("age", "income", "city")])
    out, _, _ = interpret.run(graph, np.array([[1e308, -1e308, 0.0], [np.nan, -np.inf, 0.0]]))
    # age <= inf (NaN: default left) -> income <= -inf ? leaf 0 (0.25) : leaf 1 (-0.5)
    assert out[:, 0].tolist() == [0.75 - 0.5, 0.75 + 0.25]


# ---------------------------------------------------------------------- refusals
def test_truncated_files_are_refused() -> None:
    text = model_text()
    end = text.index("end of trees")
    cuts = sorted({i for i, ch in enumerate(text[:end]) if ch == "\n"} |
                  set(range(0, end, 7)))
    for cut in cuts:
        with pytest.raises(UnsupportedModelError):
            parse_model_text(text[:cut])
    refused(text[:end], "end of trees")


@pytest.mark.parametrize("key", ["num_class", "max_feature_idx", "feature_names",
                                 "feature_infos", "label_index"])
def test_missing_header_keys(key: str) -> None:
    header = dict(HEADER)
    del header[key]
    refused(model_text(header=header), key)


@pytest.mark.parametrize("tree,key", [(0, "num_leaves"), (0, "num_cat"), (0, "leaf_value"),
                                      (0, "left_child"), (0, "right_child"),
                                      (0, "split_feature"), (0, "threshold"),
                                      (1, "cat_boundaries"), (1, "cat_threshold")])
def test_missing_tree_keys(tree: int, key: str) -> None:
    refused(model_text(trees=with_tree(tree, **{key: None})), f"tree {tree}", key)


@pytest.mark.parametrize("key,value", [
    ("leaf_value", "0.25 -0.5"), ("leaf_value", "0.25 -0.5 1 2"), ("threshold", "0.5"),
    ("left_child", "1 -1 -2"), ("right_child", ""), ("decision_type", "10"),
    ("split_feature", "0 1 1"), ("split_gain", "1"), ("leaf_count", "1 1"),
    ("internal_value", "0 0 0")])
def test_wrong_array_lengths(key: str, value: str) -> None:
    refused(model_text(trees=with_tree(0, **{key: value})), "tree 0", key, "expected")


def test_wrong_bitset_lengths() -> None:
    refused(model_text(trees=with_tree(1, cat_threshold="9 1")), "cat_threshold", "expected 1")
    refused(model_text(trees=with_tree(1, cat_boundaries="0 1 2")), "cat_boundaries")
    refused(model_text(trees=with_tree(1, cat_boundaries="1 1")), "cat_boundaries")
    refused(model_text(trees=with_tree(1, cat_boundaries="0 2", cat_threshold="1")),
            "expected 2")
    refused(model_text(trees=with_tree(1, threshold="1")), "bitset")
    refused(model_text(trees=with_tree(1, threshold="0.5")), "bitset")
    refused(model_text(trees=with_tree(1, threshold="inf")), "bitset")
    refused(model_text(trees=with_tree(1, num_cat="0")), "num_cat")


@pytest.mark.parametrize("left,right", [("1 2", "-3 -2"), ("1 -4", "-3 -2"), ("-5 -1", "1 -2"),
                                        ("1 -1", "-3 99999999999")])
def test_child_index_out_of_range(left: str, right: str) -> None:
    refused(model_text(trees=with_tree(0, left_child=left, right_child=right)), "tree 0")


@pytest.mark.parametrize("left,right,word", [
    ("1 0", "-1 -2", "root"),          # points back at the root
    ("-1 2 1", "-2 -3 -4", "cycle"),   # 1 <-> 2, unreachable from the root
    ("2 1 -3", "-1 -2 -4", "cycle"),   # node 1 is its own child
    ("1 2 -2", "2 -1 -3", "shared"),   # node 2 has two parents
    ("1 -1", "-1 -2", "shared"),       # leaf 0 twice, leaf 2 never
])
def test_cycles_and_shared_nodes(left: str, right: str, word: str) -> None:
    n_int = len(left.split())
    tree = with_tree(0, num_leaves=str(n_int + 1), left_child=left, right_child=right,
                     split_feature=" ".join(["0"] * n_int), threshold=" ".join(["0"] * n_int),
                     decision_type=" ".join(["2"] * n_int),
                     leaf_value=" ".join(["1"] * (n_int + 1)), split_gain=None,
                     leaf_weight=None, leaf_count=None, internal_value=None,
                     internal_weight=None, internal_count=None)
    msg = refused(model_text(trees=tree), "tree 0")
    assert word in msg or "not a tree" in msg, msg


def test_absurd_sizes_are_refused_without_allocating_them() -> None:
    with bounded():
        refused(model_text(trees=with_tree(0, num_leaves="1000000000")), "num_leaves")
        refused(model_text(trees=with_tree(0, num_leaves="131072")), "expected 131072")
        refused(model_text(trees=with_tree(0, num_leaves="99999999999999999999999")), "num_leaves")
        refused(model_text(trees=with_tree(1, num_cat="131072")), "cat_boundaries")
        refused(model_text(trees=with_tree(1, cat_boundaries="0 4000000000")), "cat_boundaries")
        refused(model_text(trees=with_tree(1, num_cat="2", cat_boundaries="0 1 67108866")),
                "larger than")
        refused(model_text(trees=with_tree(1, cat_boundaries="0 60000000")), "cat_threshold",
                "expected 60000000")
        refused(model_text(header={**HEADER, "num_class": "1000000000"}), "num_class")
        refused(model_text(header={**HEADER, "max_feature_idx": "1000000000000"}),
                "max_feature_idx")
        refused(model_text(header={**HEADER, "max_feature_idx": "99"}), "feature_names")
        refused(model_text(header={**HEADER, "tree_sizes": "1 99999999999999"}, sizes=False),
                "tree_sizes")


def test_dense_bitset_table_is_bounded(monkeypatch) -> None:
    monkeypatch.setattr(lgbm, "MAX_CAT_DENSE_WORDS", 2)
    trees = with_tree(1, cat_boundaries="0 3", cat_threshold="0 0 1")
    m = parse_model_text(model_text(trees=trees))
    with pytest.raises(UnsupportedModelError, match="bitset table"):
        lower(m, [InputColumn(n, "number") for n in ("age", "income", "city")])


@pytest.mark.parametrize("value", ["nan", "inf", "1e999", "1e5x", "0x10", "\u0661", "", " ",
                                   "1,5", "--1", "1e-99999"])
def test_bad_numbers(value: str) -> None:
    refused(model_text(trees=with_tree(0, leaf_value=f"0.25 {value} 1")), "tree 0")


def test_bad_threshold_and_features() -> None:
    refused(model_text(trees=with_tree(0, threshold="nan 0")), "threshold")
    refused(model_text(trees=with_tree(0, split_feature="3 1")), "split_feature")
    refused(model_text(trees=with_tree(0, split_feature="-1 1")), "split_feature")
    refused(model_text(trees=with_tree(0, decision_type="12 0")), "missing type 3")
    refused(model_text(trees=with_tree(0, decision_type="16 0")), "decision_type")
    refused(model_text(trees=with_tree(0, decision_type="1 0")), "num_cat=0")


def test_unsupported_models_are_named() -> None:
    h = dict(HEADER)
    refused(model_text(header={**h, "objective": "regression sqrt"}), "reg_sqrt")
    refused(model_text(header={**h, "objective": "cross_entropy_lambda"}),
            "cross_entropy_lambda")
    refused(model_text(header={**h, "objective": "my_loss"}), "my_loss")
    refused(model_text(header={**h, "objective": "binary"}), "sigmoid")
    refused(model_text(header={**h, "objective": "binary sigmoid:0"}), "sigmoid")
    refused(model_text(header={**h, "objective": "binary foo:1"}), "foo")
    refused(model_text(header={**h, "objective": "multiclass num_class:3"}), "num_class")
    refused(model_text(header={**h, "version": "v9"}), "v9")
    refused(model_text(trees=with_tree(0, is_linear="1")), "linear")
    refused(model_text(trailer="end of trees\npandas_categorical:[[\"a\", \"b\"]]\n"),
            "does not say which features")
    refused(model_text(trailer="end of trees\npandas_categorical:[[\n"), "JSON")
    # a tree count that is not a multiple of the trees per iteration
    refused(model_text(header={**h, "num_class": "3", "num_tree_per_iteration": "3",
                               "objective": "multiclass num_class:3"}), "multiple")


def test_malformed_structure() -> None:
    text = model_text()
    plain = model_text(sizes=False)  # tree edits that keep the (absent) tree_sizes valid
    refused(text.replace("\n", "\r\n"), "CRLF")
    refused(text.replace("Tree=1", "Tree=5"), "Tree=1")
    refused(plain.replace("shrinkage=0.1\n", "shrinkage=0.1\nfoo=1\n"), "foo")
    refused(plain.replace("shrinkage=0.1\n", "shrinkage=0.1\nshrinkage=0.1\n"), "twice")
    refused(plain.replace("shrinkage=0.1\n", "shrinkage=0.1\nnonsense\n"), "malformed")
    refused(text.replace("shrinkage=0.1\n", "shrinkage=0.1\nfoo=1\n"), "tree_sizes")
    refused(text.replace("label_index=0\n", "label_index=0\nlabel_index=0\n"), "twice")
    refused(text.replace("label_index=0\n", "label_index=0\nsurprise=1\n"), "surprise")
    refused("booster\n" + text[5:], "tree")
    refused("", "empty")
    refused("tree\n" + "version=v4\n" * 3, "twice")
    refused(text.replace("\nend of trees", "\nTree=2\nnum_leaves=1\n\nend of trees"),
            "tree_sizes")
    refused(model_text(sizes=False).replace("end of trees", "garbage"), "end of trees")
    refused(text.replace("feature_names=age income city", "feature_names=age age city"),
            "repeats")
    refused(text.replace("tree_sizes=", "tree_sizes=1"), "tree_sizes")
    refused(text.replace("[0:1] [0:1]", "[0:1]  [0:1]"), "feature_infos")
    refused(text[:-1] + "\x00", "NUL")
    # LightGBM's tree reader stops after 22 key=value lines: a longer tree is refused
    extra = "".join(f"{k}=0\n" for k in ("leaf_const", "num_features", "leaf_features",
                                          "leaf_coeff", "leaf_parent", "internal_weight"))
    refused(model_text(sizes=False).replace("shrinkage=0.1\n", "shrinkage=0.1\n" + extra),
            "22 lines")


def test_load_lightgbm_file(tmp_path, monkeypatch) -> None:
    good = tmp_path / "model.txt"
    good.write_text(model_text())
    assert load_lightgbm_file(good).n_iterations == 2
    with pytest.raises(UnsupportedModelError, match="model.txt"):
        bad = tmp_path / "bad" / "model.txt"
        bad.parent.mkdir()
        bad.write_text(model_text().replace("num_leaves=3", "num_leaves=4"))
        load_lightgbm_file(bad)
    binary = tmp_path / "model.bin"
    binary.write_bytes(b"\xff\xfe\x00binary")
    with pytest.raises(UnsupportedModelError, match="UTF-8"):
        load_lightgbm_file(binary)
    with pytest.raises(UnsupportedModelError, match="cannot read"):
        load_lightgbm_file(tmp_path / "missing.txt")
    monkeypatch.setattr(lgbm, "MAX_FILE_BYTES", 100)
    with pytest.raises(UnsupportedModelError, match="larger than"):
        load_lightgbm_file(good)


def test_string_columns_and_feature_count_are_checked() -> None:
    m = parse_model_text(model_text())
    with pytest.raises(UnsupportedModelError, match="string column 'city'"):
        lower(m, [InputColumn("age", "number"), InputColumn("income", "number"),
                  InputColumn("city", "string")])
    with pytest.raises(UnsupportedModelError, match="3 features"):
        lower(m, [InputColumn("age", "number")])


def test_random_mutations_never_crash() -> None:
    """Mutated files either parse (and then lower and run) or raise UnsupportedModelError."""
    rng = random.Random(20240611)
    base = model_text()
    junk = ["-1", "0", "3", "-4", "999999999", "nan", "inf", "", "x", "1e999", "2147483648",
            "-2147483649", "0.5", "131073", "=", "Tree=0"]
    inputs = [InputColumn(n, "number") for n in ("age", "income", "city")]
    X = np.array([[0.1, 0.0, 0.0], [np.nan, np.nan, np.nan], [-0.5, 1e-36, 3.0]])
    parsed = 0
    for _ in range(1500):
        lines = base.split("\n")
        for _ in range(rng.randint(1, 3)):
            if not lines:
                break
            k = rng.randrange(len(lines))
            op = rng.random()
            if op < 0.2:
                del lines[k]
            elif op < 0.3:
                lines.insert(k, lines[rng.randrange(len(lines))])
            elif op < 0.9 and "=" in lines[k]:
                key, _, value = lines[k].partition("=")
                toks = value.split(" ")
                toks[rng.randrange(len(toks))] = rng.choice(junk)
                lines[k] = key + "=" + " ".join(toks)
            else:
                lines = lines[:k]
        text = "\n".join(lines)
        if rng.random() < 0.5:  # get past the tree_sizes check half of the time
            text = _resize(text)
        try:
            m = parse_model_text(text)
        except UnsupportedModelError:
            continue
        parsed += 1
        try:
            graph = lower(m, inputs)
        except UnsupportedModelError:
            continue
        out, status, _ = interpret.run(graph, X)
        assert out.shape[0] == 3
    assert parsed > 20  # the mutations also produce valid files, which must work


def _resize(text: str) -> str:
    """Recompute tree_sizes for whatever trees a mutated text holds."""
    if "Tree=" not in text or "tree_sizes=" not in text:
        return text
    i = text.index("Tree=")
    j = text.find("end of trees")
    body = text[i:j] if j > i else text[i:]
    sizes = [len("Tree=" + c) for c in body.split("Tree=")[1:]]
    lines = text[:i].split("\n")
    lines = [f"tree_sizes={' '.join(map(str, sizes))}" if ln.startswith("tree_sizes=") else ln
             for ln in lines]
    return "\n".join(lines) + text[i:]


def _categorical_trailer(features: str, categories: str) -> str:
    return (f"end of trees\n\nparameters:\n[categorical_feature: {features}]\n"
            f"end of parameters\n\npandas_categorical:{categories}\n")


def test_pandas_categories_are_mapped_to_their_features() -> None:
    m = parse_model_text(model_text(trailer=_categorical_trailer(
        "2", '[["lima", "oslo", "rome", "kyiv"]]')))
    assert m.pandas_categorical == ((2, ("lima", "oslo", "rome", "kyiv")),)
    # Tree 1 sends codes {0, 3} left: 'lima' and 'kyiv'; an unseen city codes as NaN
    graph = lower(m, [InputColumn("age", "number"), InputColumn("income", "number"),
                      InputColumn("city", "string", ("kyiv", "lima", "oslo", "rome"))])
    X = np.array([[0.1, 1.0, 1.0], [0.1, 1.0, 0.0], [0.1, 1.0, -1.0], [0.1, 1.0, np.nan]])
    out, status, _ = interpret.run(graph, X)  # city codes: lima, kyiv, unseen, missing
    assert not status.any()
    assert out[0, -1] == out[1, -1] != out[2, -1] == out[3, -1]


@pytest.mark.parametrize("features, categories, words", [
    ("1,2", '[["a"]]', "categorical_feature lists 2 features"),
    ("2", '[["a", 1]]', "distinct strings or distinct finite numbers"),
    ("2", '[["a", "a"]]', "distinct strings"),
    ("2", '[[1.5, NaN]]', "distinct finite numbers"),
    ("2", '[[]]', "list of category lists"),
    ("7", '[["a"]]', "categorical_feature"),
])
def test_malformed_pandas_categories(features, categories, words) -> None:
    refused(model_text(trailer=_categorical_trailer(features, categories)), words)
