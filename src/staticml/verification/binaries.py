"""Structure checks of built libraries without running them: ELF, PE, Mach-O and wasm.

Why read headers ourselves: the macOS libraries cannot run on this machine, so their
structure is the only evidence we have (format, architecture, exactly the ``NAME_*`` API
exported, nothing imported, minimum OS, install name, code signature), and the same checks
catch a wrong Linux/Windows build before any runner is involved. The readers are small
``struct`` parsers over the whole file in memory, so they need no binutils/LLVM on the
machine and no new dependency; a truncated or foreign file yields a problem, never a crash.

``inspect_binary`` describes a file; ``check_binary`` compares that description with the
target's registry record and returns human-readable problems (empty = fine). Symbol names
are spelled as the object format spells them: Mach-O prefixes C names with ``_``.
"""

from __future__ import annotations

import re
import struct
from pathlib import Path
from typing import Any, Callable, Iterable

from ..toolchain.targets import Target, get_target

# Functions every library exports since ABI 1; the header may declare more (``api_from_header``).
from ..backends.c.render import API_FUNCTIONS  # noqa: E402  (the one list of exports)

# What a platform forces into every dylib zig links: it exports the two linker-defined
# header symbols and binds dyld_stub_binder from libSystem (every macOS image links it).
MACHO_FORCED_EXPORTS = frozenset({"__mh_dylib_header", "___dso_handle"})
MACHO_FORCED_IMPORTS = frozenset({"dyld_stub_binder"})
MACHO_FORCED_LIBRARIES = frozenset({"/usr/lib/libSystem.B.dylib"})


class FormatError(ValueError):
    """The file is not a well-formed binary of the format its magic number claims."""


class _Bytes:
    """Bounds-checked reads from a file image: every slip is a ``FormatError``."""

    def __init__(self, data: bytes, what: str) -> None:
        self.data = data
        self.what = what

    def unpack(self, fmt: str, offset: int) -> tuple:
        size = struct.calcsize(fmt)
        if offset < 0 or offset + size > len(self.data):
            raise FormatError(f"{self.what} is truncated: needs bytes {offset}..{offset + size}"
                              f" but the file has {len(self.data)}")
        return struct.unpack_from(fmt, self.data, offset)

    def span(self, offset: int, size: int, what: str) -> None:
        """Require ``size`` bytes at ``offset`` (a section or segment the headers promise)."""
        if offset < 0 or size < 0 or offset + size > len(self.data):
            raise FormatError(f"{self.what} is truncated: its {what} needs bytes "
                              f"{offset}..{offset + size}, the file has {len(self.data)}")

    def cstring(self, offset: int, limit: int | None = None) -> str:
        end = self.data.find(b"\0", offset, limit if limit is not None else len(self.data))
        if offset < 0 or offset >= len(self.data) or end < 0:
            raise FormatError(f"{self.what}: unterminated string at offset {offset}")
        return self.data[offset:end].decode("utf-8", "replace")

    def uleb(self, offset: int) -> tuple[int, int]:
        value = shift = 0
        while True:
            (byte,) = self.unpack("B", offset)
            offset += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                return value, offset
            if shift > 70:
                raise FormatError(f"{self.what}: malformed LEB128 at offset {offset}")


# -- ELF ----------------------------------------------------------------------------------

_ELF_MACHINES = {62: "x86_64", 183: "aarch64", 3: "x86", 40: "arm", 243: "riscv"}


def _read_elf(b: _Bytes) -> dict:
    (ident, e_type, machine, _, _, phoff, shoff, _, _, phentsize, phnum, shentsize, shnum,
     _) = b.unpack("<16sHHIQQQIHHHHHH", 0)
    if ident[4] != 2 or ident[5] != 1:
        raise FormatError("only 64-bit little-endian ELF is supported (staticml's targets)")
    info: dict[str, Any] = {
        "format": "elf", "arch": _ELF_MACHINES.get(machine, f"e_machine {machine}"),
        "kind": {3: "shared library", 2: "executable"}.get(e_type, f"e_type {e_type}")}
    interp = any(b.unpack("<I", phoff + i * phentsize)[0] == 3 for i in range(phnum))
    info["has_interpreter"] = interp
    sections = [b.unpack("<IIQQQQIIQQ", shoff + i * shentsize) for i in range(shnum)]
    if not sections:
        raise FormatError("ELF file has no section headers: cannot list its dynamic symbols")
    exports, imports, needed = [], [], []
    for sec in sections:
        if sec[1] != 8:  # SHT_NOBITS has no file data
            b.span(sec[4], sec[5], "section data")
        if sec[1] == 11:  # SHT_DYNSYM
            strtab = sections[sec[6]]
            _elf_symbols(b, sec, strtab[4], strtab[4] + strtab[5], exports, imports)
        elif sec[1] == 6:  # SHT_DYNAMIC
            strtab = sections[sec[6]]
            for off in range(sec[4], sec[4] + sec[5], 16):
                tag, val = b.unpack("<qQ", off)
                if tag == 0:
                    break
                if tag == 1:  # DT_NEEDED
                    needed.append(b.cstring(strtab[4] + val, strtab[4] + strtab[5]))
    info.update(exports=sorted(exports), imports=sorted(imports), libraries=needed)
    return info


def _elf_symbols(b: _Bytes, sec: tuple, str_off: int, str_end: int, exports: list,
                 imports: list) -> None:
    for off in range(sec[4] + 24, sec[4] + sec[5], 24):  # entry 0 is the null symbol
        st_name, st_info, st_other, st_shndx, _, _ = b.unpack("<IBBHQQ", off)
        name = b.cstring(str_off + st_name, str_end) if st_name else ""
        if not name or (st_info & 0xF) in (3, 4):  # STT_SECTION, STT_FILE
            continue
        if st_shndx == 0:
            imports.append(name)
        elif (st_info >> 4) in (1, 2, 10) and (st_other & 3) in (0, 3):  # global, visible
            exports.append(name)


# -- PE -----------------------------------------------------------------------------------

_PE_MACHINES = {0x8664: "x86_64", 0xAA64: "aarch64", 0x14C: "x86"}


def _read_pe(b: _Bytes) -> dict:
    (pe_off,) = b.unpack("<I", 0x3C)
    if b.unpack("4s", pe_off)[0] != b"PE\0\0":
        raise FormatError("MZ file without a PE signature (a DOS program?)")
    machine, nsec, _, _, _, opt_size, chars = b.unpack("<HHIIIHH", pe_off + 4)
    opt = pe_off + 24
    (magic,) = b.unpack("<H", opt)
    if magic not in (0x10B, 0x20B):
        raise FormatError(f"unknown PE optional header magic {magic:#x}")
    dirs_at, ndirs_at = (opt + 112, opt + 108) if magic == 0x20B else (opt + 96, opt + 92)
    (entry,) = b.unpack("<I", opt + 16)
    (ndirs,) = b.unpack("<I", ndirs_at)
    dirs = [b.unpack("<II", dirs_at + 8 * i) for i in range(min(ndirs, 16))]
    sections = [b.unpack("<8sIIII", opt + opt_size + 40 * i) for i in range(nsec)]
    for sec in sections:
        b.span(sec[4], sec[3], f"section {sec[0].rstrip(bytes(1)).decode('ascii', 'replace')}")
    info: dict[str, Any] = {
        "format": "pe", "arch": _PE_MACHINES.get(machine, f"machine {machine:#x}"),
        "machine": machine, "kind": "dll" if chars & 0x2000 else "executable",
        "pe32_plus": magic == 0x20B, "entry_point_rva": entry}
    rva = _rva_mapper(sections)
    info.update(_pe_exports(b, rva, dirs[0] if dirs else (0, 0)))
    info.update(_pe_imports(b, rva, dirs, wide=magic == 0x20B))
    return info


def _rva_mapper(sections: list[tuple]) -> Callable[[int], int]:
    def to_offset(rva: int) -> int:
        for _, vsize, vaddr, rawsize, rawptr in sections:
            if vaddr <= rva < vaddr + max(vsize, rawsize) and rva - vaddr < rawsize:
                return rawptr + rva - vaddr
        raise FormatError(f"PE RVA {rva:#x} lies in no section's file data (truncated?)")
    return to_offset


def _pe_exports(b: _Bytes, rva: Callable[[int], int], directory: tuple) -> dict:
    if directory[0] == 0:
        return {"exports": [], "dll_name": None, "unnamed_exports": 0}
    d = b.unpack("<IIHHIIIIIII", rva(directory[0]))
    name_rva, n_funcs, n_names, names_rva = d[4], d[6], d[7], d[9]
    names = [b.cstring(rva(b.unpack("<I", rva(names_rva) + 4 * i)[0])) for i in range(n_names)]
    return {"exports": sorted(names), "dll_name": b.cstring(rva(name_rva)),
            "unnamed_exports": max(0, n_funcs - n_names)}


def _pe_imports(b: _Bytes, rva: Callable[[int], int], dirs: list[tuple], wide: bool) -> dict:
    libraries, imports = [], []
    if len(dirs) > 1 and dirs[1][0]:
        at = rva(dirs[1][0])
        for i in range(4096):
            lookup, _, _, name_rva, first = b.unpack("<IIIII", at + 20 * i)
            if name_rva == 0:
                break
            dll = b.cstring(rva(name_rva))
            libraries.append(dll)
            imports += [f"{dll}!{s}" for s in _pe_thunks(b, rva, lookup or first, wide)]
    if len(dirs) > 13 and dirs[13][0]:  # delay-load imports are imports too
        at = rva(dirs[13][0])
        for i in range(4096):
            name_rva = b.unpack("<IIIIIIII", at + 32 * i)[1]
            if name_rva == 0:
                break
            libraries.append(b.cstring(rva(name_rva)) + " (delay-load)")
    return {"imports": sorted(imports), "libraries": libraries}


def _pe_thunks(b: _Bytes, rva: Callable[[int], int], table: int, wide: bool) -> list[str]:
    fmt, size, flag = ("<Q", 8, 1 << 63) if wide else ("<I", 4, 1 << 31)
    out, at = [], rva(table)
    for i in range(65536):
        (thunk,) = b.unpack(fmt, at + size * i)
        if thunk == 0:
            break
        out.append(f"#{thunk & 0xFFFF}" if thunk & flag else b.cstring(rva(thunk & 0x7FFFFFFF) + 2))
    return out


# -- Mach-O -------------------------------------------------------------------------------

_MACHO_CPUS = {0x01000007: "x86_64", 0x0100000C: "aarch64"}
_DYLIB_LOADS = {0xC: "", 0x80000018: " (weak)", 0x8000001F: " (re-export)", 0x20: " (lazy)",
                0x80000023: " (upward)"}


def _version(v: int) -> str:
    major, minor, patch = v >> 16, (v >> 8) & 0xFF, v & 0xFF
    return f"{major}.{minor}" + (f".{patch}" if patch else "")


def _read_macho(b: _Bytes) -> dict:
    _, cpu, _, filetype, ncmds, _, _, _ = b.unpack("<IiiIIIII", 0)
    info: dict[str, Any] = {
        "format": "macho", "arch": _MACHO_CPUS.get(cpu & 0xFFFFFFFF, f"cputype {cpu:#x}"),
        "kind": {6: "dylib", 2: "executable", 8: "bundle"}.get(filetype, f"filetype {filetype}"),
        "libraries": [], "install_name": None, "min_os": None, "platform": None,
        "code_signature": False, "rpaths": []}
    tables: dict[str, tuple[int, int]] = {}
    symtab = None
    off = 32
    for _ in range(ncmds):
        cmd, size = b.unpack("<II", off)
        if size < 8:
            raise FormatError(f"Mach-O load command at {off} has size {size}")
        _macho_command(b, cmd, off, info, tables)
        if cmd == 0x2:
            symtab = b.unpack("<IIII", off + 8)
        off += size
    exports, imports = _macho_symbols(b, symtab)
    if "exports" in tables:
        exports = _export_trie(b, *tables["exports"])
    for key in ("bind", "weak_bind", "lazy_bind"):
        if key in tables:
            imports |= _bind_names(b, *tables[key])
    if "chained" in tables:
        imports |= _chained_import_names(b, tables["chained"][0])
    info.update(exports=sorted(exports), imports=sorted(imports))
    return info


def _macho_command(b: _Bytes, cmd: int, off: int, info: dict, tables: dict) -> None:
    if cmd == 0x19:  # LC_SEGMENT_64
        fileoff, filesize = b.unpack("<QQ", off + 40)
        b.span(fileoff, filesize, "segment " + b.cstring(off + 8, off + 24))
    elif cmd == 0xD:
        info["install_name"] = b.cstring(off + b.unpack("<I", off + 8)[0])
    elif cmd in _DYLIB_LOADS:
        info["libraries"].append(b.cstring(off + b.unpack("<I", off + 8)[0]) + _DYLIB_LOADS[cmd])
    elif cmd == 0x8000001C:
        info["rpaths"].append(b.cstring(off + b.unpack("<I", off + 8)[0]))
    elif cmd == 0x32:  # LC_BUILD_VERSION
        plat, minos, _ = b.unpack("<III", off + 8)
        info["platform"] = {1: "macos", 2: "ios", 6: "maccatalyst"}.get(plat, f"platform {plat}")
        info["min_os"] = _version(minos)
    elif cmd == 0x24:  # LC_VERSION_MIN_MACOSX
        info["platform"] = "macos"
        info["min_os"] = _version(b.unpack("<I", off + 8)[0])
    elif cmd == 0x1D:  # LC_CODE_SIGNATURE: must point at an embedded signature superblob
        dataoff, datasize = b.unpack("<II", off + 8)
        (blob,) = b.unpack(">I", dataoff)
        b.unpack(f"{datasize}s", dataoff)
        info["code_signature"] = blob == 0xFADE0CC0
    elif cmd in (0x22, 0x80000022):  # LC_DYLD_INFO(_ONLY)
        f = b.unpack("<10I", off + 8)
        tables.update(bind=(f[2], f[3]), weak_bind=(f[4], f[5]), lazy_bind=(f[6], f[7]))
        if f[9]:
            tables["exports"] = (f[8], f[9])
    elif cmd == 0x80000033:
        tables["exports"] = b.unpack("<II", off + 8)
    elif cmd == 0x80000034:
        tables["chained"] = b.unpack("<II", off + 8)


def _macho_symbols(b: _Bytes, symtab: tuple | None) -> tuple[set[str], set[str]]:
    exports, imports = set(), set()
    if symtab is None:
        return exports, imports
    symoff, nsyms, stroff, strsize = symtab
    for i in range(nsyms):
        n_strx, n_type, _, _, _ = b.unpack("<IBBHQ", symoff + 16 * i)
        if n_type & 0xE0 or not n_type & 1 or not n_strx:  # debug entry / not external
            continue
        name = b.cstring(stroff + n_strx, stroff + strsize)
        if n_type & 0x0E == 0:
            imports.add(name)
        elif n_type & 0x0E == 0x0E and not n_type & 0x10:  # defined, not private extern
            exports.add(name)
    return exports, imports


def _export_trie(b: _Bytes, start: int, size: int) -> set[str]:
    names, stack, seen = set(), [(0, "")], set()
    while stack:
        node, prefix = stack.pop()
        if node in seen or node >= size:
            raise FormatError("Mach-O export trie is malformed (cycle or out of range)")
        seen.add(node)
        terminal, p = b.uleb(start + node)
        if terminal:
            names.add(prefix)
        p += terminal
        (children,) = b.unpack("B", p)
        p += 1
        for _ in range(children):
            edge = b.cstring(p, start + size)
            p += len(edge.encode("utf-8")) + 1
            child, p = b.uleb(p)
            stack.append((child, prefix + edge))
    return names


def _bind_names(b: _Bytes, start: int, size: int) -> set[str]:
    """Symbol names in dyld bind opcodes (they survive stripping of the symbol table)."""
    names, p, end = set(), start, start + size
    uleb_args = {0x20: 1, 0x60: 1, 0x70: 1, 0x80: 1, 0xA0: 1, 0xC0: 2}
    while p < end:
        (byte,) = b.unpack("B", p)
        p += 1
        op = byte & 0xF0
        if op == 0x40:
            name = b.cstring(p, end)
            names.add(name)
            p += len(name.encode("utf-8")) + 1
        elif op in uleb_args:
            for _ in range(uleb_args[op]):
                _, p = b.uleb(p)
        elif op == 0xD0 and byte & 0x0F == 0:
            _, p = b.uleb(p)
    return names


def _chained_import_names(b: _Bytes, start: int) -> set[str]:
    _, _, imports_off, symbols_off, count, fmt, _ = b.unpack("<7I", start)
    width, name_of = {1: (4, lambda v: v >> 9), 2: (8, lambda v: v >> 9),
                      3: (16, lambda v: v >> 32)}.get(fmt, (0, None))
    if name_of is None:
        raise FormatError(f"unknown chained-fixups import format {fmt}")
    names = set()
    for i in range(count):
        (value,) = b.unpack("<Q" if fmt == 3 else "<I", start + imports_off + width * i)
        names.add(b.cstring(start + symbols_off + name_of(value)))
    return names


# -- wasm ---------------------------------------------------------------------------------

_WASM_KINDS = {0: "function", 1: "table", 2: "memory", 3: "global", 4: "tag"}


def _read_wasm(b: _Bytes) -> dict:
    if b.unpack("<I", 4)[0] != 1:
        raise FormatError("unknown wasm binary version")
    exports, imports, p = [], [], 8
    while p < len(b.data):
        (section,) = b.unpack("B", p)
        size, body = b.uleb(p + 1)
        b.span(body, size, f"section {section}")
        p = body + size
        if section == 2:
            imports = [f"{m}.{f}" for m, f, _ in _wasm_entries(b, body, imports=True)]
        elif section == 7:
            exports = _wasm_entries(b, body, imports=False)
    functions = sorted(n for n, k, _ in exports if k == "function")
    return {"format": "wasm", "arch": "wasm32", "kind": "module", "exports": functions,
            "other_exports": sorted(f"{n} ({k})" for n, k, _ in exports if k != "function"),
            "imports": sorted(imports), "libraries": []}


def _wasm_entries(b: _Bytes, p: int, imports: bool) -> list[tuple[str, str, str]]:
    count, p = b.uleb(p)
    out = []
    for _ in range(count):
        first, p = _wasm_name(b, p)
        second, p = _wasm_name(b, p) if imports else ("", p)
        (kind,) = b.unpack("B", p)
        p += 1
        if imports:
            p = _skip_import_desc(b, kind, p)
            out.append((first, second, _WASM_KINDS.get(kind, str(kind))))
        else:
            _, p = b.uleb(p)
            out.append((first, _WASM_KINDS.get(kind, str(kind)), ""))
    return out


def _wasm_name(b: _Bytes, p: int) -> tuple[str, int]:
    n, p = b.uleb(p)
    return b.unpack(f"{n}s", p)[0].decode("utf-8", "replace"), p + n


def _skip_import_desc(b: _Bytes, kind: int, p: int) -> int:
    if kind in (0, 4):  # function type index / tag
        return b.uleb(p + (1 if kind == 4 else 0))[1]
    if kind == 1:
        p += 1  # reference type, then limits
    if kind in (1, 2):
        (flags,) = b.unpack("B", p)
        _, p = b.uleb(p + 1)
        return b.uleb(p)[1] if flags & 1 else p
    return p + 2  # global: value type + mutability


# -- public -------------------------------------------------------------------------------

_READERS: dict[bytes, tuple[str, Callable[[_Bytes], dict]]] = {
    b"\x7fELF": ("elf", _read_elf), b"MZ": ("pe", _read_pe),
    b"\xcf\xfa\xed\xfe": ("macho", _read_macho), b"\0asm": ("wasm", _read_wasm),
}
_SHOWN = {"elf": "ELF", "pe": "PE", "macho": "Mach-O", "wasm": "wasm"}
_FOREIGN = {b"\xca\xfe\xba\xbe": "a universal (fat) Mach-O; staticml builds one arch per file",
            b"\xce\xfa\xed\xfe": "a 32-bit Mach-O", b"\xfe\xed\xfa\xcf": "a big-endian Mach-O"}


def inspect_binary(path: Path, target: str | Target, name: str) -> dict:
    """Describe the library at ``path``: format, arch, kind, exports, imports, libraries.

    Mach-O adds ``min_os``, ``platform``, ``install_name``, ``code_signature``, ``rpaths``;
    PE adds ``machine``, ``dll_name``, ``entry_point_rva``, ``unnamed_exports``. Problems
    reading the file land in ``errors`` (the function itself does not raise on bad input).
    """
    t = get_target(target)
    info: dict[str, Any] = {"path": str(path), "target": t.name, "name": name, "format": None,
                            "errors": []}
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        info["errors"].append(f"cannot read {path}: {exc.strerror or exc}")
        return info
    info["size"] = len(data)
    fmt, reader = next(((f, r) for magic, (f, r) in _READERS.items() if data.startswith(magic)),
                       (None, None))
    if reader is None:
        foreign = next((why for magic, why in _FOREIGN.items() if data.startswith(magic)), None)
        what = foreign or "not an ELF, PE, Mach-O or wasm file"
        info["errors"].append(f"{Path(path).name} is {what}" + (" (empty)" if not data else ""))
        return info
    info["format"] = fmt
    try:
        info.update(reader(_Bytes(data, f"{_SHOWN[fmt]} file {Path(path).name}")))
    except (FormatError, struct.error, IndexError, ValueError) as exc:
        info["errors"].append(str(exc))
    return info


def api_from_header(header: str, name: str) -> set[str]:
    """The functions ``NAME.h`` declares with ``NAME_API``: what the library must export."""
    decl = re.compile(rf"^{name.upper()}_API\b[^;(]*?\b({name}_\w+)\s*\(", re.M)
    return set(decl.findall(header))


def _symbol(t: Target, c_name: str) -> str:
    return f"_{c_name}" if t.binary_format == "macho" else c_name


def check_binary(path: Path, target: str | Target, name: str,
                 api: Iterable[str] | None = None) -> list[str]:
    """Problems with the library at ``path`` as ``target``'s build of artifact ``name``.

    ``api`` (C names, e.g. from ``api_from_header``) makes the export check exact; without
    it the ABI-1 functions must be exported and nothing outside the ``NAME_*`` prefix may be.
    """
    t = get_target(target)
    info = inspect_binary(path, t, name)
    problems = list(info["errors"])
    if info["format"] is None:
        return problems
    if info["format"] != t.binary_format:
        return [*problems, f"{t.name} needs a {_SHOWN[t.binary_format]} file, this is "
                f"{_SHOWN[info['format']]}"]
    if problems:
        return problems
    return [*_common_problems(info, t, name, api),
            *_FORMAT_CHECKS[t.binary_format](info, t, name)]


def _listed(names: set[str] | list[str], most: int = 12) -> str:
    names = sorted(names)
    more = f" and {len(names) - most} more" if len(names) > most else ""
    return ", ".join(names[:most]) + more


def _common_problems(info: dict, t: Target, name: str, api: Iterable[str] | None) -> list[str]:
    problems = []
    if info["arch"] != t.arch:
        problems.append(f"architecture is {info['arch']}, {t.name} needs {t.arch}")
    c_names = set(api) if api is not None else {f"{name}_{fn}" for fn in API_FUNCTIONS}
    want = {_symbol(t, c) for c in c_names}
    forced = MACHO_FORCED_EXPORTS if t.binary_format == "macho" else frozenset()
    got = set(info["exports"])
    extra = got - want - forced
    if api is None:
        extra = {s for s in extra if not s.startswith(_symbol(t, f"{name}_"))}
    if want - got:
        problems.append(f"missing API exports: {_listed(want - got)}")
    if extra:
        problems.append(f"exports symbols beyond the {name}_* API: {_listed(extra)}")
    allowed = MACHO_FORCED_IMPORTS if t.binary_format == "macho" else frozenset()
    if set(info["imports"]) - allowed:
        problems.append("imports symbols (the library must need no libc/libm): "
                        f"{_listed(set(info['imports']) - allowed)}")
    libs = MACHO_FORCED_LIBRARIES if t.binary_format == "macho" else frozenset()
    if set(info["libraries"]) - libs:
        problems.append(f"depends on libraries: {_listed(set(info['libraries']) - libs)}")
    return problems


def _elf_problems(info: dict, t: Target, name: str) -> list[str]:
    if info["kind"] != "shared library" or info["has_interpreter"]:
        interp = " with a program interpreter" if info["has_interpreter"] else ""
        return [f"is an ELF {info['kind']}{interp}, not a shared library"]
    return []


def _pe_problems(info: dict, t: Target, name: str) -> list[str]:
    problems = []
    if info["kind"] != "dll" or not info["pe32_plus"]:
        problems.append("is not a 64-bit DLL (PE32+ with the DLL flag)")
    if info["dll_name"] not in (None, t.library.format(name=name)):
        problems.append(f"export table names the DLL {info['dll_name']!r}, expected "
                        f"{t.library.format(name=name)!r}")
    if info["unnamed_exports"]:
        problems.append(f"{info['unnamed_exports']} export(s) by ordinal only")
    return problems


def _macho_problems(info: dict, t: Target, name: str) -> list[str]:
    problems = []
    if info["kind"] != "dylib":
        problems.append(f"is a Mach-O {info['kind']}, not a dylib")
    if info["platform"] != "macos" or info["min_os"] != t.min_os:
        problems.append(f"minimum OS is {info['platform']} {info['min_os']}, expected macos "
                        f"{t.min_os} (LC_BUILD_VERSION / LC_VERSION_MIN_MACOSX)")
    want = f"@rpath/lib{name}.dylib"
    if info["install_name"] != want:
        problems.append(f"install name (LC_ID_DYLIB) is {info['install_name']!r}, "
                        f"expected {want!r}")
    if t.arch == "aarch64" and not info["code_signature"]:
        problems.append("no code signature: macOS on Apple silicon refuses unsigned code")
    return problems


def _wasm_problems(info: dict, t: Target, name: str) -> list[str]:
    return []  # exports and imports are checked in _common_problems


_FORMAT_CHECKS: dict[str, Callable[[dict, Target, str], list[str]]] = {
    "elf": _elf_problems, "pe": _pe_problems, "macho": _macho_problems, "wasm": _wasm_problems,
}
