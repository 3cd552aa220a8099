"""``from tradewind.models.param import Param``."""

from tradewind.sdk.param import Param, ParamsDict

__all__ = ["Param", "ParamsDict"]
