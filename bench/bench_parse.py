"""W3: time one DagProcessor pass over 200 fresh DAG files of 5 tasks into a fresh SQLite DB.

Writes the files with /work/shared/bench/workloads/gen_parse_dags.py (env BENCH_PARSE_N and
BENCH_PARSE_TASKS are passed through), then runs ``DagProcessor.run_once()`` 3 times, each
into a new database, and prints JSON lines: the median pass time, and the peak RSS.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tradewind.dag_processing.processor import DagProcessor
from tradewind.metastore.database import Database
from tradewind.settings import load_settings

GENERATOR = Path("/work/shared/bench/workloads/gen_parse_dags.py")
RUNS = 3


def one_pass(tmp: Path, dags: Path, run: int) -> tuple[float, int]:
    """Return (seconds, files parsed) of one ``run_once`` into a new database."""
    settings = load_settings(tmp, environ={})
    settings.set("core", "dags_folder", str(dags))
    db = Database(f"sqlite:///{tmp}/run{run}.db")
    db.migrate()
    processor = DagProcessor(settings, db)
    start = time.perf_counter()
    summary = processor.run_once()
    elapsed = time.perf_counter() - start
    db.engine.dispose()
    if summary.import_errors:
        raise SystemExit(f"unexpected import errors: {summary.import_errors}")
    return elapsed, len(summary.files_parsed)


def main() -> None:
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        dags = tmp / "dags"
        subprocess.run([sys.executable, str(GENERATOR), str(dags)], check=True, capture_output=True)
        times: list[float] = []
        files = 0
        for run in range(RUNS):
            elapsed, files = one_pass(tmp, dags, run)
            times.append(elapsed)
    rounded = [round(t, 4) for t in times]
    print(
        json.dumps(
            {
                "metric": "w3_parse_200_files",
                "value": round(statistics.median(times), 4),
                "unit": "s",
                "runs": rounded,
                "min": min(rounded),
                "max": max(rounded),
                "files": files,
                "parsing_processes": 2,
                "cpus": os.cpu_count(),
            }
        )
    )
    # ru_maxrss is in KiB on Linux; children are the forked parsers (largest one).
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "metric": "w3_parse_peak_rss",
                "value": round(own, 1),
                "unit": "MiB",
                "largest_child": round(kids, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
