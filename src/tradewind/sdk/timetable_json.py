"""Storing timetables as JSON, custom ones (Airflow-style plugins) by their import path."""

from __future__ import annotations

import json
from typing import Any

from tradewind.errors import DagDefinitionError
from tradewind.sdk.timetables import Timetable


def serialize_timetable(tt: Timetable) -> dict[str, Any]:
    """The stored form of a timetable; a custom one is kept with its import path.

    Raises:
        DagDefinitionError: a custom timetable's ``serialize()`` failed or is not JSON.
    """
    if type(tt).__module__ == "tradewind.sdk.timetables":
        return tt.serialize()
    classpath = f"{type(tt).__module__}.{type(tt).__qualname__}"
    try:
        value = tt.serialize()
        json.dumps(value)
    except Exception as exc:  # noqa: BLE001 - user code: say which timetable and why
        raise DagDefinitionError(
            f"timetable {classpath} cannot be serialized: its serialize() must return a "
            f"JSON-able dict ({type(exc).__name__}: {exc})"
        ) from None
    return {"__type": "custom", "classpath": classpath, "value": value}


def custom_class(classpath: str) -> type[Timetable]:
    """A custom timetable class: registered by a plugin, else importable by its path."""
    from tradewind import plugins_manager

    loaded = plugins_manager._loaded
    found = loaded.timetable(classpath) if loaded is not None else None
    if found is None:
        import importlib

        module, _, name = classpath.rpartition(".")
        try:
            found = getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError):
            raise DagDefinitionError(
                f"timetable {classpath} is not registered: list it in a plugin's "
                "`timetables = [...]` (plugins folder or the tradewind.plugins entry point)"
            ) from None
    return found
