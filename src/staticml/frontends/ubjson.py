"""A small, defensive UBJSON (Universal Binary JSON, draft 12) decoder.

XGBoost saves models as UBJSON (``.ubj``). A model file is untrusted input, so this decoder
is written to fail cleanly on anything malformed or hostile:

* it is iterative (an explicit stack), with a nesting limit, so deep nesting cannot exhaust
  the Python stack;
* every declared length or count is checked against the bytes that remain *before* anything
  is allocated, so a huge declared size costs nothing;
* containers of zero-width types (``[$Z#...``) are refused, since they could declare billions
  of elements in a few bytes;
* every failure is a ``ModelFileError`` (an ``UnsupportedModelError``) that names the problem
  and the byte offset.

The result mirrors ``json.loads``: dicts, lists, str, int, float, bool, None. Strongly typed
numeric arrays (``[$d#...``, XGBoost's node arrays) decode to numpy arrays in native byte
order, which is both faster and exact (float32 stays float32).
"""

from __future__ import annotations

import re
import struct
from typing import Any

import numpy as np

from ..errors import ModelFileError

MAX_DEPTH = 64

# marker -> (struct format, size) for fixed-size numbers, big-endian
_NUMBERS = {
    b"i"[0]: (">b", 1), b"U"[0]: (">B", 1), b"I"[0]: (">h", 2), b"l"[0]: (">i", 4),
    b"L"[0]: (">q", 8), b"d"[0]: (">f", 4), b"D"[0]: (">d", 8),
}
_NUMPY = {b"i"[0]: ">i1", b"U"[0]: ">u1", b"I"[0]: ">i2", b"l"[0]: ">i4", b"L"[0]: ">i8",
          b"d"[0]: ">f4", b"D"[0]: ">f8"}
_INT_MARKERS = frozenset(b"iUIlL")
_NOOP = b"N"[0]
_HIGH_PRECISION = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?\Z")
_INTEGER = re.compile(r"[+-]?[0-9]+\Z")


class _Container:
    __slots__ = ("is_object", "items", "count", "typed", "key")

    def __init__(self, is_object: bool, count: int | None, typed: int | None) -> None:
        self.is_object = is_object
        self.items: Any = {} if is_object else []
        self.count = count  # remaining elements, or None for ']' / '}' terminated
        self.typed = typed  # element marker for strongly typed containers
        self.key: str | None = None


class _Reader:
    def __init__(self, data: bytes, name: str) -> None:
        self.data = memoryview(data)
        self.n = len(data)
        self.pos = 0
        self.name = name

    def fail(self, what: str, at: int | None = None) -> ModelFileError:
        where = self.pos if at is None else at
        return ModelFileError(f"{self.name}: malformed UBJSON at byte {where}: {what}")

    def remaining(self) -> int:
        return self.n - self.pos

    def byte(self) -> int:
        if self.pos >= self.n:
            raise self.fail("unexpected end of file (the file is truncated)")
        b = self.data[self.pos]
        self.pos += 1
        return b

    def peek(self) -> int:
        if self.pos >= self.n:
            raise self.fail("unexpected end of file (the file is truncated)")
        return self.data[self.pos]

    def take(self, size: int) -> memoryview:
        if size < 0 or size > self.remaining():
            raise self.fail(f"declared length {size} exceeds the {self.remaining()} bytes left "
                            "(truncated or corrupt file)")
        out = self.data[self.pos:self.pos + size]
        self.pos += size
        return out

    def number(self, marker: int) -> int | float:
        fmt, size = _NUMBERS[marker]
        return struct.unpack(fmt, self.take(size))[0]

    def length(self, what: str) -> int:
        """An integer length/count: an integer marker, then a non-negative value."""
        at = self.pos
        marker = self.byte()
        if marker not in _INT_MARKERS:
            raise self.fail(f"{what} must be an integer, found marker {_show(marker)}", at)
        value = int(self.number(marker))
        if value < 0:
            raise self.fail(f"negative {what} {value}", at)
        return value

    def text(self, size: int) -> str:
        at = self.pos
        raw = self.take(size)
        try:
            return bytes(raw).decode("utf-8")
        except UnicodeDecodeError:
            raise self.fail("string is not valid UTF-8", at) from None


def _show(marker: int) -> str:
    ch = chr(marker)
    return repr(ch) if ch.isprintable() and marker < 128 else f"0x{marker:02x}"


def decode(data: bytes, name: str = "model file", max_depth: int = MAX_DEPTH) -> Any:
    """Decode one UBJSON value occupying all of ``data``."""
    r = _Reader(bytes(data), name)
    stack: list[_Container] = []
    result: Any = None
    have_result = False

    while True:
        top = stack[-1] if stack else None
        if top is not None:
            # Does the current container end here?
            if top.count is not None:
                if top.count == 0:
                    stack.pop()
                    value = top.items
                    if not _deliver(stack, value):
                        result, have_result = value, True
                        break
                    continue
            else:
                while r.peek() == _NOOP:
                    r.pos += 1
                end = b"}"[0] if top.is_object else b"]"[0]
                if r.peek() == end:
                    r.pos += 1
                    stack.pop()
                    value = top.items
                    if not _deliver(stack, value):
                        result, have_result = value, True
                        break
                    continue
            if top.is_object and top.key is None:
                size = r.length("object key length")
                top.key = r.text(size)
                continue
            if top.count is not None:
                top.count -= 1
            marker = top.typed if top.typed is not None else r.byte()
        else:
            if have_result:
                break
            marker = r.byte()
            while marker == _NOOP:
                marker = r.byte()

        at = r.pos - 1
        if top is not None and top.typed is None and marker == _NOOP:
            # A no-op inside a counted container is not an element.
            if top.count is not None:
                top.count += 1
            continue
        if marker == b"["[0] or marker == b"{"[0]:
            if len(stack) >= max_depth:
                raise r.fail(f"containers nested deeper than {max_depth} levels", at)
            is_object = marker == b"{"[0]
            typed = None
            count = None
            if r.peek() == b"$"[0]:
                r.pos += 1
                typed_at = r.pos
                typed = r.byte()
                if typed not in _NUMBERS and typed not in (b"S"[0], b"C"[0], b"H"[0]):
                    raise r.fail(f"unsupported strongly typed container of {_show(typed)}",
                                 typed_at)
                if r.peek() != b"#"[0]:
                    raise r.fail("a typed container ('$') must declare its count ('#')")
            if r.peek() == b"#"[0]:
                r.pos += 1
                count = r.length("container count")
                min_size = _NUMBERS[typed][1] if typed in _NUMBERS else 1
                if is_object:
                    min_size += 1  # each key needs at least its length marker
                if count * min_size > r.remaining():
                    raise r.fail(f"container declares {count} elements but only "
                                 f"{r.remaining()} bytes remain (truncated or corrupt file)", at)
                if typed in _NUMPY and not is_object:
                    dtype = np.dtype(_NUMPY[typed])
                    raw = r.take(count * dtype.itemsize)
                    value = np.frombuffer(raw, dtype=dtype).astype(dtype.newbyteorder("="))
                    if not _deliver(stack, value):
                        result, have_result = value, True
                    continue
            stack.append(_Container(is_object, count, typed))
            continue
        value = _scalar(r, marker, at)
        if not _deliver(stack, value):
            result, have_result = value, True

    if r.pos != r.n:
        raise r.fail(f"{r.n - r.pos} unexpected bytes after the end of the document")
    return result


def _scalar(r: _Reader, marker: int, at: int) -> Any:
    if marker in _NUMBERS:
        return r.number(marker)
    if marker == b"S"[0]:
        return r.text(r.length("string length"))
    if marker == b"C"[0]:
        return chr(r.byte())
    if marker == b"H"[0]:
        text = r.text(r.length("number length"))
        if len(text) > 64 or not _HIGH_PRECISION.match(text):
            raise r.fail(f"invalid high-precision number {text[:64]!r}", at)
        return int(text) if _INTEGER.match(text) else float(text)
    if marker == b"T"[0]:
        return True
    if marker == b"F"[0]:
        return False
    if marker == b"Z"[0]:
        return None
    if marker in (b"]"[0], b"}"[0]):
        raise r.fail(f"unexpected container end {_show(marker)}", at)
    raise r.fail(f"unknown type marker {_show(marker)}", at)


def _deliver(stack: list[_Container], value: Any) -> bool:
    """Put ``value`` into the innermost open container; False if there is none."""
    if not stack:
        return False
    top = stack[-1]
    if top.is_object:
        top.items[top.key] = value
        top.key = None
    else:
        top.items.append(value)
    return True
