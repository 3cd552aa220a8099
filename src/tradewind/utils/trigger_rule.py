"""``from tradewind.utils.trigger_rule import TriggerRule``."""

from tradewind.core.trigger_rules import TriggerRule

__all__ = ["TriggerRule"]
