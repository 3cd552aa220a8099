"""Airflow's default roles grant what Airflow's FAB auth manager grants."""

from __future__ import annotations

import pytest

from tradewind.core.permissions import (
    Action,
    Resource,
    Role,
    is_allowed,
    permissions_of,
    role_named,
)

R, A = Resource, Action
ORDER = [Role.PUBLIC, Role.VIEWER, Role.USER, Role.OP, Role.ADMIN]

# (resource, action, weakest role allowed); every stronger role is allowed too, weaker ones not.
CASES = [
    (R.DAG, A.READ, Role.VIEWER),
    (R.DAG_RUN, A.READ, Role.VIEWER),
    (R.TASK_INSTANCE, A.READ, Role.VIEWER),
    (R.TASK_LOG, A.READ, Role.VIEWER),
    (R.XCOM, A.READ, Role.VIEWER),
    (R.POOL, A.READ, Role.VIEWER),
    (R.IMPORT_ERROR, A.READ, Role.VIEWER),
    (R.BACKFILL, A.READ, Role.VIEWER),
    (R.DAG, A.EDIT, Role.USER),  # pause / unpause
    (R.DAG, A.DELETE, Role.USER),
    (R.DAG_RUN, A.CREATE, Role.USER),  # trigger
    (R.DAG_RUN, A.EDIT, Role.USER),  # mark, clear, note
    (R.DAG_RUN, A.DELETE, Role.USER),
    (R.TASK_INSTANCE, A.EDIT, Role.USER),  # mark success / failed
    (R.TASK_INSTANCE, A.DELETE, Role.USER),
    (R.BACKFILL, A.CREATE, Role.USER),
    (R.CONNECTION, A.READ, Role.OP),
    (R.CONNECTION, A.CREATE, Role.OP),
    (R.VARIABLE, A.READ, Role.OP),
    (R.VARIABLE, A.DELETE, Role.OP),
    (R.POOL, A.CREATE, Role.OP),
    (R.POOL, A.EDIT, Role.OP),
    (R.CONFIG, A.READ, Role.OP),
    (R.PROVIDER, A.READ, Role.OP),
    (R.XCOM, A.DELETE, Role.OP),
    (R.EVENT_LOG, A.READ, Role.ADMIN),
    (R.USER, A.READ, Role.ADMIN),
    (R.USER, A.CREATE, Role.ADMIN),
    (R.ROLE, A.EDIT, Role.ADMIN),
    (R.CONFIG, A.EDIT, Role.ADMIN),
    (R.TRIGGER, A.READ, Role.ADMIN),
]


@pytest.mark.parametrize(("resource", "action", "weakest"), CASES)
def test_weakest_role_allowed(resource: Resource, action: Action, weakest: Role) -> None:
    for role in ORDER:
        expected = ORDER.index(role) >= ORDER.index(weakest)
        assert is_allowed([role.value], resource, action) is expected, role


def test_each_role_includes_the_weaker_ones() -> None:
    for weaker, stronger in zip(ORDER, ORDER[1:], strict=False):
        assert permissions_of(weaker) < permissions_of(stronger)


def test_admin_has_every_permission_and_public_none() -> None:
    assert len(permissions_of(Role.ADMIN)) == len(Resource) * len(Action)
    assert permissions_of(Role.PUBLIC) == frozenset()


def test_viewer_sees_no_secrets_nor_settings() -> None:
    for resource in (R.CONNECTION, R.VARIABLE, R.CONFIG, R.USER, R.ROLE, R.EVENT_LOG):
        assert not any(is_allowed(["Viewer"], resource, action) for action in Action)
    assert not any(
        action is not A.READ for res, action in permissions_of("Viewer") if res != R.MY_PROFILE
    )


def test_any_role_of_several_suffices() -> None:
    assert is_allowed(["Viewer", "Op"], R.CONNECTION, A.EDIT)
    assert not is_allowed([], R.DAG, A.READ)


@pytest.mark.parametrize("name", ["admin", "ADMIN", " Admin "])
def test_role_names_are_case_insensitive(name: str) -> None:
    assert role_named(name) is Role.ADMIN
    assert is_allowed([name], R.USER, A.DELETE)


def test_unknown_role_grants_nothing() -> None:
    assert role_named("Superuser") is None
    assert permissions_of("Superuser") == frozenset()
    assert not is_allowed(["Superuser"], R.DAG, A.READ)
