"""StatsD over UDP: the line protocol (``name:value|type``), small enough to write here
rather than depend on an unmaintained client. Lines are packed, newline-separated, into
datagrams of at most :data:`MAX_PACKET` bytes (as the ``statsd`` package's pipelines and
DogStatsD clients do; StatsD, statsd_exporter and the Datadog agent all split on newlines),
sent on :meth:`StatsdBackend.flush` (``core.metrics.Buffered`` calls it a few times a second).

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
# The largest payload that crosses an Ethernet link (MTU 1500) in one piece, as DogStatsD
# clients use; StatsD servers read datagrams of at least this size.
MAX_PACKET = 1432


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
    """Packs lines into UDP datagrams, sent on :meth:`flush` (or when one is full); never
    blocks and never raises on send."""

    enabled = True

    def __init__(self, host: str, port: int, prefix: str = "tradewind", tags: bool = False):
        family, _, _, _, addr = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
        self.addr = addr
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.sock.setblocking(False)
        self.prefix = f"{prefix}." if prefix else ""
        self.tags = tags
        # (name, tags) -> (text before the value, text after the kind): built once per series
        self._parts: dict[tuple[str, tuple[tuple[str, str], ...]], tuple[str, str]] = {}
        self._lines: list[bytes] = []
        self._size = 0

    def _build(self, name: str, tags: Tags | None) -> tuple[str, str]:
        if self.tags:
            suffix = "|#" + ",".join(f"{k}:{_safe(v)}" for k, v in tags.items()) if tags else ""
            return self.prefix + name, suffix
        return self.prefix + legacy_name(name, tags), ""

    def _line(self, name: str, value: str, kind: str, tags: Tags | None) -> bytes:
        key = (name, tuple(tags.items()) if tags else ())
        parts = self._parts.get(key)
        if parts is None:
            parts = self._build(name, tags)
            if len(self._parts) < 10000:
                self._parts[key] = parts
        return f"{parts[0]}:{value}|{kind}{parts[1]}".encode()

    def _send(self, line: bytes) -> None:
        if self._size + len(line) > MAX_PACKET and self._lines:
            self.flush()
        self._lines.append(line)
        self._size += len(line) + 1

    def flush(self) -> None:
        if not self._lines:
            return
        packet = b"\n".join(self._lines)
        self._lines, self._size = [], 0
        try:
            self.sock.sendto(packet, self.addr)
        except OSError:
            pass  # metrics must never break the work they describe

    def counter(self, name: str, value: float, tags: Tags | None) -> None:
        self._send(self._line(name, f"{value:g}", "c", tags))

    def gauge(self, name: str, value: float, tags: Tags | None) -> None:
        self._send(self._line(name, f"{value:g}", "g", tags))

    def timer(self, name: str, seconds: float, tags: Tags | None) -> None:
        self._send(self._line(name, f"{seconds * 1000:.3f}", "ms", tags))

    def close(self) -> None:
        self.flush()
        self.sock.close()
