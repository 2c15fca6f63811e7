"""The bundle report: ``report.html``, a self-contained page (inline CSS and SVG, no
script, no network) showing what a bundle holds and why to trust it: schema, targets,
parity per target, training profile and drift."""

from .html import REPORT, render_report, write_report

__all__ = ["REPORT", "render_report", "write_report"]
