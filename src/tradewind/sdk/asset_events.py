"""Asset events in task code: ``outlet_events``, ``inlet_events`` and ``Metadata``.

A task with ``outlets`` records one asset event per outlet asset when it succeeds. In its
code it can attach extras to those events and, through an :class:`AssetAlias` outlet, decide
which assets it updated, as in Airflow::

    @task(outlets=[orders, AssetAlias("daily")])
    def load(*, outlet_events=None):
        outlet_events[orders].extra = {"rows": 120}
        outlet_events[AssetAlias("daily")].add(Asset("s3://bucket/2026-01-05"), extra={"n": 1})
        yield Metadata(orders, {"rows": 120})  # the same, from a generator task

The worker reports what the task set with its outcome (``finish``'s ``asset_events``), and the
server records the events, only for assets and aliases the task declares in ``outlets``.
``inlet_events[asset]`` reads the recorded events of an inlet, oldest first, through the
execution API (the worker holds no database session).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import GeneratorType
from typing import Any

from tradewind.sdk.assets import ALIAS_KEY, Asset, AssetAlias, event_key


class Metadata:
    """Extras for the event of one outlet asset, yielded by a task (``yield Metadata(...)``).

    With ``alias``, the asset is added through that alias outlet (as ``outlet_events[alias]
    .add(asset, extra)``).
    """

    def __init__(
        self, target: Asset | str, extra: dict[str, Any], alias: AssetAlias | str | None = None
    ) -> None:
        self.uri = event_key(target)
        self.extra = dict(extra)
        self.alias_name = alias.name if isinstance(alias, AssetAlias) else alias

    def __repr__(self) -> str:
        return f"Metadata({self.uri!r}, {self.extra!r}, alias={self.alias_name!r})"


@dataclass
class AssetAliasEvent:
    """An asset added through an alias outlet: recorded as an event of ``dest_asset_uri``."""

    source_alias_name: str
    dest_asset_uri: str
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class OutletEventAccessor:
    """``outlet_events[key]``: the extras of an outlet asset's event, or an alias's assets."""

    key: Asset | AssetAlias | str
    extra: dict[str, Any] = field(default_factory=dict)
    asset_alias_events: list[AssetAliasEvent] = field(default_factory=list)

    def add(self, asset: Asset | str, extra: dict[str, Any] | None = None) -> None:
        """Through an alias outlet: record an event of ``asset`` (with ``extra``)."""
        if isinstance(self.key, AssetAlias):
            alias = self.key.name
        elif isinstance(self.key, str) and self.key.startswith(ALIAS_KEY):
            alias = self.key[len(ALIAS_KEY) :]
        else:
            raise TypeError(
                f"outlet_events[{self.key!r}].add(...) needs an AssetAlias key: "
                "assets are added through an alias outlet"
            )
        self.asset_alias_events.append(AssetAliasEvent(alias, event_key(asset), dict(extra or {})))


class OutletEventAccessors(Mapping[str, OutletEventAccessor]):
    """``outlet_events``: one accessor per asset or alias, made on first use."""

    def __init__(self) -> None:
        self._by_key: dict[str, OutletEventAccessor] = {}

    def __getitem__(self, key: Asset | AssetAlias | str) -> OutletEventAccessor:
        k = event_key(key)
        if k not in self._by_key:
            self._by_key[k] = OutletEventAccessor(key=key)
        return self._by_key[k]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_key)

    def __len__(self) -> int:
        return len(self._by_key)

    def __repr__(self) -> str:
        return f"OutletEventAccessors({list(self._by_key)})"

    def add_metadata(self, item: Metadata) -> None:
        """What ``yield Metadata(...)`` does."""
        if item.alias_name:
            self[AssetAlias(item.alias_name)].add(item.uri, item.extra)
        else:
            self[item.uri].extra.update(item.extra)

    def report(self) -> list[dict[str, Any]]:
        """The JSON the worker sends with a successful outcome (empty: nothing was set)."""
        out: list[dict[str, Any]] = []
        for key, acc in self._by_key.items():
            if acc.extra and not key.startswith(ALIAS_KEY):
                out.append({"uri": key, "extra": acc.extra})
            for ev in acc.asset_alias_events:
                out.append(
                    {"uri": ev.dest_asset_uri, "extra": ev.extra, "alias": ev.source_alias_name}
                )
        return out


def drain_generator(result: Any, outlet_events: Any) -> Any:
    """A task that yields: each yielded ``Metadata`` feeds ``outlet_events``; the generator's
    return value is the task's result (as Airflow runs a generator callable)."""
    if not isinstance(result, GeneratorType):
        return result
    while True:
        try:
            item = next(result)
        except StopIteration as stop:
            return stop.value
        if isinstance(item, Metadata) and isinstance(outlet_events, OutletEventAccessors):
            outlet_events.add_metadata(item)


@dataclass(frozen=True)
class AssetEventView:
    """One recorded asset event, as ``inlet_events[asset][i]`` shows it."""

    id: int
    uri: str
    extra: dict[str, Any]
    timestamp: datetime | None
    source_dag_id: str | None
    source_task_id: str | None
    source_run_id: str | None
    source_map_index: int
    source_alias_name: str | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AssetEventView:
        ts = data.get("timestamp")
        return cls(
            id=int(data["id"]),
            uri=str(data["uri"]),
            extra=dict(data.get("extra") or {}),
            timestamp=datetime.fromisoformat(ts) if ts else None,
            source_dag_id=data.get("source_dag_id"),
            source_task_id=data.get("source_task_id"),
            source_run_id=data.get("source_run_id"),
            source_map_index=int(data.get("source_map_index", -1)),
            source_alias_name=data.get("source_alias_name"),
        )


#: (uri or None, alias name or None) -> the events' JSON, oldest first
FetchEvents = Callable[[str | None, str | None], list[dict[str, Any]]]


class InletEventsAccessors(Mapping[Any, list[AssetEventView]]):
    """``inlet_events``: the recorded events of each inlet asset or alias, oldest first."""

    def __init__(self, inlets: list[Any], fetch: FetchEvents | None) -> None:
        self._inlets = [i for i in inlets if isinstance(i, Asset | AssetAlias)]
        self._fetch = fetch

    def __getitem__(self, key: Any) -> list[AssetEventView]:
        obj = self._inlets[key] if isinstance(key, int) else key
        if isinstance(obj, AssetAlias):
            return self._events(None, obj.name)
        uri = event_key(obj)
        if uri.startswith(ALIAS_KEY):
            return self._events(None, uri[len(ALIAS_KEY) :])
        return self._events(uri, None)

    def for_asset(self, *, name: str | None = None, uri: str | None = None) -> list[AssetEventView]:
        """Airflow 3's lookup by the asset's URI or name (among the task's inlets)."""
        for inlet in self._inlets:
            if isinstance(inlet, Asset) and (inlet.uri == uri or (name and inlet.name == name)):
                return self._events(inlet.uri, None)
        return self._events(uri, None) if uri else []

    def for_asset_alias(self, *, name: str) -> list[AssetEventView]:
        return self._events(None, name)

    def _events(self, uri: str | None, alias: str | None) -> list[AssetEventView]:
        if self._fetch is None:
            return []
        return [AssetEventView.from_json(e) for e in self._fetch(uri, alias)]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._inlets)

    def __len__(self) -> int:
        return len(self._inlets)
