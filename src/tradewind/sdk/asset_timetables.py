"""AssetOrTimeSchedule: a DAG that runs on a timetable and also when its assets are updated."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from tradewind.sdk.assets import AssetAll, BaseAsset
from tradewind.sdk.timetables import Timetable


class AssetOrTimeSchedule:
    """``schedule=AssetOrTimeSchedule(timetable=..., assets=...)`` (Airflow 2: ``datasets=``).

    The DAG gets both: runs from ``timetable`` and runs when the asset condition is met.
    """

    def __init__(
        self,
        *,
        timetable: Timetable,
        assets: BaseAsset | Collection[BaseAsset] | None = None,
        datasets: BaseAsset | Collection[BaseAsset] | None = None,
    ) -> None:
        condition: Any = assets if assets is not None else datasets
        if condition is None:
            raise TypeError("AssetOrTimeSchedule needs assets= (or datasets=)")
        self.timetable = timetable
        self.asset_condition: BaseAsset = (
            condition if isinstance(condition, BaseAsset) else AssetAll(*condition)
        )


DatasetOrTimeSchedule = AssetOrTimeSchedule
