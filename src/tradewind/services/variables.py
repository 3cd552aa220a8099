"""Variables: key-value settings, encrypted at rest; ``TRADEWIND_VAR_<KEY>`` env overrides."""

from __future__ import annotations

import os

from cryptography.fernet import Fernet, MultiFernet
from sqlalchemy import select
from sqlalchemy.orm import Session

from tradewind.metastore.tables import Variable
from tradewind.services.env import Env
from tradewind.services.install import fernet_key


def fernet(env: Env) -> MultiFernet:
    """The Fernet (several keys, comma-separated, for rotation) that guards secrets at rest."""
    keys = [k.strip() for k in fernet_key(env.settings).split(",") if k.strip()]
    return MultiFernet([Fernet(k.encode()) for k in keys])


def get_variable_value(env: Env, session: Session, key: str) -> str | None:
    """Return a variable's value: the environment first, then the metastore."""
    from_env = os.environ.get(f"TRADEWIND_VAR_{key.upper()}")
    if from_env is not None:
        return from_env
    row = session.execute(select(Variable).where(Variable.key == key)).scalar_one_or_none()
    if row is None or row.val is None:
        return None
    if row.is_encrypted:
        return fernet(env).decrypt(row.val.encode()).decode()
    return row.val
