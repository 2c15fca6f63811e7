"""The ``staticml`` command: one small function per verb, all logic lives in ``api``.

Conventions: human output goes to stderr, results to stdout; ``--json`` prints one JSON
document on stdout. Exit codes: 0 success, 1 a check failed (parity, verification),
2 usage error, 3 bad input (model, data, bundle), 4 toolchain problem.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from . import __version__
from .errors import (ArtifactError, InputError, ParityError, StaticMLError, ToolchainError,
                     UnsupportedModelError)

err = Console(stderr=True, highlight=False, emoji=False)  # ":abc:" in a value is text

EXIT_OK, EXIT_CHECK_FAILED, EXIT_USAGE, EXIT_BAD_INPUT, EXIT_TOOLCHAIN = 0, 1, 2, 3, 4


def _fail(exc: Exception) -> None:
    code = EXIT_BAD_INPUT
    if isinstance(exc, ParityError):
        code = EXIT_CHECK_FAILED
    elif isinstance(exc, click.UsageError):
        code = EXIT_USAGE
    elif isinstance(exc, ToolchainError):
        code = EXIT_TOOLCHAIN
    lines = str(exc).splitlines() or [type(exc).__name__]
    err.print(f"[bold red]error:[/] {escape(lines[0])}", soft_wrap=True)
    for line in lines[1:]:
        err.print(line, soft_wrap=True, markup=False)
    sys.exit(code)


def _run(fn, *args, **kwargs) -> Any:
    try:
        return fn(*args, **kwargs)
    except (StaticMLError, ValueError, OSError) as exc:
        _fail(exc)


def _say(msg: str) -> None:
    err.print(f"[dim]•[/] {msg}", soft_wrap=True)


def _parity_table(reports: dict) -> Table:
    """One row per target: rows checked, mismatches, max diff, bits vs the host library."""
    from .verification.targets import bits_summary

    table = Table("target", "rows", "label mismatches", "max abs diff", "vs host library",
                  "result", title="parity")
    for t, r in reports.items():
        if not r.get("ran", True):
            verdict = ("[green]structure ok[/]" if r.get("passed") else
                       "[red]structure FAIL[/]" if r.get("passed") is False else "[dim]skipped[/]")
            table.add_row(t, "-", "-", "-", escape(r.get("reason", "")[:60]), verdict)
            continue
        diff = max(r["max_abs_diff"].values(), default=0.0)
        table.add_row(t, str(r["rows"]), str(r["label_mismatches"]), f"{diff:.3g}",
                      "-" if t == "ir" else bits_summary(r),
                      "[green]pass[/]" if r["passed"] else "[red]FAIL[/]")
    return table


def _emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="staticml")
def main() -> None:
    """Compile trained models into verified, dependency-free native libraries.

    \b
    Example:
      staticml quickstart
      staticml build model.skops --sample train.csv -o dist/churn --name churn
      staticml predict dist/churn new_customers.csv -o predictions.csv
    """


@main.command()
@click.argument("model", type=click.Path(dir_okay=False))
@click.option("--sample", "sample", required=True, type=click.Path(dir_okay=False),
              help="CSV/Parquet rows like the training data: fixes the input schema and is "
                   "checked for parity.")
@click.option("-o", "--out", required=True, type=click.Path(file_okay=False),
              help="Bundle directory to write (replaced atomically if it holds a bundle).")
@click.option("--name", default="model", show_default=True,
              help="C identifier for the library and its functions (NAME_predict).")
@click.option("--target", default="native", show_default=True,
              help="Comma-separated targets: native, all, linux-x86_64, linux-aarch64, "
                   "windows-x86_64, macos-arm64, macos-x86_64, wasm32, java, onnx, python.")
@click.option("--on-violation", type=click.Choice(["count", "error", "ignore"]),
              default="count", show_default=True,
              help="Values outside the training contract (range, categories, missingness): "
                   "count them, refuse the row, or ignore them.")
@click.option("--drop-unused", is_flag=True,
              help="Remove inputs no output depends on from the artifact's API.")
@click.option("--fallback", "fallbacks", multiple=True, metavar="COL=STRATEGY",
              help="Substitute for a column that may be unavailable live: median, mean, "
                   "most_frequent or constant:VALUE (repeatable).")
@click.option("--train-data", type=click.Path(dir_okay=False), default=None,
              help="Training data (CSV/Parquet, streamed): its fingerprint and profile go into "
                   "the bundle; the profile also defines the input contract and the drift "
                   "monitor (else the sample's).")
@click.option("--trust-pickle", is_flag=True,
              help="Allow .pkl/.joblib models (unpickling runs arbitrary code).")
@click.option("--model-version", default="1", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the manifest as JSON on stdout.")
def build(model: str, sample: str, out: str, name: str, target: str, on_violation: str,
          drop_unused: bool, fallbacks: tuple[str, ...], train_data: str | None,
          trust_pickle: bool, model_version: str, as_json: bool) -> None:
    """Compile MODEL into a bundle: .skops, an XGBoost .json/.ubj or LightGBM .txt model file
    (read without the vendor library), or .pkl/.joblib with --trust-pickle.

    \b
    Example:
      staticml build churn.skops --sample train.csv -o dist/churn --name churn
      staticml build churn.skops --sample train.csv -o dist/churn --target all
      staticml build model.ubj --sample train.parquet -o dist/scorer --name scorer
    """
    from . import api
    from .data.io import read_table

    frame = _run(read_table, sample)
    art = _run(api.build, model, frame, out, name=name,
               targets=[t.strip() for t in target.split(",") if t.strip()],
               train_data=train_data, trust_pickle=trust_pickle, model_version=model_version,
               on_violation=on_violation, drop_unused=drop_unused,
               fallbacks=list(fallbacks), progress=_say)
    if as_json:
        _emit_json(art.manifest)
        return
    if len(art.manifest["parity"]) > 2:
        err.print(_parity_table(art.manifest["parity"]))
    par = art.manifest["parity"][art.target]
    _say(f"[green]built[/] {escape(str(art.root))} ({len(art.manifest['targets'])} target(s), "
         f"{par['rows']} rows verified, {par['label_mismatches']} label mismatches)")
    click.echo(str(art.root))


@main.command()
@click.argument("bundle", type=click.Path(file_okay=False))
@click.argument("data", type=click.Path(dir_okay=False))
@click.option("-o", "--out", type=click.Path(dir_okay=False), default=None,
              help="Output CSV/Parquet (by suffix); default: CSV on stdout.")
@click.option("--proba", is_flag=True, help="Add one probability column per class.")
@click.option("--target", default="native", show_default=True)
def predict(bundle: str, data: str, out: str | None, proba: bool, target: str) -> None:
    """Predict every row of DATA (CSV/Parquet), streamed in chunks.

    \b
    Example:
      staticml predict dist/churn customers.csv --proba -o scored.parquet
    """
    from rich.progress import BarColumn, Progress, TextColumn

    from . import api

    size = Path(data).stat().st_size if Path(data).is_file() else 0
    show = err.is_terminal and size > (8 << 20)
    with Progress(TextColumn("predicting"), BarColumn(), TextColumn("{task.completed} rows"),
                  console=err, disable=not show) as bar:
        task = bar.add_task("rows", total=None)
        n = _run(api.predict_file, bundle, data, out, proba=proba, target=target,
                 stream=None if out else sys.stdout,
                 progress=lambda k: bar.advance(task, k))
    _say(escape(f"predicted {n} rows" + (f" -> {out}" if out else "")))


@main.command()
@click.argument("bundle", type=click.Path(file_okay=False))
@click.option("--model", "model", required=True, type=click.Path(dir_okay=False))
@click.option("--data", "data", required=True, type=click.Path(dir_okay=False))
@click.option("--trust-pickle", is_flag=True)
@click.option("--json", "as_json", is_flag=True)
def verify(bundle: str, model: str, data: str, trust_pickle: bool, as_json: bool) -> None:
    """Check that BUNDLE predicts what MODEL predicts on DATA (plus probe rows).

    Exit status 0 when every target passes, 1 otherwise.

    \b
    Example:
      staticml verify dist/churn --model churn.skops --data holdout.csv --json
    """
    from . import api
    from .data.io import read_table

    frame = _run(read_table, data)
    report = _run(api.verify, bundle, model, frame, trust_pickle=trust_pickle, progress=_say)
    if as_json:
        _emit_json(report)
    else:
        err.print(_parity_table(report["targets"]))
    sys.exit(EXIT_OK if report["passed"] else EXIT_CHECK_FAILED)


@main.command()
@click.argument("bundle", type=click.Path(file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the manifest as JSON.")
def inspect(bundle: str, as_json: bool) -> None:
    """Show a bundle's schema, outputs, targets, file hashes and parity.

    Verifies every file hash first, and that this platform's library (if the bundle has
    one) was built with the manifest's inputs and outputs.

    \b
    Example:
      staticml inspect dist/churn
    """
    from .bundle import manifest as mf
    from .toolchain.compilers import native_platform

    m = _run(mf.read, Path(bundle))
    plat = native_platform()
    if any(t == plat or rec.get("platform") == plat for t, rec in m["targets"].items()):
        from . import api

        # load hashes every file and compares the manifest with the library's own schema
        m = _run(api.load, bundle).manifest
    else:
        _run(mf.verify_files, Path(bundle), m)
    if as_json:
        _emit_json(m)
        return
    src = m["source_model"]
    err.print(f"[bold]{escape(m['name'])}[/] v{m['model_version']}: {escape(src['type'])} "
              f"({m['task']}), staticml {m['staticml_version']}, ABI {m['abi_version']}")
    t = Table("input", "type", "categories")
    for c in m["inputs"]:
        voc = c.get("vocabulary") or []
        t.add_row(escape(c["name"]), c["dtype"],
                  escape(", ".join(voc[:6]) + (" ..." if len(voc) > 6 else "")))
    err.print(t)
    out = m["outputs"]
    if m["task"] == "classification":
        err.print(f"classes: {escape(str(out['classes']))}")
    t = Table("target", "platform", "path", "size", "toolchain")
    for name, rec in m["targets"].items():
        t.add_row(name, rec.get("platform", ""), escape(rec["path"]), str(rec.get("size", "")),
                  rec.get("toolchain", ""))
    err.print(t)
    t = Table("file", "sha256", "size")
    for rel, rec in m["files"].items():
        t.add_row(escape(rel), rec["sha256"][:16] + "…", str(rec["size"]))
    err.print(t)
    err.print(_parity_table(m.get("parity", {})))
    click.echo(json.dumps({"name": m["name"], "files_verified": len(m["files"])}))


@main.command()
@click.argument("bundle", type=click.Path(file_okay=False))
@click.option("--without", "without", multiple=True, metavar="COLUMN",
              help="Measure what losing COLUMN costs on --data (one column per run).")
@click.option("--data", "data", type=click.Path(dir_okay=False), default=None,
              help="CSV/Parquet rows to measure on (with --without).")
@click.option("--fill", default=None,
              help="Stand-in for COLUMN when the bundle has no fallback for it: median, "
                   "mean, most_frequent or constant:VALUE, computed on --data "
                   "[default: median for numbers, most_frequent for strings].")
@click.option("--json", "as_json", is_flag=True)
def features(bundle: str, without: tuple[str, ...], data: str | None, fill: str | None,
             as_json: bool) -> None:
    """List the inputs the model needs and those it ignores; with --without, measure what
    losing one costs.

    \b
    Example:
      staticml features dist/churn
      staticml features dist/churn --without monthly_charges --data holdout.csv --json
    """
    from . import api

    art = _run(api.load, bundle)
    rows = [{"name": c["name"], "dtype": c["dtype"], "kind": c.get("kind"),
             "used": c.get("used", True), "fallback": c.get("fallback")}
            for c in art.manifest["inputs"]]
    result: dict[str, Any] = {
        "needed": [r["name"] for r in rows if r["used"]],
        "ignored": [r["name"] for r in rows if not r["used"]],
        "dropped": art.manifest.get("dropped_inputs", []),
        "inputs": rows}
    if len(without) > 1:
        _fail(click.UsageError(f"--without takes one column per run (got {list(without)}); "
                               "run features once per column"))
    if without:
        if data is None:
            _fail(click.UsageError("--without needs --data DATA to measure on"))
        from .data.impact import feature_impact
        from .data.io import read_table

        frame = _run(read_table, data)
        result["without"] = _run(feature_impact, art, frame, without[0], fill)
    if as_json:
        _emit_json(result)
        return
    t = Table("input", "type", "needed", "fallback")
    for r in rows:
        fb = r["fallback"]
        t.add_row(escape(r["name"]), r["kind"] or r["dtype"],
                  "yes" if r["used"] else "[yellow]no[/]",
                  escape(f"{fb['strategy']} = {fb['value']!r}") if fb else "")
    for name in result["dropped"]:
        t.add_row(escape(name), "-", "[dim]dropped[/]", "")
    err.print(t)
    if "without" in result:
        w = result["without"]
        parts = [f"{w['rows_compared']} rows"]
        if "label_agreement" in w:
            parts.append(f"label agreement {w['label_agreement']:.4f} "
                         f"({w['labels_changed']} labels change)")
        for key in ("proba_mean_abs_change", "values_mean_abs_change"):
            if key in w:
                parts.append(f"{key.replace('_', ' ')} {w[key]:.4g}")
        err.print(escape(f"without {without[0]!r} ({w['fill']['source']}, value "
                         f"{w['fill']['value']!r}): " + ", ".join(parts)))
    click.echo(json.dumps({"needed": result["needed"], "ignored": result["ignored"]}))


@main.group()
def data() -> None:
    """Training-data provenance: is this the data the model was built from?"""


@data.command("verify")
@click.argument("bundle", type=click.Path(file_okay=False))
@click.argument("data_file", metavar="DATA", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True)
def data_verify(bundle: str, data_file: str, as_json: bool) -> None:
    """Say whether DATA is the training set BUNDLE was built from, and if not what differs
    (columns added, removed, retyped or changed; rows added or removed). Streams DATA.

    Exit status 0 when it is (rows in any order), 1 when it differs.

    \b
    Example:
      staticml data verify dist/churn train.parquet --json
    """
    from . import api

    report = _run(api.data_verify, bundle, data_file)
    if as_json:
        _emit_json({k: v for k, v in report.items() if k != "fingerprint"})
    else:
        for line in report.get("summary", []):
            err.print(line, soft_wrap=True, markup=False)
        err.print({"same": "[green]same data[/]",
                   "same_rows_different_order": "[green]same rows[/], in a different order"}
                  .get(report["status"], "[red]different data[/]"))
    sys.exit(EXIT_OK if report["status"] != "different" else EXIT_CHECK_FAILED)


@main.command()
@click.argument("bundle", type=click.Path(file_okay=False))
@click.argument("data_file", metavar="DATA", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True)
@click.option("--no-report", is_flag=True, help="Do not refresh BUNDLE/report.html.")
def drift(bundle: str, data_file: str, as_json: bool, no_report: bool) -> None:
    """Compare DATA (CSV/Parquet, streamed) with the training profile in BUNDLE: PSI, KS,
    out-of-range and unseen-category rates per column, and a verdict (PSI 0.1 moderate,
    0.25 major, beyond sampling noise).

    Exit status 1 on major drift in any column, 0 otherwise (for cron and CI).

    \b
    Example:
      staticml drift dist/churn last_week.parquet --json
    """
    from . import api

    report = _run(api.drift, bundle, data_file, write_report=not no_report)
    if as_json:
        _emit_json(report)
    else:
        t = Table("column", "PSI", "adjusted", "KS", "out of range / unseen", "missing",
                  "verdict", title=f"drift of {report['rows']} rows vs "
                                   f"{report['training_rows']} training rows")
        colour = {"none": "green", "moderate": "yellow", "major": "red"}
        for c in report["columns"]:
            odd = c.get("out_of_range_rate", c.get("unseen_rate"))
            t.add_row(escape(c["name"]), _num(c["psi"]), _num(c["psi_adjusted"]), _num(c["ks"]),
                      _num(odd), _num(c["missing_rate"]),
                      f"[{colour.get(c['verdict'], 'white')}]{c['verdict']}[/]")
        err.print(t)
        err.print(escape(f"verdict: {report['verdict']}"
                         + (f" ({', '.join(report['drifted'])})" if report["drifted"] else "")))
    sys.exit(EXIT_CHECK_FAILED if report["verdict"] == "major" else EXIT_OK)


def _num(v: Any) -> str:
    return "-" if v is None else f"{v:.3g}"


@main.command()
@click.argument("old", type=click.Path(file_okay=False))
@click.argument("new", type=click.Path(file_okay=False))
@click.option("--json", "as_json", is_flag=True)
def compat(old: str, new: str, as_json: bool) -> None:
    """Say whether bundle NEW can replace OLD without changing the application.

    Exit status 0 only when it can (1 when it cannot).

    \b
    Example:
      staticml compat dist/churn-v1 dist/churn-v2 --json
    """
    from .bundle import manifest as mf
    from .bundle.compat import compare

    a, b = _run(mf.read, Path(old)), _run(mf.read, Path(new))
    _run(mf.verify_files, Path(old), a)
    _run(mf.verify_files, Path(new), b)
    report = compare(a, b)
    if as_json:
        _emit_json(report)
    else:
        t = Table("change", "breaking", "detail")
        for f in report["findings"]:
            t.add_row(f["kind"], "[red]yes[/]" if f["breaking"] else "no", escape(f["detail"]))
        if report["findings"]:
            err.print(t)
        err.print("[green]compatible[/]: NEW can replace OLD" if report["compatible"] else
                  f"[red]not compatible[/]: {report['breaking']} breaking change(s)")
    sys.exit(EXIT_OK if report["compatible"] else EXIT_CHECK_FAILED)


@main.command()
@click.option("-o", "--out", default="staticml-quickstart", show_default=True,
              type=click.Path(file_okay=False), help="Directory for everything it makes.")
@click.option("--json", "as_json", is_flag=True)
def quickstart(out: str, as_json: bool) -> None:
    """Train a built-in churn model, build it, verify it, and run the C example on it.

    \b
    Example:
      staticml quickstart --out /tmp/qs
    """
    from . import quickstart as qs

    res = _run(qs.run, Path(out), _say)
    summary = {"bundle": str(res.bundle), "model": str(res.model_file),
               "data": str(res.data_file), "c_demo": str(res.demo),
               "held_out_accuracy": res.accuracy, "c_output_matches_python": res.c_matches,
               "parity": {k: res.parity[k] for k in ("rows", "label_mismatches",
                                                     "max_abs_diff", "passed")},
               "seconds": {k: round(v, 2) for k, v in res.seconds.items()}}
    if as_json:
        _emit_json(summary)
    else:
        t = Table("made", "where", title="staticml quickstart")
        t.add_row("trained model (skops)", escape(str(res.model_file)))
        t.add_row("bundle (header, C source, .so, manifest)", escape(str(res.bundle)))
        t.add_row("held-out customers", escape(str(res.data_file)))
        t.add_row("C program using the library", escape(str(res.demo)))
        err.print(t)
        err.print(f"Next: [bold]{escape(f'{res.demo} {res.data_file}')}[/] or "
                  f"[bold]staticml inspect {escape(str(res.bundle))}[/]")
        click.echo(str(res.bundle))
    if not res.c_matches:
        sys.exit(EXIT_CHECK_FAILED)


if __name__ == "__main__":  # pragma: no cover
    main()
