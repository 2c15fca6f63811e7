"""Shared hooks for the parity matrix: report the largest differences seen.

Each ``test_parity`` case records its max abs differences as a ``user_properties`` entry
(which pytest-xdist ships back from the workers); the summary prints the worst per kind.
"""

from __future__ import annotations

import json


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    worst: dict[str, tuple[float, str]] = {}
    for report in terminalreporter.stats.get("passed", []):
        for key, value in getattr(report, "user_properties", []):
            if key != "max_abs_diff":
                continue
            for kind, diff in json.loads(value).items():
                if diff >= worst.get(kind, (-1.0, ""))[0]:
                    worst[kind] = (diff, report.nodeid.rsplit("[", 1)[-1].rstrip("]"))
    if worst:
        terminalreporter.section("parity: max abs diff per output (worst case)")
        for kind in sorted(worst):
            diff, case = worst[kind]
            terminalreporter.write_line(f"{kind:>16}: {diff:.3g}  ({case})")
