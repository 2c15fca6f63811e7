"""Training-data fingerprint: is this table the one an artifact was built from?

``fingerprint(source)`` streams a CSV or Parquet file (or takes a DataFrame) and returns a
small JSON-able record; ``compare(recorded, source)`` fingerprints another table and says
what differs.  Memory stays bounded by one batch (a few MB of CSV, one Parquet batch) plus
a constant per column, so files larger than memory are fine.

Canonical encoding (why two files "hold the same data")
--------------------------------------------------------
Each value is reduced to a *kind* and a canonical form that does not depend on how a
format happens to store it:

* ``number``: integers, floats, decimals and booleans (True = 1) as IEEE-754 float64.
  CSV reads ``3`` as int64 where Parquet may hold ``3.0``; both are the float64 3.0.
  ``-0.0`` is stored as ``+0.0`` (they compare equal and an integer column cannot carry
  the sign).  Integers beyond 2^53 are rounded, as the artifact reads them.
  ``+-inf`` are values.
* ``string``: the UTF-8 bytes.
* ``datetime``: dates, timestamps (UTC instant), times and durations as int64
  nanoseconds, so CSV's inferred ``timestamp[s]`` equals Parquet's ``timestamp[us]``.
* **missing**: one marker for every spelling: null/None, NaN, NaT, the empty string and
  the spellings a CSV reader turns into null (``NA``, ``NaN``, ``NULL``, ``#N/A``, ... the
  list in ``NULL_SPELLINGS``, the same list pyarrow and pandas use).  A string column of
  a Parquet file holding ``"NA"`` is therefore missing too: otherwise the CSV and the
  Parquet copy of one DataFrame would disagree.
* A column with no value at all (every row missing) has kind ``empty``, whatever type its
  file declared (CSV cannot tell an all-empty number column from a string column).

Columns are identified by name; column order does not change any hash (``compare`` reports
it separately).  CSV types are those pyarrow infers from the first block, widened (every
integer/float column is read as float64); a later block that does not fit (a word in a
number column) restarts the scan with that column read as strings, at most once per
column.

The hashes
----------
* ``column_hashes[c]["ordered"]``: SHA-256 over the column's canonical byte streams in row
  order (numbers: float64 little-endian bits, canonical NaN for missing; strings: the int64
  lengths with -1 for missing, and separately the concatenated bytes; datetimes: int64 ns,
  INT64_MIN for missing).  Independent of the column name and of batch boundaries.
* ``content_sha256``: SHA-256 over rows, schema and those per-column digests: a
  cryptographic hash of the whole table in row order.
* ``column_hashes[c]["unordered"]`` and ``unordered_sha256``: multiset hashes, equal for any
  permutation of the rows.  Every value gets two 64-bit hashes h1, h2 (two different
  bijective mixers, seeded by the column name); a row's hash in lane k is
  ``mix_k(sum over columns of h_k)``, and the table's is the sum of its rows' hashes mod
  2^64 in each lane (a 128-bit sum; per column, the sum of its values' hashes).
  Collision reasoning, modelling the mixers as random functions: two different rows
  collide with probability ~2^-128; two different multisets have equal sums only if the
  difference of their multiplicity vectors, weighted by random 128-bit values, is 0 mod
  2^64 in both lanes, probability <= 2^(v-128) where 2^v divides every multiplicity
  difference (v = 0 for any single added, removed or changed row).  This detects
  accidental change; it is not a MAC (a crafted table can match), unlike the SHA-256s.
* ``row_sketch``: counts of row hashes in 512 buckets.  Comparing two sketches gives lower
  bounds on the rows present in one table and absent from the other (exact while the
  differences are few: an absent and a new row cancel only if they share a bucket).
  Each column has a 64-bucket sketch of its value hashes the same way, which tells a
  column whose values changed from one that only lost (or gained) the values of removed
  (added) rows.

Vectorised with numpy per batch; no Python loop runs per row or per value.  Strings are
hashed once per distinct value per batch after Arrow's dictionary encoding, or value by
value (padded to 8-byte words by Arrow) for a column whose first batch was mostly
distinct values (ids, free text).
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ..errors import InputError
from .io import _kind

FORMAT = "staticml.fingerprint/1"
SKETCH_BUCKETS = 512         # row sketch
COLUMN_SKETCH_BUCKETS = 64   # per-column value sketch
# pyarrow's streaming CSV reader parses up to ~32 blocks ahead of the consumer, so the
# block size bounds memory (32 x 1 MiB); small batches are then joined to ~64k rows so the
# per-batch numpy overhead stays small.
CSV_BLOCK = 1 << 20
CSV_BATCH_ROWS = 1 << 16
PARQUET_BATCH = 1 << 17      # rows per Parquet batch
FRAME_BATCH = 1 << 17        # rows per DataFrame batch
NULL_SPELLINGS = ("", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan",
                  "1.#IND", "1.#QNAN", "N/A", "NA", "NULL", "NaN", "n/a", "nan", "null")

_U = np.uint64
_NAN_BITS = 0x7FF8000000000000
_INT64_MIN = -(1 << 63)
_MASK64 = (1 << 64) - 1
# Tags keep a string's or datetime's word from equalling a number's bits by construction.
_TAG_STR = (0x9E3779B97F4A7C15, 0xD1B54A32D192ED03)
_TAG_DT = 0x5851F42D4C957F2D
_ROW_SEED = (0xA0761D6478BD642F, 0xE7037ED1A0B428DB)
_WORD_STEP = (0x8EBC6AF09C88C6E3, 0x589965CC75374CC3)
_LEN_STEP = (0x1D8E4E27C47D124F, 0x2F9B1D2A8C3D6B17)


# ----------------------------------------------------------------------------- mixing

def _mix(z: np.ndarray, lane: int) -> np.ndarray:
    """A bijective 64-bit finaliser, in place: splitmix64's (lane 0), murmur3's fmix64
    (lane 1).  Two different mixers keep the two lanes from being one hash twice."""
    if lane == 0:
        z ^= z >> _U(30)
        z *= _U(0xBF58476D1CE4E5B9)
        z ^= z >> _U(27)
        z *= _U(0x94D049BB133111EB)
        z ^= z >> _U(31)
    else:
        z ^= z >> _U(33)
        z *= _U(0xFF51AFD7ED558CCD)
        z ^= z >> _U(33)
        z *= _U(0xC4CEB9FE1A85EC53)
        z ^= z >> _U(33)
    return z


def _seed(name: str, lane: int) -> int:
    return int.from_bytes(hashlib.sha256(f"{lane}:{name}".encode()).digest()[:8], "little")


def _string_words(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Two 64-bit hashes per string of a null-free string/binary array, vectorised.

    The bytes of each string are cut into zero-padded 8-byte words; word j contributes
    ``mix(word + (j+1)*step)`` (a bijection of the word for each j), the contributions are
    summed per string and mixed with the length.  No Python loop per string: short strings
    are padded to a common width by Arrow (one row of words per string, one numpy pass per
    word position); a batch whose lengths vary wildly goes through a flat per-word path.
    Both give the same hash, so batch boundaries never matter.
    """
    n = len(arr)
    lengths = pc.binary_length(arr).to_numpy(zero_copy_only=False).astype(np.int64)
    nwords = (lengths + 7) >> 3
    sums = _word_sums_padded(arr, nwords) if n else None
    if sums is None:
        sums = _word_sums_flat(arr, nwords)
    out = []
    for lane in (0, 1):
        z = sums[lane]
        z += lengths.astype(_U) * _U(_LEN_STEP[lane]) + _U(_TAG_STR[lane])
        out.append(_mix(z, lane))
    return out[0], out[1]


def _word_step(j: np.ndarray | int, lane: int):
    """(j + 1) * step mod 2^64 (numpy arrays wrap silently; numpy scalars would warn)."""
    if isinstance(j, (int, np.integer)):
        return _U(((int(j) + 1) * _WORD_STEP[lane]) & _MASK64)
    return (j.astype(_U) + _U(1)) * _U(_WORD_STEP[lane])


def _word_sums_padded(arr: pa.Array, nwords: np.ndarray) -> list[np.ndarray] | None:
    """Per-string word sums via Arrow's byte padding to a fixed width, or None when the
    padded matrix would be much larger than the data (a few long strings among short)."""
    n = len(arr)
    width = int(nwords.max()) if n else 0
    if width == 0 or 8 * width * n > 2 * 8 * int(nwords.sum()) + (1 << 20):
        return None
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        return None
    try:  # ascii_rpad pads by bytes; the fixed-size cast fails unless every row is `width`
        padded = pc.cast(pc.ascii_rpad(arr, width=8 * width, padding="\x00"),
                         pa.binary(8 * width))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    words = np.frombuffer(padded.buffers()[1], dtype="<u8", count=n * width,
                          offset=padded.offset * 8 * width).reshape(n, width)
    out = []
    for lane in (0, 1):
        # Padding words (j >= nwords[i]) are 0; their constant contributions are removed
        # with a prefix sum so a string hashes the same whatever its batch's width.
        pad = _mix(_word_step(np.arange(width), lane), lane)
        prefix = np.concatenate([[_U(0)], np.cumsum(pad, dtype=_U)])
        total = np.zeros(n, dtype=_U)
        for j in range(width):
            total += _mix(words[:, j] + _word_step(j, lane), lane)
        total -= prefix[width] - prefix[nwords]
        out.append(total)
    return out


def _word_sums_flat(arr: pa.Array, nwords: np.ndarray) -> list[np.ndarray]:
    """Per-string word sums from the raw buffers: every string's bytes are scattered into
    its own zero-padded words, one flat array of words for the whole batch."""
    n = len(arr)
    bufs = arr.buffers()
    large = pa.types.is_large_string(arr.type) or pa.types.is_large_binary(arr.type)
    odt = np.dtype("<i8") if large else np.dtype("<i4")
    offsets = np.frombuffer(bufs[1], dtype=odt, count=n + 1,
                            offset=arr.offset * odt.itemsize).astype(np.int64)
    data = (np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None
            else np.empty(0, np.uint8))
    o0, o1 = int(offsets[0]), int(offsets[-1])
    lengths = np.diff(offsets)
    wstart = np.cumsum(nwords) - nwords
    total = int(nwords.sum())
    padded = np.zeros(total * 8, dtype=np.uint8)
    if o1 > o0:
        dest = np.arange(o1 - o0, dtype=np.int64)
        dest += np.repeat(wstart * 8 - (offsets[:-1] - o0), lengths)
        padded[dest] = data[o0:o1]
    words = padded.view("<u8").astype(_U, copy=False)
    pos = np.arange(total, dtype=_U) - np.repeat(wstart.astype(_U), nwords)
    nonempty = nwords > 0
    out = []
    for lane in (0, 1):
        z = _mix(words + _word_step(pos, lane), lane)
        sums = np.zeros(n, dtype=_U)
        if total:
            sums[nonempty] = np.add.reduceat(z, wstart[nonempty])
        out.append(sums)
    return out


# ----------------------------------------------------------------------------- canonical columns

def _kind_of(t: pa.DataType) -> str:
    if (pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t)
            or pa.types.is_decimal(t) or pa.types.is_null(t)):
        return "number"
    if (pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_binary(t)
            or pa.types.is_large_binary(t) or pa.types.is_string_view(t)
            or pa.types.is_binary_view(t)):
        return "string"
    if (pa.types.is_timestamp(t) or pa.types.is_date(t) or pa.types.is_time(t)
            or pa.types.is_duration(t)):
        return "datetime"
    if pa.types.is_dictionary(t):
        return _kind_of(t.value_type)
    return "unsupported"


class _Canon:
    """One batch of one column in canonical form.

    ``words``: the two lanes' 64-bit value words (before the column seed), with missing
    values as the canonical NaN's bits in both lanes (so "missing" is one value whatever
    the kind); ``streams``: the byte chunks each ordered SHA-256 stream receives;
    ``present``: number of non-missing values.
    """

    __slots__ = ("words", "streams", "present")

    def __init__(self, words, streams, present):
        self.words, self.streams, self.present = words, streams, present


def _canon_number(arr: pa.Array) -> _Canon:
    if not pa.types.is_float64(arr.type):
        arr = pc.cast(arr, pa.float64(), safe=False)
    x = arr.to_numpy(zero_copy_only=False) + 0.0          # new array; -0.0 + 0.0 = +0.0
    bits = x.view(_U)
    missing = np.isnan(x)
    bits[missing] = _U(_NAN_BITS)
    data = bits.astype("<u8", copy=False)
    return _Canon((bits, bits), [data], len(x) - int(missing.sum()))


def _canon_datetime(arr: pa.Array) -> _Canon:
    t = arr.type
    if pa.types.is_date32(t):
        ns = _ints(pc.cast(arr, pa.int32())) * 86_400_000_000_000
    elif pa.types.is_date64(t):
        ns = _ints(pc.cast(arr, pa.int64())) * 1_000_000
    else:
        scale = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}[t.unit]
        ns = _ints(pc.cast(arr, pa.int64() if t.bit_width == 64 else pa.int32())) * scale
    valid = np.asarray(arr.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    ns = np.where(valid, ns, _INT64_MIN).astype("<i8")
    words = ns.view(_U) ^ _U(_TAG_DT)
    words[~valid] = _U(_NAN_BITS)
    return _Canon((words, words), [ns], int(valid.sum()))


def _ints(arr: pa.Array) -> np.ndarray:
    """An integer Arrow array as int64 numpy, nulls as 0 (masked by the caller)."""
    return pc.fill_null(arr, 0).to_numpy(zero_copy_only=False).astype(np.int64)


_NULLS = pa.array(NULL_SPELLINGS, type=pa.string())


def _canon_string(arr: pa.Array, distinct_hint: bool) -> tuple[_Canon, bool]:
    """Canonical string column; also returns whether it looked mostly distinct.

    Low-cardinality columns are dictionary-encoded first so each distinct string is hashed
    once per batch; a column whose first batch was mostly distinct values (ids, free text)
    is hashed value by value, which skips the useless hash table.
    """
    if pa.types.is_string_view(arr.type):
        arr = pc.cast(arr, pa.large_string())
    elif pa.types.is_binary_view(arr.type):
        arr = pc.cast(arr, pa.large_binary())
    if distinct_hint:
        values = pc.fill_null(arr, b"" if pa.types.is_binary(arr.type)
                              or pa.types.is_large_binary(arr.type) else "")
        w1, w2 = _string_words(values)
        vlen = pc.binary_length(values).to_numpy(zero_copy_only=False).astype(np.int64)
        missing = (vlen == 0) | _null_spelled(values)
        words = []
        for w in (w1, w2):
            w[missing] = _U(_NAN_BITS)
            words.append(w)
        lengths = np.where(missing, -1, vlen).astype("<i8")
        mostly_distinct = True
    else:
        enc = pc.dictionary_encode(arr, null_encoding="mask")
        dictionary, indices = enc.dictionary, enc.indices
        mostly_distinct = len(dictionary) > len(arr) // 2 and len(arr) >= 1024
        w1, w2 = _string_words(dictionary)
        dlen = pc.binary_length(dictionary).to_numpy(zero_copy_only=False).astype(np.int64)
        dmissing = (dlen == 0) | _null_spelled(dictionary)
        idx = pc.fill_null(indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
        missing = idx < 0
        safe = np.where(missing, 0, idx)
        if len(dictionary):
            missing |= dmissing[safe]
        words = []
        for w in (w1, w2):
            v = w[safe] if len(dictionary) else np.zeros(len(idx), dtype=_U)
            v[missing] = _U(_NAN_BITS)
            words.append(v)
        lengths = np.where(missing, -1, dlen[safe] if len(dictionary) else 0).astype("<i8")
    keep = arr if not missing.any() else pc.filter(arr, pa.array(~missing))
    canon = _Canon((words[0], words[1]), [lengths, _value_bytes(keep)],
                   len(arr) - int(missing.sum()))
    return canon, mostly_distinct


def _null_spelled(values: pa.Array) -> np.ndarray:
    if pa.types.is_binary(values.type) or pa.types.is_large_binary(values.type):
        try:
            values = pc.cast(values, pa.large_string())
        except pa.ArrowInvalid:       # not UTF-8: cannot be one of the spellings
            return np.zeros(len(values), dtype=bool)
    return np.asarray(pc.is_in(values, value_set=_NULLS).to_numpy(zero_copy_only=False),
                      dtype=bool)


def _value_bytes(arr: pa.Array) -> memoryview:
    """The concatenated bytes of a null-free string array, zero-copy."""
    if len(arr) == 0:
        return memoryview(b"")
    bufs = arr.buffers()
    large = pa.types.is_large_string(arr.type) or pa.types.is_large_binary(arr.type)
    odt = np.dtype("<i8") if large else np.dtype("<i4")
    offsets = np.frombuffer(bufs[1], dtype=odt, count=len(arr) + 1,
                            offset=arr.offset * odt.itemsize)
    if bufs[2] is None:
        return memoryview(b"")
    return memoryview(bufs[2])[int(offsets[0]):int(offsets[-1])]


def _canonical(arr: pa.Array, name: str, distinct_hint: bool = False
               ) -> tuple[str, _Canon, bool]:
    """(kind, canonical form, mostly-distinct strings?) of one batch of one column."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    kind = _kind_of(arr.type)
    if kind == "number":
        return kind, _canon_number(arr), False
    if kind == "string":
        canon, distinct = _canon_string(arr, distinct_hint)
        return kind, canon, distinct
    if kind == "datetime":
        return kind, _canon_datetime(arr), False
    raise InputError(f"column {name!r} has type {arr.type}, which a fingerprint cannot "
                     "encode; use numbers, strings or dates")


# ----------------------------------------------------------------------------- reading

class _Retype(Exception):
    """A CSV block did not fit the types inferred from the first block."""

    def __init__(self, types: dict[str, pa.DataType]) -> None:
        super().__init__("retype")
        self.types = types


def _is_frame(x: Any) -> bool:
    return type(x).__module__.startswith("pandas") and hasattr(x, "columns")


def _csv_options(path: Path):
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    return (pacsv.ReadOptions(block_size=CSV_BLOCK), pacsv.ParseOptions(delimiter=delimiter))


def source_columns(source: Any) -> list[str]:
    """Column names of a DataFrame or a CSV/Parquet file, in order (reads only a header)."""
    if _is_frame(source):
        return [str(c) for c in source.columns]
    path = _as_path(source)
    try:
        if _kind(path) == "parquet":
            return _parquet_columns(pq.ParquetFile(path))
        ropts, popts = _csv_options(path)
        with pacsv.open_csv(path, read_options=ropts, parse_options=popts) as reader:
            return list(reader.schema.names)
    except InputError:
        raise
    except (pa.ArrowInvalid, pa.ArrowTypeError, OSError) as exc:
        raise InputError(f"cannot read {path.name}: {exc}") from None


def _parquet_columns(pf: pq.ParquetFile) -> list[str]:
    """The data columns of a Parquet file: without the index pandas stores as a column
    (``__index_level_0__`` for a shuffled frame), which a DataFrame reader never sees."""
    schema = pf.schema_arrow
    index: set[str] = set()
    meta = (schema.metadata or {}).get(b"pandas")
    if meta:
        try:
            index = {c for c in json.loads(meta).get("index_columns", []) if isinstance(c, str)}
        except (ValueError, AttributeError):
            index = set()
    return [n for n in schema.names if n not in index]


def _as_path(source: Any) -> Path:
    if not isinstance(source, (str, Path)):
        raise InputError(f"expected a DataFrame or a path to a CSV/Parquet file, got "
                         f"{type(source).__name__}")
    path = Path(source)
    if not path.is_file():
        raise InputError(f"data file {path} does not exist")
    return path


def _widen(t: pa.DataType) -> pa.DataType:
    """The type a CSV column is read with, given the type inferred from the first block."""
    kind = _kind_of(t)
    if kind == "number" and not pa.types.is_boolean(t):
        return pa.float64()      # an int64 column may hold 1.5 further down
    if pa.types.is_timestamp(t):
        return pa.timestamp("ns", tz=t.tz)   # timestamp[s] would refuse a later "...:00.5"
    if kind in ("number", "datetime"):
        return t
    return pa.string()


def _csv_batches(path: Path, columns: Sequence[str] | None,
                 types: dict[str, pa.DataType] | None) -> Iterator[pa.RecordBatch]:
    ropts, popts = _csv_options(path)
    header = source_columns(path)
    if types is None:
        with pacsv.open_csv(path, read_options=ropts, parse_options=popts) as first:
            types = {f.name: _widen(f.type) for f in first.schema}
    copts = pacsv.ConvertOptions(column_types=types, strings_can_be_null=True,
                                 include_columns=list(columns) if columns is not None else None)
    reader = pacsv.open_csv(path, read_options=ropts, parse_options=popts,
                            convert_options=copts)
    pending: list[pa.RecordBatch] = []
    try:
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                if pending:
                    yield pa.concat_batches(pending)
                return
            except pa.ArrowInvalid as exc:
                m = re.search(r"In CSV column #(\d+)", str(exc))
                if m is None or int(m.group(1)) >= len(header):
                    raise
                name = header[int(m.group(1))]
                if pa.types.is_string(types.get(name, pa.string())):
                    raise
                raise _Retype({**types, name: pa.string()}) from None
            pending.append(batch)
            if sum(b.num_rows for b in pending) >= CSV_BATCH_ROWS:
                yield pa.concat_batches(pending)
                pending = []
    finally:
        reader.close()


def _batches(source: Any, columns: Sequence[str] | None,
             csv_types: dict[str, pa.DataType] | None) -> Iterator[pa.RecordBatch]:
    if _is_frame(source):
        df = source
        names = [str(c) for c in df.columns]
        if len(set(names)) != len(names):
            raise InputError("the DataFrame has duplicate column names")
        if columns is not None:
            df = df[[c for c in df.columns if str(c) in set(columns)]]
        for start in range(0, len(df), FRAME_BATCH):
            part = df.iloc[start:start + FRAME_BATCH]
            try:
                table = pa.Table.from_pandas(part, preserve_index=False)
            except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
                raise InputError(f"cannot fingerprint the DataFrame: {exc}; give each column "
                                 "one type (numbers, strings or dates)") from None
            yield from table.rename_columns([str(c) for c in part.columns]).to_batches()
        return
    path = _as_path(source)
    try:
        if _kind(path) == "parquet":
            # Without pre-buffering and reader threads pyarrow holds ~one row group, not
            # the ~whole file it otherwise reads ahead (measured: 56 MB vs 270 MB of Arrow
            # memory for a 0.24 GB file), and is no slower with the hashing as bottleneck.
            pf = pq.ParquetFile(path, pre_buffer=False)
            for batch in pf.iter_batches(batch_size=PARQUET_BATCH, use_threads=False,
                                         columns=list(columns) if columns is not None
                                         else _parquet_columns(pf)):
                yield batch
        else:
            yield from _csv_batches(path, columns, csv_types)
    except (InputError, _Retype):
        raise
    except (pa.ArrowInvalid, pa.ArrowTypeError, OSError) as exc:
        raise InputError(f"cannot read {path.name}: {exc}") from None


# ----------------------------------------------------------------------------- accumulating

class _Column:
    """Running hashes of one column."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.kind: str | None = None
        self.streams: list[Any] = []
        self.present = 0
        self.unordered = [0, 0]
        self.sketch = np.zeros(COLUMN_SKETCH_BUCKETS, dtype=np.int64)
        self.seeds = (_U(_seed(name, 0)), _U(_seed(name, 1)))
        self.distinct: bool | None = None   # strings: hash value by value (see _canon_string)

    def add(self, kind: str, c: _Canon) -> tuple[np.ndarray, np.ndarray]:
        if self.kind is None:
            self.kind = kind
            self.streams = [hashlib.sha256() for _ in c.streams]
        elif kind != self.kind:
            raise InputError(f"column {self.name!r} changes type within the data "
                             f"({self.kind} then {kind})")
        for h, chunk in zip(self.streams, c.streams):
            h.update(chunk)
        self.present += c.present
        hashes = []
        for lane in (0, 1):
            h = _mix(c.words[lane] ^ self.seeds[lane], lane)
            self.unordered[lane] = (self.unordered[lane] + int(h.sum(dtype=_U))) & _MASK64
            hashes.append(h)
        self.sketch += np.bincount((hashes[0] >> _U(58)).astype(np.int64),
                                   minlength=COLUMN_SKETCH_BUCKETS)
        return hashes[0], hashes[1]

    def final_kind(self) -> str:
        return "empty" if self.present == 0 else (self.kind or "empty")

    def ordered(self, rows: int) -> str:
        kind = self.final_kind()
        if kind == "empty":
            return hashlib.sha256(f"empty:{rows}".encode()).hexdigest()
        h = hashlib.sha256(f"{kind}:{rows}:".encode())
        for s in self.streams:
            h.update(s.digest())
        return h.hexdigest()

    def unordered_hex(self) -> str:
        return f"{self.unordered[0]:016x}{self.unordered[1]:016x}"


class _Accumulator:
    def __init__(self, row_columns: Sequence[str] | None) -> None:
        self.columns: dict[str, _Column] = {}
        self.order: list[str] = []
        self.rows = 0
        self.row_columns = set(row_columns) if row_columns is not None else None
        self.row_sums = [0, 0]
        self.sketch = np.zeros(SKETCH_BUCKETS, dtype=np.int64)

    def add(self, batch: pa.RecordBatch) -> None:
        names = list(batch.schema.names)
        if not self.order:
            if len(set(names)) != len(names):
                raise InputError(f"duplicate column names in the data: {names}")
            self.order = names
            self.columns = {n: _Column(n) for n in names}
        n = batch.num_rows
        acc = [np.zeros(n, dtype=_U), np.zeros(n, dtype=_U)]
        for i, name in enumerate(names):
            col = self.columns[name]
            kind, canon, distinct = _canonical(batch.column(i), name, bool(col.distinct))
            if col.distinct is None:
                col.distinct = distinct
            h1, h2 = col.add(kind, canon)
            if self.row_columns is None or name in self.row_columns:
                acc[0] += h1
                acc[1] += h2
        for lane in (0, 1):
            acc[lane] ^= _U(_ROW_SEED[lane])
            r = _mix(acc[lane], lane)
            self.row_sums[lane] = (self.row_sums[lane] + int(r.sum(dtype=_U))) & _MASK64
            if lane == 0:
                self.sketch += np.bincount((r >> _U(64 - 9)).astype(np.int64),
                                           minlength=SKETCH_BUCKETS)
        self.rows += n

    def result(self, scope: str) -> dict:
        schema = {n: self.columns[n].final_kind() for n in self.order}
        ordered = {n: self.columns[n].ordered(self.rows) for n in self.order}
        schema_sha = _sha_json(sorted(schema.items()))
        content = _sha_json({"rows": self.rows, "schema": sorted(schema.items()),
                             "columns": sorted(ordered.items())})
        unordered = _sha_json({"rows": self.rows, "schema": sorted(schema.items()),
                               "rows_sum": f"{self.row_sums[0]:016x}{self.row_sums[1]:016x}"})
        return {
            "format": FORMAT,
            "rows": self.rows,
            "columns": list(self.order),
            "scope": scope,
            "schema": schema,
            "schema_sha256": schema_sha,
            "content_sha256": content,
            "unordered_sha256": unordered,
            "column_hashes": {n: {"ordered": ordered[n],
                                  "unordered": self.columns[n].unordered_hex(),
                                  "sketch": [int(v) for v in self.columns[n].sketch]}
                              for n in self.order},
            "row_sketch": [int(v) for v in self.sketch],
        }


def _sha_json(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, separators=(",", ":"), sort_keys=True)
                          .encode()).hexdigest()


def _fingerprint(source: Any, columns: Sequence[str] | None,
                 row_columns: Sequence[str] | None) -> dict:
    if columns is not None:
        available = set(source_columns(source))
        absent = [c for c in columns if c not in available]
        if absent:
            raise InputError(f"the data has no column(s) {absent}", column=absent[0])
    csv_types: dict[str, pa.DataType] | None = None
    for _ in range(10_000):
        acc = _Accumulator(row_columns)
        try:
            for batch in _batches(source, columns, csv_types):
                acc.add(batch)
        except _Retype as again:        # a later CSV block showed a column is text
            csv_types = again.types
            continue
        if not acc.order:               # a file with a header and no rows
            acc.order = list(columns) if columns is not None else source_columns(source)
            acc.columns = {n: _Column(n) for n in acc.order}
        return acc.result("selected" if columns is not None else "all")
    raise InputError("cannot settle the CSV column types")  # pragma: no cover


def fingerprint(source: Any, columns: list[str] | None = None) -> dict:
    """Fingerprint a DataFrame or a CSV/Parquet file (streamed), optionally only ``columns``.

    Returns ``{"format", "rows", "columns" (file order), "scope" ("all" | "selected"),
    "schema" {name: "number"|"string"|"datetime"|"empty"}, "schema_sha256",
    "content_sha256" (row order matters), "unordered_sha256" (row order does not),
    "column_hashes" {name: {"ordered": sha256 hex, "unordered": 128-bit hex,
    "sketch": [64 counts]}}, "row_sketch" [512 counts]}``.  See the module docstring for
    the encoding.
    """
    return _fingerprint(source, columns, None)


# ----------------------------------------------------------------------------- comparing

def compare(recorded: dict, source: Any) -> dict:
    """Compare a recorded fingerprint with a table: is it the same data, and if not, how not.

    Returns ``{"status": "same" | "same_rows_different_order" | "different",
    "rows": {"recorded", "data", "delta", "absent_at_least", "new_at_least"},
    "columns": {"added", "removed", "retyped" [{"column", "recorded", "data"}],
    "changed" (values differ beyond what added/removed rows explain), "renamed"
    [{"from", "to"}], "order_changed"},
    "fingerprint": the data's fingerprint, "summary": [sentences]}``.
    ``absent_at_least``/``new_at_least`` (rows of the recorded table missing from the data
    / rows of the data not in the recorded table, lower bounds from the row sketches) are
    None when the row hashes cover different columns (a recorded column is gone).
    A recorded fingerprint of selected columns (``scope == "selected"``) ignores the
    data's other columns.
    """
    if recorded.get("format") != FORMAT:
        raise InputError(f"not a staticml fingerprint (format {recorded.get('format')!r})")
    rec_cols: list[str] = list(recorded["columns"])
    data_cols = source_columns(source)
    selected = recorded.get("scope") == "selected"
    read_cols = [c for c in rec_cols if c in set(data_cols)] if selected else None
    comparable = set(rec_cols) <= set(data_cols)
    fp = _fingerprint(source, read_cols or None, rec_cols if comparable else None)
    if selected:
        fp["scope"] = "selected"
    rec_schema, schema = recorded["schema"], fp["schema"]
    added = [] if selected else [c for c in fp["columns"] if c not in rec_schema]
    removed = [c for c in rec_cols if c not in schema]
    retyped = [{"column": c, "recorded": rec_schema[c], "data": schema[c]}
               for c in rec_cols if c in schema and schema[c] != rec_schema[c]]
    delta = fp["rows"] - recorded["rows"]
    changed = [c for c in rec_cols if c in schema and schema[c] == rec_schema[c]
               and fp["column_hashes"][c]["unordered"]
               != recorded["column_hashes"][c]["unordered"]
               and not _explained_by_rows(recorded["column_hashes"][c]["sketch"],
                                          fp["column_hashes"][c]["sketch"], delta)]
    rec_by_digest = {recorded["column_hashes"][c]["ordered"]: c for c in removed}
    renamed = [{"from": rec_by_digest[fp["column_hashes"][c]["ordered"]], "to": c}
               for c in added if fp["column_hashes"][c]["ordered"] in rec_by_digest]
    common = [c for c in rec_cols if c in schema]
    order_changed = common != [c for c in fp["columns"] if c in set(rec_cols)]
    absent = new = None
    if comparable:
        absent, new = _sketch_diff(recorded["row_sketch"], fp["row_sketch"])
    same_schema = not (added or removed or retyped)
    if same_schema and fp["content_sha256"] == recorded["content_sha256"]:
        status = "same"
    elif same_schema and fp["unordered_sha256"] == recorded["unordered_sha256"]:
        status = "same_rows_different_order"
    else:
        status = "different"
    rows = {"recorded": recorded["rows"], "data": fp["rows"],
            "delta": delta, "absent_at_least": absent,
            "new_at_least": new}
    cols = {"added": added, "removed": removed, "retyped": retyped, "changed": changed,
            "renamed": renamed, "order_changed": order_changed}
    return {"status": status, "rows": rows, "columns": cols, "fingerprint": fp,
            "summary": _summary(status, rows, cols, len(rec_cols))}


def _sketch_diff(recorded: Sequence[int], data: Sequence[int]) -> tuple[int, int]:
    """Lower bounds on (recorded items absent from the data, data items that are new)."""
    a = np.asarray(recorded, dtype=np.int64)
    b = np.asarray(data, dtype=np.int64)
    return int(np.maximum(a - b, 0).sum()), int(np.maximum(b - a, 0).sum())


def _explained_by_rows(recorded: Sequence[int], data: Sequence[int], delta: int) -> bool:
    """Whether a column's value multiset differs only as removing (adding) whole rows
    would make it: rows were removed and the column gained no value, or added and it lost
    none.  A changed value both removes one value and adds another."""
    absent, new = _sketch_diff(recorded, data)
    return (delta < 0 and new == 0) or (delta > 0 and absent == 0)


def _summary(status: str, rows: dict, cols: dict, n_cols: int) -> list[str]:
    if status == "same":
        return [f"same data: {rows['data']} rows, {n_cols} columns, same order"]
    if status == "same_rows_different_order":
        return [f"same rows in a different order ({rows['data']} rows, {n_cols} columns)"]
    out = []
    if cols["added"]:
        out.append("columns added: " + ", ".join(cols["added"]))
    if cols["removed"]:
        out.append("columns removed: " + ", ".join(cols["removed"]))
    for r in cols["renamed"]:
        out.append(f"column {r['from']!r} appears renamed to {r['to']!r} (same values)")
    for r in cols["retyped"]:
        out.append(f"column {r['column']!r} changed type: {r['recorded']} -> {r['data']}")
    if cols["changed"]:
        out.append("values changed in: " + ", ".join(cols["changed"]))
    if rows["delta"]:
        word = "added" if rows["delta"] > 0 else "removed"
        out.append(f"rows {word}: {abs(rows['delta'])} ({rows['recorded']} recorded, "
                   f"{rows['data']} in the data)")
    if rows["absent_at_least"]:
        out.append(f"at least {rows['absent_at_least']} recorded row(s) are not in the data "
                   f"and at least {rows['new_at_least']} row(s) of the data are new")
    if cols["order_changed"]:
        out.append("column order differs (does not affect the hashes)")
    if not out:
        out.append("the data differs from the recorded training data")
    return out
