"""The ``python`` target: one installable wheel per built native library.

A Python service that only needs predictions should not install staticml, scikit-learn
or pandas: ``pip install churn-1-py3-none-<platform>.whl`` then ``import churn;
churn.predict(X)`` with numpy alone. Each wheel holds the bundle's verified library for one
platform, the manifest, and one small generated module (``wheel_runtime.py.tmpl``) that
checks the library's sha256 before loading it with ctypes.

The wheels follow the binary distribution format (PEP 427 and its successor spec): tags
``py3-none-<platform>`` because the module is pure Python and the library is called through
ctypes, never through the CPython ABI; ``Root-Is-Purelib: false`` because the package holds a
binary. Zip entries are sorted and timestamped 1980-01-01, and the packaged manifest leaves
out what describes the bundle rather than the model (targets, files, parity: during
``staticml build`` they do not exist yet), so the same bundle gives the same wheel bytes
(with the same zlib) whenever the wheel is built. Before a library is packaged its bytes
are checked against the manifest (where it lists them) and its header against the
platform, so a tag never claims more than the binary delivers: a Linux library must import
no shared library at all (what makes the oldest manylinux tag honest), a macOS library
must not require a newer macOS than its tag.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import keyword
import os
import re
import struct
import sys
import zipfile
from importlib import resources
from pathlib import Path

from ..errors import ArtifactError, BuildError
from . import manifest as mf

PYTHON_TAG = "py3"
ABI_TAG = "none"
PLATFORM_TAGS = {
    "linux-x86_64": "manylinux_2_17_x86_64.manylinux2014_x86_64",
    "linux-aarch64": "manylinux_2_17_aarch64.manylinux2014_aarch64",
    "windows-x86_64": "win_amd64",
    "macos-arm64": "macosx_11_0_arm64",
    "macos-x86_64": "macosx_10_13_x86_64",
}
# Libraries no wheel can carry: ctypes cannot load a WebAssembly module.
NOT_WHEEL_PLATFORMS = frozenset({"wasm32"})
REQUIRES_PYTHON = ">=3.9"
TEMPLATE = "wheel_runtime.py.tmpl"
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
BUNDLE_ONLY_KEYS = ("targets", "files", "parity")  # left out of the packaged manifest
# Import names the wheel must not take: the runtime's own dependencies and the stdlib
# (an installed ``json`` package would be shadowed by, or shadow, the real one).
_RESERVED = {"numpy", "pandas", *getattr(sys, "stdlib_module_names", ())}


# -- names, versions, tags ----------------------------------------------------------------
def platform_tag(platform: str) -> str:
    """The wheel platform tag of a staticml platform name (``linux-x86_64`` → manylinux)."""
    try:
        return PLATFORM_TAGS[platform]
    except KeyError:
        raise BuildError(f"no wheel platform tag for {platform!r}; known platforms: "
                         f"{sorted(PLATFORM_TAGS)}") from None


def wheel_tag(platform: str) -> str:
    """The full compressed tag set, ``py3-none-<platform tag>``."""
    return f"{PYTHON_TAG}-{ABI_TAG}-{platform_tag(platform)}"


def distribution_name(name: str) -> str:
    """PEP 503 normalized project name of an artifact (``Churn_Model`` → ``churn-model``)."""
    dist = re.sub(r"[-_.]+", "-", name).lower().strip("-")
    if not re.fullmatch(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?", dist):
        raise BuildError(f"artifact name {name!r} gives no valid Python distribution name; "
                         "rebuild with a --name that contains a letter or digit")
    return dist


def package_name(name: str) -> str:
    """The import name: the distribution name with ``_`` (``churn-model`` → ``churn_model``)."""
    pkg = distribution_name(name).replace("-", "_")
    if not pkg.isidentifier() or keyword.iskeyword(pkg) or pkg in _RESERVED:
        raise BuildError(f"artifact name {name!r} would install the Python package {pkg!r}, "
                         "which is not importable or clashes with the standard library / "
                         "numpy / pandas; rebuild with another --name (e.g. churn_model)")
    return pkg


_PEP440 = re.compile(r"""
    v?(?:(?P<epoch>[0-9]+)!)?(?P<release>[0-9]+(?:\.[0-9]+)*)
    (?P<pre>[-_.]?(?P<pre_l>alpha|a|beta|b|preview|pre|c|rc)[-_.]?(?P<pre_n>[0-9]+)?)?
    (?P<post>(?:-(?P<post_n1>[0-9]+))|(?:[-_.]?(?P<post_l>post|rev|r)[-_.]?(?P<post_n2>[0-9]+)?))?
    (?P<dev>[-_.]?(?P<dev_l>dev)[-_.]?(?P<dev_n>[0-9]+)?)?
    (?:\+(?P<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?
""", re.VERBOSE | re.IGNORECASE)
_PRE = {"alpha": "a", "a": "a", "beta": "b", "b": "b", "c": "rc", "pre": "rc",
        "preview": "rc", "rc": "rc"}


def _local(text: str) -> str:
    return ".".join(str(int(s)) if s.isdigit() else s
                    for s in re.split(r"[^a-z0-9]+", text.lower()) if s)


def wheel_version(model_version: str) -> str:
    """A canonical PEP 440 version for ``model_version``.

    Valid versions are normalized (``v1.0-RC1`` → ``1.0rc1``); dates and other digit runs
    become a release (``2024-06-01`` → ``2024.6.1``); anything else becomes a local version
    of 0 (``churn v3`` → ``0+churn.v3``). The original string stays in the manifest.
    """
    text = str(model_version).strip()
    m = _PEP440.fullmatch(text)
    if m is None:
        local = _local(text)
        if re.fullmatch(r"[0-9]+(\.[0-9]+)*", local):
            return local
        return f"0+{local}" if local else "0"
    parts = [f"{int(m['epoch'])}!" if m["epoch"] and int(m["epoch"]) else ""]
    parts.append(".".join(str(int(p)) for p in m["release"].split(".")))
    if m["pre"]:
        parts.append(f"{_PRE[m['pre_l'].lower()]}{int(m['pre_n'] or 0)}")
    if m["post"]:
        parts.append(f".post{int(m['post_n1'] or m['post_n2'] or 0)}")
    if m["dev"]:
        parts.append(f".dev{int(m['dev_n'] or 0)}")
    if m["local"]:
        parts.append(f"+{_local(m['local'])}")
    return "".join(parts)


def wheel_filename(name: str, model_version: str, platform: str) -> str:
    """``{distribution}-{version}-py3-none-{platform tag}.whl`` (PEP 427 escaping)."""
    dist = distribution_name(name).replace("-", "_")
    return f"{dist}-{wheel_version(model_version)}-{wheel_tag(platform)}.whl"


# -- checking the library ------------------------------------------------------------------
def _fail(platform: str, why: str) -> BuildError:
    return BuildError(f"the {platform} library cannot go into a {platform_tag(platform)} "
                      f"wheel: {why}")


def check_library(platform: str, data: bytes) -> None:
    """Refuse a binary whose format, CPU or requirements do not match the wheel's tag."""
    platform_tag(platform)  # an unknown platform is refused before any parsing
    try:
        _check_headers(platform, data)
    except struct.error:
        raise _fail(platform, "the file is truncated or not a shared library") from None


def _check_headers(platform: str, data: bytes) -> None:
    if platform.startswith("linux-"):
        machine = {"linux-x86_64": 62, "linux-aarch64": 183}[platform]
        if data[:6] != b"\x7fELF\x02\x01" or struct.unpack_from("<HH", data, 16) != (3, machine):
            raise _fail(platform, f"not a 64-bit little-endian ELF shared object for machine "
                                  f"{machine}")
        phoff, = struct.unpack_from("<Q", data, 32)
        phentsize, phnum = struct.unpack_from("<HH", data, 54)
        for k in range(phnum):
            p_type, _, p_offset, _, _, p_filesz = struct.unpack_from("<IIQQQQ", data,
                                                                     phoff + k * phentsize)
            if p_type != 2:  # PT_DYNAMIC
                continue
            for e in range(p_offset, p_offset + p_filesz, 16):
                tag, _ = struct.unpack_from("<qQ", data, e)
                if tag in (1, 0x6FFFFFFE):  # DT_NEEDED, DT_VERNEED
                    raise _fail(platform, "it links against shared libraries (DT_NEEDED), so "
                                          "the manylinux2014 tag would not be honest; build "
                                          "with -nostdlib as staticml does")
                if tag == 0:
                    break
    elif platform == "windows-x86_64":
        pe, = struct.unpack_from("<I", data, 0x3C) if data[:2] == b"MZ" else (0,)
        if not pe or data[pe:pe + 4] != b"PE\0\0" or struct.unpack_from("<H", data, pe + 4)[0] \
                != 0x8664 or not struct.unpack_from("<H", data, pe + 22)[0] & 0x2000:
            raise _fail(platform, "not an x86-64 PE DLL")
    elif platform.startswith("macos-"):
        cpu = {"macos-arm64": 0x0100000C, "macos-x86_64": 0x01000007}[platform]
        if data[:4] != b"\xcf\xfa\xed\xfe" or struct.unpack_from("<iI", data, 4)[0] != cpu or \
                struct.unpack_from("<I", data, 12)[0] != 6:
            raise _fail(platform, "not a 64-bit Mach-O dylib for this CPU")
        tag_min = tuple(int(p) for p in platform_tag(platform).split("_")[1:3])
        found = _macos_minimum(data)
        if found is None or found > tag_min:
            need = ".".join(map(str, tag_min))
            has = "no minimum macOS version" if found is None else \
                f"minimum macOS {'.'.join(map(str, found))}"
            raise _fail(platform, f"it records {has}, the tag promises {need}; build with "
                                  f"-mmacosx-version-min={need} (zig: -target <cpu>-macos.{need})")


def _macos_minimum(data: bytes) -> tuple[int, int] | None:
    """Minimum macOS (major, minor) from LC_BUILD_VERSION or LC_VERSION_MIN_MACOSX."""
    ncmds, = struct.unpack_from("<I", data, 16)
    off = 32
    for _ in range(ncmds):
        cmd, size = struct.unpack_from("<II", data, off)
        if cmd in (0x32, 0x24):
            v, = struct.unpack_from("<I", data, off + (12 if cmd == 0x32 else 8))
            return v >> 16, (v >> 8) & 0xFF
        off += size
    return None


# -- the archive ----------------------------------------------------------------------------
def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(
        b"=").decode("ascii")


def _runtime_module(values: dict[str, str]) -> bytes:
    """The package's ``__init__.py``: the template with its four constants filled in."""
    text = (resources.files(__package__) / TEMPLATE).read_text(encoding="utf-8")
    for key, value in values.items():
        if not re.fullmatch(r"[A-Za-z0-9._+!-]+", value) or text.count(f'"@{key}@"') != 1:
            raise BuildError(f"cannot fill {key}={value!r} into {TEMPLATE}")
        text = text.replace(f'"@{key}@"', f'"{value}"')
    return text.encode("utf-8")


def _metadata(manifest: dict, dist: str, version: str, package: str) -> bytes:
    """Core metadata 2.1; the description says what model this is and how to call it."""
    src = manifest.get("source_model", {})
    model = " ".join(f"{src.get('library', '')} {src.get('type', 'model')}".split())
    staticml = f"staticml {manifest.get('staticml_version', '')}".strip()
    head = [
        "Metadata-Version: 2.1", f"Name: {dist}", f"Version: {version}",
        f"Summary: {manifest['name']}: {model} compiled to native code by {staticml}",
        f"Requires-Python: {REQUIRES_PYTHON}", "Requires-Dist: numpy",
        "Provides-Extra: pandas", 'Requires-Dist: pandas; extra == "pandas"',
        "Description-Content-Type: text/markdown",
    ]
    body = [
        f"# {package}", "",
        f"`{model}` ({manifest['task']}, model version `{manifest.get('model_version')}`, "
        f"source sha256 `{src.get('sha256', '')}`), compiled by {staticml}. The model runs in "
        "a dependency-free native library; this package needs only numpy.", "",
        "```python", f"import {package}",
        f"{package}.predict(X)  # 2-D array, pandas DataFrame, list of dicts, or one dict",
        "```", "",
    ]
    if manifest["outputs"].get("classes") is not None:
        body += [f"Classes: {', '.join(map(repr, manifest['outputs']['classes']))}", ""]
    body += ["| input | type | categories |", "|---|---|---|"]
    body += [f"| `{c['name']}` | {c['dtype']} | {len(c.get('vocabulary') or ())} |"
             for c in manifest["inputs"]]
    return ("\n".join(head) + "\n\n" + "\n".join(body) + "\n").encode("utf-8")


def _wheel_file(manifest: dict, platform: str) -> bytes:
    tags = [f"{PYTHON_TAG}-{ABI_TAG}-{t}" for t in platform_tag(platform).split(".")]
    return "".join(f"{line}\n" for line in [
        "Wheel-Version: 1.0", f"Generator: staticml {manifest.get('staticml_version', '')}",
        "Root-Is-Purelib: false", *(f"Tag: {t}" for t in tags)]).encode("utf-8")


def _zip(entries: list[tuple[str, bytes, int]]) -> bytes:
    """A deterministic zip: given order, fixed timestamps, Unix modes, deflate level 6
    (level 9 takes 4x as long on a 12 MB forest for 0.05% less)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for arcname, data, mode in entries:
            info = zipfile.ZipInfo(arcname, date_time=_ZIP_EPOCH)
            info.create_system = 3  # Unix, whatever the build host
            info.external_attr = (0o100000 | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data, compresslevel=6)
    return buf.getvalue()


def wheel_bytes(manifest: dict, platform: str, library: bytes, library_name: str) -> bytes:
    """The complete wheel for one platform's library."""
    check_library(platform, library)
    dist = distribution_name(manifest["name"])
    package = package_name(manifest["name"])
    version = wheel_version(manifest.get("model_version", "0"))
    info = f"{dist.replace('-', '_')}-{version}.dist-info"
    module = _runtime_module({
        "VERSION": version, "LIBRARY": library_name,
        "LIBRARY_SHA256": hashlib.sha256(library).hexdigest(), "PLATFORM": platform})
    model = {k: v for k, v in manifest.items() if k not in BUNDLE_ONLY_KEYS}
    files = sorted([
        (f"{package}/__init__.py", module, 0o644),
        (f"{package}/manifest.json",
         (json.dumps(model, indent=2, allow_nan=False) + "\n").encode("utf-8"), 0o644),
        (f"{package}/{library_name}", library, 0o755),
    ]) + [
        (f"{info}/METADATA", _metadata(manifest, dist, version, package), 0o644),
        (f"{info}/WHEEL", _wheel_file(manifest, platform), 0o644),
    ]
    record = io.StringIO()
    writer = csv.writer(record, lineterminator="\n")
    for arcname, data, _ in files:
        writer.writerow([arcname, _record_hash(data), len(data)])
    writer.writerow([f"{info}/RECORD", "", ""])
    files.append((f"{info}/RECORD", record.getvalue().encode("utf-8"), 0o644))
    return _zip(files)


def _library_bytes(root: Path, manifest: dict, platform: str, rel: str) -> bytes:
    """The library's bytes, refused if the manifest records them with another hash/platform.

    During ``staticml build`` the manifest lists no targets yet (the libraries were just
    compiled into the staging directory); a finished bundle lists them all.
    """
    try:
        data = mf.resolve(root, rel).read_bytes()
    except (ArtifactError, OSError) as exc:
        raise BuildError(f"cannot package the {platform} library {rel!r}: {exc}") from None
    digest = hashlib.sha256(data).hexdigest()
    records = [r for r in manifest.get("targets", {}).values() if r.get("path") == rel]
    if rel in manifest.get("files", {}):
        records.append(manifest["files"][rel])
    for rec in records:
        if rec.get("sha256", digest) != digest or rec.get("size", len(data)) != len(data):
            raise BuildError(f"{rel} does not match its sha256 in the manifest; rebuild the "
                             "bundle")
        if rec.get("platform", platform) != platform:
            raise BuildError(f"{rel} was built for {rec['platform']}, not {platform}")
    return data


def build_wheels(root: Path, manifest: dict, platforms: dict[str, str]) -> dict[str, dict]:
    """Write ``python/<wheel>`` under ``root`` for every ``platform -> library path``.

    Returns ``{platform: {"path": rel, "tag": "py3-none-...", "size": bytes}}``. Platforms
    in ``NOT_WHEEL_PLATFORMS`` (wasm32) are skipped; any other platform without a tag in
    ``PLATFORM_TAGS`` is an error.
    """
    root = Path(root)
    out_dir = root / "python"
    built: dict[str, dict] = {}
    for platform, rel in sorted(platforms.items()):
        if platform in NOT_WHEEL_PLATFORMS:
            continue
        data = _library_bytes(root, manifest, platform, rel)
        wheel = wheel_bytes(manifest, platform, data, Path(rel).name)
        name = wheel_filename(manifest["name"], manifest.get("model_version", "0"), platform)
        out_dir.mkdir(parents=True, exist_ok=True)
        tmp = out_dir / f".{name}.tmp"
        tmp.write_bytes(wheel)
        os.replace(tmp, out_dir / name)
        built[platform] = {"path": f"python/{name}", "tag": wheel_tag(platform),
                           "size": len(wheel)}
    return built
