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

import bisect
import math
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
        if kind == "timer":
            spec = CATALOG.get(name)
            labels = spec.tags if spec is not None else tuple(sorted(tags or {}))
            doc = spec.help if spec is not None else name
            values = tuple(str((tags or {}).get(k, "")) for k in labels)
            return LazyHistogram(prometheus_name(self.prefix, name), labels, values, doc)
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
        from prometheus_client import Counter, Gauge

        spec = CATALOG.get(name)
        labels = spec.tags if spec is not None else tuple(sorted(tags or {}))
        full = prometheus_name(self.prefix, name)
        doc = spec.help if spec is not None else name
        common: dict[str, Any] = {"labelnames": labels, "registry": self.registry}
        if kind == "counter":
            metric: Any = Counter(full, doc, **common)
        else:
            metric = Gauge(full, doc, multiprocess_mode="mostrecent", **common)
        self._metrics[name] = (metric, labels)
        return metric, labels

    def counter(self, name: str, value: float, tags: Tags | None) -> None:
        self._metric("counter", name, tags).inc(value)

    def gauge(self, name: str, value: float, tags: Tags | None) -> None:
        self._metric("gauge", name, tags).set(value)

    def timer(self, name: str, seconds: float, tags: Tags | None) -> None:
        self._metric("timer", name, tags).observe(seconds)


class LazyHistogram:
    """One labelled histogram in prometheus-client's multiprocess files, whose bucket values
    are created when first observed.

    prometheus-client's own ``Histogram.labels(...)`` creates all 18 bucket values of a new
    series at once (~140 microseconds, against ~12 for a counter), and every task instance of
    a new task is a new ``task.duration`` series; most of those buckets stay zero. The files
    hold the same keys prometheus-client writes, so a scrape reads them alike, and
    :func:`scrape` adds the buckets never written, so every series shows all of
    :data:`BUCKETS`.
    """

    __slots__ = ("_buckets", "_key", "_sum")

    def __init__(self, name: str, labels: tuple[str, ...], values: tuple[str, ...], doc: str):
        from prometheus_client import values as prom_values

        self._key = (name, (*labels, "le"), values, doc)
        self._sum = prom_values.ValueClass("histogram", name, name + "_sum", labels, values, doc)
        self._buckets: list[Any] = [None] * len(_UPPER)

    def observe(self, amount: float) -> None:
        self._sum.inc(amount)
        i = bisect.bisect_left(_UPPER, amount)  # the first bound >= amount
        bucket = self._buckets[i]
        if bucket is None:
            from prometheus_client import values as prom_values
            from prometheus_client.utils import floatToGoString

            name, labels, values, doc = self._key
            bucket = self._buckets[i] = prom_values.ValueClass(
                "histogram",
                name,
                name + "_bucket",
                labels,
                (*values, floatToGoString(_UPPER[i])),  # type: ignore[no-untyped-call]
                doc,
            )
        bucket.inc(1)


_UPPER = (*(float(b) for b in BUCKETS), math.inf)


def _fill_buckets(metric: Any) -> None:
    """Give every series of a merged histogram all of :data:`BUCKETS` (a bucket never
    written holds the cumulative count of the one below it), in order."""
    from prometheus_client.samples import Sample
    from prometheus_client.utils import floatToGoString

    groups: dict[tuple[tuple[str, str], ...], dict[float, float]] = {}
    others = []
    for sample in metric.samples:
        if sample.name.endswith("_bucket") and "le" in sample.labels:
            key = tuple(sorted((k, v) for k, v in sample.labels.items() if k != "le"))
            groups.setdefault(key, {})[float(sample.labels["le"])] = sample.value
        else:
            others.append(sample)
    filled = []
    for key, got in groups.items():
        acc = 0.0
        for bound in sorted(set(_UPPER) | set(got)):
            acc = got.get(bound, acc)
            labels = {**dict(key), "le": floatToGoString(bound)}  # type: ignore[no-untyped-call]
            filled.append(Sample(metric.name + "_bucket", labels, acc))
    metric.samples = filled + others


class _FilesCollector:
    """Every process's values under ``path``, merged as prometheus-client does."""

    def __init__(self, path: Path):
        self.path = path

    def collect(self) -> Any:
        from prometheus_client.multiprocess import MultiProcessCollector

        files = [str(f) for f in self.path.glob("*.db")]
        for metric in MultiProcessCollector.merge(files, accumulate=True):  # type: ignore[no-untyped-call]
            if metric.type == "histogram":
                _fill_buckets(metric)
            yield metric


def scrape(path: Path) -> bytes:
    """The text exposition of every process's values under ``path`` (for ``/metrics``)."""
    from prometheus_client import CollectorRegistry, generate_latest

    registry = CollectorRegistry(auto_describe=False)
    if path.is_dir():
        registry.register(_FilesCollector(path))
    return bytes(generate_latest(registry))
