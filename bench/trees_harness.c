/* bench/trees_harness.c: C-level timing of one compiled tree-ensemble library
 * (driven by bench/trees.py).
 *
 * The library is dlopen()ed and its entry points are looked up by name, so one binary
 * times every code generator:
 *
 *   KIND      per-row entry point (timed once per row)          block entry point
 *   staticml  int  SYM_predict(const SYM_input *, double *)      int SYM_predict_matrix(
 *             (all-numeric models: SYM_input is NF doubles)          const double *, size_t,
 *                                                                    double *, int32_t *)
 *   m2cgen    void SYM(double *input, double *output)           -
 *   m2cgen_r  double SYM(double *input)         (regressors)    -
 *   tl2cgen   void SYM(union Entry *, int pred_margin, double *) -
 *   tl2cgen_f void SYM(union Entry *, int pred_margin, float *)  -
 *             (Entry holding a float: rows are converted to float before timing; the
 *              result is zeroed before every call, as tl2cgen's own Predictor does)
 *   lleaves   void SYM(double *data, double *out, int start, int end): the per-row mode
 *             calls it with [r, r+1), the block mode once with [0, n)
 *
 * Usage: trees_harness KIND LIB SYM ROWS.bin N NF NOUT PASSES BUDGET_S OUT_ROW.bin [OUT_BLOCK.bin]
 * ROWS.bin holds N rows of NF doubles. Only the calls are timed; rows are prepared before.
 * After one warm-up pass of each mode over all N rows (its outputs are the ones written),
 * up to PASSES timed passes are run (the two modes interleaved), fewer if PASSES passes
 * would take longer than BUDGET_S seconds (at least 3). If even 3 passes would take longer
 * than BUDGET_S, the timed passes cover only the first rows (at least 500), sized so that
 * one pass takes about BUDGET_S / 5; "timed_rows" says how many.
 * Prints one line of JSON: median and minimum ns/row of each mode.
 */
#define _POSIX_C_SOURCE 199309L
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef int (*staticml_row_fn)(const double *, double *);
typedef int (*staticml_matrix_fn)(const double *, size_t, double *, int32_t *);
typedef void (*m2cgen_fn)(double *, double *);
typedef double (*m2cgen_r_fn)(double *);
typedef void (*tl2cgen_fn)(void *, int, void *);
typedef void (*lleaves_fn)(double *, double *, int, int);

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof(double), cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static double minimum(const double *v, int n) {
    double m = v[0];
    int i;
    for (i = 1; i < n; i++) if (v[i] < m) m = v[i];
    return m;
}

static void write_doubles(const char *path, const double *buf, size_t count) {
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(buf, sizeof(double), count, f) != count) { perror(path); exit(2); }
    fclose(f);
}

/* Everything one pass needs. */
typedef struct {
    int kind;
    void *row_fn, *block_fn;
    size_t n, nf, nout;
    double *x;      /* n * nf doubles */
    float *xf;      /* n * nf floats (tl2cgen_f) */
    double *out;    /* n * nout */
    float *outf;    /* n * nout (tl2cgen_f) */
    double *outb;   /* n * nout (block mode) */
    int32_t *status;
    size_t failed;
} bench;

enum { K_STATICML, K_M2CGEN, K_M2CGEN_R, K_TL2CGEN, K_TL2CGEN_F, K_LLEAVES };

static void pass_row(bench *b) {
    size_t r, k, failed = 0;
    switch (b->kind) {
    case K_STATICML: {
        staticml_row_fn f = (staticml_row_fn)b->row_fn;
        for (r = 0; r < b->n; r++)
            if (f(b->x + r * b->nf, b->out + r * b->nout) != 0) failed++;
        break;
    }
    case K_M2CGEN: {
        m2cgen_fn f = (m2cgen_fn)b->row_fn;
        for (r = 0; r < b->n; r++) f(b->x + r * b->nf, b->out + r * b->nout);
        break;
    }
    case K_M2CGEN_R: {
        m2cgen_r_fn f = (m2cgen_r_fn)b->row_fn;
        for (r = 0; r < b->n; r++) b->out[r] = f(b->x + r * b->nf);
        break;
    }
    case K_TL2CGEN: {
        tl2cgen_fn f = (tl2cgen_fn)b->row_fn;
        for (r = 0; r < b->n; r++) {
            double *o = b->out + r * b->nout;
            for (k = 0; k < b->nout; k++) o[k] = 0.0;
            f(b->x + r * b->nf, 0, o);
        }
        break;
    }
    case K_TL2CGEN_F: {
        tl2cgen_fn f = (tl2cgen_fn)b->row_fn;
        for (r = 0; r < b->n; r++) {
            float *o = b->outf + r * b->nout;
            for (k = 0; k < b->nout; k++) o[k] = 0.0f;
            f(b->xf + r * b->nf, 0, o);
        }
        break;
    }
    case K_LLEAVES: {
        lleaves_fn f = (lleaves_fn)b->row_fn;
        for (r = 0; r < b->n; r++) f(b->x, b->out, (int)r, (int)r + 1);
        break;
    }
    }
    b->failed = failed;
}

static void pass_block(bench *b) {
    if (b->kind == K_STATICML)
        ((staticml_matrix_fn)b->block_fn)(b->x, b->n, b->outb, b->status);
    else if (b->kind == K_LLEAVES)
        ((lleaves_fn)b->block_fn)(b->x, b->outb, 0, (int)b->n);
}

int main(int argc, char **argv) {
    bench b;
    void *lib;
    char sym[512];
    FILE *f;
    int passes, p, has_block;
    double budget_ns, t0, t_warm, *t_r, *t_b;
    size_t i, full_n, timed_n;
    const char *kind;

    if (argc != 11 && argc != 12) {
        fprintf(stderr, "usage: %s KIND LIB SYM ROWS.bin N NF NOUT PASSES BUDGET_S OUT_ROW.bin "
                        "[OUT_BLOCK.bin]\n", argv[0]);
        return 2;
    }
    memset(&b, 0, sizeof b);
    kind = argv[1];
    if (!strcmp(kind, "staticml")) b.kind = K_STATICML;
    else if (!strcmp(kind, "m2cgen")) b.kind = K_M2CGEN;
    else if (!strcmp(kind, "m2cgen_r")) b.kind = K_M2CGEN_R;
    else if (!strcmp(kind, "tl2cgen")) b.kind = K_TL2CGEN;
    else if (!strcmp(kind, "tl2cgen_f")) b.kind = K_TL2CGEN_F;
    else if (!strcmp(kind, "lleaves")) b.kind = K_LLEAVES;
    else { fprintf(stderr, "unknown KIND %s\n", kind); return 2; }
    b.n = (size_t)strtoull(argv[5], NULL, 10);
    b.nf = (size_t)strtoull(argv[6], NULL, 10);
    b.nout = (size_t)strtoull(argv[7], NULL, 10);
    passes = atoi(argv[8]);
    budget_ns = atof(argv[9]) * 1e9;
    has_block = b.kind == K_STATICML || b.kind == K_LLEAVES;
    if (b.n == 0 || b.nf == 0 || b.nout == 0 || passes < 1) {
        fprintf(stderr, "need N, NF, NOUT > 0 and PASSES >= 1\n");
        return 2;
    }

    lib = dlopen(argv[2], RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL) { fprintf(stderr, "dlopen: %s\n", dlerror()); return 2; }
    if (b.kind == K_STATICML) {
        snprintf(sym, sizeof sym, "%s_predict", argv[3]);
        b.row_fn = dlsym(lib, sym);
        snprintf(sym, sizeof sym, "%s_predict_matrix", argv[3]);
        b.block_fn = dlsym(lib, sym);
    } else {
        b.row_fn = b.block_fn = dlsym(lib, argv[3]);
    }
    if (b.row_fn == NULL || (has_block && b.block_fn == NULL)) {
        fprintf(stderr, "symbol not found in %s: %s\n", argv[2], argv[3]);
        return 2;
    }

    b.x = (double *)malloc(b.n * b.nf * sizeof(double));
    b.xf = (float *)malloc(b.n * b.nf * sizeof(float));
    b.out = (double *)calloc(b.n * b.nout, sizeof(double));
    b.outf = (float *)calloc(b.n * b.nout, sizeof(float));
    b.outb = (double *)calloc(b.n * b.nout, sizeof(double));
    b.status = (int32_t *)calloc(b.n, sizeof(int32_t));
    t_r = (double *)malloc((size_t)passes * sizeof(double));
    t_b = (double *)malloc((size_t)passes * sizeof(double));
    if (!b.x || !b.xf || !b.out || !b.outf || !b.outb || !b.status || !t_r || !t_b) {
        perror("malloc");
        return 2;
    }
    f = fopen(argv[4], "rb");
    if (f == NULL || fread(b.x, sizeof(double), b.n * b.nf, f) != b.n * b.nf) {
        fprintf(stderr, "%s: expected %zu doubles\n", argv[4], b.n * b.nf);
        return 2;
    }
    fclose(f);
    for (i = 0; i < b.n * b.nf; i++) b.xf[i] = (float)b.x[i];

    /* warm-up (page-in, caches, branch predictors); its time sizes the pass budget */
    t0 = now_ns();
    pass_row(&b);
    if (has_block) pass_block(&b);
    t_warm = now_ns() - t0;
    if (t_warm * passes > budget_ns) {
        passes = (int)(budget_ns / (t_warm > 1.0 ? t_warm : 1.0));
        if (passes < 3) passes = 3;
    }
    full_n = b.n;
    if (t_warm * 3.0 > budget_ns) {
        size_t m = (size_t)((double)b.n * budget_ns / (5.0 * t_warm));
        if (m < 500) m = 500;
        if (m < b.n) b.n = m;
    }

    timed_n = b.n;
    for (p = 0; p < passes; p++) {
        t0 = now_ns();
        pass_row(&b);
        t_r[p] = (now_ns() - t0) / (double)b.n;
        if (has_block) {
            t0 = now_ns();
            pass_block(&b);
            t_b[p] = (now_ns() - t0) / (double)b.n;
        }
    }
    b.n = full_n;
    if (b.kind == K_TL2CGEN_F)
        for (i = 0; i < b.n * b.nout; i++) b.out[i] = (double)b.outf[i];
    write_doubles(argv[10], b.out, b.n * b.nout);
    if (has_block && argc == 12) write_doubles(argv[11], b.outb, b.n * b.nout);
    {
        size_t bad_status = 0;
        for (i = 0; i < b.n; i++) if (b.status[i] != 0) bad_status++;
        printf("{\"rows\": %zu, \"timed_rows\": %zu, \"passes\": %d, \"row_ns_median\": %.3f, "
               "\"row_ns_min\": %.3f", b.n, timed_n, passes, median(t_r, passes),
               minimum(t_r, passes));
        if (has_block)
            printf(", \"block_ns_median\": %.3f, \"block_ns_min\": %.3f",
                   median(t_b, passes), minimum(t_b, passes));
        printf(", \"row_failed\": %zu, \"block_failed\": %zu}\n", b.failed, bad_status);
    }
    return 0;
}
