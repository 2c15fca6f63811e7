"""Exact literals and identifiers for generated source code.

Floats are printed as C99/Java hexadecimal literals (``0x1.999999999999ap-4``): exact by
definition, so parity never depends on how a compiler rounds a decimal string.
"""

from __future__ import annotations

import math
import re
from typing import Iterable

_C_KEYWORDS = frozenset(
    "auto break case char const continue default do double else enum extern float for goto "
    "if inline int long register restrict return short signed sizeof static struct switch "
    "typedef union unsigned void volatile while _Bool _Complex _Imaginary".split()
)


def c_double(x: float) -> str:
    x = float(x)
    if math.isnan(x):
        return "SM_NAN"
    if math.isinf(x):
        return "SM_INF" if x > 0 else "(-SM_INF)"
    return x.hex()


def c_float(x: float) -> str:
    """A C float literal for a value that is exactly a float32 (hex, suffix f)."""
    x = float(x)
    if math.isinf(x):
        return "((float)SM_INF)" if x > 0 else "((float)-SM_INF)"
    if math.isnan(x):
        return "((float)SM_NAN)"
    return x.hex() + "f"


def c_string(s: str) -> str:
    """A C string literal holding the UTF-8 bytes of ``s`` (octal escapes, no trigraphs)."""
    out = []
    for byte in s.encode("utf-8"):
        ch = chr(byte)
        if ch in '"\\?':
            out.append("\\" + ch)
        elif 0x20 <= byte < 0x7F:
            out.append(ch)
        else:
            out.append(f"\\{byte:03o}")
    return '"' + "".join(out) + '"'


def c_identifier(name: str, taken: set[str]) -> str:
    """A valid, unique C identifier for a column name (recorded in ``taken``)."""
    ident = re.sub(r"[^0-9A-Za-z_]", "_", name) or "col"
    if ident[0].isdigit():
        ident = "c_" + ident
    if ident in _C_KEYWORDS:
        ident += "_"
    base, k = ident, 2
    while ident in taken:
        ident = f"{base}_{k}"
        k += 1
    taken.add(ident)
    return ident


def c_array(ctype: str, name: str, values: Iterable, fmt=str, per_line: int = 6) -> str:
    vals = [fmt(v) for v in values]
    if not vals:  # C forbids empty arrays; a 1-element dummy keeps sizes honest elsewhere
        vals = ["0"]
    lines = [", ".join(vals[i:i + per_line]) for i in range(0, len(vals), per_line)]
    body = ",\n    ".join(lines)
    return f"static const {ctype} {name}[{len(vals)}] = {{\n    {body}\n}};"
