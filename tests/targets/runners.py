"""Skip-or-fail for tests that need a runner (wine, qemu, node, java, chromium).

On a developer machine without a runner the test skips and says what to install; under
``make test`` (``STATICML_REQUIRE_RUNNERS=1``, runners installed by scripts/install-runners)
a missing runner is a failure, so CI never silently skips a target.
"""

from __future__ import annotations

import os

import pytest


def required() -> bool:
    return os.environ.get("STATICML_REQUIRE_RUNNERS", "") not in ("", "0")


def unavailable(reason: str) -> None:
    if required():
        pytest.fail(f"runner unavailable with STATICML_REQUIRE_RUNNERS set: {reason}")
    pytest.skip(reason)
