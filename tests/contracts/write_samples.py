"""Write the current-version sample of every event class that has none yet: run once per class
or version, then commit the files (never rewrite one: a sample is what was stored then).

    uv run python -m tests.contracts.write_samples

Realistic values come from the stored log (``samples/log-*.jsonl``: scripted jobs through the
real store); a class the log does not have is reported, for a hand-written sample. Samples of
older versions are hand-written from the upcasters' expectations, with the state they read as.
"""

from __future__ import annotations

import json

from tests.contracts.samples_catalog import SAMPLES, sample_path, stored_event_classes


def main() -> None:
    rows: dict[str, dict[str, object]] = {}
    for log in sorted(SAMPLES.glob("log-*.jsonl")):
        for line in log.read_text().splitlines():
            row = json.loads(line)
            stored = {
                "job_id": row["originator_id"],
                "version": row["originator_version"],
                **json.loads(row["state"]),
            }
            rows.setdefault(row["topic"], stored)
    for name, cls in sorted(stored_event_classes().items()):
        path = sample_path(name, cls.class_version)
        if path.exists():
            continue
        stored = rows.get(name)
        if stored is None or stored["schema_version"] != cls.class_version:
            print(f"no stored {name} v{cls.class_version} in the logs: write {path} by hand")
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"stored": stored}, indent=1, sort_keys=True) + "\n")
        print(f"wrote {path.relative_to(SAMPLES)}")


if __name__ == "__main__":
    main()
