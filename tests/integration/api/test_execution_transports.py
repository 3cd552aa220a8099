"""One execution API on every transport: the method table, the protocol and the error codec.

The same calls go through the in-process transport, the local executor's pipe and HTTP (a
real uvicorn server with the real app); every error class a service raises must arrive as the
same class with the same message, whatever the transport.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable, Iterator
from multiprocessing import Pipe
from typing import Any

import pytest
from tests.conftest import served_app

from tradewind import errors
from tradewind.core.execution import ExecutionAPI
from tradewind.core.execution_api import (
    BY_CALL_NAME,
    ERROR_STATUS,
    METHODS,
    REQUIRED,
    WORKER_METHODS,
    InProcessClient,
)
from tradewind.worker import _pipe
from tradewind.worker.http_client import HttpExecutionClient

ERROR_CLASSES = [cls for cls, _ in ERROR_STATUS]


class Raising:
    """A stand-in service: every call records itself and raises ``self.error``."""

    def __init__(self) -> None:
        self.error: BaseException = errors.NotFound("nothing")
        self.calls: list[tuple[str, int, tuple[Any, ...]]] = []

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name not in BY_CALL_NAME:
            raise AttributeError(name)

        def call(ti_id: int, token: str, *values: Any) -> Any:
            self.calls.append((name, ti_id, values))
            raise self.error

        return call


def _sample(arg_type: Any) -> Any:
    text = str(arg_type)
    if arg_type is int:
        return 7
    if arg_type is bool:
        return True
    if "list[dict" in text:
        return [{"k": 1}]
    if "list" in text:
        return ["a", "b"]
    if "dict" in text:
        return {"k": 1}
    return "x"


def sample_args(name: str) -> list[Any]:
    return [_sample(a.type) for a in METHODS[name].args]


@pytest.fixture(scope="module")
def service() -> Raising:
    return Raising()


@pytest.fixture(scope="module")
def http_url(service: Raising, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from tradewind.api.app import create_app
    from tradewind.services.env import Env
    from tradewind.settings import load_settings

    home = tmp_path_factory.mktemp("transports")
    env = Env.from_settings(load_settings(home, environ={}), wake=lambda *_: None)
    app = create_app(env)
    app.state.execution_service = service
    with served_app(app) as url:
        yield url + "/execution/"


@pytest.fixture(scope="module")
def pipe_client(service: Raising) -> Iterator[_pipe.PipeClient]:
    child, parent = Pipe(duplex=True)

    def serve() -> None:
        while True:
            try:
                msg = _pipe.recv(parent)
            except (EOFError, OSError):
                return
            _pipe.send(parent, _pipe.serve_call(service, msg))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield _pipe.PipeClient(child)
    child.close()
    thread.join(5)


@pytest.fixture(params=["in-process", "pipe", "http"])
def transport(
    request: pytest.FixtureRequest, service: Raising, pipe_client: _pipe.PipeClient
) -> Any:
    if request.param == "in-process":
        return InProcessClient(service)
    if request.param == "pipe":
        return pipe_client
    return HttpExecutionClient(request.getfixturevalue("http_url"), retry_for=1.0)


def methods_of(transport: Any) -> list[str]:
    if isinstance(transport, _pipe.PipeClient):
        return sorted(WORKER_METHODS)
    return sorted(BY_CALL_NAME)


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda c: c.__name__)
def test_every_error_class_arrives_as_itself_on_every_transport(
    transport: Any, service: Raising, cls: type[errors.TradewindError]
) -> None:
    for name in methods_of(transport):
        service.error = cls(f"{cls.__name__} raised by {name}")
        service.calls.clear()
        with pytest.raises(errors.TradewindError) as raised:
            getattr(transport, name)(12, "the-token", *sample_args(BY_CALL_NAME[name].name))
        assert type(raised.value) is cls, (name, type(raised.value))
        assert str(raised.value) == f"{cls.__name__} raised by {name}"
        # The call reached the service with its arguments intact.
        assert service.calls == [(name, 12, tuple(sample_args(BY_CALL_NAME[name].name)))]


def test_a_value_error_of_a_service_is_invalid_input_everywhere(
    transport: Any, service: Raising
) -> None:
    service.error = ValueError("'great' is not a valid Outcome")
    with pytest.raises(errors.InvalidInput, match="not a valid Outcome"):
        transport.finish(12, "tok", "great")


def test_an_unknown_error_is_an_execution_api_error_on_the_pipe_and_in_process() -> None:
    class Broken:
        def heartbeat(self, ti_id: int, token: str, pid: int) -> Any:
            raise KeyError("state")

    child, parent = Pipe(duplex=True)
    _pipe.send(child, {"id": "1", "method": "heartbeat", "args": [1, "t", 2]})
    reply = _pipe.serve_call(Broken(), _pipe.recv(parent))
    assert reply["error"] == {"type": "ExecutionAPIError", "message": "KeyError: 'state'"}
    refused = _pipe.serve_call(Broken(), {"id": "2", "method": "upload_log", "args": [1, "t", ""]})
    assert refused["error"]["type"] == "ExecutionAPIError"  # HTTP only: not through a pipe
    with pytest.raises(KeyError):
        InProcessClient(Broken()).heartbeat(1, "t", 2)


def test_the_protocol_matches_the_method_table() -> None:
    declared = {
        name: fn
        for name, fn in vars(ExecutionAPI).items()
        if callable(fn) and not name.startswith("_")
    }
    assert set(declared) == set(WORKER_METHODS)
    for name, fn in declared.items():
        params = list(inspect.signature(fn).parameters.values())[3:]  # self, ti_id, token
        spec = BY_CALL_NAME[name]
        assert [p.name for p in params] == [a.name for a in spec.args], name
        defaults = [None if p.default is inspect.Parameter.empty else p.default for p in params]
        table = [None if a.default is REQUIRED else a.default for a in spec.args]
        assert defaults == table, name


def test_generated_clients_check_their_arguments(transport: Any) -> None:
    with pytest.raises(TypeError, match="missing the argument 'pid'"):
        transport.heartbeat(1, "tok")
    with pytest.raises(TypeError, match="unexpected arguments"):
        transport.heartbeat(1, "tok", pid=1, colour="red")
