"""BaseBranchOperator: subclass it and return the task id(s) to follow from ``choose_branch``."""

from __future__ import annotations

from typing import Any

from tradewind.operators.python import BranchMixIn
from tradewind.sdk.baseoperator import BaseOperator


class BaseBranchOperator(BaseOperator, BranchMixIn):
    """Follow the task id(s) (or task group ids) ``choose_branch`` returns; skip the others."""

    def choose_branch(self, context: dict[str, Any]) -> str | list[str] | None:
        """Return the downstream task id(s) to follow."""
        raise NotImplementedError(f"{type(self).__name__} must implement choose_branch()")

    def execute(self, context: dict[str, Any]) -> Any:
        return self.do_branch(context, self.choose_branch(context))
