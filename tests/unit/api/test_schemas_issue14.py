"""The models added for the whole 3.3 API (stats, bulk, state store, ...) have the spec's
properties, required fields and nullability."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from pydantic import BaseModel
from tests.unit.api.test_schemas import SPEC_PATH, shape

from tradewind.api.v2 import schemas_bulk as b
from tradewind.api.v2 import schemas_catalog as sc
from tradewind.api.v2.routes import asset_queue, connection_tests, hitl, state_store
from tradewind.api.v2.schemas import StrictBaseSchema, VariableBody

MODELS: dict[str, type[BaseModel]] = {
    **{name: getattr(sc, name) for name in (
        "DagStatsStateResponse", "DagStatsResponse", "DagStatsCollectionResponse",
        "DAGWarningResponse", "DAGWarningCollectionResponse", "ProviderResponse",
        "ProviderCollectionResponse", "PluginImportErrorResponse",
        "PluginImportErrorCollectionResponse", "TaskDependencyResponse",
        "TaskDependencyCollectionResponse", "ExtraLinkCollectionResponse",
        "AssetAliasCollectionResponse", "QueuedEventResponse", "QueuedEventCollectionResponse",
    )},
    **{name: getattr(b, name) for name in (
        "BulkActionResponse", "BulkResponse", "BulkDAGRunBody", "BulkTaskInstanceBody",
        "BulkDAGRunClearBody", "ClearPartitionsBody", "ClearPartitionsResponse",
    )},
    "BulkBody_VariableBody_": b.BulkBody[VariableBody],
    **{name: getattr(state_store, name) for name in (
        "AssetStateStoreBody", "TaskStateStoreBody", "TaskStateStorePatchBody",
        "AssetStateStoreResponse", "AssetStateStoreCollectionResponse",
        "TaskStateStoreResponse", "TaskStateStoreCollectionResponse",
    )},
    **{name: getattr(connection_tests, name) for name in (
        "ConnectionTestRequestBody", "ConnectionTestQueuedResponse", "AsyncConnectionTestResponse",
    )},
    "MaterializeAssetBody": asset_queue.MaterializeAssetBody,
    "HITLDetailCollection": hitl.HITLDetailCollection,
}  # fmt: skip


@pytest.fixture(scope="module")
def spec_schemas() -> dict[str, Any]:
    return yaml.safe_load(SPEC_PATH.read_text())["components"]["schemas"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("name", sorted(MODELS))
def test_model_matches_the_spec(name: str, spec_schemas: dict[str, Any]) -> None:
    model = MODELS[name]
    mode = "validation" if issubclass(model, StrictBaseSchema) else "serialization"
    ours = model.model_json_schema(mode=mode, by_alias=True)
    assert shape(ours) == shape(spec_schemas[name])
