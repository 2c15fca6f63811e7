"""Find a C compiler and build a shared library with flags that keep parity.

Order: ``STATICML_CC``, then ``CC``, then ``cc``/``gcc``/``clang`` on PATH, then the
``ziglang`` package (a pip dependency, so a machine without a compiler still builds).
``STATICML_TOOLCHAIN=zig`` forces zig.

Parity flags: no fast-math and no floating-point contraction (an FMA rounds once where
the model's library rounds twice), a baseline CPU for zig (``-march=native`` changed
results in the cross-target probe), and ``-nostdlib`` so the library imports nothing:
the runtime needs no libc or libm, and the link fails loudly if a stray call sneaks in.

Cross targets (``build_target``): the host platform keeps the system compiler exactly as
``build_shared`` always did; every other platform is ``python -m ziglang cc -target T``
with the registry's triple and explicit CPU (``toolchain/targets.py``), the same parity
flags, ``-s`` to strip, and zig's cache inside staticml's cache dir. All libraries are
libc-free, which is what keeps a cold cross build at ~0.1-0.4 s: zig never has to build a
C runtime (MinGW's takes ~67 s). Windows gets its entry point and stack probe from a tiny
generated C file instead (``targets.WINDOWS_DLL_SUPPORT``).
"""

from __future__ import annotations

import hashlib
import importlib
import os
import platform
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ..errors import ToolchainError
from .targets import Target, get_target

COMMON_FLAGS = (
    "-std=c99", "-O2", "-fPIC", "-shared", "-ffp-contract=off", "-fno-fast-math",
    "-fno-builtin", "-fvisibility=hidden", "-fno-stack-protector", "-nostdlib", "-g0",
    "-Wall", "-Wno-unused-function",
)
GCC_ONLY = ("-fno-tree-loop-distribute-patterns",)


@dataclass(frozen=True)
class Compiler:
    argv: tuple[str, ...]
    kind: str  # "gcc" | "clang" | "zig"
    version: str

    @property
    def description(self) -> str:
        return f"{self.kind} {self.version}".strip()


def cache_dir() -> Path:
    """staticml's own cache (zig's build cache lives here, not in the user's home)."""
    root = os.environ.get("STATICML_CACHE") or os.environ.get("XDG_CACHE_HOME")
    base = Path(root) if root else Path.home() / ".cache"
    path = (base / "staticml") if not os.environ.get("STATICML_CACHE") else base
    path.mkdir(parents=True, exist_ok=True)
    return path


def _probe(argv: list[str]) -> Compiler | None:
    try:
        res = subprocess.run([*argv, "--version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if res.returncode != 0:
        return None
    text = (res.stdout or res.stderr).splitlines()[0] if (res.stdout or res.stderr) else ""
    kind = "clang" if "clang" in text else "gcc"
    return Compiler(tuple(argv), kind, text.strip())


def _zig() -> Compiler:
    try:
        import ziglang  # noqa: F401
    except ImportError:
        raise ToolchainError(
            "no C compiler found: install one (e.g. apt-get install gcc) or the ziglang "
            "package (pip install ziglang), or set STATICML_CC") from None
    argv = [sys.executable, "-m", "ziglang", "cc"]
    return Compiler(tuple(argv), "zig", _zig_version(sys.executable))


@lru_cache(maxsize=None)
def _zig_version(python: str) -> str:
    """zig's version (one subprocess per interpreter, not one per build)."""
    res = subprocess.run([python, "-m", "ziglang", "version"], capture_output=True,
                         text=True, env=_zig_env())
    return res.stdout.strip()


def zig_compiler() -> Compiler:
    """``python -m ziglang cc``; ``ToolchainError`` says how to install it if missing."""
    return _zig()


def _zig_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("ZIG_GLOBAL_CACHE_DIR", str(cache_dir() / "zig"))
    env.setdefault("ZIG_LOCAL_CACHE_DIR", str(cache_dir() / "zig"))
    return env


def run_zig(zig: Compiler, argv: list[str], what: str) -> float:
    """Run a zig command in staticml's zig cache; seconds taken, or ToolchainError."""
    start = time.perf_counter()
    res = subprocess.run(argv, capture_output=True, text=True, env=_zig_env())
    if res.returncode != 0:
        raise ToolchainError(f"{zig.description} failed to {what}:\n"
                             f"{res.stderr.strip()[-4000:]}")
    return time.perf_counter() - start


def find_compiler() -> Compiler:
    if os.environ.get("STATICML_TOOLCHAIN") == "zig":
        return _zig()
    for var in ("STATICML_CC", "CC"):
        value = os.environ.get(var)
        if value:
            found = _probe(shlex.split(value))
            if found is None:
                raise ToolchainError(f"{var}={value!r} does not run; fix or unset it")
            return found
    for name in ("cc", "gcc", "clang"):
        path = shutil.which(name)
        if path:
            found = _probe([path])
            if found:
                return found
    return _zig()


def native_zig_target() -> str:
    machine = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "aarch64",
               "arm64": "aarch64"}.get(platform.machine().lower(), platform.machine())
    osname = {"linux": "linux-gnu", "darwin": "macos", "win32": "windows-gnu"}.get(
        sys.platform, "linux-gnu")
    return f"{machine}-{osname}"


def shared_library_flags(compiler: Compiler) -> list[str]:
    flags = list(COMMON_FLAGS)
    if compiler.kind == "gcc":
        flags += GCC_ONLY
    if compiler.kind == "zig":
        flags += ["-target", native_zig_target(), "-mcpu=baseline"]
    if sys.platform.startswith("linux"):
        flags += ["-Wl,-z,defs"]
    return flags


def build_shared(compiler: Compiler, source: Path, include_dir: Path, output: Path) -> dict:
    """Compile ``source`` into the shared library ``output``; returns what was run."""
    flags = shared_library_flags(compiler)
    argv = [*compiler.argv, *flags, f"-I{include_dir}", str(source), "-o", str(output)]
    start = time.perf_counter()
    res = subprocess.run(argv, capture_output=True, text=True,
                         env=_zig_env() if compiler.kind == "zig" else None)
    seconds = time.perf_counter() - start
    if res.returncode != 0:
        raise ToolchainError(
            f"{compiler.description} failed to compile {source.name}:\n{res.stderr.strip()[-4000:]}")
    return {"toolchain": compiler.description, "flags": flags, "seconds": round(seconds, 3)}


def library_filename(name: str) -> str:
    if sys.platform == "win32":
        return f"{name}.dll"
    if sys.platform == "darwin":
        return f"lib{name}.dylib"
    return f"lib{name}.so"


def native_platform() -> str:
    machine = {"amd64": "x86_64", "arm64": "aarch64" if sys.platform != "darwin" else "arm64"}.get(
        platform.machine().lower(), platform.machine().lower())
    osname = {"linux": "linux", "darwin": "macos", "win32": "windows"}.get(sys.platform,
                                                                            sys.platform)
    return f"{osname}-{machine}"


# -- cross targets -------------------------------------------------------------------------

ZIG_FLAGS = (*COMMON_FLAGS, "-s")


def build_target(target: str | Target, source: Path, include_dir: Path, root: Path, name: str,
                 toolchain: str | None = None) -> dict:
    """Build ``target``'s library of ``source`` into bundle ``root``; returns its record.

    The record is what the manifest stores under ``targets[target]``: ``platform``,
    ``path`` (bundle-relative main file), ``files`` (every file written, to be hashed),
    ``toolchain``, ``flags`` and ``seconds``, plus ``import_library`` for Windows and
    ``triple`` for zig builds. ``toolchain="zig"`` forces zig for the host target too (the
    default there is the system compiler, as ``build_shared`` chooses it).
    """
    t = get_target(target)
    if t.builder is not None:
        return _build_with_builder(t, Path(source), Path(include_dir), Path(root), name)
    if t.name == native_platform() and toolchain != "zig":
        compiler = find_compiler()
        if compiler.kind != "zig":
            rel = t.library_path(name)
            (Path(root) / rel).parent.mkdir(parents=True, exist_ok=True)
            info = build_shared(compiler, Path(source), Path(include_dir), Path(root) / rel)
            return {"platform": t.name, "path": rel, "files": [rel], **info}
    return _zig_build(t, Path(source), Path(include_dir), Path(root), name)


def zig_target_flags(target: str | Target, name: str, root: Path | None = None) -> list[str]:
    """Every flag of a zig build of ``target`` (``root`` places the Windows import library)."""
    t = get_target(target)
    flags = ["-target", t.triple, f"-mcpu={t.cpu}", *ZIG_FLAGS, *t.render_flags(name)]
    implib = t.import_library_path(name)
    if implib is not None:
        flags.append(f"-Wl,--out-implib,{Path(root) / implib if root else implib}")
    return flags


def _zig_build(t: Target, source: Path, include_dir: Path, root: Path, name: str) -> dict:
    zig = _zig()
    rel = t.library_path(name)
    out = root / rel
    out.parent.mkdir(parents=True, exist_ok=True)
    flags = zig_target_flags(t, name, root)
    extra = [str(support_source_file(t.support_source))] if t.support_source else []
    argv = [*zig.argv, *flags, f"-I{include_dir}", str(source), *extra, "-o", str(out)]
    seconds = run_zig(zig, argv, f"build {rel} from {source.name} for {t.triple}")
    files = [rel]
    implib = t.import_library_path(name)
    if implib is not None:
        if not (root / implib).is_file():
            raise ToolchainError(f"{zig.description} built {rel} but wrote no import library "
                                 f"{implib}")
        files.append(implib)
    rec = {"platform": t.name, "path": rel, "files": files, "import_library": implib,
           "toolchain": zig.description, "triple": t.triple, "flags": zig_target_flags(t, name),
           "seconds": round(seconds, 3)}
    if t.support_source:  # compiled in next to NAME.c: say which, so the build is reproducible
        rec["support_source"] = f"staticml.toolchain.targets ({Path(extra[0]).name})"
    return rec


def support_source_file(text: str) -> Path:
    """A content-addressed copy of a support C file in the cache (stable path: zig caches it)."""
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
    path = cache_dir() / "support" / f"support-{digest}.c"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    return path


def _build_with_builder(t: Target, source: Path, include_dir: Path, root: Path,
                        name: str) -> dict:
    """Targets with their own builder (wasm): imported only when that target is built."""
    module, _, func = t.builder.partition(":")
    build = getattr(importlib.import_module(module), func)
    rel = t.library_path(name)
    (root / rel).parent.mkdir(parents=True, exist_ok=True)
    info = build(source, include_dir, root / rel, name)
    return {"platform": t.name, "path": rel, "files": [rel], **info}
