"""A DAG run end to end through Celery: PostgreSQL, webserver, scheduler, worker processes."""

from __future__ import annotations

from pathlib import Path

import pytest
from mn_dags import fan_dag, read_marks

pytestmark = [pytest.mark.postgres]


def _ends_with_logs(cluster, dag_id: str, run_id: str) -> None:
    """Each try's log reached the webserver's log folder (uploaded by the remote worker)."""
    from tradewind.core.log_files import log_path
    from tradewind.services.task_logs import read_log_lines

    for ti in cluster.ti_rows(dag_id, run_id):
        path = log_path(
            cluster.settings.log_folder, dag_id, run_id, ti.task_id, ti.try_number, ti.map_index
        )
        events = [str(line["event"]) for line in read_log_lines(Path(path))]
        assert any("succeeded" in e for e in events), (ti.task_id, events)


@pytest.mark.redis
@pytest.mark.parametrize("broker", ["redis", pytest.param("rabbitmq", marks=pytest.mark.rabbitmq)])
def test_dag_run_through_celery_succeeds(make_cluster, tmp_path, broker):
    queue = f"q_{tmp_path.name[-12:]}".replace("-", "_")
    cluster = make_cluster(broker)
    out = str(tmp_path / "marks.txt")
    cluster.add_dag("fan.py", fan_dag("fan", out, n=6, queue=queue))
    cluster.parse()
    cluster.start_webserver()
    worker = cluster.start_worker("w1", queues=queue, concurrency=2)
    cluster.start_scheduler()
    cluster.trigger("fan", "r1")
    assert cluster.wait_runs(["r1"], timeout=60) == {"r1": "success"}
    marks = read_marks(out)
    assert sorted(m[1] for m in marks) == [f"t{i:02d}" for i in range(6)]
    assert {ti.state for ti in cluster.ti_rows("fan", "r1")} == {"success"}
    assert all(ti.hostname for ti in cluster.ti_rows("fan", "r1"))
    env = Path(f"/proc/{worker.pid}/environ").read_bytes().split(b"\0")
    assert not [e for e in env if b"SQL_ALCHEMY" in e or b"DATABASE" in e]
    _ends_with_logs(cluster, "fan", "r1")
