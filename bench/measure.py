"""What the benchmarks share: JSON lines, a fresh Tradewind home, a scheduler subprocess.

Kept free of tradewind imports at module level, so ``bench_import`` measures a cold import.
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

WORKLOADS = Path(os.environ.get("BENCH_WORKLOADS", "/work/shared/bench/workloads"))


def emit(metric: str, runs: Sequence[float], unit: str, digits: int = 4, **extra: Any) -> None:
    """Print one JSON line: the median of ``runs`` with the runs, min and max."""
    rounded = [round(r, digits) for r in runs]
    line = {
        "metric": metric,
        "value": round(statistics.median(runs), digits),
        "unit": unit,
        "runs": rounded,
        "min": min(rounded),
        "max": max(rounded),
        **extra,
    }
    print(json.dumps(line), flush=True)


def skip(metric: str, reason: str) -> None:
    """Print a JSON line saying a metric was not measured, and why."""
    print(json.dumps({"metric": metric, "value": None, "skipped": reason}), flush=True)


def make_home(home: Path, **settings: Any) -> dict[str, str]:
    """Create a Tradewind home (config file, migrated SQLite DB); return the env to use it.

    ``settings`` are ``section__key=value`` overrides, passed as ``TRADEWIND__...`` variables
    so that the scheduler subprocess sees the same values.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEWIND")}
    env["TRADEWIND_HOME"] = str(home)
    for name, value in settings.items():
        env[f"TRADEWIND__{name.upper()}"] = str(value)
    code = (
        "from tradewind.settings import load_settings\n"
        "from tradewind.services.install import write_config_file\n"
        "from tradewind.metastore.database import Database\n"
        "s = load_settings(); write_config_file(s); s = load_settings()\n"
        "s.dags_folder.mkdir(parents=True, exist_ok=True)\n"
        "Database(s.sql_alchemy_conn).migrate()\n"
    )
    subprocess.run([sys.executable, "-c", code], env=env, check=True)
    return env


def parse_dags(env: dict[str, str]) -> None:
    """Run one DAG processor pass over the home's DAGs folder, in a subprocess."""
    code = (
        "from tradewind.settings import load_settings\n"
        "from tradewind.metastore.database import Database\n"
        "from tradewind.dag_processing.processor import DagProcessor\n"
        "s = load_settings(); db = Database(s.sql_alchemy_conn)\n"
        "summary = DagProcessor(s, db).run_once()\n"
        "assert not summary.import_errors, summary.import_errors\n"
    )
    subprocess.run([sys.executable, "-c", code], env=env, check=True)


def start_scheduler(
    env: dict[str, str],
    home: Path,
    settle: float = 1.5,
    with_processor: bool = False,
    command: Sequence[str] | None = None,
) -> subprocess.Popen[bytes]:
    """Start ``tradewind scheduler [--skip-dag-processor]`` (or ``command``, e.g.
    ``standalone``); return once its scheduler listens for wake-ups.

    ``settle`` gives the executor's warm workers time to finish importing.
    """
    cmd = [sys.executable, "-c", "from tradewind.cli.main import main; main()"]
    log = open(home / "scheduler.out", "wb")  # noqa: SIM115 - closed with the process
    if command is None:
        command = ["scheduler", *([] if with_processor else ["--skip-dag-processor"])]
    proc = subprocess.Popen(
        [*cmd, *command],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    port_file = home / "run" / f"scheduler-{proc.pid}.port"
    deadline = time.monotonic() + 30
    while not port_file.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_scheduler(proc)
            raise SystemExit(f"scheduler did not start:\n{(home / 'scheduler.out').read_text()}")
        time.sleep(0.05)
    time.sleep(settle)
    return proc


def stop_scheduler(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the scheduler's process group and wait for it."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
