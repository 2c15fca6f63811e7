/* bench/harness.c: C-level timing of one staticml bundle (driven by bench/pipelines.py).
 *
 * Times the two entry points of the generated library over the same rows:
 *   - NAME_predict(const NAME_input *, double *), one call per row, on rows already
 *     converted into NAME_input structs (numbers as doubles, strings as const char *);
 *   - NAME_predict_matrix(const double *x, size_t n, double *out, int32_t *status), one
 *     call on the flat row-major matrix (string columns hold vocabulary codes).
 * Struct construction and the matrix are prepared before timing; only the calls are timed.
 *
 * The model-specific part comes from bench_glue.h, which pipelines.py generates next to a
 * copy of this file: it includes NAME.h and defines
 *   BENCH_INPUT, BENCH_PREDICT, BENCH_PREDICT_MATRIX, BENCH_N_INPUTS, BENCH_N_OUTPUTS,
 *   and  static void bench_fill_row(BENCH_INPUT *r, const double *raw)
 * where raw holds one row: numbers as-is (NaN = missing), string columns as an index into
 * the glue's string table (-1 = NULL).
 *
 * Usage: harness RAW.bin ENCODED.bin N_ROWS PASSES OUT_PREDICT.bin OUT_MATRIX.bin
 * Prints one line of JSON: median and minimum ns/row of each entry point over PASSES passes
 * (after one warm-up pass each; passes of the two entry points are interleaved).
 */
#define _POSIX_C_SOURCE 199309L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_glue.h"

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static double *read_doubles(const char *path, size_t count) {
    FILE *f = fopen(path, "rb");
    double *buf;
    if (f == NULL) { perror(path); exit(2); }
    buf = (double *)malloc(count * sizeof(double));
    if (buf == NULL || fread(buf, sizeof(double), count, f) != count) {
        fprintf(stderr, "%s: expected %zu doubles\n", path, count);
        exit(2);
    }
    fclose(f);
    return buf;
}

static void write_doubles(const char *path, const double *buf, size_t count) {
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(buf, sizeof(double), count, f) != count) { perror(path); exit(2); }
    fclose(f);
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

/* One pass of NAME_predict over all rows; returns the number of failed rows. */
static size_t pass_predict(const BENCH_INPUT *rows, size_t n, double *out) {
    size_t r, failed = 0;
    for (r = 0; r < n; r++)
        if (BENCH_PREDICT(rows + r, out + r * BENCH_N_OUTPUTS) != 0) failed++;
    return failed;
}

int main(int argc, char **argv) {
    size_t n, r, failed = 0;
    int passes, p;
    double *raw, *enc, *out_p, *out_m, *t_p, *t_m, t0;
    int32_t *status;
    BENCH_INPUT *rows;

    if (argc != 7) {
        fprintf(stderr, "usage: %s RAW.bin ENCODED.bin N_ROWS PASSES OUT_PREDICT.bin "
                        "OUT_MATRIX.bin\n", argv[0]);
        return 2;
    }
    n = (size_t)strtoull(argv[3], NULL, 10);
    passes = atoi(argv[4]);
    if (n == 0 || passes < 1) { fprintf(stderr, "need N_ROWS > 0 and PASSES >= 1\n"); return 2; }

    raw = read_doubles(argv[1], n * BENCH_N_INPUTS);
    enc = read_doubles(argv[2], n * BENCH_N_INPUTS);
    rows = (BENCH_INPUT *)malloc(n * sizeof(BENCH_INPUT));
    out_p = (double *)malloc(n * BENCH_N_OUTPUTS * sizeof(double));
    out_m = (double *)malloc(n * BENCH_N_OUTPUTS * sizeof(double));
    status = (int32_t *)malloc(n * sizeof(int32_t));
    t_p = (double *)malloc((size_t)passes * sizeof(double));
    t_m = (double *)malloc((size_t)passes * sizeof(double));
    if (!rows || !out_p || !out_m || !status || !t_p || !t_m) { perror("malloc"); return 2; }
    for (r = 0; r < n; r++) bench_fill_row(rows + r, raw + r * BENCH_N_INPUTS);

    /* warm-up (page-in, caches, branch predictors) */
    failed = pass_predict(rows, n, out_p);
    BENCH_PREDICT_MATRIX(enc, n, out_m, status);

    for (p = 0; p < passes; p++) {
        t0 = now_ns();
        failed = pass_predict(rows, n, out_p);
        t_p[p] = (now_ns() - t0) / (double)n;
        t0 = now_ns();
        BENCH_PREDICT_MATRIX(enc, n, out_m, status);
        t_m[p] = (now_ns() - t0) / (double)n;
    }
    write_doubles(argv[5], out_p, n * BENCH_N_OUTPUTS);
    write_doubles(argv[6], out_m, n * BENCH_N_OUTPUTS);
    {
        size_t bad_status = 0;
        for (r = 0; r < n; r++) if (status[r] != 0) bad_status++;
        printf("{\"rows\": %zu, \"passes\": %d, \"predict_ns_median\": %.3f, "
               "\"predict_ns_min\": %.3f, \"matrix_ns_median\": %.3f, \"matrix_ns_min\": %.3f, "
               "\"predict_failed_rows\": %zu, \"matrix_failed_rows\": %zu}\n",
               n, passes, median(t_p, passes), minimum(t_p, passes), median(t_m, passes),
               minimum(t_m, passes), failed, bad_status);
    }
    free(raw); free(enc); free(rows); free(out_p); free(out_m); free(status);
    free(t_p); free(t_m);
    return 0;
}
