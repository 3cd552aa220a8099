"""Plugins: extra operators, hooks, template macros and timetables.

Found through the ``tradewind.plugins`` entry point group (installed packages) and the
``plugins/`` folder (``[core] plugins_folder``). A plugin is a subclass of
:class:`TradewindPlugin` (Airflow's ``AirflowPlugin`` name works too) with a ``name``.
Macros become ``{{ macros.<plugin name>.<macro> }}`` in templates.
"""

from __future__ import annotations

import importlib.util
import inspect
import logging
import os
import sys
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from types import SimpleNamespace
from typing import Any

log = logging.getLogger("tradewind.plugins")
ENTRY_POINT_GROUP = "tradewind.plugins"


class TradewindPlugin:
    """Base of plugins: set ``name`` and any of the lists below."""

    name: str = ""
    operators: list[Any] = []
    sensors: list[Any] = []
    hooks: list[Any] = []
    macros: list[Any] = []
    timetables: list[Any] = []
    source: str = ""


AirflowPlugin = TradewindPlugin


@dataclass
class LoadedPlugins:
    """What :func:`load_plugins` found; ``errors`` maps a source to its import error."""

    plugins: list[TradewindPlugin] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def macros(self) -> dict[str, SimpleNamespace]:
        """``{plugin name: namespace of its macros}`` for the template ``macros`` object."""
        return {
            p.name: SimpleNamespace(**{m.__name__: m for m in p.macros})
            for p in self.plugins
            if p.macros
        }

    @property
    def timetables(self) -> dict[str, type]:
        """Timetable classes by import path, for deserializing custom schedules; a class of a
        plugins-folder file also by that file's dotted path in the folder (``workday.X``)."""
        out: dict[str, type] = {}
        for p in self.plugins:
            for t in p.timetables:
                out[f"{t.__module__}.{t.__qualname__}"] = t
                rel = getattr(sys.modules.get(t.__module__), "__tradewind_relname__", None)
                if rel:
                    out.setdefault(f"{rel}.{t.__qualname__}", t)
        return out

    def timetable(self, classpath: str) -> type | None:
        """The registered timetable of ``classpath``; a plugins-folder class also when a DAG
        file imported its file by a package path (``airflow.example_dags.plugins.workday.X``
        for ``plugins/workday.py``), as Airflow's examples do."""
        known = self.timetables
        if classpath in known:
            return known[classpath]
        parts = classpath.split(".")
        for i in range(1, len(parts) - 1):
            found = known.get(".".join(parts[i:]))
            if found is not None and getattr(found, "__module__", "").startswith(_FOLDER_PREFIX):
                return found
        return None

    def find(self, kind: str, name: str) -> Any:
        """Return the operator/hook/sensor class called ``name`` from any plugin, or None."""
        for p in self.plugins:
            for obj in getattr(p, kind, []):
                if getattr(obj, "__name__", None) == name:
                    return obj
        return None


_loaded: LoadedPlugins | None = None
#: the module names of plugins-folder files
_FOLDER_PREFIX = "tradewind_plugin_"


def _plugin_classes(module: Any) -> list[type]:
    return [
        obj
        for obj in vars(module).values()
        if inspect.isclass(obj)
        and issubclass(obj, TradewindPlugin)
        and obj is not TradewindPlugin
        and obj.__module__ == module.__name__
    ]


def _validate(cls: type, source: str) -> TradewindPlugin:
    plugin: TradewindPlugin = cls()
    if not plugin.name:
        raise ValueError(f"plugin class {cls.__name__} has no name")
    plugin.source = source
    return plugin


def _from_folder(folder: str, result: LoadedPlugins) -> None:
    if not folder or not os.path.isdir(folder):
        return
    if folder not in sys.path:
        sys.path.append(folder)  # plugins import their sibling modules by name
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith((".", "__"))]
        for name in sorted(files):
            if not name.endswith(".py") or name.startswith("_"):
                continue
            path = os.path.join(root, name)
            rel = os.path.relpath(path, folder)[:-3]
            mod_name = _FOLDER_PREFIX + rel.replace(os.sep, "_")
            try:
                spec = importlib.util.spec_from_file_location(mod_name, path)
                assert spec is not None and spec.loader is not None
                module = importlib.util.module_from_spec(spec)
                module.__tradewind_relname__ = rel.replace(os.sep, ".")  # type: ignore[attr-defined]
                sys.modules[mod_name] = module
                spec.loader.exec_module(module)
                result.plugins.extend(_validate(c, path) for c in _plugin_classes(module))
            except Exception as exc:  # noqa: BLE001 - one broken plugin must not hide the others
                log.error("cannot load plugin file %s: %s", path, exc)
                result.errors[path] = f"{type(exc).__name__}: {exc}"


def _from_entry_points(result: LoadedPlugins) -> None:
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            obj = ep.load()
            classes = [obj] if inspect.isclass(obj) else _plugin_classes(obj)
            result.plugins.extend(_validate(c, f"entry point {ep.name}") for c in classes)
        except Exception as exc:  # noqa: BLE001
            log.error("cannot load plugin entry point %s: %s", ep.name, exc)
            result.errors[f"entry point {ep.name}"] = f"{type(exc).__name__}: {exc}"


def load_plugins(
    settings: Any = None, *, folder: str | None = None, reload: bool = False
) -> LoadedPlugins:
    """Find and import every plugin once per process (``reload`` to scan again).

    Args:
        settings: the process settings (for ``[core] plugins_folder``).
        folder: a plugins folder instead of the setting's.
    """
    global _loaded
    if _loaded is not None and not reload:
        return _loaded
    result = LoadedPlugins()
    if folder is None and settings is not None:
        folder = str(settings.get("core", "plugins_folder"))
    _from_folder(folder or "", result)
    _from_entry_points(result)
    seen: set[str] = set()
    unique = []
    for p in result.plugins:
        if p.name in seen:
            result.errors[p.source] = f"a plugin named {p.name!r} is loaded already"
            continue
        seen.add(p.name)
        unique.append(p)
    result.plugins = unique
    _loaded = result
    return result


def plugin_macros() -> dict[str, SimpleNamespace]:
    """The macros of the plugins loaded in this process (empty before :func:`load_plugins`)."""
    return _loaded.macros if _loaded is not None else {}


def plugin_summaries(loaded: LoadedPlugins) -> list[dict[str, Any]]:
    """One row per plugin: its name, source and the names of what it brings."""

    def names(objs: list[Any]) -> list[str]:
        return [getattr(o, "__name__", str(o)) for o in objs]

    return [
        {
            "name": p.name,
            "source": p.source,
            "operators": names([*p.operators, *p.sensors]),
            "hooks": names(p.hooks),
            "macros": names(p.macros),
            "timetables": [f"{t.__module__}.{t.__qualname__}" for t in p.timetables],
        }
        for p in sorted(loaded.plugins, key=lambda p: p.name)
    ]
