"""Issue 18 (gap): a deferred task resumes with the same try number, in a new *leg*; the token
of the leg before the deferral is refused while the resumed leg runs (401 for reads and
writes, 409 for claim, finish and defer), and the resumed leg's own token works. Through the
real HTTP execution API, the real trigger firing and the scheduler's real queueing, on SQLite
and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from tradewind.core.execution import Workload

VAR = {"key": "api_key"}
TRIGGER = {
    "classpath": "tradewind.triggerer.triggers.TimeDeltaTrigger",
    "kwargs": {"delta": 0},
    "method_name": "execute_complete",
}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def leg_site(request: pytest.FixtureRequest, home: Path) -> Iterator[Any]:
    """The security site on SQLite (the template home) or on a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield request.getfixturevalue("site")
        return
    from tests.integration.scheduler.conftest import _pg_database
    from tests.security.conftest import Site

    from tradewind.api.app import create_app
    from tradewind.dag_processing.processor import DagProcessor
    from tradewind.services.env import Env
    from tradewind.settings import load_settings

    databases = _pg_database()
    url = next(databases)
    settings = load_settings(home, environ={"TRADEWIND__DATABASE__SQL_ALCHEMY_CONN": url})
    env = Env.from_settings(settings, wake=lambda *_: None)
    env.db.migrate()
    DagProcessor(env.settings, env.db).run_once(force=True)
    try:
        from fastapi.testclient import TestClient

        with TestClient(create_app(env), base_url="http://127.0.0.1") as client:
            yield Site(env, client)
    finally:
        env.db.engine.dispose()
        databases.close()  # drops the database


def call(site: Any, w: Workload, method: str, body: Any, token: str | None = None) -> Any:
    return site.client.post(
        f"/execution/task-instances/{w.ti_id}/{method}",
        json=body,
        headers={"Authorization": f"Bearer {token or w.token}"},
    )


def _resume(site: Any, first: Workload) -> Workload:
    """Fire the deferred task's trigger and queue it again as the scheduler does."""
    from tradewind.metastore.tables import TaskInstance
    from tradewind.services.queueing import DurationEstimates, ensure_default_pool, queue_ready
    from tradewind.services.scheduling import DagCache
    from tradewind.services.triggers import fire_triggers

    with site.env.db.session() as s:
        trigger_id = s.get(TaskInstance, first.ti_id).trigger_id
        assert fire_triggers(s, {trigger_id: {"fired": True}}, site.env.now()) == 1
    with site.env.db.session() as s:
        ensure_default_pool(s)
    with site.env.db.session() as s:
        queued = queue_ready(
            s,
            now=site.env.now(),
            free_executor_slots=4,
            secret=site.env.secret_key,
            cache=DagCache(),
            estimates=DurationEstimates(),
            job_id=None,
            token_ttl=3600.0,
        )
    assert [w.ti_id for w in queued] == [first.ti_id]
    return queued[0]


def test_the_token_of_the_leg_before_a_deferral_is_refused_after_the_resume(
    leg_site: Any,
) -> None:
    from tradewind.services.testing import make_test_run, queue_single_task
    from tradewind.services.variables import set_variable

    site = leg_site
    with site.env.db.session() as s:
        set_variable(site.env, s, "api_key", "v4lue")
    run_id = make_test_run(site.env, "sec_dag", datetime(2026, 2, 1, tzinfo=timezone.utc), None)
    first = queue_single_task(site.env, "sec_dag", run_id, "echo")
    assert call(site, first, "claim", {"hostname": "h", "pid": 1}).status_code == 200
    deferred = call(site, first, "defer", {"trigger": TRIGGER})
    assert deferred.json() == {"state": "deferred"}, deferred.text

    second = _resume(site, first)
    assert second.try_number == first.try_number  # the same try, a new leg
    stale = call(site, first, "claim", {"hostname": "old", "pid": 2})
    assert stale.status_code == 409 and "queued again" in stale.text, stale.text
    claimed = call(site, second, "claim", {"hostname": "h", "pid": 3})
    assert claimed.status_code == 200, claimed.text
    assert claimed.json()["ti"]["next_method"] == "execute_complete"

    # The resumed leg runs: the earlier leg's token reads and writes nothing.
    for method, body in [
        ("get_variable", VAR),
        ("get_connection", {"conn_id": "x"}),
        ("xcom_set", {"key": "k", "value": "from the old leg"}),
        ("skip_tasks", {"task_ids": ["echo"]}),
        ("xcom_get", {"dag_id": "sec_dag", "run_id": run_id, "task_id": "echo", "key": "k"}),
    ]:
        resp = call(site, first, method, body)
        assert resp.status_code == 401, (method, resp.text)
        assert "queued again" in resp.json()["detail"], (method, resp.text)
    assert call(site, first, "heartbeat", {"pid": 2}).json() == {"stop": True}
    for method, body in [
        ("defer", {"trigger": TRIGGER}),
        ("reschedule", {"reschedule_date": "2026-03-01T12:05:00+00:00"}),
        ("finish", {"outcome": "failed", "error": "replayed"}),
    ]:
        resp = call(site, first, method, body)
        assert resp.status_code == 409, (method, resp.text)
        assert "queued again" in resp.json()["detail"], (method, resp.text)

    # ... and the resumed leg's own token does.
    assert call(site, second, "heartbeat", {"pid": 3}).json() == {"stop": False}
    assert call(site, second, "get_variable", VAR).json() == {"found": True, "value": "v4lue"}
    done = call(site, second, "finish", {"outcome": "success", "error": None})
    assert done.status_code == 200 and done.json()["state"] == "success", done.text
    with site.env.db.session() as s:
        from tradewind.services import xcom as xcom_store

        found, _ = xcom_store.get_xcom(
            s, dag_id="sec_dag", run_id=run_id, task_id="echo", key="k", map_index=-1
        )
    assert not found  # the old leg's write was refused


def test_a_token_issued_before_legs_existed_counts_as_the_first_leg(site: Any) -> None:
    """Tokens in flight across the upgrade (no ``seq`` claim) keep working for leg 0."""
    import time

    import jwt
    from sqlalchemy import update

    from tradewind.metastore.tables import TaskInstance
    from tradewind.services.testing import make_test_run, queue_single_task

    run_id = make_test_run(site.env, "sec_dag", datetime(2026, 2, 1, tzinfo=timezone.utc), None)
    w = queue_single_task(site.env, "sec_dag", run_id, "echo")
    with site.env.db.engine.begin() as c:  # as a row queued before the migration
        c.execute(update(TaskInstance).where(TaskInstance.id == w.ti_id).values(queue_seq=0))
    now = int(time.time())
    claims = {"sub": str(w.ti_id), "try": w.try_number, "aud": "tradewind:execution"}
    legacy = jwt.encode(
        {**claims, "iat": now, "nbf": now - 5, "exp": now + 60}, site.env.secret_key, "HS256"
    )
    assert call(site, w, "claim", {"hostname": "h", "pid": 1}, legacy).status_code == 200
    assert call(site, w, "claim", {"hostname": "h", "pid": 1}).status_code == 409
