"""Shared fixtures: a trained churn pipeline and its bundle, built once per session."""

from __future__ import annotations

import os
import shutil

import pytest

import staticml
from staticml.quickstart import churn_data, churn_pipeline


def pytest_collection_modifyitems(config, items):
    if shutil.which("cc") is None:
        skip = pytest.mark.skip(reason="needs a system C compiler (cc) on PATH")
        for item in items:
            if "needs_cc" in item.keywords:
                item.add_marker(skip)


@pytest.fixture(scope="session")
def churn():
    X, y = churn_data(n=3000, seed=1)
    model = churn_pipeline().fit(X[:2000], y[:2000])
    return model, X[:2000], X[2000:], y


@pytest.fixture(scope="session")
def churn_bundle(churn, tmp_path_factory):
    model, X_train, _, _ = churn
    out = tmp_path_factory.mktemp("bundles") / "churn"
    staticml.build(model, sample=X_train[:300], out=out, name="churn")
    return out


@pytest.fixture(scope="session")
def chromium() -> str:
    """The browser for the web example and the report; skipped if absent, unless
    STATICML_REQUIRE_RUNNERS is set (CI), which makes its absence a failure."""
    found = (os.environ.get("STATICML_CHROMIUM") or shutil.which("chromium")
             or shutil.which("chromium-browser") or shutil.which("google-chrome"))
    if found:
        return found
    if os.environ.get("STATICML_REQUIRE_RUNNERS", "") not in ("", "0"):
        pytest.fail("chromium not found, and STATICML_REQUIRE_RUNNERS is set")
    pytest.skip("needs chromium")
