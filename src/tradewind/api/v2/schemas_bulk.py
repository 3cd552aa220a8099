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

from pydantic import BaseModel, Field

from tradewind.api.v2.schemas import BaseSchema, StrictBaseSchema

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
