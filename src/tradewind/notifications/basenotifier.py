"""BaseNotifier: a callable whose templated fields are rendered with the context, then
``notify(context)`` runs (Airflow's ``airflow.notifications.basenotifier.BaseNotifier``)."""

from __future__ import annotations

import copy
import logging
from collections.abc import Sequence
from typing import Any

log = logging.getLogger("tradewind.notifications")


class BaseNotifier:
    """Subclass it, list ``template_fields``, implement :meth:`notify`.

    An instance is a callback: ``on_failure_callback=MyNotifier(text="{{ ti.task_id }} failed")``.
    Each call renders a copy, so one notifier object serves many task instances.
    """

    template_fields: Sequence[str] = ()
    template_ext: Sequence[str] = ()

    def render_template_fields(self, context: dict[str, Any]) -> None:
        """Render this object's ``template_fields`` in place with ``context``."""
        from tradewind.sdk.templating import environment_for, render_value

        env = environment_for(context.get("dag"))
        for name in self.template_fields:
            value = getattr(self, name, None)
            if value is not None:
                setattr(self, name, render_value(value, context, env, tuple(self.template_ext)))

    def notify(self, context: dict[str, Any]) -> None:
        """Send the notification."""
        raise NotImplementedError(f"{type(self).__name__} must implement notify(context)")

    def __call__(self, *args: Any) -> None:
        context: dict[str, Any] = args[0] if args and isinstance(args[0], dict) else {}
        rendered = copy.copy(self)
        rendered.render_template_fields(context)
        rendered.notify(context)
