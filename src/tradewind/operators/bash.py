"""BashOperator: run a shell command; exit 99 skips, any other non-zero exit fails."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
from collections.abc import Container
from typing import Any

from tradewind.errors import TradewindError, TradewindSkipException
from tradewind.sdk.baseoperator import BaseOperator

log = logging.getLogger("tradewind.task")


class BashOperator(BaseOperator):
    """Run ``bash_command`` with bash; its output goes to the task log, its last line to XCom.

    Warning: templating user-controlled values (``dag_run.conf``, ``params``, ``run_id``) into
    ``bash_command`` is shell injection: whoever may trigger the DAG runs commands as the
    worker. Pass them through ``env=`` (``env={"RUN_ID": "{{ run_id }}"}``, then ``"$RUN_ID"``
    in the command), as Airflow's documentation also advises.

    Args:
        bash_command: a command, or the name of a ``.sh``/``.bash`` template file next to the DAG.
        env: environment for the command (replaces the worker's unless ``append_env``).
        append_env: add ``env`` to the worker's environment instead of replacing it.
        cwd: working directory (a temporary directory when None).
        skip_on_exit_code: exit code(s) that mark the task skipped (default 99).
    """

    template_fields = ("bash_command", "env", "cwd")
    template_fields_renderers = {"bash_command": "bash", "env": "json"}
    template_ext = (".sh", ".bash")
    ui_color = "#f0ede4"

    def __init__(
        self,
        *,
        bash_command: str,
        env: dict[str, str] | None = None,
        append_env: bool = False,
        output_encoding: str = "utf-8",
        skip_on_exit_code: int | Container[int] | None = 99,
        cwd: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.bash_command = bash_command
        self.env = env
        self.append_env = append_env
        self.output_encoding = output_encoding
        if skip_on_exit_code is None:
            self.skip_on_exit_code: Container[int] = ()
        elif isinstance(skip_on_exit_code, int):
            self.skip_on_exit_code = (skip_on_exit_code,)
        else:
            self.skip_on_exit_code = skip_on_exit_code
        self.cwd = cwd
        self._proc: subprocess.Popen[bytes] | None = None

    def execute(self, context: dict[str, Any]) -> str | None:
        if self.cwd is not None and not os.path.isdir(self.cwd):
            raise TradewindError(f"cwd {self.cwd!r} of task {self.task_id!r} is not a directory")
        env = dict(os.environ) if (self.env is None or self.append_env) else {}
        env.update(self.env or {})
        env.update(_context_env(context))
        import tempfile

        with tempfile.TemporaryDirectory(prefix="tradewind_bash_") as tmp:
            self._proc = subprocess.Popen(
                ["bash", "-c", self.bash_command],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                cwd=self.cwd or tmp,
                env=env,
                start_new_session=True,
            )
            last = None
            assert self._proc.stdout is not None
            for raw in iter(self._proc.stdout.readline, b""):
                line = raw.decode(self.output_encoding, errors="replace").rstrip("\n")
                last = line
                log.info("%s", line)
            code = self._proc.wait()
        if code in self.skip_on_exit_code:
            raise TradewindSkipException(f"bash command exited with code {code}: task skipped")
        if code != 0:
            raise TradewindError(f"bash command failed: exit code {code}")
        return last

    def on_kill(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            try:
                os.killpg(self._proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass


def _context_env(context: dict[str, Any]) -> dict[str, str]:
    """Airflow's AIRFLOW_CTX_* variables, also under TRADEWIND_CTX_*."""
    ti = context.get("ti")
    values = {
        "DAG_ID": getattr(context.get("dag"), "dag_id", ""),
        "TASK_ID": getattr(context.get("task"), "task_id", ""),
        "DAG_RUN_ID": str(context.get("run_id") or ""),
        "LOGICAL_DATE": context["logical_date"].isoformat() if context.get("logical_date") else "",
        "TRY_NUMBER": str(getattr(ti, "try_number", "")),
    }
    out = {}
    for k, v in values.items():
        out[f"AIRFLOW_CTX_{k}"] = v
        out[f"TRADEWIND_CTX_{k}"] = v
    return out
