"""PythonVirtualenvOperator and ExternalPythonOperator: a callable in another interpreter.

Arguments and the return value cross as JSON (Tradewind never pickles), so the callable
takes and returns JSON-able values; context values it asks for by name are passed when they
are JSON-able (``ds``, ``run_id``, ``params``...). The callable must be a plain function
whose source can be read; imports go inside it, as Airflow's documentation says.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Container, Sequence
from typing import Any

from tradewind.errors import DagDefinitionError
from tradewind.operators import _interpreter
from tradewind.operators._interpreter import is_venv_installed
from tradewind.operators.python import BranchMixIn, PythonOperator
from tradewind.sdk.decorators import _DecoratedMixin, _make

__all__ = [
    "BranchExternalPythonOperator",
    "BranchPythonVirtualenvOperator",
    "ExternalPythonOperator",
    "PythonVirtualenvOperator",
    "is_venv_installed",
]

log = logging.getLogger("tradewind.task")


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


class _OtherInterpreter(PythonOperator):
    """Shared by the virtualenv and external-python operators."""

    def __init__(
        self,
        *,
        python_callable: Callable[..., Any],
        skip_on_exit_code: int | Container[int] | None = None,
        serializer: str | None = None,
        use_dill: bool = False,
        expect_airflow: bool = True,
        expect_pendulum: bool = False,
        string_args: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(python_callable=python_callable, **kwargs)
        if isinstance(skip_on_exit_code, int):
            skip_on_exit_code = [skip_on_exit_code]
        self.skip_on_exit_code = list(skip_on_exit_code or [])  # type: ignore[call-overload]
        if serializer not in (None, "json", "pickle") or use_dill:
            log.debug("serializer %s ignored: arguments always cross as JSON", serializer)

    def _python(self) -> str:
        raise NotImplementedError

    def execute_callable(self, kwargs: dict[str, Any]) -> Any:
        return self._call(list(self.op_args), kwargs)

    def _call(self, args: list[Any], kwargs: dict[str, Any]) -> Any:
        import inspect

        params = inspect.signature(self.python_callable).parameters
        passed = {
            k: v
            for k, v in kwargs.items()
            if (k in params or k in self.op_kwargs) and (k in self.op_kwargs or _jsonable(v))
        }
        return _interpreter.run_function(
            self._python(),
            self.python_callable,
            args,
            passed,
            skip_on_exit_code=self.skip_on_exit_code,
        )


class PythonVirtualenvOperator(_OtherInterpreter):
    """Run the callable in a virtualenv with ``requirements`` (made once, then cached).

    Args:
        requirements: pip requirement strings (or one string, one requirement per line).
        python_version: a ``pythonX.Y`` on the PATH to base the virtualenv on.
        system_site_packages: let the virtualenv see this interpreter's packages.
        pip_install_options: extra options for ``pip install``.
        venv_cache_path: where the cached virtualenvs live (a temp folder by default).
    """

    template_fields = ("templates_dict", "op_args", "op_kwargs", "requirements")  # type: ignore[assignment]

    def __init__(
        self,
        *,
        python_callable: Callable[..., Any],
        requirements: str | Sequence[str] | None = None,
        python_version: str | None = None,
        system_site_packages: bool = True,
        pip_install_options: Sequence[str] | None = None,
        venv_cache_path: str | os.PathLike[str] | None = None,
        index_urls: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(python_callable=python_callable, **kwargs)
        if isinstance(requirements, str):
            requirements = [r.strip() for r in requirements.splitlines() if r.strip()]
        self.requirements = list(requirements or [])
        self.python_version = str(python_version) if python_version else None
        self.system_site_packages = system_site_packages
        options = list(pip_install_options or [])
        for i, url in enumerate(index_urls or []):
            options += ["--index-url" if i == 0 else "--extra-index-url", url]
        self.pip_install_options = options
        self.venv_cache_path = venv_cache_path

    def _python(self) -> str:
        return _interpreter.virtualenv_python(
            self.requirements,
            python_version=self.python_version,
            system_site_packages=self.system_site_packages,
            pip_install_options=self.pip_install_options,
            cache_path=self.venv_cache_path,
        )


class ExternalPythonOperator(_OtherInterpreter):
    """Run the callable with an existing interpreter ``python`` (e.g. a prepared venv's)."""

    template_fields = ("templates_dict", "op_args", "op_kwargs", "python")  # type: ignore[assignment]

    def __init__(self, *, python: str, python_callable: Callable[..., Any], **kwargs: Any):
        if not python:
            raise DagDefinitionError("ExternalPythonOperator needs python= (an interpreter path)")
        super().__init__(python_callable=python_callable, **kwargs)
        self.python = python

    def _python(self) -> str:
        return self.python


class BranchPythonVirtualenvOperator(PythonVirtualenvOperator, BranchMixIn):
    """A PythonVirtualenvOperator whose callable returns the task id(s) to follow."""

    def execute(self, context: dict[str, Any]) -> Any:
        return self.do_branch(context, super().execute(context))


class BranchExternalPythonOperator(ExternalPythonOperator, BranchMixIn):
    """An ExternalPythonOperator whose callable returns the task id(s) to follow."""

    def execute(self, context: dict[str, Any]) -> Any:
        return self.do_branch(context, super().execute(context))


class _DecoratedOther(_DecoratedMixin):
    def execute(self, context: dict[str, Any]) -> Any:
        args, kwargs = self._resolved_call_args(context)
        op: Any = self
        return op._call(args, kwargs)


class DecoratedVirtualenvOperator(_DecoratedOther, PythonVirtualenvOperator):
    """The operator behind ``@task.virtualenv``."""


class DecoratedExternalPythonOperator(_DecoratedOther, ExternalPythonOperator):
    """The operator behind ``@task.external_python``."""


class DecoratedBranchVirtualenvOperator(_DecoratedOther, BranchPythonVirtualenvOperator):
    """The operator behind ``@task.branch_virtualenv``."""

    def execute(self, context: dict[str, Any]) -> Any:
        return self.do_branch(context, super().execute(context))


class DecoratedBranchExternalPythonOperator(_DecoratedOther, BranchExternalPythonOperator):
    """The operator behind ``@task.branch_external_python``."""

    def execute(self, context: dict[str, Any]) -> Any:
        return self.do_branch(context, super().execute(context))


DECORATORS = {
    "virtualenv": _make(DecoratedVirtualenvOperator),
    "external_python": _make(DecoratedExternalPythonOperator),
    "branch_virtualenv": _make(DecoratedBranchVirtualenvOperator),
    "branch_external_python": _make(DecoratedBranchExternalPythonOperator),
}
