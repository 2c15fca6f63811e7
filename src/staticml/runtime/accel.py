"""The one-row accelerator: ``rowcall.c`` built as a CPython extension on first use.

Why: one-row predictions from Python are fixed costs (a ctypes call ~0.3 us, building a
numpy row from a dict ~1 us), several times the model itself. The extension reads a
dict, a list or a float64 row straight into the row buffer and calls the library in C.
It changes no result: it takes only the cases whose encoding is unambiguous and hands
the rest back to the Python path (see rowcall.c).

staticml stays a pure-Python package: the extension is compiled here, once per machine
and Python version, with the same compiler discovery as the artifacts (``STATICML_CC``,
``CC``, cc/gcc/clang, else zig) against this interpreter's headers, into staticml's
cache (``STATICML_CACHE`` / ``XDG_CACHE_HOME``). Without a compiler or the headers,
or with ``STATICML_ACCEL=0``, every one-row call goes through ctypes as before;
``status()`` says which and why.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import os
import stat
import subprocess
import sys
import sysconfig
import tempfile
import threading
from pathlib import Path
from types import ModuleType

SOURCE = Path(__file__).with_name("rowcall.c")
MODULE = "staticml_rowcall"

_lock = threading.Lock()
_state: dict[str, object] = {}  # "module" or "reason", decided once per process


def status() -> str:
    """'on' or 'off: <why>' (after the first ``module()`` call; 'unknown' before)."""
    if "module" in _state:
        return "on" if _state["module"] is not None else f"off: {_state['reason']}"
    return "unknown"


def module() -> ModuleType | None:
    """The extension module, built and cached on first use; None when unavailable."""
    if "module" not in _state:
        with _lock:
            if "module" not in _state:
                mod, reason = _load()
                _state["module"], _state["reason"] = mod, reason
    return _state["module"]  # type: ignore[return-value]


def _load() -> tuple[ModuleType | None, str]:
    if os.environ.get("STATICML_ACCEL", "1").strip().lower() in ("0", "off", "no", "false"):
        return None, "disabled by STATICML_ACCEL=0"
    if sys.implementation.name != "cpython":
        return None, f"needs CPython (this is {sys.implementation.name})"
    if sysconfig.get_config_var("Py_GIL_DISABLED"):  # it reads dicts with borrowed references
        return None, "not used on free-threaded Python (it relies on the GIL)"
    if sys.platform == "win32":
        return None, "not built on Windows (it would need the Python import library)"
    try:
        path = _built()
        return _import(path), ""
    except Exception as exc:  # no compiler, no headers, an untrusted cache: use ctypes
        return None, str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)


def _built() -> Path:
    """The cached extension for this source, interpreter and platform (built if absent)."""
    from ..toolchain.compilers import cache_dir

    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    source = SOURCE.read_bytes()
    key = hashlib.sha256(b"\0".join([source, sys.version.encode(), suffix.encode(),
                                     sysconfig.get_platform().encode()])).hexdigest()[:16]
    folder = cache_dir() / "accel"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / f"{MODULE}-{key}{suffix}"
    _check_trusted(folder)
    if not path.exists():
        _compile(folder, path)
    _check_trusted(path)
    return path


def _compile(folder: Path, path: Path) -> None:
    from ..toolchain.compilers import find_compiler

    include = sysconfig.get_paths().get("include", "")
    if not include or not (Path(include) / "Python.h").exists():
        raise RuntimeError(f"no Python.h in {include!r} (install the Python headers, "
                           "e.g. apt-get install python3-dev)")
    cc = find_compiler()
    fd, tmp = tempfile.mkstemp(prefix=".build-", suffix=path.suffix, dir=folder)
    os.close(fd)
    argv = [*cc.argv, "-O2", "-shared", "-fPIC", "-fvisibility=hidden", f"-I{include}",
            str(SOURCE), "-o", tmp]
    if sys.platform == "darwin":
        argv += ["-undefined", "dynamic_lookup"]
    try:
        res = subprocess.run(argv, capture_output=True, text=True, timeout=300)
        if res.returncode != 0:
            raise RuntimeError(f"{cc.description} could not build {SOURCE.name}: "
                               f"{res.stderr.strip()[-2000:]}")
        os.chmod(tmp, 0o755)
        os.replace(tmp, path)  # atomic: a concurrent process sees all of it or nothing
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    for old in folder.glob(f"{MODULE}-*{path.suffix}"):  # builds of older sources
        if old != path and old.name.endswith(importlib.machinery.EXTENSION_SUFFIXES[0]):
            old.unlink(missing_ok=True)  # a process that loaded it keeps its mapping


def _check_trusted(p: Path) -> None:
    """Loading a shared object runs its code: only one this user owns, in a folder that
    nobody else may write to."""
    if not hasattr(os, "getuid"):
        return
    st = os.stat(p)
    if st.st_uid != os.getuid() or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise RuntimeError(f"{p} is not owned by this user or is writable by others; "
                           "not loading it (fix its permissions or set STATICML_CACHE)")


def _import(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(MODULE, path)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot import {path}")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod
