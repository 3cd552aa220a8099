"""Run every benchmark under bench/ in turn and print their JSON lines (one file each).

Usage: python bench/run_all.py [--quick] [-o results.jsonl]
--quick skips the slow ones (1,000-task fan-out, 90 s idle measurement).
Each line gets a "bench" key naming its script; a failing script prints a JSON line with
"error" and the run goes on. Exit status 1 if any script failed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = [
    ("bench_import.py", []),
    ("bench_dags_test.py", []),
    ("bench_parse.py", []),
    ("bench_scheduler.py", ["fanout100", "chain20", "fanout1000"]),
    ("bench_idle.py", []),
    ("bench_planner.py", []),
]
SLOW = {"bench_idle.py"}


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the slow benchmarks")
    parser.add_argument("-o", "--output", type=Path, help="also append the lines to this file")
    opts = parser.parse_args()
    failed = False
    out = opts.output.open("a") if opts.output else None
    for name, args in SCRIPTS:
        if not (HERE / name).exists() or (opts.quick and name in SLOW):
            continue
        if opts.quick:
            args = [a for a in args if a != "fanout1000"]
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
        print(f"# {name}: {time.perf_counter() - start:.1f} s", file=sys.stderr)
    if out:
        out.close()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
