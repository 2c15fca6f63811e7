"""The ``python`` target: one wheel per built library, installable with numpy alone.

Why these checks are not circular: the wheel is read back with the binary distribution
format's own rules (file name, tags, RECORD hashes; ``packaging`` too where installed), then
pip installs it into a fresh venv that sees numpy and nothing else, and its predictions are
compared bit for bit with ``staticml.load(bundle)`` on held-out rows. Libraries for the
other platforms are real ones, built the way staticml builds them (zig), never stand-ins.
Without zig (or on a host no wheel tag covers) those tests skip, unless
STATICML_REQUIRE_RUNNERS is set (CI): then they fail.
"""

from __future__ import annotations

import ast
import base64
import dataclasses
import email.parser
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import staticml
from staticml import errors
from staticml.bundle import files as bf
from staticml.bundle import wheel as wh
from staticml.errors import BuildError
from staticml.toolchain import compilers
from staticml.toolchain.compilers import native_platform
from staticml.runtime.wheel import clean_env  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from targets.zoo import N_TRAIN, _frame, ridge_regression  # noqa: E402

HOST = native_platform()


# -- bundles ---------------------------------------------------------------------------
def strict_pipeline():
    """A classifier that refuses what sklearn refuses: unseen categories and NaN (no imputer)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    X, y = _frame()
    pre = ColumnTransformer([("num", StandardScaler(), ["age", "income", "visits"]),
                             ("cat", OneHotEncoder(handle_unknown="error"), ["plan", "region"])])
    model = Pipeline([("pre", pre), ("clf", LogisticRegression(max_iter=500))])
    model.fit(X[:N_TRAIN], y[:N_TRAIN])
    return model, X[:200], X[N_TRAIN:]


@pytest.fixture(scope="module")
def bundles(churn, churn_bundle, tmp_path_factory) -> dict:
    """name -> (bundle dir, held-out rows): string classifier, strict classifier, regressor."""
    root = tmp_path_factory.mktemp("wheel-bundles")
    out = {"churn": (churn_bundle, churn[2].iloc[:300].reset_index(drop=True))}
    held = out["churn"][1]
    held.loc[1, "region"] = None     # missing string
    held.loc[2, "region"] = "mars"   # unseen, the encoder ignores it
    for name, factory in (("strict", strict_pipeline), ("ridge", ridge_regression)):
        model, sample, held_out = factory()
        staticml.build(model, sample=sample, out=root / name, name=name)
        out[name] = (root / name, held_out)
    return out


def _unavailable(reason: str) -> None:
    """Skip, or fail under STATICML_REQUIRE_RUNNERS (CI), as the other target tests do."""
    if os.environ.get("STATICML_REQUIRE_RUNNERS"):
        pytest.fail(f"{reason}, and STATICML_REQUIRE_RUNNERS is set")
    pytest.skip(reason)


def _manifest(bundle: Path) -> dict:
    return json.loads((bundle / "manifest.json").read_text())


def _host_library(manifest: dict) -> str:
    return next(r["path"] for r in manifest["targets"].values() if r["platform"] == HOST)


def _host_wheel(bundle: Path, dest: Path) -> tuple[Path, dict]:
    """Copy the bundle to ``dest`` and build its host wheel there; (wheel path, record)."""
    shutil.copytree(bundle, dest)
    manifest = _manifest(dest)
    platforms = {rec["platform"]: rec["path"] for rec in manifest["targets"].values()
                 if rec["platform"] == HOST}
    rec = wh.build_wheels(dest, manifest, platforms)[HOST]
    return dest / rec["path"], rec


def _read(whl: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(whl) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist()}


def _filename_tags(filename: str) -> tuple[str, str, set[str]]:
    """(distribution, version, expanded tags) of a wheel file name, read per PEP 427 and,
    where ``packaging`` is installed, checked against its reader."""
    dist, version, py, abi, plat = filename[:-len(".whl")].split("-")
    tags = {f"{p}-{a}-{x}" for p in py.split(".") for a in abi.split(".") for x in plat.split(".")}
    try:
        from packaging.utils import parse_wheel_filename
    except ImportError:
        return dist, version, tags
    name, ver, build, parsed = parse_wheel_filename(filename)
    assert (name, str(ver), build, {str(t) for t in parsed}) == (dist, version, (), tags)
    return dist, version, tags


def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).decode().rstrip("=")


# -- names, versions, tags (pure functions) ------------------------------------------------
def test_platform_tags_are_the_documented_ones():
    assert {p: wh.wheel_tag(p) for p in wh.PLATFORM_TAGS} == {
        "linux-x86_64": "py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64",
        "linux-aarch64": "py3-none-manylinux_2_17_aarch64.manylinux2014_aarch64",
        "windows-x86_64": "py3-none-win_amd64",
        "macos-arm64": "py3-none-macosx_11_0_arm64",
        "macos-x86_64": "py3-none-macosx_10_13_x86_64",
    }
    with pytest.raises(BuildError, match="known platforms"):
        wh.wheel_tag("linux-riscv64")
    tags = pytest.importorskip("packaging.tags")
    for plat, tag in wh.PLATFORM_TAGS.items():
        parsed = tags.parse_tag(wh.wheel_tag(plat))
        assert {(t.interpreter, t.abi) for t in parsed} == {("py3", "none")}
        assert {t.platform for t in parsed} == set(tag.split("."))


@pytest.mark.parametrize("name, dist, package, filename_part", [
    ("churn", "churn", "churn", "churn"),
    ("Churn_Model", "churn-model", "churn_model", "churn_model"),
    ("_churn__v2_", "churn-v2", "churn_v2", "churn_v2"),
])
def test_names_follow_pep_503_and_427(name, dist, package, filename_part):
    assert wh.distribution_name(name) == dist
    assert wh.package_name(name) == package
    assert wh.wheel_filename(name, "1", "linux-x86_64").startswith(f"{filename_part}-1-py3-")
    utils = pytest.importorskip("packaging.utils")
    assert utils.canonicalize_name(dist) == dist


@pytest.mark.parametrize("name", ["json", "numpy", "pandas", "class", "_2fast", "__"])
def test_names_that_would_not_import_are_refused(name):
    with pytest.raises(BuildError, match="--name"):
        wh.package_name(name)


@pytest.mark.parametrize("given, expected", [
    ("1", "1"), ("1.0", "1.0"), ("v2", "2"), ("01.02", "1.2"), ("1.0-RC1", "1.0rc1"),
    ("1.0.alpha", "1.0a0"), ("2.1-3", "2.1.post3"), ("1.0.dev", "1.0.dev0"),
    ("0!3", "3"), ("1!2.0", "1!2.0"), ("1.0+Local_7", "1.0+local.7"),
    ("2024-06-01", "2024.6.1"), ("churn v3 (retrained)", "0+churn.v3.retrained"), ("??", "0"),
])
def test_model_versions_become_canonical_pep440(given, expected):
    assert wh.wheel_version(given) == expected
    version = pytest.importorskip("packaging.version")
    assert str(version.Version(expected)) == expected


# -- the archive ---------------------------------------------------------------------------
def test_wheel_follows_the_binary_distribution_format(bundles, tmp_path):
    bundle, _ = bundles["churn"]
    manifest = _manifest(bundle)
    whl, rec = _host_wheel(bundle, tmp_path / "a")
    version = wh.wheel_version(manifest["model_version"])
    assert rec == {"path": f"python/churn-{version}-{wh.wheel_tag(HOST)}.whl",
                   "tag": wh.wheel_tag(HOST), "size": whl.stat().st_size}
    dist, ver, tags = _filename_tags(whl.name)
    assert (dist, ver) == ("churn", version)
    assert tags == {f"py3-none-{t}" for t in wh.PLATFORM_TAGS[HOST].split(".")}

    files = _read(whl)
    info = f"churn-{version}.dist-info"
    lib_rel = _host_library(manifest)
    lib_name = Path(lib_rel).name
    # Package files sorted, then the dist-info, RECORD last; timestamps fixed.
    assert list(files) == sorted(["churn/__init__.py", "churn/manifest.json",
                                  f"churn/{lib_name}"]) + [
        f"{info}/METADATA", f"{info}/WHEEL", f"{info}/RECORD"]
    with zipfile.ZipFile(whl) as zf:
        assert {i.date_time for i in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    # RECORD: every file once, each hash and size right, RECORD itself unhashed.
    rows = [line.split(",") for line in files[f"{info}/RECORD"].decode().splitlines()]
    assert sorted(r[0] for r in rows) == sorted(files)
    for path, digest, size in rows:
        if path == f"{info}/RECORD":
            assert (digest, size) == ("", "")
        else:
            assert (digest, int(size)) == (_record_hash(files[path]), len(files[path]))

    meta = email.parser.BytesParser().parsebytes(files[f"{info}/METADATA"])
    assert (meta["Metadata-Version"], meta["Name"], meta["Version"]) == ("2.1", "churn", version)
    assert meta["Requires-Python"] == ">=3.9"
    assert "numpy" in meta.get_all("Requires-Dist")
    assert manifest["source_model"]["type"] in meta["Summary"]
    wheel_meta = email.parser.BytesParser().parsebytes(files[f"{info}/WHEEL"])
    assert wheel_meta["Wheel-Version"] == "1.0"
    assert wheel_meta["Root-Is-Purelib"] == "false"
    assert set(wheel_meta.get_all("Tag")) == tags

    library = (bundle / lib_rel).read_bytes()
    assert files[f"churn/{lib_name}"] == library
    assert json.loads(files["churn/manifest.json"]) == {
        k: v for k, v in manifest.items() if k not in ("targets", "files", "parity")}
    module = files["churn/__init__.py"].decode()
    assert f'LIBRARY_SHA256 = "{hashlib.sha256(library).hexdigest()}"' in module
    assert f'LIBRARY = "{lib_name}"' in module and f'__version__ = "{version}"' in module


def test_staticml_build_with_the_python_target_ships_the_host_wheel(tmp_path):
    """The integrated path: build() passes a manifest without targets yet, then hashes."""
    model, sample, _ = ridge_regression()
    art = staticml.build(model, sample=sample, out=tmp_path / "b", name="ridge",
                         targets=["native", "python"])
    rec = art.manifest["targets"]["python"]["wheels"][HOST]
    whl = tmp_path / "b" / rec["path"]
    assert rec["size"] == whl.stat().st_size and rec["tag"] == wh.wheel_tag(HOST)
    assert art.manifest["files"][rec["path"]]["sha256"] == bf.sha256_file(whl)
    files = _read(whl)
    lib = _host_library(art.manifest)
    assert files[f"ridge/{Path(lib).name}"] == (tmp_path / "b" / lib).read_bytes()


def test_same_bundle_gives_the_same_wheel_bytes(bundles, tmp_path):
    bundle, _ = bundles["churn"]
    first, _ = _host_wheel(bundle, tmp_path / "one")
    second, _ = _host_wheel(bundle, tmp_path / "two")
    assert first.read_bytes() == second.read_bytes()


def test_runtime_module_is_python39_numpy_only_and_shares_the_error_texts():
    tree = ast.parse((Path(wh.__file__).parent / wh.TEMPLATE).read_text(),
                     feature_version=(3, 9))
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import)
                for a in n.names}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree)
                 if isinstance(n, ast.ImportFrom) and n.module}
    assert imported == {"__future__", "ctypes", "hashlib", "json", "pathlib", "typing", "numpy"}
    tables = {t.id: ast.literal_eval(n.value) for n in tree.body if isinstance(n, ast.Assign)
              for t in n.targets if isinstance(t, ast.Name) and t.id in ("_MESSAGES", "_FIXES")}
    assert tables["_MESSAGES"] == {k: v for k, v in errors.MESSAGES.items() if k != errors.OK}
    assert tables["_FIXES"] == errors.FIXES


def test_refuses_a_library_the_manifest_or_the_tag_does_not_vouch_for(bundles, tmp_path):
    bundle, _ = bundles["ridge"]
    root = tmp_path / "b"
    shutil.copytree(bundle, root)
    manifest = _manifest(root)
    rel = _host_library(manifest)
    other = "windows-x86_64" if HOST != "windows-x86_64" else "linux-x86_64"
    with pytest.raises(BuildError, match=f"built for {HOST}, not {other}"):
        wh.build_wheels(root, manifest, {other: rel})
    with pytest.raises(BuildError, match="outside the bundle"):
        wh.build_wheels(root, manifest, {HOST: "../elsewhere/lib.so"})
    library = (root / rel).read_bytes()
    with pytest.raises(BuildError, match="truncated"):
        wh.check_library(HOST, library[:40])
    (root / rel).write_bytes(library[:-1] + bytes([library[-1] ^ 1]))
    with pytest.raises(BuildError, match="does not match its sha256"):
        wh.build_wheels(root, manifest, {HOST: rel})
    assert not (root / "python").exists()
    assert wh.build_wheels(root, manifest, {"wasm32": "wasm/ridge.wasm"}) == {}


@pytest.mark.needs_cc
@pytest.mark.skipif(HOST != "linux-x86_64", reason="builds an x86-64 ELF with the system cc")
def test_a_linux_library_that_needs_libc_gets_no_manylinux_tag(tmp_path):
    src = tmp_path / "uses_libm.c"
    src.write_text("#include <math.h>\ndouble f(double x) { return cos(x); }\n")
    lib = tmp_path / "libuses_libm.so"
    subprocess.run(["cc", "-shared", "-fPIC", str(src), "-o", str(lib), "-lm"], check=True)
    with pytest.raises(BuildError, match="DT_NEEDED"):
        wh.check_library("linux-x86_64", lib.read_bytes())


# -- every platform, with real cross-built libraries ----------------------------------------
@pytest.fixture(scope="module")
def cross_bundle(bundles, tmp_path_factory) -> tuple[Path, dict]:
    """The churn bundle plus a library for every wheel platform: the bundle's own where it
    has one, else built with ``compilers.build_target`` (zig), as a cross build does."""
    bundle, _ = bundles["churn"]
    root = tmp_path_factory.mktemp("cross") / "churn"
    shutil.copytree(bundle, root)
    manifest = _manifest(root)
    have = {rec["platform"] for rec in manifest["targets"].values()}
    missing = [p for p in wh.PLATFORM_TAGS if p not in have]
    if missing and importlib.util.find_spec("ziglang") is None:
        _unavailable("no cross-built libraries in the bundle and no ziglang to build them")
    for plat in missing:
        rec = compilers.build_target(plat, root / "src/churn.c", root / "include", root, "churn")
        manifest["targets"][plat] = {k: v for k, v in rec.items() if k != "files"}
        manifest["targets"][plat].update(bf.file_record(root, rec["path"]))
        manifest["files"][rec["path"]] = bf.file_record(root, rec["path"])
    return root, manifest


@pytest.mark.cross
def test_every_platform_gets_its_own_correctly_tagged_wheel(cross_bundle):
    root, manifest = cross_bundle
    platforms = {rec["platform"]: rec["path"] for rec in manifest["targets"].values()
                 if rec["platform"] in wh.PLATFORM_TAGS}
    assert sorted(platforms) == sorted(wh.PLATFORM_TAGS)
    built = wh.build_wheels(root, manifest, platforms)
    suffix = {"linux": ".so", "windows": ".dll", "macos": ".dylib"}
    for plat, rec in built.items():
        whl = root / rec["path"]
        assert rec["size"] == whl.stat().st_size
        _, _, tags = _filename_tags(whl.name)
        assert tags == {f"py3-none-{t}" for t in wh.PLATFORM_TAGS[plat].split(".")}
        wheel_meta = email.parser.BytesParser().parsebytes(_read(whl)[
            f"churn-{wh.wheel_version(manifest['model_version'])}.dist-info/WHEEL"])
        assert set(wheel_meta.get_all("Tag")) == tags
        files = _read(whl)
        ext = suffix[plat.split("-")[0]]
        libs = [f for f in files if f.startswith("churn/") and f.endswith(ext)]
        assert libs == [f"churn/{Path(platforms[plat]).name}"]
        assert files[libs[0]] == (root / platforms[plat]).read_bytes()
    assert len({rec["path"] for rec in built.values()}) == len(wh.PLATFORM_TAGS)


@pytest.mark.cross
def test_a_macos_library_newer_than_its_tag_is_refused(cross_bundle, tmp_path):
    """zig's default minimum macOS is 15.0: such a dylib must not be sold as macosx_11_0."""
    root, _ = cross_bundle
    from staticml.toolchain.targets import get_target

    default_os = dataclasses.replace(get_target("macos-arm64"), triple="aarch64-macos")
    rec = compilers.build_target(default_os, root / "src/churn.c", root / "include", tmp_path,
                                 "churn")
    with pytest.raises(BuildError, match=r"-mmacosx-version-min=11\.0"):
        wh.check_library("macos-arm64", (tmp_path / rec["path"]).read_bytes())
    with pytest.raises(BuildError, match="Mach-O"):
        wh.check_library("macos-x86_64", (tmp_path / rec["path"]).read_bytes())


# -- installed in a fresh venv --------------------------------------------------------------
@pytest.fixture(scope="module")
def venv(bundles, tmp_path_factory) -> dict:
    """A fresh venv whose only extra package is this interpreter's numpy (via a .pth file
    naming a directory that links to numpy alone), with the three wheels pip-installed."""
    if HOST not in wh.PLATFORM_TAGS:
        _unavailable(f"no wheel platform tag for this host ({HOST})")
    base = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", str(base / "env")], check=True,
                   env=clean_env(), capture_output=True)
    python = base / "env" / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    probe = json.loads(subprocess.check_output(
        [str(python), "-I", "-c", "import json, sys, sysconfig; print(json.dumps("
         "[sys.version_info[:2], sysconfig.get_paths()['purelib'], "
         "sysconfig.get_paths()['platlib']]))"], env=clean_env(), text=True))
    if tuple(probe[0]) != sys.version_info[:2]:
        _unavailable("the venv's Python differs from this one: this numpy cannot load there")
    numpy_dist = importlib.metadata.distribution("numpy")
    site = Path(numpy_dist.locate_file(""))
    only = base / "numpy-only"
    only.mkdir()
    infos = [p for p in site.glob("numpy-*.dist-info")
             if importlib.metadata.Distribution.at(p).version == numpy_dist.version]
    for entry in [site / "numpy", site / "numpy.libs", *infos]:
        if entry.exists():
            os.symlink(entry, only / entry.name)
    (Path(probe[1]) / "_host_numpy.pth").write_text(f"{only}\n")

    wheels = []
    for name, (bundle, _) in bundles.items():
        whl, _ = _host_wheel(bundle, base / "bundles" / name)
        wheels.append(str(whl))
    res = subprocess.run([str(python), "-m", "pip", "install", "--no-index", "--no-cache-dir",
                          "--disable-pip-version-check", *wheels],
                         env=clean_env(), capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    check = subprocess.run([str(python), "-m", "pip", "check"], env=clean_env(),
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    return {"python": python, "platlib": Path(probe[2]), "work": base}


CHILD = r'''
import importlib.util, json, sys
import numpy as np

work, host_site = sys.argv[1], sys.argv[2]
# Only numpy: not pandas, not staticml.
assert importlib.util.find_spec("pandas") is None and importlib.util.find_spec("staticml") is None
import churn, strict, ridge
inputs = json.load(open(f"{work}/inputs.json"))
res, errs, facts = {}, {}, {}

def err(key, fn):
    try:
        fn()
    except Exception as exc:  # record what a caller would see
        errs[key] = {"type": type(exc).__name__, "message": str(exc),
                     "code": getattr(exc, "code", None), "row": getattr(exc, "row", None),
                     "column": getattr(exc, "column", None)}
    else:
        errs[key] = None

def as_array(rows, names):
    return np.array([[r[n] for n in names] for r in rows], dtype=object)

for mod in (churn, strict, ridge):
    rows, names = inputs[mod.__name__], [c["name"] for c in mod.schema["inputs"]]
    res[f"{mod.__name__}.dicts"] = mod.predict(rows)
    res[f"{mod.__name__}.array"] = mod.predict(as_array(rows, names))
    res[f"{mod.__name__}.lists"] = mod.predict(as_array(rows, names).tolist())
    res[f"{mod.__name__}.columns"] = mod.predict({n: [r[n] for r in rows] for n in names})
    res[f"{mod.__name__}.one"] = mod.predict(rows[0])
    if hasattr(mod, "predict_proba"):
        res[f"{mod.__name__}.proba"] = mod.predict_proba(rows)
    if hasattr(mod, "decision_function"):
        res[f"{mod.__name__}.decision"] = mod.decision_function(rows)
    facts[mod.__name__] = {
        "has": [a for a in ("predict_proba", "decision_function", "score_samples")
                if hasattr(mod, a)],
        "classes": None if mod.classes_ is None else mod.classes_.tolist(),
        "classes_dtype": None if mod.classes_ is None else str(mod.classes_.dtype),
        "schema": mod.schema, "manifest_name": mod.manifest["name"]}
res["ridge.float_array"] = ridge.predict(
    np.array([[r[f"x{i}"] for i in range(8)] for r in inputs["ridge"]], dtype=float))

rows = inputs["strict"]
bad = [dict(r) for r in rows[:10]]
bad[3]["plan"] = "platinum"
err("strict.unseen", lambda: strict.predict(bad))
bad = [dict(r) for r in rows[:10]]
bad[4]["age"] = float("nan")
err("strict.nan", lambda: strict.predict_proba(bad))
bad = [dict(r) for r in rows[:10]]
bad[6]["income"] = float("inf")
err("strict.inf", lambda: strict.predict(bad))
bad = [dict(r) for r in rows[:10]]
del bad[2]["region"]
err("strict.missing_column", lambda: strict.predict(bad))
err("strict.wrong_type", lambda: strict.predict([{**rows[0], "age": "forty"}]))
err("ridge.one_d", lambda: ridge.predict(np.zeros(8)))
x = np.array([[r[f"x{i}"] for i in range(8)] for r in inputs["ridge"]])
x[5, 3] = np.nan
err("ridge.nan", lambda: ridge.predict(x))
facts["no_staticml"] = "staticml" not in sys.modules and "pandas" not in sys.modules

# pandas is optional: with it, DataFrames work too (still without staticml).
sys.path.append(host_site)
import pandas as pd
for mod in (churn, strict, ridge):
    frame = pd.DataFrame(inputs[mod.__name__])
    res[f"{mod.__name__}.frame"] = mod.predict(frame)
    res[f"{mod.__name__}.frame_reordered"] = mod.predict(
        frame[frame.columns[::-1]].assign(extra="ignored"))
frame = pd.DataFrame(inputs["churn"]).astype({"contract": "category", "region": "string"})
res["churn.frame_typed"] = churn.predict(frame)
err("churn.frame_missing", lambda: churn.predict(frame.drop(columns=["contract"])))
facts["no_staticml_with_pandas"] = "staticml" not in sys.modules

np.savez(f"{work}/out.npz", **res)
json.dump({"errors": errs, "facts": facts}, open(f"{work}/out.json", "w"))
'''


@pytest.fixture(scope="module")
def child(venv, bundles) -> tuple[dict, dict]:
    """Run CHILD once in the venv: (arrays it predicted, {"errors", "facts"})."""
    work = venv["work"]
    inputs = {"ridge": pd.DataFrame(bundles["ridge"][1],
                                    columns=[f"x{i}" for i in range(8)]).to_dict("records")}
    for name in ("churn", "strict"):
        inputs[name] = bundles[name][1].to_dict("records")
    (work / "inputs.json").write_text(json.dumps(inputs))
    (work / "child.py").write_text(CHILD)
    host_site = str(Path(pd.__file__).resolve().parents[1])
    res = subprocess.run([str(venv["python"]), "-I", str(work / "child.py"), str(work),
                          host_site], env=clean_env(), capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    with np.load(work / "out.npz") as npz:
        arrays = {k: npz[k] for k in npz.files}
    return arrays, json.loads((work / "out.json").read_text())


def _same(got: np.ndarray, want: np.ndarray) -> bool:
    """Bit for bit: same dtype, same shape, same bytes (NaN-safe)."""
    return got.dtype == want.dtype and got.shape == want.shape and got.tobytes() == want.tobytes()


@pytest.mark.cross
def test_installed_wheel_predicts_exactly_like_the_artifact(child, bundles):
    arrays, out = child
    facts, errs = out["facts"], out["errors"]
    assert facts["no_staticml"] and facts["no_staticml_with_pandas"]
    for name, (bundle, held) in bundles.items():
        art = staticml.load(bundle)
        X = held if name != "ridge" else np.asarray(held)
        want = art.predict(X)
        for form in ("dicts", "array", "lists", "columns", "frame", "frame_reordered"):
            assert _same(arrays[f"{name}.{form}"], want), (name, form)
        assert _same(arrays[f"{name}.one"], want[:1])
        if art._proba is not None:
            assert _same(arrays[f"{name}.proba"], art.predict_proba(X))
        if art._decision is not None:
            assert _same(arrays[f"{name}.decision"], art.decision_function(X))
        spans = {"predict_proba": art._proba, "decision_function": art._decision,
                 "score_samples": art._scores}
        assert facts[name]["has"] == [a for a, span in spans.items() if span is not None]
        assert facts[name]["schema"] == art.schema
        assert facts[name]["manifest_name"] == name
        if art.classes_ is None:
            assert facts[name]["classes"] is None
        else:
            assert facts[name]["classes"] == art.classes_.tolist()
            assert facts[name]["classes_dtype"] == str(art.classes_.dtype)
    assert _same(arrays["ridge.float_array"], staticml.load(bundles["ridge"][0]).predict(
        np.asarray(bundles["ridge"][1])))
    assert _same(arrays["churn.frame_typed"], arrays["churn.frame"])
    assert facts["ridge"]["has"] == []


@pytest.mark.cross
def test_installed_wheel_refuses_bad_rows_like_the_artifact(child, bundles):
    _, out = child
    errs = out["errors"]
    strict = staticml.load(bundles["strict"][0])
    held = bundles["strict"][1].iloc[:10].reset_index(drop=True)
    cases = {"strict.unseen": (3, "plan", "platinum", errors.E_UNKNOWN_CATEGORY),
             "strict.nan": (4, "age", np.nan, errors.E_MISSING_VALUE),
             "strict.inf": (6, "income", np.inf, errors.E_INFINITE_VALUE)}
    for key, (row, column, value, code) in cases.items():
        got = errs[key]
        assert (got["type"], got["code"], got["row"], got["column"]) == (
            "InputError", code, row, column), got
        assert f"row {row}" in got["message"] and repr(column) in got["message"]
        assert f"Fix: {errors.FIXES[code]}" in got["message"]
        bad = held.copy()
        bad.loc[row, column] = value
        with pytest.raises(errors.InputError) as ref:  # the same verdict as staticml's
            strict.predict(bad)
        assert (ref.value.code, ref.value.row, ref.value.column) == (code, row, column)
    assert "'platinum'" in errs["strict.unseen"]["message"]
    assert "Known categories: 'basic', 'plus', 'pro'" in errs["strict.unseen"]["message"]
    assert "(value: missing)" in errs["strict.nan"]["message"]
    assert "(value: inf)" in errs["strict.inf"]["message"]

    missing = errs["strict.missing_column"]
    assert (missing["type"], missing["row"], missing["column"]) == ("InputError", 2, "region")
    assert "missing column(s) ['region']" in missing["message"]
    frame_missing = errs["churn.frame_missing"]
    assert (frame_missing["type"], frame_missing["column"]) == ("InputError", "contract")
    wrong = errs["strict.wrong_type"]
    assert (wrong["type"], wrong["row"], wrong["column"]) == ("InputError", 0, "age")
    assert "expected a number, got 'forty'" in wrong["message"]
    assert "reshape(1, -1)" in errs["ridge.one_d"]["message"]
    nan = errs["ridge.nan"]
    assert (nan["code"], nan["row"], nan["column"]) == (errors.E_MISSING_VALUE, 5, "x3")


@pytest.mark.cross
def test_installed_wheel_refuses_a_modified_library(venv, tmp_path):
    installed = venv["platlib"] / "ridge"
    for tampered in (False, True):
        copy = tmp_path / str(tampered) / "ridge"
        shutil.copytree(installed, copy)
        if tampered:
            lib = next(p for p in copy.iterdir() if p.name.startswith(("libridge", "ridge.")))
            data = bytearray(lib.read_bytes())
            data[len(data) // 2] ^= 0xFF
            lib.write_bytes(bytes(data))
        res = subprocess.run(
            [str(venv["python"]), "-I", "-c",
             f"import sys; sys.path.insert(0, {str(copy.parent)!r}); import ridge; "
             "assert ridge.__file__.startswith(sys.path[0]), ridge.__file__"],
            env=clean_env(), capture_output=True, text=True)
        if tampered:
            assert res.returncode != 0
            assert "does not match the sha256 recorded in this package" in res.stderr
        else:
            assert res.returncode == 0, res.stderr
