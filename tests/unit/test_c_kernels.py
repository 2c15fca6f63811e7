"""Kernels of the hand-written C runtime (sm_runtime.h) against their definitions.

The runtime is compiled with the generated code's flags into a small shim and called
through ctypes: the branch-free relu against ``numpy.maximum(x, 0)``, and the dense block
kernel (rows side by side in vector lanes) against the one-row kernel, bit for bit.
"""

from __future__ import annotations

import ctypes
import shutil
import subprocess

import numpy as np
import pytest

from staticml.backends.c.render import runtime_text

CC = shutil.which("cc")
pytestmark = [pytest.mark.needs_cc,
              pytest.mark.skipif(CC is None, reason="no C compiler: `cc` is not on PATH")]

SHIM = r"""
%s
void relu_v(const double *x, double *y, int32_t n) {
    int32_t i, idx[64];
    for (i = 0; i < n; i++) idx[i] = i;
    sm_elementwise((double *)x, idx, idx, n, SM_RELU);
    for (i = 0; i < n; i++) y[i] = x[i];
}
/* rows: n rows of `stride` doubles; src/dst slot lists; rc: rows to skip. */
void linear_rows(double *V, int32_t stride, int32_t nb, const int32_t *src, int32_t n_in,
                 const int32_t *dst, int32_t n_out, const double *coef, const double *b) {
    double x[256];
    int32_t r;
    for (r = 0; r < nb; r++) sm_linear(V + (size_t)r * stride, src, n_in, dst, n_out, coef, b, x);
}
void linear_block(double *V, int32_t stride, int32_t nb, const int *rc, const int32_t *src,
                  int32_t n_in, const int32_t *dst, int32_t n_out, const double *coef,
                  const double *b, int avx2) {
    sm_lanes xt[256];
    SM_LINEAR_BLOCK(avx2, V, stride, nb, rc, src, n_in, dst, n_out, coef, b, xt);
}
int cpu_avx2(void) { return SM_CPU_AVX2(); }
/* both finiteness checks on one row of n slots (starting at slot 3): rc | bad << 8 */
int check_finite_both(const double *v, int32_t n, int allow_nan, int allow_inf, int *range) {
    int32_t idx[64], i, bad1 = -1, bad2 = -1;
    int rc1, rc2;
    for (i = 0; i < n; i++) idx[i] = 3 + i;
    rc1 = sm_check_finite(v, idx, n, allow_nan, allow_inf, &bad1);
    rc2 = sm_check_finite_range(v + 3, 3, n, allow_nan, allow_inf, &bad2);
    *range = rc2 | ((bad2 + 1) << 8);
    return rc1 | ((bad1 + 1) << 8);
}
int32_t lookup(const double *keys, int32_t n, double x) { return sm_lookup(keys, n, x); }
void sub_div_both(const double *v, double *y1, double *y2, const double *sub,
                  const double *div, int32_t n, int avx2) {
    int32_t idx[64], out[64], i;
    double w[128];
    for (i = 0; i < n; i++) { idx[i] = i; out[i] = 64 + i; w[i] = v[i]; }
    sm_sub_div(w, idx, out, sub, div, n);
    for (i = 0; i < n; i++) y1[i] = w[64 + i];
    SM_SUB_DIV_RANGE(avx2, y2, v, sub, div, n);
}
void impute_both(const double *v, double *y1, double *y2, const double *fill, int32_t n,
                 int missing_is_nan, double missing) {
    int32_t idx[64], out[64], i;
    double w[128];
    for (i = 0; i < n; i++) { idx[i] = i; out[i] = 64 + i; w[i] = v[i]; }
    sm_impute(w, idx, out, fill, n, missing_is_nan, missing);
    for (i = 0; i < n; i++) y1[i] = w[64 + i];
    sm_impute_range(y2, v, fill, n, missing_is_nan, missing);
}
void relu_range(const double *x, double *y, int32_t n) { sm_relu_range(y, x, n); }
void sigmoid_rows(const double *x, double *y, int32_t n) {
    int32_t i;
    for (i = 0; i < n; i++) y[i] = sm_sigmoid(x[i]);
}
void sigmoid_lanes(const double *x, double *y, int32_t n, int avx2) {
    SM_SIGMOID_N(avx2, y, x, n);
}
/* a block of rows of 3 slots: binary proba (slot 0 -> 1, 2) and the logistic op (0 -> 0) */
void binary_proba_block(double *V, int32_t nb, const int *rc, int avx2) {
    double xs[256];
    sm_binary_proba_block(V, 3, nb, rc, 0, 1, 2, avx2, xs);
}
void binary_proba_rows(double *V, int32_t nb, const int *rc) {
    int32_t r;
    for (r = 0; r < nb; r++) if (rc[r] == 0) sm_binary_proba(V + 3 * r, 0, 1, 2, SM_LINK_LOGISTIC);
}
void logistic_block(double *V, int32_t nb, const int *rc, int avx2) {
    double xs[256];
    int32_t s = 0;
    sm_logistic_block(V, 3, nb, rc, &s, &s, 1, avx2, xs);
}
"""


@pytest.fixture(scope="module")
def lib(tmp_path_factory):
    d = tmp_path_factory.mktemp("kernels")
    (d / "shim.c").write_text(SHIM % runtime_text())
    subprocess.run([CC, "-std=c99", "-O2", "-shared", "-fPIC", "-ffp-contract=off",
                    "-fno-fast-math", str(d / "shim.c"), "-o", str(d / "shim.so")], check=True)
    return ctypes.CDLL(str(d / "shim.so"))


def _p(a: np.ndarray) -> ctypes.c_void_p:
    return ctypes.c_void_p(a.ctypes.data)


def test_relu_is_numpy_maximum_bit_for_bit(lib):
    x = np.array([np.nan, -np.nan, -0.0, 0.0, -1e-310, 1e-310, -np.inf, np.inf, -2.5, 3.0,
                  np.finfo(float).max, -np.finfo(float).max])
    y = np.empty_like(x)
    lib.relu_v(_p(x.copy()), _p(y), ctypes.c_int32(len(x)))
    want = np.maximum(x, 0)
    assert np.array_equal(np.isnan(y), np.isnan(want))
    ok = ~np.isnan(want)
    assert y[ok].tobytes() == want[ok].tobytes()  # -0.0 -> +0.0 exactly
    for n in (len(x), len(x) - 1):  # the contiguous-slot kernel (pairs + a tail), same bits
        z = np.full_like(x, 7.0)
        lib.relu_range(_p(x), _p(z), ctypes.c_int32(n))
        assert z[:n].tobytes() == y[:n].tobytes() and (z[n:] == 7.0).all()


@pytest.mark.parametrize("contig", [0, 1], ids=["gathered", "contiguous"])
@pytest.mark.parametrize("avx2", [0, 1], ids=["baseline", "avx2"])
@pytest.mark.parametrize("n_in,n_out,nb", [(30, 1, 64), (30, 64, 15), (64, 32, 7),
                                           (5, 7, 1), (3, 9, 33), (17, 19, 40), (6, 35, 1)])
def test_dense_block_kernel_equals_row_kernel(lib, n_in, n_out, nb, avx2, contig):
    """Both block kernels (SSE2/NEON vectors and AVX2) give every row its one-row bits.
    The AVX2 case runs wherever the CPU has AVX2 (x86-64 since 2013); elsewhere the
    dispatch macro falls back to the baseline kernel, which is what it must do."""
    if avx2 and not lib.cpu_avx2():
        pytest.skip("this CPU has no AVX2: SM_LINEAR_BLOCK runs the baseline kernel")
    rng = np.random.default_rng(n_in * 100 + n_out)
    stride = n_in + n_out + 3
    V = rng.normal(size=(nb, stride)) * rng.choice([1e-3, 1.0, 1e3], size=(nb, stride))
    src = rng.permutation(n_in).astype(np.int32)                 # gathered in any order
    if contig:  # consecutive slots: the AVX2 gather transposes 4 x 4 tiles in registers
        src = (2 + np.arange(n_in)).astype(np.int32)
    dst = (n_in + 3 + rng.permutation(n_out)).astype(np.int32)
    coef = rng.normal(size=(n_out, n_in))
    b = rng.normal(size=n_out)
    rc = np.zeros(nb, dtype=np.intc)
    rc[1::5] = 1                                                  # skipped rows
    want, got = V.copy(), V.copy()
    args = (ctypes.c_int32(stride), ctypes.c_int32(nb))
    coef_t = np.ascontiguousarray(coef.T)                          # the kernels' layout
    lib.linear_rows(_p(want), *args, _p(src), ctypes.c_int32(n_in), _p(dst),
                    ctypes.c_int32(n_out), _p(coef_t), _p(b))
    lib.linear_block(_p(got), *args, _p(rc), _p(src), ctypes.c_int32(n_in), _p(dst),
                     ctypes.c_int32(n_out), _p(coef_t), _p(b), ctypes.c_int(avx2))
    run = rc == 0
    assert got[run].tobytes() == want[run].tobytes()
    assert got[~run].tobytes() == V[~run].tobytes()               # skipped rows untouched
    # and the row kernel is the left-to-right sum it claims to be, for every output (the
    # 16-, 2- and 1-wide parts of sm_linear)
    r = int(np.flatnonzero(run)[0])
    for j in range(n_out):
        acc = 0.0
        for i in range(n_in):
            acc += coef[j, i] * V[r, src[i]]
        assert want[r, dst[j]] == acc + b[j], j


@pytest.mark.parametrize("avx2", [0, 1], ids=["baseline", "avx2"])
def test_sigmoid_lanes_equal_sm_sigmoid(lib, avx2):
    """The sigmoid in vector lanes (SM_SIGMOID_N) gives sm_sigmoid's bits for every value:
    its main path in lanes, every special case (NaN, tails, tiny |x|) through sm_sigmoid."""
    if avx2 and not lib.cpu_avx2():
        pytest.skip("this CPU has no AVX2")
    rng = np.random.default_rng(7)
    special = [np.nan, -np.nan, np.inf, -np.inf, 0.0, -0.0, 40.0, np.nextafter(40.0, 41),
               -700.0, np.nextafter(-700.0, -701), 2.0**-18, -(2.0**-18),
               np.nextafter(2.0**-18, 0), 5e-324, -5e-324, 1e300, -1e300, 3 * 2.0**-52,
               -3 * 2.0**-53, 1.0, -1.0, 709.0, -745.0, 37.5, -37.5]
    x = np.concatenate([rng.normal(0, 5, 20000), rng.uniform(-800, 60, 20000),
                        np.exp(rng.uniform(-60, 7, 20000)) * rng.choice([-1, 1], 20000),
                        rng.normal(0, 1e-5, 2000), special])
    x = x[rng.permutation(len(x))]
    want = np.empty_like(x)
    lib.sigmoid_rows(_p(x), _p(want), ctypes.c_int32(len(x)))
    for n in (len(x), len(x) - 1, 7, 1, 0):
        got = np.full_like(x, 7.0)
        lib.sigmoid_lanes(_p(x), _p(got), ctypes.c_int32(n), ctypes.c_int(avx2))
        assert got[:n].tobytes() == want[:n].tobytes()
        assert (got[n:] == 7.0).all()


@pytest.mark.parametrize("avx2", [0, 1], ids=["baseline", "avx2"])
@pytest.mark.parametrize("nb", [1, 5, 64])
def test_sigmoid_block_kernels_equal_row_kernels(lib, nb, avx2):
    if avx2 and not lib.cpu_avx2():
        pytest.skip("this CPU has no AVX2")
    rng = np.random.default_rng(nb)
    V = rng.normal(0, 8, size=(nb, 3))
    V[::7, 0] = np.nan
    rc = np.zeros(nb, dtype=np.intc)
    rc[1::4] = 1
    want, got = V.copy(), V.copy()
    lib.binary_proba_rows(_p(want), ctypes.c_int32(nb), _p(rc))
    lib.binary_proba_block(_p(got), ctypes.c_int32(nb), _p(rc), ctypes.c_int(avx2))
    assert got.tobytes() == want.tobytes()
    got = V.copy()
    lib.logistic_block(_p(got), ctypes.c_int32(nb), _p(rc), ctypes.c_int(avx2))
    run = rc == 0
    assert got[run, 0].tobytes() == want[run, 2].tobytes()
    assert got[~run].tobytes() == V[~run].tobytes()


@pytest.mark.parametrize("allow_nan,allow_inf", [(0, 0), (1, 0), (0, 1), (1, 1)])
def test_check_finite_range_equals_check_finite(lib, allow_nan, allow_inf):
    """The contiguous-slot check (vector loads) returns sm_check_finite's code and slot."""
    rng = np.random.default_rng(allow_nan * 2 + allow_inf)
    for n in (1, 2, 3, 5, 10, 30, 61):
        for _ in range(60):
            v = rng.normal(size=n + 3)
            k = int(rng.integers(0, min(n, 2) + 1))
            where = rng.choice(n, size=k, replace=False) + 3 if k else []
            for w in where:
                v[w] = rng.choice([np.nan, np.inf, -np.inf])
            got = ctypes.c_int()
            want = lib.check_finite_both(_p(v), ctypes.c_int32(n), ctypes.c_int(allow_nan),
                                         ctypes.c_int(allow_inf), ctypes.byref(got))
            assert got.value == want


def test_lookup_fast_path_finds_what_the_search_finds(lib):
    lib.lookup.restype = ctypes.c_int32
    for keys in ([0.0, 1.0, 2.0, 3.0], [0.0, 2.0, 3.0], [1.0, 2.0], [-1.0, 0.0, 1.0], [0.5, 1.0]):
        k = np.array(keys)
        for x in [-1.0, -0.0, 0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 1e300, -1e300, np.inf, np.nan]:
            got = lib.lookup(_p(k), ctypes.c_int32(len(k)), ctypes.c_double(x))
            hit = [i for i, kk in enumerate(keys) if kk == x]
            assert got == (hit[0] if hit else -1), (keys, x)


@pytest.mark.parametrize("avx2", [0, 1], ids=["baseline", "avx2"])
def test_sub_div_range_equals_sub_div(lib, avx2):
    if avx2 and not lib.cpu_avx2():
        pytest.skip("this CPU has no AVX2")
    rng = np.random.default_rng(3)
    for n in (1, 2, 3, 4, 5, 30, 33):
        v = rng.normal(size=n) * 1e3
        v[::5] = np.nan
        sub, div = rng.normal(size=n), rng.uniform(1e-3, 1e3, size=n)
        y1, y2 = np.empty(n), np.empty(n)
        lib.sub_div_both(_p(v), _p(y1), _p(y2), _p(sub), _p(div), ctypes.c_int32(n),
                         ctypes.c_int(avx2))
        assert y1.tobytes() == y2.tobytes()


@pytest.mark.parametrize("missing", [np.nan, -1.0, 0.0])
def test_impute_range_equals_impute(lib, missing):
    rng = np.random.default_rng(5)
    for n in (1, 2, 3, 10, 33):
        v = rng.integers(-2, 3, size=n).astype(float)
        v[rng.random(n) < 0.3] = np.nan
        v[rng.random(n) < 0.1] = -0.0
        fill = rng.normal(size=n)
        y1, y2 = np.empty(n), np.empty(n)
        lib.impute_both(_p(v), _p(y1), _p(y2), _p(fill), ctypes.c_int32(n),
                        ctypes.c_int(int(missing != missing)),
                        ctypes.c_double(0.0 if missing != missing else missing))
        assert y1.tobytes() == y2.tobytes()


def test_layout_constants_match_the_runtime():
    """forest_layout.py lays the forest out for the runtime's kernels: the trees a one-row
    group walks (SM_TREES, written out in SM_STEP20), the groups a window sorts
    (SM_WINDOW) and the float32 node's link bits must be the same numbers on both sides, or
    the walk reads the wrong trees and children."""
    from staticml.backends.c import forest_layout

    text = runtime_text()
    assert f"#define SM_TREES {forest_layout.GROUP}\n" in text
    assert f"#define SM_WINDOW {forest_layout.WINDOW}\n" in text
    assert f"#define SM_LINK_BITS {forest_layout.LINK_BITS}\n" in text


def test_walk_order_sorts_each_window_by_depth():
    """The one-row kernel adds a window's leaves once the window is walked, so a tree must
    never leave its window of WINDOW * GROUP trees; inside it the trees go by depth, then
    by expected path, ties in tree order."""
    from staticml.backends.c.forest_layout import GROUP, WINDOW, walk_order

    size = WINDOW * GROUP
    rng = np.random.default_rng(0)
    n = 2 * size + 37  # two full windows and a partial one
    depth = rng.integers(2, 18, n)
    expected = rng.random(n).round(1)
    order = walk_order(depth, expected)
    assert sorted(order.tolist()) == list(range(n))
    for w0 in range(0, n, size):
        window = order[w0:w0 + size]
        assert window.min() >= w0 and window.max() < min(w0 + size, n)
        keys = list(zip(depth[window], expected[window], window))
        assert keys == sorted(keys)
    assert len(walk_order(np.zeros(0, int), np.zeros(0))) == 0
