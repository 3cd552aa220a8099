"""Every operation of Airflow 3.3's ``/api/v2`` spec is served by Tradewind, or listed in
docs/api-compat.md under "Not served" with the reason; the doc and the server agree.

Each operation's path is requested with placeholder values and the route that answered is
compared with the spec's, so a literal segment (``listMapped``, ``aliases``, ``dry_run``...)
read as a path parameter fails the test.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.integration.api.conftest import Api

ROOT = Path(__file__).parents[3]
SPEC = ROOT / "tests/api_spec/v2-rest-api-generated.yaml"
DOC = ROOT / "docs/api-compat.md"

_NOT_SERVED = re.compile(r"^- `(\w+)`: not served, because .+", re.M)


@functools.cache
def _spec() -> dict[str, Any]:
    """The vendored spec, parsed once (PyYAML's pure-Python loader takes about a second)."""
    return yaml.load(SPEC.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


@functools.cache
def _integer_path_params() -> set[str]:
    """Path parameters the spec types as integers (``map_index``, ``task_try_number``...)."""
    spec = _spec()
    return {
        p["name"]
        for item in spec["paths"].values()
        for op in item.values()
        for p in op.get("parameters", [])
        if p.get("in") == "path" and p.get("schema", {}).get("type") == "integer"
    }


def spec_operations() -> list[tuple[str, str, str]]:
    """(method, path, operationId) of every operation of the vendored 3.3 spec."""
    spec = _spec()
    return [
        (method.upper(), path, op["operationId"])
        for path, item in spec["paths"].items()
        for method, op in item.items()
    ]


def not_served_in_doc() -> set[str]:
    """The operation ids docs/api-compat.md lists as "not served, because ..."."""
    return set(_NOT_SERVED.findall(DOC.read_text()))


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


class _RouteRecorder:
    """ASGI wrapper remembering which route answered the last request."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.route: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)
        if scope["type"] == "http":
            self.route = scope.get("route")


def served_route(api: Api, method: str, path: str) -> str | None:
    """The path template of our route answering ``method path`` (no token: nothing runs)."""
    from fastapi.testclient import TestClient

    recorder = _RouteRecorder(api.client.app)
    client = TestClient(recorder)
    ints = _integer_path_params()
    concrete = re.sub(r"\{([^}]+)\}", lambda m: "1" if m.group(1) in ints else "x1", path)
    answer = client.request(method, concrete, follow_redirects=False)
    route = recorder.route
    if route is None or answer.status_code == 405 or not hasattr(route, "path"):
        return None
    if method not in getattr(route, "methods", {method}):
        return None
    return str(getattr(route, "path_format", route.path))


def test_the_spec_has_every_operation_of_airflow_3_3() -> None:
    ops = spec_operations()
    assert len(ops) == 128
    assert ("GET", "/api/v2/dagStats", "get_dag_stats") in ops


def test_every_operation_is_served_or_documented_as_not_served(api: Api) -> None:
    documented_absent = not_served_in_doc()
    problems: list[str] = []
    for method, path, op_id in spec_operations():
        route = served_route(api, method, path)
        if route is not None and not _shape(path).endswith(_shape(route)):
            problems.append(f"{op_id}: {method} {path} is answered by the route {route}")
        elif route is not None and op_id in documented_absent:
            problems.append(f"{op_id}: served, but docs/api-compat.md says not served")
        elif route is None and op_id not in documented_absent:
            problems.append(f"{op_id}: {method} {path} neither served nor documented")
    assert not problems, "\n".join(problems)


def test_the_doc_lists_only_operations_of_the_spec() -> None:
    known = {op_id for _, _, op_id in spec_operations()}
    assert not_served_in_doc() <= known, sorted(not_served_in_doc() - known)


@pytest.mark.parametrize("literal", ["listMapped", "dependencies", "tries", "links", "dry_run"])
def test_a_literal_segment_is_never_a_task_or_map_index(api: Api, literal: str) -> None:
    path = f"/api/v2/dags/d/dagRuns/r/taskInstances/t/{literal}"
    route = served_route(api, "GET" if literal != "dry_run" else "PATCH", path)
    assert route is None or route.endswith(f"/{literal}"), route


def test_the_doc_tables_do_not_list_an_operation_not_served() -> None:
    known = {op_id for _, _, op_id in spec_operations()}
    in_tables: set[str] = set()
    for line in DOC.read_text().splitlines():
        if line.startswith("| `"):
            first_cell = line.split("|")[1]
            in_tables |= set(re.findall(r"\w+", first_cell)) & known
    contradictions = in_tables & not_served_in_doc()
    assert not contradictions, f"listed in a table and as not served: {sorted(contradictions)}"


def test_list_mapped_is_a_404_not_a_422_whoever_serves_it(api: Api) -> None:
    api.post("/api/v2/dags/report/dagRuns", json={"logical_date": None, "dag_run_id": "r"})
    answer = api.get("/api/v2/dags/report/dagRuns/r/taskInstances/only/listMapped")
    assert answer.status_code in (200, 404), answer.text  # 200 once dynamic task mapping lands
    assert api.get("/api/v2/dags/report/dagRuns/r/taskInstances/only/0").status_code == 404


# Query parameters of the spec that Tradewind accepts but has nothing to apply to (none now:
# ``timetable_type`` is applied, and the HITL list checks its filters as Airflow does).
IGNORED_PARAMETERS: set[tuple[str, str]] = set()


def test_every_query_parameter_of_the_spec_is_declared(api: Api) -> None:
    """A filter the server does not know is silently ignored by FastAPI, and a client then
    gets more than it asked for: every spec parameter must be one of ours."""
    spec = _spec()["paths"]
    ours = api.client.app.openapi()["paths"]
    by_shape = {(m, _shape(p)): op for p, item in ours.items() for m, op in item.items()}
    missing = []
    for path, item in spec.items():
        for method, op in item.items():
            mine = by_shape.get((method, _shape(path.removeprefix(""))))
            if mine is None:
                continue
            wanted = {x["name"] for x in op.get("parameters", []) if x["in"] in ("query", "header")}
            have = {x["name"] for x in mine.get("parameters", [])}
            missing += [
                f"{op['operationId']}: {name}"
                for name in sorted(wanted - have)
                if (op["operationId"], name) not in IGNORED_PARAMETERS
            ]
    assert not missing, "\n".join(missing)
