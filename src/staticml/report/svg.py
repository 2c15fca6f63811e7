"""Tiny inline-SVG charts for the bundle report.

Why hand-written SVG: the report must open from a bundle directory on an air-gapped
machine, print, and survive being e-mailed, so it cannot load a charting library, a font
or anything else. A few kinds of chart cover it: a histogram over uneven bins, frequency
bars, horizontal bars on a log scale (parity differences, where exact zeros are common and
``log(0)`` is not), a strip of per-row values on the same log scale, and PSI bars with
their conventional thresholds.

Every function returns one ``<svg>`` element as a string, sized in CSS pixels with a
``viewBox`` so it scales down when printed. Every caller-supplied string is escaped here,
colours are attributes (not classes) so a printed or copied chart keeps them, and no
``xmlns`` or other URL appears (inline SVG in HTML5 does not need one).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape
from typing import Sequence

# Colours are module constants so the browser test can look for them in a screenshot.
# One per parity output kind (blue/orange/green/purple also differ in lightness, so they
# stay apart on a greyscale printer).
KIND_COLORS = {"proba": "#2f6db5", "decision": "#e07b22", "values": "#2e9a5b",
               "scores": "#8350c2"}
OTHER_KIND_COLOR = "#5f6b7a"
HIST_COLOR = "#4f7fbf"
CATEGORY_COLOR = "#3f9a8a"
UNSEEN_COLOR = "#b9bec7"
TOLERANCE_COLOR = "#c0392b"
COMPARE_COLOR = "#1f2933"   # new data drawn over the training distribution
VERDICT_COLORS = {"none": "#3d9a5f", "moderate": "#e0a020", "major": "#c8372d"}
UNKNOWN_COLOR = "#8a94a3"
AXIS_COLOR = "#6b7280"
GRID_COLOR = "#e3e6ea"
TEXT_COLOR = "#1f2933"

FONT = "font-family=\"system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif\""
LABEL_WIDTH = 150        # px reserved left of horizontal bars for their labels
MAX_LABEL_CHARS = 24     # labels longer than this are cut (the full text is in <title>)


def fmt(v: float | None) -> str:
    """Short number for a label (4 significant digits in [1e-3, 1e5), else 3 and a compact
    exponent: ``1e-9``, ``1.04e5``); ``0`` stays ``0`` so exact zeros read as exact."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    if v == 0:
        return "0"
    if isinstance(v, float) and math.isinf(v):
        return "inf" if v > 0 else "-inf"
    s = f"{v:.4g}" if 1e-3 <= abs(v) < 1e5 else f"{v:.3g}"
    return s.replace("e+0", "e").replace("e-0", "e-").replace("e+", "e")


def _n(x: float) -> str:
    """A coordinate: short, and never ``nan`` (which would make the element invalid)."""
    return "0" if not math.isfinite(x) else f"{x:.1f}".rstrip("0").rstrip(".")


def _short(label: str, limit: int = MAX_LABEL_CHARS) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "\u2026"


def _text(x: float, y: float, s: str, *, anchor: str = "start", size: int = 11,
          color: str = TEXT_COLOR, extra: str = "") -> str:
    return (f'<text x="{_n(x)}" y="{_n(y)}" text-anchor="{anchor}" font-size="{size}" '
            f'fill="{color}"{" " + extra if extra else ""}>{escape(s)}</text>')


def _open(width: float, height: float, title: str, cls: str) -> str:
    return (f'<svg class="chart {cls}" role="img" width="{_n(width)}" height="{_n(height)}" '
            f'viewBox="0 0 {_n(width)} {_n(height)}" {FONT}><title>{escape(title)}</title>')


def _finite(v: object) -> float | None:
    """``v`` as a float if it is a finite number (JSON may hold null, strings, NaN)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    try:
        f = float(v)
    except OverflowError:  # an int beyond float range
        return None
    return f if math.isfinite(f) else None


# ----------------------------------------------------------------------------- log axis

@dataclass(frozen=True)
class LogAxis:
    """A horizontal log10 axis from ``10**lo`` to ``10**hi`` over pixels ``x0..x1``.

    Values at or below ``10**lo`` (in particular exact zeros) map to ``x0``: that decade is
    the *floor*, drawn and labelled as such so a zero is not mistaken for a small number.
    """

    lo: int
    hi: int
    x0: float
    x1: float

    @classmethod
    def fit(cls, values: Sequence[float], x0: float, x1: float,
            floor: float = 1e-17) -> "LogAxis":
        """Span every positive value and put the floor a decade below the smallest one
        (but never above ``floor``, so "exact" and "one ulp off" stay visibly apart)."""
        pos = [v for v in values if v > 0 and math.isfinite(v)]
        lo = math.floor(math.log10(min(pos))) - 1 if pos else 0
        lo = min(lo, math.floor(math.log10(floor)))
        hi = math.ceil(math.log10(max(pos))) if pos else lo + 2
        hi = max(hi, lo + 2)
        if pos and max(pos) >= 10.0 ** hi:
            hi += 1
        return cls(lo, hi, x0, x1)

    def __call__(self, v: float) -> float:
        if not v > 0 or not math.isfinite(v):
            return self.x0 if not (math.isinf(v) and v > 0) else self.x1
        t = (math.log10(v) - self.lo) / (self.hi - self.lo)
        return self.x0 + min(max(t, 0.0), 1.0) * (self.x1 - self.x0)

    def ticks(self) -> list[int]:
        """Decades to label: at most ~8, always including both ends."""
        step = max(1, math.ceil((self.hi - self.lo) / 8))
        out = list(range(self.lo, self.hi + 1, step))
        if out[-1] != self.hi:
            out.append(self.hi)
        return out

    def draw(self, top: float, bottom: float) -> str:
        parts = []
        for e in self.ticks():
            x = self(10.0 ** e)
            parts.append(f'<line x1="{_n(x)}" y1="{_n(top)}" x2="{_n(x)}" y2="{_n(bottom)}" '
                         f'stroke="{GRID_COLOR}" stroke-width="1"/>')
            label = "0 / floor" if e == self.lo else f"1e{e}"
            parts.append(_text(x, bottom + 13, label, anchor="middle", size=10,
                               color=AXIS_COLOR))
        parts.append(f'<line x1="{_n(self.x0)}" y1="{_n(bottom)}" x2="{_n(self.x1)}" '
                     f'y2="{_n(bottom)}" stroke="{AXIS_COLOR}" stroke-width="1"/>')
        return "".join(parts)


# ----------------------------------------------------------------------------- histograms

def histogram(edges: Sequence[float], counts: Sequence[float], lo: float | None,
              hi: float | None, *, title: str, compare: Sequence[float] | None = None,
              width: int = 240, height: int = 96) -> str:
    """Training distribution of one numeric column from quantile bins.

    ``edges`` are the inner bin edges (strictly increasing), ``counts`` has one more entry
    (first and last bins run out to the column's ``lo``/``hi``). Quantile bins hold about
    the same count each, so bars of equal height would say nothing: the bar *area* is the
    share of rows (height = share / width), which makes this an honest density histogram.
    Bins of zero width (a discrete column's point mass at the maximum) get a minimum width
    of 1% of the range so they show as a spike instead of vanishing.

    ``compare`` (new data's counts in the same bins, from a drift report) is drawn as a
    dark step outline over the bars, both sides as shares so sample sizes do not matter.
    """
    pad_l, pad_r, pad_t, pad_b = 4, 4, 4, 16
    plot_w, plot_h = width - pad_l - pad_r, height - pad_t - pad_b
    fe = [f for f in (_finite(e) for e in edges) if f is not None]
    fc = [max(_finite(c) or 0.0, 0.0) for c in counts]
    ends = [v for v in (_finite(lo), *fe[:1]) if v is not None]
    a = min(ends) if ends else None
    ends = [v for v in (_finite(hi), *fe[-1:]) if v is not None]
    b = max(ends) if ends else None
    parts = [_open(width, height, title, "hist")]
    if a is None or b is None or len(fc) != len(fe) + 1 or not sum(fc):
        parts.append(_text(width / 2, height / 2, "no finite values", anchor="middle",
                           color=AXIS_COLOR))
        return "".join(parts) + "</svg>"
    bounds = [a, *fe, b] if b > a else [a - 0.5, *fe, a + 0.5]
    min_w = (bounds[-1] - bounds[0]) / 100
    widths = [max(bounds[k + 1] - bounds[k], min_w) for k in range(len(fc))]
    dens = [c / sum(fc) / w for c, w in zip(fc, widths)]
    cmp = None
    if compare is not None and len(compare) == len(fc):
        cc = [max(_finite(c) or 0.0, 0.0) for c in compare]
        if sum(cc):
            cmp = [c / sum(cc) / w for c, w in zip(cc, widths)]
    top = max([*dens, *(cmp or [])]) or 1.0

    def x(v: float) -> float:
        return pad_l + (v - bounds[0]) / ((bounds[-1] - bounds[0]) or 1.0) * plot_w

    base = pad_t + plot_h
    for k, (c, d) in enumerate(zip(fc, dens)):
        if c <= 0:
            continue
        x0, x1 = x(bounds[k]), max(x(bounds[k + 1]), x(bounds[k]) + 2)
        h = max(d / top * plot_h, 1.0)
        tip = f"[{fmt(bounds[k])}, {fmt(bounds[k + 1])}): {fmt(c)} rows"
        parts.append(f'<rect x="{_n(x0)}" y="{_n(base - h)}" width="{_n(max(x1 - x0 - 0.5, 1))}"'
                     f' height="{_n(h)}" fill="{HIST_COLOR}"><title>{escape(tip)}</title></rect>')
    if cmp is not None:
        pts = []
        for k, d in enumerate(cmp):
            x0, x1 = x(bounds[k]), max(x(bounds[k + 1]), x(bounds[k]) + 2)
            y = base - d / top * plot_h
            pts += [f"{_n(x0)},{_n(y)}", f"{_n(x1)},{_n(y)}"]
        parts.append(f'<polyline points="{_n(x(bounds[0]))},{_n(base)} {" ".join(pts)} '
                     f'{_n(x(bounds[-1]))},{_n(base)}" fill="none" stroke="{COMPARE_COLOR}" '
                     f'stroke-width="1.5"><title>new data</title></polyline>')
    parts.append(f'<line x1="{pad_l}" y1="{_n(base)}" x2="{_n(width - pad_r)}" y2="{_n(base)}" '
                 f'stroke="{AXIS_COLOR}" stroke-width="1"/>')
    parts.append(_text(pad_l, height - 3, fmt(a), size=10, color=AXIS_COLOR))
    parts.append(_text(width - pad_r, height - 3, fmt(b), anchor="end", size=10,
                       color=AXIS_COLOR))
    return "".join(parts) + "</svg>"


def category_bars(labels: Sequence[str], counts: Sequence[float], *, title: str,
                  unseen: float = 0.0, compare: Sequence[float] | None = None,
                  compare_unseen: float = 0.0, width: int = 240, max_bars: int = 8) -> str:
    """Share of each category, largest first; the rest folded into one bar.

    ``unseen`` (strings outside the model's vocabulary) gets its own grey bar: it is not a
    category the model knows, and hiding it would hide the encoder's blind spot.
    ``compare`` (new data's counts per category, from a drift report) is drawn as a thin
    dark marker under each bar, as shares.
    """
    n = len(labels)
    cc = list(compare) if compare is not None and len(compare) == n else None
    items = [(str(s), max(_finite(c) or 0.0, 0.0),
              max(_finite(cc[i]) or 0.0, 0.0) if cc else 0.0)
             for i, (s, c) in enumerate(zip(labels, counts))]
    items.sort(key=lambda t: -t[1])
    if len(items) > max_bars:
        rest = items[max_bars - 1:]
        items = [*items[: max_bars - 1], (f"{len(rest)} others", sum(t[1] for t in rest),
                                          sum(t[2] for t in rest))]
    colors = [CATEGORY_COLOR] * len(items)
    if unseen > 0 or (cc and compare_unseen > 0):
        items.append(("(unseen)", max(unseen, 0.0), max(compare_unseen, 0.0)))
        colors.append(UNSEEN_COLOR)
    bar_h, gap, label_w, pad = 10, 4 if cc else 3, 84, 4
    height = pad * 2 + max(len(items), 1) * (bar_h + gap)
    total = sum(t[1] for t in items) or 1.0
    ctotal = sum(t[2] for t in items) or 1.0
    top = max([t[1] / total for t in items] + [t[2] / ctotal for t in items if cc],
              default=0.0) or 1.0
    plot_w = width - label_w - 44
    parts = [_open(width, height, title, "cats")]
    if not items:
        parts.append(_text(width / 2, height / 2, "no categories", anchor="middle",
                           color=AXIS_COLOR))
    for k, ((label, c, d), color) in enumerate(zip(items, colors)):
        y = pad + k * (bar_h + gap)
        w = c / total / top * plot_w
        parts.append(_text(label_w - 4, y + bar_h - 1, _short(label, 13), anchor="end",
                           size=10))
        parts.append(f'<rect x="{label_w}" y="{_n(y)}" width="{_n(max(w, 0.5 if c else 0))}" '
                     f'height="{bar_h - (3 if cc else 0)}" fill="{color}"><title>'
                     f'{escape(label)}: {fmt(c)} rows</title></rect>')
        if cc:
            wd = d / ctotal / top * plot_w
            parts.append(f'<rect x="{label_w}" y="{_n(y + bar_h - 2)}" width="{_n(wd)}" '
                         f'height="2" fill="{COMPARE_COLOR}"><title>new data: '
                         f'{100 * d / ctotal:.1f}%</title></rect>')
        parts.append(_text(label_w + w + 3, y + bar_h - 1, f"{100 * c / total:.1f}%", size=10,
                           color=AXIS_COLOR))
    return "".join(parts) + "</svg>"


# ----------------------------------------------------------------------------- parity

@dataclass(frozen=True)
class DiffGroup:
    """One target's row in the parity chart: its max |diff| per output kind (``None``
    when the target did not run) and the tolerance it was held to."""

    label: str
    diffs: dict[str, float | None]
    tolerance: float | None = None
    note: str = ""


def diff_bars(groups: Sequence[DiffGroup], *, title: str, width: int = 880) -> str:
    """Max |diff| per output kind per target as horizontal bars on a log axis.

    Exact zeros sit on the floor and are marked "= 0" (a bar of length zero would be
    indistinguishable from a missing one). The tolerance is a dashed red tick across each
    target's band, so targets held to different tolerances (float32 models) still read.
    """
    kinds: list[str] = []
    for g in groups:
        for k in g.diffs:
            if k not in kinds:
                kinds.append(k)
    bar_h, gap, band_pad = 10, 2, 7
    legend_h, axis_h = 22, 22
    bands = [max(len(g.diffs), 1) * (bar_h + gap) - gap + 2 * band_pad for g in groups]
    height = legend_h + sum(bands) + axis_h + 4
    x0, x1 = LABEL_WIDTH, width - 70
    vals = [v for g in groups for v in g.diffs.values() if v is not None]
    vals += [g.tolerance for g in groups if g.tolerance]
    axis = LogAxis.fit(vals, x0, x1)
    plot_top, plot_bottom = legend_h, legend_h + sum(bands)
    parts = [_open(width, height, title, "diffs"), axis.draw(plot_top, plot_bottom)]
    lx = x0
    for k in kinds:
        parts.append(f'<rect x="{_n(lx)}" y="5" width="10" height="10" '
                     f'fill="{KIND_COLORS.get(k, OTHER_KIND_COLOR)}"/>')
        parts.append(_text(lx + 14, 14, k, size=11))
        lx += 24 + 7 * len(k)
    parts.append(f'<line x1="{_n(lx)}" y1="10" x2="{_n(lx + 16)}" y2="10" '
                 f'stroke="{TOLERANCE_COLOR}" stroke-width="2" stroke-dasharray="4 2"/>')
    parts.append(_text(lx + 20, 14, "tolerance", size=11))
    y = plot_top
    for g, band in zip(groups, bands):
        if y > plot_top:
            parts.append(f'<line x1="4" y1="{_n(y)}" x2="{_n(x1)}" y2="{_n(y)}" '
                         f'stroke="{GRID_COLOR}" stroke-width="1"/>')
        parts.append(_text(x0 - 8, y + band / 2 + 4, _short(g.label, 20), anchor="end",
                           size=11, extra='font-weight="600"'))
        if not g.diffs:
            parts.append(_text(x0 + 6, y + band / 2 + 4, g.note or "not run", size=11,
                               color=AXIS_COLOR, extra='font-style="italic"'))
        for i, (kind, v) in enumerate(g.diffs.items()):
            by = y + band_pad + i * (bar_h + gap)
            color = KIND_COLORS.get(kind, OTHER_KIND_COLOR)
            if v is None:
                parts.append(_text(x0 + 6, by + bar_h - 1, f"{kind}: not compared", size=10,
                                   color=AXIS_COLOR))
                continue
            if v <= 0:
                parts.append(f'<circle cx="{_n(x0 + 5)}" cy="{_n(by + bar_h / 2)}" r="4" '
                             f'fill="none" stroke="{color}" stroke-width="2"/>')
                parts.append(_text(x0 + 13, by + bar_h - 1, "= 0 (exact)", size=10))
                continue
            w = max(axis(v) - x0, 2.0)
            parts.append(f'<rect x="{_n(x0)}" y="{_n(by)}" width="{_n(w)}" height="{bar_h}" '
                         f'fill="{color}"><title>{escape(f"{g.label} {kind}: {v:.6g}")}'
                         f'</title></rect>')
            parts.append(_text(x0 + w + 4, by + bar_h - 1, fmt(v), size=10))
        if g.tolerance and g.tolerance > 0:
            tx = axis(g.tolerance)
            parts.append(f'<line x1="{_n(tx)}" y1="{_n(y + 2)}" x2="{_n(tx)}" '
                         f'y2="{_n(y + band - 2)}" stroke="{TOLERANCE_COLOR}" stroke-width="2" '
                         f'stroke-dasharray="4 2"><title>tolerance {fmt(g.tolerance)}</title>'
                         f'</line>')
        y += band
    parts.append(_text(x0 - 28, plot_bottom + 13, "max |diff|", anchor="end", size=10,
                       color=AXIS_COLOR))
    return "".join(parts) + "</svg>"


def _spread(values: Sequence[float], most: int) -> list[float]:
    """At most ``most`` values that keep the shape of the distribution: every value when
    few, else evenly spaced order statistics plus the 20 largest (the ones that matter)."""
    if len(values) <= most:
        return list(values)
    s = sorted(values)
    step = (len(s) - 1) / (most - 21)
    return [s[round(i * step)] for i in range(most - 20)] + s[-20:]


def diff_strip(series: Sequence[tuple[str, Sequence[float]]], *, title: str,
               tolerance: float | None = None, width: int = 880, most: int = 800) -> str:
    """Per-row |diff| of each target as dots on the log axis (zeros on the floor).

    Vertical jitter is deterministic (a function of the rank), so the report is
    byte-for-byte reproducible. Large row counts are thinned to ``most`` dots per target.
    """
    row_h, axis_h, top = 22, 22, 4
    height = top + max(len(series), 1) * row_h + axis_h
    x0, x1 = LABEL_WIDTH, width - 70
    clean = [(label, [max(f, 0.0) for f in (_finite(v) for v in vals) if f is not None])
             for label, vals in series]
    axis = LogAxis.fit([v for _, vals in clean for v in vals] +
                       ([tolerance] if tolerance else []), x0, x1)
    bottom = top + len(clean) * row_h
    parts = [_open(width, height, title, "strip"), axis.draw(top, bottom)]
    for k, (label, vals) in enumerate(clean):
        y = top + k * row_h
        parts.append(_text(x0 - 8, y + row_h / 2 + 4, _short(label, 20), anchor="end", size=11,
                           extra='font-weight="600"'))
        dots = _spread(vals, most)
        zeros = sum(1 for v in vals if v == 0)
        for i, v in enumerate(dots):
            jitter = ((i * 7919) % 13) / 12 * (row_h - 8) + 4
            parts.append(f'<circle cx="{_n(axis(v))}" cy="{_n(y + jitter)}" r="1.8" '
                         f'fill="{KIND_COLORS["proba"]}" fill-opacity="0.55"/>')
        if zeros:
            parts.append(_text(x1 + 6, y + row_h / 2 + 4, f"{zeros} = 0", size=10,
                               color=AXIS_COLOR))
    if tolerance and tolerance > 0:
        tx = axis(tolerance)
        parts.append(f'<line x1="{_n(tx)}" y1="{top}" x2="{_n(tx)}" y2="{_n(bottom)}" '
                     f'stroke="{TOLERANCE_COLOR}" stroke-width="2" stroke-dasharray="4 2"/>')
    parts.append(_text(x0 - 28, bottom + 13, "|diff| per row", anchor="end", size=10,
                       color=AXIS_COLOR))
    return "".join(parts) + "</svg>"


# ----------------------------------------------------------------------------- drift

def psi_bars(items: Sequence[tuple[str, float | None, str]], *, title: str,
             thresholds: Sequence[float] = (0.1, 0.25),
             marks: Sequence[float | None] | None = None, width: int = 880) -> str:
    """PSI per column (``(name, psi, verdict)``) on a linear axis, coloured by verdict,
    with the conventional 0.1 (moderate) and 0.25 (major) lines.

    ``marks`` (one per item, e.g. the raw PSI when the bars are the bias-corrected one)
    are drawn as dark ticks, so the noise correction is visible rather than hidden."""
    bar_h, gap, top, axis_h = 12, 5, 18, 22
    height = top + max(len(items), 1) * (bar_h + gap) + axis_h
    x0, x1 = LABEL_WIDTH, width - 60
    vals = [v for _, v, _ in items if v is not None]
    vals += [v for v in (marks or []) if v is not None and math.isfinite(v)]
    hi = max([*vals, *thresholds, 0.0]) * 1.15 or 1.0

    def x(v: float) -> float:
        return x0 + min(max(v, 0.0), hi) / hi * (x1 - x0)

    bottom = top + len(items) * (bar_h + gap)
    parts = [_open(width, height, title, "psi")]
    for k, (name, v, verdict) in enumerate(items):
        y = top + k * (bar_h + gap)
        parts.append(_text(x0 - 8, y + bar_h - 2, _short(name), anchor="end", size=11))
        if v is None:
            parts.append(_text(x0 + 4, y + bar_h - 2, "not computed", size=10,
                               color=AXIS_COLOR, extra='font-style="italic"'))
            continue
        w = max(x(v) - x0, 1.0)
        color = VERDICT_COLORS.get(verdict, UNKNOWN_COLOR)
        parts.append(f'<rect x="{x0}" y="{_n(y)}" width="{_n(w)}" height="{bar_h}" '
                     f'fill="{color}"><title>{escape(f"{name}: PSI {v:.4g} ({verdict})")}'
                     f'</title></rect>')
        mark = marks[k] if marks is not None and k < len(marks) else None
        if mark is not None and math.isfinite(mark):
            parts.append(f'<line x1="{_n(x(mark))}" y1="{_n(y - 1)}" x2="{_n(x(mark))}" '
                         f'y2="{_n(y + bar_h + 1)}" stroke="{COMPARE_COLOR}" stroke-width="2">'
                         f'<title>{escape(f"{name}: raw PSI {mark:.4g}")}</title></line>')
        label_x = max(x0 + w, x(mark) if mark is not None and math.isfinite(mark) else 0)
        parts.append(_text(label_x + 4, y + bar_h - 2, fmt(v), size=10))
    for t, color in zip(thresholds, (VERDICT_COLORS["moderate"], VERDICT_COLORS["major"])):
        tx = x(t)
        parts.append(f'<line x1="{_n(tx)}" y1="{top - 4}" x2="{_n(tx)}" y2="{_n(bottom)}" '
                     f'stroke="{color}" stroke-width="1.5" stroke-dasharray="5 3"/>')
        parts.append(_text(tx, top - 7, f"{t:g}", anchor="middle", size=10, color=color))
    parts.append(f'<line x1="{x0}" y1="{_n(bottom)}" x2="{_n(x1)}" y2="{_n(bottom)}" '
                 f'stroke="{AXIS_COLOR}" stroke-width="1"/>')
    parts.append(_text(x0, bottom + 14, "0", anchor="middle", size=10, color=AXIS_COLOR))
    parts.append(_text(x1, bottom + 14, f"{hi:.2g}", anchor="middle", size=10,
                       color=AXIS_COLOR))
    parts.append(_text(x1 + 6, bottom + 4, "PSI", size=10, color=AXIS_COLOR))
    return "".join(parts) + "</svg>"
