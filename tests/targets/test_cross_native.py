"""Cross-built native libraries: every platform builds here, and every one that can run
here (linux-aarch64 under qemu-user, windows-x86_64 under wine) gives bit-identical outputs
and statuses to the host library on held-out and probe rows. macOS libraries cannot run
here, so their structure is checked instead: exports, imports, minimum OS, install name.

A test whose runner is missing skips, unless STATICML_REQUIRE_RUNNERS is set (CI): then it
fails, so a CI image that lost wine or qemu cannot pass silently.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import numpy as np
import pytest

import staticml
from staticml.bundle import files as bf
from staticml.bundle import manifest as mf
from staticml.errors import ArtifactError
from staticml.ir import serialize
from staticml.runtime.cross import (HarnessEngine, RunnerError, RunnerUnavailable, engine_for,
                                    runner_for)
from staticml.runtime.native import NativeLibrary
from staticml.toolchain.compilers import _zig_env, build_target, find_compiler, native_platform
from staticml.toolchain.targets import TARGETS, get_target
from staticml.verification.binaries import (MACHO_FORCED_IMPORTS, api_from_header,
                                            check_binary, inspect_binary)
from staticml.verification.runner import rows_for_check

from .zoo import ZOO

pytestmark = pytest.mark.cross
ROOT = Path(__file__).resolve().parents[2]
LIBRARY_TARGETS = ("linux-x86_64", "linux-aarch64", "windows-x86_64", "macos-arm64",
                   "macos-x86_64")
RUN_TARGETS = ("linux-aarch64", "windows-x86_64")
HOST = native_platform()


def require_runner(target: str):
    """The runner of ``target``; skip (or fail under STATICML_REQUIRE_RUNNERS) without it."""
    try:
        return runner_for(target)
    except RunnerUnavailable as exc:
        if os.environ.get("STATICML_REQUIRE_RUNNERS"):
            pytest.fail(f"STATICML_REQUIRE_RUNNERS is set but {target} cannot run: {exc}")
        pytest.skip(f"{target} cannot run here: {exc}")


@dataclasses.dataclass
class Built:
    """A zoo model's bundle with every library target, and the host's results on its rows."""

    root: Path
    name: str
    manifest: dict
    x: np.ndarray
    out: np.ndarray
    status: np.ndarray

    def library(self, target: str) -> Path:
        return self.root / self.manifest["targets"][target]["path"]

    @property
    def api(self) -> set[str]:
        """The functions the header declares: exactly what every library must export."""
        header = (self.root / "include" / f"{self.name}.h").read_text()
        return api_from_header(header, self.name)


@pytest.fixture(scope="module", params=sorted(ZOO))
def built(request, tmp_path_factory) -> Built:
    name = request.param
    model, sample, held_out = ZOO[name]()
    root = tmp_path_factory.mktemp(name) / "bundle"
    art = staticml.build(model, sample=sample, out=root, name=name)
    graph = serialize.from_dict(json.loads((root / "ir.json").read_text()))
    rows, _ = rows_for_check(graph, held_out)
    x = art.encode(rows)
    out, status = art._lib.predict_matrix(x)
    manifest = mf.read(root)
    for target in LIBRARY_TARGETS:
        if target in manifest["targets"]:  # the host's, built by staticml.build
            continue
        rec = build_target(target, root / "src" / f"{name}.c", root / "include", root, name)
        manifest["targets"][target] = rec
        manifest["files"].update({rel: bf.file_record(root, rel) for rel in rec["files"]})
    mf.write(root, manifest)
    return Built(root, name, manifest, x, out, status)


def assert_bit_identical(out: np.ndarray, status: np.ndarray, built: Built) -> None:
    assert out.shape == built.out.shape
    bad_status = np.flatnonzero(status != built.status)
    assert bad_status.size == 0, f"statuses differ on rows {bad_status[:10].tolist()}"
    bad = np.flatnonzero((out.view(np.uint64) != built.out.view(np.uint64)).any(axis=1))
    assert bad.size == 0, (f"{bad.size} of {len(out)} rows differ, first {bad[:5].tolist()}: "
                           f"{out[bad[:2]].tolist()} vs {built.out[bad[:2]].tolist()}")


# -- runs ---------------------------------------------------------------------------------

@pytest.mark.parametrize("target", RUN_TARGETS)
def test_cross_library_is_bit_identical_to_host(built, target):
    require_runner(target)
    assert built.status.size > 100 and built.x.shape[0] == built.out.shape[0]
    with closing(engine_for(target, built.root, built.manifest)) as engine:
        out, status = engine.predict_matrix(built.x)
        assert engine.target == target
    assert_bit_identical(out, status, built)


@pytest.mark.skipif(HOST != "linux-x86_64", reason="compares zig with the system cc on "
                    "linux-x86_64")
def test_zig_linux_x86_64_is_bit_identical_to_the_system_compiler(built, tmp_path):
    rec = build_target("linux-x86_64", built.root / "src" / f"{built.name}.c",
                       built.root / "include", tmp_path, built.name, toolchain="zig")
    assert rec["toolchain"].startswith("zig") and "-mcpu=baseline" in rec["flags"]
    lib = tmp_path / rec["path"]
    assert check_binary(lib, "linux-x86_64", built.name, built.api) == []
    out, status = NativeLibrary(lib, built.name, built.x.shape[1],
                                built.out.shape[1]).predict_matrix(built.x)
    assert_bit_identical(out, status, built)


@pytest.mark.parametrize("built", ["ridge_regression"], indirect=True)
@pytest.mark.parametrize("target", RUN_TARGETS)
def test_runners_handle_no_rows_and_refuse_another_abi(built, target):
    runner = require_runner(target)
    n_in, n_out = built.x.shape[1], built.out.shape[1]
    with closing(engine_for(target, built.root, built.manifest)) as engine:
        out, status = engine.predict_matrix(np.empty((0, n_in)))
        assert out.shape == (0, n_out) and status.shape == (0,)
        one, _ = engine.predict_matrix(built.x[:1])
        assert one.view(np.uint64).tolist() == built.out[:1].view(np.uint64).tolist()
    wrong = HarnessEngine(runner, built.library(target), built.name, n_in, n_out,
                          built.manifest["abi_version"] + 1)
    with closing(wrong), pytest.raises(RunnerError, match="ABI version differs"):
        wrong.predict_matrix(built.x[:3])


@pytest.mark.parametrize("built", ["ridge_regression"], indirect=True)
def test_a_tampered_library_is_refused_before_it_runs(built, tmp_path):
    root = tmp_path / "bundle"
    shutil.copytree(built.root, root)
    lib = root / built.manifest["targets"]["linux-aarch64"]["path"]
    data = bytearray(lib.read_bytes())
    data[len(data) // 2] ^= 0xFF
    lib.write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match="does not match its sha256"):
        engine_for("linux-aarch64", root, built.manifest)


# -- structure ----------------------------------------------------------------------------

@pytest.mark.parametrize("target", LIBRARY_TARGETS)
def test_library_structure(built, target):
    t = get_target(target)
    lib = built.library(target)
    assert lib.relative_to(built.root).as_posix() == t.library_path(built.name)
    api = built.api
    assert {f"{built.name}_predict", f"{built.name}_predict_matrix"} < api
    assert check_binary(lib, target, built.name, api) == []
    info = inspect_binary(lib, target, built.name)
    if t.binary_format == "macho":
        assert {s[1:] for s in info["exports"] if s.startswith(f"_{built.name}_")} == api
        assert (info["platform"], info["min_os"]) == ("macos", t.min_os)
        assert info["install_name"] == f"@rpath/lib{built.name}.dylib"
        assert set(info["imports"]) <= MACHO_FORCED_IMPORTS  # nothing from libc/libm
        assert info["code_signature"] or t.arch == "x86_64"
    else:
        assert set(info["exports"]) == api
        assert info["imports"] == [] and info["libraries"] == []
    if t.binary_format == "pe":
        implib = built.root / t.import_library_path(built.name)
        assert implib.read_bytes().startswith(b"!<arch>\n")
        assert info["dll_name"] == f"{built.name}.dll"


@pytest.mark.parametrize("built", ["ridge_regression"], indirect=True)
def test_broken_binaries_give_clear_problems(built, tmp_path):
    name = built.name
    for target in ("linux-aarch64", "windows-x86_64", "macos-arm64"):
        data = built.library(target).read_bytes()
        cut = tmp_path / f"cut-{target}"
        cut.write_bytes(data[: len(data) // 2])
        assert any("truncated" in p for p in check_binary(cut, target, name)), target
        cut.write_bytes(data[:1])
        assert check_binary(cut, target, name) == [
            f"{cut.name} is not an ELF, PE, Mach-O or wasm file"]
    empty = tmp_path / "empty.so"
    empty.write_bytes(b"")
    assert check_binary(empty, "linux-x86_64", name) == [
        "empty.so is not an ELF, PE, Mach-O or wasm file (empty)"]
    assert "cannot read" in check_binary(tmp_path / "missing.dll", "windows-x86_64", name)[0]
    assert check_binary(built.library("windows-x86_64"), "macos-arm64", name) == [
        "macos-arm64 needs a Mach-O file, this is PE"]
    assert check_binary(built.library("macos-x86_64"), "macos-arm64", name) == [
        "architecture is x86_64, macos-arm64 needs aarch64",
        "minimum OS is macos 10.13, expected macos 11.0 (LC_BUILD_VERSION / "
        "LC_VERSION_MIN_MACOSX)",
        "no code signature: macOS on Apple silicon refuses unsigned code"]


@pytest.mark.parametrize("built", ["ridge_regression"], indirect=True)
def test_wrong_builds_are_caught(built, tmp_path):
    """Libraries built without the registry's flags: every deviation is named."""
    name, src, inc = built.name, built.root / "src" / f"{built.name}.c", built.root / "include"
    mac = dataclasses.replace(get_target("macos-arm64"), triple="aarch64-macos.13.0", flags=())
    rec = build_target(mac, src, inc, tmp_path / "mac", name)
    problems = check_binary(tmp_path / "mac" / rec["path"], "macos-arm64", name)
    assert problems[0].startswith("minimum OS is macos 13.0, expected macos 11.0")
    assert problems[1].startswith("install name (LC_ID_DYLIB) is '/") and len(problems) == 2

    leaky = tmp_path / "leaky.c"
    leaky.write_text(f"extern double exp(double);\n"
                     f'__attribute__((visibility("default"))) double {name}_predict(double x)'
                     " { return exp(x); }\n"
                     '__attribute__((visibility("default"))) int helper;\n')
    elf = dataclasses.replace(get_target("linux-aarch64"), flags=())  # no -z defs
    rec = build_target(elf, leaky, inc, tmp_path / "elf", name)
    problems = check_binary(tmp_path / "elf" / rec["path"], "linux-aarch64", name)
    assert problems[0].startswith(f"missing API exports: {name}_abi_version, ")
    assert problems[1:] == [f"exports symbols beyond the {name}_* API: helper",
                            "imports symbols (the library must need no libc/libm): exp"]


# -- runners ------------------------------------------------------------------------------

@pytest.mark.skipif(HOST != "linux-x86_64", reason="names the Debian packages of this host")
def test_a_missing_runner_names_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(RunnerUnavailable, match=r"apt-get install wine"):
        runner_for("windows-x86_64")
    with pytest.raises(RunnerUnavailable, match=r"apt-get install qemu-user"):
        runner_for("linux-aarch64")
    monkeypatch.undo()
    if shutil.which("qemu-aarch64"):
        monkeypatch.setenv("STATICML_AARCH64_SYSROOT", str(tmp_path))
        with pytest.raises(RunnerUnavailable, match=r"libc6-arm64-cross"):
            runner_for("linux-aarch64")
    for target in ("macos-arm64", "macos-x86_64"):
        with pytest.raises(RunnerUnavailable, match="structure is checked instead"):
            runner_for(target)
    assert set(TARGETS) >= set(LIBRARY_TARGETS) | {"wasm32"}


# -- the Windows C example ----------------------------------------------------------------

def _run(argv: list[str], cwd: Path, env: dict | None = None) -> tuple[int, bytes, str]:
    """Run with output in files: wine's lingering wineserver would hold a pipe open."""
    with open(cwd / "stdout.txt", "w+b") as out, open(cwd / "stderr.txt", "w+b") as err:
        res = subprocess.run(argv, cwd=cwd, env=env, stdout=out, stderr=err, timeout=600)
        out.seek(0)
        err.seek(0)
        return res.returncode, out.read(), err.read().decode(errors="replace")


@pytest.mark.slow
def test_windows_example_prints_what_the_linux_example_prints(churn, churn_bundle, tmp_path):
    """examples/c/windows/main.c linked to churn.lib, under wine == examples/c/main.c."""
    runner = require_runner("windows-x86_64")
    root = tmp_path / "churn"
    shutil.copytree(churn_bundle, root)
    rec = build_target("windows-x86_64", root / "src" / "churn.c", root / "include", root,
                       "churn")
    _, _, X_test, _ = churn
    X_test[:300].to_csv(tmp_path / "customers.csv", index=False)

    win = tmp_path / "win"
    win.mkdir()
    shutil.copy(root / rec["path"], win / "churn.dll")
    shutil.copy(tmp_path / "customers.csv", win)
    subprocess.run([sys.executable, "-m", "ziglang", "cc", "-target", "x86_64-windows-gnu",
                    "-O2", "-s", f"-I{root / 'include'}",
                    str(ROOT / "examples" / "c" / "windows" / "main.c"),
                    str(root / rec["import_library"]), "-o", str(win / "churn_demo.exe")],
                   check=True, capture_output=True, env=_zig_env(), timeout=1200)
    code, windows, why = _run([*runner.launcher, "churn_demo.exe", "customers.csv"], win,
                              {**os.environ, **dict(runner.env)})

    compiler = find_compiler()
    lib_dir = staticml.load(churn_bundle).library_path
    subprocess.run([*compiler.argv, "-O2", f"-I{root / 'include'}",
                    str(ROOT / "examples" / "c" / "main.c"), f"-L{lib_dir.parent}", "-lchurn",
                    f"-Wl,-rpath,{lib_dir.parent}", "-o", str(tmp_path / "churn_demo")],
                   check=True, capture_output=True)
    linux_code, linux, linux_why = _run([str(tmp_path / "churn_demo"), "customers.csv"],
                                        tmp_path)

    assert (code, linux_code) == (0, 0), (why, linux_why)
    assert len(linux.splitlines()) == 300
    assert windows == linux
