"""A Redis broker that crashes and comes back mid-run: every run still ends in success."""

from __future__ import annotations

import time

import pytest
from mn_dags import chain_dag, read_marks
from test_celery_failures import _wait_state

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

QUEUED_TIMEOUT = 4.0
HEARTBEAT_TIMEOUT = 5.0


def test_redis_restart_mid_run_loses_no_task(make_cluster, own_redis, tmp_path):
    cluster = make_cluster(
        broker_url=own_redis.url,
        heartbeat_timeout=HEARTBEAT_TIMEOUT,
        extra_env={"TRADEWIND__SCHEDULER__TASK_QUEUED_TIMEOUT": str(QUEUED_TIMEOUT)},
    )
    out = str(tmp_path / "marks.txt")
    cluster.add_dag("chain.py", chain_dag("chain", out, n=8, retries=1, sleep=2.0))
    cluster.parse()
    cluster.start_webserver()
    cluster.start_worker("w", concurrency=2)
    scheduler = cluster.start_scheduler()
    runs = ["r1", "r2", "r3"]  # one more than the worker runs at once: a message waits in Redis
    for r in runs:
        cluster.trigger("chain", r)
    _wait_state(cluster, "chain", "r1", "t04", "running")
    own_redis.stop()  # queued messages, unacked ones included, are gone with it
    time.sleep(2.5)  # t04 ends meanwhile: its downstream cannot reach the broker
    own_redis.start()
    restarted = time.monotonic()
    states = cluster.wait_runs(runs, timeout=90)
    took = time.monotonic() - restarted
    print(f"all runs done {took:.1f} s after Redis came back")
    assert set(states.values()) == {"success"}, cluster.tails()
    assert "could not send" in scheduler.text()  # the outage was seen, and outlived
    # The lost messages wait for task_queued_timeout, then go again; the worker reconnects
    # with backoff; the rest of the chain then runs. Slack for a busy 2-core machine.
    assert took < HEARTBEAT_TIMEOUT + QUEUED_TIMEOUT + 30, took
    marks = read_marks(out)
    done = {(m[0], m[1]) for m in marks}
    assert done == {(r, f"t{i:02d}") for r in runs for i in range(8)}
    assert len(marks) == len(done), "a task ran twice"
