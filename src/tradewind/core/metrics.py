"""The metrics seam: counters, gauges and timers with tags, sent to whatever back ends the
settings chose (StatsD, Prometheus, OpenTelemetry), or nowhere.

Call sites use the module functions (``metrics.incr("ti_successes", tags={...})``); they go
to one process-wide :class:`MetricsBackend`, a no-op until ``configure`` installs a real one
(``tradewind.observability.setup`` does, from ``[metrics]`` settings, at component start).
Off, a call costs one function call and one attribute look-up; code that would compute tags
or values only for metrics asks :func:`enabled` first.

Names are Airflow's (``dagrun.duration.success``) and tags carry the variable parts
(``dag_id``); ``core/metric_names.py`` lists every metric Tradewind emits, with the legacy
StatsD name that embeds those parts (``dagrun.duration.success.<dag_id>``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

Tags = Mapping[str, str]


class MetricsBackend:
    """Where metrics go; this base class drops them (the default when metrics are off)."""

    enabled = False

    def counter(self, name: str, value: float, tags: Tags | None) -> None:
        """Add ``value`` to a counter."""

    def gauge(self, name: str, value: float, tags: Tags | None) -> None:
        """Set a gauge to ``value``."""

    def timer(self, name: str, seconds: float, tags: Tags | None) -> None:
        """Record one duration (a timer in StatsD, a histogram elsewhere)."""

    def close(self) -> None:
        """Flush and release what the back end holds (sockets, exporter threads)."""


class Fanout(MetricsBackend):
    """Several back ends at once (StatsD and Prometheus, say)."""

    enabled = True

    def __init__(self, backends: Sequence[MetricsBackend]):
        self.backends = list(backends)

    def counter(self, name: str, value: float, tags: Tags | None) -> None:
        for b in self.backends:
            b.counter(name, value, tags)

    def gauge(self, name: str, value: float, tags: Tags | None) -> None:
        for b in self.backends:
            b.gauge(name, value, tags)

    def timer(self, name: str, seconds: float, tags: Tags | None) -> None:
        for b in self.backends:
            b.timer(name, seconds, tags)

    def close(self) -> None:
        for b in self.backends:
            b.close()


class Filtered(MetricsBackend):
    """Pass on only the metrics ``metrics_allow_list`` / ``metrics_block_list`` let through.

    Both are name prefixes, as Airflow's: with an allow list only names starting with one of
    its entries are sent; a name starting with a block-list entry is never sent. The verdict
    is cached per name, so filtering costs a dict look-up.
    """

    enabled = True

    def __init__(self, inner: MetricsBackend, allow: Sequence[str] = (), block: Sequence[str] = ()):
        self.inner = inner
        self.allow = tuple(a for a in allow if a)
        self.block = tuple(b for b in block if b)
        self._verdict: dict[str, bool] = {}

    def passes(self, name: str) -> bool:
        """Whether ``name`` is sent."""
        ok = self._verdict.get(name)
        if ok is None:
            ok = (not self.allow or name.startswith(self.allow)) and not (
                self.block and name.startswith(self.block)
            )
            self._verdict[name] = ok
        return ok

    def counter(self, name: str, value: float, tags: Tags | None) -> None:
        if self.passes(name):
            self.inner.counter(name, value, tags)

    def gauge(self, name: str, value: float, tags: Tags | None) -> None:
        if self.passes(name):
            self.inner.gauge(name, value, tags)

    def timer(self, name: str, seconds: float, tags: Tags | None) -> None:
        if self.passes(name):
            self.inner.timer(name, seconds, tags)

    def close(self) -> None:
        self.inner.close()


class Recorder(MetricsBackend):
    """Keeps every metric in memory: for tests and ``dags test``-style tools."""

    enabled = True

    def __init__(self) -> None:
        self.records: list[tuple[str, str, float, dict[str, str]]] = []

    def counter(self, name: str, value: float, tags: Tags | None) -> None:
        self.records.append(("counter", name, value, dict(tags or {})))

    def gauge(self, name: str, value: float, tags: Tags | None) -> None:
        self.records.append(("gauge", name, value, dict(tags or {})))

    def timer(self, name: str, seconds: float, tags: Tags | None) -> None:
        self.records.append(("timer", name, seconds, dict(tags or {})))

    def named(self, name: str) -> list[tuple[str, str, float, dict[str, str]]]:
        """The records of one metric name."""
        return [r for r in self.records if r[1] == name]


_NOOP = MetricsBackend()
_backend: MetricsBackend = _NOOP


def configure(backend: MetricsBackend | None) -> MetricsBackend:
    """Install ``backend`` for this process (None: metrics off); return the previous one."""
    global _backend
    previous = _backend
    _backend = backend if backend is not None else _NOOP
    return previous


def backend() -> MetricsBackend:
    """The back end in use."""
    return _backend


def enabled() -> bool:
    """Whether any back end is on (to skip work done only for metrics)."""
    return _backend.enabled


def incr(name: str, count: float = 1, tags: Tags | None = None) -> None:
    """Add ``count`` to the counter ``name``."""
    _backend.counter(name, count, tags)


def gauge(name: str, value: float, tags: Tags | None = None) -> None:
    """Set the gauge ``name``."""
    _backend.gauge(name, value, tags)


def timing(name: str, seconds: float, tags: Tags | None = None) -> None:
    """Record a duration in seconds (StatsD receives milliseconds, as Airflow sends)."""
    _backend.timer(name, seconds, tags)


@contextmanager
def timer(name: str, tags: Tags | None = None) -> Iterator[None]:
    """Time the ``with`` block into ``name``."""
    if not _backend.enabled:
        yield
        return
    start = time.perf_counter()
    try:
        yield
    finally:
        _backend.timer(name, time.perf_counter() - start, tags)
