"""The metrics relay: StatsD and Prometheus recorded by a helper process, checked on the wire
(a real UDP listener, a real scrape of the multiprocess files). The helper serves what the
component emits, leaves with it (even after ``kill -9``), is replaced when it dies, and never
makes the emitter wait."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from tests.statsd_listener import StatsdListener

from tradewind.core.metrics import Buffered
from tradewind.observability.prometheus import scrape
from tradewind.observability.relay import RelayBackend


@pytest.fixture
def listener() -> Iterator[StatsdListener]:
    got = StatsdListener()
    yield got
    got.close()


def _wait(cond: Callable[[], object], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.02)
    raise AssertionError("timed out")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie child of this test process is gone too
        return os.waitpid(pid, os.WNOHANG) == (0, 0)
    except ChildProcessError:
        return True


def _spec(listener: StatsdListener, prom: Path | None = None) -> dict[str, object]:
    spec: dict[str, object] = {
        "statsd": {"host": "127.0.0.1", "port": listener.port, "prefix": "tw", "tags": False}
    }
    if prom is not None:
        spec["prometheus"] = {"dir": str(prom), "prefix": "tw"}
    return spec


def test_metrics_reach_statsd_and_prometheus_through_the_helper(
    listener: StatsdListener, tmp_path: Path
) -> None:
    relay = RelayBackend(_spec(listener, tmp_path / "prom"))
    relay.start()
    backend = Buffered(relay)
    try:
        helper = relay._proc
        assert helper is not None and helper.pid != os.getpid()
        backend.counter("ti_successes", 1, {"dag_id": "etl", "task_id": "load"})
        backend.counter("ti_successes", 1, {"dag_id": "etl", "task_id": "load"})
        backend.timer("dagrun.duration.success", 2.5, {"dag_id": "etl"})
        backend.flush()  # returns once the helper has recorded and sent them
        _wait(lambda: len(listener.lines) >= 3, timeout=5)
        assert [(x.name, x.value, x.kind) for x in listener.named("tw.ti_successes")] == [
            ("tw.ti_successes", 1.0, "c")
        ] * 2
        (duration,) = listener.named("tw.dagrun.duration.success.etl")
        assert (duration.value, duration.kind) == (2500.0, "ms")
        # The Prometheus values are in the helper's files, and a scrape adds them up.
        assert {p.name for p in (tmp_path / "prom").glob("*.db")} >= {f"counter_{helper.pid}.db"}
        families = {
            f.name: f for f in text_string_to_metric_families(scrape(tmp_path / "prom").decode())
        }
        (total,) = [
            s for s in families["tw_ti_successes"].samples if s.name == "tw_ti_successes_total"
        ]
        assert total.value == 2.0 and total.labels == {"dag_id": "etl", "task_id": "load"}
    finally:
        backend.close()
    assert helper.wait(timeout=10) == 0  # closing the component ends its helper


EMITTER = """
import sys, time
from tradewind.core.metrics import Buffered
from tradewind.observability.relay import RelayBackend
relay = RelayBackend({"statsd": {"host": "127.0.0.1", "port": int(sys.argv[1]),
                                 "prefix": "tw", "tags": False}})
relay.start()
backend = Buffered(relay)
backend.counter("scheduler_heartbeat", 1, None)
backend.flush()
print(relay._proc.pid, flush=True)
time.sleep(600)
"""


def test_the_helper_leaves_when_its_component_is_killed(listener: StatsdListener) -> None:
    emitter = subprocess.Popen(
        [sys.executable, "-c", EMITTER, str(listener.port)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert emitter.stdout is not None
        helper_pid = int(emitter.stdout.readline())
        listener.wait_for("tw.scheduler_heartbeat", timeout=10)
        assert _alive(helper_pid)
        emitter.send_signal(signal.SIGKILL)
        emitter.wait(timeout=10)
        _wait(lambda: not _alive(helper_pid), timeout=10)  # its pipe closed: it exits
    finally:
        if emitter.poll() is None:
            emitter.kill()
            emitter.wait()


def test_a_helper_that_died_is_replaced(listener: StatsdListener, monkeypatch: object) -> None:
    from tradewind.observability import relay as relay_module

    monkeypatch.setattr(relay_module, "RESTART_AFTER", 0.0)  # type: ignore[attr-defined]
    relay = RelayBackend(_spec(listener))
    relay.start()
    backend = Buffered(relay)
    try:
        first = relay._proc
        assert first is not None
        first.kill()
        first.wait(timeout=10)
        backend.counter("ti_failures", 1, {"dag_id": "etl", "task_id": "load"})
        backend.flush()  # no helper to take it: this hand-over starts another
        backend.counter("ti_failures", 1, {"dag_id": "etl", "task_id": "load"})
        backend.flush()
        second = relay._proc
        assert second is not None and second.pid != first.pid and second.poll() is None
        _wait(lambda: listener.named("tw.ti_failures"), timeout=5)
    finally:
        backend.close()


def test_a_helper_that_does_not_read_never_blocks_the_emitter(tmp_path: Path) -> None:
    relay = RelayBackend({"prometheus": {"dir": str(tmp_path / "prom"), "prefix": "tw"}})
    relay.start()
    backend = Buffered(relay)
    helper = relay._proc
    assert helper is not None
    os.kill(helper.pid, signal.SIGSTOP)
    try:
        start = time.monotonic()
        for _ in range(20):  # ~2 MB of frames: far more than the pipe holds (64 KiB)
            for _ in range(2000):
                backend.counter("ti.start", 1, {"dag_id": "etl", "task_id": "load"})
            with backend._lock:
                backend._hand_over()
        assert time.monotonic() - start < 10  # nothing waited for the stopped helper
        assert len(relay._out) > 65536  # what the pipe could not take waits in memory
    finally:
        os.kill(helper.pid, signal.SIGCONT)
    try:
        backend.flush()  # once it reads again, everything that waited is recorded

        def total() -> float:
            text = scrape(tmp_path / "prom").decode()
            for family in text_string_to_metric_families(text):
                for sample in family.samples:
                    if sample.name == "tw_ti_start_total":
                        return sample.value
            return 0.0

        assert total() == 40_000
    finally:
        backend.close()
