"""StatsD over UDP: the line protocol is one datagram per metric (``name:value|type``), small
enough to write here rather than depend on an unmaintained client.

Plain StatsD has no tags, so the metric's legacy name carries them
(``dagrun.duration.success.<dag_id>``, see ``core/metric_names.py``); with
``statsd_datadog_enabled`` the base name is sent with DogStatsD tags (``|#dag_id:x``).
"""

from __future__ import annotations

import re
import socket

from tradewind.core.metric_names import CATALOG
from tradewind.core.metrics import MetricsBackend, Tags

_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-]")


def _safe(value: str) -> str:
    """A tag value fit for a StatsD name (no ``:``, ``|``, ``@``, spaces)."""
    return _UNSAFE.sub("_", str(value))


def legacy_name(name: str, tags: Tags | None) -> str:
    """The Airflow-style name with tag values embedded (``pool.open_slots.default_pool``)."""
    spec = CATALOG.get(name)
    if spec is None or spec.legacy == name or not tags:
        return name
    try:
        return spec.legacy.format(**{k: _safe(v) for k, v in tags.items()})
    except KeyError:
        return name


class StatsdBackend(MetricsBackend):
    """Sends each metric as one UDP datagram; never blocks and never raises on send."""

    enabled = True

    def __init__(self, host: str, port: int, prefix: str = "tradewind", tags: bool = False):
        family, _, _, _, addr = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
        self.addr = addr
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.sock.setblocking(False)
        self.prefix = f"{prefix}." if prefix else ""
        self.tags = tags
        self._names: dict[tuple[str, tuple[tuple[str, str], ...]], str] = {}

    def _line(self, name: str, value: str, kind: str, tags: Tags | None) -> bytes:
        if self.tags:
            suffix = "|#" + ",".join(f"{k}:{_safe(v)}" for k, v in tags.items()) if tags else ""
            return f"{self.prefix}{name}:{value}|{kind}{suffix}".encode()
        key = (name, tuple(tags.items()) if tags else ())
        full = self._names.get(key)
        if full is None:
            full = self.prefix + legacy_name(name, tags)
            if len(self._names) < 10000:
                self._names[key] = full
        return f"{full}:{value}|{kind}".encode()

    def _send(self, line: bytes) -> None:
        try:
            self.sock.sendto(line, self.addr)
        except OSError:
            pass  # metrics must never break the work they describe

    def counter(self, name: str, value: float, tags: Tags | None) -> None:
        self._send(self._line(name, f"{value:g}", "c", tags))

    def gauge(self, name: str, value: float, tags: Tags | None) -> None:
        self._send(self._line(name, f"{value:g}", "g", tags))

    def timer(self, name: str, seconds: float, tags: Tags | None) -> None:
        self._send(self._line(name, f"{seconds * 1000:.3f}", "ms", tags))

    def close(self) -> None:
        self.sock.close()
