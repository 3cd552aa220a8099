"""Roles and what they may do: Airflow's five default roles as one table.

The grants follow the Flask-AppBuilder auth manager's defaults in Airflow
(``VIEWER_PERMISSIONS``, ``USER_PERMISSIONS``, ``OP_PERMISSIONS``, ``ADMIN_PERMISSIONS`` in
``providers/fab/.../security_manager/override.py``): each role has everything of the role
below it plus its own grants, and Admin has every permission there is. Menu-access
permissions are left out (the UI derives menus from ``read``).
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from itertools import product


class Role(StrEnum):
    """Airflow's default roles; each has every permission of the ones below it."""

    ADMIN = "Admin"
    OP = "Op"
    USER = "User"
    VIEWER = "Viewer"
    PUBLIC = "Public"


class Resource(StrEnum):
    """What a permission is about; values are Airflow's FAB resource names."""

    DAG = "DAGs"
    DAG_CODE = "DAG Code"
    DAG_DEPENDENCIES = "DAG Dependencies"
    DAG_RUN = "DAG Runs"
    DAG_WARNING = "DAG Warnings"
    TASK_INSTANCE = "Task Instances"
    TASK_LOG = "Task Logs"
    XCOM = "XComs"
    ASSET = "Assets"
    ASSET_ALIAS = "Asset Aliases"
    BACKFILL = "Backfills"
    POOL = "Pools"
    IMPORT_ERROR = "ImportError"
    JOB = "Jobs"
    CLUSTER_ACTIVITY = "Cluster Activity"
    WEBSITE = "Website"
    MY_PROFILE = "My Profile"
    VARIABLE = "Variables"
    CONNECTION = "Connections"
    CONFIG = "Configurations"
    PLUGIN = "Plugins"
    PROVIDER = "Providers"
    EVENT_LOG = "Audit Logs"
    TRIGGER = "Triggers"
    USER = "Users"
    ROLE = "Roles"


class Action(StrEnum):
    """What may be done to a resource."""

    READ = "read"
    CREATE = "create"
    EDIT = "edit"
    DELETE = "delete"


Permission = tuple[Resource, Action]

_READ, _CREATE, _EDIT, _DELETE = Action.READ, Action.CREATE, Action.EDIT, Action.DELETE


def _grant(actions: Iterable[Action], *resources: Resource) -> frozenset[Permission]:
    """Every (resource, action) pair of ``resources`` x ``actions``."""
    return frozenset(product(resources, actions))


_R = Resource
# Read-only view of everything about DAGs and their runs; no secrets, settings or audit log.
_VIEWER = _grant(
    [_READ],
    *(_R.DAG, _R.DAG_CODE, _R.DAG_DEPENDENCIES, _R.DAG_RUN, _R.DAG_WARNING, _R.TASK_INSTANCE),
    *(_R.TASK_LOG, _R.XCOM, _R.ASSET, _R.ASSET_ALIAS, _R.BACKFILL, _R.POOL, _R.IMPORT_ERROR),
    *(_R.JOB, _R.CLUSTER_ACTIVITY, _R.WEBSITE, _R.MY_PROFILE),
) | _grant([_EDIT], _R.MY_PROFILE)

# Operates DAGs: pause/delete DAGs, trigger/clear/mark runs and tasks, backfill.
_USER = (
    _grant([_EDIT, _DELETE], _R.DAG)
    | _grant([_CREATE, _EDIT, _DELETE], _R.DAG_RUN, _R.TASK_INSTANCE, _R.BACKFILL)
    | _grant([_CREATE], _R.ASSET)
)

# Runs the installation: connections, variables, pools, config (read), plugins, providers.
_OP = (
    _grant([_READ, _CREATE, _EDIT, _DELETE], _R.CONNECTION, _R.VARIABLE)
    | _grant([_CREATE, _EDIT, _DELETE], _R.POOL)
    | _grant([_READ], _R.CONFIG, _R.PLUGIN, _R.PROVIDER)
    | _grant([_DELETE], _R.XCOM, _R.ASSET)
)

_EVERYTHING = frozenset(product(Resource, Action))

_TABLE: dict[Role, frozenset[Permission]] = {
    Role.PUBLIC: frozenset(),
    Role.VIEWER: _VIEWER,
    Role.USER: _VIEWER | _USER,
    Role.OP: _VIEWER | _USER | _OP,
    Role.ADMIN: _EVERYTHING,
}

_BY_NAME = {role.value.lower(): role for role in Role}


def role_named(name: str) -> Role | None:
    """The role called ``name`` (case-insensitive: ``"admin"`` and ``"ADMIN"`` work), or None."""
    return _BY_NAME.get(name.strip().lower())


def permissions_of(role: Role | str) -> frozenset[Permission]:
    """Everything ``role`` may do.

    Args:
        role: A ``Role`` or a role name; an unknown name has no permissions.

    Returns:
        The set of ``(resource, action)`` pairs granted to the role.
    """
    found = role if isinstance(role, Role) else role_named(role)
    return _TABLE[found] if found is not None else frozenset()


def is_allowed(roles: Iterable[str], resource: Resource, action: Action) -> bool:
    """Whether a user holding ``roles`` may do ``action`` on ``resource``.

    Args:
        roles: The user's role names (``Role`` members or strings, any case); unknown
            names grant nothing.
        resource: What is accessed.
        action: What is done.

    Returns:
        True if any of the roles grants the permission.
    """
    return any((resource, action) in permissions_of(role) for role in roles)
