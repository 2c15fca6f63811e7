"""Predict churn for every customer in a CSV file with the pip-installed ``churn`` wheel.

    pip install --no-index dist/churn/python/churn-*.whl     # needs numpy, nothing else
    python app.py customers.csv

The CSV has a header naming the model's columns (in any order; extra columns are ignored)
and an empty field is a missing value. Prints CSV: the prediction, then the probability of
each class. If the model refuses a row, prints which row, which column and the fix, exits 1.
"""

import csv
import sys

import churn  # the wheel: churn.predict, churn.predict_proba, churn.schema, churn.classes_

NUMBER_COLUMNS = {c["name"] for c in churn.schema["inputs"] if c["dtype"] == "number"}


def parse(column, text):
    if not text:
        return None  # an empty field (or a short row): a missing value
    if column not in NUMBER_COLUMNS:
        return text
    try:
        return float(text)
    except ValueError:
        return text  # not a number: churn.predict says which row and column


def read_customers(path):
    with open(path, newline="") as f:
        return [{column: parse(column, text) for column, text in row.items()}
                for row in csv.DictReader(f)]


def main(path):
    customers = read_customers(path)
    if not customers:
        print(f"error: {path} has no rows", file=sys.stderr)
        return 1
    try:
        labels = churn.predict(customers)
        probabilities = churn.predict_proba(customers)
    except churn.InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(["prediction"] + [f"P({c})" for c in churn.classes_])
    for label, p in zip(labels, probabilities):
        out.writerow([label] + p.tolist())
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python app.py customers.csv")
    sys.exit(main(sys.argv[1]))
