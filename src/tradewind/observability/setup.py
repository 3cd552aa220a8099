"""Choose the metrics back ends from ``[metrics]`` settings (names as Airflow's) and install
them in this process; each component calls :func:`setup_observability` once at start."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tradewind.core import metrics
from tradewind.core.metrics import Buffered, Fanout, Filtered, MetricsBackend
from tradewind.settings import Settings


def _list(value: object) -> list[str]:
    if isinstance(value, (list, tuple)):
        return [str(v).strip() for v in value if str(v).strip()]
    return [v.strip() for v in str(value or "").split(",") if v.strip()]


def build_backend(settings: Settings, relay: bool = False) -> MetricsBackend | None:
    """The back ends ``[metrics]`` turns on, filtered by the allow/block lists, behind one
    :class:`Buffered` (callers only append; a thread sends); None if none. With ``relay``
    (the scheduler, the busiest emitter) StatsD and Prometheus are recorded by a helper
    process (``observability/relay.py``) unless ``[metrics] relay_on`` is false."""
    g = settings.get
    allow, block = (
        _list(g("metrics", "metrics_allow_list")),
        _list(g("metrics", "metrics_block_list")),
    )
    spec: dict[str, Any] = {}
    if g("metrics", "statsd_on"):
        spec["statsd"] = {
            "host": str(g("metrics", "statsd_host")),
            "port": int(g("metrics", "statsd_port")),
            "prefix": str(g("metrics", "statsd_prefix")),
            "tags": bool(g("metrics", "statsd_datadog_enabled")),
        }
    if g("metrics", "prometheus_on"):
        spec["prometheus"] = {
            "dir": str(prometheus_dir(settings)),
            "prefix": str(g("metrics", "prometheus_prefix")),
        }
    found: list[MetricsBackend] = []
    if spec:
        from tradewind.observability.relay import RelayBackend, build_inner

        if relay and g("metrics", "relay_on"):
            if "prometheus" in spec:  # this component's start removes the files of the dead
                from tradewind.observability.prometheus import use_multiprocess_dir

                use_multiprocess_dir(prometheus_dir(settings))
            helper = RelayBackend({**spec, "allow": allow, "block": block})
            helper.start()
            found.append(helper)
        else:
            found.append(build_inner({**spec, "allow": allow, "block": block}))
    if g("metrics", "otel_on"):
        from tradewind.observability.otel_metrics import OtelMetricsBackend, otlp_endpoint

        otel: MetricsBackend = OtelMetricsBackend(
            prefix=str(g("metrics", "otel_prefix")),
            endpoint=otlp_endpoint(
                str(g("metrics", "otel_host")),
                int(g("metrics", "otel_port")),
                bool(g("metrics", "otel_ssl_active")),
                "/v1/metrics",
            ),
            interval_ms=int(g("metrics", "otel_interval_milliseconds")),
        )
        found.append(Filtered(otel, allow, block) if (allow or block) else otel)
    if not found:
        return None
    return Buffered(found[0] if len(found) == 1 else Fanout(found))


def prometheus_dir(settings: Settings) -> Path:
    """Where every process of this installation writes its Prometheus values."""
    return Path(str(settings.get("metrics", "prometheus_multiproc_dir"))).expanduser()


_installed_by: list[int] = []  # the pid that built the installed back end


def setup_observability(settings: Settings, relay: bool = False) -> MetricsBackend:
    """Install the configured metrics back ends in this process (replacing any earlier ones)
    and turn traces on if ``[traces] otel_on``.

    A forked child (the DAG processor under the scheduler) builds its own: it does not close
    what it inherited, which belongs to the parent (exporter threads do not survive a fork).
    """
    new = build_backend(settings, relay)
    old = metrics.configure(new)
    if old.enabled and _installed_by == [os.getpid()]:
        old.close()
    _installed_by[:] = [os.getpid()]
    from tradewind.observability.tracing import setup_tracing

    setup_tracing(settings)
    return metrics.backend()
