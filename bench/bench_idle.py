"""Idle cost: every component with 200 DAGs loaded, no runs.

``tradewind standalone`` (scheduler, DAG processor, triggerer, web server, warm workers; the
default) or ``--component scheduler`` (``tradewind scheduler`` with its DAG processor and
warm workers, the figure before #17). The 200 DAG files come from the W3 generator (paused,
``schedule=None``, as generated) and are parsed before it starts. After a settle period, CPU %
of the whole process tree is measured over 3 windows of 30 s each from /proc/<pid>/stat,
then RSS and PSS from /proc, in total and per kind of process. Prints JSON lines.

Env: BENCH_IDLE_SECONDS (window, default 30), BENCH_IDLE_SETTLE (default 10).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from measure import WORKLOADS, emit, make_home, parse_dags, start_scheduler, stop_scheduler

WINDOW = float(os.environ.get("BENCH_IDLE_SECONDS", "30"))
SETTLE = float(os.environ.get("BENCH_IDLE_SETTLE", "10"))
WINDOWS = 3
TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str]:
    """Fields of /proc/<pid>/stat after the command name (index 0 is the state)."""
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2 :].split()


def tree(root: int) -> list[int]:
    """``root`` and all its descendants alive now."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                ppid = int(_stat(int(entry))[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def cpu_seconds(pids: list[int]) -> float:
    """utime+stime (and reaped children's) of ``pids``, in seconds."""
    total = 0
    for pid in pids:
        try:
            fields = _stat(pid)
        except OSError:
            continue
        total += sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
    return total / TICK


def memory_kib(pids: list[int], key: str) -> int:
    """Sum of ``key`` (``Rss:`` or ``Pss:``) from /proc/<pid>/smaps_rollup over ``pids``."""
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith(key):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _kind(pid: int) -> str:
    """What a process of the tree is, from its title or command line."""
    try:
        title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        comm = Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return "gone"
    if comm.startswith("tw-"):  # the forked components name themselves (cli/_processes.py)
        return comm
    return "python" if "python" in title or comm.startswith("python") else comm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--component", choices=["standalone", "scheduler"], default="standalone")
    parser.add_argument("--parallelism", type=int, help="[core] parallelism (warm workers)")
    opts = parser.parse_args()
    more = {} if opts.parallelism is None else {"core__parallelism": opts.parallelism}
    tmp = Path(tempfile.mkdtemp(prefix="twidle-"))
    proc = None
    try:
        env = make_home(tmp, core__load_examples="false", **more)
        gen = WORKLOADS / "gen_parse_dags.py"
        subprocess.run(
            [sys.executable, str(gen), str(tmp / "dags")], check=True, capture_output=True
        )
        parse_dags(env)
        command = ["standalone", "--port", str(_free_port())]
        if opts.component == "scheduler":
            command = ["scheduler"]
        proc = start_scheduler(env, tmp, settle=SETTLE, command=command)
        pids = tree(proc.pid)
        percents = []
        for _ in range(WINDOWS):
            pids = tree(proc.pid)
            before, start = cpu_seconds(pids), time.monotonic()
            time.sleep(WINDOW)
            after, elapsed = cpu_seconds(pids), time.monotonic() - start
            percents.append((after - before) / elapsed * 100)
        extra = {
            "component": opts.component,
            "parallelism": opts.parallelism or 32,
            "dags": 200,
            "processes": len(pids),
            "window_s": WINDOW,
            "cpus": os.cpu_count(),
        }
        emit("idle_cpu_200_dags", percents, "%", digits=3, of="one core", target=0.5, **extra)
        rss = memory_kib(pids, "Rss:") / 1024
        pss = memory_kib(pids, "Pss:") / 1024
        own_pss = memory_kib([proc.pid], "Pss:") / 1024
        kinds: dict[str, list[int]] = {}
        for pid in pids:
            kinds.setdefault(_kind(pid), []).append(pid)
        by_kind = {
            f"{k} x{len(v)}": round(memory_kib(v, "Pss:") / 1024, 1) for k, v in kinds.items()
        }
        for metric, value in (
            ("idle_rss_total", rss),
            ("idle_pss_total", pss),
            ("idle_pss_scheduler", own_pss),
        ):
            more = {"target": 150.0, "pss_by_kind": by_kind} if metric == "idle_pss_total" else {}
            emit(metric, [value], "MiB", digits=1, **extra, **more)
    finally:
        if proc is not None:
            stop_scheduler(proc)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
