"""BaseOperator: one kind of work; an instance inside a DAG is a task."""

from __future__ import annotations

import contextlib
import functools
import inspect
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from tradewind.core.trigger_rules import validate_trigger_rule
from tradewind.errors import DagDefinitionError
from tradewind.sdk import _site
from tradewind.sdk.dependencies import DependencyMixin

if TYPE_CHECKING:
    from tradewind.sdk.dag import DAG
    from tradewind.sdk.taskgroup import TaskGroup
    from tradewind.sdk.xcom_arg import XComArg

_BASE_ARGS = frozenset(
    [
        "task_id",
        "owner",
        "email",
        "email_on_retry",
        "email_on_failure",
        "retries",
        "retry_delay",
        "retry_exponential_backoff",
        "max_retry_delay",
        "start_date",
        "end_date",
        "depends_on_past",
        "wait_for_downstream",
        "dag",
        "params",
        "default_args",
        "priority_weight",
        "weight_rule",
        "queue",
        "pool",
        "pool_slots",
        "execution_timeout",
        "on_execute_callback",
        "on_failure_callback",
        "on_success_callback",
        "on_retry_callback",
        "on_skipped_callback",
        "trigger_rule",
        "task_group",
        "doc",
        "doc_md",
        "doc_rst",
        "doc_json",
        "doc_yaml",
        "executor_config",
        "do_xcom_push",
        "multiple_outputs",
        "inlets",
        "outlets",
        "max_active_tis_per_dag",
        "max_active_tis_per_dagrun",
        "task_display_name",
        "resources",
        "run_as_user",
        "sla",
        "executor",
        "retry_policy",
        "map_index_template",
        "pre_execute",
        "post_execute",
    ]
)
_sig_cache: dict[type, frozenset[str]] = {}
# > 0 while a mapped task's operator is built for one map index: it joins no DAG and no edges.
_linking_suspended = 0


@contextlib.contextmanager
def suspended_linking() -> Iterator[None]:
    """Build operators that add no edges (an unmapped copy of a task already in its DAG)."""
    global _linking_suspended
    _linking_suspended += 1
    try:
        yield
    finally:
        _linking_suspended -= 1


def _init_params(cls: type) -> frozenset[str]:
    """Return every keyword any ``__init__`` in the class's MRO accepts."""
    if cls not in _sig_cache:
        names: set[str] = set()
        for klass in cls.__mro__:
            init = klass.__dict__.get("__init__")
            if init is None:
                continue
            init = getattr(init, "__wrapped__", init)
            for p in inspect.signature(init).parameters.values():
                if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD) and p.name != "self":
                    names.add(p.name)
        _sig_cache[cls] = frozenset(names | _BASE_ARGS)
    return _sig_cache[cls]


def _apply_defaults(init: Callable[..., None]) -> Callable[..., None]:
    """Fill missing keyword arguments from the DAG's and the operator's ``default_args``."""

    @functools.wraps(init)
    def wrapper(self: BaseOperator, *args: Any, **kwargs: Any) -> None:
        if getattr(self, "_tw_init_started", False):
            return init(self, *args, **kwargs)
        self._tw_init_started = True
        from tradewind.sdk.dag import DagContext
        from tradewind.sdk.taskgroup import TaskGroupContext

        # The outermost __init__ is called from the line that creates the task: remember it,
        # so errors name that line and not a subclass's ``super().__init__`` call.
        self._tw_site = _site.definition_site()  # type: ignore[attr-defined]
        group = kwargs.get("task_group") or TaskGroupContext.current()
        dag = kwargs.get("dag") or DagContext.current() or getattr(group, "dag", None)
        merged: dict[str, Any] = {}
        if dag is not None:
            merged.update(dag.default_args)
        if group is not None:
            merged.update(group.default_args)
        merged.update(kwargs.pop("default_args", None) or {})
        accepted = _init_params(type(self))
        for key, value in merged.items():
            if key not in kwargs and key in accepted:
                kwargs[key] = value
        if dag is not None:
            kwargs["dag"] = dag
        if "params" in merged and "params" in kwargs and kwargs["params"] is not merged["params"]:
            kwargs["params"] = {**merged["params"], **kwargs["params"]}
        init(self, *args, **kwargs)
        _link_xcom_args(self)

    wrapper.__wrapped__ = init
    return wrapper


class BaseOperator(DependencyMixin):
    """Base of every operator, with Airflow's arguments.

    Subclasses implement :meth:`execute`. Arguments missing from the call are taken from the
    DAG's ``default_args``. Fields named in ``template_fields`` are rendered with Jinja before
    ``execute`` runs; a string ending with one of ``template_ext`` is read as a template file.
    """

    template_fields: Sequence[str] = ()
    template_ext: Sequence[str] = ()
    template_fields_renderers: dict[str, str] = {}
    ui_color: str = "#fff"
    ui_fgcolor: str = "#000"
    is_sensor: bool = False
    is_mapped: bool = False
    _is_decorated: bool = False
    is_setup: bool = False
    is_teardown: bool = False
    on_failure_fail_dagrun: bool = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "__init__" in cls.__dict__:
            cls.__init__ = _apply_defaults(cls.__dict__["__init__"])  # type: ignore[method-assign]

    def __init__(
        self,
        *,
        task_id: str,
        owner: str = "tradewind",
        email: str | Iterable[str] | None = None,
        email_on_retry: bool = True,
        email_on_failure: bool = True,
        retries: int | None = None,
        retry_delay: timedelta | float = timedelta(seconds=300),
        retry_exponential_backoff: bool = False,
        max_retry_delay: timedelta | float | None = None,
        start_date: datetime | None = None,
        end_date: datetime | None = None,
        depends_on_past: bool = False,
        wait_for_downstream: bool = False,
        dag: DAG | None = None,
        params: dict[str, Any] | None = None,
        priority_weight: int = 1,
        weight_rule: str = "downstream",
        queue: str = "default",
        pool: str | None = None,
        pool_slots: int = 1,
        execution_timeout: timedelta | float | None = None,
        on_execute_callback: Callable[..., Any] | None = None,
        on_failure_callback: Callable[..., Any] | None = None,
        on_success_callback: Callable[..., Any] | None = None,
        on_retry_callback: Callable[..., Any] | None = None,
        on_skipped_callback: Callable[..., Any] | None = None,
        trigger_rule: str = "all_success",
        task_group: TaskGroup | None = None,
        doc: str | None = None,
        doc_md: str | None = None,
        executor_config: dict[str, Any] | None = None,
        do_xcom_push: bool = True,
        multiple_outputs: bool = False,
        inlets: Any = None,
        outlets: Any = None,
        max_active_tis_per_dag: int | None = None,
        task_display_name: str | None = None,
        **kwargs: Any,
    ) -> None:
        from tradewind.sdk.dag import DagContext
        from tradewind.sdk.taskgroup import TaskGroupContext

        self._tw_init_started = True
        self.filename, self.lineno = getattr(self, "_tw_site", None) or _site.definition_site()  # type: ignore[var-annotated]
        unknown = {k: v for k, v in kwargs.items() if k not in _BASE_ARGS}
        if unknown:
            raise DagDefinitionError(
                f"invalid arguments were passed to {type(self).__name__} (task_id: {task_id}): "
                f"{', '.join(sorted(unknown))}",
                self.filename,
                self.lineno,
            )
        # Airflow's pre_execute=/post_execute= callables: (context) / (context, result)
        self._pre_execute_hook = kwargs.get("pre_execute")
        self._post_execute_hook = kwargs.get("post_execute")
        if not isinstance(task_id, str) or not task_id or not _valid_id(task_id):
            raise DagDefinitionError(
                f"task_id {task_id!r} must be a non-empty string of letters, digits, "
                "dashes, dots and underscores",
                self.filename,
                self.lineno,
            )
        try:
            self.trigger_rule = validate_trigger_rule(trigger_rule).value
        except ValueError as exc:
            raise DagDefinitionError(
                f"task {task_id!r}: {exc}", self.filename, self.lineno
            ) from None
        dag = dag or DagContext.current()
        group = task_group or TaskGroupContext.current() or (dag.task_group if dag else None)
        self.task_group = group
        self.task_id = group.child_id(task_id) if group is not None else task_id
        self.owner = owner
        self.email = [email] if isinstance(email, str) else (list(email) if email else [])
        self.email_on_retry = email_on_retry
        self.email_on_failure = email_on_failure
        if retries is None:
            from tradewind.sdk import defaults

            retries = defaults.current.retries
        self.retries = int(retries)
        self.retry_delay = _as_timedelta(retry_delay) or timedelta(0)
        self.retry_exponential_backoff = retry_exponential_backoff
        self.max_retry_delay = _as_timedelta(max_retry_delay)
        self.start_date = start_date
        self.end_date = end_date
        self.depends_on_past = depends_on_past or wait_for_downstream
        self.wait_for_downstream = wait_for_downstream
        self.params = dict(params or {})
        self.priority_weight = int(priority_weight)
        if weight_rule not in ("downstream", "upstream", "absolute"):
            raise DagDefinitionError(
                f"task {task_id!r}: weight_rule must be downstream, upstream or absolute",
                self.filename,
                self.lineno,
            )
        self.weight_rule = weight_rule
        self.queue = queue
        self.pool = pool or "default_pool"
        self.pool_slots = int(pool_slots)
        if self.pool_slots < 1:
            raise DagDefinitionError(
                f"task {task_id!r}: pool_slots must be at least 1", self.filename, self.lineno
            )
        self.execution_timeout = _as_timedelta(execution_timeout)
        self.on_execute_callback = on_execute_callback
        self.on_failure_callback = on_failure_callback
        self.on_success_callback = on_success_callback
        self.on_retry_callback = on_retry_callback
        self.on_skipped_callback = on_skipped_callback
        self.doc_md = doc_md or doc
        self.executor_config = executor_config or {}
        self.do_xcom_push = do_xcom_push
        self.multiple_outputs = multiple_outputs
        self.inlets = _as_list(inlets)
        self.outlets = _as_list(outlets)
        self.max_active_tis_per_dag = max_active_tis_per_dag
        self.max_active_tis_per_dagrun: int | None = kwargs.get("max_active_tis_per_dagrun")
        self.map_index_template: str | None = kwargs.get("map_index_template")
        self.task_display_name = task_display_name
        self.upstream_task_ids: set[str] = set()
        self.downstream_task_ids: set[str] = set()
        self.dag: DAG | None = None
        if dag is not None:
            dag.add_task(self)
        if group is not None:
            group.add(self)

    # -- identity and graph ---------------------------------------------------------------
    def __repr__(self) -> str:
        return f"<Task({type(self).__name__}): {self.task_id}>"

    @property
    def operator_name(self) -> str:
        return type(self).__name__

    @property
    def upstream_list(self) -> list[BaseOperator]:
        assert self.dag is not None
        return [self.dag.task_dict[t] for t in sorted(self.upstream_task_ids)]

    @property
    def downstream_list(self) -> list[BaseOperator]:
        assert self.dag is not None
        return [self.dag.task_dict[t] for t in sorted(self.downstream_task_ids)]

    @property
    def roots(self) -> list[BaseOperator]:
        return [self]

    @property
    def leaves(self) -> list[BaseOperator]:
        return [self]

    def _set_relative(self, other: BaseOperator, upstream: bool) -> None:
        if _linking_suspended:
            return
        dag = self.dag or other.dag
        if dag is None:
            raise DagDefinitionError(
                f"tasks {self.task_id!r} and {other.task_id!r} belong to no DAG: create them "
                "inside `with DAG(...)` or pass dag=",
                self.filename,
                self.lineno,
            )
        for t in (self, other):
            if t.dag is None:
                dag.add_task(t)
        if self.dag is not other.dag:
            raise DagDefinitionError(
                f"tasks {self.task_id!r} and {other.task_id!r} belong to different DAGs",
                self.filename,
                self.lineno,
            )
        up, down = (other, self) if upstream else (self, other)
        up.downstream_task_ids.add(down.task_id)
        down.upstream_task_ids.add(up.task_id)
        # Where each edge was written, so a cycle is reported at the edge that closed it.
        dag.edge_sites.setdefault((up.task_id, down.task_id), _site.definition_site())

    def set_upstream(self, other: Any) -> None:
        """Make this task run after ``other`` (a task, task group, XComArg or a list)."""
        for root in self._flatten(other, leaves=True):
            self._set_relative(root, upstream=True)

    def set_downstream(self, other: Any) -> None:
        """Make ``other`` (a task, task group, XComArg or a list) run after this task."""
        for root in self._flatten(other, leaves=False):
            self._set_relative(root, upstream=False)

    @property
    def output(self) -> XComArg:
        """The task's return value as an XComArg, to pass into another task."""
        from tradewind.sdk.xcom_arg import XComArg

        return XComArg(self)

    @classmethod
    def partial(cls, **kwargs: Any) -> Any:
        """Fix the arguments every map index shares; ``.expand(...)`` then maps the rest."""
        from tradewind.sdk.mapping import OperatorPartial

        return OperatorPartial(cls, kwargs)

    # -- execution --------------------------------------------------------------------------
    def execute(self, context: dict[str, Any]) -> Any:
        """Do the work; the return value is pushed to XCom (key ``return_value``)."""
        raise NotImplementedError(f"{type(self).__name__} must implement execute()")

    def pre_execute(self, context: dict[str, Any]) -> None:
        """Hook run just before :meth:`execute` (calls the ``pre_execute=`` callable)."""
        hook = getattr(self, "_pre_execute_hook", None)
        if hook is not None:
            hook(context)

    def post_execute(self, context: dict[str, Any], result: Any = None) -> None:
        """Hook run just after :meth:`execute` (calls the ``post_execute=`` callable)."""
        hook = getattr(self, "_post_execute_hook", None)
        if hook is not None:
            hook(context, result)

    def on_kill(self) -> None:
        """Called when the task is stopped from outside; release external resources here."""

    def render_template_fields(
        self, context: dict[str, Any], jinja_env: Any = None
    ) -> dict[str, Any]:
        """Render every field in ``template_fields`` in place; return {field: rendered value}."""
        from tradewind.sdk.templating import render_fields

        return render_fields(self, context, jinja_env)

    # -- setup and teardown (sdk/setup_teardown.py) -----------------------------------------
    def as_setup(self) -> BaseOperator:
        """Mark this task as a setup task; return it."""
        from tradewind.sdk.setup_teardown import mark_setup

        return mark_setup(self)  # type: ignore[no-any-return]

    def as_teardown(
        self, setups: Any = None, on_failure_fail_dagrun: bool | None = None
    ) -> BaseOperator:
        """Mark this task as the teardown of ``setups``; return it."""
        from tradewind.sdk.setup_teardown import mark_teardown

        return mark_teardown(self, setups, on_failure_fail_dagrun)  # type: ignore[no-any-return]

    def __enter__(self) -> BaseOperator:
        from tradewind.sdk.setup_teardown import enter_scope

        enter_scope(self)
        return self

    def __exit__(self, *exc: object) -> None:
        from tradewind.sdk.setup_teardown import exit_scope

        exit_scope(self)

    def render_template(self, content: Any, context: dict[str, Any], jinja_env: Any = None) -> Any:
        """Render ``content`` (a string, or strings inside lists and dicts) with ``context``."""
        from tradewind.sdk.templating import render_value

        env = jinja_env or self.get_template_env()
        return render_value(content, context, env, tuple(self.template_ext))

    def get_template_env(self) -> Any:
        from tradewind.sdk.templating import environment_for

        return environment_for(self.dag)


# BaseOperator used directly, and subclasses without their own __init__ (EmptyOperator),
# get default_args too.
BaseOperator.__init__ = _apply_defaults(BaseOperator.__init__)  # type: ignore[method-assign]


def _link_xcom_args(task: BaseOperator) -> None:
    """Make ``task`` run after every task whose output (XComArg) a templated field holds."""
    from tradewind.sdk.xcom_arg import find_xcom_args

    values = [getattr(task, name, None) for name in task.template_fields]
    for arg in find_xcom_args(values):
        if arg.operator is not task:
            task.set_upstream(arg.operator)


def _valid_id(value: str) -> bool:
    return all(c.isalnum() or c in "-._" for c in value) and len(value) <= 250


def _as_timedelta(value: timedelta | float | int | None) -> timedelta | None:
    if value is None or isinstance(value, timedelta):
        return value
    return timedelta(seconds=float(value))


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list | tuple | set):
        return list(value)
    return [value]


def chain(*tasks: Any) -> None:
    """Set ``a >> b >> c ...``; adjacent lists of equal length are wired pairwise."""
    for up, down in zip(tasks, tasks[1:], strict=False):
        if isinstance(up, list | tuple) and isinstance(down, list | tuple):
            if len(up) != len(down):
                raise DagDefinitionError(
                    f"chain() got adjacent lists of different lengths ({len(up)} and {len(down)})",
                    *_site.definition_site(),
                )
            for a, b in zip(up, down, strict=True):
                a >> b
        else:
            up >> down


def cross_downstream(from_tasks: Sequence[Any], to_tasks: Any) -> None:
    """Make every task in ``to_tasks`` run after every task in ``from_tasks``."""
    for task in from_tasks:
        task >> to_tasks
