"""BashSensor: wait until a shell command exits 0."""

from __future__ import annotations

import logging
import os
import subprocess
import tempfile
from typing import Any

from tradewind.errors import TradewindFailException
from tradewind.operators.bash import _context_env
from tradewind.sensors.base import BaseSensorOperator

log = logging.getLogger("tradewind.task")


class BashSensor(BaseSensorOperator):
    """Poke by running ``bash_command``: exit 0 means done, anything else means not yet.

    Args:
        env: environment of the command (the worker's when None).
        retry_exit_code: when set, only this exit code means "not yet"; any other non-zero
            code fails the task at once.
    """

    template_fields = ("bash_command", "env", "cwd")
    template_fields_renderers = {"bash_command": "bash", "env": "json"}

    def __init__(
        self,
        *,
        bash_command: str,
        env: dict[str, str] | None = None,
        output_encoding: str = "utf-8",
        retry_exit_code: int | None = None,
        cwd: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.bash_command = bash_command
        self.env = env
        self.output_encoding = output_encoding
        self.retry_exit_code = retry_exit_code
        self.cwd = cwd

    def poke(self, context: dict[str, Any]) -> bool:
        env = dict(os.environ) if self.env is None else dict(self.env)
        env.update(_context_env(context))
        with tempfile.TemporaryDirectory(prefix="tradewind_bash_") as tmp:
            log.info("Running command: %s", self.bash_command)
            proc = subprocess.run(
                ["bash", "-c", self.bash_command],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                cwd=self.cwd or tmp,
                env=env,
                check=False,
            )
        for line in proc.stdout.decode(self.output_encoding, errors="replace").splitlines():
            log.info("%s", line)
        log.info("Command exited with return code %s", proc.returncode)
        if self.retry_exit_code is not None and proc.returncode not in (0, self.retry_exit_code):
            raise TradewindFailException(
                f"bash command exited with code {proc.returncode} (not 0 nor the retry code "
                f"{self.retry_exit_code})"
            )
        return proc.returncode == 0
