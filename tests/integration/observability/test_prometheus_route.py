"""``/metrics``: off by default (404), authenticated unless configured public."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from tradewind.api.app import create_app
from tradewind.observability.prometheus import PrometheusBackend, use_multiprocess_dir

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


def test_metrics_route_is_404_while_prometheus_is_off(env: Any) -> None:
    env.settings.set("metrics", "prometheus_public", True)
    answer = TestClient(create_app(env)).get("/metrics")
    assert answer.status_code == 404
    assert "prometheus_on" in answer.json()["detail"]


def test_public_metrics_need_no_token(env: Any, tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    folder = tmp_path / "prom"
    env.settings.set("metrics", "prometheus_on", True)
    env.settings.set("metrics", "prometheus_public", True)
    env.settings.set("metrics", "prometheus_multiproc_dir", str(folder))
    use_multiprocess_dir(folder)
    try:
        backend = PrometheusBackend()
        backend.gauge("pool.open_slots", 3, {"pool_name": "etl"})
        backend.counter("scheduler_heartbeat", 2, None)
        answer = TestClient(create_app(env)).get("/metrics")
    finally:
        monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
        from prometheus_client import values

        values.ValueClass = values.get_value_class()
    assert answer.status_code == 200
    families = {f.name: f for f in text_string_to_metric_families(answer.text)}
    (slots,) = families["tradewind_pool_open_slots"].samples
    assert (slots.labels, slots.value) == ({"pool_name": "etl"}, 3.0)
    assert families["tradewind_scheduler_heartbeat"].samples[0].value == 2.0
