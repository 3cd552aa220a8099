"""TaskGroup: a named, collapsible group of tasks whose ids are prefixed by the group's id."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tradewind.errors import DagDefinitionError
from tradewind.sdk import _site
from tradewind.sdk.dependencies import DependencyMixin

if TYPE_CHECKING:
    from tradewind.sdk.baseoperator import BaseOperator
    from tradewind.sdk.dag import DAG


class TaskGroupContext:
    """The stack of task groups opened with ``with TaskGroup(...)``."""

    _stack: list[TaskGroup] = []

    @classmethod
    def current(cls) -> TaskGroup | None:
        return cls._stack[-1] if cls._stack else None


class TaskGroup(DependencyMixin):
    """Group tasks under ``group_id``; ``with TaskGroup("extract") as g:`` prefixes task ids.

    Args:
        group_id: the group's name; tasks inside get ids ``group_id.task_id``.
        prefix_group_id: set False to keep the tasks' own ids.
        default_args: defaults for the tasks of this group (over the DAG's).
    """

    def __init__(
        self,
        group_id: str | None,
        prefix_group_id: bool = True,
        parent_group: TaskGroup | None = None,
        dag: DAG | None = None,
        default_args: dict[str, Any] | None = None,
        tooltip: str = "",
        ui_color: str = "CornflowerBlue",
        ui_fgcolor: str = "#000",
        _root: bool = False,
    ) -> None:
        from tradewind.sdk.dag import DagContext

        self.filename, self.lineno = _site.definition_site()
        self.children: dict[str, BaseOperator | TaskGroup] = {}
        self.prefix_group_id = prefix_group_id
        self.default_args = dict(default_args or {})
        self.tooltip = tooltip
        self.ui_color = ui_color
        self.ui_fgcolor = ui_fgcolor
        if _root:
            self._group_id: str | None = None
            self.parent_group: TaskGroup | None = None
            self.dag = dag
            return
        if not group_id:
            raise DagDefinitionError("a TaskGroup needs a group_id", self.filename, self.lineno)
        self.dag = dag or DagContext.current()
        if self.dag is None:
            raise DagDefinitionError(
                f"TaskGroup {group_id!r} must be created inside a DAG", self.filename, self.lineno
            )
        parent = parent_group or TaskGroupContext.current() or self.dag.task_group
        self.parent_group = parent
        self._group_id = parent.child_id(group_id) if parent else group_id
        if self._group_id in parent.children:
            raise DagDefinitionError(
                f"group id {self._group_id!r} is used twice", self.filename, self.lineno
            )
        parent.children[self._group_id] = self

    @classmethod
    def root(cls, dag: DAG) -> TaskGroup:
        return cls(None, dag=dag, _root=True)

    @property
    def group_id(self) -> str | None:
        return self._group_id

    @property
    def is_root(self) -> bool:
        return self._group_id is None

    def child_id(self, label: str) -> str:
        """Return the full id of a child called ``label``.

        As in Airflow, a group with ``prefix_group_id=False`` adds no prefix at all (not even
        its parents'), so ported DAGs keep their task ids.
        """
        if self.is_root or not self.prefix_group_id:
            return label
        return f"{self._group_id}.{label}"

    def add(self, task: BaseOperator) -> None:
        self.children[task.task_id] = task

    def __enter__(self) -> TaskGroup:
        TaskGroupContext._stack.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        TaskGroupContext._stack.pop()

    def iter_tasks(self) -> list[BaseOperator]:
        out: list[BaseOperator] = []
        for child in self.children.values():
            if isinstance(child, TaskGroup):
                out.extend(child.iter_tasks())
            else:
                out.append(child)
        return out

    @property
    def roots(self) -> list[BaseOperator]:
        tasks = self.iter_tasks()
        ids = {t.task_id for t in tasks}
        return [t for t in tasks if not (t.upstream_task_ids & ids)]

    @property
    def leaves(self) -> list[BaseOperator]:
        tasks = self.iter_tasks()
        ids = {t.task_id for t in tasks}
        return [t for t in tasks if not (t.downstream_task_ids & ids)]

    def set_upstream(self, other: Any) -> None:
        for root in self.roots:
            root.set_upstream(other)

    def set_downstream(self, other: Any) -> None:
        for leaf in self.leaves:
            leaf.set_downstream(other)

    def dump(self) -> dict[str, Any]:
        """Return the group tree as JSON: ids of child tasks and nested groups."""
        extra = {"is_mapped": True} if getattr(self, "is_mapped", False) else {}
        return {
            **extra,
            "group_id": self._group_id,
            "tooltip": self.tooltip,
            "ui_color": self.ui_color,
            "children": [
                c.dump() if isinstance(c, TaskGroup) else c.task_id for c in self.children.values()
            ],
        }


def _unique_group_id(group_id: str) -> str:
    """``group_id``, or ``group_id__N`` when a ``@task_group`` function is called again."""
    from tradewind.sdk.dag import DagContext

    dag = DagContext.current()
    parent = TaskGroupContext.current() or (dag.task_group if dag else None)
    if parent is None or parent.child_id(group_id) not in parent.children:
        return group_id
    n = 1
    while parent.child_id(f"{group_id}__{n}") in parent.children:
        n += 1
    return f"{group_id}__{n}"


def task_group(python_callable: Callable[..., Any] | None = None, **group_kwargs: Any) -> Any:
    """Decorate a function that creates tasks; each call builds them inside a new TaskGroup.

    As Airflow's ``@task_group``: the call returns what the function returns (an XComArg, a
    task...) so dependencies bind to it, or the group itself when the function returns None.
    ``.expand(...)`` / ``.partial(...).expand(...)`` map the whole group (``sdk.mapped_group``).
    """

    def wrap(fn: Callable[..., Any]) -> Any:
        from tradewind.sdk.mapped_group import MappedTaskGroupFactory

        return MappedTaskGroupFactory(fn, group_kwargs)

    if python_callable is not None:
        return wrap(python_callable)
    return wrap
