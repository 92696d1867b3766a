"""Dashboards and rules inside Kubernetes resources, as clusters hold and kubectl prints them.

The resources are built here, in tmp_path, from the real kube-prometheus dashboards and
PrometheusRules in ../shared (the dashboards were cut out of kube-prometheus' own ConfigMapList,
manifests/grafana-dashboardDefinitions.yaml, verbatim), in the shapes the projects ship them.
"""

from __future__ import annotations

import base64
import gzip
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

import costscope
from costscope.errors import InputWarning
from costscope.sources.dashboards import dashboard_queries, read_dashboard_file
from costscope.sources.kinds import detect
from costscope.sources.usage_file import file_usage
from tests.conftest import SHARED

KUBE = SHARED / "dashboards_rules" / "kube-prometheus"
ALERTS = SHARED / "dashboards_rules" / "awesome-prometheus-alerts"
NODE_FULL = SHARED / "dashboards_rules" / "rfmoz" / "node-exporter-full.json"


class _Block(str):
    """A string YAML writes as a literal block, as kubectl and the manifests do."""


yaml.add_representer(_Block, lambda d, s: d.represent_scalar("tag:yaml.org,2002:str", s, style="|"))


def _configmap(name: str, data: dict[str, str], namespace: str = "monitoring") -> dict[str, Any]:
    meta = {"name": name, "namespace": namespace, "labels": {"grafana_dashboard": "1"}}
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data}


def _write(path: Path, doc: object) -> Path:
    path.write_text(yaml.dump(doc, sort_keys=False, width=1000))
    return path


@pytest.fixture
def dashboard_list(tmp_path: Path) -> Path:
    """kube-prometheus' manifests/grafana-dashboardDefinitions.yaml: one ConfigMapList."""
    items = [
        _configmap(f"grafana-dashboard-{f.stem}", {f.name: _Block(f.read_text())})
        for f in sorted((KUBE / "dashboards").glob("*.json"))
    ]
    return _write(
        tmp_path / "grafana-dashboardDefinitions.yaml",
        {"apiVersion": "v1", "items": items, "kind": "ConfigMapList"},
    )


def _rules_list() -> dict[str, Any]:
    """``kubectl get prometheusrules -A -o yaml``: a List of PrometheusRule resources."""
    rules = [yaml.safe_load(f.read_text()) for f in sorted((KUBE / "rules").glob("*.yaml"))]
    return {"apiVersion": "v1", "items": rules, "kind": "List", "metadata": {"resourceVersion": ""}}


def test_a_configmap_list_of_dashboards_reads_as_the_dashboards(dashboard_list: Path) -> None:
    assert detect(dashboard_list) == "rules"
    usage = file_usage(dashboard_list)
    assert usage.errors == [] and usage.problems == []
    assert len(usage.queries) == 652  # the fixture's 33 dashboards: 581 panel targets + 71 variables
    assert {q.kind for q in usage.queries} == {"dashboard"}
    # each reader says which resource and key it came from
    apiserver = {q.origin for q in usage.queries if q.name == "Kubernetes / API server"}
    assert apiserver == {f"{dashboard_list}#ConfigMap/monitoring/grafana-dashboard-apiserver/apiserver.json"}
    plain = [
        q.expr
        for f in sorted((KUBE / "dashboards").glob("*.json"))
        for q in dashboard_queries(read_dashboard_file(f), "")[0]
    ]
    assert sorted(q.expr for q in usage.queries) == sorted(plain)


@pytest.mark.parametrize("dump", [yaml.dump, lambda d: json.dumps(d, indent=2)], ids=["yaml", "json"])
def test_kubectl_get_prometheusrules_reads_every_rule(tmp_path: Path, dump: Any) -> None:
    path = tmp_path / "rules.out"
    path.write_text(dump(_rules_list()))
    assert detect(path) == "rules"
    usage = file_usage(path)
    # oracle: the rule files' own text, one `alert:` or `record:` line per rule
    text = "".join(f.read_text() for f in (KUBE / "rules").glob("*.yaml"))
    assert len(usage.queries) == len(re.findall(r"^\s*(?:- )?(?:alert|record):", text, re.M)) == 234
    assert usage.errors == []
    assert all("#PrometheusRule/monitoring/" in q.origin for q in usage.queries)


def test_a_helm_chart_configmap_of_rule_files(tmp_path: Path) -> None:
    """The Prometheus chart's server ConfigMap: rule files beside prometheus.yml, which is no rules."""
    alerts = (ALERTS / "host-and-hardware__node-exporter.yml").read_text()
    data = {
        "alerting_rules.yml": _Block(alerts),
        "recording_rules.yml": "{}\n",
        "prometheus.yml": _Block(
            "global:\n  scrape_interval: 1m\nrule_files:\n- /etc/config/alerting_rules.yml\n"
        ),
        "allow-snippet-annotations": "false",
    }
    path = _write(tmp_path / "prometheus-server.yaml", _configmap("prometheus-server", data, "prom"))
    assert detect(path) == "rules"
    usage = file_usage(path)
    assert usage.errors == []
    assert len(usage.queries) == len(re.findall(r"^\s*- alert:", alerts, re.M)) > 10
    assert {q.origin for q in usage.queries} == {
        f"{path}#ConfigMap/prom/prometheus-server/alerting_rules.yml"
    }


def _grafana_dashboard(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    meta = {"name": name, "namespace": "grafana"}
    return {
        "apiVersion": "grafana.integreatly.org/v1beta1",
        "kind": "GrafanaDashboard",
        "metadata": meta,
        "spec": spec,
    }


def test_grafana_operator_dashboards(tmp_path: Path) -> None:
    model = NODE_FULL.read_text()
    expected = len(dashboard_queries(json.loads(model), "")[0])
    docs = [
        _grafana_dashboard("inline", {"json": _Block(model)}),
        _grafana_dashboard("zipped", {"gzipJson": base64.b64encode(gzip.compress(model.encode())).decode()}),
        _grafana_dashboard("by-ref", {"configMapRef": {"name": "node-full", "key": "json"}}),
        _configmap("node-full", {"json": _Block(model)}, "grafana"),  # read once, as a ConfigMap
        _grafana_dashboard("remote", {"url": "https://grafana.example/d.json"}),
        _grafana_dashboard("missing-ref", {"configMapRef": {"name": "elsewhere", "key": "d.json"}}),
    ]
    path = tmp_path / "dashboards.yaml"
    path.write_text(yaml.dump_all(docs, sort_keys=False, width=1000))
    assert detect(path) == "rules"
    usage = file_usage(path)
    assert usage.errors == [] and expected > 250
    by_origin: dict[str, int] = {}
    for q in usage.queries:
        resource = q.origin.split("#")[1]
        by_origin[resource] = by_origin.get(resource, 0) + 1
    assert by_origin == {
        "GrafanaDashboard/grafana/inline": expected,
        "GrafanaDashboard/grafana/zipped": expected,
        "ConfigMap/grafana/node-full/json": expected,
    }
    unresolved = {p.name: p.message for p in usage.problems if p.problem == "unresolved"}
    assert set(unresolved) == {"GrafanaDashboard/grafana/remote", "GrafanaDashboard/grafana/missing-ref"}
    assert "https://grafana.example/d.json" in unresolved["GrafanaDashboard/grafana/remote"]
    assert "'elsewhere'" in unresolved["GrafanaDashboard/grafana/missing-ref"]


@pytest.mark.parametrize(
    ("data", "said"),
    [
        ({"bad.json": '{"panels": ['}, "invalid JSON (line 1 of the value)"),
        ({"rules.yaml": "groups: [\n"}, "invalid YAML"),
    ],
)
def test_one_unreadable_value_is_an_error_and_the_rest_is_read(
    tmp_path: Path, data: dict[str, str], said: str
) -> None:
    good = _configmap("good", {"node.json": _Block(NODE_FULL.read_text())})
    bad = _configmap("bad", data)
    path = _write(tmp_path / "cms.yaml", {"apiVersion": "v1", "kind": "List", "items": [bad, good]})
    assert detect(path) == "rules"
    usage = file_usage(path)
    (error,) = usage.errors
    assert said in error.message and error.file == f"{path}#ConfigMap/monitoring/bad/{next(iter(data))}"
    assert len(usage.queries) > 250


@pytest.mark.parametrize(
    ("encoded", "said"),
    [
        ("bm90IGd6aXA=", "not base64 of gzipped JSON"),  # "not gzip"
        (base64.b64encode(gzip.compress(b" " * (65 << 20))).decode(), "expands past 64 MiB"),  # 65 KB of gzip
    ],
    ids=["not gzip", "gzip bomb"],
)
def test_a_bad_gzip_json_names_the_resource(tmp_path: Path, encoded: str, said: str) -> None:
    path = _write(tmp_path / "d.yaml", _grafana_dashboard("z", {"gzipJson": encoded}))
    (error,) = file_usage(path).errors
    assert said in error.message and error.file == f"{path}#GrafanaDashboard/grafana/z"


def test_configmaps_of_other_programs_are_not_claimed(tmp_path: Path) -> None:
    """An application's ConfigMap holds no dashboards or rules: still 'not recognised', said so."""
    app = _configmap(
        "app", {"app.properties": "a=1\n", "config.json": '{"feature": true}', "run.sh": "echo hi\n"}
    )
    path = _write(tmp_path / "app.yaml", {"apiVersion": "v1", "kind": "List", "items": [app]})
    found = detect(path)
    assert isinstance(found, InputWarning) and "not recognised" in found.message


def test_usage_from_the_manifests_equals_usage_from_the_files(tmp_path: Path, dashboard_list: Path) -> None:
    """Scrapes of a cluster beside kube-prometheus' manifests, or beside its plain dashboard and rule
    files: each metric's status and readers are the same."""
    scrapes = str(SHARED / "prometheus_exposition" / "k8s_v1.35_minikube_nri-kubernetes")
    _write(tmp_path / "prometheusrules.yaml", _rules_list())
    from_manifests = costscope.analyze(
        [scrapes, str(dashboard_list), str(tmp_path / "prometheusrules.yaml")], db=tmp_path / "a"
    )
    from_files = costscope.analyze([scrapes, str(KUBE)], db=tmp_path / "b")
    columns = ["metric", "status", "readers"]
    ours, theirs = (ws.usage().select(columns).sort("metric") for ws in (from_manifests, from_files))
    assert ours.height > 600 and ours["status"].value_counts().height == 2
    assert ours.equals(theirs)
