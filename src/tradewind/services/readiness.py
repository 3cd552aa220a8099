"""The last check before a task instance is queued: does its trigger rule hold right now?

The run evaluation (``scheduling.py``) only schedules a task instance whose trigger rule holds,
but a task instance can reach ``scheduled`` by other roads: a retry whose delay passed, a
reschedule, a user's state edit, a clear of its upstream after it was scheduled. Whatever the
road, the scheduler never hands the executor a task instance whose upstream does not allow it
to run (defense in depth: issue #15, a task that ran before its upstream ever had). Such a task
instance goes back to no state, and the run evaluation decides it again from its upstream.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, select
from sqlalchemy.orm import Session

from tradewind.core.states import TaskInstanceState as TI
from tradewind.core.trigger_rules import Decision, UpstreamStates, evaluate
from tradewind.metastore.tables import TaskInstance
from tradewind.services.scheduling import DagCache
from tradewind.services.ti_state import ti_update, touch_runs

log = logging.getLogger(__name__)

_TIT = cast(Table, TaskInstance.__table__)
_TIc = _TIT.c
# Only the candidates' upstream tasks (seeks in uq_ti_key): reading the whole run cost
# O(tasks of the run) per pass for a wide run whose tasks have an upstream (#17).
_UPSTREAM_STATES = select(_TIc.task_id, _TIc.state, _TIc.map_index).where(
    _TIc.dag_id == bindparam("b_dag_id"),
    _TIc.run_id == bindparam("b_run_id"),
    _TIc.task_id.in_(bindparam("b_task_ids", expanding=True)),
)
_UNSCHEDULE = ti_update(  # checked by the transition table when built
    TI.SCHEDULED, None, _TIc.id == bindparam("b_id"), updated_at=bindparam("b_now")
)


def keep_ready(
    session: Session,
    rows: Sequence[Any],
    cache: DagCache,
    now: datetime,
    decided: Collection[int] = (),
) -> list[Any]:
    """Return the ``rows`` (scheduled task instances about to be queued) whose trigger rule
    holds; move the others back to no state (compare-and-set) and mark their runs changed.

    Each row needs ``id``, ``dag_id``, ``run_id``, ``task_id`` and ``dag_version``. Costs one
    query per run that has a candidate with upstream tasks, none otherwise. ``decided``: task
    instances this transaction itself scheduled from their upstream's states (the run
    evaluation of the same pass): their rule was just checked, on the same reads.
    """
    with_upstream: dict[tuple[str, str], list[tuple[Any, Any]]] = defaultdict(list)
    for r in rows:
        if r.id in decided:
            continue
        task = cache.get(session, r.dag_id, r.dag_version).tasks.get(r.task_id)
        if task is not None and task.upstream_task_ids:  # no upstream: the rule always holds
            with_upstream[(r.dag_id, r.run_id)].append((r, task))
    if not with_upstream:
        return list(rows)
    not_ready: set[int] = set()
    held_back: set[tuple[str, str]] = set()
    for (dag_id, run_id), pairs in with_upstream.items():
        states: dict[str, list[str | None]] = defaultdict(list)
        by_index: dict[tuple[str, int], str | None] = {}
        upstream = sorted({u for _, task in pairs for u in task.upstream_task_ids})
        params = {"b_dag_id": dag_id, "b_run_id": run_id, "b_task_ids": upstream}
        for task_id, state, map_index in session.execute(_UPSTREAM_STATES, params):
            states[task_id].append(state)
            by_index[(task_id, map_index)] = state
        for r, task in pairs:
            sdag = cache.get(session, r.dag_id, r.dag_version)
            ups = UpstreamStates.from_states(
                _upstream_states(task, r, states, by_index, sdag, session)
            )
            setups = None
            if task.trigger_rule == "all_done_setup_success":
                known = cache.get(session, dag_id, r.dag_version).tasks
                setups = UpstreamStates.from_states(
                    s
                    for u in task.upstream_task_ids
                    if u in known and known[u].data.get("is_setup")
                    for s in states.get(u, [None])
                )
            if evaluate(task.trigger_rule, ups, setups) is Decision.RUN:
                continue
            not_ready.add(r.id)
            log.warning(
                "Not queueing %s.%s in run %s: it is scheduled but its trigger rule %s does not "
                "hold (upstream %s); it goes back to no state and is decided again",
                dag_id,
                r.task_id,
                run_id,
                task.trigger_rule,
                ups,
            )
            if session.execute(_UNSCHEDULE, {"b_id": r.id, "b_now": now}).rowcount:  # type: ignore[attr-defined]
                held_back.add((dag_id, run_id))
    touch_runs(session, held_back)
    return [r for r in rows if r.id not in not_ready]


def _upstream_states(
    task: Any,
    r: Any,
    states: dict[str, list[str | None]],
    by_index: dict[tuple[str, int], str | None],
    sdag: Any,
    session: Session | None = None,
) -> list[str | None]:
    """The upstream states a task instance's rule sees: every instance of each upstream, but
    only the same group instance of an upstream in the same mapped task group (all its
    instances of that group instance when it is mapped again inside the group)."""
    group = task.data.get("mapped_group")
    out: list[str | None] = []
    for u in task.upstream_task_ids:
        up = sdag.tasks.get(u) if group else None
        if up is not None and up.data.get("mapped_group") == group:
            if (u, 0) not in by_index or session is None:  # not expanded (yet)
                out.append(by_index.get((u, r.map_index), by_index.get((u, -1))))
                continue
            from tradewind.services import mapping, mapping_groups

            count = mapping.Counter(session, r, sdag)
            for i in mapping_groups.upstream_indexes(count, task, up, r.map_index):
                out.append(by_index.get((u, i)))
        else:
            out.extend(states.get(u, [None]))
    return out
