"""Toolchains: the ziglang package builds when there is no system compiler, and both
compilers give bit-identical results (FP contraction off, no libm)."""

import numpy as np
import pytest

import staticml
from staticml.errors import ToolchainError
from staticml.toolchain.compilers import find_compiler
from staticml.bundle.targets import host_target  # noqa: E402

HOST = host_target()


@pytest.mark.slow
@pytest.mark.needs_cc
def test_zig_and_gcc_builds_agree_bit_for_bit(churn, tmp_path, monkeypatch):
    model, X_train, X_test, _ = churn
    cc_art = staticml.build(model, X_train[:200], tmp_path / "cc", name="churn")
    monkeypatch.setenv("STATICML_TOOLCHAIN", "zig")
    monkeypatch.setenv("STATICML_CACHE", str(tmp_path / "cache"))
    zig_art = staticml.build(model, X_train[:200], tmp_path / "zig", name="churn")
    assert zig_art.manifest["targets"][HOST]["toolchain"].startswith("zig")
    assert cc_art.manifest["targets"][HOST]["toolchain"] != \
        zig_art.manifest["targets"][HOST]["toolchain"]
    a = cc_art.predict_proba(X_test)
    b = zig_art.predict_proba(X_test)
    assert a.tobytes() == b.tobytes()
    assert (tmp_path / "cache" / "zig").is_dir()  # zig's cache stays in staticml's cache


def test_a_broken_compiler_override_is_named(monkeypatch):
    monkeypatch.setenv("STATICML_CC", "/nonexistent/cc")
    with pytest.raises(ToolchainError, match="STATICML_CC='/nonexistent/cc' does not run"):
        find_compiler()
