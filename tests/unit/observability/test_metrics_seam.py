"""The metrics seam: off by default, settings choose back ends, names and filters as Airflow's.

StatsD is checked on the wire: a real UDP listener on loopback parses what arrives.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.statsd_listener import StatsdListener

from tradewind.core import metrics
from tradewind.observability.setup import build_backend, setup_observability
from tradewind.observability.statsd import StatsdBackend, legacy_name
from tradewind.settings import load_settings


@pytest.fixture
def listener() -> Iterator[StatsdListener]:
    got = StatsdListener()
    yield got
    got.close()


@pytest.fixture(autouse=True)
def metrics_off_after() -> Iterator[None]:
    yield
    metrics.configure(None).close()


def _settings(tmp_path: Path, **metrics_keys: object):  # noqa: ANN202
    environ = {f"TRADEWIND__METRICS__{k.upper()}": str(v) for k, v in metrics_keys.items()}
    return load_settings(tmp_path, environ=environ)


def test_metrics_are_off_by_default_and_cost_nothing_to_call(tmp_path: Path) -> None:
    assert build_backend(load_settings(tmp_path, environ={})) is None
    setup_observability(load_settings(tmp_path, environ={}))
    assert not metrics.enabled()
    metrics.incr("ti_successes", tags={"dag_id": "d"})  # no back end: nothing happens
    with metrics.timer("scheduler.scheduler_loop_duration"):
        pass


# relay: recorded by the scheduler's helper process (observability/relay.py), or in process.
@pytest.mark.parametrize("relay", [False, True], ids=["in_process", "relayed"])
def test_statsd_lines_use_airflow_legacy_names(
    tmp_path: Path, listener: StatsdListener, relay: bool
) -> None:
    setup_observability(
        _settings(tmp_path, statsd_on="true", statsd_port=listener.port, statsd_host="127.0.0.1"),
        relay=relay,
    )
    from tradewind.observability.relay import RelayBackend

    assert isinstance(metrics.backend().inner, RelayBackend) is relay  # type: ignore[attr-defined]
    metrics.incr("scheduler_heartbeat")
    metrics.timing("dagrun.duration.success", 1.5, {"dag_id": "sales"})
    metrics.gauge("pool.open_slots", 7, {"pool_name": "default_pool"})
    metrics.incr("ti.finish", tags={"dag_id": "sales", "task_id": "load", "state": "success"})
    metrics.timing("task.duration", 0.25, {"dag_id": "sales", "task_id": "load"})

    beat = listener.wait_for("tradewind.scheduler_heartbeat", 30)
    assert (beat[0].value, beat[0].kind) == (1.0, "c")
    run = listener.wait_for("tradewind.dagrun.duration.success.sales", 30)[0]
    assert (run.value, run.kind) == (1500.0, "ms")  # StatsD timers are milliseconds
    pool = listener.wait_for("tradewind.pool.open_slots.default_pool", 30)[0]
    assert (pool.value, pool.kind) == (7.0, "g")
    listener.wait_for("tradewind.ti.finish.sales.load.success", 30)
    assert listener.wait_for("tradewind.dag.sales.load.duration", 30)[0].value == 250.0


def test_dogstatsd_sends_base_names_with_tags(tmp_path: Path, listener: StatsdListener) -> None:
    settings = _settings(
        tmp_path,
        statsd_on="true",
        statsd_port=listener.port,
        statsd_host="127.0.0.1",
        statsd_prefix="af",
        statsd_datadog_enabled="true",
    )
    setup_observability(settings)
    metrics.incr("ti_failures", tags={"dag_id": "sales", "task_id": "load x"})
    line = listener.wait_for("af.ti_failures", 30)[0]
    assert line.tags == {"dag_id": "sales", "task_id": "load_x"}  # spaces cannot travel


@pytest.mark.parametrize("relay", [False, True], ids=["in_process", "relayed"])
def test_allow_and_block_lists_filter_by_prefix(
    tmp_path: Path, listener: StatsdListener, relay: bool
) -> None:
    setup_observability(
        _settings(
            tmp_path,
            statsd_on="true",
            statsd_port=listener.port,
            statsd_host="127.0.0.1",
            metrics_allow_list="ti.,scheduler",
            metrics_block_list="ti.start",
        ),
        relay=relay,
    )
    metrics.incr("ti.start", tags={"dag_id": "d", "task_id": "t"})
    metrics.incr("dagbag_size")
    metrics.incr("ti.finish", tags={"dag_id": "d", "task_id": "t", "state": "failed"})
    metrics.incr("scheduler_heartbeat")
    listener.wait_for("tradewind.scheduler_heartbeat", 30)
    names = {line.name for line in listener.lines}
    assert "tradewind.ti.finish.d.t.failed" in names
    assert not names & {"tradewind.ti.start.d.t", "tradewind.dagbag_size"}


def test_a_metric_unknown_to_the_catalog_keeps_its_name() -> None:
    assert legacy_name("my.metric", {"dag_id": "x"}) == "my.metric"
    assert legacy_name("pool.open_slots", {}) == "pool.open_slots"


def test_statsd_never_raises_when_nothing_listens() -> None:
    backend = StatsdBackend("127.0.0.1", 9, "tw")  # discard port: nothing answers
    for _ in range(100):
        backend.counter("scheduler_heartbeat", 1, None)
    backend.close()


def test_otel_metrics_reach_the_reader_with_their_attributes(tmp_path: Path) -> None:
    pytest.importorskip("opentelemetry.sdk")  # with the extra installed: a real provider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    from tradewind.observability.otel_metrics import OtelMetricsBackend

    reader = InMemoryMetricReader()
    backend = OtelMetricsBackend(reader=reader)
    backend.counter("ti_successes", 2, {"dag_id": "d", "task_id": "t"})
    backend.timer("task.duration", 0.5, {"dag_id": "d", "task_id": "t"})
    backend.gauge("dagbag_size", 3, None)
    data = reader.get_metrics_data()
    points = {
        m.name: m.data.data_points[0]
        for rm in data.resource_metrics
        for sm in rm.scope_metrics
        for m in sm.metrics
    }
    assert points["tradewind.ti_successes"].value == 2
    assert dict(points["tradewind.ti_successes"].attributes) == {"dag_id": "d", "task_id": "t"}
    assert points["tradewind.task.duration"].sum == 0.5
    assert points["tradewind.dagbag_size"].value == 3
    backend.close()


def test_a_forked_child_does_not_export_the_parents_otel_metrics() -> None:
    pytest.importorskip("opentelemetry.sdk")
    import os

    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    from tradewind.observability.otel_metrics import OtelMetricsBackend

    reader = InMemoryMetricReader()
    reader._shutdown_event = __import__("threading").Event()  # as the periodic reader has
    backend = OtelMetricsBackend(reader=reader)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child reports whether its copy was told to stop
        os.write(w, b"1" if reader._shutdown_event.is_set() else b"0")
        os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(r, 1) == b"1"
    assert not reader._shutdown_event.is_set()  # the parent still exports
    backend.close()
