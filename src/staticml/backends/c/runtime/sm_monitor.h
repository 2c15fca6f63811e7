/* sm_monitor.h -- the hand-written half of the generated drift monitor (NAME_monitor_*).
 *
 * The C twin of staticml/data/profile.py's binning and staticml/data/drift.py's statistics:
 *   - a value lands in the same bin as in Python (same edges, as exact hex literals, and
 *     the same comparison: bin = number of edges <= x);
 *   - PSI, its bias-corrected value and the noise level are computed with the same
 *     operations in the same order as drift.psi / psi_adjusted / noise_level, so the C
 *     monitor and `staticml drift` agree on the same rows up to one ulp per log term
 *     (sm_log is correctly rounded in all but ~1e-4 of cases, as is libm's log).
 * Rules as sm_runtime.h: static functions only, no libc or libm (sm_log comes from
 * sm_math.h, which must be pasted before this file), no globals, no allocation.
 */
#ifndef SM_MONITOR_H
#define SM_MONITOR_H

#include <stdint.h>

#ifndef SM_INF /* the generated file defines it; a fallback for using this header alone */
#if defined(__GNUC__) || defined(__clang__)
#define SM_INF __builtin_inf()
#else
#define SM_INF (1e300 * 1e300)
#endif
#endif

static double sm_mon_nan(void)
{
    union { uint64_t u; double d; } b;
    b.u = 0x7ff8000000000000ULL;
    return b.d;
}

/* Bin of a number among n sorted, strictly increasing edges: the count of edges <= x
 * (numpy.searchsorted(edges, x, side="right")); NaN -> n + 1, the "missing" bin. */
static int32_t sm_mon_bin_number(const double *e, int32_t n, double x)
{
    int32_t lo = 0, hi = n;
    if (x != x) return n + 1;
    while (lo < hi) {               /* invariant: e[0..lo) <= x < e[hi..n) */
        int32_t mid = lo + (hi - lo) / 2;
        if (e[mid] <= x) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

/* Bin of a category code among n categories: the code if it is an integer in [0, n);
 * NaN -> n + 1 ("missing"); anything else, e.g. -1 for a string the model never saw -> n
 * ("unseen"). */
static int32_t sm_mon_bin_code(int32_t n, double x)
{
    if (x != x) return n + 1;
    if (x >= 0.0 && x < (double)n) {
        int32_t k = (int32_t)x;
        if ((double)k == x) return k;
    }
    return n;
}

/* PSI over nb bins: sum of (q - p) * ln(q / p), p = training share, q = observed share; a
 * bin empty on one side counts as half a row there, a bin empty on both sides adds 0. */
static double sm_mon_psi(const uint64_t *cnt, const double *train, int32_t nb, uint64_t rows,
                         double train_rows)
{
    double s = 0.0, n = (double)rows;
    int32_t i;
    if (rows == 0) return sm_mon_nan();
    for (i = 0; i < nb; i++) {
        double p, q;
        if (train[i] == 0.0 && cnt[i] == 0) continue;
        p = (train[i] > 0.0 ? train[i] : 0.5) / train_rows;
        q = (cnt[i] > 0 ? (double)cnt[i] : 0.5) / n;
        s += (q - p) * sm_log(q / p);
    }
    return s;
}

/* PSI minus its expected value without drift, df * (1/n + 1/N), floored at 0. */
static double sm_mon_psi_adjusted(double psi, double df, uint64_t rows, double inv_train_rows)
{
    double adj;
    if (rows == 0 || psi != psi) return sm_mon_nan();
    adj = psi - df * (1.0 / (double)rows + inv_train_rows);
    return adj > 0.0 ? adj : 0.0;
}

/* 0 none, 1 moderate, 2 major: the bias-corrected PSI against the thresholds, and only
 * when the PSI exceeds what sampling noise reaches ~1% of the time. */
static int sm_mon_verdict(double psi, double adj, double critical, uint64_t rows,
                          double inv_train_rows, double moderate, double major)
{
    double noise;
    if (rows == 0) return 0;
    noise = critical * (1.0 / (double)rows + inv_train_rows);
    if (!(psi > noise)) return 0;
    return adj > major ? 2 : adj > moderate ? 1 : 0;
}

#endif /* SM_MONITOR_H */
