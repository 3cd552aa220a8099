"""Observability back ends (StatsD, Prometheus, OpenTelemetry) behind ``core.metrics``, the
settings that choose them (``setup.py``), and traces (``tracing.py``, extra ``otel``)."""
