"""Scheduling the tasks of a mapped task group: instance ``i`` of a task waits only for
instance ``i`` of its upstream inside the group (its upstream outside the group counts whole).

The task expands as soon as its in-group upstream has expanded (or, for the group's first
tasks, when the upstream outside the group allows it); its instances are then decided one by
one in the same pass. A task mapped again inside the group (``n`` instances per group
instance, ``G * n`` in all) has instance ``m`` in group instance ``m // n``: it waits for that
group instance of its in-group upstream, and a task downstream of it waits for all ``n``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from tradewind.core.trigger_rules import Decision, UpstreamStates, evaluate
from tradewind.sdk.serialization import SerializedDag, SerializedTask
from tradewind.services import mapping
from tradewind.services.mapping import TIc


class _Row(NamedTuple):
    id: int
    task_id: str
    map_index: int
    state: str | None


def _decided(out: Any) -> dict[int, str]:
    """The states this pass already decided (not written yet): later tasks of the pass must
    see them, or a decision that is the run's last event would leave its downstream waiting
    with nothing left to wake the run."""
    decided: dict[int, str] = dict.fromkeys(out.scheduled, "scheduled")
    decided.update(dict.fromkeys(out.skipped, "skipped"))
    decided.update(dict.fromkeys(out.upstream_failed, "upstream_failed"))
    return decided


def _rows(session: Session, run: Any, task_ids: list[str], out: Any) -> dict[str, dict[int, _Row]]:
    """The instances of ``task_ids`` in ``run`` by map index, with this pass's decisions."""
    decided = _decided(out)
    rows: dict[str, dict[int, _Row]] = {t: {} for t in task_ids}
    for ti_id, task_id, map_index, state in session.execute(
        select(TIc.id, TIc.task_id, TIc.map_index, TIc.state).where(
            TIc.dag_id == run.dag_id, TIc.run_id == run.run_id, TIc.task_id.in_(task_ids)
        )
    ):
        rows[task_id][map_index] = _Row(ti_id, task_id, map_index, decided.get(ti_id, state))
    return rows


def decide(
    session: Session,
    run: Any,
    sdag: SerializedDag,
    task: SerializedTask,
    states: dict[str, list[str | None]],
    out: Any,
    now: datetime,
) -> None:
    """Decide the waiting instances of ``task`` (in a mapped group); record them in ``out``."""
    group = task.data["mapped_group"]
    inside = [u for u in task.upstream_task_ids if sdag.tasks[u].data.get("mapped_group") == group]
    outside = [u for u in task.upstream_task_ids if u not in inside]
    rows = _rows(session, run, [task.task_id, *inside], out)
    mine = rows[task.task_id]
    if set(mine) == {-1}:  # not expanded yet
        if not _expand(session, run, sdag, task, states, out, now, inside, outside, rows):
            states[task.task_id] = [_decided(out).get(mine[-1].id, mine[-1].state)]
            return
        rows = _rows(session, run, [task.task_id, *inside], out)
        mine = rows[task.task_id]
    whole = [st for u in outside for st in states.get(u, [None])]
    count = mapping.Counter(session, run, sdag)
    own = _further(count, task)
    further = {u: _further(count, sdag.tasks[u]) if set(rows[u]) != {-1} else None for u in inside}
    new: dict[int, str] = {}
    for index, row in sorted(mine.items()):
        if row.state is not None or index < 0:
            continue
        group_index = index // own if own else index
        ups = whole + [st for u in inside for st in _states_at(rows[u], group_index, further[u])]
        decision = evaluate(task.trigger_rule, UpstreamStates.from_states(ups))
        if decision is Decision.RUN:
            out.scheduled.append(row.id)
            new[row.id] = "scheduled"
        elif decision is Decision.SKIP:
            out.skipped.append(row.id)
            new[row.id] = "skipped"
        elif decision is Decision.UPSTREAM_FAILED:
            out.upstream_failed.append(row.id)
            new[row.id] = "upstream_failed"
    states[task.task_id] = [new.get(r.id, r.state) for r in mine.values()]


def _further(count: mapping.Counter, task: SerializedTask) -> int | None:
    """How many instances a task mapped again inside its group has per group instance."""
    expand = task.expand_input
    return count.total(expand["inner"]) if expand and expand["type"] == "nested" else None


def upstream_indexes(
    count: mapping.Counter, task: SerializedTask, up: SerializedTask, map_index: int
) -> list[int]:
    """The map indexes of ``up`` (expanded, in ``task``'s mapped group) that instance
    ``map_index`` of ``task`` waits for."""
    own = _further(count, task)
    group_index = map_index // own if own else map_index
    n = _further(count, up)
    return list(range(group_index * n, (group_index + 1) * n)) if n else [group_index]


def _states_at(rows: dict[int, Any], group_index: int, further: int | None) -> list[str | None]:
    """An in-group upstream's states for one group instance: one, or its ``further`` ones."""
    if not further:
        return [_state_at(rows, group_index)]
    start = group_index * further
    return [_state_at(rows, i) for i in range(start, start + further)]


def _state_at(rows: dict[int, Any], index: int) -> str | None:
    """An in-group upstream's state for one map index (its placeholder's when not expanded)."""
    row = rows.get(index) or rows.get(-1)
    return row.state if row is not None else None


def _expand(
    session: Session,
    run: Any,
    sdag: SerializedDag,
    task: SerializedTask,
    states: dict[str, list[str | None]],
    out: Any,
    now: datetime,
    inside: list[str],
    outside: list[str],
    rows: dict[str, dict[int, Any]],
) -> bool:
    """Expand the placeholder when it may; True when instances now exist to decide."""
    placeholder = rows[task.task_id][-1]
    if placeholder.state is not None:
        return False
    ups: list[str | None] = [st for u in outside for st in states.get(u, [None])]
    for u in inside:
        if set(rows[u]) == {-1}:
            if rows[u][-1].state is None:
                return False  # the in-group upstream has not expanded yet
            ups.append(rows[u][-1].state)  # it ended whole (skipped, upstream_failed...)
    decision = evaluate(task.trigger_rule, UpstreamStates.from_states(ups))
    if decision is Decision.WAIT:
        return False
    if decision is Decision.SKIP:
        out.skipped.append(placeholder.id)
        return False
    if decision is Decision.UPSTREAM_FAILED:
        out.upstream_failed.append(placeholder.id)
        return False
    expansion = mapping.expand(
        session, run, sdag, task, now, out.max_map_length, leave_waiting=True
    )
    if expansion is None:
        return False
    out.expanded += expansion.moved + expansion.inserted
    return True
