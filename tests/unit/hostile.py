"""A guard for code fed hostile input: `with bounded(): ...` fails on a big allocation or a hang.

A hostile model file's danger is a declared size (10^9 leaves, a 2^62-element array) that the
parser believes, or a loop that never ends. Allocation is what is measured (tracemalloc sees
Python objects and numpy buffers), not speed: tests never assert wall-clock times, and the alarm
only turns a hang into a failure instead of a stuck CI run.
"""

from __future__ import annotations

import signal
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager

MB = 2**20


@contextmanager
def bounded(mb: float = 32, hang_s: int = 60) -> Iterator[None]:
    def hang(signum: int, frame: object) -> None:
        raise TimeoutError(f"still running after {hang_s} s: hostile input must not hang")

    previous = signal.signal(signal.SIGALRM, hang)
    signal.alarm(hang_s)
    tracemalloc.start()
    try:
        yield
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert peak < mb * MB, f"peak allocation {peak / MB:.1f} MB, over {mb} MB"
