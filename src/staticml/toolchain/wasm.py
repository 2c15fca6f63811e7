"""Build the ``wasm32`` target: ``NAME.c`` -> a freestanding ``NAME.wasm`` that imports nothing.

Why freestanding and not WASI: the generated C needs no libc (own exp/log, no allocation,
no I/O), so the module has *no imports* and instantiates with ``{}`` in any browser, node,
Deno or wasmtime; it builds cold in ~0.1 s (a WASI build first compiles wasi-libc, ~21 s).

Why these flags:

- ``-ffp-contract=off``/``-fno-fast-math``: the same arithmetic as every other target (wasm
  has no fused multiply-add, but the flags keep the recipe identical and explicit);
- ``-fno-builtin -nostdlib``: clang may not turn loops into ``memset``/``memcpy`` calls, and
  an undefined symbol is a link error (wasm-ld), never a silent import;
- ``-mcpu=generic``: LLVM's default feature set, pinned so the flag list says what was
  used. It includes saturating float->int conversion, so no conversion can trap;
- ``--no-entry`` + one ``--export`` per ``NAME_*`` function, ``memory`` and ``__heap_base``:
  the JS/Python hosts place their row buffers at ``__heap_base`` and grow memory from there;
- ``-z stack-size``: ``NAME_predict_matrix`` keeps a block of register files on the stack
  (``BLOCK * N_SLOTS`` doubles, plus forest scratch of the same order), so the stack is
  sized from the generated source (``stack_size_for``). zig links the stack *first* in
  linear memory, so an overflow traps (address below 0) instead of overwriting tables;
- ``-s``: strip names and debug info (1-10 KB modules instead of ~800 KB).
"""

from __future__ import annotations

import re
from pathlib import Path

from ..backends.c.render import API_FUNCTIONS
from ..errors import ToolchainError
from .compilers import _zig, run_zig

WASM_TARGET = "wasm32-freestanding"
EXPORTED_FUNCTIONS = API_FUNCTIONS
BASE_FLAGS = ("-std=c99", "-O2", "-mcpu=generic", "-ffp-contract=off", "-fno-fast-math",
              "-fno-builtin", "-fno-stack-protector", "-nostdlib", "-g0", "-s", "-Wall",
              "-Wno-unused-function", "-Wl,--no-entry")
PAGE = 65536
MIN_STACK = 1 << 20  # 16 pages: ample for every model whose register file is < ~24k slots


def stack_size_for(c_source: str) -> int:
    """Stack bytes that ``NAME_predict_matrix`` of this generated source can need.

    The deepest frame holds the block of register files ``V[BLOCK * N_SLOTS]``, a forest's
    feature scratch (at most the same size) and per-op scratch (at most ``N_SLOTS``); the
    renderer bounds ``BLOCK * N_SLOTS`` by ``max(4096, N_SLOTS)``. Four times that in
    doubles, plus 256 KiB for frames, rounded up to whole pages, with a 1 MiB floor.
    """
    slots = re.search(r"^#define N_SLOTS (\d+)$", c_source, re.M)
    block = re.search(r"^#define BLOCK (\d+)$", c_source, re.M)
    if not slots or not block:
        raise ToolchainError("the generated C lacks '#define N_SLOTS'/'#define BLOCK': the C "
                             "backend changed; update staticml.toolchain.wasm.stack_size_for")
    n_slots, rows = int(slots.group(1)), int(block.group(1))
    need = 8 * 4 * max(rows * n_slots, n_slots) + (256 << 10)
    return max(MIN_STACK, -(-need // PAGE) * PAGE)


def wasm_flags(name: str, stack_size: int) -> list[str]:
    """The full flag list (target, parity flags, exports, stack) for artifact ``name``."""
    exports = [f"-Wl,--export={name}_{fn}" for fn in EXPORTED_FUNCTIONS]
    return ["-target", WASM_TARGET, *BASE_FLAGS, *exports, "-Wl,--export=__heap_base",
            f"-Wl,-z,stack-size={stack_size}"]


def build_wasm(source: Path, include_dir: Path, out: Path, name: str) -> dict:
    """Compile ``source`` (a generated ``NAME.c``) into ``out`` (``NAME.wasm``).

    Returns what the manifest records for the target: toolchain, target triple, flags,
    stack size and build seconds. Raises ``ToolchainError`` if ziglang is missing or the
    compile/link fails (e.g. a libc call slipped into the runtime: an undefined symbol).
    """
    source, include_dir, out = Path(source), Path(include_dir), Path(out)
    zig = _zig()
    stack = stack_size_for(source.read_text(encoding="utf-8"))
    flags = wasm_flags(name, stack)
    out.parent.mkdir(parents=True, exist_ok=True)
    argv = [*zig.argv, *flags, f"-I{include_dir}", str(source), "-o", str(out)]
    seconds = run_zig(zig, argv, f"build {out.name} from {source.name} for {WASM_TARGET}")
    return {"toolchain": zig.description, "target": WASM_TARGET, "flags": flags,
            "stack_size": stack, "seconds": round(seconds, 3)}
