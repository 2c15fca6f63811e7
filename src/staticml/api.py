"""The public Python surface: ``build``, ``load``, ``verify``.

``build`` runs the whole flow: frontend -> IR -> C -> shared library -> parity check ->
bundle. Everything is written into a staging directory and published atomically, so a
failure at any step leaves the output directory as it was.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import re
import shutil
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from . import __version__
from .backends.c.render import ABI_VERSION, render
from .bundle import files as bf
from .bundle import manifest as mf
from .data.schema import infer_inputs
from .errors import ArtifactError, BuildError, InputError, ParityError, StaticMLError
from .frontends import lower
from .frontends.loading import describe_model, load_model_file, model_sha256
from .ir import serialize
from .ir.graph import Graph
from .ir.layout import output_layout
from .ir.ops import Classify
from .runtime.artifact import Artifact
from .verification import parity
from .verification.runner import check_interpreter, reference_for, rows_for_check

log = logging.getLogger(__name__)

Progress = Callable[[str], None]
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


def _resolve_model(model: Any, trust_pickle: bool) -> tuple[Any, dict]:
    if isinstance(model, (str, Path)):
        obj, info = load_model_file(model, trust_pickle=trust_pickle)
    else:
        obj, info = model, {"file": None, "sha256": model_sha256(model)}
    return obj, info


_LIBRARIES = {"sklearn": "scikit-learn", "xgboost": "xgboost", "lightgbm": "lightgbm"}


def _library_of(model: Any) -> str:
    """The library a model comes from (parsed model files say so themselves)."""
    return getattr(model, "library", None) or _LIBRARIES.get(
        type(model).__module__.split(".")[0], type(model).__module__.split(".")[0])


def _versions(library: str) -> dict:
    import importlib.metadata as md

    versions = {"python": platform.python_version(), "numpy": np.__version__}
    for dist in sorted({"scikit-learn", library}):
        try:
            versions[dist] = md.version(dist if dist != "xgboost" else "xgboost")
        except md.PackageNotFoundError:
            if dist == "xgboost":
                try:
                    versions[dist] = md.version("xgboost-cpu")
                except md.PackageNotFoundError:
                    pass
    return versions


def _outputs_record(graph: Graph) -> dict:
    lay = output_layout(graph.head)
    rec: dict[str, Any] = {"n_outputs": lay.n_outputs}
    for key in ("proba", "decision", "values", "scores"):
        s = getattr(lay, key)
        rec[key] = [s.start, s.stop] if s is not None else None
    if isinstance(graph.head, Classify):
        rec["classes"] = [c if not isinstance(c, np.generic) else c.item()
                          for c in graph.head.classes]
        rec["classes_dtype"] = graph.head.classes_dtype
    else:
        rec["squeeze"] = graph.head.squeeze
    return rec


def _now() -> str:
    import datetime as dt

    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()


def _schema_hash(inputs: list[dict]) -> str:
    """sha256 of what an application codes against: names, types, categories, in order."""
    import hashlib

    core = [[c["name"], c["dtype"], list(c.get("vocabulary", ()))] for c in inputs]
    return hashlib.sha256(json.dumps(core, separators=(",", ":")).encode()).hexdigest()


def build(model: Any, sample: Any, out: str | Path, name: str = "model",
          targets: Sequence[str] = ("native",), train_data: Any = None,
          trust_pickle: bool = False, model_version: str = "1",
          on_violation: str = "count", drop_unused: bool = False,
          fallbacks: dict[str, str] | Sequence[str] | None = None,
          progress: Progress | None = None) -> Artifact:
    """Compile ``model`` into a verified bundle at ``out`` and return it loaded.

    Args:
        model: a fitted estimator, or a path to a model file (``.skops``, XGBoost
            ``.json``/``.ubj``, LightGBM ``.txt``; ``.pkl``/``.joblib`` with ``trust_pickle``).
        sample: rows like the training data (DataFrame or 2-D array). Fixes the input
            schema and is the first half of the parity check (probe rows are the second).
        out: bundle directory; replaced atomically if it already holds a bundle.
        name: C identifier used for the library, header and functions (``NAME_predict``).
        targets: target names (``native`` = this machine's platform, ``all`` = every one);
            see ``staticml.bundle.targets.ALL_TARGETS``.
        on_violation: what predictions do with values outside the training contract:
            ``count`` them, refuse the row (``error``) or ``ignore`` them.
        drop_unused: remove input columns no output depends on from the artifact's API.
        fallbacks: ``{column: "median" | "mean" | "most_frequent" | "constant:VALUE"}``
            (or ``["column=median", ...]``): a substitute, computed from the training data
            (else the sample), used when that column is missing or absent in production.
    """
    from .bundle.targets import resolve
    from .data.contract import POLICIES

    say = progress or (lambda msg: log.info(msg))
    if not isinstance(name, str) or not _NAME.match(name):
        raise BuildError(f"name {name!r} is not a valid C identifier (letters, digits, '_', "
                         "not starting with a digit, at most 64 characters); pass e.g. "
                         "--name churn_model")
    if on_violation not in POLICIES:
        raise BuildError(f"on_violation must be one of {list(POLICIES)}, not {on_violation!r}")
    if not isinstance(out, (str, os.PathLike)):
        raise BuildError(f"out must be a directory path, not {type(out).__name__}")
    if isinstance(targets, str):  # "native,java" as the CLI takes it, not its characters
        targets = [t.strip() for t in targets.split(",") if t.strip()]
    if sample is None or (hasattr(sample, "__len__") and len(sample) == 0):
        raise InputError("the sample has no rows: pass rows like the training data (they fix "
                         "the input schema and are checked for parity)")
    wanted = resolve(list(targets))
    out = Path(out)
    bf.check_destination(out)
    obj, source = _resolve_model(model, trust_pickle)
    say(f"lowering {describe_model(obj)} to IR")
    graph = lower(obj, infer_inputs(obj, sample))
    iface = _interface(graph, sample, drop_unused, fallbacks or {}, say, train_data)
    staging = bf.staging_dir(out)
    try:
        artifact = _build_into(staging, obj, source, iface, sample, name, model_version,
                               wanted, on_violation, train_data, say)
        bf.publish(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    del artifact
    return Artifact.open(out)


class _Interface:
    """The graph as the application calls it, after the interface passes, and what the
    passes did (the original inputs, dropped names, fallbacks by original index)."""

    def __init__(self, graph: Graph, full: Graph, dropped: list[str], fallbacks: dict) -> None:
        self.graph, self.full, self.dropped, self.fallbacks = graph, full, dropped, fallbacks


def _interface(graph: Graph, sample: Any, drop: bool, fallbacks: Any,
               say: Progress, train_data: Any = None) -> _Interface:
    from .data import fallback as fb
    from .passes.interface import drop_unused, with_fallbacks

    resolved = {}
    if fallbacks:  # substitutes come from the training data when given, else the sample
        source = sample if train_data is None else fb.columns_of(train_data, graph.inputs,
                                                                  fallbacks)
        resolved = fb.resolve(fallbacks, graph.inputs, source)
    full = graph
    graph = with_fallbacks(graph, {i: f.slot_value for i, f in resolved.items()})
    dropped: list[str] = []
    if drop:
        graph, dropped = drop_unused(graph)
        say(f"dropped unused inputs: {', '.join(dropped) or 'none'}")
    return _Interface(graph, full, dropped, resolved)


def _named(rows: Any, graph: Graph) -> Any:
    """Positional rows as a DataFrame with the model's column names, so an artifact with
    fewer inputs (``drop_unused``) picks its columns by name."""
    import pandas as pd

    if hasattr(rows, "columns"):
        return rows
    return pd.DataFrame(np.asarray(rows), columns=[c.name for c in graph.inputs])


def _training_record(graph: Graph, full: Graph, sample: Any, train_data: Any,
                     say: Progress) -> tuple[dict, dict]:
    """The training profile (of ``train_data``, else of the sample) and, with
    ``train_data``, its fingerprint: the manifest's ``training_data`` section."""
    from .data.fingerprint import fingerprint
    from .data.profile import profile

    if train_data is None:
        prof = profile(_named(sample, full), graph.inputs)
        return prof, {"source": "sample", "profile": prof, "fingerprint": None}
    if isinstance(train_data, (str, Path)):
        say(f"fingerprinting and profiling {train_data}")
        described = str(train_data)
    else:
        say("fingerprinting and profiling the training data")
        described = "in-memory data"
        train_data = _named(train_data, full)
    prof = profile(train_data, graph.inputs)
    return prof, {"source": described, "profile": prof, "fingerprint": fingerprint(train_data)}


def _contract_from_profile(inputs: list[dict], prof: dict) -> None:
    """Training data, when given, defines the contract (the sample is only a sample)."""
    cols = {c["name"]: c for c in prof["columns"]}
    for rec in inputs:
        col = cols.get(rec["name"])
        if col is None:
            continue
        if rec.get("fallback") is None:
            rec["missing_allowed"] = bool(col.get("missing"))
        rec["missing_rate"] = col.get("missing_rate", 0.0)
        if rec["dtype"] == "number" and col.get("min") is not None:
            rec["range"] = [col["min"], col["max"]]


def _build_into(root: Path, model: Any, source: dict, iface: _Interface, sample: Any,
                name: str, model_version: str, targets: list[str], on_violation: str,
                train_data: Any, say: Progress) -> Artifact:
    from .bundle.targets import BuildContext, build_all, host_target
    from .data.contract import Contract, infer_contract
    from .passes.dependencies import used_inputs

    graph = iface.graph
    inputs = infer_contract(graph.inputs, sample if not iface.dropped
                            else _named(sample, iface.full), used_inputs(graph))
    for fbk in iface.fallbacks.values():
        for rec in inputs:
            if rec["name"] == fbk.column:
                rec["fallback"] = fbk.record()
                rec["missing_allowed"] = True
    prof, training = _training_record(graph, iface.full, sample, train_data, say)
    if training["fingerprint"] is not None:
        _contract_from_profile(inputs, prof)
    schema_hash = _schema_hash(inputs)
    contract = Contract.from_records(inputs, on_violation)
    # The library carries its own contract (inputs and outputs): loading compares the
    # manifest with it, so an edited manifest cannot re-map inputs or relabel classes.
    schema_json = json.dumps({"name": name, "inputs": inputs, "schema_sha256": schema_hash,
                              "on_violation": on_violation, "task": graph.task,
                              "outputs": _outputs_record(graph)},
                             separators=(",", ":"), allow_nan=False)
    version_json = json.dumps({"staticml": __version__, "model_version": model_version,
                               "model_sha256": source["sha256"], "abi_version": ABI_VERSION,
                               "schema_sha256": schema_hash},
                              separators=(",", ":"))
    banner = (f"generated by staticml {__version__} from {describe_model(model)} "
              f"(sha256 {source['sha256'][:16]}). Do not edit; rebuild instead.")
    say("generating C")
    c = render(graph, name, schema_json, version_json, banner, contract, schema_hash, prof)
    files = {f"include/{name}.h": c.header, f"src/{name}.c": c.source,
             "ir.json": json.dumps(serialize.to_dict(graph), separators=(",", ":"))}
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")

    manifest = {
        "format": mf.FORMAT, "format_version": mf.FORMAT_VERSION,
        "name": name, "model_version": model_version, "staticml_version": __version__,
        "abi_version": ABI_VERSION,
        "source_model": {"library": _library_of(model), "type": describe_model(model),
                         "class": f"{type(model).__module__}.{type(model).__name__}",
                         "file": source.get("file"), "sha256": source["sha256"],
                         "versions": _versions(_library_of(model))},
        "task": graph.task,
        "inputs": inputs,
        "schema_sha256": schema_hash,
        "contract": {"on_violation": on_violation},
        "dropped_inputs": iface.dropped,
        "training_data": training,
        "built_at": _now(),
        "outputs": _outputs_record(graph),
        "targets": {},
        "files": {},
        "parity": {},
    }
    host = host_target()
    if host not in targets:
        targets = [host, *targets]  # the host library is the reference of every other target
    ctx = BuildContext(root, name, graph, schema_json, version_json, banner, manifest)
    built = build_all(ctx, targets, say)
    listed = set(files)
    for target, rec in built.items():
        listed |= set(rec.get("files", [rec["path"]]))
        rec.update(bf.file_record(root, rec["path"]))
    manifest["targets"] = built
    manifest["files"] = {rel: bf.file_record(root, rel) for rel in sorted(listed)}
    mf.write(root, manifest)

    say("verifying parity on the sample and probe rows")
    from .data import fallback as fb

    rows, labels = rows_for_check(iface.full, sample)
    rows = fb.apply(rows, iface.full.inputs, iface.fallbacks)
    if iface.dropped:
        rows = _named(rows, iface.full).copy()
        for col in iface.full.inputs:  # the value the artifact's Constant stands in
            if col.name in iface.dropped:
                rows[col.name] = (col.vocabulary[0] if col.dtype == "string" and
                                  col.vocabulary else 0.0)
    as_array = bool(iface.dropped) and not hasattr(sample, "columns")
    manifest["parity"] = _parity_reports(model, graph, iface.full, contract, rows, labels,
                                         root, manifest, host, say, as_array)
    mf.write(root, manifest)
    for target, rep in manifest["parity"].items():
        if rep.get("passed") is False:
            if "label_mismatches" in rep:
                raise ParityError(parity.summarize_failure(rep), rep)
            raise ParityError(f"{target}: structure check failed: "
                              f"{'; '.join(rep['structure']['problems'])}", rep)
    from .report import write_report

    write_report(root, manifest)
    native = manifest["parity"][host]
    say(f"parity: {native['rows']} rows, {native['label_mismatches']} label mismatches, "
        f"max abs diff {max(native['max_abs_diff'].values(), default=0.0):.3g}")
    return Artifact.open(root)


def _parity_reports(model: Any, graph: Graph, ref_graph: Graph, contract: Any, rows: Any,
                    labels: list[str], root: Path, manifest: dict, host: str,
                    say: Progress, as_array: bool = False) -> dict[str, dict]:
    """Parity reports of the IR and of every target that runs here against ``model`` on
    ``rows`` (``build`` and ``verify`` share it). Rows the contract refuses under policy
    "error" are left out and counted in each report. ``ref_graph`` describes the inputs the
    model takes (before unused columns were dropped); ``as_array``: pass the model an array."""
    from .verification.targets import check_targets

    rows, labels, refused = _within_contract(graph, contract, rows, labels)
    ref, ref_kind, tol = reference_for(model, ref_graph, np.asarray(rows) if as_array else rows,
                                       labels)
    reports = {"ir": check_interpreter(graph, ref, rows, labels, tol)}
    reports.update(check_targets(root, manifest, graph, rows, labels, ref, tol, host, say))
    for rep in reports.values():
        if rep.get("ran", True):
            rep["reference"] = ref_kind
        if refused:  # policy "error": those rows are refused by design, not compared
            rep["contract_refused_rows"] = refused
    return reports


def _within_contract(graph: Graph, contract: Any, rows: Any, labels: list[str]
                     ) -> tuple[Any, list[str], int]:
    """Under policy "error", the rows the contract refuses (probe rows beyond the training
    range, say) are not a parity question: drop them from the check, and count them."""
    from .data.schema import RowEncoder

    if contract.policy != "error":
        return rows, labels, 0
    keep = ~(contract.check(RowEncoder(graph.inputs).encode(rows)) != 0).any(axis=1)
    idx = np.flatnonzero(keep)
    rows = rows.iloc[idx].reset_index(drop=True) if hasattr(rows, "iloc") else rows[idx]
    return rows, [labels[i] for i in idx], int((~keep).sum())


def load(path: str | Path, target: str = "native", threads: int | None = None) -> Artifact:
    """Open a bundle after checking every file's sha256 against its manifest.

    ``threads``: batches of more than a few thousand rows are split over this many threads
    (default: ``STATICML_THREADS``, else every core this process may use; 1 = the calling
    thread only). Results do not depend on it: each row is computed by the same code."""
    if not isinstance(path, (str, os.PathLike)):
        raise ArtifactError(f"load takes the bundle's directory path, not {type(path).__name__}")
    return Artifact.open(path, target=target, threads=threads)


def verify(path: str | Path, model: Any, X: Any, trust_pickle: bool = False,
           progress: Progress | None = None) -> dict:
    """Parity report of the bundle at ``path`` against ``model`` on ``X`` plus probe rows,
    for the IR and for every target of the bundle that can run on this machine (the others
    are listed with the reason they could not run).

    Never raises on a mismatch: the report says ``passed: false`` and lists the worst rows.
    """
    from .bundle.targets import host_target
    from .data.contract import Contract

    obj, _ = _resolve_model(model, trust_pickle)
    art = load(path)
    graph = serialize.from_dict(json.loads(mf.resolve(art.root, "ir.json").read_text()))
    rows, labels = rows_for_check(graph, X)
    contract = Contract.from_records(art.manifest["inputs"],
                                     art.manifest.get("contract", {}).get("on_violation",
                                                                          "ignore"))
    reports = _parity_reports(obj, graph, graph, contract, rows, labels, art.root,
                              art.manifest, host_target(), progress or (lambda m: None))
    not_run = {t: r["reason"] for t, r in reports.items() if not r.get("ran", True)}
    return {"bundle": str(path), "passed": all(r.get("passed") is not False
                                               for r in reports.values()),
            "targets": reports, "not_run": not_run}


def drift(path: str | Path, data: Any, write_report: bool = True) -> dict:
    """Drift of ``data`` (DataFrame, array or CSV/Parquet path, streamed) against the
    training profile compiled into the bundle at ``path``; refreshes ``report.html``."""
    from .data.drift import drift as compute
    from .report import write_report as write

    art = load(path)
    prof = (art.manifest.get("training_data") or {}).get("profile")
    if prof is None:
        raise ArtifactError(f"bundle {path} has no training profile; rebuild it with this "
                            "staticml version")
    if not isinstance(data, (str, Path)) and not hasattr(data, "columns"):
        data = art.encode(data)
    report = compute(prof, data)
    if report["rows"] == 0:  # "no drift" would be a verdict about nothing
        raise InputError("the data has no rows: there is nothing to compare with the "
                         "training data")
    if write_report:
        write(art.root, art.manifest, report)
    return report


def data_verify(path: str | Path, data: Any) -> dict:
    """Is ``data`` the training set the bundle at ``path`` was built from? What differs?"""
    from .data.fingerprint import compare

    art = load(path)
    recorded = (art.manifest.get("training_data") or {}).get("fingerprint")
    if recorded is None:
        raise ArtifactError(f"bundle {path} records no training-data fingerprint; build it "
                            "with --train-data DATA to record one")
    return compare(recorded, data)


__all__ = ["build", "load", "verify", "drift", "data_verify", "StaticMLError"]


def _same_file(a: str | Path, b: str | Path) -> bool:
    """Same path after symlinks, or the same inode (a hard link)."""
    a, b = Path(a), Path(b)
    if a.resolve() == b.resolve():
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist yet
        return False


def predict_file(path: str | Path, data: str | Path, out: str | Path | None = None,
                 proba: bool = False, target: str = "native", stream: Any = None,
                 progress: Callable[[int], None] | None = None) -> int:
    """Predict every row of a CSV/Parquet file in chunks; returns the number of rows.

    Output columns: ``prediction`` and, with ``proba``, ``proba_<class>`` per class.
    Written to ``out`` (CSV or Parquet by suffix, replaced atomically) or as CSV to
    ``stream``.
    """
    import pandas as pd

    from .data.io import TableWriter, iter_batches

    art = load(path, target=target)
    if proba and art._proba is None:
        raise BuildError("this model has no predict_proba; drop --proba")
    if out is not None and not Path(out).resolve().parent.is_dir():
        raise InputError(f"the output's directory {Path(out).parent} does not exist; create it "
                         "or choose another path")
    if out is not None and _same_file(out, data):
        raise InputError(f"the output {out} is the input file: writing the predictions would "
                         "replace the data; choose another output path")
    writer = TableWriter(out, stream=stream)
    total = 0
    try:
        for chunk in iter_batches(data, art.inputs):
            pred = art.predict(chunk)
            frame = pd.DataFrame({"prediction": pred})
            if proba:
                p = art.predict_proba(chunk)
                for k, c in enumerate(art.classes_):
                    frame[f"proba_{c}"] = p[:, k]
            writer.write(frame)
            total += len(chunk)
            if progress:
                progress(len(chunk))
    except BaseException:
        writer.abort()
        raise
    writer.close()
    return total
