"""Execution-API calls about logs and tokens: a remote worker's log upload, a token check.

A worker on another node sends the log of its try (``logs``, or with ``finish``); it is stored
in this node's log folder exactly where a local try writes it, replacing an older copy
atomically, after the same token check as every call.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from tradewind.core.log_files import log_path
from tradewind.services.celery_tracking import TaskInstanceKey, task_instance_key
from tradewind.services.env import Env
from tradewind.services.tokens import check_current_try, verify_ti_leg, verify_ti_token

# Where each claimed task instance's logs go, so a log upload needs no query (an identity
# never changes; a miss, e.g. on another webserver process, falls back to the metastore).
_KEYS: dict[int, TaskInstanceKey] = {}
_MAX_KEYS = 20_000


def remember_key(ti: dict[str, Any]) -> None:
    """Keep the identity of a task instance just claimed (from the claim's answer)."""
    if len(_KEYS) >= _MAX_KEYS:
        _KEYS.clear()
    _KEYS[int(ti["id"])] = TaskInstanceKey(
        ti["dag_id"], ti["run_id"], ti["task_id"], ti["map_index"]
    )


class ExecutionLogs:
    """Mixin of the log and token calls; needs ``self.env``."""

    env: Env

    def upload_log(self, ti_id: int, token: str, text: str) -> dict[str, Any]:
        """Store the log of the token's try; answer ``{"path", "bytes"}``."""
        return store_log(self.env, ti_id, token, text)

    def verify(self, ti_id: int, token: str) -> dict[str, Any]:
        """Answer ``{"valid": True, "try_number"}`` or raise AuthenticationFailed."""
        try_number = verify_ti_token(self.env.secret_key, token, ti_id, callback_ok=True)
        return {"valid": True, "try_number": try_number}


def store_log(env: Env, ti_id: int, token: str, text: str) -> dict[str, Any]:
    """Store the log of the token's try in this node's log folder (replacing an older copy).

    Allowed after the outcome (callbacks' lines come later, a lost try's log is sent once
    its process died): the token writes nothing but its own try's log file, and not while a
    later leg of its try (deferred or rescheduled, then resumed) owns that file.
    """
    try_number, seq = verify_ti_leg(env.secret_key, token, ti_id, callback_ok=True)
    with env.db.engine.connect() as c:
        check_current_try(c, ti_id, try_number, running=False, past=True, seq=seq)
    key = _KEYS.get(ti_id)
    if key is None:
        with env.db.session(readonly=True) as s:
            key = task_instance_key(s, ti_id)
    return write_try_log(env, key, try_number, text)


def write_try_log(env: Env, key: Any, try_number: int, text: str) -> dict[str, Any]:
    """Write the log of try ``try_number`` of ``key`` (anything with ``dag_id``, ``run_id``,
    ``task_id`` and ``map_index``) once its token was checked; answer ``{"path", "bytes"}``."""
    path = log_path(
        env.settings.log_folder, key.dag_id, key.run_id, key.task_id, try_number, key.map_index
    )
    _write_atomically(path, text)
    return {"path": str(path), "bytes": len(text.encode())}


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-", suffix=".log")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
