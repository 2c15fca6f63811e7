/* staticml cross-target harness (Windows, libc-free): run one DLL on a matrix file.
 *
 *   harness.exe LIBRARY PREFIX N_OUTPUTS ABI_VERSION INPUT OUTPUT
 *
 * Same contract as harness_posix.c (harness file protocol of staticml/runtime/engine.py;
 * exit codes 0 ok, 2 usage, 3 library/ABI, 4 file I/O, 5 out of memory), but it imports
 * only kernel32.dll and has its own entry point. Why: linking any C runtime makes zig build
 * MinGW's CRT for Windows on first use (about 67 s); this file builds in well under a second
 * and the DLL under test is then the only other code in the process. Frames stay small (all
 * buffers come from VirtualAlloc) so no stack-probe helper is needed.
 */
typedef void *HANDLE;
typedef unsigned long DWORD;
typedef int BOOL;
typedef unsigned long long u64;
typedef int (*predict_matrix_fn)(const double *x, u64 n, double *out, int *status);
typedef int (*abi_version_fn)(void);

#define IMPORT __declspec(dllimport)
#define WINAPI __stdcall
IMPORT char *WINAPI GetCommandLineA(void);
IMPORT HANDLE WINAPI GetStdHandle(DWORD which);
IMPORT HANDLE WINAPI CreateFileA(const char *path, DWORD access, DWORD share, void *security,
                                 DWORD disposition, DWORD flags, HANDLE template_file);
IMPORT BOOL WINAPI ReadFile(HANDLE f, void *buf, DWORD n, DWORD *done, void *overlapped);
IMPORT BOOL WINAPI WriteFile(HANDLE f, const void *buf, DWORD n, DWORD *done, void *overlapped);
IMPORT BOOL WINAPI CloseHandle(HANDLE h);
IMPORT void *WINAPI LoadLibraryA(const char *path);
IMPORT void *WINAPI GetProcAddress(void *module, const char *name);
IMPORT void *WINAPI VirtualAlloc(void *address, u64 size, DWORD type, DWORD protect);
IMPORT DWORD WINAPI GetLastError(void);
IMPORT __attribute__((noreturn)) void WINAPI ExitProcess(unsigned int code);

#define STD_ERROR_HANDLE ((DWORD)-12)
#define INVALID_HANDLE ((HANDLE)(long long)-1)
#define CHUNK (1u << 30)

static void say(const char *text) {
    DWORD len = 0, done;
    while (text[len]) len++;
    WriteFile(GetStdHandle(STD_ERROR_HANDLE), text, len, &done, 0);
}

static void fail(unsigned int code, const char *what, const char *detail) {
    say("harness: ");
    say(what);
    if (detail) { say(": "); say(detail); }
    say("\n");
    ExitProcess(code);
}

/* Split the command line in place: spaces separate, double quotes group, no escapes
 * (staticml passes plain paths and numbers). */
static int split_args(char *line, char **argv, int max) {
    int argc = 0;
    while (*line) {
        char *dst;
        int quoted = 0;
        while (*line == ' ' || *line == '\t') line++;
        if (!*line) break;
        if (argc == max) return max + 1;
        argv[argc++] = dst = line;
        for (; *line && (quoted || (*line != ' ' && *line != '\t')); line++) {
            if (*line == '"') quoted = !quoted;
            else *dst++ = *line;
        }
        if (*line) line++;
        *dst = 0;
    }
    return argc;
}

static u64 parse_u64(const char *s) {
    u64 v = 0;
    while (*s >= '0' && *s <= '9') v = v * 10 + (u64)(*s++ - '0');
    return v;
}

/* a + b into buf[256]; NULL if it does not fit (artifact names have at most 64 chars). */
static char *concat(char *buf, const char *a, const char *b) {
    int i = 0;
    for (; *a; a++) { if (i == 255) return 0; buf[i++] = *a; }
    for (; *b; b++) { if (i == 255) return 0; buf[i++] = *b; }
    buf[i] = 0;
    return buf;
}

static void *alloc(u64 bytes) {
    void *p = VirtualAlloc(0, bytes ? bytes : 1, 0x3000 /* commit|reserve */, 0x04 /* rw */);
    if (!p) fail(5, "out of memory", 0);
    return p;
}

static void transfer(HANDLE f, void *buf, u64 bytes, int writing, const char *path) {
    char *p = buf;
    while (bytes) {
        DWORD want = bytes > CHUNK ? CHUNK : (DWORD)bytes, done = 0;
        BOOL ok = writing ? WriteFile(f, p, want, &done, 0) : ReadFile(f, p, want, &done, 0);
        if (!ok || done == 0) fail(4, writing ? "cannot write" : "truncated input", path);
        p += done;
        bytes -= done;
    }
}

void WINAPI harness_entry(void) {
    char *argv[8], name[256];
    u64 head[2], n, k, n_out;
    double *x, *out;
    int *status;
    void *lib;
    predict_matrix_fn predict;
    abi_version_fn abi;
    HANDLE f;

    if (split_args(GetCommandLineA(), argv, 8) != 7)
        fail(2, "usage", "harness LIBRARY PREFIX N_OUTPUTS ABI INPUT OUTPUT");
    n_out = parse_u64(argv[3]);
    lib = LoadLibraryA(argv[1]);
    if (!lib) fail(3, "cannot load library", argv[1]);
    if (!concat(name, argv[2], "_predict_matrix")) fail(2, "name too long", argv[2]);
    predict = (predict_matrix_fn)GetProcAddress(lib, name);
    abi = (abi_version_fn)GetProcAddress(lib, concat(name, argv[2], "_abi_version"));
    if (!predict || !abi) fail(3, "library lacks the API of", argv[2]);
    if ((u64)abi() != parse_u64(argv[4])) fail(3, "ABI version differs from", argv[4]);

    f = CreateFileA(argv[5], 0x80000000 /* read */, 1, 0, 3 /* open existing */, 0x80, 0);
    if (f == INVALID_HANDLE) fail(4, "cannot read", argv[5]);
    transfer(f, head, sizeof head, 0, argv[5]);
    n = head[0];
    k = head[1];
    x = alloc(n * k * 8);
    out = alloc(n * n_out * 8);
    status = alloc(n * 4);
    transfer(f, x, n * k * 8, 0, argv[5]);
    CloseHandle(f);

    predict(x, n, out, status);

    f = CreateFileA(argv[6], 0x40000000 /* write */, 0, 0, 2 /* create always */, 0x80, 0);
    if (f == INVALID_HANDLE) fail(4, "cannot write", argv[6]);
    transfer(f, out, n * n_out * 8, 1, argv[6]);
    transfer(f, status, n * 4, 1, argv[6]);
    if (!CloseHandle(f)) fail(4, "cannot write", argv[6]);
    ExitProcess(0);
}
