"""OpenTelemetry metrics (extra ``otel``): counters, gauges and histograms exported over OTLP
(HTTP) every ``[metrics] otel_interval_milliseconds``, with the tags as attributes."""

from __future__ import annotations

import os
import socket
import threading
from typing import Any

from tradewind.core.metric_names import CATALOG
from tradewind.core.metrics import MetricsBackend, Tags
from tradewind.errors import ConfigError


def _require_otel() -> None:
    try:
        import opentelemetry.sdk  # noqa: F401
    except ImportError:
        raise ConfigError(
            "[metrics] otel_on / [traces] otel_on need OpenTelemetry: pip install 'tradewind[otel]'"
        ) from None


def instance_id() -> str:
    """``host-pid``: each process's values are a series of their own."""
    return f"{socket.gethostname()}-{os.getpid()}"


def _stop_exporting(reader: Any) -> None:
    event = getattr(reader, "_shutdown_event", None)
    if event is not None:
        event.set()


def otlp_endpoint(host: str, port: int, ssl: bool, path: str) -> str:
    """``http://host:port/v1/metrics`` (https with ``otel_ssl_active``)."""
    return f"{'https' if ssl else 'http'}://{host}:{port}{path}"


class OtelMetricsBackend(MetricsBackend):
    """Each metric becomes an OpenTelemetry instrument on first use.

    Args:
        reader: where the provider's values go; by default an OTLP exporter on a timer
            (tests pass an ``InMemoryMetricReader``).
    """

    enabled = True

    def __init__(
        self,
        *,
        prefix: str = "tradewind",
        endpoint: str = "",
        interval_ms: int = 60000,
        service_name: str = "tradewind",
        reader: Any = None,
    ):
        _require_otel()
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.resources import Resource

        if reader is None:
            from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
            from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

            reader = PeriodicExportingMetricReader(
                OTLPMetricExporter(endpoint=endpoint), export_interval_millis=interval_ms
            )
        self.provider = MeterProvider(
            metric_readers=[reader],
            resource=Resource.create(
                {"service.name": service_name, "service.instance.id": instance_id()}
            ),
        )
        if hasattr(os, "register_at_fork"):
            # A forked child (a worker, the DAG processor) must not export copies of this
            # process's values: the SDK restarts the exporting thread in it; stop it again.
            os.register_at_fork(after_in_child=lambda: _stop_exporting(reader))
        self.meter = self.provider.get_meter("tradewind")
        self.prefix = f"{prefix}." if prefix else ""
        self._instruments: dict[str, Any] = {}
        self._lock = threading.Lock()

    def _instrument(self, kind: str, name: str) -> Any:
        inst = self._instruments.get(name)
        if inst is None:
            with self._lock:
                inst = self._instruments.get(name)
                if inst is None:
                    spec = CATALOG.get(name)
                    doc = spec.help if spec else name
                    full = self.prefix + name
                    if kind == "counter":
                        inst = self.meter.create_counter(full, description=doc)
                    elif kind == "gauge":
                        inst = self.meter.create_gauge(full, description=doc)
                    else:
                        inst = self.meter.create_histogram(full, unit="s", description=doc)
                    self._instruments[name] = inst
        return inst

    def counter(self, name: str, value: float, tags: Tags | None) -> None:
        self._instrument("counter", name).add(value, attributes=dict(tags) if tags else None)

    def gauge(self, name: str, value: float, tags: Tags | None) -> None:
        self._instrument("gauge", name).set(value, attributes=dict(tags) if tags else None)

    def timer(self, name: str, seconds: float, tags: Tags | None) -> None:
        self._instrument("timer", name).record(seconds, attributes=dict(tags) if tags else None)

    def close(self) -> None:
        self.provider.shutdown()
