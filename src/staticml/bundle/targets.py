"""What each build target writes into a bundle: one registry line per target.

Targets are built after the C source exists (every native and wasm target compiles that
one file), in an order where a target's inputs exist first: libraries, then wasm, Java and
ONNX, then the Python wheels, which package the libraries built before them.
Every builder returns the manifest record of its target: the platform, the main file,
every file it wrote (hashed into the manifest later) and how it was made.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..errors import BuildError
from ..ir.graph import Graph
from ..toolchain.compilers import native_platform

LIBRARY_TARGETS = ("linux-x86_64", "linux-aarch64", "windows-x86_64", "macos-arm64",
                   "macos-x86_64")
ALL_TARGETS = (*LIBRARY_TARGETS, "wasm32", "java", "onnx", "python")


@dataclass(frozen=True)
class BuildContext:
    root: Path
    name: str
    graph: Graph
    schema_json: str
    version_json: str
    banner: str
    manifest: dict  # everything but targets, files and parity

    @property
    def c_source(self) -> Path:
        return self.root / "src" / f"{self.name}.c"

    @property
    def include_dir(self) -> Path:
        return self.root / "include"


def host_target() -> str:
    return native_platform()


def resolve(requested: list[str] | tuple[str, ...]) -> list[str]:
    """Expand ``all`` and ``native``, refuse unknown names, order for building."""
    wanted: set[str] = set()
    for t in requested:
        if t == "all":
            wanted |= set(ALL_TARGETS)
        elif t == "native":
            host = host_target()
            if host not in ALL_TARGETS:
                raise BuildError(f"this machine ({host}) is not a platform staticml targets; "
                                 f"pass --target with some of {list(ALL_TARGETS)}")
            wanted.add(host)
        elif t in ALL_TARGETS:
            wanted.add(t)
        else:
            raise BuildError(f"unknown target {t!r}; choose from native, all, "
                             f"{', '.join(ALL_TARGETS)}")
    if "python" in wanted and not wanted & set(LIBRARY_TARGETS):
        wanted.add(host_target())  # a wheel packages a library: build the host's
    return [t for t in ALL_TARGETS if t in wanted]


def _library(ctx: BuildContext, target: str) -> dict:
    from ..toolchain.compilers import build_target

    return build_target(target, ctx.c_source, ctx.include_dir, ctx.root, ctx.name)


def _wasm(ctx: BuildContext, target: str) -> dict:
    import json

    from ..backends.js.module import render_mjs
    from ..toolchain.wasm import build_wasm

    rel = f"wasm/{ctx.name}.wasm"
    (ctx.root / "wasm").mkdir(parents=True, exist_ok=True)
    info = build_wasm(ctx.c_source, ctx.include_dir, ctx.root / rel, ctx.name)
    mjs = f"wasm/{ctx.name}.mjs"
    (ctx.root / mjs).write_text(
        render_mjs(ctx.name, json.loads(ctx.schema_json), ctx.manifest["outputs"]),
        encoding="utf-8")
    return {"platform": "wasm32", "path": rel, "files": [rel, mjs], **info}


def _java(ctx: BuildContext, target: str) -> dict:
    from ..backends.java.render import main_class, render_java
    from ..errors import ToolchainError
    from ..toolchain.javac import build_jar, find_jdk_tool

    files = render_java(ctx.graph, ctx.name, ctx.schema_json, ctx.version_json, ctx.banner)
    for rel, text in files.items():
        (ctx.root / rel).parent.mkdir(parents=True, exist_ok=True)
        (ctx.root / rel).write_text(text, encoding="utf-8")
    written = sorted(files)
    main = main_class(ctx.name)
    rec: dict = {"platform": "jvm", "path": written[0], "files": written,
                 "main_class": main}
    try:
        find_jdk_tool("javac")
    except ToolchainError:
        rec["jar"] = None
        rec["note"] = "javac not found: Java source only (install a JDK to get the .jar)"
        return rec
    jar = f"java/{ctx.name}.jar"
    rec.update(build_jar(ctx.root / "java", ctx.root / jar, main))
    rec["path"] = jar
    rec["files"] = [*written, jar]
    return rec


def _onnx(ctx: BuildContext, target: str) -> dict:
    import time

    from .. import __version__
    from ..backends.onnx.render import render_onnx

    start = time.perf_counter()
    rel = f"onnx/{ctx.name}.onnx"
    (ctx.root / "onnx").mkdir(parents=True, exist_ok=True)
    data = render_onnx(ctx.graph, ctx.name, {"staticml_version": __version__,
                                             "schema_json": ctx.schema_json,
                                             "version_json": ctx.version_json})
    (ctx.root / rel).write_bytes(data)
    return {"platform": "onnx", "path": rel, "files": [rel],
            "toolchain": "staticml onnx backend", "seconds": round(time.perf_counter() - start, 3)}


def _python(ctx: BuildContext, target: str, built: dict[str, dict]) -> dict:
    from .wheel import build_wheels

    libs = {t: rec["path"] for t, rec in built.items() if t in LIBRARY_TARGETS}
    wheels = build_wheels(ctx.root, ctx.manifest, libs)
    files = [w["path"] for w in wheels.values()]
    host = wheels.get(host_target())
    return {"platform": "python", "path": (host or next(iter(wheels.values())))["path"],
            "files": files, "wheels": wheels}


BUILDERS: dict[str, Callable[[BuildContext, str], dict]] = {
    **{t: _library for t in LIBRARY_TARGETS},
    "wasm32": _wasm,
    "java": _java,
    "onnx": _onnx,
}


def build_all(ctx: BuildContext, targets: list[str], say: Callable[[str], None]) -> dict[str, dict]:
    """Build ``targets`` (already resolved) into ``ctx.root``; returns their records."""
    built: dict[str, dict] = {}
    for k, target in enumerate(targets, 1):
        say(f"[{k}/{len(targets)}] building {target}")
        if target == "python":
            built[target] = _python(ctx, target, built)
        else:
            built[target] = BUILDERS[target](ctx, target)
    return built

