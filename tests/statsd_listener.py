"""A real StatsD listener on loopback UDP for tests: collects and parses the lines it gets."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Line:
    """One StatsD line: ``name:value|kind`` with optional DogStatsD ``|#k:v`` tags."""

    name: str
    value: float
    kind: str
    tags: dict[str, str]

    @classmethod
    def parse(cls, text: str) -> Line:
        name, rest = text.split(":", 1)
        parts = rest.split("|")
        tags: dict[str, str] = {}
        for p in parts[2:]:
            if p.startswith("#"):
                tags = dict(t.split(":", 1) for t in p[1:].split(",") if t)
        return cls(name, float(parts[0]), parts[1], tags)


class StatsdListener:
    """Binds 127.0.0.1 on a free port and gathers datagrams in a thread until closed."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.lines: list[Line] = []
        self.datagrams: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(65536)
            except OSError:
                continue
            self.datagrams.append(data)
            for text in data.decode().splitlines():
                if text:
                    self.lines.append(Line.parse(text))

    def named(self, name: str) -> list[Line]:
        return [line for line in list(self.lines) if line.name == name]

    def wait_for(self, name: str, timeout: float = 60.0) -> list[Line]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.named(name)
            if found:
                return found
            time.sleep(0.05)
        got = sorted({line.name for line in self.lines})
        raise AssertionError(f"no StatsD line {name!r} within {timeout} s; got {got}")

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()
