/* Predict churn for the customers in a CSV file with the library `staticml quickstart` built.
 *
 *   make BUNDLE=../../staticml-quickstart/churn      (or see README.md)
 *   ./churn_demo customers.csv
 *
 * The CSV has a header and these columns, in this order:
 *   tenure_months,monthly_charges,support_calls,contract,payment_method,region
 * An empty field is a missing value (NaN for numbers, NULL for strings).
 * Output: one line per row: label,P(churn),P(stay)   (or an error message for that row).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "churn.h"

static double parse_number(const char *field) {
    char *end;
    double value;
    if (*field == '\0') return strtod("nan", NULL);
    value = strtod(field, &end);
    return value;
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
    in = fopen(argv[1], "r");
    if (in == NULL) {
        perror(argv[1]);
        return 2;
    }
    if (fgets(line, sizeof line, in) == NULL) { /* header */
        fprintf(stderr, "%s is empty\n", argv[1]);
        return 2;
    }
    while (fgets(line, sizeof line, in) != NULL) {
        char *fields[6];
        char *p = line;
        int i, rc;
        churn_input x;
        double out[CHURN_N_OUTPUTS];

        line[strcspn(line, "\r\n")] = '\0';
        for (i = 0; i < 6; i++) { /* split on commas, keeping empty fields */
            fields[i] = p;
            p = strchr(p, ',');
            if (p == NULL && i < 5) { fields[i + 1] = NULL; break; }
            if (p != NULL) *p++ = '\0';
        }
        if (i < 5) {
            fprintf(stderr, "row %ld: expected 6 fields\n", row);
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
