"""Call an execution-API extension from a running task (worker side, no database)."""

from __future__ import annotations

from typing import Any


def call_extension(ti: Any, method: str, *args: Any) -> Any:
    """Call ``method`` on the task's transport: its own method, or the generic ``_call``.

    Extensions (``trigger_dag_run``, ``get_dag_run_state``, ``get_task_states``) are served by
    ``tradewind.services.execution_ext.ExecutionExtensions``.
    """
    client = ti._client
    fn = getattr(client, method, None)
    if fn is not None:
        return fn(ti.id, ti._token, *args)
    generic = getattr(client, "_call", None)
    if generic is None:
        raise NotImplementedError(f"this execution-API transport cannot call {method}")
    return generic(method, ti.id, ti._token, *args)
