"""The target registry: one frozen record per platform a bundle can carry a library for.

Why a registry: everything that differs between platforms (zig triple, file names, the few
extra linker flags, what a structure check must find) is data, so the build, the binary
checks and the runners read one table instead of branching on platform names. A new target
is one line here, plus a builder module if zig's shared-library build does not fit (wasm).

Every triple names its CPU explicitly (``cpu="baseline"``): ``zig cc`` without one compiles
for *this* machine (FMA, AVX-512), which changed results in the cross-target probe. macOS
triples carry the minimum OS version (zig's default is 15.0), because the triple is where
zig takes it from.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath

from ..errors import BuildError


@dataclass(frozen=True)
class Target:
    """How to build, name and check the library of one platform."""

    name: str                 # bundle and CLI name ("linux-aarch64")
    triple: str               # zig ``-target`` (with the minimum OS version where it matters)
    cpu: str                  # zig ``-mcpu``: always explicit, never the host CPU
    binary_format: str        # "elf" | "pe" | "macho" | "wasm"
    arch: str                 # "x86_64" | "aarch64" | "wasm32"
    library: str              # file name, ``{name}`` = artifact name
    directory: str            # bundle directory the library goes into
    import_library: str | None = None   # Windows: the .lib a linker needs for the DLL
    flags: tuple[str, ...] = ()         # extra compile/link flags, ``{name}`` substituted
    min_os: str | None = None           # minimum OS version the binary must declare
    support_source: str | None = None   # extra C compiled into the library (DLL entry)
    builder: str | None = None          # "module:function" when not a zig shared library

    def library_path(self, name: str) -> str:
        """Bundle-relative path of the library (``lib/linux-aarch64/libNAME.so``)."""
        return str(PurePosixPath(self.directory) / self.library.format(name=name))

    def import_library_path(self, name: str) -> str | None:
        if self.import_library is None:
            return None
        return str(PurePosixPath(self.directory) / self.import_library.format(name=name))

    def render_flags(self, name: str) -> list[str]:
        return [flag.format(name=name) for flag in self.flags]


# A libc-free DLL has no CRT to supply its entry point or the stack-probe helper that
# clang calls for frames over 4 KiB (``___chkstk_ms``; big models have big slot arrays).
# Both are tiny: the entry point has nothing to initialise, and the probe is MinGW's
# page-by-page touch so a large frame never skips the stack's guard page.
WINDOWS_DLL_SUPPORT = r"""/* staticml: entry point + stack probe of a libc-free x86_64 DLL. */
int __stdcall staticml_dll_entry(void *module, unsigned long reason, void *reserved) {
    (void)module; (void)reason; (void)reserved;
    return 1;
}
__asm__(
    ".text\n"
    ".globl ___chkstk_ms\n"
    "___chkstk_ms:\n"
    "    pushq %rcx\n"
    "    pushq %rax\n"
    "    cmpq $0x1000, %rax\n"
    "    leaq 24(%rsp), %rcx\n"
    "    jb 2f\n"
    "1:  subq $0x1000, %rcx\n"
    "    orq $0, (%rcx)\n"
    "    subq $0x1000, %rax\n"
    "    cmpq $0x1000, %rax\n"
    "    ja 1b\n"
    "2:  subq %rax, %rcx\n"
    "    orq $0, (%rcx)\n"
    "    popq %rax\n"
    "    popq %rcx\n"
    "    ret\n");
"""

_ELF = ("-Wl,-z,defs",)  # an undefined symbol is a link error, not a load-time surprise
_MACHO = ("-Wl,-install_name,@rpath/lib{name}.dylib",)

TARGETS: dict[str, Target] = {t.name: t for t in (
    Target("linux-x86_64", "x86_64-linux-gnu", "baseline", "elf", "x86_64",
           "lib{name}.so", "lib/linux-x86_64", flags=_ELF),
    Target("linux-aarch64", "aarch64-linux-gnu", "baseline", "elf", "aarch64",
           "lib{name}.so", "lib/linux-aarch64", flags=_ELF),
    Target("windows-x86_64", "x86_64-windows-gnu", "baseline", "pe", "x86_64",
           "{name}.dll", "lib/windows-x86_64", import_library="{name}.lib",
           flags=("-Wl,--entry=staticml_dll_entry",), support_source=WINDOWS_DLL_SUPPORT),
    Target("macos-arm64", "aarch64-macos.11.0", "baseline", "macho", "aarch64",
           "lib{name}.dylib", "lib/macos-arm64", flags=_MACHO, min_os="11.0"),
    Target("macos-x86_64", "x86_64-macos.10.13", "baseline", "macho", "x86_64",
           "lib{name}.dylib", "lib/macos-x86_64", flags=_MACHO, min_os="10.13"),
    Target("wasm32", "wasm32-freestanding", "baseline", "wasm", "wasm32",
           "{name}.wasm", "wasm", builder="staticml.toolchain.wasm:build_wasm"),
)}


def get_target(target: str | Target) -> Target:
    """The registry record for ``target``; a ``BuildError`` names the valid ones."""
    if isinstance(target, Target):
        return target
    try:
        return TARGETS[target]
    except KeyError:
        raise BuildError(f"unknown target {target!r}; known targets: "
                         f"{', '.join(TARGETS)}") from None
