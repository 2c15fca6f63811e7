"""Compile generated Java sources into a runnable jar with the JDK's ``javac``.

Order: ``STATICML_JAVAC``, then ``$JAVA_HOME/bin/javac``, then ``javac`` on PATH (``java``
likewise, for ``runtime/java.py``). Class files target Java 8 (``--release 8``) when the JDK
can, else 11, else its own release, so a jar built on a new JDK still runs on old JVMs;
the generated class is ``strictfp``, which makes old JVMs round like Java 17+ does.

The jar is written with ``zipfile`` in a fixed order with fixed timestamps: the same
sources give the same bytes (bundles hash every file), and no ``jar`` tool is needed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import zipfile
from pathlib import Path

from ..errors import ToolchainError

RELEASES = ("8", "11", None)  # None: the JDK's own default
COMMON_FLAGS = ("-encoding", "UTF-8", "-g:none", "-nowarn", "-Xlint:-options")
_FIX = ("install a JDK (e.g. apt-get install openjdk-17-jdk-headless, or "
        "https://adoptium.net), or set JAVA_HOME or STATICML_JAVAC")
_EPOCH = (1980, 1, 1, 0, 0, 0)


def find_jdk_tool(tool: str) -> str:
    """Path of a JDK tool (``javac``, ``java``); raises ToolchainError with a fix if absent."""
    env = os.environ.get(f"STATICML_{tool.upper()}")
    if env:
        if shutil.which(env) is None:
            raise ToolchainError(f"STATICML_{tool.upper()}={env!r} is not an executable; fix or unset it")
        return env
    home = os.environ.get("JAVA_HOME")
    if home:
        for name in (tool, f"{tool}.exe"):
            cand = Path(home) / "bin" / name
            if cand.is_file() and os.access(cand, os.X_OK):
                return str(cand)
    found = shutil.which(tool)
    if found is None:
        raise ToolchainError(f"`{tool}` was not found: {_FIX}")
    return found


def javac_version(javac: str) -> str:
    res = subprocess.run([javac, "-version"], capture_output=True, text=True, timeout=120)
    return (res.stdout or res.stderr).strip() or "javac (unknown version)"


def _release_unsupported(stderr: str) -> bool:
    text = stderr.lower()
    return ("release version" in text and "not supported" in text) or "invalid flag: --release" in text


def build_jar(java_root: Path, out_jar: Path, main_class: str) -> dict:
    """Compile every ``.java`` under ``java_root/src`` (or ``java_root``) into ``out_jar``
    with ``main_class`` as its entry point; returns the toolchain, flags and seconds."""
    java_root = Path(java_root)
    src_root = java_root / "src" if (java_root / "src").is_dir() else java_root
    sources = sorted(src_root.rglob("*.java"))
    if not sources:
        raise ToolchainError(f"no .java files under {src_root}")
    javac = find_jdk_tool("javac")
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="staticml-javac-") as tmp:
        classes = Path(tmp) / "classes"
        classes.mkdir()
        argfile = Path(tmp) / "sources.txt"  # long source lists break command-line limits
        argfile.write_text("\n".join(f'"{p.as_posix()}"' for p in sources), encoding="utf-8")
        for release in RELEASES:
            flags = [*(["--release", release] if release else []), *COMMON_FLAGS]
            res = subprocess.run([javac, *flags, "-d", str(classes), f"@{argfile}"],
                                 capture_output=True, text=True)
            if res.returncode == 0 or not (release and _release_unsupported(res.stderr)):
                break
        if res.returncode != 0:
            raise ToolchainError(f"javac failed on {src_root}:\n{res.stderr.strip()[-4000:]}")
        _write_jar(classes, Path(out_jar), main_class)
    return {"toolchain": javac_version(javac), "flags": flags,
            "seconds": round(time.perf_counter() - start, 3)}


def _write_jar(classes: Path, out_jar: Path, main_class: str) -> None:
    """A reproducible jar: sorted entries, fixed timestamps, written atomically."""
    manifest = (f"Manifest-Version: 1.0\r\nCreated-By: staticml\r\n"
                f"Main-Class: {main_class}\r\n\r\n")
    out_jar.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_jar.with_name(out_jar.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in ("META-INF/",):
            zf.writestr(zipfile.ZipInfo(name, _EPOCH), b"")
        zf.writestr(zipfile.ZipInfo("META-INF/MANIFEST.MF", _EPOCH), manifest,
                    compress_type=zipfile.ZIP_DEFLATED)
        for path in sorted(classes.rglob("*.class")):
            info = zipfile.ZipInfo(path.relative_to(classes).as_posix(), _EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, path.read_bytes())
    os.replace(tmp, out_jar)
