"""Print the drift monitor: a caller-allocated ``NAME_monitor`` counting rows per bin.

An embedded application tracks drift on the device itself::

    NAME_monitor mon;                       /* on the stack, in a static, anywhere */
    NAME_monitor_init(&mon);
    for (...) { NAME_monitor_observe(&mon, x_row); NAME_predict_matrix(x_row, 1, out, 0); }
    if (NAME_monitor_verdict(&mon, col) == 2) ...   /* major drift in input column col */

``x_row`` is one row of ``NAME_predict_matrix``'s flat input (numbers; string columns as
vocabulary codes, -1 unseen, NaN missing).  The struct holds only counters (``uint64_t``),
the training profile is compiled in as constant tables, and every statistic is computed
on demand from the counters: no globals, no allocation, no libc (``sm_log`` from
``sm_math.h``).  Binning and statistics live in the hand-written ``runtime/sm_monitor.h``
and mirror ``staticml.data.profile`` / ``staticml.data.drift`` operation by operation,
so the C monitor and ``staticml drift`` agree on the same rows; the counters can also be
read back and turned into the full Python report (``drift.report_from_counters``).

``render_monitor`` returns the header declarations (for ``NAME.h``, after ``NAME_API`` and
``NAME_E_ARGUMENT`` are defined, with ``<stdint.h>``/``<stddef.h>`` included) and the
source (for ``NAME.c``, after ``sm_math.h``; it carries ``sm_monitor.h`` itself).
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Sequence

from ...data.drift import MAJOR, MODERATE, counter_layout, critical_value, degrees_of_freedom
from ...data.profile import FORMAT, bin_counts
from ...errors import BuildError
from ...ir.ops import InputColumn
from ..literals import c_array, c_double


def monitor_runtime_text() -> str:
    return (resources.files(__package__) / "runtime" / "sm_monitor.h").read_text()


def _check(profile: dict, inputs: Sequence[InputColumn]) -> None:
    if profile.get("format") != FORMAT:
        raise BuildError(f"not a staticml training profile (format {profile.get('format')!r})")
    cols = profile["columns"]
    if [c["name"] for c in cols] != [c.name for c in inputs]:
        raise BuildError("the training profile's columns "
                         f"{[c['name'] for c in cols]} are not the model's inputs "
                         f"{[c.name for c in inputs]}")
    for col, inp in zip(cols, inputs):
        if col["kind"] != inp.dtype:
            raise BuildError(f"column {inp.name!r} is {inp.dtype} in the model but "
                             f"{col['kind']} in the training profile")
        if inp.dtype == "string" and tuple(col["categories"]) != tuple(inp.vocabulary):
            raise BuildError(f"column {inp.name!r}: the training profile's categories are "
                             "not the model's vocabulary")
    if profile["rows"] <= 0:
        raise BuildError("the training profile has no rows")


def render_monitor(profile: dict, inputs: Sequence[InputColumn], name: str) -> tuple[str, str]:
    """(header declarations, C source) of ``NAME_monitor`` for ``profile`` (see module doc)."""
    inputs = list(inputs)
    _check(profile, inputs)
    N = name.upper()
    cols = profile["columns"]
    layout = counter_layout(profile)
    n_counters = sum(nb + (1 if num else 0) for _, nb, num in layout)
    train_rows = float(profile["rows"])

    kind, param, edge0, start, nbins = [], [], [], [], []
    edges: list[float] = []
    lo, hi, df, crit = [], [], [], []
    train = [0.0] * max(n_counters, 1)
    for col, (s, nb, _) in zip(cols, layout):
        counts = bin_counts(col)
        train[s:s + nb] = [float(c) for c in counts]
        start.append(s)
        nbins.append(nb)
        d = degrees_of_freedom(counts)
        df.append(float(d))
        crit.append(critical_value(d))
        edge0.append(len(edges))
        if col["kind"] == "number":
            kind.append(0)
            param.append(len(col["edges"]))
            edges += [float(e) for e in col["edges"]]
            lo.append(float("inf") if col["min"] is None else float(col["min"]))
            hi.append(float("-inf") if col["max"] is None else float(col["max"]))
        else:
            kind.append(1)
            param.append(len(col["categories"]))
            lo.append(0.0)
            hi.append(0.0)

    p = f"{name}_mon_"
    layout_doc = []
    for col, (s, nb, num) in zip(cols, layout):
        what = (f"{nb - 1} value bin(s), missing; counts[{s + nb}] = outside the training "
                "range"
                if num else f"{nb - 2} categories, unseen, missing")
        layout_doc.append(f" *   counts[{s}..{s + nb - 1}] {json.dumps(col['name'])}: {what}")
    header = "\n".join([
        "/* ---- Drift monitor -----------------------------------------------------------",
        f" * A {name}_monitor counts, per input column, the rows falling in each bin of the",
        " * training profile; PSI and the drift verdict are computed from the counters on",
        " * demand. Caller-allocated (stack, static, anywhere), no globals, no allocation;",
        " * not synchronised: one monitor per thread, or lock around it.",
        f" * x_row: one row of {name}_predict_matrix's input ({N}_N_INPUTS doubles; string",
        " * columns as vocabulary codes, -1 = unseen, NaN = missing).",
        " * Counter layout (bins of number columns: [edge_k-1, edge_k), open-ended ends):",
        *layout_doc,
        " */",
        f"#define {N}_MONITOR_N_COLUMNS {len(cols)}",
        f"#define {N}_MONITOR_N_COUNTERS {max(n_counters, 1)}",
        f"typedef struct {name}_monitor {{",
        "    uint64_t rows;                               /* rows observed */",
        f"    uint64_t counts[{N}_MONITOR_N_COUNTERS];  /* rows per bin, layout above */",
        f"}} {name}_monitor;",
        "",
        "/* Start (or restart) a monitoring window: all counters to 0. */",
        f"{N}_API void {name}_monitor_init({name}_monitor *m);",
        f"/* Count one row; returns 0, or {N}_E_ARGUMENT for a NULL pointer. */",
        f"{N}_API int {name}_monitor_observe({name}_monitor *m, const double *x_row);",
        f"/* Count n rows of {N}_N_INPUTS doubles each. */",
        f"{N}_API int {name}_monitor_observe_matrix({name}_monitor *m, const double *x, "
        "size_t n);",
        f"{N}_API uint64_t {name}_monitor_rows(const {name}_monitor *m);",
        "/* Population stability index of input column `column` (0-based, input order) against",
        "   the training data; NaN before the first row or for a bad column. */",
        f"{N}_API double {name}_monitor_psi(const {name}_monitor *m, int column);",
        "/* PSI minus its expected value from sampling noise alone (>= 0). */",
        f"{N}_API double {name}_monitor_psi_adjusted(const {name}_monitor *m, int column);",
        "/* 0 = no drift, 1 = moderate (adjusted PSI > 0.1), 2 = major (> 0.25); both only",
        "   when PSI exceeds the sampling noise level. -1 for a bad column. */",
        f"{N}_API int {name}_monitor_verdict(const {name}_monitor *m, int column);",
        "/* Share of rows with a missing value in `column`. */",
        f"{N}_API double {name}_monitor_missing_rate(const {name}_monitor *m, int column);",
        "/* Share of non-missing values outside the training [min, max] (number columns) or",
        "   not in the vocabulary (string columns). */",
        f"{N}_API double {name}_monitor_out_of_range(const {name}_monitor *m, int column);",
        "",
    ])

    def i32(tab: str, values: list[int]) -> str:
        return c_array("int32_t", p + tab, values, per_line=12)

    def f64(tab: str, values: list[float]) -> str:
        return c_array("double", p + tab, values, fmt=c_double, per_line=4)

    ok = (f"if (m == NULL || column < 0 || column >= {N}_MONITOR_N_COLUMNS) "
          "return sm_mon_nan();")
    source = "\n".join([
        "/* ===== drift monitor (hand-written runtime, then the training profile) ===== */",
        monitor_runtime_text(),
        f"/* kind: 0 number, 1 string; param: edges or categories; start: first counter. */",
        i32("kind", kind), i32("param", param), i32("edge0", edge0), i32("start", start),
        i32("nbins", nbins),
        f64("edges", edges), f64("lo", lo), f64("hi", hi),
        "/* Training rows per counter (0 in out-of-range slots), PSI degrees of freedom,",
        "   chi-square 99% critical values. */",
        f64("train", train), f64("df", df), f64("crit", crit),
        f"static const double {p}train_rows = {c_double(train_rows)};",
        f"static const double {p}inv_train_rows = {c_double(1.0 / train_rows)};",
        "",
        f"void {name}_monitor_init({name}_monitor *m) {{",
        "    int32_t i;",
        "    if (m == NULL) return;",
        "    m->rows = 0;",
        f"    for (i = 0; i < {N}_MONITOR_N_COUNTERS; i++) m->counts[i] = 0;",
        "}", "",
        f"int {name}_monitor_observe({name}_monitor *m, const double *x) {{",
        "    int32_t c;",
        f"    if (m == NULL || x == NULL) return {N}_E_ARGUMENT;",
        f"    for (c = 0; c < {N}_MONITOR_N_COLUMNS; c++) {{",
        "        double v = x[c];",
        f"        uint64_t *cnt = m->counts + {p}start[c];",
        f"        if ({p}kind[c] == 0) {{",
        f"            cnt[sm_mon_bin_number({p}edges + {p}edge0[c], {p}param[c], v)]++;",
        f"            if (v < {p}lo[c] || v > {p}hi[c]) cnt[{p}nbins[c]]++;",
        "        } else {",
        f"            cnt[sm_mon_bin_code({p}param[c], v)]++;",
        "        }",
        "    }",
        "    m->rows++;",
        "    return 0;",
        "}", "",
        f"int {name}_monitor_observe_matrix({name}_monitor *m, const double *x, size_t n) {{",
        "    size_t r;",
        f"    if (m == NULL || (x == NULL && n > 0)) return {N}_E_ARGUMENT;",
        f"    for (r = 0; r < n; r++) {name}_monitor_observe(m, x + r * {N}_MONITOR_N_COLUMNS);",
        "    return 0;",
        "}", "",
        f"uint64_t {name}_monitor_rows(const {name}_monitor *m) {{ "
        "return m == NULL ? 0 : m->rows; }", "",
        f"double {name}_monitor_psi(const {name}_monitor *m, int column) {{",
        f"    {ok}",
        f"    return sm_mon_psi(m->counts + {p}start[column], {p}train + {p}start[column],",
        f"                      {p}nbins[column], m->rows, {p}train_rows);",
        "}", "",
        f"double {name}_monitor_psi_adjusted(const {name}_monitor *m, int column) {{",
        f"    {ok}",
        f"    return sm_mon_psi_adjusted({name}_monitor_psi(m, column), {p}df[column], m->rows,",
        f"                               {p}inv_train_rows);",
        "}", "",
        f"int {name}_monitor_verdict(const {name}_monitor *m, int column) {{",
        "    double psi;",
        f"    if (m == NULL || column < 0 || column >= {N}_MONITOR_N_COLUMNS) return -1;",
        f"    psi = {name}_monitor_psi(m, column);",
        f"    return sm_mon_verdict(psi, sm_mon_psi_adjusted(psi, {p}df[column], m->rows,",
        f"                          {p}inv_train_rows), {p}crit[column], m->rows,",
        f"                          {p}inv_train_rows, {c_double(MODERATE)}, {c_double(MAJOR)});",
        "}", "",
        f"double {name}_monitor_missing_rate(const {name}_monitor *m, int column) {{",
        f"    {ok}",
        "    if (m->rows == 0) return sm_mon_nan();",
        f"    return (double)m->counts[{p}start[column] + {p}nbins[column] - 1] / "
        "(double)m->rows;",
        "}", "",
        f"double {name}_monitor_out_of_range(const {name}_monitor *m, int column) {{",
        "    uint64_t present, out;",
        f"    {ok}",
        f"    present = m->rows - m->counts[{p}start[column] + {p}nbins[column] - 1];",
        "    if (present == 0) return sm_mon_nan();",
        f"    out = m->counts[{p}start[column] + {p}nbins[column]"
        f" - ({p}kind[column] == 0 ? 0 : 2)];",
        "    return (double)out / (double)present;",
        "}", "",
    ])
    return header, source
