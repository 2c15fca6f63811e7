"""manifest.json: what a bundle holds, how it was made, and the hashes that prove it.

``load`` trusts nothing it has not hashed: every file listed under ``files`` is checked
against its sha256 before any binary is loaded, and paths may not leave the bundle.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import ArtifactError
from .files import MANIFEST, sha256_file

FORMAT = "staticml-bundle"
FORMAT_VERSION = 1


def write(root: Path, manifest: dict) -> None:
    text = json.dumps(manifest, indent=2, sort_keys=False, allow_nan=False) + "\n"
    (root / MANIFEST).write_text(text, encoding="utf-8")


def read(root: Path) -> dict:
    path = Path(root) / MANIFEST
    if not Path(root).is_dir():
        raise ArtifactError(f"{root} is not a directory; pass the directory `staticml build` "
                            "wrote (it contains manifest.json)")
    if not path.exists():
        raise ArtifactError(f"{root} has no manifest.json: it is not a staticml bundle")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ArtifactError(f"{path} is corrupted ({exc}); rebuild the bundle") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ArtifactError(f"{path} is not a staticml manifest; rebuild the bundle")
    if data.get("format_version") != FORMAT_VERSION:
        raise ArtifactError(
            f"{path} has format version {data.get('format_version')}, this staticml reads "
            f"{FORMAT_VERSION}; rebuild the bundle or use a matching staticml")
    return data


def resolve(root: Path, rel: str) -> Path:
    """``root / rel``, refusing absolute paths and ``..`` escapes."""
    root = Path(root).resolve()
    path = (root / rel).resolve()
    if rel.startswith(("/", "\\")) or root not in path.parents:
        raise ArtifactError(f"manifest path {rel!r} points outside the bundle: refused")
    return path


def verify_files(root: Path, manifest: dict, only: list[str] | None = None) -> None:
    """Check size and sha256 of every listed file (or of ``only``); raise on any mismatch."""
    files = manifest.get("files", {})
    for rel in only if only is not None else sorted(files):
        rec = files.get(rel)
        if rec is None:
            raise ArtifactError(f"{rel} is not listed in the manifest: refusing to load it")
        path = resolve(root, rel)
        if not path.is_file():
            raise ArtifactError(f"{rel} is missing from bundle {root}; rebuild or re-copy it")
        if path.stat().st_size != rec["size"] or sha256_file(path) != rec["sha256"]:
            raise ArtifactError(
                f"{rel} does not match its sha256 in manifest.json: the file was modified "
                "or corrupted after the build. Refusing to load it; rebuild or re-copy the "
                "bundle from a trusted source.")
