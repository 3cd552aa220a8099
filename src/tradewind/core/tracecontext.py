"""Trace and span ids of DAG runs and tries, derived from their keys.

Every process computes the same ids from the same keys: the scheduler, which records a run's
span when the run ends and a try's span when the try ends, and the worker, which makes the
try's span the parent of whatever the task's own code traces. So the W3C trace context
(``traceparent``) crosses the worker boundary without being stored or sent anywhere.
"""

from __future__ import annotations

import hashlib


def _hash(bits: int, *parts: object) -> int:
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[: bits // 8], "big") or 1  # zero is an invalid id


def run_trace_id(dag_id: str, run_id: str) -> int:
    """The 128-bit trace id of a DAG run."""
    return _hash(128, "trace", dag_id, run_id)


def run_span_id(dag_id: str, run_id: str) -> int:
    """The 64-bit id of a DAG run's root span."""
    return _hash(64, "run", dag_id, run_id)


def try_span_id(dag_id: str, run_id: str, task_id: str, map_index: int, try_number: int) -> int:
    """The 64-bit id of one try's span (a child of its run's span)."""
    return _hash(64, "try", dag_id, run_id, task_id, map_index, try_number)


def traceparent(trace_id: int, span_id: int) -> str:
    """The W3C ``traceparent`` header value (sampled)."""
    return f"00-{trace_id:032x}-{span_id:016x}-01"
