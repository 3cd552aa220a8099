"""W3 and #17: time DagProcessor passes over generated DAG files of 5 tasks.

For each folder size (200 and 1,000 files by default; ``--files 200,1000``) the files are
written once with /work/shared/bench/workloads/gen_parse_dags.py, then 3 times: a new SQLite
database, one ``DagProcessor.run_once()`` (all parsed and stored), then a *new* processor
(as after a restart: it knows only what the database holds) runs a pass over the unchanged
folder, which must parse nothing. Prints JSON lines: the median first pass, the median
restart pass and the files it parsed, the CPU of the parsing children per file, the peak RSS.
"""

from __future__ import annotations

import argparse
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


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def one_run(tmp: Path, dags: Path, run: int) -> dict[str, float]:
    """One fresh database: the first pass, then a restarted processor's pass."""
    settings = load_settings(tmp, environ={})
    settings.set("core", "dags_folder", str(dags))
    db = Database(f"sqlite:///{tmp}/run{run}.db")
    db.migrate()
    processor = DagProcessor(settings, db)
    cpu, start = _children_cpu(), time.perf_counter()
    summary = processor.run_once()
    first, cpu = time.perf_counter() - start, _children_cpu() - cpu
    if summary.import_errors:
        raise SystemExit(f"unexpected import errors: {summary.import_errors[:3]}")
    restarted = DagProcessor(settings, db)
    start = time.perf_counter()
    again = restarted.run_once()
    second = time.perf_counter() - start
    db.engine.dispose()
    return {
        "first": first,
        "files": len(summary.files_parsed),
        "child_cpu_ms_per_file": cpu / max(len(summary.files_parsed), 1) * 1000,
        "restart": second,
        "restart_parsed": len(again.files_parsed),
    }


def measure(files: int) -> None:
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        dags = tmp / "dags"
        env = {**os.environ, "BENCH_PARSE_N": str(files)}
        subprocess.run(
            [sys.executable, str(GENERATOR), str(dags)], check=True, capture_output=True, env=env
        )
        runs = [one_run(tmp, dags, run) for run in range(RUNS)]
    metric = "w3_parse_200_files" if files == 200 else f"parse_{files}_files"
    common = {"files": files, "tasks_per_file": 5, "parsing_processes": 2, "cpus": os.cpu_count()}
    emit(metric, [r["first"] for r in runs], "s", target=5.0, **common)
    emit(
        f"parse_{files}_files_restart_unchanged",
        [r["restart"] for r in runs],
        "s",
        files_parsed=max(r["restart_parsed"] for r in runs),
        **common,
    )
    emit(
        f"parse_{files}_files_child_cpu_per_file",
        [r["child_cpu_ms_per_file"] for r in runs],
        "ms",
        **common,
    )


def emit(metric: str, runs: list[float], unit: str, **extra: object) -> None:
    rounded = [round(r, 4) for r in runs]
    line = {
        "metric": metric,
        "value": round(statistics.median(runs), 4),
        "unit": unit,
        "runs": rounded,
        "min": min(rounded),
        "max": max(rounded),
        **extra,
    }
    print(json.dumps(line), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", default="200,1000", help="folder sizes, comma-separated")
    opts = parser.parse_args()
    for files in (int(n) for n in opts.files.split(",")):
        measure(files)
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
