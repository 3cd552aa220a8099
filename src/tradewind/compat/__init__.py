"""Airflow's import names inside Tradewind's own processes.

Unmodified Airflow DAG files say ``from airflow.operators.bash import BashOperator`` or
``from airflow.sdk import DAG, task``. Each process of Tradewind that imports DAG files (the
DAG processor, the workers, ``dags test`` / ``tasks test``, the triggerer) calls
:func:`install_airflow_imports` once at start (through ``sdk.defaults.configure``), which puts
a meta path finder at the end of ``sys.meta_path`` that serves ``airflow.*`` from Tradewind.

Nothing named ``airflow`` is installed into site-packages, and the finder comes after the
ordinary path finder: where a real Airflow is installed in the same environment, it wins.
``[core] airflow_imports = false`` turns the finder off.
"""

from __future__ import annotations

import sys
from typing import Any

from tradewind.compat._finder import AirflowFinder

__all__ = ["airflow_imports_installed", "install_airflow_imports", "uninstall_airflow_imports"]


def _ours() -> list[Any]:
    return [f for f in sys.meta_path if isinstance(f, AirflowFinder)]


def install_airflow_imports(settings: Any = None) -> bool:
    """Serve ``import airflow...`` from Tradewind in this process; return whether it is on.

    With ``settings`` whose ``[core] airflow_imports`` is false, the finder is removed instead.
    Calling it again is harmless.
    """
    if settings is not None and not settings.get("core", "airflow_imports"):
        uninstall_airflow_imports()
        return False
    if not _ours():
        sys.meta_path.append(AirflowFinder())
    return True


def uninstall_airflow_imports() -> None:
    """Remove the finder and forget the ``airflow`` modules it served."""
    for finder in _ours():
        sys.meta_path.remove(finder)
    for name, module in list(sys.modules.items()):
        if (name == "airflow" or name.startswith("airflow.")) and getattr(
            module, "__tradewind_compat__", False
        ):
            del sys.modules[name]


def airflow_imports_installed() -> bool:
    """Whether ``import airflow`` is served by Tradewind in this process."""
    return bool(_ours())
