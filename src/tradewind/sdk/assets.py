"""Assets: named data (a URI) that tasks produce (``outlets``) and DAGs can be scheduled on."""

from __future__ import annotations

from typing import Any


class BaseAsset:
    """Something a DAG's ``schedule`` can wait for: an asset or a condition over assets."""

    def __and__(self, other: BaseAsset) -> AssetAll:
        return AssetAll(self, other)

    def __or__(self, other: BaseAsset) -> AssetAny:
        return AssetAny(self, other)

    def evaluate(self, updated: set[str]) -> bool:
        raise NotImplementedError

    def dump(self) -> dict[str, Any]:
        raise NotImplementedError

    def uris(self) -> list[str]:
        raise NotImplementedError

    def aliases(self) -> list[str]:
        """The names of the asset aliases in this condition."""
        return []


#: how an alias is named in the set of updated keys a condition is evaluated over
ALIAS_KEY = "alias:"


class Asset(BaseAsset):
    """A piece of data identified by its URI, e.g. ``Asset("s3://bucket/orders.parquet")``."""

    def __init__(
        self,
        uri: str | None = None,
        name: str | None = None,
        group: str = "asset",
        extra: dict[str, Any] | None = None,
        access_control: AssetAccessControl | None = None,
    ):
        self.access_control = access_control
        uri = uri if uri is not None else name  # Airflow 3: Asset(name="x") has the URI "x"
        if not isinstance(uri, str) or not uri.strip():
            raise ValueError("an Asset needs a non-empty URI string (or a name)")
        self.uri = uri
        self.name = name or uri
        self.group = group
        self.extra = extra or {}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Asset) and other.uri == self.uri

    def __hash__(self) -> int:
        return hash(self.uri)

    def __repr__(self) -> str:
        return f"Asset({self.uri!r})"

    def evaluate(self, updated: set[str]) -> bool:
        return self.uri in updated

    def dump(self) -> dict[str, Any]:
        return {
            "__type": "asset",
            "uri": self.uri,
            "name": self.name,
            "group": self.group,
            "extra": self.extra,
        }

    def uris(self) -> list[str]:
        return [self.uri]


class AssetAccessControl:
    """Airflow 3.3's teams allowed to produce or consume an asset (its multi-team mode).

    Tradewind has no teams, so every DAG belongs to the one team there is: the rules are
    kept on the asset and not enforced, as in Airflow with multi-team mode off.
    """

    def __init__(
        self,
        producer_teams: list[str] | None = None,
        consumer_teams: list[str] | None = None,
        allow_global: bool = True,
    ) -> None:
        self.producer_teams = list(producer_teams or [])
        self.consumer_teams = list(consumer_teams or [])
        self.allow_global = allow_global

    def __repr__(self) -> str:
        return (
            f"AssetAccessControl(producer_teams={self.producer_teams!r}, "
            f"consumer_teams={self.consumer_teams!r}, allow_global={self.allow_global!r})"
        )


class AssetAlias(BaseAsset):
    """A name under which a task decides at run time which assets it updated.

    The task lists ``AssetAlias("name")`` in its ``outlets`` and adds the assets with
    ``outlet_events[AssetAlias("name")].add(Asset(...))`` (or yields ``Metadata(asset, extra,
    alias=...)``); a DAG scheduled on the alias runs when an asset added through it is updated.
    """

    def __init__(self, name: str, group: str = "asset"):
        if not isinstance(name, str) or not name.strip():
            raise ValueError("an AssetAlias needs a non-empty name")
        self.name = name
        self.group = group

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AssetAlias) and other.name == self.name

    def __hash__(self) -> int:
        return hash((AssetAlias, self.name))

    def __repr__(self) -> str:
        return f"AssetAlias({self.name!r})"

    def evaluate(self, updated: set[str]) -> bool:
        return ALIAS_KEY + self.name in updated

    def dump(self) -> dict[str, Any]:
        return {"__type": "asset_alias", "name": self.name, "group": self.group}

    def uris(self) -> list[str]:
        return []

    def aliases(self) -> list[str]:
        return [self.name]


class _Boolean(BaseAsset):
    kind = ""

    def __init__(self, *objects: BaseAsset):
        self.objects = list(objects)

    def dump(self) -> dict[str, Any]:
        return {"__type": self.kind, "objects": [o.dump() for o in self.objects]}

    def uris(self) -> list[str]:
        return [u for o in self.objects for u in o.uris()]

    def aliases(self) -> list[str]:
        return [a for o in self.objects for a in o.aliases()]


class AssetAll(_Boolean):
    """True when every member was updated (``a & b``)."""

    kind = "asset_all"

    def evaluate(self, updated: set[str]) -> bool:
        return all(o.evaluate(updated) for o in self.objects)


class AssetAny(_Boolean):
    """True when any member was updated (``a | b``)."""

    kind = "asset_any"

    def evaluate(self, updated: set[str]) -> bool:
        return any(o.evaluate(updated) for o in self.objects)


def load_asset_condition(data: dict[str, Any]) -> BaseAsset:
    """Rebuild an asset condition from its JSON form."""
    kind = data["__type"]
    if kind == "asset":
        return Asset(
            data["uri"],
            name=data.get("name"),
            group=data.get("group", "asset"),
            extra=data.get("extra"),
        )
    if kind == "asset_alias":
        return AssetAlias(data["name"], group=data.get("group", "asset"))
    members = [load_asset_condition(o) for o in data["objects"]]
    return AssetAll(*members) if kind == "asset_all" else AssetAny(*members)


def event_key(target: Any) -> str:
    """The key of an outlet or inlet: an asset's URI, an alias's ``alias:<name>``, a string
    as given (Airflow 2 accepted URIs as strings)."""
    if isinstance(target, Asset):
        return target.uri
    if isinstance(target, AssetAlias):
        return ALIAS_KEY + target.name
    if isinstance(target, str):
        return target
    raise TypeError(f"expected an Asset, an AssetAlias or a URI string, got {target!r}")


Dataset = Asset  # Airflow 2 names
DatasetAlias = AssetAlias
