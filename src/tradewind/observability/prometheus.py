"""Prometheus: each process records into prometheus-client's multiprocess files, and the web
server's ``/metrics`` adds up the files of every process (scheduler, DAG processor,
triggerer, web server) that share ``[metrics] prometheus_multiproc_dir`` on this host.

Names are ``<prefix>_<name with dots as underscores>`` with the metric's tags as labels;
timers are histograms in seconds, gauges report the most recent value of any process.

Each process writes files named after its pid (``counter_<pid>.db``...), and prometheus-client
never removes them: a component removes at start the files of processes that are gone
(:func:`remove_dead_files`), so restarts neither pile files up nor keep stale gauges.
"""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path
from typing import Any

from tradewind.core.metric_names import CATALOG
from tradewind.core.metrics import MetricsBackend, Tags

# From 1 ms (a hop between tasks) to 10 minutes (a long task or run).
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 600)


def prometheus_name(prefix: str, name: str) -> str:
    """``tradewind_dagrun_duration_success`` for ``dagrun.duration.success``."""
    base = name.replace(".", "_").replace("-", "_")
    return f"{prefix}_{base}" if prefix else base


_FILE_PID = re.compile(r"_(\d+)\.db$")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def remove_dead_files(path: Path) -> list[Path]:
    """Remove the value files of processes that no longer run; return them.

    Counters of a process that ended leave the sum (Prometheus's ``rate()`` takes the drop
    as a reset), and its gauges stop being reported. This process's own files are kept.
    """
    removed = []
    for f in path.glob("*.db"):
        m = _FILE_PID.search(f.name)
        if m is None:
            continue
        pid = int(m.group(1))
        if pid != os.getpid() and not _alive(pid):
            try:
                f.unlink()
            except FileNotFoundError:
                continue  # another component starting at the same time removed it
            removed.append(f)
    return removed


def use_multiprocess_dir(path: Path) -> None:
    """Make prometheus-client in this process write its values under ``path``, after
    removing the files of processes that are gone.

    prometheus-client picks its value store at import from ``PROMETHEUS_MULTIPROC_DIR``;
    setting it later needs the store chosen again, which is what this does.
    """
    path.mkdir(parents=True, exist_ok=True)
    remove_dead_files(path)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(path)
    from prometheus_client import values

    values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]


class PrometheusBackend(MetricsBackend):
    """Creates each metric on first use, with the catalog's tags as label names; keeps each
    labelled child, so a value costs a dict look-up and prometheus-client's file write."""

    enabled = True

    def __init__(self, prefix: str = "tradewind"):
        from prometheus_client import CollectorRegistry

        self.prefix = prefix
        # Multiprocess values are read from the files, not from a registry: this one only
        # keeps the metric objects from clashing with other code's default registry.
        self.registry = CollectorRegistry(auto_describe=False)
        self._metrics: dict[str, tuple[Any, tuple[str, ...]]] = {}
        self._children: dict[tuple[str, tuple[tuple[str, str], ...]], Any] = {}
        self._lock = threading.Lock()

    def _metric(self, kind: str, name: str, tags: Tags | None) -> Any:
        key = (name, tuple(tags.items()) if tags else ())
        child = self._children.get(key)
        if child is None:
            child = self._child(kind, name, tags)
            if len(self._children) < 10000:
                self._children[key] = child
        return child

    def _child(self, kind: str, name: str, tags: Tags | None) -> Any:
        found = self._metrics.get(name)
        if found is None:
            with self._lock:
                found = self._metrics.get(name) or self._create(kind, name, tags)
        metric, labels = found
        if not labels:
            return metric
        tags = tags or {}
        return metric.labels(*(str(tags.get(k, "")) for k in labels))

    def _create(self, kind: str, name: str, tags: Tags | None) -> tuple[Any, tuple[str, ...]]:
        from prometheus_client import Counter, Gauge, Histogram

        spec = CATALOG.get(name)
        labels = spec.tags if spec is not None else tuple(sorted(tags or {}))
        full = prometheus_name(self.prefix, name)
        doc = spec.help if spec is not None else name
        common: dict[str, Any] = {"labelnames": labels, "registry": self.registry}
        if kind == "counter":
            metric: Any = Counter(full, doc, **common)
        elif kind == "gauge":
            metric = Gauge(full, doc, multiprocess_mode="mostrecent", **common)
        else:
            metric = Histogram(full, doc, buckets=BUCKETS, **common)
        self._metrics[name] = (metric, labels)
        return metric, labels

    def counter(self, name: str, value: float, tags: Tags | None) -> None:
        self._metric("counter", name, tags).inc(value)

    def gauge(self, name: str, value: float, tags: Tags | None) -> None:
        self._metric("gauge", name, tags).set(value)

    def timer(self, name: str, seconds: float, tags: Tags | None) -> None:
        self._metric("timer", name, tags).observe(seconds)


def scrape(path: Path) -> bytes:
    """The text exposition of every process's values under ``path`` (for ``/metrics``)."""
    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry(auto_describe=False)
    if path.is_dir():
        MultiProcessCollector(registry, path=str(path))  # type: ignore[no-untyped-call]
    return bytes(generate_latest(registry))
