"""Running Airflow's bulk bodies: each action checked against what exists, then applied in
a savepoint, so a failing action leaves nothing half done and the others still run.

Airflow's rules: a ``create`` with ``action_on_existence=fail`` fails whole (409) if any
entity exists; ``skip`` creates only the new ones; ``overwrite`` updates the existing ones.
An ``update`` or ``delete`` with ``action_on_non_existence=fail`` fails whole (404) if any
entity is missing; ``skip`` leaves the missing ones out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tradewind import errors
from tradewind.api.deps import CurrentUser
from tradewind.api.v2 import schemas_bulk as b
from tradewind.core.permissions import Action, Resource
from tradewind.services.bulk import savepoint

#: The unit of work a bulk request runs in (``BulkService.apply`` hands it over).
Session = Any

_ACTION = {"create": Action.CREATE, "update": Action.EDIT, "delete": Action.DELETE}


@dataclass(frozen=True)
class BulkTarget:
    """How to act on one kind of entity (variables, connections, pools...)."""

    noun: str  # plural, as in Airflow's messages: "variables"
    key_name: str  # "keys", "connection_ids", "names"
    resource: Resource
    key_of: Callable[[Any], str]
    exists: Callable[[Session, str], bool]
    create: Callable[[Session, Any], None]
    update: Callable[[Session, Any, set[str] | None], None]
    delete: Callable[[Session, str], None]
    check_mask: Callable[[list[str] | None], set[str] | None] = lambda mask: None
    #: The key of an entity given as a string in a delete action (default: the string).
    key_of_str: Callable[[str], str] = lambda key: key


class _ActionFailed(Exception):
    def __init__(self, message: str, status_code: int) -> None:
        super().__init__(message)
        self.status_code = status_code


def check_bulk_permissions(user: CurrentUser, body: b.BulkBody[Any], resource: Resource) -> None:
    """403 unless the caller may do every kind of action the body asks for."""
    for kind in sorted({a.action for a in body.actions}):
        if not user.can(resource, _ACTION[kind]):
            raise errors.PermissionDenied(
                f"Forbidden: {_ACTION[kind].value} on {resource.value} needs a role that allows "
                f"it (you have: {', '.join(user.roles) or 'no role'})"
            )


def run_bulk(session: Session, body: b.BulkBody[Any], target: BulkTarget) -> b.BulkResponse:
    """Apply the actions of ``body`` in order; per kind, the keys done and the errors."""
    response = b.BulkResponse()
    for action in body.actions:
        result = getattr(response, action.action) or b.BulkActionResponse()
        setattr(response, action.action, result)
        try:
            with savepoint(session):
                result.success.extend(_apply(session, action, target))
        except _ActionFailed as exc:
            result.errors.append({"error": str(exc), "status_code": exc.status_code})
        except errors.TradewindError as exc:
            from tradewind.api.app import status_of

            result.errors.append({"error": str(exc), "status_code": status_of(exc)})
        except ValueError as exc:
            result.errors.append({"error": f"Invalid entity: {exc}", "status_code": 400})
    return response


def _keys(action: Any, target: BulkTarget) -> list[str]:
    return [
        target.key_of_str(e) if isinstance(e, str) else target.key_of(e) for e in action.entities
    ]


def _apply(session: Session, action: Any, target: BulkTarget) -> list[str]:
    keys = _keys(action, target)
    existing = {k for k in keys if target.exists(session, k)}
    if action.action == "create":
        return _create(session, action, target, existing)
    missing = sorted(set(keys) - existing)
    if missing and action.action_on_non_existence == b.BulkActionNotOnExistence.FAIL:
        raise _ActionFailed(
            f"The {target.noun} with these {target.key_name}: {{{_quoted(missing)}}} "
            "were not found.",
            404,
        )
    done: list[str] = []
    if action.action == "update":
        fields = target.check_mask(action.update_mask)
        for entity in action.entities:
            if target.key_of(entity) in existing:
                target.update(session, entity, fields)
                done.append(target.key_of(entity))
        return done
    for key in keys:
        if key in existing:
            target.delete(session, key)
            done.append(key)
    return done


def _create(session: Session, action: Any, target: BulkTarget, existing: set[str]) -> list[str]:
    mode = action.action_on_existence
    if existing and mode == b.BulkActionOnExistence.FAIL:
        raise _ActionFailed(
            f"The {target.noun} with these {target.key_name}: {{{_quoted(sorted(existing))}}} "
            "already exist.",
            409,
        )
    done: list[str] = []
    for entity in action.entities:
        key = target.key_of(entity)
        if key not in existing:
            target.create(session, entity)
            existing.add(key)
            done.append(key)
        elif mode == b.BulkActionOnExistence.OVERWRITE:
            target.update(session, entity, None)
            done.append(key)
    return done


def _quoted(keys: list[str]) -> str:
    return ", ".join(repr(k) for k in keys)
