"""``Artifact``: a loaded bundle with scikit-learn's prediction API.

Loading checks every file's sha256 against the manifest before any binary is mapped, then
binds the library for this platform. ``predict``/``predict_proba`` return what the
original estimator returns: the same labels with the same dtype, shape and class order.
"""

from __future__ import annotations

import ctypes
import json
import threading
from functools import partial
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from .. import errors
from ..bundle import manifest as mf
from ..data.schema import F64, RowEncoder, is_f64
from ..errors import ArtifactError, InputError
from ..ir.ops import InputColumn
from ..toolchain.compilers import native_platform
from ..data.contract import Contract, ContractCounter, summarize
from . import accel
from .native import NativeLibrary


class _RowAdapter:
    """Gives an engine of another target (wasm, Java, ONNX, ...) the native library's
    interface, so ``Artifact`` works the same on every target."""

    def __init__(self, engine: Any, manifest: dict) -> None:
        self.engine = engine
        self.schema_json = json.dumps({"name": manifest["name"], "inputs": manifest["inputs"]})
        self.path = Path(manifest["targets"][engine.target.split("/")[0]]["path"])

    def predict_matrix(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.engine.predict_matrix(x)


class _MatrixRowCall:
    """``RowCall``'s interface over ``predict_matrix``, for libraries without one-row
    bindings (engines of other targets): the same buffers, filled by a batch call."""

    __slots__ = ("x", "out", "status", "counts", "predict", "predict_counted", "_lib")

    def __init__(self, lib: Any, n_inputs: int, n_outputs: int) -> None:
        self.x, self.out = np.zeros((1, n_inputs)), np.zeros((1, n_outputs))
        self.status = ctypes.c_int32(0)
        self.counts = None
        self.predict_counted = None
        self._lib = lib
        self.predict = self._predict

    def _predict(self) -> int:
        out, status = self._lib.predict_matrix(self.x)
        self.out[...] = out
        self.status.value = int(status[0])
        return self.status.value


class _OneRow:
    """One thread's one-row state for one artifact: the library's ``RowCall`` buffers and,
    made once, views of ``out`` shaped as each API method returns them (slicing costs
    ~0.2 us a call; a copy of a ready view is what the method returns)."""

    __slots__ = ("x", "x_t", "out", "status", "call", "counted", "shape", "proba", "proba_1d",
                 "values", "decision", "scores", "fast", "on_clean")

    def __init__(self, call: Any, art: "Artifact") -> None:
        self.call = call
        self.x, self.out, self.status = call.x, call.out, call.status
        self.x_t = self.x.T  # (n_inputs, 1): where a DataFrame's block is copied
        self.shape = self.x.shape
        # Policy "count" with the C entry point that counts and predicts in one call.
        self.counted = call.predict_counted if art._count else None
        # What a call that reported nothing still owes the contract tally (policy "count").
        self.on_clean = (art._violations.add_clean_row if self.counted is not None
                         else partial(art._count_violations, self.x) if art._count else None)
        # The one-row accelerator over the same buffers (None: ctypes only).
        fast = getattr(art._lib, "fast_row", None)
        self.fast = (fast(call, tuple(art._encoder.names), art._encoder.code_tables(),
                          self.counted is not None) if fast is not None else None)
        out = self.out
        self.proba = out[:, art._proba] if art._proba is not None else None
        self.proba_1d = out[0, art._proba] if art._proba is not None else None
        self.values = self.decision = self.scores = None
        if art._values is not None:
            vals = out[:, art._values]
            self.values = vals[:, 0] if art._squeeze else vals
        if art._decision is not None:
            d = out[:, art._decision]
            self.decision = d[:, 0] if d.shape[1] == 1 else d
        if art._scores is not None:
            self.scores = out[:, art._scores][:, 0]


class Artifact:
    """A verified, loaded bundle. Create with ``staticml.load(dir)``."""

    def __init__(self, root: Path, manifest: dict, library: NativeLibrary, target: str) -> None:
        self.root = Path(root)
        self.manifest = manifest
        self.target = target
        self._lib = library
        self.name = manifest["name"]
        self.inputs = [InputColumn(c["name"], c["dtype"], tuple(c.get("vocabulary", ())))
                       for c in manifest["inputs"]]
        self._encoder = RowEncoder(self.inputs, [c["name"] for c in manifest["inputs"]
                                                 if c.get("fallback")])
        out = manifest["outputs"]
        self.task = manifest["task"]
        self._proba = slice(*out["proba"]) if out.get("proba") else None
        self._decision = slice(*out["decision"]) if out.get("decision") else None
        self._values = slice(*out["values"]) if out.get("values") else None
        self._scores = slice(*out["scores"]) if out.get("scores") else None
        self._squeeze = out.get("squeeze", True)
        self.classes_ = (np.array(out["classes"], dtype=np.dtype(out["classes_dtype"]))
                         if self.task == "classification" else None)
        policy = manifest.get("contract", {}).get("on_violation", "ignore")
        self._contract = Contract.from_records(manifest["inputs"], policy)
        self._violations = ContractCounter(self._encoder.names)
        self._count = policy == "count"
        self._counter = getattr(library, "contract_count", None)
        has_counted = getattr(library, "_counted", None) is not None
        self._batch_counted = (partial(library.predict_matrix_counted, reuse=True)
                               if has_counted else None)
        # Batches into the native library's per-thread scratch (every method copies out).
        self._predict_batch = (partial(library.predict_matrix, reuse=True)
                               if isinstance(library, NativeLibrary) else library.predict_matrix)
        self._numeric = self._encoder.all_numeric
        n_classes = len(self.classes_) if self.classes_ is not None else 0
        # predict() of one row: a fresh 1-element array per call, copied from these.
        self._label_rows = tuple(self.classes_[k:k + 1] for k in range(n_classes))
        self._labels = tuple(self.classes_[k] for k in range(n_classes))  # numpy scalars
        self._tls = threading.local()  # this thread's _OneRow

    # -- loading --------------------------------------------------------------------
    @classmethod
    def open(cls, root: str | Path, target: str = "native",
             threads: int | None = None) -> "Artifact":
        """``threads``: how many threads one big batch is split over (native library
        only; default ``STATICML_THREADS`` or every core this process may use)."""
        root = Path(root)
        manifest = mf.read(root)
        mf.verify_files(root, manifest)
        targets = manifest.get("targets", {})
        if target not in ("native", native_platform()):
            from .engines import RunnerUnavailable, open_engine

            try:
                engine = open_engine(root, manifest, target)
            except RunnerUnavailable as exc:
                raise ArtifactError(f"cannot run target {target!r} here: {exc}") from None
            if getattr(engine, "schema_json", ""):  # wasm, ONNX: their own compiled schema
                mf.check_against_library(manifest, engine.schema_json, target)
            return cls(root, manifest, _RowAdapter(engine, manifest), target)
        plat = native_platform()
        target = next((t for t, rec in targets.items()
                       if t == plat or (t == "native" and rec.get("platform") == plat)), "")
        if not target:
            built = ", ".join(targets)
            raise ArtifactError(
                f"bundle {root} has no library for this platform ({plat}); it has: "
                f"{built or 'none'}. Rebuild with --target native on this machine.")
        rec = targets[target]
        path = mf.resolve(root, rec["path"])
        out = manifest["outputs"]
        try:
            lib = NativeLibrary(path, manifest["name"], len(manifest["inputs"]),
                                out["n_outputs"], threads=threads)
        except (OSError, AttributeError) as exc:  # AttributeError: a symbol is missing
            raise ArtifactError(f"cannot load {rec['path']}: {exc}") from None
        if lib.abi_version != manifest.get("abi_version"):
            raise ArtifactError(f"{rec['path']} has ABI version {lib.abi_version}, the manifest "
                                f"says {manifest.get('abi_version')}; rebuild the bundle")
        mf.check_against_library(manifest, lib.schema_json, rec["path"])
        # The one-row accelerator is built (first time on this machine) or imported now,
        # while the application starts, not during its first request.
        accel.module()
        return cls(root, manifest, lib, target)

    # -- raw access -----------------------------------------------------------------
    def encode(self, X: Any) -> np.ndarray:
        """Rows as the flat float64 matrix the C entry point reads (strings -> codes)."""
        return self._encoder.encode(X)

    def run(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        """Outputs and per-row status codes, without raising on bad rows."""
        x = self._encoder.encode(X)
        return self._lib.predict_matrix(x)

    def _row(self) -> _OneRow:
        """This thread's one-row buffers (made on its first one-row call)."""
        try:
            return self._tls.row
        except AttributeError:
            return self._new_row()

    def _new_row(self) -> _OneRow:
        make = getattr(self._lib, "row_call", None)
        call = make() if make is not None else _MatrixRowCall(
            self._lib, len(self.inputs), self.manifest["outputs"]["n_outputs"])
        row = self._tls.row = _OneRow(call, self)
        return row

    def _run_one(self, X: Any) -> _OneRow | np.ndarray:
        """The latency path. When ``X`` is one row, predict it in this thread's buffers and
        return them (outputs in ``row.out``; raises on a refused row); otherwise return
        ``X`` encoded, for the batch path. A float64 array row and a one-row float64
        DataFrame are copied straight into the buffer; other forms are encoded first."""
        try:
            row = self._tls.row
        except AttributeError:
            row = self._new_row()
        fast = row.fast
        if type(X) is np.ndarray and X.shape == row.shape:
            if fast is not None:  # encodes an object row, copies a float64 one
                res = (fast.values(X[0].tolist()) if X.dtype.kind == "O"
                       else fast.array(X) if self._numeric else -1)
                if res >= 0:
                    return self._settle(row, res)
            if self._numeric and (X.dtype is F64 or is_f64(X.dtype)):
                row.x[...] = X
                self._call_row(row)
                return row
        found = self._encoder.frame_row_block(X)
        if found is not None:  # an all-float64 frame: its block is the row
            values, positions = found
            if positions is None:
                if fast is not None and (res := fast.array(values)) >= 0:
                    return self._settle(row, res)
                row.x_t[...] = values
            else:
                np.take(values, positions, axis=0, out=row.x_t)
        else:
            mixed = self._encoder.frame_row_values(X) if fast is not None else None
            if mixed is not None and (res := fast.values(mixed)) >= 0:
                return self._settle(row, res)
            x = self._encoder.encode(X)
            if x.shape[0] != 1:
                return x
            row.x[...] = x
        self._call_row(row)
        return row

    def _call_row(self, row: _OneRow) -> None:
        """One foreign call on ``row.x`` (counting contract violations under policy
        "count"); raises on a refused row."""
        fast = row.fast
        if fast is not None:
            res = fast.call()
        elif row.counted is not None:  # ctypes, reporting as the accelerator does
            res = (1 if row.counted() else 0) | (2 if row.status.value else 0)
        else:
            row.call.predict()
            res = 2 if row.status.value else 0
        self._settle(row, res)

    def _settle(self, row: _OneRow, res: int) -> _OneRow:
        """Finish a one-row call that returned ``res``: bit 1, the row violated the
        contract (its counts are in the call's buffer); bit 2, the row was refused (raise);
        0, the common case, owes the contract tally only ``on_clean``."""
        if res & 1:
            self._violations.add_counts(1, 1, row.call.take_counts())
        elif row.on_clean is not None:
            row.on_clean()
        if res & 2:
            self._raise(np.array([row.status.value], dtype=np.int32), row.x)
        return row

    def _outputs(self, x: np.ndarray, cols: slice | None = None) -> np.ndarray:
        """Output-layout rows (``[:, cols]`` if given) of encoded rows ``x``; raises on any
        refused row. May be a view of the library's per-thread scratch: callers return
        copies, never the view."""
        if self._count and self._batch_counted is not None:
            out, status, bad, counts = self._batch_counted(x)
            self._violations.add_counts(x.shape[0], bad, counts)
        else:
            if self._count:
                self._count_violations(x)
            out, status = self._predict_batch(x)
        if status.any():
            self._raise(status, x)
        return out if cols is None else out[:, cols]

    def _raise(self, status: np.ndarray, x: np.ndarray) -> None:
        bad = np.flatnonzero(status)
        row = int(bad[0])
        code = int(status[row]) & 0xFF
        col_idx = (int(status[row]) >> 8) - 1
        column = self.inputs[col_idx].name if 0 <= col_idx < len(self.inputs) else None
        where = f" in column {column!r}" if column else ""
        value = ""
        if 0 <= col_idx < len(self.inputs):
            v = x[row, col_idx]
            col = self.inputs[col_idx]
            if col.dtype == "string":
                value = " (value: missing)" if np.isnan(v) else " (value: a category not seen in training)"
            else:
                value = f" (value: {float(v)!r})"
        more = f"; {len(bad) - 1} more row(s) fail too" if len(bad) > 1 else ""
        raise InputError(
            f"row {row}{where}: {errors.describe(code)}{value}{more}. Fix: {errors.FIXES[code]}.",
            code=code, row=row, column=column)

    # -- scikit-learn API -----------------------------------------------------------
    # Each method first tries the one-row path (``_run_one``), which returns the thread's
    # buffers, and copies the ready view of the outputs it returns; more rows take the
    # batch path. Both give the same bits, dtype and shape.
    def predict(self, X: Any) -> np.ndarray:
        r = self._run_one(X)
        if type(r) is _OneRow:
            if self.task == "classification":
                return self._label_row(r.out)
            return r.values.copy()
        out = self._outputs(r)
        if self.task == "classification":
            return self.classes_.take(out[:, 0].astype(np.intp))
        vals = out[:, self._values]
        return vals[:, 0].copy() if self._squeeze else vals.copy()

    def _label_row(self, out: np.ndarray) -> np.ndarray:
        """The class label of one output row, as a fresh (1,) array of ``classes_``' dtype."""
        k = int(out.item(0))
        if 0 <= k < len(self._label_rows):
            return self._label_rows[k].copy()
        return self.classes_.take(out[:, 0].astype(np.intp))  # raises as the batch path does

    def predict_proba(self, X: Any) -> np.ndarray:
        if self._proba is None:
            raise AttributeError(f"this {self.manifest['source_model']['type']} model has no "
                                 "predict_proba (scikit-learn's does not either)")
        r = self._run_one(X)
        if type(r) is _OneRow:
            return r.proba.copy()
        return np.array(self._outputs(r, self._proba), order="C")  # a copy of the scratch

    def decision_function(self, X: Any) -> np.ndarray:
        if self._decision is None:
            raise AttributeError("this model has no decision_function")
        r = self._run_one(X)
        if type(r) is _OneRow:
            return r.decision.copy()
        d = self._outputs(r)[:, self._decision]
        return d[:, 0].copy() if d.shape[1] == 1 else d.copy()

    def score_samples(self, X: Any) -> np.ndarray:
        """Outlier detectors (IsolationForest): the same scores as ``score_samples``."""
        if self._scores is None:
            raise AttributeError("this model has no score_samples")
        r = self._run_one(X)
        if type(r) is _OneRow:
            return r.scores.copy()
        return self._outputs(r)[:, self._scores][:, 0].copy()

    # -- single rows (the natural input of an online application) ------------------
    def _one(self, row: Mapping[str, Any]) -> _OneRow:
        """Predict a ``{column: value}`` row in this thread's buffers."""
        r = self._row()
        fast = r.fast
        if fast is not None:
            res = fast.mapping(row)
            if res >= 0:
                return self._settle(r, res)
        x = self._encoder.encode_dict(row)
        r.x[0] = x
        self._call_row(r)
        return r

    def predict_one(self, row: Mapping[str, Any]) -> Any:
        """Predict one row given as ``{column: value}``; returns a label or a value."""
        out = self._one(row).out[0]
        if self.task == "classification":
            k = int(out[0])
            return self._labels[k] if 0 <= k < len(self._labels) else self.classes_[k]
        vals = out[self._values]
        return float(vals[0]) if self._squeeze else vals.copy()

    def predict_proba_one(self, row: Mapping[str, Any]) -> np.ndarray:
        if self._proba is None:
            raise AttributeError("this model has no predict_proba")
        return self._one(row).proba_1d.copy()

    # -- the input contract ---------------------------------------------------------
    def _count_violations(self, x: np.ndarray) -> None:
        counter = self._counter
        if counter is None:  # engines of other targets: the same check in numpy
            self._violations.add(self._contract.check(x))
            return
        bad, counts = counter(x)
        self._violations.add_counts(x.shape[0], bad, counts)

    def check(self, X: Any) -> dict:
        """Value-level contract violations of rows ``X`` (out-of-range numbers, unseen
        categories, unexpected missing values), per column; predicts nothing."""
        return summarize(self._encoder.names, self._contract.check(self._encoder.encode(X)))

    def violations(self, reset: bool = False) -> dict:
        """Violations counted by every prediction so far (policy ``count``)."""
        report = self._violations.report()
        if reset:
            self._violations.reset()
        return report

    def drift(self, X: Any) -> dict:
        """PSI, KS, out-of-range and unseen rates of rows ``X`` against the training profile
        compiled into the bundle, per column, with a verdict (``staticml.data.drift``)."""
        from ..data.drift import drift

        prof = (self.manifest.get("training_data") or {}).get("profile")
        if prof is None:
            raise ArtifactError("this bundle has no training profile; rebuild it")
        return drift(prof, X if hasattr(X, "columns") or isinstance(X, (str, Path))
                     else self.encode(X))

    # -- metadata -------------------------------------------------------------------
    @property
    def schema(self) -> dict:
        return json.loads(self._lib.schema_json)

    @property
    def library_path(self) -> Path:
        return self._lib.path

    def __repr__(self) -> str:
        return (f"<staticml.Artifact {self.name!r} {self.task} inputs={len(self.inputs)} "
                f"target={self.target} at {str(self.root)!r}>")
