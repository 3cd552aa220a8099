"""Airflow's bulk request and response models (``PATCH /variables``, ``/connections``,
``/pools``, ``.../dagRuns``, ``.../taskInstances``).

A ``BulkBody[T]`` is a list of actions, each ``create``, ``update`` or ``delete`` over a list of
entities; ``action_on_existence`` (create: fail|skip|overwrite) and ``action_on_non_existence``
(update, delete: fail|skip) say what to do with entities that exist or do not. The generic
classes get FastAPI's names ``BulkBody_VariableBody_``..., as in Airflow's spec.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import AwareDatetime, BaseModel, Field

from tradewind.api.v2.schemas import (
    BaseSchema,
    DagRunMutableStates,
    StrictBaseSchema,
    TaskInstanceState,
)

T = TypeVar("T", bound=BaseModel)


class BulkActionOnExistence(StrEnum):
    """What a ``create`` does with an entity that exists already."""

    FAIL = "fail"
    SKIP = "skip"
    OVERWRITE = "overwrite"


class BulkActionNotOnExistence(StrEnum):
    """What an ``update`` or ``delete`` does with an entity that does not exist."""

    FAIL = "fail"
    SKIP = "skip"


class BulkCreateAction(StrictBaseSchema, Generic[T]):
    """Create ``entities``."""

    action: Literal["create"] = Field(description="The action to be performed on the entities.")
    entities: list[T] = Field(description="A list of entities to be created.")
    action_on_existence: BulkActionOnExistence = BulkActionOnExistence.FAIL


class BulkUpdateAction(StrictBaseSchema, Generic[T]):
    """Update ``entities`` (only the fields of ``update_mask`` when given)."""

    action: Literal["update"] = Field(description="The action to be performed on the entities.")
    entities: list[T] = Field(description="A list of entities to be updated.")
    update_mask: list[str] | None = Field(
        default=None, description="A list of field names to update for each entity."
    )
    action_on_non_existence: BulkActionNotOnExistence = BulkActionNotOnExistence.FAIL


class BulkDeleteAction(StrictBaseSchema, Generic[T]):
    """Delete ``entities``, given by key or as objects."""

    action: Literal["delete"] = Field(description="The action to be performed on the entities.")
    entities: list[str | T] = Field(
        description="A list of entity id/key or entity objects to be deleted."
    )
    action_on_non_existence: BulkActionNotOnExistence = BulkActionNotOnExistence.FAIL


class BulkBody(StrictBaseSchema, Generic[T]):
    """The body of a bulk PATCH: the actions, done in order."""

    actions: list[
        Annotated[
            BulkCreateAction[T] | BulkUpdateAction[T] | BulkDeleteAction[T],
            Field(discriminator="action"),
        ]
    ]


class BulkActionResponse(BaseSchema):
    """The outcome of one kind of action: the keys done, and the errors met."""

    success: list[str] = Field(default_factory=list)
    errors: list[dict[str, Any]] = Field(default_factory=list)


class BulkResponse(BaseSchema):
    """Per action kind (null when the request had none of it) what succeeded and failed."""

    create: BulkActionResponse | None = None
    update: BulkActionResponse | None = None
    delete: BulkActionResponse | None = None


class BulkDAGRunBody(StrictBaseSchema):
    """A DAG run in a bulk body (``dag_id`` when the path's DAG is ``~``)."""

    dag_run_id: str
    dag_id: str | None = None
    state: DagRunMutableStates | None = None
    note: str | None = Field(default=None, max_length=1000)


class BulkTaskInstanceBody(StrictBaseSchema):
    """A task instance in a bulk body: which one, and the state and/or note to set."""

    new_state: TaskInstanceState | None = None
    note: str | None = Field(default=None, max_length=1000)
    include_upstream: bool = False
    include_downstream: bool = False
    include_future: bool = False
    include_past: bool = False
    task_id: str
    map_index: int | None = None
    dag_id: str | None = None
    dag_run_id: str | None = None


class BulkDAGRunClearBody(StrictBaseSchema):
    """Which runs of a DAG to clear: listed in ``dag_runs``, or by partition."""

    partition_key: str | None = None
    partition_date_start: AwareDatetime | None = None
    partition_date_end: AwareDatetime | None = None
    dry_run: bool = True
    only_failed: bool = False
    only_new: bool = False
    run_on_latest_version: bool | None = None
    note: str | None = Field(default=None, max_length=1000)
    dag_runs: list[BulkDAGRunBody] = Field(default_factory=list)


class ClearPartitionsBody(StrictBaseSchema):
    """Which runs' partition fields to reset."""

    partition_key: str | None = None
    partition_date_start: AwareDatetime | None = None
    partition_date_end: AwareDatetime | None = None
    run_id: str | None = None
    clear_task_instances: bool = False
    dry_run: bool = True


class ClearPartitionsResponse(BaseSchema):
    """How many runs (and task instances) were, or would be, reset."""

    dag_runs_cleared: int
    task_instances_cleared: int
    dry_run: bool
