"""Fallback for ``tradewind scheduler`` while the CLI has none: the loop with the configured executor."""

import logging

from tradewind.cli._executors import make_executor
from tradewind.scheduler.loop import Scheduler
from tradewind.services.env import Env
from tradewind.services.execution import ExecutionService
from tradewind.services.wakeup import WakeListener
from tradewind.settings import load_settings

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
settings = load_settings()
env = Env.from_settings(settings)
execution = ExecutionService(env)
scheduler = Scheduler(
    env, make_executor(env, execution), execution, wake_listener=WakeListener(settings, env.db)
)
scheduler.install_signal_handlers()
scheduler.run()
