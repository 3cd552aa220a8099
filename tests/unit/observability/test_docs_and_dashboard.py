"""docs/observability.md documents every metric, and the Grafana dashboard queries only
metrics Tradewind emits (under their Prometheus names)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tradewind.core.metric_names import CATALOG
from tradewind.observability.prometheus import prometheus_name

ROOT = Path(__file__).resolve().parents[3]


def test_every_metric_is_documented_with_its_type() -> None:
    doc = (ROOT / "docs" / "observability.md").read_text()
    for spec in CATALOG.values():
        row = next(
            (line for line in doc.splitlines() if line.startswith(f"| `{spec.name}` |")), None
        )
        assert row is not None, f"{spec.name} is not in docs/observability.md"
        assert spec.kind in row


def test_the_dashboard_only_queries_emitted_metrics() -> None:
    dash = json.loads((ROOT / "examples" / "grafana" / "tradewind-dashboard.json").read_text())
    known = set()
    for spec in CATALOG.values():
        base = prometheus_name("tradewind", spec.name)
        known |= {base, f"{base}_total", f"{base}_bucket", f"{base}_sum", f"{base}_count"}
    exprs = [t["expr"] for p in dash["panels"] for t in p["targets"]]
    exprs.append(dash["templating"]["list"][1]["query"]["query"])
    used = {n for e in exprs for n in re.findall(r"\btradewind_[a-z_]+", e)}
    assert used and used <= known, used - known
