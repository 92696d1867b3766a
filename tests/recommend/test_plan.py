"""The plan's bill: actions on one metric composed exactly, against a brute-force apply of the
same actions to the generated label sets (Hypothesis)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from costscope.config import Config
from costscope.recommend.plan import choose_actions, make_plan
from costscope.run import run_analysis
from costscope.store import Store

LES = ("0.1", "0.5", "1", "+Inf")
SETS = st.lists(
    st.tuples(
        st.sampled_from(["api", "web"]),
        st.integers(0, 3),
        st.integers(0, 2),
        st.one_of(st.none(), st.integers(0, 5)),
    ),
    min_size=1,
    max_size=30,
)


def _labels(job: str, a: int, b: int, c: int | None) -> dict[str, str]:
    out = {"job": job, "a": f"a{a}", "b": f"b{b}"}
    if c is not None:
        out["c"] = f"c{c}"  # only some series carry c
    return out


def _series(rows: list[tuple[str, int, int, int | None]]) -> set[tuple[str, tuple[tuple[str, str], ...]]]:
    out = set()
    for row in rows:
        labels = _labels(*row)
        for le in LES:
            out.add(("lat_seconds_bucket", tuple(sorted({**labels, "le": le}.items()))))
        for sample in ("lat_seconds_sum", "lat_seconds_count", "req_total"):
            out.add((sample, tuple(sorted(labels.items()))))
    return out


def _exposition(series: set[tuple[str, tuple[tuple[str, str], ...]]]) -> str:
    lines = ["# TYPE lat_seconds histogram", "# TYPE req_total counter"]
    for name, labels in sorted(series, key=lambda s: (not s[0].startswith("lat"), s)):
        text = ",".join(f'{k}="{v}"' for k, v in labels)
        lines.append(f"{name}{{{text}}} 1")
    return (
        "\n".join(
            lines[:1]
            + [x for x in lines[2:] if x.startswith("lat")]
            + lines[1:2]
            + [x for x in lines[2:] if x.startswith("req")]
        )
        + "\n"
    )


def _brute(
    series: set[tuple[str, tuple[tuple[str, str], ...]]],
    drop: dict[str, set[str]],
    points: set[str],
    gone: set[str],
) -> dict[tuple[str, str], int]:
    left: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
    for name, labels in series:
        family = "lat_seconds" if name.startswith("lat") else "req_total"
        if family in gone or (name == "lat_seconds_bucket" and dict(labels)["le"] in points):
            continue
        left.add((name, tuple(p for p in labels if p[0] not in drop.get(family, set()))))
    out: dict[tuple[str, str], int] = {}
    for name, labels in left:
        family = "lat_seconds" if name.startswith("lat") else "req_total"
        key = (family, dict(labels)["job"])
        out[key] = out.get(key, 0) + 1
    return out


def _action(
    rank: int, kind: str, metric: str, labels: tuple[str, ...] = (), points: tuple[str, ...] = ()
) -> dict[str, object]:
    return {"rank": rank, "kind": kind, "target": metric, "monthly_savings": 0.0, "series_saved": 0,
            "risk": "", "evidence": "", "config": "", "cost_model": "", "risk_level": "none",
            "metric": metric, "labels": list(labels), "points": list(points)}  # fmt: skip


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=SETS,
    drop=st.sets(st.sampled_from(["a", "b", "c"])),
    cut=st.sets(st.sampled_from(LES[:-1])),
    gone=st.booleans(),
)
def test_the_plan_counts_composed_actions_as_a_brute_force_apply(
    tmp_path_factory: object,
    rows: list[tuple[str, int, int, int | None]],
    drop: set[str],
    cut: set[str],
    gone: bool,
) -> None:
    tmp = tmp_path_factory.mktemp("plan")  # type: ignore[attr-defined]
    series = _series(rows)
    (tmp / "m.prom").write_text(_exposition(series))
    with Store.open(tmp / "p.duckdb") as store:
        _, analysis = run_analysis(store, [str(tmp / "m.prom")], Config(), show_values=True)
        actions = [
            _action(1, "aggregate", "lat_seconds", tuple(sorted(drop))),
            _action(2, "reduce_buckets", "lat_seconds", points=tuple(sorted(cut))),
        ]
        actions.append(
            _action(3, "drop_metric" if gone else "aggregate", "req_total", () if gone else ("b",))
        )
        frame = pl.DataFrame(actions, schema=analysis.recommendations.schema)
        plan = make_plan(store, analysis, frame)
    want = _brute(
        series,
        {"lat_seconds": drop, "req_total": set() if gone else {"b"}},
        cut,
        {"req_total"} if gone else set(),
    )
    for metric in ("lat_seconds", "req_total"):
        got = int(plan.metrics.filter(pl.col("metric") == metric)["series_after"].sum())
        assert got == sum(v for (m, _), v in want.items() if m == metric), metric
    jobs = dict(plan.jobs.select("job", "series_after").iter_rows())
    for job in {j for _, j in want}:
        assert jobs[job] == sum(v for (_, j), v in want.items() if j == job)
    assert plan.metrics["exact"].all()
    assert plan.total_after <= plan.total_before + 1e-9


def test_choose_takes_every_action_up_to_a_risk_level(tmp_path: Path) -> None:
    recs = pl.DataFrame(
        [
            _action(1, "drop_metric", "x"),
            {**_action(2, "aggregate", "y"), "risk_level": "dashboard"},
            {**_action(3, "aggregate", "z"), "risk_level": "slo"},
        ]
    )
    assert choose_actions(recs)["rank"].to_list() == [1]
    assert choose_actions(recs, "dashboard")["rank"].to_list() == [1, 2]
    assert choose_actions(recs, "slo", top=2)["rank"].to_list() == [1, 2]
    assert choose_actions(recs, ranks=[3])["rank"].to_list() == [3]


def test_costscope_plan_on_the_demo_writes_the_plan_and_its_configs(tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from costscope.cli import app

    root = Path(__file__).resolve().parents[2]
    out = tmp_path / "plan"
    result = CliRunner().invoke(
        app,
        [
            "plan",
            str(root / "sample_data"),
            "--out",
            str(out),
            "--db",
            str(tmp_path / "p.duckdb"),
            "--no-color",
        ],
    )
    assert result.exit_code == 0, result.output
    doc = json.loads((out / "plan.json").read_text())
    assert doc["total_after"] < doc["total_before"]
    assert {a["risk_level"] for a in doc["actions"]} == {"none"}
    assert len(list((out / "actions").iterdir())) == len(doc["actions"])
    # the demo's biggest metric loses its unread labels: exactly the keep-used action's own count
    analysis_keep = {m["metric"]: m for m in doc["metrics"]}["http_requests_total"]
    (action,) = [a for a in doc["actions"] if a["metric"] == "http_requests_total"]
    assert analysis_keep["series_after"] == analysis_keep["series_before"] - action["series_saved"]
    assert analysis_keep["exact"]
    assert f"Plan: {len(doc['actions'])} action(s)" in result.output
    bad = CliRunner().invoke(app, ["plan", str(root / "sample_data"), "--out", str(out), "--risk-up-to", "reckless",
                                   "--db", str(tmp_path / "q.duckdb")])  # fmt: skip
    assert bad.exit_code == 2 and "risk level must be one of" in bad.output


def test_the_report_headline_shows_the_plan_beside_today(tmp_path: Path) -> None:
    from costscope.report.html import write_report
    from costscope.report.terminal import money

    root = Path(__file__).resolve().parents[2]
    with Store.open(tmp_path / "r.duckdb") as store:
        _, analysis = run_analysis(store, [str(root / "sample_data")], Config())
    assert analysis.plan_bill is not None
    n, before, after = analysis.plan_bill
    assert n > 0 and after < before
    write_report(analysis, tmp_path / "r.html")
    html = (tmp_path / "r.html").read_text()
    assert f"{n} actions that break no dashboard, alert or SLO" in html
    assert f"{money(before)} → {money(after)}" in html
