"""The DAG: tasks with dependencies and a schedule."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from tradewind.errors import DagCycleError, DagDefinitionError, DuplicateTaskIdError
from tradewind.sdk import _site
from tradewind.sdk.assets import BaseAsset
from tradewind.sdk.param import ParamsDict

if TYPE_CHECKING:
    from tradewind.sdk.baseoperator import BaseOperator
    from tradewind.sdk.taskgroup import TaskGroup
    from tradewind.sdk.timetables import Timetable


class DagContext:
    """The stack of DAGs opened with ``with DAG(...)``, and the registry the loader reads."""

    _stack: list[DAG] = []
    #: When a list, every DAG created is appended (the loader collects a file's DAGs so).
    registry: list[DAG] | None = None

    @classmethod
    def current(cls) -> DAG | None:
        return cls._stack[-1] if cls._stack else None


_UNSET: Any = object()


def _utc(value: datetime | None) -> datetime | None:
    """Give a naive date the default time zone (``[core] default_timezone``, UTC by default)."""
    if value is None:
        return None
    if value.tzinfo is None:
        from tradewind.sdk import defaults

        return value.replace(tzinfo=defaults.current.timezone)
    return value


class DAG:
    """A set of tasks with dependencies and a schedule; use as ``with DAG(...) as dag:``.

    Args:
        dag_id: unique name (letters, digits, ``-._``).
        schedule: a cron string, a preset (``@daily``...), a ``timedelta``, ``None`` (manual
            only), ``"@once"``, a timetable, or assets (``[Asset(...)]`` or ``a & b``).
        start_date: the first data interval starts here (needed by periodic schedules).
        catchup: create runs for every interval missed since ``start_date``.
        default_args: arguments applied to every task that does not set them.
        params: run parameters (values or ``Param``), overridable by a run's conf.
    """

    def __init__(
        self,
        dag_id: str,
        description: str | None = None,
        schedule: Any = None,
        start_date: datetime | None = None,
        end_date: datetime | None = None,
        catchup: bool | None = None,
        default_args: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        tags: Iterable[str] | None = None,
        doc_md: str | None = None,
        max_active_runs: int | None = None,
        max_active_tasks: int | None = None,
        max_consecutive_failed_dag_runs: int = 0,
        is_paused_upon_creation: bool | None = None,
        on_failure_callback: Callable[..., Any] | None = None,
        on_success_callback: Callable[..., Any] | None = None,
        dagrun_timeout: timedelta | None = None,
        render_template_as_native_obj: bool = False,
        template_searchpath: str | Iterable[str] | None = None,
        user_defined_macros: dict[str, Any] | None = None,
        user_defined_filters: dict[str, Any] | None = None,
        template_undefined: Any = None,
        owner_links: dict[str, str] | None = None,
        access_control: Any = None,
        dag_display_name: str | None = None,
        fail_fast: bool = False,
        deadline: Any = None,
        schedule_interval: Any = _UNSET,
        concurrency: int | None = None,
        sla_miss_callback: Any = None,
        default_view: str | None = None,
        orientation: str | None = None,
        jinja_environment_kwargs: dict[str, Any] | None = None,
        auto_register: bool = True,
    ) -> None:
        # sla_miss_callback (Airflow 2 SLAs, gone in 3), default_view and orientation (UI
        # hints) are accepted from Airflow files and not used.
        self.filename, self.lineno = _site.definition_site()
        self.fileloc = self.filename or ""
        if (
            not isinstance(dag_id, str)
            or not dag_id
            or not all(c.isalnum() or c in "-._" for c in dag_id)
        ):
            raise DagDefinitionError(
                f"dag_id {dag_id!r} must be a non-empty string of letters, digits, dashes, "
                "dots and underscores",
                self.filename,
                self.lineno,
            )
        self.dag_id = dag_id
        self.description = description
        self.default_args = dict(default_args or {})
        if schedule_interval is not _UNSET:
            schedule = schedule_interval
        self.start_date = _utc(start_date or self.default_args.get("start_date"))
        self.end_date = _utc(end_date or self.default_args.get("end_date"))
        from tradewind.sdk import defaults

        self.catchup = bool(catchup) if catchup is not None else defaults.current.catchup
        self.params = ParamsDict(params)
        self.tags = sorted(set(tags or []))
        self.doc_md = doc_md
        self.max_active_runs = max_active_runs or defaults.current.max_active_runs
        self.max_active_tasks = concurrency or max_active_tasks or defaults.current.max_active_tasks
        self.max_consecutive_failed_dag_runs = max_consecutive_failed_dag_runs
        self.is_paused_upon_creation = is_paused_upon_creation
        self.on_failure_callback = on_failure_callback
        self.on_success_callback = on_success_callback
        self.dagrun_timeout = dagrun_timeout
        self.render_template_as_native_obj = render_template_as_native_obj
        if isinstance(template_searchpath, str):
            template_searchpath = [template_searchpath]
        self.template_searchpath = list(template_searchpath or [])
        self.user_defined_macros = user_defined_macros or {}
        self.user_defined_filters = user_defined_filters or {}
        self.template_undefined = template_undefined
        self.owner_links = owner_links or {}
        self.dag_display_name = dag_display_name or dag_id
        self.fail_fast = fail_fast
        from tradewind.sdk.deadline import as_alerts

        self.deadline = as_alerts(deadline)
        self.task_dict: dict[str, BaseOperator] = {}
        self.edge_info: dict[str, dict[str, dict[str, Any]]] = {}
        #: (upstream id, downstream id) -> (file, line) where the edge was set, in order set
        self.edge_sites: dict[tuple[str, str], tuple[str | None, int | None]] = {}
        self._schedule_arg = schedule
        self.asset_condition: BaseAsset | None = None
        self.timetable = self._make_timetable(schedule)
        from tradewind.sdk.taskgroup import TaskGroup

        self.task_group: TaskGroup = TaskGroup.root(self)
        if DagContext.registry is not None:
            DagContext.registry.append(self)

    def _make_timetable(self, schedule: Any) -> Timetable:
        from tradewind.sdk import timetables
        from tradewind.sdk.asset_timetables import AssetOrTimeSchedule

        if isinstance(schedule, AssetOrTimeSchedule):
            self.asset_condition = schedule.asset_condition
            schedule = schedule.timetable
        elif isinstance(schedule, BaseAsset) or (
            isinstance(schedule, list | tuple)
            and schedule
            and all(isinstance(s, BaseAsset) for s in schedule)
        ):
            from tradewind.sdk.assets import AssetAll

            cond = schedule if isinstance(schedule, BaseAsset) else AssetAll(*schedule)
            self.asset_condition = cond
            schedule = None
        tz = self.start_date.tzinfo if self.start_date else timezone.utc
        try:
            tt = timetables.timetable_from_schedule(schedule, timezone=tz)  # type: ignore[arg-type]
        except DagDefinitionError as exc:
            raise DagDefinitionError(
                f"DAG {self.dag_id!r}: {exc.bare_message}", self.filename, self.lineno
            ) from None
        if tt.periodic and self.start_date is None:
            raise DagDefinitionError(
                f"DAG {self.dag_id!r} has schedule {tt.summary!r} but no start_date; "
                "give start_date= (or default_args['start_date'])",
                self.filename,
                self.lineno,
            )
        return tt

    @property
    def schedule(self) -> Any:
        return self._schedule_arg

    # -- context manager --------------------------------------------------------------------
    def __enter__(self) -> DAG:
        DagContext._stack.append(self)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        DagContext._stack.pop()
        if exc_type is None:
            # Report a cycle at the end of the ``with`` block, where the author looks first.
            self.validate()

    def __repr__(self) -> str:
        return f"<DAG: {self.dag_id}>"

    # -- tasks --------------------------------------------------------------------------------
    def add_task(self, task: BaseOperator) -> None:
        """Add ``task`` to this DAG; a second task with the same id is an error."""
        if task.task_id in self.task_dict and self.task_dict[task.task_id] is not task:
            raise DuplicateTaskIdError(
                f"task id {task.task_id!r} has already been added to the DAG {self.dag_id!r}",
                task.filename,
                task.lineno,
            )
        self.task_dict[task.task_id] = task
        task.dag = self
        if task.task_group is None:
            task.task_group = self.task_group
            self.task_group.add(task)

    def add_tasks(self, tasks: Iterable[BaseOperator]) -> None:
        for t in tasks:
            self.add_task(t)

    @property
    def tasks(self) -> list[BaseOperator]:
        return list(self.task_dict.values())

    @property
    def task_ids(self) -> list[str]:
        return list(self.task_dict)

    def get_task(self, task_id: str) -> BaseOperator:
        try:
            return self.task_dict[task_id]
        except KeyError:
            raise KeyError(f"task {task_id!r} not found in DAG {self.dag_id!r}") from None

    def has_task(self, task_id: str) -> bool:
        return task_id in self.task_dict

    def set_edge_info(
        self, upstream_task_id: str, downstream_task_id: str, info: dict[str, Any]
    ) -> None:
        """Attach information (``{"label": ...}``) to an edge, as ``Label`` does."""
        self.edge_info.setdefault(upstream_task_id, {})[downstream_task_id] = dict(info)

    def get_edge_info(self, upstream_task_id: str, downstream_task_id: str) -> dict[str, Any]:
        """The information attached to an edge (``{}`` when none)."""
        return self.edge_info.get(upstream_task_id, {}).get(downstream_task_id, {})

    @property
    def roots(self) -> list[BaseOperator]:
        return [t for t in self.task_dict.values() if not t.upstream_task_ids]

    @property
    def leaves(self) -> list[BaseOperator]:
        return [t for t in self.task_dict.values() if not t.downstream_task_ids]

    @property
    def owner(self) -> str:
        return ", ".join(sorted({t.owner for t in self.task_dict.values()})) or "tradewind"

    def topological_sort(self) -> list[BaseOperator]:
        """Return the tasks upstream-first; raise DagCycleError naming a cycle if there is one."""
        indeg = {tid: len(t.upstream_task_ids) for tid, t in self.task_dict.items()}
        ready = sorted(tid for tid, d in indeg.items() if d == 0)
        order: list[str] = []
        while ready:
            tid = ready.pop()
            order.append(tid)
            for down in sorted(self.task_dict[tid].downstream_task_ids, reverse=True):
                indeg[down] -= 1
                if indeg[down] == 0:
                    ready.append(down)
        if len(order) != len(self.task_dict):
            cycle = self._find_cycle({t for t, d in indeg.items() if d > 0})
            edge, (filename, lineno) = self._closing_edge(cycle)
            where = f"; the edge {edge[0]} >> {edge[1]} closes it" if edge else ""
            raise DagCycleError(
                f"DAG {self.dag_id!r} has a cycle: {' -> '.join(cycle)}{where}",
                filename or self.filename,
                lineno or self.lineno,
            )
        return [self.task_dict[t] for t in order]

    def _closing_edge(
        self, cycle: list[str]
    ) -> tuple[tuple[str, str] | None, tuple[str | None, int | None]]:
        """The edge of ``cycle`` that was set last, and where (the line the author wrote)."""
        order = {edge: i for i, edge in enumerate(self.edge_sites)}
        edges = [e for e in zip(cycle, cycle[1:], strict=False) if e in order]
        if not edges:
            return None, (None, None)
        last = max(edges, key=order.__getitem__)
        return last, self.edge_sites[last]

    def _find_cycle(self, nodes: set[str]) -> list[str]:
        """Return one cycle among ``nodes`` (those a topological sort could not place).

        Every such node has an upstream among them (tasks merely downstream of a cycle have no
        downstream there), so walk upstream until a node repeats, then read the path forwards.
        """
        start = min(nodes)
        path, seen, node = [start], {start}, start
        while True:
            node = min(u for u in self.task_dict[node].upstream_task_ids if u in nodes)
            if node in seen:
                cycle = path[path.index(node) :] + [node]
                return cycle[::-1]
            path.append(node)
            seen.add(node)

    def validate(self) -> None:
        """Check the whole DAG (cycles, unknown upstream ids); raise DagDefinitionError."""
        self.topological_sort()

    # -- TaskFlow support ---------------------------------------------------------------------
    def test(self, logical_date: datetime | None = None, conf: dict[str, Any] | None = None) -> Any:
        """Run the DAG once in process (as ``tradewind dags test``), for a file's ``__main__``."""
        # The one door from a DAG file into the server side, through a seam (sdk/test_hook.py)
        # opened only when called, so the SDK keeps no dependency on the scheduler.
        from tradewind.sdk.test_hook import run_dag_test

        return run_dag_test(self, logical_date, conf)


def _param_with_value(existing: Any, value: Any) -> Any:
    """A ``@dag`` argument's value, keeping the schema of a ``Param`` declared for it."""
    from tradewind.sdk.param import Param

    if isinstance(value, Param) or not isinstance(existing, Param):
        return value
    return Param(value, description=existing.description, **existing.schema)


def dag(dag_id: str | Callable[..., Any] | None = None, **dag_kwargs: Any) -> Callable[..., Any]:
    """Decorate a function that builds tasks; calling it returns the DAG (``@dag``).

    The function's keyword parameters become the DAG's params (their defaults the values).
    """

    def wrap(fn: Callable[..., Any]) -> Callable[..., DAG]:
        sig = inspect.signature(fn)

        @functools.wraps(fn)
        def factory(*args: Any, **kwargs: Any) -> DAG:
            kw = dict(dag_kwargs)  # a copy: the factory may be called more than once
            params = dict(kw.pop("params", None) or {})
            bound = sig.bind_partial(*args, **kwargs)
            bound.apply_defaults()
            for name, value in bound.arguments.items():
                params[name] = _param_with_value(params.get(name), value)
            the_id = dag_id if isinstance(dag_id, str) else fn.__name__
            kw.setdefault("doc_md", fn.__doc__)
            d = DAG(the_id, params=params, **kw)
            d.filename, d.lineno = fn.__code__.co_filename, fn.__code__.co_firstlineno
            d.fileloc = d.filename
            with d:
                from tradewind.sdk.xcom_arg import DagParamArg

                call_args = {n: DagParamArg(d, n) for n in bound.arguments}
                fn(**call_args)
            return d

        return factory

    if callable(dag_id):
        fn, dag_id = dag_id, None
        return wrap(fn)
    return wrap
