"""Find a C compiler and build a shared library with flags that keep parity.

Order: ``STATICML_CC``, then ``CC``, then ``cc``/``gcc``/``clang`` on PATH, then the
``ziglang`` package (a pip dependency, so a machine without a compiler still builds).
``STATICML_TOOLCHAIN=zig`` forces zig.

Parity flags: no fast-math and no floating-point contraction (an FMA rounds once where
the model's library rounds twice), a baseline CPU for zig (``-march=native`` changed
results in the cross-target probe), and ``-nostdlib`` so the library imports nothing:
the runtime needs no libc or libm, and the link fails loudly if a stray call sneaks in.
"""

from __future__ import annotations

import os
import platform
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import ToolchainError

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
    res = subprocess.run([sys.executable, "-m", "ziglang", "version"], capture_output=True,
                         text=True, env=_zig_env())
    return Compiler(tuple(argv), "zig", res.stdout.strip())


def _zig_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("ZIG_GLOBAL_CACHE_DIR", str(cache_dir() / "zig"))
    env.setdefault("ZIG_LOCAL_CACHE_DIR", str(cache_dir() / "zig"))
    return env


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
