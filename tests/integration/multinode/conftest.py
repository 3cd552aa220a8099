"""Fixtures of the multi-node tests: a fresh PostgreSQL database and a cluster per test."""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from mn_cluster import Cluster, OwnRedis, postgres_database, reachable  # noqa: E402

SERVERS = {
    "postgres": ("PostgreSQL", 5432),
    "redis": ("Redis", 6379),
    "rabbitmq": ("RabbitMQ", 5672),
}


def need(*names: str) -> None:
    """Skip (or fail under CI=true) when a server the test needs is not reachable."""
    for name in names:
        label, port = SERVERS[name]
        if not reachable(port):
            message = f"{label} not reachable at 127.0.0.1:{port}"
            if os.environ.get("CI") == "true":
                pytest.fail(message)
            pytest.skip(message)


def redis_url() -> str:
    return "redis://127.0.0.1:6379/0"


def rabbitmq_url() -> str:
    return "amqp://guest:guest@127.0.0.1:5672//"


@pytest.fixture
def make_cluster(tmp_path: Path) -> Iterator[Callable[..., Cluster]]:
    """Build clusters on a fresh PostgreSQL database each; stop their processes afterwards."""
    need("postgres")
    made: list[Cluster] = []
    with postgres_database() as url:

        def factory(broker: str = "redis", broker_url: str = "", **kwargs: object) -> Cluster:
            if not broker_url:
                need(broker)
                broker_url = redis_url() if broker == "redis" else rabbitmq_url()
            prefix = f"tw_mn_{secrets.token_hex(4)}:"
            cluster = Cluster(
                tmp_path / f"c{len(made)}", url, broker_url, key_prefix=prefix, **kwargs
            )  # type: ignore[arg-type]
            made.append(cluster)
            return cluster

        try:
            yield factory
        finally:
            for c in made:
                c.close()
                if c.broker_url.startswith("amqp"):
                    _delete_rabbitmq_queues(c.broker_url, c.key_prefix, c.queues)


def _delete_rabbitmq_queues(url: str, prefix: str, queues: set[str]) -> None:
    """Leave no queue of a test behind on the shared RabbitMQ (names start with the prefix)."""
    import contextlib

    from kombu import Connection

    with contextlib.suppress(Exception), Connection(url, connect_timeout=5) as conn:
        channel = conn.default_channel
        for name in {"default", *queues}:
            channel.queue_delete(prefix + name)
            channel.exchange_delete(prefix + name)


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    """A private Redis on a free port that the test may kill and restart."""
    server = OwnRedis(tmp_path)
    try:
        server.start()
    except FileNotFoundError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(str(exc))
        pytest.skip(str(exc))
    try:
        yield server
    finally:
        server.stop()
