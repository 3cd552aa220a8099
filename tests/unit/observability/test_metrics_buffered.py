"""The seam's cost on the hot path: callers only append, a thread sends; StatsD lines travel
many to a datagram; a fork neither doubles nor loses metrics; a broken back end is contained.

Checked on the wire with a real UDP listener on loopback.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest
from tests.statsd_listener import StatsdListener

from tradewind.core import metrics
from tradewind.core.metrics import Buffered, Fanout, MetricsBackend, Recorder, Tags
from tradewind.observability.statsd import MAX_PACKET, StatsdBackend


@pytest.fixture
def listener() -> Iterator[StatsdListener]:
    got = StatsdListener()
    yield got
    got.close()


@pytest.fixture(autouse=True)
def metrics_off_after() -> Iterator[None]:
    yield
    metrics.configure(None).close()


def _wait(cond: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():  # type: ignore[operator]
            return
        time.sleep(0.02)
    raise AssertionError("timed out")


def test_many_metrics_travel_in_few_datagrams(listener: StatsdListener) -> None:
    metrics.configure(Buffered(StatsdBackend("127.0.0.1", listener.port)))
    for i in range(200):
        metrics.incr("ti.start", tags={"dag_id": "sales", "task_id": f"t{i:03d}"})
    _wait(lambda: len(listener.lines) == 200)
    names = {line.name for line in listener.lines}
    assert names == {f"tradewind.ti.start.sales.t{i:03d}" for i in range(200)}
    # ~33 bytes a line: about 40 to a datagram, never one datagram per metric
    assert len(listener.datagrams) <= 10
    assert all(len(d) <= MAX_PACKET for d in listener.datagrams)


def test_metrics_arrive_without_an_explicit_flush(listener: StatsdListener) -> None:
    metrics.configure(Buffered(StatsdBackend("127.0.0.1", listener.port), interval=0.05))
    metrics.incr("scheduler_heartbeat")
    assert listener.wait_for("tradewind.scheduler_heartbeat", 5)[0].value == 1.0


def test_closing_sends_what_waits(listener: StatsdListener) -> None:
    backend = Buffered(StatsdBackend("127.0.0.1", listener.port), interval=3600)
    metrics.configure(backend)
    metrics.timing("dagrun.duration.success", 2.0, {"dag_id": "sales"})
    metrics.configure(None).close()
    assert listener.wait_for("tradewind.dagrun.duration.success.sales", 5)[0].value == 2000.0


def test_a_forked_child_does_not_send_the_parents_waiting_metrics(
    listener: StatsdListener,
) -> None:
    backend = Buffered(StatsdBackend("127.0.0.1", listener.port), interval=3600)
    metrics.configure(backend)
    metrics.incr("scheduler_heartbeat")  # starts the thread; waits for the hand-over
    metrics.incr("ti.start", tags={"dag_id": "d", "task_id": "parent"})
    pid = os.fork()
    if pid == 0:  # the child emits its own metric and closes: only that one may leave it
        code = 1
        try:
            metrics.incr("ti.start", tags={"dag_id": "d", "task_id": "child"})
            backend.close()
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    backend.flush()
    _wait(lambda: len(listener.named("tradewind.ti.start.d.parent")) >= 1)
    listener.wait_for("tradewind.ti.start.d.child", 5)
    time.sleep(0.2)  # a doubled line would have arrived by now
    assert len(listener.named("tradewind.ti.start.d.parent")) == 1
    assert len(listener.named("tradewind.scheduler_heartbeat")) == 1


class _Broken(MetricsBackend):
    """A back end that fails on one metric name, as a misconfigured exporter would."""

    def counter(self, name: str, value: float, tags: Tags | None) -> None:
        if name == "bad":
            raise ValueError("cannot record this")


def test_a_failing_back_end_neither_reaches_the_caller_nor_stops_the_others(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rec = Recorder()
    backend = Buffered(Fanout([_Broken(), rec]), interval=3600)
    metrics.configure(backend)
    metrics.incr("bad")  # the caller's work goes on
    metrics.incr("scheduler_heartbeat")
    backend.flush()
    assert [r[1] for r in rec.records] == ["scheduler_heartbeat"]
    assert "metric bad could not be recorded" in caplog.text


def test_tags_are_copied_when_recorded() -> None:
    rec = Recorder()
    backend = Buffered(rec, interval=3600)
    metrics.configure(backend)
    tags = {"dag_id": "d", "task_id": "a"}
    metrics.incr("ti_successes", tags=tags)
    tags["task_id"] = "changed later"
    backend.flush()
    assert rec.records == [("counter", "ti_successes", 1, {"dag_id": "d", "task_id": "a"})]


def test_a_timer_off_is_one_shared_context() -> None:
    assert metrics.timer("a") is metrics.timer("b")  # nothing is built per call
    rec = Recorder()
    metrics.configure(rec)
    with metrics.timer("scheduler.scheduler_loop_duration"):
        time.sleep(0.01)
    ((kind, name, seconds, _),) = rec.records
    assert (kind, name) == ("timer", "scheduler.scheduler_loop_duration")
    assert 0.01 <= seconds < 5


class _Slow(Recorder):
    """A back end that takes 1 ms of CPU per metric (a new Prometheus series costs about
    that), counting its flushes."""

    def __init__(self) -> None:
        super().__init__()
        self.flushes = 0

    def counter(self, name: str, value: float, tags: Tags | None) -> None:
        end = time.perf_counter() + 0.001
        while time.perf_counter() < end:
            pass
        super().counter(name, value, tags)

    def flush(self) -> None:
        self.flushes += 1


def test_a_backlog_is_handed_over_in_slices_that_let_the_emitting_thread_run() -> None:
    """The metrics thread never holds the GIL through a long backlog: it hands over a slice,
    flushes, pauses, and goes on, so the scheduler's thread is not kept waiting behind it."""
    slow = _Slow()
    backend = Buffered(slow, interval=0.05)
    metrics.configure(backend)
    for i in range(40):
        metrics.incr("ti.start", tags={"dag_id": "d", "task_id": f"t{i}"})
    _wait(lambda: len(slow.records) == 40)
    assert slow.flushes >= 10  # ~one slice per metric here; one hand-over would flush once
    assert [r[3]["task_id"] for r in slow.records] == [f"t{i}" for i in range(40)]
