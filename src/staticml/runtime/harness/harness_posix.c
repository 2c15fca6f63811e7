/* staticml cross-target harness (POSIX): run one shared library on a matrix file.
 *
 *   harness LIBRARY PREFIX N_OUTPUTS ABI_VERSION INPUT OUTPUT
 *
 * Loads LIBRARY with dlopen, checks PREFIX_abi_version() == ABI_VERSION, calls
 * PREFIX_predict_matrix on the rows of INPUT and writes OUTPUT, in the harness file protocol
 * of staticml/runtime/engine.py (little-endian; this harness assumes a little-endian target):
 *   input:  uint64 n, uint64 n_inputs, then n * n_inputs float64 row-major
 *   output: n * N_OUTPUTS float64 row-major, then n int32 statuses
 * The library is the unit under test, so the harness never computes anything itself: it
 * only moves bytes. Exit codes: 0 ok, 2 usage, 3 library/ABI, 4 file I/O, 5 out of memory.
 * Compiled for the target by `zig cc` and run under qemu-user (or natively).
 */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int (*predict_matrix_fn)(const double *x, size_t n, double *out, int32_t *status);
typedef int (*abi_version_fn)(void);

static int fail(int code, const char *what, const char *detail) {
    fprintf(stderr, "harness: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    return code;
}

static void *symbol(void *lib, const char *prefix, const char *suffix) {
    char name[256];
    if (strlen(prefix) + strlen(suffix) >= sizeof name) return NULL;
    strcpy(name, prefix);
    strcat(name, suffix);
    return dlsym(lib, name);
}

static void *alloc(uint64_t count, size_t size) {
    return malloc(count ? (size_t)count * size : 1);
}

int main(int argc, char **argv) {
    uint64_t head[2], n, k, n_out;
    double *x, *out;
    int32_t *status;
    void *lib;
    predict_matrix_fn predict;
    abi_version_fn abi;
    FILE *f;

    if (argc != 7) return fail(2, "usage", "harness LIBRARY PREFIX N_OUTPUTS ABI INPUT OUTPUT");
    n_out = strtoull(argv[3], NULL, 10);
    lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL) return fail(3, "cannot load library", dlerror());
    predict = (predict_matrix_fn)symbol(lib, argv[2], "_predict_matrix");
    abi = (abi_version_fn)symbol(lib, argv[2], "_abi_version");
    if (predict == NULL || abi == NULL) return fail(3, "library lacks the API of", argv[2]);
    if (abi() != atoi(argv[4])) return fail(3, "ABI version differs from", argv[4]);

    f = fopen(argv[5], "rb");
    if (f == NULL || fread(head, 8, 2, f) != 2) return fail(4, "cannot read", argv[5]);
    n = head[0];
    k = head[1];
    x = alloc(n * k, sizeof *x);
    out = alloc(n * n_out, sizeof *out);
    status = alloc(n, sizeof *status);
    if (x == NULL || out == NULL || status == NULL) return fail(5, "out of memory", NULL);
    if (fread(x, sizeof *x, (size_t)(n * k), f) != (size_t)(n * k))
        return fail(4, "truncated input", argv[5]);
    fclose(f);

    predict(x, (size_t)n, out, status);

    f = fopen(argv[6], "wb");
    if (f == NULL || fwrite(out, sizeof *out, (size_t)(n * n_out), f) != (size_t)(n * n_out) ||
        fwrite(status, sizeof *status, (size_t)n, f) != (size_t)n || fclose(f) != 0)
        return fail(4, "cannot write", argv[6]);
    return 0;
}
