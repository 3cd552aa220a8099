"""``tradewind standalone``: one command brings up everything; Ctrl-C stops everything."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from tests.integration.cli.test_cli_scheduler import TRADEWIND, _alive, _children


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return int(resp.status)
    except OSError:
        return 0


@pytest.mark.slow
def test_standalone_serves_prints_the_admin_password_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    pytest.importorskip("tradewind.api.app")
    home = tmp_path / "home"
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TRADEWIND")},
        "TRADEWIND_HOME": str(home),
        "TRADEWIND__CORE__PARALLELISM": "2",
    }
    out = (tmp_path / "out.log").open("w")
    proc = subprocess.Popen(
        [*TRADEWIND, "standalone", "--port", str(port)],
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while _get(f"http://127.0.0.1:{port}/api/v2/version") != 200:
            assert proc.poll() is None, (tmp_path / "out.log").read_text()
            assert time.monotonic() < deadline, "the web server never answered"
            time.sleep(0.2)
        text = (tmp_path / "out.log").read_text()
        password_file = home / "standalone_admin_password.txt"
        password = password_file.read_text().strip()
        assert f"username: admin  password: {password}" in text
        assert f"http://127.0.0.1:{port}" in text
        assert oct(password_file.stat().st_mode & 0o777) == "0o600"
        assert (home / "dags" / "tradewind_examples" / "example_download_process_store.py").exists()
        children = _children(proc.pid)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
        deadline = time.monotonic() + 10
        while any(_alive(p) for p in children) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [p for p in children if _alive(p)], "orphan processes after Ctrl-C"
        assert "Standalone stopped." in (tmp_path / "out.log").read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        out.close()
