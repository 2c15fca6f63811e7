"""File hashing and atomic publication of a bundle directory.

A build writes everything into a private staging directory next to the destination and
only then swaps it into place, so a failed or interrupted build never leaves a half-written
bundle, and an existing bundle is replaced whole or not at all.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import socket
import tempfile
from pathlib import Path

from ..errors import BuildError

MANIFEST = "manifest.json"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def file_record(root: Path, rel: str) -> dict:
    path = root / rel
    return {"sha256": sha256_file(path), "size": path.stat().st_size}


def _host() -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in socket.gethostname())[:64]


def _owner_tag() -> str:
    """Host and process of a build, in the names of its staging and old directories."""
    return f"{_host()}.{os.getpid()}"


def staging_dir(out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    remove_stale(out)
    return Path(tempfile.mkdtemp(prefix=f".{out.name}.staging-{_owner_tag()}-",
                                 dir=out.parent))


def remove_stale(out: Path) -> None:
    """Remove the staging and old directories of builds of ``out`` that died (killed, power
    loss) on this host. Only directories whose process is gone are touched: a concurrent
    build's, or another host's on a shared disk, is left alone."""
    pattern = re.compile(rf"^\.{re.escape(out.name)}\.(?:staging|old)-{re.escape(_host())}\."
                         r"(\d+)(?:-.*)?$")
    for path in out.parent.iterdir():
        match = pattern.match(path.name)
        if match and path.is_dir() and not _alive(int(match.group(1))):
            shutil.rmtree(path, ignore_errors=True)


def _alive(pid: int) -> bool:
    if os.name == "nt":  # signal 0 is CTRL_C_EVENT there: never probe, never sweep
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists (another user's) or cannot tell: keep its directory
    return True


def check_destination(out: Path) -> None:
    """Refuse to replace a directory that is not a staticml bundle (it may be user data)."""
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / MANIFEST).exists())):
        raise BuildError(
            f"{out} exists and is not a staticml bundle; choose another output directory or "
            "remove it yourself (staticml never deletes files it did not write)")


def publish(staging: Path, out: Path) -> None:
    """Swap ``staging`` into ``out``; the old bundle (if any) is removed only afterwards."""
    check_destination(out)
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old-{_owner_tag()}")
        os.replace(out, old)
    try:
        os.replace(staging, out)
    except OSError:
        if old is not None:
            os.replace(old, out)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
