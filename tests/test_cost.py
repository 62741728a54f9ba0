"""``portapack cost``: the billing arithmetic per platform rule on hand-computed cases, the
price table and its 90-day warning, live RunPod prices from a schema-checked stand-in, the CLI's
bad-input handling, and the table for the bundled GPU example."""

from __future__ import annotations

import datetime as dt
import json
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from runpod_standin import RunpodV2StandIn

import portapack
from portapack.cli import main
from portapack.cost import Traffic, bill_day, estimate, load_prices, price_line, rules
from portapack.cost.hardware import hardware_for
from portapack.spec.loader import load_project
from portapack.targets import TARGETS
from portapack.targets.cog import CogTarget
from portapack.targets.runpod.prices import runpod_pool_prices

PUBLIC = CogTarget.billing_alternatives["as a public model (active time only)"]

REPO = Path(__file__).resolve().parents[1]
TODAY = dt.date(2026, 12, 1)
PREDICTOR = """\
class Predictor:
    def load(self) -> None:
        self.ready = True

    def predict(self, text: str) -> str:
        return text
"""


def project(tmp_path: Path, body: str):
    (tmp_path / "portapack.yaml").write_text("name: demo\npredictor: predict.py:Predictor\n"
                                             + textwrap.dedent(body), encoding="utf-8")
    (tmp_path / "predict.py").write_text(PREDICTOR, encoding="utf-8")
    return load_project(tmp_path)


def by_target(report):
    return {c.target: c for c in report.targets}


# -- the arithmetic, one hand-computed case per billing rule --------------------------------------
# 10 requests/day of 30 s, 60 s cold start: requests are 8610 s apart, so each one starts a
# replica that idles before scaling down.
SPARSE = Traffic(requests_per_day=10, seconds_per_request=30, cold_start_seconds=60)


def test_modal_bills_start_up_requests_and_scaledown_window_per_second():
    bill = bill_day(SPARSE, rules()["modal"], idle=300)
    assert bill.seconds_per_day == 10 * (60 + 30 + 300)  # 3900 s
    day, month, _ = bill.cost(3.60)
    assert day == pytest.approx(3.90) and month == pytest.approx(117.0)


def test_modal_min_containers_are_billed_all_day():
    assert bill_day(SPARSE, rules()["modal"], idle=300, min_replicas=2).seconds_per_day == 2 * 86400


def test_replicate_deployment_bills_all_online_time_public_model_active_time_only():
    private = bill_day(SPARSE, rules()["cog"], idle=300)
    public = bill_day(SPARSE, PUBLIC, idle=300)
    assert private.seconds_per_day == 10 * (60 + 30 + 300)
    assert public.seconds_per_day == 10 * 30
    # min_instances are a deployment's; a public model has none to bill
    assert bill_day(SPARSE, PUBLIC, idle=300, min_replicas=1).seconds_per_day == 300


def test_runpod_bills_worker_seconds_with_idle_timeout_after_a_burst():
    burst = Traffic(busy_hours_per_day=2, cold_start_seconds=10)
    assert bill_day(burst, rules()["runpod"], idle=60).seconds_per_day == 10 + 7200 + 60
    assert bill_day(burst, rules()["runpod"], idle=60, min_replicas=1).seconds_per_day == 86400


def test_baseten_rounds_each_up_period_to_whole_minutes():
    # 60 + 30 + 100 = 190 s per request -> 4 billed minutes each
    assert bill_day(SPARSE, rules()["truss"], idle=100).seconds_per_day == 10 * 240
    # the same traffic per second (RunPod) is 10 x 190
    assert bill_day(SPARSE, rules()["runpod"], idle=100).seconds_per_day == 10 * 190


def test_requests_closer_than_the_idle_time_keep_one_replica_up_all_day():
    dense = Traffic(requests_per_day=2000, seconds_per_request=3)  # 40.2 s apart
    for target in ("modal", "cog", "runpod", "truss"):
        assert bill_day(dense, rules()[target], idle=300).seconds_per_day == 86400


def test_traffic_beyond_one_replica_needs_more_and_max_replicas_is_checked(tmp_path):
    busy = Traffic(requests_per_day=100_000, seconds_per_request=2)  # 200000 s: 3 replicas
    bill = bill_day(busy, rules()["runpod"], idle=300)
    assert (bill.replicas_needed, bill.seconds_per_day) == (3, 3 * 86400)
    p = project(tmp_path, "resources: {gpu: L4}\nscaling: {max_replicas: 2}\n")
    report = estimate(p, busy, offline=True, today=TODAY)
    for cost in report.targets:
        assert any("keeps 3 replicas busy; scaling.max_replicas is 2" in m for m in cost.marks)
    assert report.cheapest is None


def test_no_traffic_is_free_unless_replicas_are_kept_warm():
    idle_day = Traffic(requests_per_day=0, seconds_per_request=5)
    assert bill_day(idle_day, rules()["modal"], idle=300).seconds_per_day == 0
    assert bill_day(idle_day, rules()["modal"], idle=300, min_replicas=1).seconds_per_day == 86400


# -- the price table ------------------------------------------------------------------------------
def test_price_table_rows_are_sourced_dated_and_low_confidence_where_platforms_md_says():
    table = load_prices()
    assert table.prices, "the bundled table is empty"
    for p in table.prices:
        assert p.source.startswith("https://") and p.checked <= TODAY and not p.live
    low = {p.platform for p in table.prices if p.confidence == "low" and p.kind == "gpu"}
    assert low == {"modal", "truss"}  # Modal: secondary sources; Baseten: an undated copy
    assert table.get("cog", "gpu-h100").committed_spend
    assert table.get("runpod", "AMPERE_80").usd_per_hour == 2.74


def test_warning_when_a_platforms_newest_price_is_older_than_90_days(tmp_path):
    table = load_prices()
    assert set(table.stale(TODAY)) == {"modal", "runpod"}  # June 2026 figures
    assert table.stale(dt.date(2026, 7, 1)) == {}
    assert set(table.stale(dt.date(2027, 3, 2))) == {"modal", "runpod", "cog", "truss"}
    p = project(tmp_path, "resources: {gpu: T4}\n")
    warnings = estimate(p, offline=True, today=dt.date(2026, 8, 30)).warnings
    assert warnings == []  # 90 days after 2026-06-01 exactly: not yet older than 90 days
    warnings = estimate(p, offline=True, today=dt.date(2026, 8, 31)).warnings
    assert len(warnings) == 1 and "RunPod prices in the bundled table are from 2026-06-01, 91 days" \
        in warnings[0]


# -- hardware and marks ---------------------------------------------------------------------------
def test_less_memory_than_asked_and_committed_spend_are_marked(tmp_path):
    p = project(tmp_path, "resources: {gpu: H100}\ntargets: {cog: {hardware: gpu-t4}}\n")
    cog = by_target(estimate(p, offline=True, today=TODAY)).get("cog")
    assert cog.marks == ["less GPU memory than asked: 16 GB < 80 GB"] and not cog.fits
    p = project(tmp_path, "resources: {gpu: H100}\ntargets: {cog: {hardware: gpu-h100}}\n")
    cog = by_target(estimate(p, offline=True, today=TODAY))["cog"]
    assert cog.marks == ["gpu-h100 is only on committed-spend contracts"]


def test_multi_gpu_prices_every_gpu(tmp_path):
    p = project(tmp_path, "resources: {gpu: 'A100-80GB:2', cpu: 2, memory: 8Gi}\n")
    costs = by_target(estimate(p, offline=True, today=TODAY))
    assert costs["truss"].hardware.name == "A100:2"
    assert costs["truss"].rate.usd_per_hour == pytest.approx(2 * 6.14)
    assert costs["truss"].gpu_memory_gb == 160 and costs["truss"].asked_memory_gb == 160
    # Modal bills CPU cores and memory on top of its GPUs
    assert costs["modal"].rate.usd_per_hour == pytest.approx(2 * 2.50 + 2 * 0.04716 + 8 * 0.007992)


def test_cpu_spec_uses_cpu_prices_or_says_none_is_known(tmp_path):
    p = project(tmp_path, "resources: {cpu: 2, memory: 4Gi}\n")
    costs = by_target(estimate(p, Traffic(busy_hours_per_day=1), offline=True, today=TODAY))
    assert costs["modal"].rate.usd_per_hour == pytest.approx(2 * 0.04716 + 4 * 0.007992)
    assert costs["cog"].rate.usd_per_hour == 0.36
    for name in ("truss", "runpod"):
        assert costs[name].rate is None and costs[name].missing == "no CPU price known"
    lines = "\n".join(_cli(["--spec", str(tmp_path), "--offline"]).output.splitlines())
    assert "no CPU price known on Baseten" in lines and "no CPU price known on RunPod" in lines


def test_price_line_for_a_deploy_plan(tmp_path):
    p = project(tmp_path, "resources: {gpu: A100-80GB}\n")
    line = price_line(p, "runpod")
    assert line.startswith("AMPERE_80 (80 GB) at $2.74/GPU-hour (bundled table, checked 2026-06-01")
    assert "https://www.runpod.io/pricing" in line and "per second of worker time" in line
    assert price_line(project(tmp_path, "resources: {cpu: 2}\n"), "truss") is None


# -- live prices: RunPod's catalog from a stand-in that checks the request ------------------------
# GpuTypes as RunPod's catalog lists them; the stand-in checks them against the OpenAPI document's
# ListGpuTypesResponse. AMPERE_80 at 2.17 (not the bundled 2.74) proves the live figure is used.
CATALOG = [
    {"id": "NVIDIA A100 80GB PCIe", "name": "A100 PCIe", "pool": "AMPERE_80", "manufacturer": "NVIDIA",
     "memory": 80, "secure": True, "community": True,
     "price": {"secure": 1.39, "community": 1.19, "serverless": 2.17},
     "maxCount": {"secure": 8, "community": 8}},
    {"id": "NVIDIA A100-SXM4-80GB", "name": "A100 SXM", "pool": "AMPERE_80", "manufacturer": "NVIDIA",
     "memory": 80, "secure": True, "community": False,
     "price": {"secure": 1.49, "community": 1.39, "serverless": 2.17},
     "maxCount": {"secure": 8, "community": 0}},
    {"id": "NVIDIA GeForce RTX 3070", "name": "RTX 3070", "pool": None, "manufacturer": "NVIDIA",
     "memory": 8, "secure": False, "community": True,
     "price": {"secure": 0.0, "community": 0.13}, "maxCount": {"secure": 0, "community": 2}},
]


@pytest.fixture
def runpod_api():
    with RunpodV2StandIn(api_key="rp-test-key", gpus=CATALOG) as api:
        yield api


def test_catalog_parsing_keeps_serverless_pools_only():
    prices = runpod_pool_prices(CATALOG, TODAY)
    assert [(p.hardware, p.usd_per_hour, p.gpu_memory_gb, p.live) for p in prices] == [
        ("AMPERE_80", 2.17, 80, True)]


def test_live_runpod_prices_replace_the_bundled_ones(tmp_path, runpod_api):
    p = project(tmp_path, "resources: {gpu: A100-80GB}\n")
    env = {"RUNPOD_API_KEY": "rp-test-key", "PORTAPACK_RUNPOD_API_URL": runpod_api.url}
    report = estimate(p, Traffic(busy_hours_per_day=1), today=TODAY, env=env)
    assert runpod_api.calls() == [("GET", "/v2/catalog/gpus")] and runpod_api.refused == []
    runpod = by_target(report)["runpod"]
    price = runpod.rate.gpu_price
    assert (price.usd_per_hour, price.live, price.source) == (2.17, True, "RunPod API GET /v2/catalog/gpus")
    assert runpod.usd_per_month == pytest.approx((3600 + 300) / 3600 * 2.17 * 30)  # 300 s idle_timeout
    assert not any("RunPod prices" in w for w in report.warnings)  # priced live: not stale
    assert by_target(report)["modal"].rate.gpu_price.live is False  # Modal stays bundled
    runpod_api.requests.clear()
    offline = estimate(p, today=TODAY, env=env, offline=True)  # --offline makes no call
    assert runpod_api.calls() == [] and by_target(offline)["runpod"].rate.gpu_price.usd_per_hour == 2.74


def test_a_refused_catalog_request_falls_back_to_the_bundled_table(tmp_path, runpod_api):
    p = project(tmp_path, "resources: {gpu: A100-80GB}\n")
    env = {"RUNPOD_API_KEY": "wrong-key", "PORTAPACK_RUNPOD_API_URL": runpod_api.url}
    report = estimate(p, today=TODAY, env=env)
    assert by_target(report)["runpod"].rate.gpu_price.usd_per_hour == 2.74
    assert any(w.startswith("RunPod live prices unavailable") and "401" in w for w in report.warnings)


# -- the command line -----------------------------------------------------------------------------
def _cli(args: list[str]):
    return CliRunner().invoke(main, ["cost", *args])


@pytest.mark.parametrize(("args", "message"), [
    (["--requests-per-day", "-5", "--seconds-per-request", "2"], "--requests-per-day must be zero or more"),
    (["--busy-hours-per-day", "-1"], "--busy-hours-per-day must be zero or more"),
    (["--busy-hours-per-day", "2", "--requests-per-day", "3", "--seconds-per-request", "1"],
     "not both"),
    (["--requests-per-day", "5"], "--seconds-per-request is missing"),
    (["--busy-hours-per-day", "25"], "more than a day has"),
    (["--cold-start-seconds", "-3", "--busy-hours-per-day", "1"], "--cold-start-seconds must be zero"),
    (["--busy-hours-per-day", "nan"], "--busy-hours-per-day must be zero or more"),
    (["--bogus"], "No such option '--bogus'"),
    (["--busy-hours-per-day", "lots"], "'lots' is not a valid float"),
])
def test_bad_input_is_a_clear_message_and_exit_2(args, message):
    result = _cli(["--spec", str(REPO / "examples/llm-chat"), "--offline", *args])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)


def test_missing_spec_is_a_clear_message(tmp_path):
    result = _cli(["--spec", str(tmp_path / "nope"), "--offline"])
    assert result.exit_code == 2 and "spec file not found" in result.output


def test_gpu_example_table(monkeypatch):
    monkeypatch.delenv("RUNPOD_API_KEY", raising=False)
    spec = REPO / "examples/llm-chat"
    p = load_project(spec)
    # kserve (your own cluster) has no price table: its --self-hosted column is issue 21's
    # cost part, after prices move into each target.
    hardware = {t: hardware_for(p, t).name for t in TARGETS if t != "kserve"}
    result = _cli(["--spec", str(spec), "--offline", "--requests-per-day", "200",
                   "--seconds-per-request", "4", "--cold-start-seconds", "60", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    rows = {r["target"]: r for r in data["targets"]}
    assert {t: r["hardware"] for t, r in rows.items()} == hardware
    assert all(r["asked_memory_gb"] == 80 and r["gpu_memory_gb"] >= 80 for r in rows.values())
    # llm-chat: idle_timeout 600 s; 200 requests are 432 s apart, within it: one replica all day
    runpod = rows["runpod"]
    assert runpod["billed_hours_per_day"] == 24
    assert runpod["usd_per_month"] == pytest.approx(24 * runpod["usd_per_gpu_hour"] * 30, abs=0.01)
    # Replicate's idle time is its own (assumed 300 s): 200 x (60 + 4 + 300) s
    assert rows["cog"]["billed_hours_per_day"] == pytest.approx(200 * 364 / 3600, abs=1e-4)
    assert rows["cog"]["alternative"].startswith("as a public model (active time only): $")
    cheapest = min((r for r in rows.values() if r["fits"]), key=lambda r: r["usd_per_month"])
    assert data["cheapest"] == cheapest["target"] and cheapest["cheapest"]
    assert all(r["arithmetic"] and r["billing"] and r["sources"] for r in rows.values())
    text = _cli(["--spec", str(spec), "--offline", "--requests-per-day", "200",
                 "--seconds-per-request", "4"]).output
    assert text.splitlines()[0].split() == ["target", "platform", "hardware", "gpu", "memory",
                                            "$/gpu-hour", "$/hour", "$/second", "source", "per", "month"]
    assert f"* cheapest that fits for this traffic: {data['cheapest']}" in text
    for r in rows.values():
        assert f"{r['target']} ({r['platform']}): bills" in text


def test_a_dry_run_plan_shows_the_price_of_its_hardware(tmp_path):
    """deploy --dry-run prints the price line of the hardware it would deploy on (bundled table)."""
    plan = portapack.deploy(REPO / "examples/llm-chat", "runpod", tmp_path / "out", dry_run=True)
    assert plan.settings["price"] == price_line(load_project(REPO / "examples/llm-chat"), "runpod")
    assert plan.settings["price"].startswith("AMPERE_80 (80 GB) at $2.74/GPU-hour")
    cpu_plan = portapack.deploy(REPO / "examples/text-stats", "cog", tmp_path / "out", dry_run=True)
    assert cpu_plan.settings["price"].startswith("cpu at $0.36/hour")


# -- the self-hosted column: the user's own cluster at their own GPU-hour price -----------------
def test_self_hosted_holds_the_busy_replicas_all_day_at_the_users_price(tmp_path):
    p = project(tmp_path, "resources: {gpu: A100-80GB:2}\nscaling: {min_replicas: 0, max_replicas: 4}\n")
    busy = Traffic(requests_per_day=50_000, seconds_per_request=3)  # 150000 s: two replicas busy
    report = estimate(p, busy, today=TODAY, offline=True, self_hosted={"A100-80GB": 1.10})
    own = by_target(report)["self-hosted"]
    assert (own.platform, own.hardware.name, own.hardware.gpu_count) == ("your cluster", "A100-80GB:2", 2)
    assert own.rate.usd_per_hour == pytest.approx(2.20)  # two GPUs at 1.10
    assert own.bill.seconds_per_day == 2 * 86400  # two replicas held around the clock
    assert own.usd_per_month == pytest.approx(2 * 24 * 2.20 * 30)
    assert own.rate.gpu_price.origin == "your figure (--self-hosted)"
    sparse = estimate(p, SPARSE, today=TODAY, offline=True, self_hosted={"A100-80GB": 1.10})
    assert by_target(sparse)["self-hosted"].bill.seconds_per_day == 86400  # at least one replica


def test_self_hosted_without_a_price_for_the_spec_gpu_says_which(tmp_path):
    p = project(tmp_path, "resources: {gpu: L4}\n")
    own = by_target(estimate(p, today=TODAY, offline=True, self_hosted={"A100-80GB": 1.1}))["self-hosted"]
    assert own.rate is None and own.missing == "no --self-hosted price for L4" and not own.fits


@pytest.mark.parametrize(("entry", "message"), [
    ("A100-80GB=abc", "'A100-80GB=abc': write GPU=USD_PER_GPU_HOUR"),
    ("A100-80GB", "'A100-80GB': write GPU=USD_PER_GPU_HOUR"),
    ("A100-80GB=-1", "'A100-80GB=-1': write GPU=USD_PER_GPU_HOUR"),
    ("A100=1.1", "'A100' is ambiguous"),
])
def test_a_bad_self_hosted_price_is_named_with_the_fix(tmp_path, entry, message):
    project(tmp_path, "resources: {gpu: L4}\n")
    result = _cli(["--spec", str(tmp_path), "--offline", "--self-hosted", entry])
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output
    assert "invalid --self-hosted" in result.output


def test_the_cli_shows_the_self_hosted_column_beside_the_platforms(tmp_path):
    project(tmp_path, "resources: {gpu: L4}\n")
    result = _cli(["--spec", str(tmp_path), "--offline", "--busy-hours-per-day", "2", "--json",
                   "--self-hosted", "l4=0.40"])
    assert result.exit_code == 0, result.output
    rows = {c["target"]: c for c in json.loads(result.output)["targets"]}
    assert set(rows) == {"modal", "cog", "truss", "runpod", "self-hosted"}
    assert rows["self-hosted"]["usd_per_month"] == pytest.approx(24 * 0.40 * 30)
    assert rows["self-hosted"]["sources"][0]["yours"] is True
