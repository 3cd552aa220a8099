"""FileSensor: wait until a file (or a glob pattern) exists."""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

from tradewind.errors import NotFound, TaskDeferred
from tradewind.sensors.base import BaseSensorOperator


class FileSensor(BaseSensorOperator):
    """Wait for ``filepath`` (glob patterns allowed) under the ``fs`` connection's base path.

    Args:
        filepath: path or pattern (templated); relative paths join the connection's path.
        fs_conn_id: connection of type ``fs`` (``extra: {"path": ...}``); missing is fine.
        recursive: let ``**`` match any depth.
        deferrable: wait in the triggerer instead of a worker (local paths).
    """

    template_fields = ("filepath",)
    ui_color = "#91818a"

    def __init__(
        self,
        *,
        filepath: str,
        fs_conn_id: str = "fs_default",
        recursive: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.filepath = filepath
        self.fs_conn_id = fs_conn_id
        self.recursive = recursive

    def _hook(self) -> Any:
        from tradewind.hooks.filesystem import FSHook

        hook = FSHook(self.fs_conn_id)
        try:
            hook.get_path()
        except NotFound:
            hook = FSHook()  # no fs_default connection: paths are taken as they are
        return hook

    def poke(self, context: dict[str, Any]) -> bool:
        hook = self._hook()
        pattern = hook.resolve(self.filepath)
        self.log_info(f"Poking for file {pattern}")
        return (
            any(os.path.isfile(p) or os.path.isdir(p) for p in hook.glob(pattern))
            if "://" not in pattern
            else hook.exists(pattern)
        )

    def log_info(self, message: str) -> None:
        import logging

        logging.getLogger("tradewind.task").info("%s", message)

    def execute(self, context: dict[str, Any]) -> Any:
        if not self.deferrable:
            return super().execute(context)
        if self.poke(context):
            return None
        from tradewind.sdk.triggers import FileTrigger

        deadline = self.clock() + timedelta(seconds=self.remaining(context))
        trigger = FileTrigger(
            self._hook().resolve(self.filepath),
            self.recursive,
            self.poke_interval,
            deadline.isoformat(),
        )
        raise TaskDeferred(trigger=trigger, method_name="execute_complete")

    def execute_complete(self, context: dict[str, Any], event: Any = None) -> Any:
        """Resume after the triggerer found the file (or gave up at the timeout)."""
        if isinstance(event, dict) and event.get("status") == "timeout":
            self.timed_out()
        self.log_info(f"File found: {event}")
        return None
