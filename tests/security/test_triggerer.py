"""Issue 18.5: the triggerer runs only subclasses of BaseTrigger from Tradewind's own modules
and the deployment's plugins; any other class path a task defers to is refused, logged, and
the task fails."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from tradewind.triggerer.triggers import BaseTrigger, TriggerPolicy, TriggerRefused, load_trigger

PLUGIN_TRIGGER = """
from tradewind.triggerer.triggers import BaseTrigger, TriggerEvent


class Ready(BaseTrigger):
    def __init__(self, answer=42):
        self.answer = answer

    def serialize(self):
        return self.classpath(), {"answer": self.answer}

    async def run(self):
        yield TriggerEvent(self.answer)
"""


class Hostile(BaseTrigger):
    """What a task controls: the class path and kwargs it defers to."""

    def __init__(self, classpath: str, kwargs: dict[str, Any]):
        self.path, self.kwargs = classpath, kwargs

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return self.path, self.kwargs

    async def run(self):  # type: ignore[no-untyped-def]
        yield None


@pytest.fixture
def real_env(home: Path) -> Any:
    from tests.security.conftest import make_env

    env = make_env(home)
    yield env
    env.db.engine.dispose()


class _Records(logging.Handler):
    """Keeps the records of one logger, attached to it (not to the root logger)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def triggerer_errors() -> Iterator[list[logging.LogRecord]]:
    """The triggerer's error records, wherever the root logger's handlers point meanwhile.

    pytest's ``caplog`` listens on the root logger, whose handlers the in-process task runner
    replaces with the task's log file for each try: a refusal logged by the triggerer thread
    while a later task runs goes to that task's log, not to ``caplog`` (under load, most do).
    """
    logger = logging.getLogger("tradewind.triggerer")
    handler = _Records()
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.ERROR)
    try:
        yield handler.records
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)


def test_a_deferral_to_os_system_is_refused_and_the_task_fails(
    real_env: Any, tmp_path: Path
) -> None:
    from tests.integration.operators.conftest import run_dag

    from tradewind import DAG
    from tradewind.errors import TaskDeferred
    from tradewind.sdk.baseoperator import BaseOperator

    marker = tmp_path / "pwned"

    class Defers(BaseOperator):
        def __init__(self, *, path: str, kwargs: dict[str, Any], **kw: Any):
            super().__init__(**kw)
            self.path, self.trigger_kwargs = path, kwargs

        def execute(self, context: Any) -> None:
            raise TaskDeferred(trigger=Hostile(self.path, self.trigger_kwargs), method_name="x")

    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    with DAG("hostile_defer", schedule=None, start_date=start) as dag:
        Defers(task_id="system", path="os.system", kwargs={"command": f"touch {marker}"})
        Defers(task_id="popen", path="subprocess.Popen", kwargs={"args": ["touch", str(marker)]})
        Defers(task_id="not_a_trigger", path="tradewind.worker.logs.JsonLineFormatter", kwargs={})
    with triggerer_errors() as records:
        result = run_dag(real_env, dag, triggerer=True, timeout=180)  # waits on the run's end
    assert not marker.exists()
    assert result.states == {"system": "failed", "popen": "failed", "not_a_trigger": "failed"}
    refused = [r.getMessage() for r in records if "refused" in r.getMessage()]
    assert any("os.system" in m for m in refused), refused
    assert any("not a BaseTrigger subclass" in m for m in refused), refused


def test_plugin_triggers_are_allowed_and_outside_ones_are_not(
    real_env: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tradewind.plugins_manager import load_plugins

    plugins = Path(str(real_env.settings.get("core", "plugins_folder")))
    plugins.mkdir(parents=True, exist_ok=True)
    (plugins / "sec_plugin_triggers.py").write_text(PLUGIN_TRIGGER)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "sec_outside_triggers.py").write_text(PLUGIN_TRIGGER)
    monkeypatch.syspath_prepend(str(elsewhere))
    load_plugins(real_env.settings, reload=True)
    policy = TriggerPolicy.from_settings(real_env.settings)
    trigger = load_trigger("sec_plugin_triggers.Ready", {"answer": 7}, policy)
    assert trigger.serialize()[1] == {"answer": 7}
    with pytest.raises(TriggerRefused, match="neither Tradewind's nor a plugin's"):
        load_trigger("sec_outside_triggers.Ready", {}, policy)
    assert type(load_trigger("tradewind.triggerer.triggers.TimeDeltaTrigger", {"delta": 1}))
