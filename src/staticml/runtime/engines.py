"""Open the engine that runs one target of a bundle on this machine, or say why not.

The host's library runs in-process through ctypes; other targets run through the program
that can execute them here (qemu, wine, wasmtime, node, java, onnxruntime). A target that
cannot run here raises ``RunnerUnavailable`` with the reason, which ``verify`` reports.
"""

from __future__ import annotations

from pathlib import Path

from ..bundle import manifest as mf
from ..errors import StaticMLError
from ..toolchain.compilers import native_platform
from .engine import Engine


class RunnerUnavailable(StaticMLError):
    """A target that this machine cannot run (macOS on Linux, wine not installed, ...)."""


def _native(root: Path, manifest: dict, target: str) -> Engine:
    from .native import NativeLibrary

    rec = manifest["targets"][target]
    lib = NativeLibrary(mf.resolve(root, rec["path"]), manifest["name"],
                        len(manifest["inputs"]), manifest["outputs"]["n_outputs"])
    lib.target = target
    return lib


def _cross(root: Path, manifest: dict, target: str) -> Engine:
    from . import cross

    try:
        return cross.engine_for(target, root, manifest)
    except cross.RunnerUnavailable as exc:
        raise RunnerUnavailable(str(exc)) from None


def _macos(root: Path, manifest: dict, target: str) -> Engine:
    raise RunnerUnavailable("macOS binaries cannot run on this machine; their structure "
                            "(format, exports, minimum OS, install name) is checked instead")


def _wasm(root: Path, manifest: dict, target: str) -> Engine:
    from .wasm import WasmEngine

    rec = manifest["targets"][target]
    return WasmEngine(mf.resolve(root, rec["path"]), manifest["name"],
                      len(manifest["inputs"]), manifest["outputs"]["n_outputs"])


def _node(root: Path, manifest: dict, target: str) -> Engine:
    import shutil

    from .node import NodeEngine

    if shutil.which("node") is None:
        raise RunnerUnavailable("node is not installed (apt-get install nodejs)")
    rec = manifest["targets"]["wasm32"]
    mjs = next(f for f in rec["files"] if f.endswith(".mjs"))
    return NodeEngine(mf.resolve(root, mjs), manifest["outputs"]["n_outputs"])


def _java(root: Path, manifest: dict, target: str) -> Engine:
    from ..errors import ToolchainError
    from ..toolchain.javac import find_jdk_tool
    from .java import JavaEngine

    rec = manifest["targets"][target]
    if not str(rec["path"]).endswith(".jar"):
        raise RunnerUnavailable("the bundle has Java source but no .jar (javac was missing "
                                "at build time)")
    try:
        find_jdk_tool("java")
    except ToolchainError as exc:
        raise RunnerUnavailable(str(exc)) from None
    return JavaEngine(mf.resolve(root, rec["path"]), rec["main_class"],
                      manifest["outputs"]["n_outputs"])


def _onnx(root: Path, manifest: dict, target: str) -> Engine:
    try:
        from .onnx import OnnxEngine
    except ImportError:
        raise RunnerUnavailable("onnxruntime is not installed (pip install "
                                "'staticml[onnx]')") from None
    rec = manifest["targets"][target]
    return OnnxEngine(mf.resolve(root, rec["path"]), manifest["outputs"]["n_outputs"])


def _wheel(root: Path, manifest: dict, target: str) -> Engine:
    from ..bundle.wheel import package_name
    from .wheel import WheelEngine

    host = native_platform()
    wheels = manifest["targets"][target].get("wheels", {})
    if host not in wheels:
        raise RunnerUnavailable(f"no wheel for this platform ({host}); wheels were built for "
                                f"{sorted(wheels)}")
    return WheelEngine(mf.resolve(root, wheels[host]["path"]), package_name(manifest["name"]),
                       manifest["outputs"]["n_outputs"])


# Engines that run a target; "wasm32/node" runs the same .wasm through the ES module.
OPENERS = {
    "linux-x86_64": _cross, "linux-aarch64": _cross, "windows-x86_64": _cross,
    "macos-arm64": _macos, "macos-x86_64": _macos,
    "wasm32": _wasm, "wasm32/node": _node, "java": _java, "onnx": _onnx, "python": _wheel,
}


def runs_of(targets: list[str]) -> list[str]:
    """The engine names that exercise the built ``targets`` (wasm32 runs twice)."""
    out = []
    for t in targets:
        if t in OPENERS:
            out.append(t)
        if t == "wasm32":
            out.append("wasm32/node")
    return out


def open_engine(root: Path, manifest: dict, target: str) -> Engine:
    """The engine for ``target``; the host platform's library loads in-process."""
    if target == "native" or target == native_platform():
        target = native_platform()
        if target in manifest["targets"]:
            return _native(root, manifest, target)
    base = target.split("/")[0]
    if base not in manifest["targets"]:
        raise RunnerUnavailable(f"the bundle has no {base} target")
    if target not in OPENERS:
        raise RunnerUnavailable(f"{target} has no runner")
    return OPENERS[target](root, manifest, target)
