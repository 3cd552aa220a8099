"""Draw per-task cost against the number of tasks from bench_scale.py's JSON lines (#17).

Usage: python bench/chart.py RESULTS.jsonl [-o docs/per_task_cost.png] [--title TEXT]

Reads every ``scale_<executor>_<n>_per_task`` line (also as ``run_all.py`` or ``ab.py``
write them: a ``tree`` other than ``head`` is skipped) and draws one line per executor: the
median per-task cost in ms, with the min-max of the runs as error bars, on a log scale of
tasks. Needs matplotlib (``pip install 'tradewind[bench]'``).
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

_METRIC = re.compile(r"^scale_(?P<executor>[a-z]+)_(?P<n>\d+)_per_task$")
LABELS = {"local": "LocalExecutor (SQLite, parallelism 4)", "celery": "CeleryExecutor (2 workers)"}


def read_points(path: Path) -> dict[str, list[tuple[int, float, float, float]]]:
    """``{executor: [(tasks, median, min, max), ...]}`` sorted by tasks; the last line wins."""
    found: dict[tuple[str, int], tuple[float, float, float]] = {}
    for raw in path.read_text().splitlines():
        try:
            line = json.loads(raw)
        except json.JSONDecodeError:
            continue
        match = _METRIC.match(str(line.get("metric", "")))
        if not match or line.get("value") is None or line.get("tree", "head") != "head":
            continue
        key = (match["executor"], int(match["n"]))
        found[key] = (float(line["value"]), float(line["min"]), float(line["max"]))
    points: dict[str, list[tuple[int, float, float, float]]] = {}
    for (executor, n), (median, low, high) in sorted(found.items()):
        points.setdefault(executor, []).append((n, median, low, high))
    return points


def draw(points: dict[str, list[tuple[int, float, float, float]]], out: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=120)
    for executor, rows in points.items():
        xs = [r[0] for r in rows]
        ys = [r[1] for r in rows]
        errors = [[r[1] - r[2] for r in rows], [r[3] - r[1] for r in rows]]
        ax.errorbar(
            xs, ys, yerr=errors, marker="o", capsize=3, label=LABELS.get(executor, executor)
        )
        for x, y in zip(xs, ys, strict=True):
            ax.annotate(f"{y:.1f}", (x, y), textcoords="offset points", xytext=(4, 6), fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("tasks in the run (one fan-out DAG of no-op tasks)")
    ax.set_ylabel("per-task cost, ms (trigger → run success / tasks)")
    ax.set_ylim(bottom=0)
    ax.grid(True, which="both", alpha=0.3)
    ax.set_title(title, fontsize=10)
    ax.legend()
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path)
    parser.add_argument("-o", "--output", type=Path, default=Path("per_task_cost.png"))
    parser.add_argument("--title", default="Tradewind: per-task cost against run size")
    opts = parser.parse_args()
    points = read_points(opts.results)
    if not points:
        raise SystemExit(f"no scale_*_per_task lines in {opts.results}: run bench/bench_scale.py")
    draw(points, opts.output, opts.title)
    print(opts.output)


if __name__ == "__main__":
    main()
