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


class Asset(BaseAsset):
    """A piece of data identified by its URI, e.g. ``Asset("s3://bucket/orders.parquet")``."""

    def __init__(
        self,
        uri: str,
        name: str | None = None,
        group: str = "asset",
        extra: dict[str, Any] | None = None,
    ):
        if not isinstance(uri, str) or not uri.strip():
            raise ValueError("an Asset needs a non-empty URI string")
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


class _Boolean(BaseAsset):
    kind = ""

    def __init__(self, *objects: BaseAsset):
        self.objects = list(objects)

    def dump(self) -> dict[str, Any]:
        return {"__type": self.kind, "objects": [o.dump() for o in self.objects]}

    def uris(self) -> list[str]:
        return [u for o in self.objects for u in o.uris()]


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
    members = [load_asset_condition(o) for o in data["objects"]]
    return AssetAll(*members) if kind == "asset_all" else AssetAny(*members)


Dataset = Asset  # Airflow 2 name
