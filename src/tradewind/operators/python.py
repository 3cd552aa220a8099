"""PythonOperator and its branching / short-circuit variants."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any

from tradewind.errors import TradewindError
from tradewind.sdk.baseoperator import BaseOperator


def determine_kwargs(
    fn: Callable[..., Any], args: Collection[Any], context: Mapping[str, Any]
) -> dict[str, Any]:
    """Return the context entries ``fn`` asks for by parameter name (all with ``**kwargs``).

    Names already filled by the positional ``args`` are left out, so ``def f(ds, **kw)``
    called with ``op_args=[x]`` gets ``x`` and no "multiple values for ds" error.
    """
    sig = inspect.signature(fn)
    params = list(sig.parameters.values())
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    taken = {p.name for p in positional[: len(args)]}
    if any(p.kind == p.VAR_KEYWORD for p in params):
        return {k: v for k, v in context.items() if k not in taken}
    return {p.name: context[p.name] for p in params if p.name in context and p.name not in taken}


def call_python(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call a task's callable; an ``async def`` one (as Airflow 3 allows) runs to its end on
    an event loop of its own."""
    result = fn(*args, **kwargs)
    if inspect.iscoroutine(result):
        import asyncio

        result = asyncio.run(result)
    return result


class PythonOperator(BaseOperator):
    """Call ``python_callable(*op_args, **op_kwargs)``; context values are passed by name.

    Args:
        python_callable: the function to call.
        op_args / op_kwargs: its arguments (templated).
        templates_dict: a dict rendered with Jinja and passed as ``templates_dict``.
    """

    template_fields = ("templates_dict", "op_args", "op_kwargs")
    template_fields_renderers = {"templates_dict": "json", "op_args": "py", "op_kwargs": "py"}
    ui_color = "#ffefeb"

    def __init__(
        self,
        *,
        python_callable: Callable[..., Any],
        op_args: Collection[Any] | None = None,
        op_kwargs: Mapping[str, Any] | None = None,
        templates_dict: dict[str, Any] | None = None,
        templates_exts: Iterable[str] | None = None,
        show_return_value_in_logs: bool = True,
        **kwargs: Any,
    ) -> None:
        if not callable(python_callable):
            raise TradewindError("`python_callable` param must be callable")
        super().__init__(**kwargs)
        self.python_callable = python_callable
        self.op_args = list(op_args or [])
        self.op_kwargs = dict(op_kwargs or {})
        self.templates_dict = templates_dict
        if templates_exts:
            self.template_ext = tuple(templates_exts)
        self.show_return_value_in_logs = show_return_value_in_logs
        from tradewind.sdk.xcom_arg import find_xcom_args

        for arg in find_xcom_args([self.op_args, self.op_kwargs, self.templates_dict]):
            self.set_upstream(arg.operator)

    def execute(self, context: dict[str, Any]) -> Any:
        kwargs = determine_kwargs(self.python_callable, self.op_args, context)
        kwargs.update(self.op_kwargs)
        if self.templates_dict is not None:
            kwargs["templates_dict"] = self.templates_dict
        return self.execute_callable(kwargs)

    def execute_callable(self, kwargs: dict[str, Any]) -> Any:
        return call_python(self.python_callable, *self.op_args, **kwargs)


def _skip_others(
    context: dict[str, Any], task: BaseOperator, keep: set[str], all_descendants: bool
) -> None:
    """Mark the direct downstream tasks not in ``keep`` as skipped (or all descendants)."""
    dag = task.dag
    assert dag is not None
    if all_descendants:
        targets: set[str] = set()
        stack = list(task.downstream_task_ids)
        while stack:
            tid = stack.pop()
            if tid not in targets:
                targets.add(tid)
                stack.extend(dag.task_dict[tid].downstream_task_ids)
    else:
        targets = set(task.downstream_task_ids)
    to_skip = sorted(targets - keep)
    if to_skip:
        context["ti"].skip_tasks(to_skip)


class BranchMixIn:
    """Follow the branch(es) a callable returns; skip the other direct downstream tasks."""

    def do_branch(self, context: dict[str, Any], branches: Any) -> Any:
        task: BaseOperator = self  # type: ignore[assignment]
        if branches is None:
            chosen: set[str] = set()
        elif isinstance(branches, str):
            chosen = {branches}
        else:
            chosen = set(branches)
        assert task.dag is not None
        resolved: set[str] = set()
        for b in chosen:
            if b in task.dag.task_dict:
                resolved.add(b)
                continue
            group = _find_group(task.dag.task_group, b)
            if group is None:
                raise TradewindError(
                    f"branch task {task.task_id!r} returned {b!r}, which is not a task or task "
                    f"group of DAG {task.dag.dag_id!r}"
                )
            resolved |= {t.task_id for t in group.roots}
        unknown = resolved - task.downstream_task_ids
        if unknown:
            raise TradewindError(
                f"branch task {task.task_id!r} returned {sorted(unknown)}, which are not "
                "directly downstream of it"
            )
        _skip_others(context, task, resolved, all_descendants=False)
        return branches


def _find_group(group: Any, group_id: str) -> Any:
    from tradewind.sdk.taskgroup import TaskGroup

    for child in group.children.values():
        if isinstance(child, TaskGroup):
            if child.group_id == group_id:
                return child
            found = _find_group(child, group_id)
            if found is not None:
                return found
    return None


class BranchPythonOperator(PythonOperator, BranchMixIn):
    """A PythonOperator whose callable returns the task id(s) to follow."""

    def execute(self, context: dict[str, Any]) -> Any:
        return self.do_branch(context, super().execute(context))


class ShortCircuitOperator(PythonOperator):
    """Skip downstream work when the callable returns something falsy.

    Args:
        ignore_downstream_trigger_rules: True (default) skips every descendant; False only the
            direct downstream tasks, letting trigger rules decide the rest.
    """

    def __init__(self, *, ignore_downstream_trigger_rules: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ignore_downstream_trigger_rules = ignore_downstream_trigger_rules

    def execute(self, context: dict[str, Any]) -> Any:
        result = super().execute(context)
        if not result:
            _skip_others(context, self, set(), all_descendants=self.ignore_downstream_trigger_rules)
        return result
