"""People from CSV text."""

import csv
import io

REQUIRED = ("name", "email", "age")


def parse(text: str) -> list[dict[str, object]]:
    """Rows of a CSV whose header names name, email and age; age as an int."""
    rows: list[dict[str, object]] = []
    for row in csv.DictReader(io.StringIO(text)):
        rows.append({"name": row["name"], "email": row["email"], "age": int(row["age"])})
    return rows
