"""Before/after in one run: a benchmark against an older revision's code and this tree's, interleaved.

Usage: python bench/ab.py --base REV [--rounds 3] [-o out.jsonl] SCRIPT [ARGS...]

The ``src/`` of ``REV`` is extracted (``git archive``) to a temp folder and put first on
``PYTHONPATH`` for the "base" runs; the "head" runs use this checkout. Rounds alternate base,
head, base, head... so load on a shared machine hits both alike. Each JSON line of the script
is printed with ``tree`` (base/head), ``rev`` and ``round``; at the end one ``ab`` line per
metric gives both medians (of the per-round values) and the load average before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


def extract(rev: str, into: Path) -> str:
    """Extract ``rev``'s ``src/`` into ``into``; return the full commit id."""
    commit = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", rev], check=True, capture_output=True, text=True
    ).stdout.strip()
    archive = into / "src.tar"
    with archive.open("wb") as out:
        subprocess.run(["git", "-C", str(REPO), "archive", commit, "src"], check=True, stdout=out)
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    return commit


def run(script: list[str], pythonpath: str | None) -> list[dict[str, object]]:
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath + os.pathsep + env.get("PYTHONPATH", "")
    done = subprocess.run(
        [sys.executable, *script], cwd=HERE, env=env, capture_output=True, text=True
    )
    lines = []
    for raw in done.stdout.splitlines():
        try:
            lines.append(json.loads(raw))
        except json.JSONDecodeError:
            continue
    if done.returncode:
        tail = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
        lines.append({"metric": script[0], "error": tail})
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="the revision to compare against")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("-o", "--output", type=Path, help="also append the lines to this file")
    parser.add_argument("script", nargs=argparse.REMAINDER)
    opts = parser.parse_args()
    out = opts.output.open("a") if opts.output else None
    values: dict[tuple[str, str], list[float]] = {}
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="twab-") as name:
        base_commit = extract(opts.base, Path(name))
        head = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True
        ).stdout.strip()
        for rnd in range(opts.rounds):
            for tree, path, rev in (("base", f"{name}/src", base_commit), ("head", None, head)):
                for line in run(opts.script, path):
                    line = {"tree": tree, "rev": rev[:9], "round": rnd, **line}
                    text = json.dumps(line)
                    print(text, flush=True)
                    if out:
                        out.write(text + "\n")
                    if isinstance(line.get("value"), int | float):
                        values.setdefault((str(line["metric"]), tree), []).append(
                            float(line["value"])  # type: ignore[arg-type]
                        )
    load_after = os.getloadavg()
    for metric in sorted({m for m, _ in values}):
        base, head_v = values.get((metric, "base"), []), values.get((metric, "head"), [])
        summary = {
            "ab": metric,
            "base": round(statistics.median(base), 4) if base else None,
            "head": round(statistics.median(head_v), 4) if head_v else None,
            "base_runs": base,
            "head_runs": head_v,
            "loadavg_before": [round(x, 2) for x in load_before],
            "loadavg_after": [round(x, 2) for x in load_after],
        }
        text = json.dumps(summary)
        print(text, flush=True)
        if out:
            out.write(text + "\n")
    if out:
        out.close()


if __name__ == "__main__":
    main()
