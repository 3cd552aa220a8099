"""Run every benchmark under bench/ in turn, print their JSON lines, then the #17 figures.

Usage: python bench/run_all.py [--quick] [--big] [-o results.jsonl] [--chart out.png]

The default takes about 8-10 minutes on a quiet 2-core machine: import, ``dags test``, parse
(200 and 1,000 files), the W1/W2 scheduler workloads (fan-out 100 and 1,000, chain 20),
idle (standalone, 3 x 30 s), the planner, Celery (chain gap and AIP-15 with one scheduler,
when PostgreSQL and Redis answer) and the per-task cost at 10 and 100 tasks for both
executors. ``--quick`` skips the idle measurement and the 1,000-task fan-out; ``--big`` adds
1,000 and 10,000 tasks to the per-task cost (about 15 more minutes) and ``--chart`` draws it
(bench/chart.py, needs the ``bench`` extra). Each line gets a "bench" key naming its script;
a failing script prints a JSON line with "error" and the run goes on. The closing table lists
each figure of issue #17 with its target and the load average before and after. Exit status
1 if any script failed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SCRIPTS = [
    ("bench_import.py", []),
    ("bench_dags_test.py", []),
    ("bench_parse.py", []),
    ("bench_scheduler.py", ["fanout100", "chain20", "fanout1000"]),
    ("bench_idle.py", []),
    ("bench_planner.py", []),
    ("bench_celery.py", ["--only", "chain,aip15_1"]),
    ("bench_scale.py", ["--sizes", "10,100"]),
]
SLOW = {"bench_idle.py"}

#: (metric, what, target: met when the median is at most this; None: reported only)
TARGETS: list[tuple[str, str, float | None]] = [
    ("w2_chain_gap_median", "W2 chain 20: median gap end -> next start (ms)", 2.0),
    ("w2_chain_20_trigger_to_first_start", "W2: trigger -> first task start (ms)", 10.0),
    ("w1_fanout_100_trigger_to_success", "W1 fan-out 100, parallelism 4 (s)", 0.5),
    ("w1_fanout_100_per_task", "W1 fan-out 100: per-task cost (ms)", None),
    ("w1_fanout_1000_per_task", "W1 fan-out 1,000: per-task cost (ms)", None),
    ("parse_1000_files", "1,000 DAG files x 5 tasks parsed and stored (s)", 5.0),
    ("parse_1000_files_restart_unchanged", "restarted processor, unchanged folder (s)", None),
    ("aip15_1000_tasks_total", "AIP-15 over Celery, 1,000 tasks (s)", 4.0),
    ("celery_chain20_task_gap_median", "Celery chain 20: median gap (s)", 0.005),
    ("idle_cpu_200_dags", "idle, standalone, 200 paused DAGs (% of a core)", 0.5),
    ("idle_pss_total", "idle, standalone: PSS (MiB)", 150.0),
]


def run_script(name: str, args: list[str]) -> tuple[list[dict[str, object]], str | None]:
    """Run one script; return its JSON lines and an error message if it failed."""
    done = subprocess.run(
        [sys.executable, str(HERE / name), *args], cwd=HERE, capture_output=True, text=True
    )
    lines = []
    for raw in done.stdout.splitlines():
        try:
            lines.append(json.loads(raw))
        except json.JSONDecodeError:
            continue
    error = None
    if done.returncode:
        error = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
    return lines, error


def summary(lines: list[dict[str, Any]], load_before: tuple[float, ...]) -> None:
    """Print the issue's figures: value, target, met or not, and the machine's load."""
    by_metric = {str(line.get("metric")): line for line in lines}
    load = ", ".join(f"{x:.2f}" for x in load_before)
    print(f"\n# issue #17 figures (load average before: {load}; after: ", end="")
    print(", ".join(f"{x:.2f}" for x in os.getloadavg()) + f"; {os.cpu_count()} CPUs)")
    print(f"# {'figure':<52} {'median':>10} {'target':>8}  verdict")
    for metric, what, target in TARGETS:
        line = by_metric.get(metric)
        value = None if line is None else line.get("value")
        if not isinstance(value, int | float):
            reason = "not run" if line is None else line.get("skipped") or line.get("error")
            print(f"# {what:<52} {'-':>10} {target or '':>8}  ({reason})")
            continue
        verdict = "" if target is None else ("met" if value <= target else "not met")
        print(f"# {what:<52} {value:>10.4g} {target or '':>8}  {verdict}")
    scale = sorted(
        (line for line in lines if str(line.get("metric", "")).startswith("scale_")),
        key=lambda line: (str(line.get("executor")), int(line.get("tasks", 0))),
    )
    for line in scale:
        if isinstance(line.get("value"), int | float):
            what = f"per-task cost, {line['executor']}, {line['tasks']} tasks (ms)"
            print(f"# {what:<52} {line['value']:>10.4g}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the slow benchmarks")
    parser.add_argument("--big", action="store_true", help="per-task cost up to 10,000 tasks")
    parser.add_argument("--chart", type=Path, help="draw the per-task cost chart (PNG)")
    parser.add_argument("-o", "--output", type=Path, help="also append the lines to this file")
    opts = parser.parse_args()
    failed = False
    out = opts.output.open("a") if opts.output else None
    load_before = os.getloadavg()
    every: list[dict[str, Any]] = []
    for name, args in SCRIPTS:
        if not (HERE / name).exists() or (opts.quick and name in SLOW):
            continue
        if opts.quick:
            args = [a for a in args if a != "fanout1000"]
        if opts.big and name == "bench_scale.py":
            args = ["--sizes", "10,100,1000,10000"]
        start = time.perf_counter()
        lines, error = run_script(name, args)
        if error:
            failed = True
            lines.append({"metric": name, "error": error})
        for line in lines:
            text = json.dumps({"bench": name, **line})
            print(text, flush=True)
            if out:
                out.write(text + "\n")
        every.extend(lines)
        print(f"# {name}: {time.perf_counter() - start:.1f} s", file=sys.stderr)
    if out:
        out.close()
    summary(every, load_before)
    if opts.chart:
        results = opts.output or Path("/dev/null")
        if opts.output is None:  # chart.py reads a file: write the scale lines to one
            results = opts.chart.with_suffix(".jsonl")
            scale = [line for line in every if str(line.get("metric", "")).startswith("scale_")]
            results.write_text("".join(json.dumps(line) + "\n" for line in scale))
        subprocess.run(
            [sys.executable, str(HERE / "chart.py"), str(results), "-o", str(opts.chart)]
        )
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
