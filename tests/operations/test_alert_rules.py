"""ops/prometheus/alerts.yml is a well-formed Prometheus rule file whose expressions name
only metrics that /metrics really serves (promtool is not in the Python registry and Debian's
prometheus package would bring a whole server, so the rule file's schema is checked here)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from django.test import Client

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "ops" / "prometheus" / "alerts.yml"
DURATION = re.compile(r"^\d+[smhdwy]$")
METRIC = re.compile(r"\bfieldvault_[a-z_]+\b")


def test_rule_file_schema_and_metric_names(s3: Any, staging_dir: Path, db: Any) -> None:
    document = yaml.safe_load(RULES.read_text())
    assert set(document) == {"groups"}
    served = {
        line.split()[2]
        for line in Client().get("/metrics").content.decode().splitlines()
        if line.startswith("# TYPE ")
    }
    names: set[str] = set()
    for group in document["groups"]:
        assert set(group) <= {"name", "interval", "rules"} and group["name"]
        for rule in group["rules"]:
            assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, rule
            assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", rule["alert"]), rule
            assert rule["alert"] not in names, f"duplicate alert {rule['alert']}"
            names.add(rule["alert"])
            assert DURATION.match(rule["for"]), rule
            assert rule["labels"]["severity"] in {"critical", "warning"}, rule
            assert rule["annotations"]["summary"], rule
            used = set(METRIC.findall(rule["expr"]))
            assert used, rule
            assert used <= served, (rule["alert"], used - served)
            assert rule["expr"].count("(") == rule["expr"].count(")"), rule
    assert len(names) >= 5
