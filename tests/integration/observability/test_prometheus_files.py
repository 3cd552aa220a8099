"""Prometheus multiprocess files: a component removes at start those of processes that are
gone, so stale gauges vanish from ``/metrics`` and restarts do not pile files up; files of
processes still running are kept."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from tradewind.observability.prometheus import scrape, use_multiprocess_dir

WRITE = """
import sys, time
from pathlib import Path
from tradewind.observability.prometheus import PrometheusBackend, use_multiprocess_dir
use_multiprocess_dir(Path(sys.argv[1]))
b = PrometheusBackend()
b.gauge("executor.open_slots", float(sys.argv[2]), None)
b.counter("scheduler_heartbeat", 1, None)
print("written", flush=True)
if sys.argv[3] == "stay":
    sys.stdin.read()  # runs until the test closes its stdin
"""


def _writer(folder: Path, slots: int, stay: bool) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITE, str(folder), str(slots), "stay" if stay else "go"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"},
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "written"
    return proc


def _seen(folder: Path) -> tuple[float, float]:
    """The scrape's open slots gauge (most recent writer) and heartbeat total (summed)."""
    families = {f.name: f for f in text_string_to_metric_families(scrape(folder).decode())}
    (slots,) = families["tradewind_executor_open_slots"].samples
    (beats,) = [
        s for s in families["tradewind_scheduler_heartbeat"].samples if s.name.endswith("_total")
    ]
    return slots.value, beats.value


def test_files_of_ended_processes_are_removed_at_start(tmp_path: Path, monkeypatch: Any) -> None:
    folder = tmp_path / "prom"
    alive = _writer(folder, 5, stay=True)
    gone = _writer(folder, 3, stay=False)
    gone.wait(timeout=30)
    try:
        assert _seen(folder) == (3.0, 2.0)  # before: the ended process still counts
        assert {p.name for p in folder.glob(f"*_{gone.pid}.db")}
        monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
        try:
            use_multiprocess_dir(folder)  # what a component does when it starts
        finally:
            monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
            from prometheus_client import values

            values.ValueClass = values.get_value_class()
        assert not list(folder.glob(f"*_{gone.pid}.db"))
        assert list(folder.glob(f"*_{alive.pid}.db"))
        assert _seen(folder) == (5.0, 1.0)
    finally:
        assert alive.stdin is not None
        alive.stdin.close()
        alive.wait(timeout=30)
