"""The bundle is trusted only as far as its hashes: tampering, corruption and paths."""

import json
import os
import re
import shutil

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

import staticml
from staticml.errors import ArtifactError, BuildError, UnsupportedModelError
from staticml.bundle.targets import host_target  # noqa: E402

HOST = host_target()

pytestmark = pytest.mark.needs_cc


@pytest.fixture
def bundle_copy(churn_bundle, tmp_path):
    dst = tmp_path / "b"
    shutil.copytree(churn_bundle, dst)
    return dst


def _lib(root):
    m = json.loads((root / "manifest.json").read_text())
    return root / m["targets"][HOST]["path"]


def test_loads_and_predicts_like_the_model(churn, churn_bundle):
    model, _, X_test, _ = churn
    art = staticml.load(churn_bundle)
    assert np.array_equal(art.predict(X_test), model.predict(X_test))
    assert art.predict(X_test).dtype == model.predict(X_test).dtype
    assert np.abs(art.predict_proba(X_test) - model.predict_proba(X_test)).max() <= 1e-9


def test_a_flipped_byte_in_the_library_is_refused(bundle_copy):
    lib = _lib(bundle_copy)
    data = bytearray(lib.read_bytes())
    data[len(data) // 2] ^= 0xFF
    lib.write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match="does not match its sha256"):
        staticml.load(bundle_copy)


def test_a_replaced_header_is_refused(bundle_copy):
    h = bundle_copy / "include" / "churn.h"
    h.write_text(h.read_text() + "\n/* edited */\n")
    with pytest.raises(ArtifactError, match="include/churn.h"):
        staticml.load(bundle_copy)


def test_a_missing_file_is_named(bundle_copy):
    (bundle_copy / "src" / "churn.c").unlink()
    with pytest.raises(ArtifactError, match="src/churn.c is missing"):
        staticml.load(bundle_copy)


def test_a_corrupted_manifest_is_a_clear_error(bundle_copy):
    (bundle_copy / "manifest.json").write_text("{not json")
    with pytest.raises(ArtifactError, match="corrupted"):
        staticml.load(bundle_copy)


def _swap_first_two(items: list) -> list:
    return [items[1], items[0], *items[2:]]


# Edits to manifest.json alone (every file still matches its hash): each changes what the
# Python side would do with the library's numbers, so loading must refuse it.
MANIFEST_EDITS = {
    "classes-swapped": (lambda m: m["outputs"].update(classes=m["outputs"]["classes"][::-1]),
                        "in outputs"),
    "more-outputs": (lambda m: m["outputs"].update(n_outputs=m["outputs"]["n_outputs"] + 5),
                     "in outputs"),
    "inputs-reordered": (lambda m: m.update(inputs=_swap_first_two(m["inputs"])), "in inputs"),
    "vocabulary-reordered": (
        lambda m: next(c for c in m["inputs"] if c["dtype"] == "string")["vocabulary"].reverse(),
        "in inputs"),
    "task": (lambda m: m.update(task="regression"), "in task"),
    "policy": (lambda m: m["contract"].update(on_violation="error"), "contract.on_violation"),
    "library-unlisted": (lambda m: m["files"].pop(m["targets"][HOST]["path"]),
                         "does not list lib/"),
    "files-emptied": (lambda m: m.update(files={}), "does not list include/churn.h"),
    "inputs-removed": (lambda m: m.pop("inputs"), "is damaged: inputs"),
    "outputs-null": (lambda m: m.update(outputs=None), "is damaged: outputs"),
}


@pytest.mark.parametrize("edit", list(MANIFEST_EDITS))
def test_an_edited_manifest_is_refused(bundle_copy, edit):
    change, match = MANIFEST_EDITS[edit]
    m = json.loads((bundle_copy / "manifest.json").read_text())
    change(m)
    (bundle_copy / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(ArtifactError, match=re.escape(match)):
        staticml.load(bundle_copy)


def test_manifest_paths_cannot_leave_the_bundle(bundle_copy):
    m = json.loads((bundle_copy / "manifest.json").read_text())
    m["files"]["../../etc/passwd"] = {"sha256": "0" * 64, "size": 1}
    (bundle_copy / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(ArtifactError, match="outside the bundle"):
        staticml.load(bundle_copy)


def test_not_a_bundle(tmp_path):
    with pytest.raises(ArtifactError, match="no manifest.json"):
        staticml.load(tmp_path)


def test_unsupported_estimator_names_it_lists_supported_and_writes_nothing(tmp_path):
    X = np.random.default_rng(0).normal(size=(50, 3))
    y = (X[:, 0] > 0).astype(int)
    model = make_pipeline(StandardScaler(), SVC()).fit(X, y)
    out = tmp_path / "svc"
    with pytest.raises(UnsupportedModelError) as exc:
        staticml.build(model, X, out)
    assert "SVC" in str(exc.value) and "LogisticRegression" in str(exc.value)
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("fitted", ["none", "first-step-only"])
def test_an_unfitted_model_is_named_not_a_traceback(tmp_path, fitted):
    X = np.random.default_rng(0).normal(size=(50, 3))
    scaler = StandardScaler().fit(X) if fitted == "first-step-only" else StandardScaler()
    model = make_pipeline(scaler, LogisticRegression())
    with pytest.raises(UnsupportedModelError, match=r"is not fitted: call fit\(\)"):
        staticml.build(model, X, tmp_path / "m")
    assert list(tmp_path.iterdir()) == []


def test_a_directory_with_user_files_is_never_replaced(tmp_path, churn):
    model, X_train, _, _ = churn
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("precious")
    with pytest.raises(BuildError, match="not a staticml bundle"):
        staticml.build(model, X_train[:100], out)
    assert (out / "notes.txt").read_text() == "precious"


def test_a_failed_rebuild_leaves_the_old_bundle_intact(bundle_copy, churn):
    before = (bundle_copy / "manifest.json").read_text()
    X = np.random.default_rng(0).normal(size=(50, 3))
    bad = make_pipeline(StandardScaler(), SVC()).fit(X, (X[:, 0] > 0).astype(int))
    with pytest.raises(UnsupportedModelError):
        staticml.build(bad, X, bundle_copy)
    assert (bundle_copy / "manifest.json").read_text() == before
    staticml.load(bundle_copy)
    leftovers = [p.name for p in bundle_copy.parent.iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_rebuilding_replaces_a_bundle_atomically(bundle_copy, churn):
    model, X_train, X_test, _ = churn
    lr = make_pipeline(StandardScaler(), LogisticRegression()).fit(
        X_train[["tenure_months", "monthly_charges"]], churn[3][:2000])
    staticml.build(lr, X_train[["tenure_months", "monthly_charges"]][:100], bundle_copy,
                   name="churn")
    art = staticml.load(bundle_copy)
    assert [c.name for c in art.inputs] == ["tenure_months", "monthly_charges"]


def test_a_bundle_rebuilt_in_place_loads_the_new_model(tmp_path):
    """The dynamic loader returns the library first loaded from a path; a notebook that
    rebuilds a bundle in place and loads it again must get the new model, not the old one."""
    rng = np.random.default_rng(7)
    X = rng.normal(size=(200, 3))
    first = LogisticRegression().fit(X, (X[:, 0] > 0).astype(int))
    second = LogisticRegression().fit(X, (X[:, 1] > 0).astype(int))
    out = tmp_path / "m"
    for model in (first, second, first):
        art = staticml.build(model, X, out, name="m")
        assert np.array_equal(art.predict(X), model.predict(X))
        again = staticml.load(out)
        assert np.abs(again.predict_proba(X) - model.predict_proba(X)).max() <= 1e-9


@pytest.mark.parametrize("change, error, match", [
    ({"name": None}, "BuildError", "not a valid C identifier"),
    ({"name": "m" * 65}, "BuildError", "at most 64 characters"),
    ({"out": None}, "BuildError", "out must be a directory path"),
    ({"sample": "empty"}, "InputError", "the sample has no rows"),
])
def test_build_arguments_are_checked_before_any_work(tmp_path, churn, change, error, match):
    model, X_train, _, _ = churn
    args = {"model": model, "sample": X_train[:50], "out": tmp_path / "b", "name": "m", **change}
    if change.get("sample") == "empty":
        args["sample"] = X_train[:0]
    with pytest.raises(getattr(staticml.errors, error), match=match):
        staticml.build(**args)
    assert list(tmp_path.iterdir()) == []


def test_targets_as_one_comma_separated_string(tmp_path, churn):
    model, X_train, _, _ = churn
    art = staticml.build(model, X_train[:50], tmp_path / "b", name="m", targets="native")
    assert list(art.manifest["targets"]) == [HOST]
    with pytest.raises(ArtifactError, match="bundle's directory path"):
        staticml.load(None)


def test_a_killed_builds_leftovers_are_swept_and_no_others(tmp_path, churn):
    """A build killed with -9 leaves its staging directory; the next build of the same
    bundle removes it, and leaves a live build's and another host's alone."""
    import subprocess
    import sys

    from staticml.bundle.files import _owner_tag

    model, X_train, _, _ = churn
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # a process id that no longer runs
    host = _owner_tag().rsplit(".", 1)[0]
    dead = [tmp_path / f".b.staging-{host}.{gone.pid}-abc", tmp_path / f".b.old-{host}.{gone.pid}"]
    kept = [tmp_path / f".b.staging-{host}.{os.getpid()}-xyz",      # a build running now
            tmp_path / f".b.staging-otherhost.{gone.pid}-abc",      # not ours to judge
            tmp_path / f".c.staging-{host}.{gone.pid}-abc"]         # another bundle
    for d in dead + kept:
        d.mkdir()
        (d / "partial.c").write_text("half")
    staticml.build(model, X_train[:50], tmp_path / "b", name="b")
    assert not any(d.exists() for d in dead)
    assert all((d / "partial.c").exists() for d in kept)


def test_invalid_name_is_refused(tmp_path, churn):
    model, X_train, _, _ = churn
    with pytest.raises(BuildError, match="C identifier"):
        staticml.build(model, X_train[:50], tmp_path / "x", name="9-lives")
