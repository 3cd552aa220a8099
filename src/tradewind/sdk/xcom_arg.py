"""XComArg: a reference to a task's (future) return value, resolved when the consumer runs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tradewind.sdk.dependencies import DependencyMixin

if TYPE_CHECKING:
    from tradewind.sdk.baseoperator import BaseOperator
    from tradewind.sdk.dag import DAG

XCOM_RETURN_KEY = "return_value"


class XComArg(DependencyMixin):
    """The output of ``operator`` under ``key``; passing it to another task adds the edge."""

    def __init__(self, operator: BaseOperator, key: str = XCOM_RETURN_KEY):
        self.operator = operator
        self.key = key

    def __getitem__(self, key: str) -> XComArg:
        return XComArg(self.operator, key)

    def __repr__(self) -> str:
        return f"XComArg({self.operator.task_id!r}, {self.key!r})"

    @property
    def roots(self) -> list[BaseOperator]:
        return [self.operator]

    @property
    def leaves(self) -> list[BaseOperator]:
        return [self.operator]

    def set_upstream(self, other: Any) -> None:
        self.operator.set_upstream(other)

    def set_downstream(self, other: Any) -> None:
        self.operator.set_downstream(other)

    def resolve(self, context: dict[str, Any]) -> Any:
        """Pull the value from XCom for the running task instance."""
        return context["ti"].xcom_pull(task_ids=self.operator.task_id, key=self.key)

    # setup/teardown: the XComArg stands for its task (sdk/setup_teardown.py)
    def as_setup(self) -> XComArg:
        self.operator.as_setup()
        return self

    def as_teardown(
        self, setups: Any = None, on_failure_fail_dagrun: bool | None = None
    ) -> XComArg:
        self.operator.as_teardown(setups, on_failure_fail_dagrun)
        return self

    def __enter__(self) -> XComArg:
        self.operator.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.operator.__exit__(*exc)


class DagParamArg:
    """A ``@dag`` function argument: resolves to the run's ``params[name]``."""

    def __init__(self, dag: DAG, name: str):
        self.dag = dag
        self.name = name

    def resolve(self, context: dict[str, Any]) -> Any:
        return context["params"][self.name]

    def __str__(self) -> str:
        # In an f-string inside a templated field, this renders to the run's value.
        return "{{ params." + self.name + " }}"

    def __repr__(self) -> str:
        return f"DagParamArg({self.name!r})"


def find_xcom_args(value: Any) -> list[XComArg]:
    """Return every XComArg nested in ``value`` (lists, tuples, dicts)."""
    found: list[XComArg] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, XComArg):
            found.append(item)
        elif isinstance(item, list | tuple | set):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
    return found


def resolve_xcom_args(value: Any, context: dict[str, Any]) -> Any:
    """Return ``value`` with every XComArg / DagParamArg replaced by its runtime value."""
    if isinstance(value, XComArg | DagParamArg):
        return value.resolve(context)
    if isinstance(value, list):
        return [resolve_xcom_args(v, context) for v in value]
    if isinstance(value, tuple):
        return tuple(resolve_xcom_args(v, context) for v in value)
    if isinstance(value, dict):
        return {k: resolve_xcom_args(v, context) for k, v in value.items()}
    return value
