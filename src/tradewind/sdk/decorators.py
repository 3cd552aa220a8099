"""TaskFlow: ``@task``, ``@task.branch``, ``@task.bash``, ``@task.short_circuit``.

Calling a decorated function inside a DAG creates a task and returns an XComArg; passing it
into another task's call creates the edge and, at run time, the value travels through XCom.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from tradewind.operators.bash import BashOperator
from tradewind.operators.python import (
    BranchMixIn,
    PythonOperator,
    ShortCircuitOperator,
    call_python,
    determine_kwargs,
)
from tradewind.sdk.xcom_arg import XComArg, find_xcom_args, resolve_xcom_args


class _DecoratedMixin:
    """Resolve XComArg arguments at run time, then call the function."""

    _is_decorated = True

    def _resolved_call_args(self, context: dict[str, Any]) -> tuple[list[Any], dict[str, Any]]:
        op: Any = self
        args = resolve_xcom_args(list(op.op_args), context)
        kwargs = resolve_xcom_args(dict(op.op_kwargs), context)
        ctx_kwargs = determine_kwargs(op.python_callable, args, context)
        for k, v in ctx_kwargs.items():
            kwargs.setdefault(k, v)
        if getattr(op, "templates_dict", None) is not None:
            kwargs.setdefault("templates_dict", op.templates_dict)
        sig = inspect.signature(op.python_callable)
        if not any(p.kind == p.VAR_KEYWORD for p in sig.parameters.values()):
            kwargs = {k: v for k, v in kwargs.items() if k in sig.parameters}
        return args, kwargs


class DecoratedPythonOperator(_DecoratedMixin, PythonOperator):
    """The operator behind ``@task``."""

    template_fields = ("templates_dict", "op_args", "op_kwargs")

    def execute(self, context: dict[str, Any]) -> Any:
        args, kwargs = self._resolved_call_args(context)
        result = call_python(self.python_callable, *args, **kwargs)
        if self.multiple_outputs and result is not None:
            if not isinstance(result, dict):
                raise TypeError(
                    f"task {self.task_id!r} has multiple_outputs=True but returned "
                    f"{type(result).__name__}, not a dict"
                )
            for key, value in result.items():
                context["ti"].xcom_push(key=str(key), value=value)
        return result


class DecoratedBranchOperator(_DecoratedMixin, PythonOperator, BranchMixIn):
    """The operator behind ``@task.branch``."""

    def execute(self, context: dict[str, Any]) -> Any:
        args, kwargs = self._resolved_call_args(context)
        return self.do_branch(context, self.python_callable(*args, **kwargs))


class DecoratedShortCircuitOperator(_DecoratedMixin, ShortCircuitOperator):
    """The operator behind ``@task.short_circuit``."""

    def execute(self, context: dict[str, Any]) -> Any:
        from tradewind.operators.python import _skip_others

        args, kwargs = self._resolved_call_args(context)
        result = self.python_callable(*args, **kwargs)
        if not result:
            _skip_others(context, self, set(), all_descendants=self.ignore_downstream_trigger_rules)
        return result


class DecoratedBashOperator(_DecoratedMixin, BashOperator):
    """The operator behind ``@task.bash``: the function returns the command to run."""

    def __init__(
        self,
        *,
        python_callable: Callable[..., Any],
        op_args: Any = None,
        op_kwargs: Any = None,
        **kwargs: Any,
    ):
        kwargs.pop("multiple_outputs", None)
        super().__init__(bash_command="", **kwargs)
        self.python_callable = python_callable
        self.op_args = list(op_args or [])
        self.op_kwargs = dict(op_kwargs or {})
        for arg in find_xcom_args([self.op_args, self.op_kwargs]):
            self.set_upstream(arg.operator)

    def execute(self, context: dict[str, Any]) -> Any:
        args, kwargs = self._resolved_call_args(context)
        command = self.python_callable(*args, **kwargs)
        if not isinstance(command, str) or not command.strip():
            raise TypeError(
                f"@task.bash function {self.task_id!r} must return a non-empty command string"
            )
        env = self.get_template_env()
        from tradewind.sdk.templating import render_value

        self.bash_command = render_value(command, context, env)
        return super().execute(context)


def _unique_task_id(base: str) -> str:
    from tradewind.sdk.dag import DagContext
    from tradewind.sdk.taskgroup import TaskGroupContext

    dag = DagContext.current()
    group = TaskGroupContext.current()
    if dag is None:
        return base
    full = group.child_id(base) if group else base
    if full not in dag.task_dict:
        return base
    i = 1
    while (group.child_id(f"{base}__{i}") if group else f"{base}__{i}") in dag.task_dict:
        i += 1
    return f"{base}__{i}"


def _returns_dict(fn: Callable[..., Any]) -> bool:
    """True if ``fn`` is annotated ``-> dict`` (also ``dict[str, int]``, ``Dict``, as a string)."""
    ret = inspect.signature(fn).return_annotation
    if isinstance(ret, str):  # ``from __future__ import annotations`` leaves strings
        name = ret.split("[", 1)[0].strip()
        return name in ("dict", "Dict", "typing.Dict", "t.Dict")
    origin = getattr(ret, "__origin__", ret)
    return origin is dict


class _TaskDecorator:
    """A decorated function: call it in a DAG to create a task; ``.override(...)`` to tweak."""

    def __init__(self, fn: Callable[..., Any], operator_class: type, kwargs: dict[str, Any]):
        self.function = fn
        self.operator_class = operator_class
        self.kwargs = kwargs
        functools.update_wrapper(self, fn)
        if "multiple_outputs" not in kwargs and operator_class is DecoratedPythonOperator:
            self.kwargs["multiple_outputs"] = _returns_dict(fn)

    def override(self, **kwargs: Any) -> _TaskDecorator:
        return _TaskDecorator(self.function, self.operator_class, {**self.kwargs, **kwargs})

    def partial(self, **kwargs: Any) -> _PartialTaskDecorator:
        """Fix some of the function's arguments for every map index; ``.expand(...)`` next."""
        return _PartialTaskDecorator(self, kwargs)

    def expand(self, *args: Any, **mapped: Any) -> XComArg:
        """One task instance per element of the mapped arguments (their cross product)."""
        return _PartialTaskDecorator(self, {}).expand(*args, **mapped)

    def expand_kwargs(self, kwargs: Any, *, strict: bool = True) -> XComArg:
        """One task instance per dict of keyword arguments (a list, or a task's output)."""
        return _PartialTaskDecorator(self, {}).expand_kwargs(kwargs, strict=strict)

    def __call__(self, *args: Any, **kwargs: Any) -> XComArg:
        task_kwargs = dict(self.kwargs)
        task_id = task_kwargs.pop("task_id", None) or self.function.__name__
        task_kwargs.setdefault("doc_md", self.function.__doc__)
        op = self.operator_class(
            task_id=_unique_task_id(task_id),
            python_callable=self.function,
            op_args=list(args),
            op_kwargs=kwargs,
            **task_kwargs,
        )
        return XComArg(op)


def _make(operator_class: type) -> Callable[..., Any]:
    def decorator(python_callable: Callable[..., Any] | None = None, **kwargs: Any) -> Any:
        if python_callable is not None and callable(python_callable):
            return _TaskDecorator(python_callable, operator_class, kwargs)
        return lambda fn: _TaskDecorator(fn, operator_class, kwargs)

    return decorator


class _TaskNamespace:
    """``task`` itself: ``@task``, ``@task(...)``, ``@task.python``, ``@task.branch``..."""

    python = staticmethod(_make(DecoratedPythonOperator))
    branch = staticmethod(_make(DecoratedBranchOperator))
    short_circuit = staticmethod(_make(DecoratedShortCircuitOperator))
    bash = staticmethod(_make(DecoratedBashOperator))

    def __call__(self, python_callable: Callable[..., Any] | None = None, **kwargs: Any) -> Any:
        return self.python(python_callable, **kwargs)

    def __getattr__(self, name: str) -> Any:
        if name == "sensor":
            from tradewind.sensors.python import sensor_task

            return sensor_task
        if name in ("virtualenv", "external_python", "branch_virtualenv", "branch_external_python"):
            from tradewind.operators.python_venv import DECORATORS

            return DECORATORS[name]
        raise AttributeError(f"task.{name} is not a TaskFlow decorator Tradewind provides")


task = _TaskNamespace()


class _PartialTaskDecorator:
    """``my_task.partial(y=1)``: the function's fixed arguments, waiting for ``.expand``."""

    def __init__(self, decorator: _TaskDecorator, kwargs: dict[str, Any]):
        from tradewind.sdk import _site

        self.decorator = decorator
        self.kwargs = kwargs
        self.site = _site.definition_site()

    def _fail(self, message: str) -> Exception:
        from tradewind.errors import DagDefinitionError

        task_id = self.decorator.kwargs.get("task_id") or self.decorator.function.__name__
        return DagDefinitionError(f"task {task_id!r}: {message}", *self.site)

    def _check_keys(self, mapped: dict[str, Any]) -> None:
        sig = inspect.signature(self.decorator.function)
        any_kw = any(p.kind == p.VAR_KEYWORD for p in sig.parameters.values())
        for key in mapped:
            if key in self.kwargs:
                raise self._fail(f"argument {key!r} is given to both partial() and expand()")
            if not any_kw and key not in sig.parameters:
                raise self._fail(
                    f"function {self.decorator.function.__name__}() has no argument {key!r} "
                    "to map over"
                )

    def expand(self, *args: Any, **mapped: Any) -> XComArg:
        from tradewind.sdk.mapping import (
            DictOfListsExpandInput,
            _check_expand_call,
            check_mapped_value,
        )

        _check_expand_call(args, mapped, self._fail)
        self._check_keys(mapped)
        for key, value in mapped.items():
            check_mapped_value(key, value, self._fail)
        return self._build(DictOfListsExpandInput(dict(mapped)))

    def expand_kwargs(self, kwargs: Any, *, strict: bool = True) -> XComArg:
        from tradewind.sdk.mapping import ListOfDictsExpandInput, _check_kwargs_input

        _check_kwargs_input(kwargs, self._fail)
        if isinstance(kwargs, list | tuple):
            for item in kwargs:
                if isinstance(item, dict):
                    self._check_keys(item)
        return self._build(
            ListOfDictsExpandInput(list(kwargs) if isinstance(kwargs, tuple) else kwargs)
        )

    def _build(self, expand_input: Any) -> XComArg:
        from tradewind.sdk.mapping import make_mapped_decorated

        out = self.decorator(**self.kwargs)
        make_mapped_decorated(out.operator, expand_input)
        return XComArg(out.operator)


def setup(python_callable: Callable[..., Any] | None = None, **kwargs: Any) -> Any:
    """``@setup``: a TaskFlow task that is a setup task (see ``sdk/setup_teardown.py``)."""
    return _setup_teardown(python_callable, kwargs, teardown=False)


def teardown(
    python_callable: Callable[..., Any] | None = None,
    *,
    on_failure_fail_dagrun: bool = False,
    **kwargs: Any,
) -> Any:
    """``@teardown``: a TaskFlow task that is a teardown of the setups passed into it."""
    kwargs["on_failure_fail_dagrun"] = on_failure_fail_dagrun
    return _setup_teardown(python_callable, kwargs, teardown=True)


def _setup_teardown(fn: Callable[..., Any] | None, kwargs: dict[str, Any], teardown: bool) -> Any:
    fail_run = kwargs.pop("on_failure_fail_dagrun", False)

    def wrap(func: Callable[..., Any]) -> _TaskDecorator:
        inner = (
            func
            if isinstance(func, _TaskDecorator)
            else _TaskDecorator(func, DecoratedPythonOperator, kwargs)
        )
        return _MarkedDecorator(inner, teardown, fail_run)

    return wrap(fn) if fn is not None and callable(fn) else wrap


class _MarkedDecorator(_TaskDecorator):
    """A TaskFlow decorator whose tasks are setups or teardowns."""

    def __init__(self, inner: _TaskDecorator, teardown: bool, fail_run: bool) -> None:
        super().__init__(inner.function, inner.operator_class, inner.kwargs)
        self._teardown = teardown
        self._fail_run = fail_run

    def override(self, **kwargs: Any) -> _TaskDecorator:
        return _MarkedDecorator(super().override(**kwargs), self._teardown, self._fail_run)

    def __call__(self, *args: Any, **kwargs: Any) -> XComArg:
        out = super().__call__(*args, **kwargs)
        if not self._teardown:
            return out.as_setup()
        setups = [a for a in find_xcom_args([list(args), kwargs]) if a.operator.is_setup]
        return out.as_teardown(setups=setups or None, on_failure_fail_dagrun=self._fail_run)
