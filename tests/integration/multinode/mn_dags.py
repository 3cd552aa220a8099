"""DAG files the multi-node tests write into their DAG folder."""

from __future__ import annotations

from pathlib import Path

_HEADER = '''
import os
import time
from datetime import datetime, timedelta

from tradewind import DAG
from tradewind.operators.python import PythonOperator

OUT = {out!r}


def mark(ti=None, sleep=0.0, **_):
    """Append run|task|try|pid to OUT (O_APPEND: whole lines even from many processes)."""
    if sleep:
        time.sleep(sleep)
    line = f"{{ti.run_id}}|{{ti.task_id}}|{{ti.try_number}}|{{os.getpid()}}\\n"
    fd = os.open(OUT, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)
'''


def fan_dag(
    dag_id: str, out: str, n: int = 20, queue: str = "default", retries: int = 0, sleep: float = 0.0
) -> str:
    """A DAG of ``n`` tasks: one start, ``n-2`` parallel middles, one end."""
    return (
        _HEADER.format(out=out)
        + f"""
with DAG({dag_id!r}, start_date=datetime(2024, 1, 1), schedule=None, catchup=False, max_active_runs=64,
         max_active_tasks=64, default_args={{"queue": {queue!r}, "retries": {retries}, "retry_delay": timedelta(0)}}) as dag:
    start = PythonOperator(task_id="t00", python_callable=mark)
    end = PythonOperator(task_id="t{n - 1:02d}", python_callable=mark)
    for i in range(1, {n - 1}):
        start >> PythonOperator(task_id=f"t{{i:02d}}", python_callable=mark, op_kwargs={{"sleep": {sleep}}}) >> end
"""
    )


def chain_dag(
    dag_id: str, out: str, n: int = 20, queue: str = "default", retries: int = 0, sleep: float = 0.0
) -> str:
    """A chain of ``n`` tasks; the middle one sleeps ``sleep`` s (a window to kill things in)."""
    return (
        _HEADER.format(out=out)
        + f"""
with DAG({dag_id!r}, start_date=datetime(2024, 1, 1), schedule=None, catchup=False,
         default_args={{"queue": {queue!r}, "retries": {retries}, "retry_delay": timedelta(0)}}) as dag:
    prev = None
    for i in range({n}):
        t = PythonOperator(task_id=f"t{{i:02d}}", python_callable=mark, op_kwargs={{"sleep": {sleep} if i == {n // 2} else 0.0}})
        if prev is not None:
            prev >> t
        prev = t
"""
    )


def read_marks(path: str) -> list[tuple[str, str, int, int]]:
    """The lines tasks appended: (run_id, task_id, try_number, pid)."""
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        return []
    out = []
    for line in text.splitlines():
        run_id, task_id, try_number, pid = line.split("|")
        out.append((run_id, task_id, int(try_number), int(pid)))
    return out
