"""The triggerer's guard on what it imports: trigger rows name classes by import path.

The trigger classes themselves are authoring API (``sdk/triggers.py``: sensors defer to
them); they are imported here too, under this module's name, because trigger rows stored
before they moved name them ``tradewind.triggerer.triggers.<Class>``.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from typing import Any

from tradewind.core.paths import is_contained
from tradewind.errors import TradewindError
from tradewind.sdk.triggers import (  # noqa: F401 (the old classpaths of stored trigger rows)
    BaseTrigger,
    DateTimeTrigger,
    FileTrigger,
    TimeDeltaTrigger,
    TriggerEvent,
)


class TriggerRefused(TradewindError):
    """A trigger row names a class the triggerer will not import or run."""


@dataclass(frozen=True)
class TriggerPolicy:
    """Which modules the triggerer may import trigger classes from: Tradewind's own and the
    deployment's plugins (the plugins folder, and the packages of entry-point plugins).

    A task chooses the class path it defers to; without this check any importable callable
    (``os.system``...) would be called with the task's kwargs inside the triggerer.
    """

    plugins_folder: str = ""
    packages: frozenset[str] = frozenset()

    @classmethod
    def from_settings(cls, settings: Any) -> TriggerPolicy:
        from tradewind.plugins_manager import load_plugins

        loaded = load_plugins(settings)
        packages = {type(p).__module__.split(".")[0] for p in loaded.plugins}
        return cls(str(settings.get("core", "plugins_folder")), frozenset(packages))

    def allows(self, module: str) -> bool:
        top = module.split(".")[0]
        if top in ("tradewind", "airflow") or top.startswith("tradewind_plugin_"):
            return True
        if top in self.packages:
            return True
        if not self.plugins_folder or not top.isidentifier():
            return False
        # A module next to the plugins (imported by name): its top-level spec, found without
        # running any code, must come from the plugins folder.
        spec = importlib.util.find_spec(top)
        places = list(spec.submodule_search_locations or []) if spec else []
        if spec is not None and spec.origin:
            places.append(spec.origin)
        return bool(places) and all(is_contained(self.plugins_folder, p) for p in places)


def load_trigger(
    classpath: str, kwargs: dict[str, Any], policy: TriggerPolicy | None = None
) -> BaseTrigger:
    """Rebuild a trigger from its serialized form, refusing what is not a trigger class of
    Tradewind or of a plugin (``policy``; Tradewind's own modules only when None)."""
    module, _, name = classpath.rpartition(".")
    if not module or not (policy or TriggerPolicy()).allows(module):
        raise TriggerRefused(
            f"trigger {classpath!r} refused: its module is neither Tradewind's nor a plugin's"
        )
    cls = getattr(importlib.import_module(module), name, None)
    if not (isinstance(cls, type) and issubclass(cls, BaseTrigger)):
        raise TriggerRefused(f"trigger {classpath!r} refused: it is not a BaseTrigger subclass")
    if not isinstance(kwargs, dict):
        raise TriggerRefused(f"trigger {classpath!r} refused: its kwargs are not an object")
    return cls(**kwargs)
