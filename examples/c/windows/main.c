/* Predict churn on Windows with the DLL that `staticml build --target windows-x86_64` makes.
 *
 * The same program as ../main.c (same CSV in, same lines out), built against the bundle's
 * lib/windows-x86_64/churn.dll through its import library churn.lib; see README.md.
 *
 *   churn_demo.exe customers.csv
 *
 * The CSV has a header and these columns, in this order:
 *   tenure_months,monthly_charges,support_calls,contract,payment_method,region
 * An empty field is a missing value (NaN for numbers, NULL for strings).
 * Output: one line per row: label,P(churn),P(stay)   (or an error message for that row).
 */
#include <fcntl.h>
#include <io.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "churn.h" /* without CHURN_BUILD_DLL the functions are plain imports from churn.dll */

#define N_FIELDS 6

static double parse_number(const char *field) {
    if (*field == '\0') return strtod("nan", NULL);
    return strtod(field, NULL);
}

/* Split `line` in place on commas, keeping empty fields; returns the number of fields. */
static int split(char *line, char **fields) {
    int n = 0;
    char *p = line;
    while (n < N_FIELDS) {
        fields[n++] = p;
        p = strchr(p, ',');
        if (p == NULL) break;
        *p++ = '\0';
    }
    return n;
}

int main(int argc, char **argv) {
    static const char *class_names[] = CHURN_CLASS_NAMES;
    char line[4096];
    FILE *in;
    long row = 0;
    int failures = 0;

    if (argc != 2) {
        fprintf(stderr, "usage: %s customers.csv\n", argv[0]);
        return 2;
    }
    /* "\n", not "\r\n": the output is byte-identical to the Linux example's. */
    _setmode(_fileno(stdout), _O_BINARY);
    in = fopen(argv[1], "r"); /* text mode: a CRLF file reads as "\n" lines */
    if (in == NULL) {
        perror(argv[1]);
        return 2;
    }
    if (fgets(line, sizeof line, in) == NULL) { /* header */
        fprintf(stderr, "%s is empty\n", argv[1]);
        return 2;
    }
    while (fgets(line, sizeof line, in) != NULL) {
        char *fields[N_FIELDS];
        churn_input x;
        double out[CHURN_N_OUTPUTS];
        int rc;

        line[strcspn(line, "\r\n")] = '\0';
        if (split(line, fields) != N_FIELDS) {
            fprintf(stderr, "row %ld: expected %d fields\n", row, N_FIELDS);
            return 2;
        }
        x.tenure_months = parse_number(fields[0]);
        x.monthly_charges = parse_number(fields[1]);
        x.support_calls = parse_number(fields[2]);
        x.contract = *fields[3] ? fields[3] : NULL;
        x.payment_method = *fields[4] ? fields[4] : NULL;
        x.region = *fields[5] ? fields[5] : NULL;

        rc = churn_predict(&x, out);
        if (rc != CHURN_OK) {
            printf("error,%s\n", churn_strerror(rc));
            failures++;
        } else {
            printf("%s,%.17g,%.17g\n", class_names[(int)out[0]], out[1], out[2]);
        }
        row++;
    }
    fclose(in);
    return failures ? 1 : 0;
}
