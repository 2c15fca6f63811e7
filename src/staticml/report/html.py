"""``report.html``: one self-contained page that says what a bundle is and why to trust it.

Why a static page: the people who sign off a model (reviewers, auditors, the on-call
engineer) read it in a browser, often offline, sometimes on paper. So the page is a single
file with inline CSS and inline SVG, no script, no font, no request of any kind; a
Content-Security-Policy ``<meta>`` forbids every fetch and every script, so even a bug in
the escaping below could not make a hostile column name run. Every string that comes from
the manifest or a drift report is escaped (a column can be called ``<script>``).

The renderer is tolerant: a manifest from an older staticml (no parity bits, no training
data) renders with those parts marked as absent, never with a traceback, because the
report is written at the end of a build and must not be what breaks it.
"""

from __future__ import annotations

import os
import tempfile
from html import escape
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from . import svg

REPORT = "report.html"
# Nothing may be fetched or run; inline CSS and the empty data: favicon are all it needs.
CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
       "form-action 'none'")
VERDICTS = ("none", "moderate", "major")
MAX_CATEGORIES_SHOWN = 12
DASH = "\u2014"  # (a name: f-string expressions may not hold backslashes before 3.12)

CSS = """
:root{--fg:#1f2933;--muted:#5b6573;--line:#d9dde3;--soft:#f4f6f8;--ok:#2f8a4c;--bad:#c8372d;
--warn:#b7791f;--accent:#2f6db5}
*{box-sizing:border-box}
html{-webkit-print-color-adjust:exact;print-color-adjust:exact}
body{margin:0 auto;max-width:1080px;padding:24px 28px 48px;color:var(--fg);background:#fff;
font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
h1{font-size:1.85em;margin:2px 0 6px}h2{font-size:1.35em;margin:30px 0 8px;padding-bottom:4px;
border-bottom:2px solid var(--line)}h3{font-size:1.07em;margin:18px 0 6px}
.kicker{margin:0;color:var(--muted);text-transform:uppercase;letter-spacing:.08em;font-size:.8em}
.muted,small{color:var(--muted)}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace;
font-size:.88em}
.hash{overflow-wrap:anywhere;word-break:break-all}
nav{margin:10px 0 4px;font-size:.93em}nav a{color:var(--accent);margin-right:14px;
text-decoration:none}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:3px 16px;margin:10px 0}
dl.facts dt{color:var(--muted)}dl.facts dd{margin:0}
table{border-collapse:collapse;width:100%;margin:6px 0 10px;font-size:.93em}
th,td{text-align:left;vertical-align:top;padding:4px 8px;border-bottom:1px solid var(--line)}
th{background:var(--soft);font-weight:600;white-space:nowrap}
td.num,th.num,.nowrap{white-space:nowrap}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
tr.off td{color:var(--muted)}
.badge{display:inline-block;padding:0 7px;border-radius:9px;font-size:.86em;font-weight:600;
line-height:1.5;border:1px solid transparent;white-space:nowrap}
.b-ok{background:#e3f4e8;color:#1e6b38;border-color:#a9d9b7}
.b-bad{background:#fbe4e2;color:#9b231b;border-color:#eea8a1}
.b-warn{background:#fdf0d5;color:#8a5a0b;border-color:#ecc77c}
.b-muted{background:var(--soft);color:var(--muted);border-color:var(--line)}
.chip{display:inline-block;margin:0 4px 2px 0;padding:0 5px;border:1px solid var(--line);
border-radius:4px;background:var(--soft)}
figure{margin:8px 0 14px}figcaption{font-size:.86em;color:var(--muted);margin-top:2px}
.chartbox{overflow-x:auto}
svg.chart{max-width:100%;height:auto;display:block}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(250px,1fr));gap:10px 14px}
.card{border:1px solid var(--line);border-radius:6px;padding:8px 10px 6px}
.card h3{margin:0 0 4px;font-size:.93em;overflow-wrap:anywhere}
.card svg.chart{width:100%}.card p{margin:2px 0;font-size:.82em;color:var(--muted)}
.note{background:var(--soft);border-left:3px solid var(--line);padding:6px 10px;margin:8px 0}
ul.problems{margin:2px 0;padding-left:18px;color:var(--bad)}
footer{margin-top:36px;color:var(--muted);font-size:.86em;border-top:1px solid var(--line);
padding-top:8px}
@page{margin:14mm}
@media print{body{max-width:none;padding:0;font-size:9pt}nav{display:none}
th,td{padding:2px 5px}
h2{break-after:avoid}figure,.card,tr,dl.facts{break-inside:avoid}.chartbox{overflow:visible}
a{color:inherit;text-decoration:none}}
"""


# ----------------------------------------------------------------------------- small helpers

def _e(v: Any) -> str:
    """Escaped text for element content and quoted attributes alike."""
    return escape("" if v is None else str(v), quote=True)


_num = svg._finite  # a finite float, or None for null/strings/NaN/huge ints


def _g(v: Any, digits: int = 6) -> str:
    f = _num(v)
    if f is None:
        return DASH
    return str(int(f)) if f.is_integer() and abs(f) < 1e15 else f"{f:.{digits}g}"


def _pct(v: Any) -> str:
    f = _num(v)
    return DASH if f is None else f"{100 * f:.1f}%" if f else "0%"


def _size(n: Any) -> str:
    f = _num(n)
    if f is None:
        return DASH
    for unit in ("B", "KiB", "MiB", "GiB"):
        if f < 1024 or unit == "GiB":
            return f"{f:.0f} {unit}" if unit == "B" else f"{f:.1f} {unit}"
        f /= 1024
    return ""  # unreachable


def _badge(text: str, tone: str) -> str:
    return f'<span class="badge b-{tone}">{_e(text)}</span>'


def _verdict_badge(verdict: Any, prefix: str = "drift: ") -> str:
    tone = {"none": "ok", "moderate": "warn", "major": "bad"}.get(str(verdict), "muted")
    return _badge(f"{prefix}{verdict}" if verdict in VERDICTS else str(verdict or "unknown"),
                  tone)


def _table(head: Sequence[str], rows: Iterable[str], nums: Sequence[int] = ()) -> str:
    ths = "".join(f'<th{" class=num" if i in nums else ""}>{_e(h)}</th>'
                  for i, h in enumerate(head))
    return f"<table><thead><tr>{ths}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _tr(cells: Sequence[str], nums: Sequence[int] = (), cls: str = "") -> str:
    """A row of already-escaped cells."""
    tds = "".join(f'<td{" class=num" if i in nums else ""}>{c}</td>' for i, c in enumerate(cells))
    return f'<tr{f" class={cls}" if cls else ""}>{tds}</tr>'


def _dict(v: Any) -> dict:
    return v if isinstance(v, Mapping) else {}


def _list(v: Any) -> list:
    return list(v) if isinstance(v, (list, tuple)) else []


# ----------------------------------------------------------------------------- sections

def _header(m: dict, drift: dict | None) -> str:
    src = _dict(m.get("source_model"))
    outs = _dict(m.get("outputs"))
    versions = " \u00b7 ".join(f"{_e(k)} {_e(v)}" for k, v in _dict(src.get("versions")).items())
    built = m.get("built_at") or m.get("created_at")
    parity = _dict(m.get("parity"))
    failed = [t for t, r in parity.items() if _dict(r).get("passed") is False]
    ran = [t for t, r in parity.items() if _dict(r).get("ran", True)]
    not_run = len(parity) - len(ran)
    badges = []
    if parity:
        badges.append(_badge(f"parity failed: {', '.join(map(str, failed))}", "bad") if failed
                      else _badge(f"parity passed ({len(ran)} checked)", "ok"))
        if not_run:
            badges.append(_badge(f"{not_run} not run here", "muted"))
    else:
        badges.append(_badge("no parity report", "muted"))
    if drift is not None:
        badges.append(_verdict_badge(_dict(drift).get("verdict")))
    classes = outs.get("classes")
    output = (f"{len(classes)} classes: " + ", ".join(f"<code>{_e(c)}</code>" for c in classes[:20])
              + (" \u2026" if len(classes) > 20 else "")) if isinstance(classes, list) else (
        f"{_e(outs.get('n_outputs', '?'))} value(s)" if outs else DASH)
    facts = [
        ("Model type", _e(src.get("type") or "unknown")),
        ("Class", f"<code>{_e(src.get('class') or 'unknown')}</code>"),
        ("Library", _e(src.get("library") or "unknown")),
        ("Task", _e(m.get("task") or "unknown")),
        ("Outputs", output),
        ("Model version", _e(m.get("model_version", DASH))),
        ("staticml / ABI", f"{_e(m.get('staticml_version', '?'))} / "
                           f"{_e(m.get('abi_version', '?'))}"),
        ("Built with", versions or DASH),
        ("Built", _e(built) if built else '<span class="muted">not recorded in the manifest'
                                          '</span>'),
        ("Schema sha256", f'<code class="hash">{_e(m.get("schema_sha256", DASH))}</code>'),
        ("Model sha256", f'<code class="hash">{_e(src.get("sha256", DASH))}</code>'),
        ("Source file", _e(src.get("file")) if src.get("file") else
         '<span class="muted">in-memory model</span>'),
        ("Contract", f"out-of-contract values: <code>"
                     f"{_e(_dict(m.get('contract')).get('on_violation', DASH))}</code>"),
    ]
    dl = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in facts)
    nav = "".join(f'<a href="#{a}">{t}</a>' for a, t in (
        ("schema", "Inputs"), ("targets", "Targets"), ("parity", "Parity"),
        ("training", "Training data"), ("drift", "Drift"), ("files", "Files")))
    return (f'<header><p class="kicker">staticml bundle report</p>'
            f'<h1>{_e(m.get("name", "unnamed"))}</h1><p>{" ".join(badges)}</p>'
            f'<nav>{nav}</nav><dl class="facts">{dl}</dl></header>')


def _range_cell(col: dict) -> str:
    cats = col.get("categories", col.get("vocabulary"))
    if col.get("kind") == "categorical" or (isinstance(cats, list) and cats):
        cats = _list(cats)
        shown = "".join(f'<span class="chip">{_e(c)}</span>' for c in cats[:MAX_CATEGORIES_SHOWN])
        more = (f' <small>+{len(cats) - MAX_CATEGORIES_SHOWN} more</small>'
                if len(cats) > MAX_CATEGORIES_SHOWN else "")
        return (shown + more) or '<span class="muted">no categories</span>'
    rng = _list(col.get("range"))
    if len(rng) == 2:
        return f"{_e(_g(rng[0]))} \u2026 {_e(_g(rng[1]))}"
    return '<span class="muted">\u2014</span>'


def _schema(m: dict) -> str:
    rows = []
    for i, col in enumerate(_list(m.get("inputs"))):
        col = _dict(col)
        used = col.get("used", True)
        fb = _dict(col.get("fallback"))
        fb_cell = (f"{_e(fb.get('strategy'))} \u2192 <code>{_e(fb.get('value'))}</code>"
                   if fb else DASH)
        missing = ("allowed" if col.get("missing_allowed") else "refused")
        rate = _num(col.get("missing_rate"))
        if rate:
            missing += f" <small>({_pct(rate)} in sample)</small>"
        dtype = _e(col.get("dtype", "?"))
        if col.get("source_dtype"):
            dtype += f" <small>from {_e(col['source_dtype'])}</small>"
        rows.append(_tr([str(i), f"<code>{_e(col.get('name'))}</code>", _e(col.get("kind", "?")),
                         dtype, _range_cell(col), missing,
                         "used" if used else _badge("ignored", "muted"), fb_cell],
                        nums=(0,), cls="" if used else "off"))
    dropped = _list(m.get("dropped_inputs"))
    note = ""
    if dropped:
        note = ('<p class="note">Dropped from the API (no output depends on them): '
                + ", ".join(f"<code>{_e(d)}</code>" for d in dropped) + "</p>")
    ignored = [c for c in _list(m.get("inputs")) if _dict(c).get("used") is False]
    if ignored:
        note += (f'<p class="note">{len(ignored)} input(s) are accepted but no output depends on '
                 "them; building with <code>drop_unused</code> removes them from the API.</p>")
    if not rows:
        return '<section id="schema"><h2>Inputs</h2><p class="muted">No inputs recorded.</p>' \
               + note + "</section>"
    return ('<section id="schema"><h2>Inputs</h2>'
            + _table(["#", "Column", "Kind", "dtype", "Range / categories", "Missing", "Use",
                      "Fallback"], rows, nums=(0,)) + note + "</section>")


def _targets(m: dict) -> str:
    rows = []
    for name, t in _dict(m.get("targets")).items():
        t = _dict(t)
        extra = [p for p in _list(t.get("files")) if p != t.get("path")]
        path = f"<code>{_e(t.get('path', '?'))}</code>" + "".join(
            f"<br><small><code>{_e(p)}</code></small>" for p in extra)
        rows.append(_tr([f'<b class="nowrap">{_e(name)}</b>', _e(t.get("platform", name)), path,
                         _e(_size(t.get("size"))), _e(t.get("toolchain", DASH)),
                         _e(_g(t.get("seconds"), 3))], nums=(3, 5)))
    body = (_table(["Target", "Platform", "File", "Size", "Toolchain", "Build s"], rows,
                   nums=(3, 5)) if rows else '<p class="muted">No targets recorded.</p>')
    return f'<section id="targets"><h2>Targets</h2>{body}</section>'


def _bits_cell(rep: dict) -> str:
    """"identical", the ulp distance, or why there is nothing to compare."""
    if not rep.get("ran", True):
        return '<span class="muted">not run</span>'
    bits = rep.get("bits")
    if not isinstance(bits, Mapping):
        what = "interpreter" if rep.get("target") == "ir" else "not recorded"
        return f'<span class="muted">n/a ({what})</span>'
    if bits.get("reference"):
        return _badge("reference", "muted")
    if bits.get("identical"):
        return _badge("identical", "ok")
    parts = []
    if bits.get("problem"):
        parts.append(_e(bits["problem"]))
    if bits.get("max_ulps") is not None:
        parts.append(f"{_e(bits['max_ulps'])} ulps")
    if bits.get("identical_rows") is not None and bits.get("rows") is not None:
        parts.append(f"{_e(bits['identical_rows'])}/{_e(bits['rows'])} rows identical")
    if bits.get("status_mismatches"):
        parts.append(f"{_e(bits['status_mismatches'])} status diffs")
    if bits.get("nan_mismatches"):
        parts.append(f"{_e(bits['nan_mismatches'])} NaN diffs")
    return _badge("differs", "warn") + " " + ", ".join(parts)


def _structure_html(st: dict) -> str:
    problems = [str(p) for p in _list(st.get("problems"))]
    info = _dict(st.get("info"))
    bits = [f"{_e(k)} {_e(info[k])}" for k in ("format", "arch", "min_os", "platform")
            if info.get(k) is not None]
    exports = _list(info.get("exports"))
    if exports:
        bits.append(f"{len(exports)} exports")
    desc = f"<small>{', '.join(bits)}</small>" if bits else ""
    if problems:
        return (_badge("structure: problems", "bad") + " " + desc + '<ul class="problems">'
                + "".join(f"<li>{_e(p)}</li>" for p in problems) + "</ul>")
    return _badge("structure ok", "ok") + " " + desc


def _diffs_text(rep: dict) -> str:
    d = _dict(rep.get("max_abs_diff"))
    if not d:
        return DASH
    return "<br>".join(f'<span class="nowrap">{_e(k)} <span class=mono>'
                       f"{_e(svg.fmt(_num(v)))}</span></span>" for k, v in d.items())


def _parity_notes(rep: dict) -> str:
    """What else a reader needs to trust (or doubt) this target's row; the common facts
    (reference, tolerance) are said once above the table instead."""
    notes = []
    if not rep.get("ran", True):
        notes.append(f"not run here: {_e(rep.get('reason', 'no reason given'))}")
    if isinstance(rep.get("structure"), Mapping):
        notes.append(_structure_html(rep["structure"]))
    if rep.get("refused_rows_excluded"):
        notes.append(f"{_e(rep['refused_rows_excluded'])} rows the host refuses excluded "
                     "(this target cannot refuse a row)")
    if rep.get("contract_refused_rows"):
        notes.append(f"{_e(rep['contract_refused_rows'])} rows refused by the contract, "
                     "not compared")
    worst = [w for w in _list(rep.get("worst_rows")) if isinstance(w, Mapping)]
    if worst and rep.get("passed") is False:
        notes.append("worst rows listed below")
    return "<br>".join(notes)


def _result_badge(rep: dict) -> str:
    passed = rep.get("passed")
    if passed is True:
        return _badge("passed", "ok")
    if passed is False:
        return _badge("FAILED", "bad")
    return _badge("not run", "muted")


def _worst_table(parity: dict) -> str:
    rows = []
    for target, rep in parity.items():
        rep = _dict(rep)
        if rep.get("passed") is not False:
            continue
        for w in _list(rep.get("worst_rows")):
            w = _dict(w)
            flags = [t for t, k in (("label mismatch", "label_mismatch"),
                                    ("model raised", "reference_error"),
                                    ("artifact refused", "artifact_error")) if w.get(k)]
            rows.append(_tr([_e(target), _e(w.get("row")), _e(w.get("what")),
                             f"<span class=mono>{_e(svg.fmt(_num(w.get('abs_diff'))))}</span>",
                             _e(", ".join(flags) or DASH)], nums=(1, 3)))
    if not rows:
        return ""
    return ("<h3>Worst rows of the failing targets</h3>"
            + _table(["Target", "Row", "What", "|diff|", "Flags"], rows, nums=(1, 3)))


def _diff_groups(parity: dict) -> list[svg.DiffGroup]:
    groups = []
    for target, rep in parity.items():
        rep = _dict(rep)
        if not rep.get("ran", True):
            note = "not run here"
            st = rep.get("structure")
            if isinstance(st, Mapping):
                note += ("; structure ok" if not _list(st.get("problems"))
                         else "; structure problems")
            groups.append(svg.DiffGroup(str(target), {}, None, note))
            continue
        diffs = {str(k): _num(v) for k, v in _dict(rep.get("max_abs_diff")).items()}
        groups.append(svg.DiffGroup(str(target), diffs, _num(rep.get("tolerance")),
                                    "" if diffs else "no outputs compared"))
    return groups


def _detail_series(parity_details: Mapping) -> list[tuple[str, list[float]]]:
    """``{target: [per-row |diff|]}`` or ``{target: {"abs_diff": [...]}}`` as series."""
    out = []
    for target, v in parity_details.items():
        if isinstance(v, Mapping):
            v = v.get("abs_diff", v.get("diffs"))
        try:
            vals = [float(x) for x in v]  # type: ignore[union-attr]
        except (TypeError, ValueError):
            continue
        out.append((str(target), vals))
    return out


def _parity(m: dict, parity_details: Mapping | None) -> str:
    parity = _dict(m.get("parity"))
    if not parity:
        return ('<section id="parity"><h2>Parity</h2><p class="muted">This manifest holds no '
                "parity report.</p></section>")
    reps = {str(t): _dict(r) for t, r in parity.items()}
    tols = {_num(r.get("tolerance")) for r in reps.values() if r.get("ran", True)} - {None}
    refs = {str(r["reference"]) for r in reps.values() if r.get("reference")}
    one_tol = len(tols) <= 1
    rows = []
    for target, rep in reps.items():
        ran = rep.get("ran", True)
        rows_cell = _e(_g(rep.get("rows"))) if ran else DASH
        if ran and rep.get("rows_refused_by_both"):
            rows_cell += f"<br><small>{_e(rep['rows_refused_by_both'])} refused by both</small>"
        mism = (f"{_e(_g(rep.get('label_mismatches')))} / {_e(_g(rep.get('error_mismatches')))}"
                if ran else DASH)
        cells = [f'<b class="nowrap">{_e(target)}</b>', _result_badge(rep), rows_cell, mism,
                 _diffs_text(rep) if ran else DASH]
        if not one_tol:
            cells.append(f"<span class=mono>{_e(svg.fmt(_num(rep.get('tolerance'))))}</span>")
        cells += [_bits_cell(rep), _parity_notes(rep)]
        rows.append(_tr(cells, nums=(2, 3)))
    head = ["Target", "Result", "Rows", "Label / error mism.", "Max |diff|",
            *([] if one_tol else ["Tolerance"]), "vs host library", "Notes"]
    table = _table(head, rows, nums=(2, 3))
    said = []
    if refs:
        said.append("against the " + " / ".join(_e(r) for r in sorted(refs)))
    if one_tol and tols:
        said.append(f"with tolerance <span class=mono>{_e(svg.fmt(next(iter(tols))))}</span>")
    chart = svg.diff_bars(_diff_groups(parity),
                          title="Largest absolute difference from the reference, per output "
                                "kind and target (log scale)")
    out = ['<section id="parity"><h2>Parity</h2>',
           '<p class="muted">Each target ran the sample and probe rows and was compared '
           f"{' '.join(said) or 'with the original model'}; <i>vs host library</i> compares "
           "its outputs bit for bit with this machine's library. Mismatches are label / "
           "error (one side refused a row the other did not).</p>", table,
           f'<figure class="chartbox">{chart}<figcaption>Max |diff| per output kind and target, '
           "log scale. Exact zeros sit on the floor (\u201c= 0\u201d); the dashed red tick is "
           "the tolerance.</figcaption></figure>"]
    if parity_details:
        series = _detail_series(parity_details)
        if series:
            tols = [_num(_dict(r).get("tolerance")) for r in parity.values()]
            tol = max((t for t in tols if t), default=None)
            strip = svg.diff_strip(series, tolerance=tol, title="Per-row absolute difference "
                                   "per target (log scale)")
            out.append(f'<figure class="chartbox">{strip}<figcaption>Each dot is one compared '
                       "row (largest |diff| over its outputs); zeros are counted on the right."
                       "</figcaption></figure>")
    out.append(_worst_table(parity))
    out.append("</section>")
    return "".join(out)


# ----------------------------------------------------------------------------- training data

def _drift_columns(drift: Mapping | None) -> dict[str, dict]:
    """Per-column drift entries by name (the report holds a list; accept a mapping too)."""
    if not drift:
        return {}
    cols = drift.get("columns")
    if isinstance(cols, Mapping):
        return {str(k): {"name": k, **_dict(v)} for k, v in cols.items()}
    return {str(_dict(c).get("name")): _dict(c) for c in _list(cols)}


def _profile_card(col: dict, d: dict | None) -> str:
    name = col.get("name")
    kind = col.get("kind")
    stats: list[str] = []
    dcounts = _list(d.get("counts")) if d else []
    if kind in ("number", "numeric"):
        counts = _list(col.get("counts"))
        compare = dcounts[:len(counts)] if len(dcounts) >= len(counts) and dcounts else None
        chart = svg.histogram(_list(col.get("edges")), counts, _num(col.get("min")),
                              _num(col.get("max")), compare=compare,
                              title=f"{name}: training distribution")
        stats.append(f"min {_e(_g(col.get('min'), 4))} \u00b7 max {_e(_g(col.get('max'), 4))}")
        stats.append(f"mean {_e(_g(col.get('mean'), 4))} \u00b7 std {_e(_g(col.get('std'), 4))}")
        if col.get("infinite"):
            stats.append(f"{_e(col['infinite'])} infinite values")
    else:
        counts = _list(col.get("counts"))
        cats = _list(col.get("categories"))
        n = len(cats)
        compare = dcounts[:n] if len(dcounts) >= n + 1 and n else None
        chart = svg.category_bars(cats, counts, unseen=_num(col.get("unseen")) or 0.0,
                                  compare=compare,
                                  compare_unseen=(_num(dcounts[n]) or 0.0) if compare else 0.0,
                                  title=f"{name}: training category frequencies")
        if col.get("unseen"):
            stats.append(f"unseen {_pct(col.get('unseen_rate'))} (not in the vocabulary)")
    stats.append(f"missing {_pct(col.get('missing_rate'))}")
    if d is not None:
        stats.append(f"new data: missing {_pct(d.get('missing_rate'))}"
                     + (" \u00b7 dark outline = new data" if dcounts else ""))
    return (f'<div class="card"><h3><code>{_e(name)}</code> <small>{_e(kind)}</small></h3>'
            f"{chart}" + "".join(f"<p>{s}</p>" for s in stats) + "</div>")


def _training(m: dict, drift: Mapping | None) -> str:
    td = m.get("training_data")
    head = '<section id="training"><h2>Training data</h2>'
    if not isinstance(td, Mapping) or not td:
        return (head + '<p class="muted">This bundle records no training data (no fingerprint, '
                "no profile), so it cannot be checked for drift.</p></section>")
    out = [head]
    fp = _dict(td.get("fingerprint"))
    if fp:
        facts = [("Rows", _e(_g(fp.get("rows")))),
                 ("Columns", _e(len(_list(fp.get("columns"))) or DASH)),
                 ("Content sha256", f'<code class="hash">{_e(fp.get("content_sha256", DASH))}'
                                    "</code> <small>(row order matters)</small>"),
                 ("Unordered sha256", f'<code class="hash">'
                                      f'{_e(fp.get("unordered_sha256", DASH))}</code>')]
        out.append('<dl class="facts">' + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in facts)
                   + "</dl>")
    prof = _dict(td.get("profile"))
    cols = [_dict(c) for c in _list(prof.get("columns"))]
    if cols:
        src = _dict(prof.get("edges_from"))
        how = ("" if src.get("exact", True) else
               f" (bin edges from a sample of {_e(_g(src.get('rows')))} rows; counts exact)")
        out.append(f'<p class="muted">Profile of {_e(_g(prof.get("rows")))} training rows{how}. '
                   "Numbers: bars over the decile bins, area = share of rows. Strings: share "
                   "of each category.</p>")
        dcols = _drift_columns(drift)
        out.append('<div class="grid">' + "".join(
            _profile_card(c, dcols.get(str(c.get("name")))) for c in cols) + "</div>")
    else:
        out.append('<p class="muted">No training profile recorded.</p>')
    out.append("</section>")
    return "".join(out)


def _drift(drift: Mapping | None) -> str:
    head = '<section id="drift"><h2>Drift</h2>'
    if drift is None:
        return (head + '<p class="muted">No drift check in this report (comparing new data '
                "with the training profile adds one).</p></section>")
    cols = list(_drift_columns(drift).values())
    th = _dict(drift.get("thresholds"))
    moderate = _num(th.get("moderate")) or 0.1
    major = _num(th.get("major")) or 0.25
    adjusted = any("psi_adjusted" in c for c in cols)
    key = "psi_adjusted" if adjusted else "psi"
    rule = f" ({_e(th['statistic'])})" if th.get("statistic") else ""
    out = [head, f"<p>{_verdict_badge(drift.get('verdict'))} "
                 f"{_e(_g(drift.get('rows')))} new rows against "
                 f"{_e(_g(drift.get('training_rows')))} training rows. Verdict per column from "
                 f"<code>{key}</code>{rule}: none \u2264 {_e(_g(moderate))} &lt; moderate "
                 f"\u2264 {_e(_g(major))} &lt; major.</p>"]
    order = sorted(cols, key=lambda c: -(_num(c.get(key)) or -1.0))
    if order:
        chart = svg.psi_bars([(str(c.get("name")), _num(c.get(key)), str(c.get("verdict")))
                              for c in order], thresholds=(moderate, major),
                             marks=[_num(c.get("psi")) for c in order] if adjusted else None,
                             title=f"{key} per column with the {moderate:g} and {major:g} lines")
        mark = " The dark tick is the raw PSI." if adjusted else ""
        out.append(f'<figure class="chartbox">{chart}<figcaption>{key} per column, largest '
                   f"first, coloured by verdict; dashed lines at {_e(_g(moderate))} (moderate) "
                   f"and {_e(_g(major))} (major).{mark}</figcaption></figure>")
    noise = any("noise_level" in c for c in cols)
    rows = []
    for c in order:
        extra = ("out of range " + _pct(c.get("out_of_range_rate"))
                 if "out_of_range_rate" in c else
                 "unseen " + _pct(c.get("unseen_rate")) if "unseen_rate" in c else DASH)
        cells = [f"<code>{_e(c.get('name'))}</code>", _verdict_badge(c.get("verdict"), ""),
                 _e(_g(c.get("psi"), 3)), _e(_g(c.get("psi_adjusted"), 3))]
        if noise:
            cells.append(_e(_g(c.get("noise_level"), 3)))
        cells += [_e(_g(c.get("ks"), 3)), _e(extra),
                  f"{_e(_pct(c.get('missing_rate')))} <small>(training "
                  f"{_e(_pct(c.get('training_missing_rate')))})</small>"]
        rows.append(_tr(cells, nums=(2, 3, 4, 5) if noise else (2, 3, 4)))
    if rows:
        head_row = ["Column", "Verdict", "PSI", "PSI adj.", *(["Noise level"] if noise else []),
                    "KS", "Out of range / unseen", "Missing"]
        out.append(_table(head_row, rows, nums=(2, 3, 4, 5) if noise else (2, 3, 4)))
    out.append("</section>")
    return "".join(out)


def _files(m: dict) -> str:
    files = _dict(m.get("files"))
    if not files:
        return ('<section id="files"><h2>Files</h2><p class="muted">No files listed.</p>'
                "</section>")
    rows = [_tr([f"<code>{_e(p)}</code>", _e(_size(_dict(r).get("size"))),
                 f'<code class="hash">{_e(_dict(r).get("sha256", DASH))}</code>'], nums=(1,))
            for p, r in files.items()]
    return ('<section id="files"><h2>Files</h2><p class="muted">Checked against these hashes '
            "before any binary is loaded.</p>"
            + _table(["Path", "Size", "sha256"], rows, nums=(1,)) + "</section>")


# ----------------------------------------------------------------------------- public

def render_report(manifest: dict, drift: dict | None = None,
                  parity_details: dict | None = None) -> str:
    """The report page for ``manifest`` as one HTML5 string.

    ``drift`` is a report from ``staticml.data.drift.drift`` (its per-column counts are
    drawn over the training histograms). ``parity_details`` optionally maps a target to its
    per-row |diff| values (a list, or ``{"abs_diff": [...]}``) for a strip plot; the
    manifest only keeps the worst rows. The output is deterministic: same inputs, same
    bytes (no timestamps of its own).
    """
    m = _dict(manifest)
    drift = None if drift is None else _dict(drift)
    name = m.get("name", "unnamed")
    body = "".join([_header(m, drift), _schema(m), _targets(m), _parity(m, parity_details),
                    _training(m, drift), _drift(drift), _files(m)])
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f'<meta http-equiv="Content-Security-Policy" content="{_e(CSP)}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<meta name="generator" content="staticml {_e(m.get("staticml_version", ""))}">'
            f"<title>{_e(name)} \u2014 staticml report</title>"
            '<link rel="icon" href="data:,">'
            f"<style>{CSS}</style></head>\n<body>{body}"
            f"<footer>Generated by staticml {_e(m.get('staticml_version', ''))} from "
            "<code>manifest.json</code>. This page is self-contained: no scripts, fonts or "
            "network requests.</footer></body></html>\n")


def write_report(root: Path, manifest: dict, drift: dict | None = None) -> Path:
    """Write ``root/report.html`` atomically (temp file in ``root``, then ``os.replace``),
    so a reader never sees half a page and a failed write leaves the old report intact."""
    root = Path(root)
    text = render_report(manifest, drift)
    fd, tmp = tempfile.mkstemp(prefix=f".{REPORT}.", suffix=".tmp", dir=root)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it 0600; a report is meant to be shared
        os.replace(tmp, root / REPORT)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return root / REPORT
