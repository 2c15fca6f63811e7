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
    _check_structure(path, data)
    return data


# The fields every command reads, with their JSON types: a manifest without them is damaged.
_STRUCTURE = {"name": str, "task": str, "inputs": list, "outputs": dict, "targets": dict,
              "files": dict}


def _check_structure(path: Path, data: dict) -> None:
    bad = [k for k, kind in _STRUCTURE.items() if not isinstance(data.get(k), kind)]
    inputs = data.get("inputs") if isinstance(data.get("inputs"), list) else []
    if any(not (isinstance(c, dict) and isinstance(c.get("name"), str)
                and c.get("dtype") in ("number", "string")) for c in inputs):
        bad.append("inputs[]")
    outputs = data.get("outputs") if isinstance(data.get("outputs"), dict) else {}
    if not isinstance(outputs.get("n_outputs"), int) or outputs.get("n_outputs", 0) < 1:
        bad.append("outputs.n_outputs")
    targets = data.get("targets") if isinstance(data.get("targets"), dict) else {}
    if any(not (isinstance(r, dict) and isinstance(r.get("path"), str))
           for r in targets.values()):
        bad.append("targets[].path")
    if bad:
        raise ArtifactError(f"{path} is damaged: {', '.join(bad)} missing or of the wrong "
                            "type; rebuild the bundle or re-copy it")


def required_files(manifest: dict) -> set[str]:
    """Files a bundle cannot be trusted without: what ``load`` runs and what it compares."""
    name = manifest["name"]
    need = {"ir.json", f"include/{name}.h", f"src/{name}.c"}
    for rec in manifest["targets"].values():
        need.add(rec["path"])
        need.update(rec.get("files", ()))
    return need


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
    unlisted = sorted(required_files(manifest) - set(files))
    if unlisted:  # dropping a file's entry must not switch its hash check off
        raise ArtifactError(
            f"manifest.json does not list {', '.join(unlisted)} under files: the manifest was "
            "edited after the build. Refusing to load it; rebuild or re-copy the bundle.")
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


def check_against_library(manifest: dict, schema_json: str, where: str) -> None:
    """The manifest's inputs and outputs must be the ones compiled into the library.

    Files are hashed, but the manifest that lists the hashes is not: an edit to it alone
    could reorder or drop inputs, change a vocabulary, relabel classes or claim more outputs
    than the library writes. The library's ``schema_json`` is hashed code, so it is the
    reference. (Bundles from before it held outputs are checked on their inputs.)"""
    try:
        lib = json.loads(schema_json)
    except ValueError:
        raise ArtifactError(f"{where} returns an unreadable schema; rebuild the bundle") from None
    differs = [key for key in ("name", "inputs", "schema_sha256", "task", "outputs")
               if key in lib and lib[key] != manifest.get(key)]
    contract = manifest.get("contract")
    policy = contract.get("on_violation") if isinstance(contract, dict) else None
    if "on_violation" in lib and lib["on_violation"] != policy:
        differs.append("contract.on_violation")
    if differs:
        raise ArtifactError(
            f"manifest.json does not match the library {where} in {', '.join(differs)}: the "
            "manifest was edited after the build. Refusing to load it; rebuild or re-copy the "
            "bundle from a trusted source.")
