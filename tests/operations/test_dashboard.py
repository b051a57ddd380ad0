"""ops/grafana/fieldvault.json is a Grafana dashboard (schema 39, importable as is) whose
every panel queries only metrics that /metrics really serves, with unique ids, refIds per
panel and panels that do not overlap on the grid."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from django.test import Client

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "ops" / "grafana" / "fieldvault.json"
METRIC = re.compile(r"\bfieldvault_[a-z_]+\b")


def test_dashboard_queries_served_metrics(s3: Any, staging_dir: Path, db: Any) -> None:
    document = json.loads(DASHBOARD.read_text())
    assert document["uid"] and document["title"] and document["schemaVersion"] >= 36
    served = {
        line.split()[2]
        for line in Client().get("/metrics").content.decode().splitlines()
        if line.startswith("# TYPE ")
    }
    ids, cells, used = set(), set(), set()
    for panel in document["panels"]:
        assert panel["id"] not in ids
        ids.add(panel["id"])
        assert panel["type"] in {"timeseries", "stat", "gauge", "table", "bargauge"}
        assert panel["title"] and panel["datasource"]["type"] == "prometheus"
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24 and grid["h"] > 0
        area = {
            (x, y)
            for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not area & cells, f"panel {panel['title']} overlaps another"
        cells |= area
        refs = [target["refId"] for target in panel["targets"]]
        assert len(refs) == len(set(refs)) and refs
        for target in panel["targets"]:
            names = set(METRIC.findall(target["expr"]))
            assert names, target
            assert names <= served, (panel["title"], names - served)
            assert target["expr"].count("(") == target["expr"].count(")")
            used |= names
    # Every metric FieldVault serves is on the dashboard.
    assert served <= used, served - used
