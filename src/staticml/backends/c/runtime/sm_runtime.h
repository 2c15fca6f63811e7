/* staticml runtime: the hand-written half of every generated library.
 *
 * Generated code is tables plus a straight-line list of calls into these functions, each
 * the C twin of one IR op (src/staticml/ir/ops.py). Every function works on one row's
 * register file `v` (an array of doubles); `src`/`dst` are slot indices into it.
 *
 * Rules that keep the artifact embeddable anywhere and bit-reproducible:
 *   - no libc or libm calls (sm_math.h supplies exp/tanh), no globals, no allocation;
 *   - plain IEEE-754 double arithmetic in a fixed order; build with -ffp-contract=off;
 *   - errors are returned as codes, never signalled.
 * This file is pasted into every generated NAME.c, so everything here is `static`.
 */
#ifndef SM_RUNTIME_H
#define SM_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#define SM_OK 0
#define SM_E_ARGUMENT 1
#define SM_E_MISSING_VALUE 2
#define SM_E_INFINITE_VALUE 3
#define SM_E_UNKNOWN_CATEGORY 4
#define SM_E_CONTRACT 5 /* value outside the training contract (policy "error") */

typedef union { double d; uint64_t u; } sm_bits;

/* Ask the CPU to start loading the cache line at p (a hint: no fault, no effect on results).
 * The batch path prefetches the next block's input rows while it copies this block's:
 * measured on bench/pipelines.py (a), 100k rows (24 MB) per call, NAME_predict_matrix_counted
 * 100 -> 81 ns/row, NAME_predict_matrix 83 -> 76. */
#if defined(__GNUC__) || defined(__clang__)
#define SM_PREFETCH(p) __builtin_prefetch(p)
#else
#define SM_PREFETCH(p) ((void)(p))
#endif

#ifndef SM_INF /* the generated file defines it; a fallback for using this header alone */
#if defined(__GNUC__) || defined(__clang__)
#define SM_INF __builtin_inf()
#else
#define SM_INF (1e300 * 1e300)
#endif
#endif

static double sm_nan(void) { sm_bits b; b.u = 0x7ff8000000000000ULL; return b.d; }
static int sm_is_nan(double x) { return x != x; }
static int sm_is_inf(double x) { sm_bits b; b.d = x; return (b.u << 1) == 0xffe0000000000000ULL; }

/* Index of x among the sorted keys[0..n) (exact ==), or -1. NaN never matches. */
static int32_t sm_lookup(const double *keys, int32_t n, double x) {
    int32_t lo = 0, hi = n - 1;
    if (sm_is_nan(x)) return -1; /* NaN compares false both ways: without this it "matches" */
    /* Category codes are usually the keys 0, 1, ..., n-1: then keys[x] == x, no search (the
     * keys are distinct, so that is the index the search would find). */
    if (x >= 0.0 && x < (double)n && keys[(int32_t)x] == x) return (int32_t)x;
    while (lo <= hi) {
        int32_t mid = lo + (hi - lo) / 2;
        if (keys[mid] < x) lo = mid + 1;
        else if (keys[mid] > x) hi = mid - 1;
        else return mid;
    }
    return -1;
}

/* Byte-wise string compare, as strcmp, without libc. */
static int sm_strcmp(const char *a, const char *b) {
    const unsigned char *p = (const unsigned char *)a, *q = (const unsigned char *)b;
    while (*p && *p == *q) { p++; q++; }
    return (int)*p - (int)*q;
}

/* Code of string s in a vocabulary given as byte-sorted strings with their codes.
 * NULL (missing) -> NaN; a string the model never saw -> -1. */
static double sm_string_code(const char *const *sorted, const int32_t *codes, int32_t n,
                             const char *s) {
    int32_t lo = 0, hi = n - 1;
    if (s == NULL) return sm_nan();
    while (lo <= hi) {
        int32_t mid = lo + (hi - lo) / 2;
        int c = sm_strcmp(sorted[mid], s);
        if (c < 0) lo = mid + 1;
        else if (c > 0) hi = mid - 1;
        else return (double)codes[mid];
    }
    return -1.0;
}

/* Input validation as scikit-learn does it: NaN (unless allowed) and +-inf are errors.
 * On error *bad receives the offending slot. */
static int sm_check_finite(const double *v, const int32_t *src, int32_t n, int allow_nan,
                           int allow_inf, int32_t *bad) {
    int32_t i;
    double z = 0.0;
    /* x - x is +0 for every finite x and NaN for NaN and +-inf: one branch for the row.
     * (Measured against an integer test of the exponent bits and two sums: this was the
     * fastest on bench/pipelines.py (a), NAME_predict_matrix 90 -> 81 ns/row.) */
    for (i = 0; i < n; i++) { double x = v[src[i]]; z += x - x; }
    if (z == 0.0) return SM_OK;
    for (i = 0; i < n; i++) {
        double x = v[src[i]];
        if (!allow_nan && sm_is_nan(x)) { *bad = src[i]; return SM_E_MISSING_VALUE; }
        if (!allow_inf && sm_is_inf(x)) { *bad = src[i]; return SM_E_INFINITE_VALUE; }
    }
    return SM_OK;
}

/* As sm_check_finite for a library that casts X to float32 (scikit-learn trees): a double
 * that rounds to +-inf in float32 is infinite too. That is |x| >= 2^128 - 2^103, the midpoint
 * between FLT_MAX and 2^128, which rounds up (ties to even: FLT_MAX's last bit is odd); the
 * doubles just above FLT_MAX round down to it and are taken. Where infinities are allowed
 * (IsolationForest) these values are as well: the cast turns them into the same inf. */
#define SM_F32_OVERFLOW 0x1.ffffffp+127
static int sm_check_finite_f32(const double *v, const int32_t *src, int32_t n, int allow_nan,
                               int allow_inf, int32_t *bad) {
    int32_t i;
    int rc = sm_check_finite(v, src, n, allow_nan, allow_inf, bad);
    if (rc != SM_OK || allow_inf) return rc;
    for (i = 0; i < n; i++) {
        double x = v[src[i]];
        if (x >= SM_F32_OVERFLOW || x <= -SM_F32_OVERFLOW) { *bad = src[i]; return SM_E_INFINITE_VALUE; }
    }
    return SM_OK;
}

/* dst = fill where src is missing (NaN, or == missing when missing_is_nan is 0). */
static void sm_impute(double *v, const int32_t *src, const int32_t *dst, const double *fill,
                      int32_t n, int missing_is_nan, double missing) {
    int32_t i;
    for (i = 0; i < n; i++) {
        double x = v[src[i]];
        int miss = missing_is_nan ? sm_is_nan(x) : (x == missing);
        v[dst[i]] = miss ? fill[i] : x;
    }
}

static void sm_missing_indicator(double *v, const int32_t *src, const int32_t *dst, int32_t n,
                                 int missing_is_nan, double missing) {
    int32_t i;
    for (i = 0; i < n; i++) {
        double x = v[src[i]];
        v[dst[i]] = (missing_is_nan ? sm_is_nan(x) : (x == missing)) ? 1.0 : 0.0;
    }
}

/* (x - sub) / div: scikit-learn's order for StandardScaler/RobustScaler/MaxAbsScaler. */
static void sm_sub_div(double *v, const int32_t *src, const int32_t *dst, const double *sub,
                       const double *div, int32_t n) {
    int32_t i;
    for (i = 0; i < n; i++) v[dst[i]] = (v[src[i]] - sub[i]) / div[i];
}

/* x * mul + add (MinMaxScaler), then np.clip semantics when clip is set (NaN stays NaN). */
static void sm_mul_add(double *v, const int32_t *src, const int32_t *dst, const double *mul,
                       const double *add, int32_t n, int clip, double lo, double hi) {
    int32_t i;
    for (i = 0; i < n; i++) {
        double y = v[src[i]] * mul[i] + add[i];
        if (clip) { if (y < lo) y = lo; if (y > hi) y = hi; }
        v[dst[i]] = y;
    }
}

/* One-hot: see ir/ops.py OneHot. on_unknown: -1 = error, -2 = ignore, >= 0 = a position.
 * missing_position: -2 = none (NaN is unknown), -1 = all zeros, >= 0 = a position. */
static int sm_one_hot(double *v, int32_t src, const int32_t *dst, int32_t n_dst,
                      const double *keys, const int32_t *position, int32_t n_keys,
                      int32_t missing_position, int32_t on_unknown) {
    double x = v[src];
    int32_t i, pos = -1, known = 1;
    if (sm_is_nan(x) && missing_position != -2) {
        pos = missing_position;
    } else {
        int32_t k = sm_lookup(keys, n_keys, x);
        if (k >= 0) pos = position[k];
        else known = 0;
    }
    if (!known) {
        if (on_unknown == -1) return SM_E_UNKNOWN_CATEGORY;
        pos = on_unknown >= 0 ? on_unknown : -1;
    }
    for (i = 0; i < n_dst; i++) v[dst[i]] = 0.0;
    if (pos >= 0) v[dst[pos]] = 1.0;
    return SM_OK;
}

/* Ordinal: keys -> values; has_missing/has_unknown say whether NaN / unseen have a value. */
static int sm_ordinal(double *v, int32_t src, int32_t dst, const double *keys,
                      const double *values, int32_t n_keys, int has_missing,
                      double missing_value, int has_unknown, double unknown_value) {
    double x = v[src];
    int32_t k;
    if (sm_is_nan(x) && has_missing) { v[dst] = missing_value; return SM_OK; }
    k = sm_lookup(keys, n_keys, x);
    if (k >= 0) { v[dst] = values[k]; return SM_OK; }
    if (!has_unknown) return SM_E_UNKNOWN_CATEGORY;
    v[dst] = unknown_value;
    return SM_OK;
}

/* ---- dense layers over a block of rows -----------------------------------------------
 * sm_linear_block is sm_linear for a block of rows (register files `stride` doubles apart;
 * rows with rc[r] != 0 are skipped), SM_LANES rows side by side in vector lanes. Each row's
 * sum still runs left to right exactly as in sm_linear, and lanes never mix, so every row
 * gets the same bits as alone; but one weight load serves SM_LANES rows and 8 independent
 * vector sums keep the FPU busy. Vectors are GCC/clang vector extensions (what the target
 * has: SSE2, NEON, wasm scalars); other C99 compilers get the same arithmetic lane by lane.
 * Multiplies and adds stay separate: -ffp-contract=off forbids FMA. */
#define SM_LANES 4 /* rows side by side */
#if defined(__GNUC__)
typedef double sm_v2 __attribute__((vector_size(2 * sizeof(double))));
typedef long long sm_i2 __attribute__((vector_size(2 * sizeof(long long)))); /* masks, bits */
#define SM_V2(x0, x1) ((sm_v2){(x0), (x1)})
#define SM_V2_LANE(a, l) ((a)[l])
#define SM_V2_MAC(a, c, x) ((a) += (c) * (x))
#define SM_V2_MACV(a, w, x) ((a) += (w) * (x))
#else
typedef struct { double v[2]; } sm_v2;
static sm_v2 sm__v2(double x0, double x1) { sm_v2 a; a.v[0] = x0; a.v[1] = x1; return a; }
#define SM_V2(x0, x1) sm__v2((x0), (x1))
#define SM_V2_LANE(a, l) ((a).v[l])
#define SM_V2_MAC(a, c, x) ((a).v[0] += (c) * (x).v[0], (a).v[1] += (c) * (x).v[1])
#define SM_V2_MACV(a, w, x) ((a).v[0] += (w).v[0] * (x).v[0], (a).v[1] += (w).v[1] * (x).v[1])
#endif

/* ---- dense layers ----------------------------------------------------------------------
 * Weights are stored input-major, coef[i * n_out + j] (the transpose of scikit-learn's
 * coef_ / coefs_[k].T): for each input i, the weights of neighbouring outputs are
 * neighbours in memory, so both kernels read them as vectors.
 *
 * sm_linear, one row: dst[j] = sum_i coef[i*n_out + j] * src[i] + intercept[j], each sum
 * left to right from 0.0. Sixteen outputs are summed side by side in eight two-lane
 * vectors (x[i] broadcast once per step): sixteen independent dependency chains, while
 * each output keeps its own fixed order (the same bits as one at a time). The row-major
 * kernel before it summed four outputs in scalar chains and was latency-bound: measured on
 * bench/pipelines.py (c) (MLP 30-64-32-1, one row through NAME_predict_matrix), 1,410 ->
 * 710 ns. x is scratch for the gathered input row (n_in doubles). */
static void sm_linear(double *v, const int32_t *src, int32_t n_in, const int32_t *dst,
                      int32_t n_out, const double *coef, const double *intercept, double *x) {
    int32_t i, j = 0;
    for (i = 0; i < n_in; i++) x[i] = v[src[i]];
    for (; j + 16 <= n_out; j += 16) {
        const double *w = coef + j;
        sm_v2 a0 = SM_V2(0.0, 0.0), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0,
              a7 = a0;
        for (i = 0; i < n_in; i++, w += n_out) {
            sm_v2 xi = SM_V2(x[i], x[i]);
            SM_V2_MACV(a0, SM_V2(w[0], w[1]), xi); SM_V2_MACV(a1, SM_V2(w[2], w[3]), xi);
            SM_V2_MACV(a2, SM_V2(w[4], w[5]), xi); SM_V2_MACV(a3, SM_V2(w[6], w[7]), xi);
            SM_V2_MACV(a4, SM_V2(w[8], w[9]), xi); SM_V2_MACV(a5, SM_V2(w[10], w[11]), xi);
            SM_V2_MACV(a6, SM_V2(w[12], w[13]), xi); SM_V2_MACV(a7, SM_V2(w[14], w[15]), xi);
        }
#define SM_LINEAR_STORE(a, o) do { \
            v[dst[j + (o)]] = SM_V2_LANE(a, 0) + intercept[j + (o)]; \
            v[dst[j + (o) + 1]] = SM_V2_LANE(a, 1) + intercept[j + (o) + 1]; \
        } while (0)
        SM_LINEAR_STORE(a0, 0); SM_LINEAR_STORE(a1, 2); SM_LINEAR_STORE(a2, 4);
        SM_LINEAR_STORE(a3, 6); SM_LINEAR_STORE(a4, 8); SM_LINEAR_STORE(a5, 10);
        SM_LINEAR_STORE(a6, 12); SM_LINEAR_STORE(a7, 14);
    }
    for (; j + 2 <= n_out; j += 2) {
        const double *w = coef + j;
        sm_v2 a = SM_V2(0.0, 0.0);
        for (i = 0; i < n_in; i++, w += n_out) SM_V2_MACV(a, SM_V2(w[0], w[1]), SM_V2(x[i], x[i]));
        SM_LINEAR_STORE(a, 0);
    }
#undef SM_LINEAR_STORE
    for (; j < n_out; j++) {
        const double *w = coef + j;
        double acc = 0.0;
        for (i = 0; i < n_in; i++, w += n_out) acc += *w * x[i];
        v[dst[j]] = acc + intercept[j];
    }
}

/* sm_sub_div over contiguous slots, out[0..n) from in[0..n) (the same or disjoint ranges):
 * two lanes at a time, so the compiler issues one vector division per pair (the same IEEE
 * quotient in each lane: the bits of the scalar loop). Measured on bench/pipelines.py (a)
 * (30 scaled columns + logistic regression): C NAME_predict_matrix 110 -> 81 ns/row. */
/* The vector loop of sm_sub_div_range, W columns per VT vector (the tail is scalar). */
#define SM__SUB_DIV_LOOP(VT, W)                                                    \
    for (; i + (W) <= n; i += (W)) {                                               \
        VT x, a, b;                                                                \
        __builtin_memcpy(&x, in + i, sizeof x);                                    \
        __builtin_memcpy(&a, sub + i, sizeof a);                                   \
        __builtin_memcpy(&b, div + i, sizeof b);                                   \
        x = (x - a) / b;                                                           \
        __builtin_memcpy(out + i, &x, sizeof x);                                   \
    }
static void sm_sub_div_range(double *out, const double *in, const double *sub,
                             const double *div, int32_t n) {
    int32_t i = 0;
#if defined(__GNUC__)
    SM__SUB_DIV_LOOP(sm_v2, 2)
#endif
    for (; i < n; i++) out[i] = (in[i] - sub[i]) / div[i];
}

/* sm_impute over contiguous slots, out[0..n) from in[0..n) (the same or disjoint ranges),
 * two per vector and branch-free (x ^ ((x ^ fill) & missing): fill's bits or x's). With
 * 5% NaN per column the branch of the scalar loop mispredicts on ~40% of the rows of
 * bench/pipelines.py (b). */
static void sm_impute_range(double *out, const double *in, const double *fill, int32_t n,
                            int missing_is_nan, double missing) {
    int32_t i = 0;
#if defined(__GNUC__)
    sm_v2 mv = {missing, missing};
    for (; i + 2 <= n; i += 2) {
        sm_v2 x, f;
        sm_i2 m, b;
        __builtin_memcpy(&x, in + i, sizeof x);
        __builtin_memcpy(&f, fill + i, sizeof f);
        m = missing_is_nan ? (sm_i2)(x != x) : (sm_i2)(x == mv);
        b = (sm_i2)x ^ (((sm_i2)x ^ (sm_i2)f) & m);
        __builtin_memcpy(out + i, &b, sizeof b);
    }
#endif
    for (; i < n; i++) {
        double x = in[i];
        int miss = missing_is_nan ? sm_is_nan(x) : (x == missing);
        out[i] = miss ? fill[i] : x;
    }
}

/* sm_check_finite for contiguous slots: v points at the first (slot `first`). The same
 * x - x test, two slots per vector load and two vector sums (the sum is +0 or NaN whatever
 * the order); with NaN allowed (imputer inputs, where NaN is common), |x| == inf instead.
 * A row that fails the quick test gets sm_check_finite's slot-by-slot verdict. */
static int sm_check_finite_range(const double *v, int32_t first, int32_t n, int allow_nan,
                                 int allow_inf, int32_t *bad) {
    int32_t i = 0;
    if (allow_nan && allow_inf) return SM_OK;
#if defined(__GNUC__)
    if (allow_nan) {
        sm_i2 m = {0, 0};
        sm_v2 inf = {SM_INF, SM_INF};
        int any;
        for (; i + 2 <= n; i += 2) {
            sm_v2 a;
            __builtin_memcpy(&a, v + i, sizeof a);
            m |= (sm_i2)((sm_v2)((sm_i2)a & 0x7fffffffffffffffLL) == inf);
        }
        any = (m[0] | m[1]) != 0;
        for (; i < n; i++) any |= sm_is_inf(v[i]);
        if (!any) return SM_OK;
    } else {
        sm_v2 z0 = {0.0, 0.0}, z1 = z0;
        double z;
        for (; i + 4 <= n; i += 4) {
            sm_v2 a, b;
            __builtin_memcpy(&a, v + i, sizeof a);
            __builtin_memcpy(&b, v + i + 2, sizeof b);
            z0 += a - a;
            z1 += b - b;
        }
        z0 += z1;
        z = z0[0] + z0[1];
        for (; i < n; i++) { double x = v[i]; z += x - x; }
        if (z == 0.0) return SM_OK;
    }
#else
    {
        double z = 0.0;
        for (; i < n; i++) { double x = v[i]; z += x - x; }
        if (z == 0.0) return SM_OK;
    }
#endif
    for (i = 0; i < n; i++) {
        double x = v[i];
        if (!allow_nan && sm_is_nan(x)) { *bad = first + i; return SM_E_MISSING_VALUE; }
        if (!allow_inf && sm_is_inf(x)) { *bad = first + i; return SM_E_INFINITE_VALUE; }
    }
    return SM_OK;
}

/* 1 when every x[i] lies in [lo[i], hi[i]], or is NaN where nan_bad[i] is 0 (-1, all
 * bits, where a NaN is a violation): the input contract's common case, branch-free, two
 * columns per vector. (Three OR-ed sums of one comparison each: GCC 12 turns an OR or AND
 * of two comparisons' masks into scalar selects on SSE2, 2x slower than this.) */
static int sm_within(const double *x, const double *lo, const double *hi,
                     const int64_t *nan_bad, int32_t n) {
    int32_t i = 0;
    int bad = 0;
#if defined(__GNUC__)
    sm_i2 b0 = {0, 0}, b1 = b0, b2 = b0;
    for (; i + 2 <= n; i += 2) {
        sm_v2 a, l, h;
        sm_i2 m;
        __builtin_memcpy(&a, x + i, sizeof a);
        __builtin_memcpy(&l, lo + i, sizeof l);
        __builtin_memcpy(&h, hi + i, sizeof h);
        __builtin_memcpy(&m, nan_bad + i, sizeof m);
        b0 |= (sm_i2)(a < l); /* NaN compares false both ways */
        b1 |= (sm_i2)(a > h);
        b2 |= (sm_i2)(a != a) & m;
    }
    b0 |= b1 | b2;
    bad = (b0[0] | b0[1]) != 0;
#endif
    for (; i < n; i++)
        bad |= (x[i] < lo[i]) | (x[i] > hi[i]) | ((x[i] != x[i]) & (nan_bad[i] != 0));
    return !bad;
}

/* x86-64 with AVX2 (checked at run time, see sm_cpu_avx2): the same kernel with the 4 rows
 * in one 256-bit vector, twice the arithmetic per instruction, same bits. */
#if defined(__GNUC__) && defined(__x86_64__)
#define SM_X86_AVX2 1
typedef double sm_v4 __attribute__((vector_size(4 * sizeof(double))));
#endif

/* One input of SM_LANES rows, as each kernel reads it (scratch of the block kernels). */
typedef union {
    sm_v2 h[2];
#ifdef SM_X86_AVX2
    sm_v4 q;
#endif
    double d[SM_LANES];
} sm_lanes;

/* Store output j's lanes (plus its intercept) into the block's rows. */
#define SM_DENSE_STORE(lo, hi, j) do { \
        for (l = 0; l < nl; l++) \
            V[row[l] + (size_t)dst[j]] = SM_V2_LANE(l < 2 ? (lo) : (hi), l & 1) + intercept[j]; \
    } while (0)

/* Gather the next SM_LANES running rows' inputs into xt; returns how many rows (0: done).
 * Spare lanes repeat the last row (computed, never stored). */
static int32_t sm_dense_rows(int32_t stride, int32_t nb, const int *rc, int32_t *r,
                             size_t *row) {
    int32_t l, nl;
    for (nl = 0; nl < SM_LANES && *r < nb; (*r)++)
        if (rc[*r] == 0) row[nl++] = (size_t)*r * (size_t)stride;
    for (l = nl; nl > 0 && l < SM_LANES; l++) row[l] = row[nl - 1];
    return nl;
}

static int32_t sm_dense_gather(const double *V, int32_t stride, int32_t nb, const int *rc,
                               const int32_t *src, int32_t n_in, int32_t *r, size_t *row,
                               sm_lanes *xt) {
    int32_t i, l, nl = sm_dense_rows(stride, nb, rc, r, row);
    if (nl == 0) return 0;
    for (i = 0; i < n_in; i++)
        for (l = 0; l < SM_LANES; l++) xt[i].d[l] = V[row[l] + (size_t)src[i]];
    return nl;
}

static void sm_linear_block(double *V, int32_t stride, int32_t nb, const int *rc,
                            const int32_t *src, int32_t n_in, const int32_t *dst, int32_t n_out,
                            const double *coef, const double *intercept, sm_lanes *xt) {
    int32_t i, j, l, nl, r = 0;
    size_t row[SM_LANES];
    if (nb == 1) { /* a one-row call: no lanes to gather */
        if (rc[0] == 0) sm_linear(V, src, n_in, dst, n_out, coef, intercept, (double *)(void *)xt);
        return;
    }
    while ((nl = sm_dense_gather(V, stride, nb, rc, src, n_in, &r, row, xt)) > 0) {
        if (nl == 1) { /* a lone row: lanes would only repeat it */
            sm_linear(V + row[0], src, n_in, dst, n_out, coef, intercept, (double *)(void *)xt);
            continue;
        }
        for (j = 0; j + 4 <= n_out; j += 4) { /* four outputs: 8 vector sums in flight */
            const double *w = coef + j;
            sm_v2 lo0 = SM_V2(0.0, 0.0), hi0 = lo0, lo1 = lo0, hi1 = lo0, lo2 = lo0,
                  hi2 = lo0, lo3 = lo0, hi3 = lo0;
            for (i = 0; i < n_in; i++, w += n_out) {
                sm_v2 xlo = xt[i].h[0], xhi = xt[i].h[1];
                SM_V2_MAC(lo0, w[0], xlo); SM_V2_MAC(hi0, w[0], xhi);
                SM_V2_MAC(lo1, w[1], xlo); SM_V2_MAC(hi1, w[1], xhi);
                SM_V2_MAC(lo2, w[2], xlo); SM_V2_MAC(hi2, w[2], xhi);
                SM_V2_MAC(lo3, w[3], xlo); SM_V2_MAC(hi3, w[3], xhi);
            }
            SM_DENSE_STORE(lo0, hi0, j);
            SM_DENSE_STORE(lo1, hi1, j + 1);
            SM_DENSE_STORE(lo2, hi2, j + 2);
            SM_DENSE_STORE(lo3, hi3, j + 3);
        }
        for (; j < n_out; j++) {
            const double *w = coef + j;
            sm_v2 lo = SM_V2(0.0, 0.0), hi = lo;
            for (i = 0; i < n_in; i++, w += n_out) {
                SM_V2_MAC(lo, w[0], xt[i].h[0]);
                SM_V2_MAC(hi, w[0], xt[i].h[1]);
            }
            SM_DENSE_STORE(lo, hi, j);
        }
    }
}

#ifdef SM_X86_AVX2
typedef long long sm_i4 __attribute__((vector_size(4 * sizeof(long long))));
#if defined(__clang__)
#define SM_SHUF4(a, b, i0, i1, i2, i3) __builtin_shufflevector((a), (b), i0, i1, i2, i3)
#else
#define SM_SHUF4(a, b, i0, i1, i2, i3) __builtin_shuffle((a), (b), (sm_i4){i0, i1, i2, i3})
#endif

/* sm_dense_gather for the AVX2 kernel: when the inputs are contiguous slots (contig), each
 * 4 x 4 tile of (rows, inputs) is loaded as 4 vectors and transposed in registers instead of
 * 16 scalar loads and stores (the same values moved). Measured on bench/pipelines.py (c)
 * (MLP 30-64-32-1), NAME_predict_matrix 380 -> 346 ns/row. */
__attribute__((target("avx2")))
static int32_t sm_dense_gather_avx2(const double *V, int32_t stride, int32_t nb, const int *rc,
                                    const int32_t *src, int32_t n_in, int32_t *r, size_t *row,
                                    sm_lanes *xt, int contig) {
    int32_t i = 0, l, nl = sm_dense_rows(stride, nb, rc, r, row);
    if (nl == 0) return 0;
    if (contig) {
        const double *p0 = V + row[0] + src[0], *p1 = V + row[1] + src[0],
                     *p2 = V + row[2] + src[0], *p3 = V + row[3] + src[0];
        for (; i + 4 <= n_in; i += 4) {
            sm_v4 a, b, c, d, t0, t1, t2, t3;
            __builtin_memcpy(&a, p0 + i, sizeof a);
            __builtin_memcpy(&b, p1 + i, sizeof b);
            __builtin_memcpy(&c, p2 + i, sizeof c);
            __builtin_memcpy(&d, p3 + i, sizeof d);
            t0 = SM_SHUF4(a, b, 0, 4, 2, 6); /* a0 b0 a2 b2 */
            t1 = SM_SHUF4(a, b, 1, 5, 3, 7); /* a1 b1 a3 b3 */
            t2 = SM_SHUF4(c, d, 0, 4, 2, 6);
            t3 = SM_SHUF4(c, d, 1, 5, 3, 7);
            xt[i].q = SM_SHUF4(t0, t2, 0, 1, 4, 5); /* a0 b0 c0 d0 */
            xt[i + 1].q = SM_SHUF4(t1, t3, 0, 1, 4, 5);
            xt[i + 2].q = SM_SHUF4(t0, t2, 2, 3, 6, 7);
            xt[i + 3].q = SM_SHUF4(t1, t3, 2, 3, 6, 7);
        }
    }
    for (; i < n_in; i++)
        for (l = 0; l < SM_LANES; l++) xt[i].d[l] = V[row[l] + (size_t)src[i]];
    return nl;
}

/* sm_sub_div_range with AVX2: four columns per vector division (the same quotients).
 * Measured on bench/pipelines.py (a), NAME_predict_matrix 82 -> 78 ns/row. */
__attribute__((target("avx2")))
static void sm_sub_div_range_avx2(double *out, const double *in, const double *sub,
                                  const double *div, int32_t n) {
    int32_t i = 0;
    SM__SUB_DIV_LOOP(sm_v4, 4)
    for (; i < n; i++) out[i] = (in[i] - sub[i]) / div[i];
    __asm__ volatile("vzeroupper" ::: "memory"); /* see sm_linear_block_avx2 */
}

/* One weight in every lane. */
#define SM_BCAST4(w) ((sm_v4){(w), (w), (w), (w)})
/* Output j + k of lane l (plus its intercept) into the row at o. */
#define SM_PUT(o, a, k) ((o)[dst[j + (k)]] = (a)[l] + intercept[j + (k)])

/* sm_linear_block with AVX2: 4 rows per vector. Two vectors of rows (8 rows) while there
 * are, 6 outputs x 2 row vectors per inner loop: each weight is loaded and broadcast once
 * for 8 rows (12 sums + 2 inputs + 1 weight: 15 of the 16 YMM registers). Measured on
 * bench/pipelines.py (c) (MLP 30-64-32-1), NAME_predict_matrix 339 -> 318 ns/row against
 * 8 outputs x 1 row vector, which remains for the last rows of a block. xt: 2 * n_in. */
__attribute__((target("avx2")))
static void sm_linear_block_avx2(double *V, int32_t stride, int32_t nb, const int *rc,
                                 const int32_t *src, int32_t n_in, const int32_t *dst,
                                 int32_t n_out, const double *coef, const double *intercept,
                                 sm_lanes *xt) {
    int32_t i, j, l, nl, nl1, r = 0, contig = 1;
    size_t row[SM_LANES], row1[SM_LANES];
    sm_lanes *xu = xt + n_in;
    for (i = 1; i < n_in; i++) contig &= src[i] == src[0] + i;
    while ((nl = sm_dense_gather_avx2(V, stride, nb, rc, src, n_in, &r, row, xt, contig)) > 0) {
        nl1 = nl < SM_LANES ? 0 : sm_dense_gather_avx2(V, stride, nb, rc, src, n_in, &r, row1,
                                                       xu, contig);
        if (nl1 > 0) { /* rows row[0..4) in xt, row1[0..nl1) in xu */
            for (j = 0; j + 6 <= n_out; j += 6) {
                const double *w = coef + j;
                sm_v4 a0 = {0.0, 0.0, 0.0, 0.0}, b0 = a0, a1 = a0, b1 = a0, a2 = a0, b2 = a0,
                      a3 = a0, b3 = a0, a4 = a0, b4 = a0, a5 = a0, b5 = a0;
                for (i = 0; i < n_in; i++, w += n_out) {
                    sm_v4 x = xt[i].q, y = xu[i].q, c;
                    c = SM_BCAST4(w[0]); a0 += c * x; b0 += c * y;
                    c = SM_BCAST4(w[1]); a1 += c * x; b1 += c * y;
                    c = SM_BCAST4(w[2]); a2 += c * x; b2 += c * y;
                    c = SM_BCAST4(w[3]); a3 += c * x; b3 += c * y;
                    c = SM_BCAST4(w[4]); a4 += c * x; b4 += c * y;
                    c = SM_BCAST4(w[5]); a5 += c * x; b5 += c * y;
                }
                for (l = 0; l < SM_LANES; l++) {
                    double *o = V + row[l];
                    SM_PUT(o, a0, 0); SM_PUT(o, a1, 1); SM_PUT(o, a2, 2);
                    SM_PUT(o, a3, 3); SM_PUT(o, a4, 4); SM_PUT(o, a5, 5);
                }
                for (l = 0; l < nl1; l++) {
                    double *o = V + row1[l];
                    SM_PUT(o, b0, 0); SM_PUT(o, b1, 1); SM_PUT(o, b2, 2);
                    SM_PUT(o, b3, 3); SM_PUT(o, b4, 4); SM_PUT(o, b5, 5);
                }
            }
            for (; j < n_out; j++) {
                const double *w = coef + j;
                sm_v4 a = {0.0, 0.0, 0.0, 0.0}, b = a;
                for (i = 0; i < n_in; i++, w += n_out) { a += w[0] * xt[i].q; b += w[0] * xu[i].q; }
                for (l = 0; l < SM_LANES; l++) V[row[l] + (size_t)dst[j]] = a[l] + intercept[j];
                for (l = 0; l < nl1; l++) V[row1[l] + (size_t)dst[j]] = b[l] + intercept[j];
            }
            continue;
        }
        for (j = 0; j + 8 <= n_out; j += 8) {
            const double *w = coef + j;
            sm_v4 a0 = {0.0, 0.0, 0.0, 0.0}, a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0,
                  a6 = a0, a7 = a0;
            for (i = 0; i < n_in; i++, w += n_out) {
                sm_v4 x = xt[i].q;
                a0 += w[0] * x; a1 += w[1] * x; a2 += w[2] * x; a3 += w[3] * x;
                a4 += w[4] * x; a5 += w[5] * x; a6 += w[6] * x; a7 += w[7] * x;
            }
            for (l = 0; l < nl; l++) {
                double *o = V + row[l];
                SM_PUT(o, a0, 0); SM_PUT(o, a1, 1); SM_PUT(o, a2, 2); SM_PUT(o, a3, 3);
                SM_PUT(o, a4, 4); SM_PUT(o, a5, 5); SM_PUT(o, a6, 6); SM_PUT(o, a7, 7);
            }
        }
        for (; j < n_out; j++) {
            const double *w = coef + j;
            sm_v4 a = {0.0, 0.0, 0.0, 0.0};
            for (i = 0; i < n_in; i++, w += n_out) a += w[0] * xt[i].q;
            for (l = 0; l < nl; l++) V[row[l] + (size_t)dst[j]] = a[l] + intercept[j];
        }
    }
    /* Clear the upper halves of the YMM registers before SSE code runs again: gcc does not
     * do it for a target("avx2") function in a non-AVX file, and dirty upper halves made
     * the SSE one-row kernel 1.7x slower afterwards (measured, bench/pipelines.py MLP). */
    __asm__ volatile("vzeroupper" ::: "memory");
}
#undef SM_PUT

/* Does this CPU (and OS) run AVX2? cpuid traps to the hypervisor in a VM (~3.6 us measured
 * on KVM), and the library keeps no state to cache it in, so NAME_predict_matrix asks
 * once per call, and only for batches big enough to pay for it (the generated code's
 * DENSE_AVX2(n), from the model's vector work per row). */
static int sm_cpu_avx2(void) {
    uint32_t a, b, c, d, lo, hi;
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0u), "c"(0u));
    if (a < 7u) return 0;
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1u), "c"(0u));
    if (!((c >> 27) & 1u) || !((c >> 28) & 1u)) return 0; /* OSXSAVE, AVX */
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0u));
    if ((lo & 6u) != 6u) return 0; /* the OS saves XMM and YMM state */
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(7u), "c"(0u));
    (void)hi;
    return (int)((b >> 5) & 1u);
}
#define SM_CPU_AVX2() sm_cpu_avx2()
#define SM_SUB_DIV_RANGE(avx2, ...) \
    ((avx2) ? sm_sub_div_range_avx2(__VA_ARGS__) : sm_sub_div_range(__VA_ARGS__))
#define SM_LINEAR_BLOCK(avx2, ...) \
    ((avx2) ? sm_linear_block_avx2(__VA_ARGS__) : sm_linear_block(__VA_ARGS__))
#else
#define SM_CPU_AVX2() 0
#define SM_SUB_DIV_RANGE(avx2, ...) sm_sub_div_range(__VA_ARGS__)
#define SM_LINEAR_BLOCK(avx2, ...) sm_linear_block(__VA_ARGS__)
#endif

/* ---- the logistic function over many values, in vector lanes ------------------------
 * sm_sigmoid's main path (-700 <= x <= 40, |x| >= 2^-18: every x the models feed it in
 * practice) written on GCC/clang vectors, NL values side by side. Each lane performs
 * exactly sm_sigmoid's operations in sm_sigmoid's order (the table lookup lane by lane,
 * the integer steps on the bits; no FMA under -ffp-contract=off), so each value gets
 * sm_sigmoid's bits; values off the main path (NaN, the tails, tiny |x|) are redone by
 * sm_sigmoid itself. The x >= 0 / x < 0 branches become selects: x >= 0 computes
 * dd_div(1, 0, dh, dl) * 1.0, the same double (r * 1.0 == r for finite r).
 * Measured on bench/pipelines.py (a) (scaler + logistic regression: one sigmoid per row,
 * ~25 ns of a 116 ns row), NAME_predict_matrix 116 -> 104 ns/row with one vector at a time,
 * and 78 -> 71 more with the three steps below.
 * The asm("vzeroupper") ending each AVX2 function must follow the last use of a vector
 * register: GCC moves code on values held only in registers across it (the asm names no
 * registers). In a tried AVX2 contract_ok it cleared the upper lanes of an unfinished sum
 * (a bench parity check caught it); the kernels here have stored every result before it. */
#if defined(__GNUC__)

/* sm_sigmoid's main path on vector lanes, in three steps so that a loop over vectors runs
 * each step for many vectors before the next: the whole path is one ~250-cycle chain of
 * dependent operations, and GCC does not interleave the chains of two vectors by itself.
 * A: reduction, table and expm1 polynomial (x -> Th, Tl, s = 2^E, ph + pl); */
#define SM__SIG_A(VT, IT, NL, x, Th_, Tl_, sc_, ph_, pl_) do {                              \
    VT z_ = {0.0}, xn_, t_, kd_, a0_, b0_, rh_, rl_, bb_, sh_, sl_, c_, h1_, e1_;            \
    IT kb_, j_;                                                                              \
    int32_t l_i;                                                                             \
    xn_ = -(VT)((IT)(x) & 0x7fffffffffffffffLL);          /* x >= 0 ? -x : x */             \
    t_ = xn_ * 0x1.71547652b82fep+7 + 0x1.8p52;                                             \
    kd_ = t_ - 0x1.8p52;                                  /* round(x*128/ln2) */            \
    kb_ = (IT)t_;                                         /* low bits: 2^51 + k */          \
    j_ = kb_ & 127;                                                                          \
    for (l_i = 0; l_i < (NL); l_i++) {                                                       \
        (Th_)[l_i] = sm__exp_tab[j_[l_i]][0];                                                \
        (Tl_)[l_i] = sm__exp_tab[j_[l_i]][1];                                                \
    }                                                                                        \
    /* s = 2^E, E = (k - j) / 128 = ((2^51 + k) >> 7) - 2^44 */                              \
    (sc_) = (VT)((((kb_ & 0xfffffffffffffLL) >> 7) - (1LL << 44) + 1023) << 52);            \
    a0_ = xn_ - kd_ * 0x1.62e42fefc0000p-8;               /* two_sum(a0, b0) -> rh, rl */  \
    b0_ = kd_ * 0x1.c610ca86c3899p-44;                                                       \
    rh_ = a0_ + b0_; bb_ = rh_ - a0_; rl_ = (a0_ - (rh_ - bb_)) + (b0_ - bb_);               \
    SM__TWO_PROD(VT, rh_, rh_, sh_, sl_);                 /* expm1_poly(rh, rl) */          \
    sh_ = sh_ * 0.5; sl_ = sl_ * 0.5;                                                        \
    c_ = rh_ * sh_ * (0x1.5555555555555p-2 + rh_ * (0x1.5555555555555p-4 + rh_ *             \
         (0x1.1111111111111p-6 + rh_ * (0x1.6c16c16c16c17p-9 + rh_ * 0x1.a01a01a01a01ap-12)))); \
    h1_ = rh_ + sh_; e1_ = sh_ - (h1_ - rh_);                                                \
    SM__ADD_ODD(VT, IT, z_, e1_, ((rl_ + rl_ * rh_) + sl_) + c_, e1_);                       \
    (ph_) = h1_ + e1_; (pl_) = e1_ - ((ph_) - h1_);                                          \
} while (0)

/* B: exp_core's result u = s * (h + l), then d = 1 + u as dh + dl (outputs written last,
 * so they may be the inputs' variables); */
#define SM__SIG_B(VT, IT, Th_, Tl_, sc_, ph_, pl_, h_o, l_o, dh_o, dl_o) do {               \
    VT z_ = {0.0}, pa_, pb_, s_, e_, h_, l_, a0_, dh_, dl_, bb_;                             \
    SM__TWO_PROD(VT, Th_, ph_, pa_, pb_);                                                    \
    s_ = (Th_) + pa_; e_ = pa_ - (s_ - (Th_));                                               \
    h_ = s_;                                                                                 \
    SM__ADD_ODD(VT, IT, z_, e_, pb_ + ((Tl_) + ((Th_) * (pl_) + (Tl_) * (ph_))), l_);        \
    a0_ = h_ * (sc_);                                                                        \
    dh_ = 1.0 + a0_; bb_ = dh_ - 1.0; dl_ = (1.0 - (dh_ - bb_)) + (a0_ - bb_);               \
    dl_ = dl_ + l_ * (sc_);                                                                  \
    (h_o) = h_; (l_o) = l_; (dh_o) = dh_; (dl_o) = dl_;                                      \
} while (0)

/* C: the quotient, x >= 0: dd_div(1, 0, dh, dl) * 1.0, x < 0: dd_div(h, l, dh, dl) * s. */
#define SM__SIG_C(VT, IT, x, h_, l_, sc_, dh_, dl_, r) do {                                 \
    VT z_ = {0.0}, nh_, nl_, mu_, q_, p_, pe_;                                               \
    IT pos_ = (IT)((x) >= z_);                                                               \
    nh_ = (VT)((pos_ & (IT)(z_ + 1.0)) | (~pos_ & (IT)(h_)));                                \
    nl_ = (VT)(~pos_ & (IT)(l_));                                                            \
    mu_ = (VT)((pos_ & (IT)(z_ + 1.0)) | (~pos_ & (IT)(sc_)));                               \
    q_ = nh_ / (dh_);                                                                        \
    SM__TWO_PROD(VT, q_, dh_, p_, pe_);                                                      \
    (r) = (q_ + ((((nh_ - p_) - pe_) + nl_) - q_ * (dl_)) / (dh_)) * mu_;                   \
} while (0)

/* sm__two_prod on vectors: p + e = a * b exactly. */
#define SM__TWO_PROD(VT, a, b, p, e) do {                                                    \
    VT ab_ = (a) * (b), tt_, ah_, al_, bh_, bl_;                                             \
    tt_ = (a) * 0x1.0000002p27; ah_ = tt_ - (tt_ - (a)); al_ = (a) - ah_;                    \
    tt_ = (b) * 0x1.0000002p27; bh_ = tt_ - (tt_ - (b)); bl_ = (b) - bh_;                    \
    (e) = ((ah_ * bh_ - ab_) + ah_ * bl_ + al_ * bh_) + al_ * bl_;                           \
    (p) = ab_;                                                                               \
} while (0)

/* sm__add_odd on vectors: out = a + b rounded to odd. */
#define SM__ADD_ODD(VT, IT, z, a, b, out) do {                                               \
    VT aa_ = (a), b_ = (b), s2_, t2_, e2_;                                                   \
    IT u_, m_, d_;                                                                           \
    s2_ = aa_ + b_; t2_ = s2_ - aa_; e2_ = (aa_ - (s2_ - t2_)) + (b_ - t2_);                 \
    u_ = (IT)s2_;                                                                            \
    m_ = (IT)(e2_ != (z)) & ((u_ & 1) == 0);                                                 \
    d_ = (IT)((e2_ > (z)) == (s2_ > (z)));                                                   \
    (out) = (VT)(u_ + (m_ & ((d_ & 2) - 1)));                                                \
} while (0)

/* 1 if sm_sigmoid(x) takes its main path (which the lanes compute). */
static int sm__sigmoid_main(double x) { return x >= -700.0 && x <= 40.0 && sm_fabs(x) >= 0x1p-18; }

/* y[i] = sm_sigmoid(x[i]) for i < n (y may be x): SM__SIG_K vectors of NL values at a time,
 * each step over all of them. Measured on 100k sigmoids (Zen 4): AVX2 14.2 -> 7.7 ns a value,
 * SSE2 21.0 -> 16.8 (one vector at a time, the whole path per vector), scalar 35.4.
 * (Also tried: two vectors per iteration, one path after the other: 13 ns, GCC keeps them
 * apart; GCC vectors of 8 doubles under AVX2, split by the compiler: 24 ns.) */
#define SM__SIG_K 8
#define SM__SIGMOID_N(NAME, VT, IT, NL, ATTR)                                                \
ATTR static void NAME(double *y, const double *x, int32_t n) {                               \
    VT v[SM__SIG_K], A[SM__SIG_K], B[SM__SIG_K], C[SM__SIG_K], D[SM__SIG_K], E[SM__SIG_K];   \
    int32_t i0, i, k, l, m, nv;                                                              \
    double t;                                                                                \
    for (i0 = 0; i0 < n; i0 += SM__SIG_K * (NL)) {                                           \
        m = n - i0 < SM__SIG_K * (NL) ? n - i0 : SM__SIG_K * (NL);                           \
        nv = (m + (NL) - 1) / (NL);                                                          \
        for (k = 0; k < nv; k++)                                                             \
            for (l = 0; l < (NL); l++) {                                                     \
                i = k * (NL) + l;                                                            \
                t = x[i0 + (i < m ? i : 0)];                                                 \
                v[k][l] = sm__sigmoid_main(t) ? t : 1.0;                                     \
            }                                                                                \
        for (k = 0; k < nv; k++) SM__SIG_A(VT, IT, NL, v[k], A[k], B[k], C[k], D[k], E[k]);  \
        for (k = 0; k < nv; k++)                                                             \
            SM__SIG_B(VT, IT, A[k], B[k], C[k], D[k], E[k], A[k], B[k], D[k], E[k]);         \
        for (k = 0; k < nv; k++) SM__SIG_C(VT, IT, v[k], A[k], B[k], C[k], D[k], E[k], v[k]); \
        for (i = 0; i < m; i++)                                                              \
            y[i0 + i] = sm__sigmoid_main(x[i0 + i]) ? v[i / (NL)][i % (NL)]                  \
                                                    : sm_sigmoid(x[i0 + i]);                 \
    }                                                                                        \
}
SM__SIGMOID_N(sm_sigmoid_n, sm_v2, sm_i2, 2, )
#ifdef SM_X86_AVX2
SM__SIGMOID_N(sm_sigmoid_n_avx2_, sm_v4, sm_i4, 4, __attribute__((target("avx2"))))
__attribute__((target("avx2")))
static void sm_sigmoid_n_avx2(double *y, const double *x, int32_t n) {
    sm_sigmoid_n_avx2_(y, x, n);
    __asm__ volatile("vzeroupper" ::: "memory"); /* see sm_linear_block_avx2 */
}
#define SM_SIGMOID_N(avx2, y, x, n) \
    ((avx2) ? sm_sigmoid_n_avx2((y), (x), (n)) : sm_sigmoid_n((y), (x), (n)))
#else
#define SM_SIGMOID_N(avx2, y, x, n) sm_sigmoid_n((y), (x), (n))
#endif
#else /* other C99 compilers: one value at a time */
static void sm_sigmoid_n(double *y, const double *x, int32_t n) {
    int32_t i;
    for (i = 0; i < n; i++) y[i] = sm_sigmoid(x[i]);
}
#define SM_SIGMOID_N(avx2, y, x, n) sm_sigmoid_n((y), (x), (n))
#endif

#define SM_IDENTITY 0
#define SM_RELU 1
#define SM_TANH 2
#define SM_LOGISTIC 3
#define SM_EXP 4
#define SM_EXP2 5
#define SM_NEGATE 6

static void sm_elementwise(double *v, const int32_t *src, const int32_t *dst, int32_t n,
                           int fn) {
    int32_t i;
    if (fn == SM_RELU) { /* its own loop, branch-free: signs of hidden units are coin flips */
        for (i = 0; i < n; i++) {
            sm_bits b;
            uint64_t keep;
            b.d = v[src[i]];
            /* numpy.maximum(x, 0): x if x > 0 or NaN, else +0.0 (all bits clear) */
            keep = (uint64_t)((b.d > 0.0) | (b.d != b.d));
            b.u &= (uint64_t)0 - keep;
            v[dst[i]] = b.d;
        }
        return;
    }
    for (i = 0; i < n; i++) {
        double x = v[src[i]];
        switch (fn) {
            case SM_TANH: x = sm_tanh(x); break;
            case SM_LOGISTIC: x = sm_sigmoid(x); break;
            case SM_EXP: x = sm_exp(x); break;
            case SM_EXP2: x = sm_exp(x * 0x1.62e42fefa39efp-1); break; /* 2^x = e^(x ln 2) */
            case SM_NEGATE: x = -x; break;
            default: break;
        }
        v[dst[i]] = x;
    }
}

/* relu (sm_elementwise's SM_RELU) over contiguous slots, out[0..n) from in[0..n) (the same
 * or disjoint ranges), two per vector: x <= 0 (false for NaN) clears all bits, giving +0.0
 * for -0.0 and negatives, x itself otherwise: numpy.maximum(x, 0) as the scalar loop.
 * (One comparison: GCC 12 lowers an OR of two comparison masks to scalar selects.) */
static void sm_relu_range(double *out, const double *in, int32_t n) {
    int32_t i = 0;
#if defined(__GNUC__)
    for (; i + 2 <= n; i += 2) {
        sm_v2 x;
        sm_i2 b;
        __builtin_memcpy(&x, in + i, sizeof x);
        b = (sm_i2)x & ~(sm_i2)(x <= (sm_v2){0.0, 0.0});
        __builtin_memcpy(out + i, &b, sizeof b);
    }
#endif
    for (; i < n; i++) {
        sm_bits b;
        b.d = in[i];
        b.u &= (uint64_t)0 - (uint64_t)!(b.d <= 0.0);
        out[i] = b.d;
    }
}

/* exp(z - max z) / sum: the order of sklearn.utils.extmath.softmax. */
static void sm_softmax(double *v, const int32_t *src, const int32_t *dst, int32_t n) {
    int32_t i;
    double mx = v[src[0]], sum = 0.0;
    for (i = 1; i < n; i++) if (v[src[i]] > mx) mx = v[src[i]];
    for (i = 0; i < n; i++) { v[dst[i]] = sm_exp(v[src[i]] - mx); sum += v[dst[i]]; }
    for (i = 0; i < n; i++) v[dst[i]] = v[dst[i]] / sum;
}

#define SM_LINK_LOGISTIC 0
#define SM_LINK_IDENTITY 1
#define SM_LINK_MODIFIED_HUBER 2

static double sm_link(double d, int fn) {
    if (fn == SM_LINK_LOGISTIC) return sm_sigmoid(d);
    if (fn == SM_LINK_MODIFIED_HUBER) {
        if (d < -1.0) d = -1.0;
        if (d > 1.0) d = 1.0;
        return (d + 1.0) / 2.0;
    }
    return d;
}

static void sm_binary_proba(double *v, int32_t src, int32_t dst0, int32_t dst1, int fn) {
    double p = sm_link(v[src], fn);
    v[dst0] = 1.0 - p;
    v[dst1] = p;
}

/* Block kernels (rows `stride` doubles apart, rows with rc[r] != 0 skipped) for the
 * logistic function: the block's values are gathered, run through SM_SIGMOID_N (lanes) and
 * scattered back; each value gets sm_sigmoid's bits, so each row its one-row result. */

/* sm_binary_proba with the logistic link over a block. xs: nb doubles of scratch. */
static void sm_binary_proba_block(double *V, int32_t stride, int32_t nb, const int *rc,
                                  int32_t src, int32_t dst0, int32_t dst1, int avx2,
                                  double *xs) {
    int32_t r, k = 0;
    for (r = 0; r < nb; r++) if (rc[r] == 0) xs[k++] = V[(size_t)r * stride + (size_t)src];
    SM_SIGMOID_N(avx2, xs, xs, k);
    for (r = 0, k = 0; r < nb; r++)
        if (rc[r] == 0) {
            double *v = V + (size_t)r * stride, p = xs[k++];
            v[dst0] = 1.0 - p;
            v[dst1] = p;
        }
}

/* sm_elementwise(..., SM_LOGISTIC) over a block, for dst == src or dst disjoint from src
 * (all reads before the writes). xs: nb * n doubles of scratch. */
static void sm_logistic_block(double *V, int32_t stride, int32_t nb, const int *rc,
                              const int32_t *src, const int32_t *dst, int32_t n, int avx2,
                              double *xs) {
    int32_t r, i, k = 0;
    for (r = 0; r < nb; r++)
        if (rc[r] == 0) for (i = 0; i < n; i++) xs[k++] = V[(size_t)r * stride + (size_t)src[i]];
    SM_SIGMOID_N(avx2, xs, xs, k);
    for (r = 0, k = 0; r < nb; r++)
        if (rc[r] == 0) for (i = 0; i < n; i++) V[(size_t)r * stride + (size_t)dst[i]] = xs[k++];
}

/* One-vs-rest normalisation; a row of all zeros becomes uniform, as in scikit-learn. */
static void sm_ovr_normalize(double *v, const int32_t *src, const int32_t *dst, int32_t n,
                             int fn) {
    int32_t i;
    double sum = 0.0;
    for (i = 0; i < n; i++) { v[dst[i]] = sm_link(v[src[i]], fn); sum += v[dst[i]]; }
    if (sum == 0.0) {
        for (i = 0; i < n; i++) v[dst[i]] = 1.0;
        sum = (double)n;
    }
    for (i = 0; i < n; i++) v[dst[i]] = v[dst[i]] / sum;
}

/* Index of the first maximum, as numpy.argmax. */
static int32_t sm_argmax(const double *v, const int32_t *src, int32_t n) {
    int32_t i, best = 0;
    for (i = 1; i < n; i++) if (v[src[i]] > v[src[best]]) best = i;
    return best;
}

/* ---- tree ensembles (ir/ops.py TreeEnsemble documents the rules) ---------------------
 * flags[n]: bit 0 = default_left, bits 1-2 = missing type (0 None, 1 Zero, 2 NaN).
 * feature[n] is already the slot to read (-1 = leaf). */
/* LightGBM's kZeroThreshold: the float 1e-35f (1.0000000180025095e-35), not the double 1e-35. */
#define SM_ZERO_THRESHOLD 0x1.a95a5c0000000p-117
#define SM_MISSING_NONE 0
#define SM_MISSING_ZERO 1
#define SM_MISSING_NAN 2

typedef struct {
    const int32_t *feature;     /* slot read by each node, -1 for a leaf */
    const double *threshold;    /* go left iff x <= threshold */
    const int32_t *left;
    const int32_t *right;
    const uint8_t *flags;
    const int32_t *cat_node;    /* -1 = numeric split, else row of cat_bits */
    const uint32_t *cat_bits;   /* rows of cat_words words: categories that go left */
    int32_t cat_words;
    const double *value;        /* width numbers per node */
    int32_t width;
    const int32_t *roots;
    const int32_t *target;      /* output index per tree, -1 = the whole leaf vector */
    int32_t n_trees;
    const double *base;
    int input_float32;          /* compare (double)(float)x: scikit-learn trees, XGBoost */
    int accumulate_float32;     /* XGBoost sums its trees in float */
    int average;                /* random forests: mean over trees */
} sm_forest;

/* The leaf one tree sends this row to. */
static int32_t sm_tree_leaf(const sm_forest *f, const double *v, int32_t node) {
    while (f->feature[node] >= 0) {
        double x = v[f->feature[node]];
        int flags = f->flags[node], go_left;
        int mt = (flags >> 1) & 3;
        if (f->input_float32) x = (double)(float)x;
        if (f->cat_node[node] >= 0) {
            if (sm_is_nan(x)) {
                go_left = flags & 1;
            } else if (x >= 0.0 && x < 2147483648.0) {
                int32_t k = (int32_t)x; /* truncation, as every library does */
                int32_t w = k >> 5;
                go_left = w < f->cat_words &&
                          ((f->cat_bits[(size_t)f->cat_node[node] * (size_t)f->cat_words + (size_t)w]
                            >> (k & 31)) & 1u);
            } else {
                go_left = 0;
            }
        } else if (sm_is_nan(x) && mt == SM_MISSING_NAN) {
            go_left = flags & 1;
        } else {
            if (sm_is_nan(x)) x = 0.0; /* LightGBM: NaN is 0 unless the missing type is NaN */
            if (mt == SM_MISSING_ZERO && x >= -SM_ZERO_THRESHOLD && x <= SM_ZERO_THRESHOLD) go_left = flags & 1;
            else go_left = x <= f->threshold[node];
        }
        node = go_left ? f->left[node] : f->right[node];
    }
    return node;
}

static void sm_tree_ensemble(double *v, const sm_forest *f, const int32_t *dst, int32_t n_dst) {
    int32_t t, k;
    /* XGBoost adds in float: each partial sum is rounded to float, kept exactly in a double. */
    int f32 = f->accumulate_float32;
    for (k = 0; k < n_dst; k++) v[dst[k]] = f32 ? (double)(float)f->base[k] : f->base[k];
    for (t = 0; t < f->n_trees; t++) {
        const double *leaf = f->value + (size_t)sm_tree_leaf(f, v, f->roots[t]) * (size_t)f->width;
        int32_t first = f->target[t] >= 0 ? f->target[t] : 0;
        int32_t last = f->target[t] >= 0 ? f->target[t] + 1 : n_dst;
        for (k = first; k < last; k++) {
            double add = leaf[f->target[t] >= 0 ? 0 : k];
            double *a = &v[dst[k]];
            *a = f32 ? (double)((float)*a + (float)add) : *a + add;
        }
    }
    if (f->average) for (k = 0; k < n_dst; k++) v[dst[k]] = v[dst[k]] / (double)f->n_trees;
}

/* ---- the branch-free forest kernel (backends/c/forest_layout.py explains the layout) ---- */
typedef struct {
    double thr;       /* go left iff x <= thr; +inf on leaves (which point to themselves) */
    int32_t feat;     /* 2 * feature, + 1 if missing values go right: see sm_forest_features */
    uint32_t left;    /* left child; the right child is left + 1 */
} sm_node;

/* float32 forests (scikit-learn trees, XGBoost: both compare a float32-rounded x) use
 * 8-byte nodes, twice as many per cache line. (float)x <= thr is the same test as
 * (float)x <= thr32 when thr32 is the largest float <= thr (forest_layout.py rounds so). */
typedef struct {
    float thr;        /* go left iff x <= thr; +inf on leaves */
    uint32_t link;    /* left child | (2 * feature + missing-goes-right) << SM_LINK_BITS */
} sm_node32;
#define SM_LINK_BITS 21
#define SM_LINK_MASK ((1u << SM_LINK_BITS) - 1u)

/* Walks in lock-step. Rows through one tree (batch kernel): measured with 8, 12, 16 and 24
 * rows (bench/trees.py, RF/XGBoost/LightGBM), 16 was fastest on all three, by 6-25%. Trees
 * of one row (one-row kernel, forest_layout.GROUP): 20, measured against 12, 16, 18, 22, 24
 * and 32 on the same models (rank nodes; 16 -> 20 over copies of each library, see
 * docs/benchmarks.md: RF 1,380-1,430 -> 1,300 ns, XGBoost 2,435 -> 2,365, LightGBM
 * 3,650-3,705 -> 3,575-3,600, HGB and GBR the same; 12: fewer loads in flight; 24 and 32:
 * more spills than overlap). */
#define SM_GROUP 16
#define SM_TREES 20
/* The one-row kernel walks ragged forests in windows of SM_WINDOW groups, each window's trees
 * sorted by depth, and adds a window's leaves in tree order once it is walked; other forests
 * in tree order, a window of one group (forest_layout.WINDOW). */
#define SM_WINDOW 5
#define SM_MODE_NAN_IS_ZERO 1
#define SM_MODE_ZERO_IS_MISSING 2

typedef struct {
    /* one of three node arrays, the others NULL (forest_layout.py chooses) */
    const sm_node *nodes;       /* 16-byte double nodes (sm_fast_forest_*) */
    const sm_node32 *nodes32;   /* float32 nodes (sm_fast_forest32_*) */
    const uint64_t *nodes_r;    /* rank nodes (sm_fast_forest_r_*), with: */
    const double *cuts;         /*   each feature's thresholds, ascending, unique, then +inf */
    const int32_t *cut_start;   /*   to a power of two: cuts[cut_start[k] .. cut_start[k+1]) */
    const int32_t *n_cuts;      /*   thresholds of feature k (the rest are pads) */
    int32_t rank_steps;         /*   halvings that bring every feature's cuts to one */
    const double *value;        /* width numbers per node (leaves only are read) */
    int32_t width;
    const int32_t *roots;       /* per tree, tree order (batch kernel) */
    const int32_t *walk_roots;  /* one-row kernel: n_groups * SM_TREES roots in walk order, */
                                /*   padded with the dummy leaf 0; */
    const int32_t *walk_pos;    /*   per tree, its place in its window (NULL if window 1); */
    int32_t window;             /*   groups whose leaves are added together (<= SM_WINDOW) */
    const int32_t *group_depth; /* steps to take for each group of SM_TREES trees */
    const int32_t *group_from;  /* lock-step steps; then walks still moving finish alone */
    int32_t n_groups;
    const int32_t *tree_depth;  /* steps to take for each tree (batch kernel) */
    const int32_t *target;      /* per tree: output index, -1 = the whole leaf vector */
    int32_t n_trees;
    const int32_t *feat_slot;   /* register slot of each feature */
    const uint8_t *mode;        /* per feature: SM_MODE_* rewrite applied once per row */
    int32_t n_feat;
    const double *base;
    int input_float32;
    int accumulate_float32;
    int average;
    int one_sum;                /* every tree adds one number to output 0, the only output */
} sm_fast_forest;

/* The row's value of feature k, rewritten: missing-type rules, then float32 rounding. NaN
 * is then the only missing marker. */
#if defined(__GNUC__)
__attribute__((always_inline)) /* once per feature: a call cost 2-3% of LightGBM's one-row walk */
#endif
static inline double sm_forest_x(const sm_fast_forest *f, const double *v, int32_t k) {
    double x = v[f->feat_slot[k]];
    if (f->mode[k] == SM_MODE_NAN_IS_ZERO && sm_is_nan(x)) x = 0.0;
    if (f->mode[k] == SM_MODE_ZERO_IS_MISSING &&
        (sm_is_nan(x) || (x >= -SM_ZERO_THRESHOLD && x <= SM_ZERO_THRESHOLD)))
        x = sm_nan();
    return f->input_float32 ? (double)(float)x : x;
}

/* The row's features, rewritten once (sm_forest_x), in two copies each (2k: NaN -> -inf,
 * so -inf <= thr sends it left; 2k+1: as is, so the false NaN <= thr sends it right).
 * Nodes read the copy for their default direction.
 * Copy c of the row lands at xs[c * s]: s = 1 for one row; the batch kernel stores a block
 * feature-major (s = rows in the block), so the lanes' values of one feature are adjacent. */
static void sm_forest_features(const sm_fast_forest *f, const double *v, double *xs, int32_t s) {
    int32_t k;
    for (k = 0; k < f->n_feat; k++) {
        double x = sm_forest_x(f, v, k);
        xs[(size_t)(2 * k) * s] = sm_is_nan(x) ? -SM_INF : x;
        xs[(size_t)(2 * k + 1) * s] = x;
    }
}

/* sm_forest_features for float32 forests: the same two copies, as floats. */
static void sm_forest_features32(const sm_fast_forest *f, const double *v, float *xs, int32_t s) {
    int32_t k;
    for (k = 0; k < f->n_feat; k++) {
        float x = (float)v[f->feat_slot[k]]; /* float32 forests have no missing-type modes */
        xs[(size_t)(2 * k) * s] = x != x ? -(float)SM_INF : x;
        xs[(size_t)(2 * k + 1) * s] = x;
    }
}

/* sm_forest_features for rank nodes (forest_layout.py, rank_nodes): each copy of x becomes
 * its rank among the feature's thresholds, r = #{t : t < x}, for which x <= cuts[i] holds
 * exactly when r <= i (the NaN -> -inf copy ranks 0, the NaN copy n_cuts: above every
 * threshold); stored as copy << 48 | r << 32, the form SM_STEPR compares.
 * The search has no branch: every feature's cuts are padded to a power of two, so each
 * halving step moves lo by h or not at all, and SM_RANK_LANES features are searched side by
 * side, their loads overlapping (perf samples of the LightGBM benchmark model's one-row
 * call: 0.35 us a row so; 0.58 us searching one feature after the other; 1.3 us with a
 * branch on the comparison, mispredicted half the time). */
#define SM_RANK_LANES 8
#define SM_HALVE(j) do { /* not a branch: taken half the time */ \
        lo[j] += h[j] & -(int32_t)(cuts[lo[j] + h[j] - 1] < x[j]); \
        h[j] >>= 1; \
    } while (0)
static void sm_forest_ranks(const sm_fast_forest *f, const double *v, uint64_t *xs, int32_t s) {
    int32_t k0, j, step;
    const double *cuts = f->cuts;
    for (k0 = 0; k0 < f->n_feat; k0 += SM_RANK_LANES) {
        int32_t lo[SM_RANK_LANES], h[SM_RANK_LANES];
        double x[SM_RANK_LANES];
        for (j = 0; j < SM_RANK_LANES; j++) {
            int32_t k = k0 + j < f->n_feat ? k0 + j : f->n_feat - 1; /* spare lanes: a copy */
            x[j] = sm_forest_x(f, v, k);
            lo[j] = f->cut_start[k];
            h[j] = (f->cut_start[k + 1] - lo[j]) / 2;
        }
        for (step = 0; step < f->rank_steps; step++) { /* written out: lanes in registers */
            SM_HALVE(0); SM_HALVE(1); SM_HALVE(2); SM_HALVE(3);
            SM_HALVE(4); SM_HALVE(5); SM_HALVE(6); SM_HALVE(7);
        }
        for (j = 0; j < SM_RANK_LANES && k0 + j < f->n_feat; j++) {
            int32_t k = k0 + j, r = lo[j] - f->cut_start[k] + (cuts[lo[j]] < x[j]);
            int32_t nan = sm_is_nan(x[j]);
            xs[(size_t)(2 * k) * s] = (uint64_t)(2 * k) << 48 | (uint64_t)(nan ? 0 : r) << 32;
            xs[(size_t)(2 * k + 1) * s] =
                (uint64_t)(2 * k + 1) << 48 | (uint64_t)(nan ? f->n_cuts[k] : r) << 32;
        }
    }
}

/* One branch-free step of a walk at node i over features xs (feature c of lane j at
 * xs[c * s + j]; the features hold no NaN, see sm_forest_features). */
#define SM_STEP(nodes, i, xs, s, j) do { \
        const sm_node *n_ = (nodes) + (i); \
        (i) = n_->left + (uint32_t)!((xs)[(size_t)n_->feat * (s) + (j)] <= n_->thr); \
    } while (0)
#define SM_STEP32(nodes, i, xs, s, j) do { \
        const sm_node32 *n_ = (nodes) + (i); \
        (i) = (n_->link & SM_LINK_MASK) + \
              (uint32_t)!((xs)[(size_t)(n_->link >> SM_LINK_BITS) * (s) + (j)] <= n_->thr); \
    } while (0)
/* Rank nodes: w = left | rank << 32 | copy << 48, and the row holds copy << 48 | r << 32 for
 * each copy, so one unsigned compare decides: xs >= w exactly when r > rank (left >= 1 on
 * internal nodes; leaves have rank 0xFFFF, above any r), i.e. when x > cuts[rank]. One load
 * for the node, one for the feature, three integer ops (SM_STEP: four loads): the LightGBM
 * benchmark model's one-row call 5.1 -> 3.7 us, ranking included (forest_layout.py). */
#define SM_STEPR(nodes, i, xs, s, j) do { \
        uint64_t w_ = (nodes)[i]; \
        (i) = (uint32_t)w_ + (uint32_t)((xs)[(size_t)(w_ >> 48) * (s) + (j)] >= w_); \
    } while (0)
/* SM_GROUP (16) steps written out, one per lane: the compiler keeps the walks in registers
 * and the lane offsets become constants. L = 1: lane j reads row j's features (batch
 * kernel); L = 0: every lane reads the same row (one-row kernel, lanes are trees: 20 of
 * them, SM_STEP20).
 * Measured on bench/trees.py's models (gcc -O2, C ns/row): with the feature-major block and
 * per-tree leaf adds, the batch kernel went 1.3-1.5x faster than a loop over lanes reading
 * per-lane row pointers (e.g. XGBoost 3,966 -> 2,761, LightGBM 5,697 -> 4,090); the one-row
 * kernel 9-14% faster on depth-wise trees.
 * AVX-512 gathers (16 walks per vector: gather node, gather feature, compare, blend) were
 * tried on the same models (Zen 4): 5% faster than the loop over lanes on 8-byte float32
 * nodes (RandomForest), 20% slower on 16-byte double nodes (XGBoost), and slower than this
 * written-out kernel on both; not worth a second code path and a CPU dispatch. */
#define SM_STEP16(STEP, nodes, I, xs, s, L) do { \
        STEP(nodes, I[0], xs, s, 0 * (L)); STEP(nodes, I[1], xs, s, 1 * (L));           \
        STEP(nodes, I[2], xs, s, 2 * (L)); STEP(nodes, I[3], xs, s, 3 * (L));           \
        STEP(nodes, I[4], xs, s, 4 * (L)); STEP(nodes, I[5], xs, s, 5 * (L));           \
        STEP(nodes, I[6], xs, s, 6 * (L)); STEP(nodes, I[7], xs, s, 7 * (L));           \
        STEP(nodes, I[8], xs, s, 8 * (L)); STEP(nodes, I[9], xs, s, 9 * (L));           \
        STEP(nodes, I[10], xs, s, 10 * (L)); STEP(nodes, I[11], xs, s, 11 * (L));       \
        STEP(nodes, I[12], xs, s, 12 * (L)); STEP(nodes, I[13], xs, s, 13 * (L));       \
        STEP(nodes, I[14], xs, s, 14 * (L)); STEP(nodes, I[15], xs, s, 15 * (L));       \
    } while (0)
#define SM_STEP20(STEP, nodes, I, xs) do { \
        SM_STEP16(STEP, nodes, I, xs, 1, 0);                                             \
        STEP(nodes, I[16], xs, 1, 0); STEP(nodes, I[17], xs, 1, 0);                      \
        STEP(nodes, I[18], xs, 1, 0); STEP(nodes, I[19], xs, 1, 0);                      \
    } while (0)

/* *a += add, in float if the library accumulates in float (XGBoost). */
static void sm_forest_acc(const sm_fast_forest *f, double *a, double add) {
    *a = f->accumulate_float32 ? (double)((float)*a + (float)add) : *a + add;
}

/* Lanes j < lanes add their leaf (idx[j], one number) to a[j * stride]: the boosting case,
 * with the float/double choice made once per tree rather than per row. */
static void sm_forest_acc_lanes(const sm_fast_forest *f, double *a, int32_t stride,
                                const uint32_t *idx, int32_t lanes) {
    int32_t j;
    size_t w = (size_t)f->width;
    if (f->accumulate_float32)
        for (j = 0; j < lanes; j++)
            a[(size_t)j * stride] =
                (double)((float)a[(size_t)j * stride] + (float)f->value[idx[j] * w]);
    else
        for (j = 0; j < lanes; j++) a[(size_t)j * stride] += f->value[idx[j] * w];
}

/* Add tree t's leaf to the accumulators of one row. */
static void sm_forest_add(const sm_fast_forest *f, int32_t t, uint32_t leaf_node, double *v,
                          const int32_t *dst, int32_t n_dst) {
    const double *leaf = f->value + (size_t)leaf_node * (size_t)f->width;
    int32_t k;
    if (f->target[t] >= 0) sm_forest_acc(f, &v[dst[f->target[t]]], leaf[0]);
    else for (k = 0; k < n_dst; k++) sm_forest_acc(f, &v[dst[k]], leaf[k]);
}

/* Add the leaves of trees t0 .. t0 + n - 1 to one row, in tree order: tree t0 + j's leaf
 * node is leaf[j] (sm_forest_add_leaves), or leaf[pos[j]] (sm_forest_add_window; pos: the
 * trees' places in a window walked out of order). A forest whose trees all add one number
 * to one output (binary and regression boosting) sums in a register: through v[] every add
 * waited for the previous one's store (~8 cycles a tree, ~0.9 us of gbr's 1.9 us one-row
 * call, measured on bench/trees.py).
 * Each case is written out twice: reading every leaf through pos cost forests walked in tree
 * order 4-5% (XGBoost's one-row call 2,380 -> 2,500 ns), and copying the leaves into tree
 * order first cost LightGBM's 3-5%. */
#define SM__ADD_LEAVES(LEAF) do {                                                                 \
        if (f->one_sum && f->accumulate_float32) {                                                \
            float a = (float)v[dst[0]]; /* exact: the sum is a float widened to double */        \
            for (j = 0; j < n; j++) a = a + (float)value[(LEAF) * w];                             \
            v[dst[0]] = (double)a;                                                                \
        } else if (f->one_sum) {                                                                  \
            double a = v[dst[0]];                                                                 \
            for (j = 0; j < n; j++) a += value[(LEAF) * w];                                       \
            v[dst[0]] = a;                                                                        \
        } else {                                                                                  \
            for (j = 0; j < n; j++) sm_forest_add(f, t0 + j, (LEAF), v, dst, n_dst);              \
        }                                                                                         \
    } while (0)
static void sm_forest_add_leaves(const sm_fast_forest *f, int32_t t0, const uint32_t *leaf,
                                 int32_t n, double *v, const int32_t *dst, int32_t n_dst) {
    const double *value = f->value;
    size_t w = (size_t)f->width;
    int32_t j;
    SM__ADD_LEAVES(leaf[j]);
}
static void sm_forest_add_window(const sm_fast_forest *f, int32_t t0, const uint32_t *leaf,
                                 const int32_t *pos, int32_t n, double *v, const int32_t *dst,
                                 int32_t n_dst) {
    const double *value = f->value;
    size_t w = (size_t)f->width;
    int32_t j;
    SM__ADD_LEAVES(leaf[pos[j]]);
}

static void sm_forest_init(const sm_fast_forest *f, double *v, const int32_t *dst, int32_t n_dst) {
    int32_t k;
    for (k = 0; k < n_dst; k++)
        v[dst[k]] = f->accumulate_float32 ? (double)(float)f->base[k] : f->base[k];
}

static void sm_forest_finish(const sm_fast_forest *f, double *v, const int32_t *dst, int32_t n_dst) {
    int32_t k;
    if (f->average) for (k = 0; k < n_dst; k++) v[dst[k]] = v[dst[k]] / (double)f->n_trees;
}

/* GCC specializes the walk kernels for the forest at their call site (interprocedural
 * constant propagation of the static const forest and its tables): no faster (measured on
 * bench/trees.py's XGBoost batch: 2,750 vs 2,700 ns/row without), but compiling the
 * 2000-tree benchmark forest took 1.8 GB instead of 0.74 GB. The kernels stay generic. */
#if defined(__GNUC__) && !defined(__clang__)
#define SM_GENERIC __attribute__((noinline, noclone))
#else
#define SM_GENERIC
#endif

/* The one-row kernel's walk of group g's SM_TREES trees (IDX: their lanes), in lock-step, so
 * their loads overlap (leaves point to themselves, so a walk may take more steps than its
 * path); in a ragged group the walks still moving after group_from steps finish alone. */
#define SM__WALK_GROUP(STEP, NODES, IDX, xs, g) do {                                            \
        int32_t j_, d_;                                                                         \
        for (j_ = 0; j_ < SM_TREES; j_++)                                                       \
            IDX[j_] = (uint32_t)f->walk_roots[(g) * SM_TREES + j_];                             \
        for (d_ = 0; d_ < f->group_from[g]; d_++) SM_STEP20(STEP, NODES, IDX, xs);              \
        if (f->group_from[g] < f->group_depth[g])                                               \
            for (j_ = 0; j_ < SM_TREES; j_++) {                                                 \
                uint32_t was_;                                                                  \
                do { was_ = IDX[j_]; STEP(NODES, IDX[j_], xs, 1, 0); } while (IDX[j_] != was_); \
            }                                                                                   \
    } while (0)

/* The walk kernels, defined once per node type (instantiated below): PFX##_run walks one
 * row, PFX##_block a block of rows; XT is the feature type (double or float), NODES the node
 * array, STEP one branch-free step, FEATURES the feature rewrite. */
#define SM_FOREST_KERNELS(PFX, XT, NODES, STEP, FEATURES) \
/* One row, a ragged forest: groups of SM_TREES trees (SM__WALK_GROUP) in walk order, the       \
 * lanes walked in the window's buffer; a window's leaves are added in tree order once it is    \
 * walked (copying the lanes into the buffer after each group: LightGBM's one-row call         \
 * +2.5%). */                                                                                   \
SM_GENERIC static void PFX##_run_windows(double *v, const sm_fast_forest *f, XT *xs,            \
                                         const int32_t *dst, int32_t n_dst) {                   \
    uint32_t walked[SM_WINDOW * SM_TREES]; /* a window's leaves, walk order */                  \
    int32_t g, k = 0, t0 = 0;                                                                   \
    for (g = 0; g < f->n_groups; g++) {                                                         \
        uint32_t *idx = walked + k * SM_TREES;                                                  \
        SM__WALK_GROUP(STEP, NODES, idx, xs, g);                                                \
        if (++k == f->window || g == f->n_groups - 1) { /* the window is walked */              \
            int32_t n = f->n_trees - t0 < k * SM_TREES ? f->n_trees - t0 : k * SM_TREES;        \
            sm_forest_add_window(f, t0, walked, f->walk_pos + t0, n, v, dst, n_dst);            \
            t0 += k * SM_TREES;                                                                 \
            k = 0;                                                                              \
        }                                                                                       \
    }                                                                                           \
}                                                                                               \
                                                                                                \
/* One row: the trees in tree order, or (window > 1) PFX##_run_windows. A separate function:    \
 * with both walks in one, gcc allocated registers for the pair and RandomForest's and          \
 * XGBoost's one-row calls (tree order, lanes at fixed offsets) ran 3-5% slower.                \
 * xs: 2 * n_feat. */                                                                           \
SM_GENERIC static void PFX##_run(double *v, const sm_fast_forest *f, XT *xs,                    \
                       const int32_t *dst, int32_t n_dst) {                                     \
    int32_t g;                                                                                  \
    FEATURES(f, v, xs, 1);                                                                      \
    sm_forest_init(f, v, dst, n_dst);                                                           \
    if (f->window > 1) PFX##_run_windows(v, f, xs, dst, n_dst);                                 \
    else                                                                                        \
        for (g = 0; g < f->n_groups; g++) {                                                     \
            uint32_t idx[SM_TREES];                                                             \
            SM__WALK_GROUP(STEP, NODES, idx, xs, g);                                            \
            sm_forest_add_leaves(f, g * SM_TREES, idx, f->n_trees - g * SM_TREES < SM_TREES ?   \
                                 f->n_trees - g * SM_TREES : SM_TREES, v, dst, n_dst);          \
        }                                                                                       \
    sm_forest_finish(f, v, dst, n_dst);                                                         \
}                                                                                               \
                                                                                                \
/* Start a block of nb >= SM_GROUP rows: their sums, and their features feature-major into XS   \
 * (xs_rows per feature copy; spare lanes up to a multiple of SM_GROUP and refused rows get      \
 * zeros, walked and never read). */                                                            \
static void PFX##_prepare(double *V, int32_t stride, int32_t nb, const int *rc,                 \
                          const sm_fast_forest *f, XT *XS, int32_t xs_rows,                     \
                          const int32_t *dst, int32_t n_dst) {                                  \
    int32_t r, c, n_lanes = (nb + SM_GROUP - 1) / SM_GROUP * SM_GROUP;                          \
    for (r = 0; r < n_lanes; r++) {                                                             \
        if (r < nb) sm_forest_init(f, V + (size_t)r * stride, dst, n_dst);                      \
        if (r >= nb || rc[r] != 0)                                                              \
            for (c = 0; c < 2 * f->n_feat; c++) XS[(size_t)c * xs_rows + r] = 0;                \
        else FEATURES(f, V + (size_t)r * stride, XS + r, xs_rows);                              \
    }                                                                                           \
}                                                                                               \
                                                                                                \
/* A block of nb rows (register files `stride` doubles apart): tree-major, so one tree's        \
 * nodes stay in cache while SM_GROUP rows walk it in lock-step for the tree's depth. XS        \
 * holds the block's features feature-major, xs_rows per feature copy (>= nb rounded up to      \
 * SM_GROUP), so lane j of a group reads xb[c * xs_rows + j]: one base pointer for all          \
 * lanes. Rows with rc[r] != 0 walk zeros and their sums are never read. Each row still         \
 * adds its trees in order, so results equal the one-row kernel's. (Ragged trees were tried     \
 * with refilled lanes, a lane taking the next row as soon as its row reached a leaf:           \
 * 1.5-2x slower on LightGBM than lock-step, whose wasted steps are cheaper than the extra      \
 * selects and stores of refilling.) */                                                         \
SM_GENERIC static void PFX##_block(double *V, int32_t stride, int32_t nb, const int *rc,        \
                         const sm_fast_forest *f, XT *XS, int32_t xs_rows,                      \
                         const int32_t *dst, int32_t n_dst) {                                   \
    int32_t r, t, j, d, r0;                                                                     \
    if (nb < SM_GROUP) { /* too few rows to fill the lanes: lock-step over trees instead */     \
        for (r = 0; r < nb; r++)                                                                \
            if (rc[r] == 0)                                                                     \
                PFX##_run(V + (size_t)r * stride, f, XS, dst, n_dst);                           \
        return;                                                                                 \
    }                                                                                           \
    PFX##_prepare(V, stride, nb, rc, f, XS, xs_rows, dst, n_dst);                               \
    for (t = 0; t < f->n_trees; t++) {                                                          \
        uint32_t root = (uint32_t)f->roots[t];                                                  \
        int32_t depth = f->tree_depth[t], tg = f->target[t];                                    \
        for (r0 = 0; r0 < nb; r0 += SM_GROUP) {                                                 \
            const XT *xb = XS + r0;                                                             \
            int32_t lanes = nb - r0 < SM_GROUP ? nb - r0 : SM_GROUP;                            \
            uint32_t idx[SM_GROUP];                                                             \
            for (j = 0; j < SM_GROUP; j++) idx[j] = root;                                       \
            for (d = 0; d < depth; d++) SM_STEP16(STEP, NODES, idx, xb, xs_rows, 1);            \
            if (tg >= 0) /* one output per tree (boosting): lanes add to one slot each */     \
                sm_forest_acc_lanes(f, V + (size_t)r0 * stride + dst[tg], stride, idx, lanes);  \
            else                                                                                \
                for (j = 0; j < lanes; j++)                                                     \
                    sm_forest_add(f, t, idx[j], V + (size_t)(r0 + j) * stride, dst, n_dst);     \
        }                                                                                       \
    }                                                                                           \
    for (r = 0; r < nb; r++)                                                                    \
        if (rc[r] == 0) sm_forest_finish(f, V + (size_t)r * stride, dst, n_dst);                \
}

SM_FOREST_KERNELS(sm_fast_forest, double, f->nodes, SM_STEP, sm_forest_features)
SM_FOREST_KERNELS(sm_fast_forest32, float, f->nodes32, SM_STEP32, sm_forest_features32)
SM_FOREST_KERNELS(sm_fast_forest_r, uint64_t, f->nodes_r, SM_STEPR, sm_forest_ranks)

/* ---- blocks of rows through small trees: leaf bitvectors (forest_bitvectors.py) ---------
 * QuickScorer's algorithm on vector lanes. Each tree's leaves, left to right, are the bits
 * of one word per row, all set at the start. The internal nodes are listed per chunk of
 * SM_BV_CHUNK trees and per feature copy in ascending threshold order; a node a row fails
 * (!(x <= thr), where the walk turns right) clears its left subtree's leaves in that row's
 * word. The failed nodes of a copy are a prefix of its list (thr < x; all of them for a NaN
 * x), so the scan of SM_BV_ROWS rows stops at the first node all of them pass. A row's leaf
 * in a tree is then its word's lowest bit still set; leaves are added in tree order, so the
 * sums are the walks' sums, bit for bit. One threshold load and compare serves 16 rows, and
 * a tree's 16 words are two cache lines: the work per row is a fraction of a node, where the
 * lock-step walk pays a whole step for every level of the tree's deepest path. */
#define SM_BV_ROWS 16   /* rows scanned together: their words of a tree fill two cache lines */
#define SM_BV_CHUNK 128 /* trees whose words stay in L1 during a scan (16 KiB) */
typedef struct {
    const sm_fast_forest *forest; /* features, leaf values, targets, base */
    const double *thr;            /* internal nodes by (chunk, feature copy, threshold) */
    const uint16_t *tree;         /* the node's tree, within its chunk */
    const uint64_t *mask;         /* clears the node's left-subtree leaves */
    const int32_t *copy_end;      /* per (chunk, feature copy): end of its run of nodes */
    const int32_t *leaf_start;    /* per tree: first entry in leaf_node */
    const uint32_t *leaf_node;    /* per leaf, trees left to right: its node in forest->value */
    const double *leaf_value;     /* one_sum forests: each leaf's number, as leaf_node (one
                                   * dependent load less per tree and row) */
} sm_bv_forest;

#if defined(SM_X86_AVX2) /* GCC/clang on x86-64: SSE2 always, AVX2 when the CPU has it */
/* Written on GCC/clang vectors (no <immintrin.h>: clang's pulls in <stdlib.h>, which a
 * freestanding cross build has not); movmskpd says whether all rows pass. */

static int sm_ctz64(uint64_t w) { /* w != 0: a row's word keeps at least its own leaf */
    return __builtin_ctzll(w);
}

/* Add the leaves the words of chunk [t0, t0 + nt) give the block's rows r0 .. r0 + lanes - 1:
 * tree by tree, the rows side by side, so the rows' sums are independent chains (one row at a
 * time, each add waited for the previous one: 1.8 of 4.6 us a row on bench/trees.py's
 * LightGBM). Each row still adds its trees in order. */
static void sm_bv_add(const sm_bv_forest *q, const uint64_t *bv, int32_t t0, int32_t nt,
                      double *V, int32_t stride, int32_t r0, int32_t lanes, const int *rc,
                      const int32_t *dst, int32_t n_dst) {
    const sm_fast_forest *f = q->forest;
    int32_t j, t;
    if (f->one_sum) {
        /* Four rows at a time, their sums in registers (an array of 16 sums lived in memory:
         * 0.65 of 2.3 us a row on bench/trees.py's LightGBM). Spare lanes and refused rows
         * are summed too, never stored. */
        for (j = 0; j < SM_BV_ROWS; j += 4) {
            double a[4];
            int32_t l;
            if (j >= lanes) break;
            for (l = 0; l < 4; l++)
                a[l] = j + l < lanes ? V[(size_t)(r0 + j + l) * stride + dst[0]] : 0.0;
            if (f->accumulate_float32) {
                float a0 = (float)a[0], a1 = (float)a[1], a2 = (float)a[2], a3 = (float)a[3];
                for (t = 0; t < nt; t++) {
                    const double *lv = q->leaf_value + q->leaf_start[t0 + t];
                    const uint64_t *word = bv + (size_t)t * SM_BV_ROWS + j;
                    a0 = a0 + (float)lv[sm_ctz64(word[0])];
                    a1 = a1 + (float)lv[sm_ctz64(word[1])];
                    a2 = a2 + (float)lv[sm_ctz64(word[2])];
                    a3 = a3 + (float)lv[sm_ctz64(word[3])];
                }
                a[0] = a0; a[1] = a1; a[2] = a2; a[3] = a3;
            } else {
                double a0 = a[0], a1 = a[1], a2 = a[2], a3 = a[3];
                for (t = 0; t < nt; t++) {
                    const double *lv = q->leaf_value + q->leaf_start[t0 + t];
                    const uint64_t *word = bv + (size_t)t * SM_BV_ROWS + j;
                    a0 += lv[sm_ctz64(word[0])];
                    a1 += lv[sm_ctz64(word[1])];
                    a2 += lv[sm_ctz64(word[2])];
                    a3 += lv[sm_ctz64(word[3])];
                }
                a[0] = a0; a[1] = a1; a[2] = a2; a[3] = a3;
            }
            for (l = 0; l < 4 && j + l < lanes; l++)
                if (rc[r0 + j + l] == 0) V[(size_t)(r0 + j + l) * stride + dst[0]] = a[l];
        }
        return;
    }
    for (t = 0; t < nt; t++) {
        const uint32_t *leaf = q->leaf_node + q->leaf_start[t0 + t];
        for (j = 0; j < lanes; j++)
            if (rc[r0 + j] == 0)
                sm_forest_add(f, t0 + t, leaf[sm_ctz64(bv[(size_t)t * SM_BV_ROWS + j])],
                              V + (size_t)(r0 + j) * stride, dst, n_dst);
    }
}


/* Scan one feature copy's nodes k .. end - 1 for the 16 rows whose values start at xp. */
typedef void (*sm_bv_scan_fn)(const double *xp, const sm_bv_forest *q, int32_t k, int32_t end,
                              uint64_t *bv);

static void sm_bv_scan_sse2(const double *xp, const sm_bv_forest *q, int32_t k, int32_t end,
                            uint64_t *bv) {
    const double *thr = q->thr; /* locals: the stores to bv cannot change them */
    const uint16_t *tree = q->tree;
    const uint64_t *mask = q->mask;
    int32_t h;
    /* two passes of 8 rows: 16 rows at once need more than SSE2's 16 registers */
    for (h = 0; h < SM_BV_ROWS; h += 8) {
        sm_v2 x0, x1, x2, x3;
        int32_t i;
        __builtin_memcpy(&x0, xp + h, 16); __builtin_memcpy(&x1, xp + h + 2, 16);
        __builtin_memcpy(&x2, xp + h + 4, 16); __builtin_memcpy(&x3, xp + h + 6, 16);
        for (i = k; i < end; i++) {
            sm_v2 t = {thr[i], thr[i]};
            sm_i2 p0 = x0 <= t, p1 = x1 <= t, p2 = x2 <= t, p3 = x3 <= t; /* rows passing */
            sm_i2 m = {(long long)mask[i], (long long)mask[i]};
            sm_i2 *line = (sm_i2 *)(bv + (size_t)tree[i] * SM_BV_ROWS + h);
            if (__builtin_ia32_movmskpd((sm_v2)((p0 & p1) & (p2 & p3))) == 3)
                break; /* every row passes this node, and so the rest of the copy's nodes */
            line[0] &= m | p0; /* failing rows lose the bits */
            line[1] &= m | p1;
            line[2] &= m | p2;
            line[3] &= m | p3;
        }
    }
}

__attribute__((target("avx2")))
static void sm_bv_scan_avx2(const double *xp, const sm_bv_forest *q, int32_t k, int32_t end,
                            uint64_t *bv) {
    const double *thr = q->thr;
    const uint16_t *tree = q->tree;
    const uint64_t *mask = q->mask;
    sm_v4 x0, x1, x2, x3;
    __builtin_memcpy(&x0, xp, 32); __builtin_memcpy(&x1, xp + 4, 32);
    __builtin_memcpy(&x2, xp + 8, 32); __builtin_memcpy(&x3, xp + 12, 32);
    for (; k < end; k++) {
        sm_v4 t = {thr[k], thr[k], thr[k], thr[k]};
        sm_i4 p0 = x0 <= t, p1 = x1 <= t, p2 = x2 <= t, p3 = x3 <= t;
        long long mk = (long long)mask[k];
        sm_i4 m = {mk, mk, mk, mk};
        sm_i4 *line = (sm_i4 *)(bv + (size_t)tree[k] * SM_BV_ROWS);
        if (__builtin_ia32_movmskpd256((sm_v4)((p0 & p1) & (p2 & p3))) == 15) break;
        line[0] &= m | p0;
        line[1] &= m | p1;
        line[2] &= m | p2;
        line[3] &= m | p3;
    }
    __asm__ volatile("vzeroupper" ::: "memory"); /* see sm_linear_block_avx2 */
}

/* A block of nb >= SM_GROUP rows, SM_BV_ROWS at a time, chunk by chunk. */
SM_GENERIC static void sm_bv_block(double *V, int32_t stride, int32_t nb, const int *rc,
                                   const sm_bv_forest *q, double *XS, int32_t xs_rows,
                                   const int32_t *dst, int32_t n_dst, sm_bv_scan_fn scan) {
    const sm_fast_forest *f = q->forest;
    int32_t n_copies = 2 * f->n_feat, r0, r, c, i, ch;
    /* 64-byte aligned: a tree's 16 words are two whole cache lines (AVX2 needs 32) */
    uint64_t bv[SM_BV_CHUNK * SM_BV_ROWS] __attribute__((aligned(64)));
    sm_fast_forest_prepare(V, stride, nb, rc, f, XS, xs_rows, dst, n_dst);
    for (r0 = 0; r0 < nb; r0 += SM_BV_ROWS) {
        int32_t lanes = nb - r0 < SM_BV_ROWS ? nb - r0 : SM_BV_ROWS;
        for (ch = 0; ch * SM_BV_CHUNK < f->n_trees; ch++) {
            int32_t t0 = ch * SM_BV_CHUNK, k = ch ? q->copy_end[ch * n_copies - 1] : 0;
            int32_t nt = f->n_trees - t0 < SM_BV_CHUNK ? f->n_trees - t0 : SM_BV_CHUNK;
            for (i = 0; i < nt * SM_BV_ROWS; i += 2) /* all set, two words a store */
                *(sm_i2 *)(bv + i) = (sm_i2){-1, -1};
            for (c = 0; c < n_copies; c++) {
                int32_t end = q->copy_end[ch * n_copies + c];
                if (end > k) scan(XS + (size_t)c * xs_rows + r0, q, k, end, bv);
                k = end;
            }
            sm_bv_add(q, bv, t0, nt, V, stride, r0, lanes, rc, dst, n_dst);
        }
    }
    for (r = 0; r < nb; r++)
        if (rc[r] == 0) sm_forest_finish(f, V + (size_t)r * stride, dst, n_dst);
}
/* Blocks of fewer than SM_GROUP rows take the walk (its own rule): WALK is the forest's walk
 * block kernel, XW its feature buffer (of its node type's feature type). */
#define SM_BV_BLOCK(avx2, WALK, V, stride, nb, rc, q, XS, XW, xs_rows, dst, n_dst) \
    ((nb) < SM_GROUP ? WALK(V, stride, nb, rc, (q)->forest, XW, xs_rows, dst, n_dst) \
                     : sm_bv_block(V, stride, nb, rc, q, XS, xs_rows, dst, n_dst, \
                                   (avx2) ? sm_bv_scan_avx2 : sm_bv_scan_sse2))
#else /* elsewhere the lock-step walk (the scan was written and measured for x86-64 only) */
#define SM_BV_BLOCK(avx2, WALK, V, stride, nb, rc, q, XS, XW, xs_rows, dst, n_dst) \
    WALK(V, stride, nb, rc, (q)->forest, XW, xs_rows, dst, n_dst)
#endif

#endif /* SM_RUNTIME_H */
