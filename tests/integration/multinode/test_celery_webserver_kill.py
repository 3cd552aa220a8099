"""The webserver (the Celery workers' execution API) killed with -9 mid-run and started again:
every task still succeeds exactly once (issue #10's chaos, for the HTTP path)."""

from __future__ import annotations

import time
from collections import Counter
from datetime import datetime, timezone

import pytest
from mn_cluster import reachable
from mn_dags import fan_dag, read_marks
from test_celery_failures import _wait_state

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

OUTAGE_S = 3.0  # longer than a task (1.5 s): tries that run at the kill report after it


def test_webserver_killed_mid_run_loses_and_doubles_no_task(make_cluster, tmp_path):
    cluster = make_cluster("redis", heartbeat_timeout=60.0)  # the outage is no lost heartbeat
    out = str(tmp_path / "marks.txt")
    cluster.add_dag("fan.py", fan_dag("fan", out, n=10, sleep=1.5))
    cluster.parse()
    webserver = cluster.start_webserver()
    cluster.start_worker("w", concurrency=4)
    cluster.start_scheduler()
    runs = ["r1", "r2"]
    for r in runs:
        cluster.trigger("fan", r)
    _wait_state(cluster, "fan", "r1", "t01", "running", timeout=60)
    killed_at = datetime.now(timezone.utc)
    webserver.kill9()
    assert not reachable(cluster.api_port)
    time.sleep(OUTAGE_S)  # tries end, messages are delivered: their calls retry meanwhile
    cluster.start_webserver()
    back_at = datetime.now(timezone.utc)

    states = cluster.wait_runs(runs, timeout=120)
    assert states == {"r1": "success", "r2": "success"}, cluster.tails()
    counts = Counter((m[0], m[1]) for m in read_marks(out))
    expected = {(r, f"t{i:02d}") for r in runs for i in range(10)}
    assert set(counts) == expected, f"missing: {sorted(expected - set(counts))}"
    assert [k for k, n in counts.items() if n != 1] == [], "a task ran twice"
    tis = [t for r in runs for t in cluster.ti_rows("fan", r)]
    retried = [(t.run_id, t.task_id, t.try_number) for t in tis if t.try_number != 1]
    assert retried == [], f"tries lost or retried: {retried}\n{cluster.tails()}"
    # The outage was real for the tasks: a try claimed before the kill reported after it.
    spanned = [t.task_id for t in tis if t.start_date < killed_at and t.end_date > back_at]
    assert spanned, "no try ran across the outage"
