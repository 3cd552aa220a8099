"""The meta path finder that serves ``airflow.*`` from Tradewind, and its modules.

Each ``airflow.X`` module is an :class:`AirflowModule`: a thin module whose attributes are
looked up, on first use, in the Tradewind modules the name table gives for it. The objects
are Tradewind's own (``airflow.operators.bash.BashOperator is
tradewind.operators.bash.BashOperator``), so nothing is copied and nothing drifts.

The finder sits at the *end* of ``sys.meta_path``: a real ``airflow`` package anywhere on
``sys.path`` is found by the ordinary path finder first, and its submodules are never served
from here (the finder only answers below a root module it created itself).
"""

from __future__ import annotations

import dis
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType, ModuleType
from typing import Any

from tradewind.compat import _names
from tradewind.errors import AirflowNameNotSupported

PORTING_DOC = "docs/porting.md"


def unsupported_module(fullname: str) -> AirflowNameNotSupported:
    """The error for an Airflow module Tradewind does not provide."""
    why = _names.why_unsupported(fullname)
    detail = f": {why}" if why else f" (see {PORTING_DOC} for what is supported)"
    return AirflowNameNotSupported(
        f"{fullname} is an Airflow module that Tradewind does not support yet{detail}",
        name=fullname,
    )


def unsupported_name(module: str, attr: str) -> AirflowNameNotSupported:
    """The error for a name Tradewind does not provide in a module it does serve."""
    why = _names.why_unsupported(f"{module}.{attr}")
    detail = f": {why}" if why else f" (see {PORTING_DOC} for what is supported)"
    return AirflowNameNotSupported(
        f"{module}.{attr} is an Airflow name that Tradewind does not support yet{detail}",
        name=f"{module}.{attr}",
    )


class AirflowModule(ModuleType):
    """``airflow.X`` served by Tradewind: attributes resolve lazily from the name table."""

    __tradewind_compat__ = True

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__") and attr.endswith("__"):
            raise AttributeError(attr)
        try:
            value = _resolve(self.__name__, attr)
        except AirflowNameNotSupported as exc:
            if _in_from_import(sys._getframe(1)):
                raise  # ``from airflow.x import Name``: the clear ImportError
            raise AttributeError(str(exc)) from None  # hasattr() / getattr(m, n, default)
        setattr(self, attr, value)
        return value

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(_names.public_names(self.__name__)))


_IMPORT_FROM = dis.opmap["IMPORT_FROM"]


def _in_from_import(frame: FrameType) -> bool:
    """Whether the attribute is looked up by a ``from module import name`` statement.

    Python turns an AttributeError there into a generic "cannot import name" and would drop
    our message, while ``hasattr`` needs an AttributeError: so the caller's opcode decides.
    """
    code = frame.f_code.co_code
    return 0 <= frame.f_lasti < len(code) and code[frame.f_lasti] == _IMPORT_FROM


def _resolve(module: str, attr: str) -> Any:
    sub = f"{module}.{attr}"
    if _names.is_module(sub):
        return importlib.import_module(sub)
    target = _names.NAMES.get(module, {}).get(attr)
    if target is not None:
        mod_name, _, attr_name = target.partition(":")
        target_module = importlib.import_module(mod_name)
        return getattr(target_module, attr_name) if attr_name else target_module
    if not attr.startswith("_"):
        for source in _names.sources(module):
            try:
                src = importlib.import_module(source)
            except ModuleNotFoundError as exc:
                raise unsupported_name(module, attr) from exc
            if attr in getattr(src, "__all__", ()) or _defined_in(src, attr):
                return getattr(src, attr)
    raise unsupported_name(module, attr)


def _defined_in(module: ModuleType, attr: str) -> bool:
    """A public attribute of ``module`` that is not a module (no stdlib leaking through)."""
    value = module.__dict__.get(attr)
    if value is None and hasattr(module, "_LAZY"):
        return attr in module._LAZY
    return value is not None and not isinstance(value, ModuleType)


class _Loader(importlib.abc.Loader):
    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        module = AirflowModule(spec.name)
        module.__doc__ = f"Airflow's {spec.name}, served by Tradewind (see {PORTING_DOC})."
        return module

    def exec_module(self, module: ModuleType) -> None:
        if _names.is_package(module.__name__):
            module.__path__ = []  # submodules come from the finder alone


EXAMPLES = "airflow.example_dags"


def _example_package() -> importlib.machinery.ModuleSpec | None:
    """``airflow.example_dags`` where a DAGs folder is a copy of Airflow's own example folder.

    Airflow's example DAGs import their helpers from their own package
    (``airflow.example_dags.plugins.workday``). When a folder on ``sys.path`` (the DAGs
    folder is put there) is named ``airflow/example_dags`` and is a package, that copy, with
    Airflow's own files, is the package; its submodules are then found by the path finder.
    """
    for entry in sys.path:
        folder = Path(entry or ".").resolve()
        if folder.parts[-2:] == ("airflow", "example_dags") and (folder / "__init__.py").is_file():
            return importlib.util.spec_from_file_location(
                EXAMPLES, folder / "__init__.py", submodule_search_locations=[str(folder)]
            )
    return None


class AirflowFinder(importlib.abc.MetaPathFinder):
    """Answer ``import airflow...`` with Tradewind's modules, unless a real Airflow exists."""

    def __init__(self) -> None:
        self._loader = _Loader()

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != "airflow" and not fullname.startswith("airflow."):
            return None
        if fullname != "airflow":
            root = sys.modules.get("airflow")
            if root is None or not getattr(root, "__tradewind_compat__", False):
                return None  # a real Airflow (or nothing) owns the airflow package
        if fullname == EXAMPLES:
            spec = _example_package()
            if spec is not None:
                return spec
        if not _names.is_module(fullname):
            raise unsupported_module(fullname)
        return importlib.machinery.ModuleSpec(
            fullname, self._loader, is_package=_names.is_package(fullname)
        )
