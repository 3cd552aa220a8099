"""Two schedulers and three workers share 50 runs of a 20-task DAG: each task runs exactly once."""

from __future__ import annotations

from collections import Counter

import pytest
from mn_dags import fan_dag, read_marks

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]


def test_fifty_runs_two_schedulers_three_workers_every_task_once(make_cluster, tmp_path):
    cluster = make_cluster("redis")
    out = str(tmp_path / "marks.txt")
    cluster.add_dag("fan.py", fan_dag("fan", out, n=20))
    cluster.parse()
    cluster.start_webserver()
    for i in range(3):
        cluster.start_worker(f"w{i}", concurrency=4)
    cluster.start_scheduler("s1")
    cluster.start_scheduler("s2")
    runs = [f"r{i:02d}" for i in range(50)]
    for r in runs:
        cluster.trigger("fan", r)
    states = cluster.wait_runs(runs, timeout=240)
    assert set(states.values()) == {"success"}
    counts = Counter((m[0], m[1]) for m in read_marks(out))
    expected = {(r, f"t{i:02d}") for r in runs for i in range(20)}
    assert set(counts) == expected, f"missing: {sorted(expected - set(counts))[:5]}"
    assert [k for k, n in counts.items() if n != 1] == []
    both = {p.name for p in cluster.procs if p.name.startswith("w") and "running fan." in p.text()}
    assert len(both) >= 2  # the work was spread over workers
