"""Reading and writing tables (CSV, Parquet) in bounded memory.

Input columns are read with the types the model's schema says (numbers as float64,
categorical columns as strings), so a column that looks numeric in one chunk and not in
another cannot change type half-way through a file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator, Sequence

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ..errors import InputError
from ..ir.ops import InputColumn

CHUNK_ROWS = 65536


def _kind(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt", ".tsv"):
        return "csv"
    if suffix in (".parquet", ".pq"):
        return "parquet"
    raise InputError(f"{path.name}: unknown data format {suffix!r}; use .csv or .parquet")


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a whole (small) table, e.g. a build sample."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"data file {path} does not exist")
    try:
        if _kind(path) == "csv":
            return pd.read_csv(path)
        return pd.read_parquet(path)
    except InputError:
        raise
    except Exception as exc:
        raise InputError(f"cannot read {path.name}: {exc}") from None


def _arrow_type(col: InputColumn) -> pa.DataType:
    return pa.string() if col.dtype == "string" else pa.float64()


def iter_batches(path: str | Path, inputs: Sequence[InputColumn],
                 chunk_rows: int = CHUNK_ROWS) -> Iterator[pd.DataFrame]:
    """Stream ``path`` in chunks of about ``chunk_rows`` rows, typed by the schema."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"data file {path} does not exist")
    types = {c.name: _arrow_type(c) for c in inputs}
    try:
        if _kind(path) == "csv":
            reader = pacsv.open_csv(
                path,
                read_options=pacsv.ReadOptions(block_size=1 << 22),
                convert_options=pacsv.ConvertOptions(column_types=types,
                                                     strings_can_be_null=True))
            for batch in reader:
                yield batch.to_pandas()
        else:
            pf = pq.ParquetFile(path)
            names = set(pf.schema_arrow.names)
            cols = [c.name for c in inputs if c.name in names]
            for batch in pf.iter_batches(batch_size=chunk_rows, columns=cols or None):
                yield batch.to_pandas()
    except InputError:
        raise
    except (pa.ArrowInvalid, pa.ArrowTypeError, OSError) as exc:
        raise InputError(f"cannot read {path.name}: {exc}. Check that numeric columns hold "
                         "numbers and the file is valid CSV/Parquet.") from None


class TableWriter:
    """Appends DataFrames to a CSV or Parquet file, or CSV to a text stream.

    A file is written under a temporary name and renamed into place by ``close``, so an
    existing file is never left half-overwritten; ``abort`` removes the partial file.
    """

    def __init__(self, path: str | Path | None, stream=None) -> None:
        self.final = Path(path) if path else None
        self.path = self.final.with_name(f".partial-{self.final.name}") if self.final else None
        if self.final is not None:
            _kind(self.final)  # reject an unknown format before any work is done
        self.stream = stream
        self._writer = None
        self._header = True

    def write(self, df: pd.DataFrame) -> None:
        if self.path is None:
            df.to_csv(self.stream, index=False, header=self._header)
            self._header = False
            return
        table = pa.Table.from_pandas(df, preserve_index=False)
        if self._writer is None:
            if _kind(self.final) == "csv":
                self._writer = pacsv.CSVWriter(str(self.path), table.schema)
            else:
                self._writer = pq.ParquetWriter(str(self.path), table.schema)
        self._writer.write_table(table)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        if self.path is not None and self.path.exists():
            self.path.replace(self.final)

    def abort(self) -> None:
        if self._writer is not None:
            try:
                self._writer.close()
            except Exception:
                pass
        if self.path is not None:
            self.path.unlink(missing_ok=True)
