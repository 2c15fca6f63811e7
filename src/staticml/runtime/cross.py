"""Run cross-built libraries on this machine: linux-aarch64 under qemu-user, Windows under wine.

Why a separate process and a harness: a foreign library cannot be loaded into this Python,
so a tiny C program built *for the target* (``runtime/harness/``) loads it the way an
application would (``dlopen`` / ``LoadLibraryA`` + ``GetProcAddress``), calls
``NAME_predict_matrix`` once on all rows, and exchanges them through the harness file
protocol of ``engine.py``. The harness only moves bytes, so what is compared bit for bit
is the library's own arithmetic on the target's instruction set and calling convention.

Harnesses are built with zig for the target and cached by content hash (source, flags,
zig version) in staticml's cache. The Windows one is libc-free (kernel32 only): a CRT
would make zig build MinGW's first (~67 s cold). wine runs in a prefix of its own under
staticml's cache (created once, ~700 MB, a few seconds), never the user's ``~/.wine``.
"""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..bundle import manifest as mf
from ..errors import ArtifactError, StaticMLError, ToolchainError
from ..toolchain.compilers import _zig, _zig_env, cache_dir, native_platform
from ..toolchain.targets import Target, get_target
from .engine import Engine, read_result, write_matrix

HARNESS_DIR = Path(__file__).with_name("harness")
RUN_TIMEOUT = 600  # seconds per harness run (qemu: ~50 s per million rows, 100-tree forest)


class RunnerUnavailable(StaticMLError):
    """This machine cannot run the target: the reason names what to install."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RunnerError(StaticMLError):
    """The runner started but the harness failed (library would not load, bad output)."""


@dataclass(frozen=True)
class Harness:
    """The harness program of one target: its C source and the zig flags that build it."""

    source: str
    triple: str
    flags: tuple[str, ...]
    suffix: str = ""


@dataclass(frozen=True)
class Runner:
    """How to start ``target``'s harness here: a launcher prefix, environment, path style."""

    target: str
    harness: Harness
    launcher: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    windows_paths: bool = False
    prepare: tuple[tuple[str, ...], ...] = ()  # one-time setup commands (wineboot)
    ready_file: str | None = None              # exists once that setup has succeeded

    def path(self, p: Path) -> str:
        """``p`` as the harness must see it (wine maps drive Z: to the Unix root)."""
        p = Path(p).resolve()
        return "Z:" + str(p).replace("/", "\\") if self.windows_paths else str(p)


_POSIX_FLAGS = ("-mcpu=baseline", "-O2", "-g0", "-s", "-Wall")
_WINDOWS_FLAGS = ("-mcpu=baseline", "-O2", "-g0", "-s", "-Wall", "-fno-builtin",
                  "-fno-stack-protector", "-nostdlib", "-Wl,--entry=harness_entry",
                  "-Wl,--subsystem,console", "-Wl,--stack,16777216", "-lkernel32")


def harness_for(target: str | Target) -> Harness:
    """The harness of ``target`` (glibc 2.17 symbols for Linux: loads on any glibc since)."""
    t = get_target(target)
    if t.binary_format == "elf":
        return Harness("harness_posix.c", f"{t.triple}.2.17", _POSIX_FLAGS)
    if t.binary_format == "pe":
        return Harness("harness_windows.c", t.triple, _WINDOWS_FLAGS, ".exe")
    raise RunnerUnavailable(f"{t.name} has no cross harness ({t.binary_format} binaries run "
                            "through their own engine or not at all here)")


def harness_path(harness: Harness) -> Path:
    """Build ``harness`` with zig, or reuse the cached build with the same content hash."""
    zig = _zig()
    source = HARNESS_DIR / harness.source
    key = hashlib.sha256(b"\0".join([source.read_bytes(), harness.triple.encode(),
                                     " ".join(harness.flags).encode(),
                                     zig.version.encode()])).hexdigest()[:16]
    exe = cache_dir() / "harness" / f"{Path(harness.source).stem}-{harness.triple}-{key}" / (
        "harness" + harness.suffix)
    if exe.is_file():
        return exe
    exe.parent.mkdir(parents=True, exist_ok=True)
    tmp = exe.with_name(f"tmp-{os.getpid()}-{exe.name}")
    argv = [*zig.argv, "-target", harness.triple, *harness.flags, str(source), "-o", str(tmp)]
    res = subprocess.run(argv, capture_output=True, text=True, env=_zig_env())
    if res.returncode != 0:
        raise ToolchainError(f"{zig.description} failed to build the {harness.triple} harness "
                             f"{harness.source}:\n{res.stderr.strip()[-4000:]}")
    os.replace(tmp, exe)
    return exe


# -- runners ------------------------------------------------------------------------------

def _host_arch() -> str:
    machine = platform.machine().lower()
    return {"amd64": "x86_64", "arm64": "aarch64"}.get(machine, machine)


def _qemu_runner(t: Target, harness: Harness) -> Runner:
    qemu = next((q for q in (f"qemu-{t.arch}", f"qemu-{t.arch}-static") if shutil.which(q)),
                None)
    env_key = f"STATICML_{t.arch.upper()}_SYSROOT"
    sysroot = Path(os.environ.get(env_key) or f"/usr/{t.arch}-linux-gnu")
    loader = {"aarch64": "ld-linux-aarch64.so.1", "x86_64": "ld-linux-x86-64.so.2"}[t.arch]
    if qemu is None:
        raise RunnerUnavailable(f"{t.name} needs qemu-user to run here: install it "
                                "(apt-get install qemu-user)")
    if not (sysroot / "lib" / loader).exists():
        raise RunnerUnavailable(
            f"{t.name} needs an {t.arch} glibc sysroot for qemu: install it (apt-get install "
            f"libc6-{'arm64' if t.arch == 'aarch64' else 'amd64'}-cross) or set {env_key}; "
            f"{sysroot / 'lib' / loader} is missing")
    return Runner(t.name, harness, (shutil.which(qemu) or qemu, "-L", str(sysroot)))


def wine_prefix() -> Path:
    """staticml's own WINEPREFIX (``STATICML_WINEPREFIX`` overrides): never ``~/.wine``."""
    return Path(os.environ.get("STATICML_WINEPREFIX") or cache_dir() / "wine")


def _wine_runner(t: Target, harness: Harness) -> Runner:
    wine = shutil.which("wine") or shutil.which("wine64")
    if wine is None:
        raise RunnerUnavailable(f"{t.name} needs wine to run here: install it "
                                "(apt-get install wine wine64)")
    env = (("WINEPREFIX", str(wine_prefix())), ("WINEDEBUG", "-all"),
           ("WINEDLLOVERRIDES", "mscoree,mshtml="))
    # wineboot returns before wineserver has written the registry; `wineserver -w` waits
    # for it to exit (a few seconds), so the prefix on disk is complete for the next run.
    wineserver = shutil.which("wineserver") or str(Path(wine).with_name("wineserver"))
    return Runner(t.name, harness, (wine,), env, windows_paths=True,
                  prepare=((wine, "wineboot", "--init"), (wineserver, "-w")),
                  ready_file=str(wine_prefix() / "system.reg"))


def runner_for(target: str | Target) -> Runner:
    """How ``target`` runs on this machine; ``RunnerUnavailable`` says what is missing."""
    t = get_target(target)
    host_os, host_arch = native_platform().split("-")[0], _host_arch()
    if t.binary_format == "elf":
        harness = harness_for(t)
        if host_os == "linux" and host_arch == t.arch:
            return Runner(t.name, harness)
        return _qemu_runner(t, harness)
    if t.binary_format == "pe":
        harness = harness_for(t)
        if host_os == "windows" and host_arch == t.arch:
            return Runner(t.name, harness)
        if host_os == "linux" and host_arch == "x86_64":
            return _wine_runner(t, harness)
        raise RunnerUnavailable(f"{t.name} runs here only under wine on x86_64 Linux")
    if t.binary_format == "macho":
        raise RunnerUnavailable(f"{t.name} binaries cannot run on this machine; their "
                                "structure is checked instead (staticml.verification.binaries)")
    raise RunnerUnavailable(f"{t.name} is run by its own engine (staticml.runtime.wasm), "
                            "not by a cross runner")


def _prepare(runner: Runner) -> None:
    """Run the runner's one-time setup (the wine prefix) once, under a file lock, so that
    parallel test workers do not create the same prefix at the same time."""
    if runner.ready_file is None or Path(runner.ready_file).is_file():
        return
    ready = Path(runner.ready_file)
    ready.parent.parent.mkdir(parents=True, exist_ok=True)
    import fcntl  # only reached on POSIX hosts (wine)

    with open(ready.parent.parent / f".{ready.parent.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if ready.is_file():
            return
        env = {**os.environ, **dict(runner.env)}
        for argv in runner.prepare:
            code, stderr = _run(list(argv), env, ready.parent.parent)
            if code != 0:
                break
        if not ready.is_file():
            raise RunnerUnavailable(f"{runner.target}: setting up the runner failed ({argv[0]} "
                                    f"exit {code}, no {ready.name}): {stderr[-1000:]}")


def _run(argv: list[str], env: dict[str, str], scratch: Path) -> tuple[int, str]:
    """Run ``argv``; returns its exit code and stderr.

    Output goes to a file, not a pipe: wine's wineserver inherits the child's stdio and
    lingers a few seconds after the program exits, so reading a pipe to EOF would wait for
    wineserver, not for the harness (3-4 s per run instead of ~0.05 s).
    """
    with tempfile.TemporaryFile(dir=scratch) as err:
        try:
            res = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=err, env=env, timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise RunnerError(f"{argv[0]} did not finish in {RUN_TIMEOUT} s") from None
        err.seek(0)
        return res.returncode, err.read().decode("utf-8", "replace").strip()


# -- engines ------------------------------------------------------------------------------

class HarnessEngine:
    """An ``Engine`` that runs one library in a harness process per ``predict_matrix`` call."""

    def __init__(self, runner: Runner, library: Path, name: str, n_inputs: int,
                 n_outputs: int, abi_version: int) -> None:
        self.target = runner.target
        self.runner = runner
        self.library = Path(library)
        self.name = name
        self.n_inputs = n_inputs
        self.n_outputs = n_outputs
        self.abi_version = abi_version
        _prepare(runner)
        self.harness = harness_path(runner.harness)
        self._dir = Path(tempfile.mkdtemp(prefix=f"staticml-{runner.target}-"))
        self.last_seconds = 0.0  # wall time of the last harness run (runner overhead + work)

    def predict_matrix(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = np.ascontiguousarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.n_inputs:
            raise ValueError(f"expected rows of {self.n_inputs} inputs, got shape {x.shape}")
        call = uuid.uuid4().hex[:12]  # calls from several threads do not share files
        src, dst = self._dir / f"rows-{call}.bin", self._dir / f"result-{call}.bin"
        write_matrix(src, x)
        argv = [*self.runner.launcher, str(self.harness), self.runner.path(self.library),
                self.name, str(self.n_outputs), str(self.abi_version),
                self.runner.path(src), self.runner.path(dst)]
        try:
            start = time.perf_counter()
            code, stderr = _run(argv, {**os.environ, **dict(self.runner.env)}, self._dir)
            self.last_seconds = time.perf_counter() - start
            if code != 0:
                raise RunnerError(f"{self.target} harness failed (exit {code}) on "
                                  f"{self.library.name}: {stderr[-2000:]}")
            return read_result(dst, x.shape[0], self.n_outputs)
        except (OSError, ValueError) as exc:
            raise RunnerError(f"{self.target} harness wrote no valid result: {exc}") from None
        finally:
            src.unlink(missing_ok=True)
            dst.unlink(missing_ok=True)

    def close(self) -> None:
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> "HarnessEngine":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class InProcessEngine:
    """The host platform's library through ctypes, for callers that ask by target name."""

    def __init__(self, target: str, library: Path, name: str, n_inputs: int,
                 n_outputs: int, abi_version: int) -> None:
        from .native import NativeLibrary

        self.target = target
        self._lib = NativeLibrary(library, name, n_inputs, n_outputs)
        if self._lib.abi_version != abi_version:
            raise ArtifactError(f"{library.name} has ABI version {self._lib.abi_version}, "
                                f"expected {abi_version}; rebuild the bundle")

    def predict_matrix(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self._lib.predict_matrix(x)

    def close(self) -> None:
        pass


def engine_for(target: str, root: Path, manifest: dict) -> Engine:
    """The engine that runs ``target``'s library of the bundle at ``root`` on this machine.

    The library is ``manifest["targets"][target]["path"]`` (else the registry's path); if
    the manifest lists its sha256 it is checked first. The host platform's library loads
    in-process; others run through their runner, or ``RunnerUnavailable`` says why not.
    """
    t = get_target(target)
    rec = manifest.get("targets", {}).get(t.name) or {}
    rel = rec.get("path") or t.library_path(manifest["name"])
    path = mf.resolve(Path(root), rel)
    if not path.is_file():
        raise ArtifactError(f"bundle {root} has no {rel}; build the {t.name} target first")
    if rel in manifest.get("files", {}):
        mf.verify_files(Path(root), manifest, only=[rel])
    args = (path, manifest["name"], len(manifest["inputs"]), manifest["outputs"]["n_outputs"],
            int(manifest["abi_version"]))
    if t.name == native_platform():
        return InProcessEngine(t.name, *args)
    return HarnessEngine(runner_for(t), *args)
