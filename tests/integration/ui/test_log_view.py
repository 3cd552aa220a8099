"""The log view: the exception and its traceback are shown (folded), and the log downloads."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient


def _failed_run(client: TestClient) -> str:
    grid = client.get("/dags/broken_dag/grid")
    return grid.text.split('data-run-id="', 1)[1].split('"', 1)[0]


def test_the_log_shows_the_exception_and_its_traceback_folded(
    client_for: Callable[[str], TestClient],
) -> None:
    client = client_for("viewer")
    run_id = _failed_run(client)
    panel = client.get("/dags/broken_dag/ti", params={"run_id": run_id, "task_id": "boom"}).text
    log = panel[panel.index('id="log"') :]
    # The exception's own line is the visible summary; the traceback is folded under it.
    summary = log.split("<summary>", 1)[1].split("</summary>", 1)[0]
    assert summary == "tradewind.errors.TradewindError: bash command failed: exit code 3"
    folded = log.split('<details class="traceback">', 1)[1].split("</details>", 1)[0]
    assert "Traceback (most recent call last):" in folded
    assert "operators/bash.py" in folded
    assert '<select class="log-level"' in panel and 'class="log-download"' in panel


def test_the_log_downloads_as_text_with_the_traceback(
    client_for: Callable[[str], TestClient],
) -> None:
    client = client_for("viewer")
    run_id = _failed_run(client)
    resp = client.get(
        "/dags/broken_dag/log", params={"run_id": run_id, "task_id": "boom", "try_number": 1}
    )
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/plain")
    assert resp.headers["content-disposition"].startswith('attachment; filename="broken_dag__')
    text = resp.text
    assert "INFO - about-to-fail" in text
    assert "ERROR - Task failed with exception\nTraceback (most recent call last):" in text
    assert text.rstrip().endswith("Marked boom as failed")


def test_the_log_download_needs_login_and_a_real_task(
    app: object, client_for: Callable[[str], TestClient]
) -> None:
    anonymous = TestClient(app, base_url="http://127.0.0.1")  # type: ignore[arg-type]
    params = {"run_id": "x", "task_id": "boom"}
    assert anonymous.get(
        "/dags/broken_dag/log", params=params, follow_redirects=False
    ).status_code in (
        303,
        401,
    )
    assert client_for("viewer").get("/dags/broken_dag/log", params=params).status_code == 404
