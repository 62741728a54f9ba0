"""The Cog target against Cog itself, without Cog's Go CLI (no Go toolchain here; the judges
are in tests/cog_judges.py): for every example and an edge spec (dict inputs, gt/lt bounds, a
secret, concurrency), .cog/openapi_schema.json says what Cog's own SDK inspector reads in the
runner (coglet serves that file and generates none, so it cannot be the judge) and cog.yaml
passes Cog's config schema; coglet (Cog's HTTP server) runs the projects with deprecation
warnings as errors (the `predict:` key, BasePredictor, predict() and Predictor each warn);
the Dockerfile ENV line `cog build` writes (Cog's rule, reproduced from its source) goes
through the real Docker engine; Replicate hardware never has less GPU memory than the spec
asks for.
"""

from __future__ import annotations

import json
import shutil
import urllib.request
from pathlib import Path

import pytest
import yaml
from cog_judges import cog_env_line, cog_yaml_errors, cogs_reading, schema_differences
from dockerenv import engine_with_base

import portapack
from portapack.errors import PortapackError
from portapack.proof.runtimes import get_runtime
from portapack.proof.runtimes.base import http_json
from portapack.spec.gpu import CANONICAL
from portapack.targets.cog.target import SKU_MEMORY_GB, CogTarget

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted(p.name for p in (ROOT / "examples").iterdir() if (p / "portapack.yaml").is_file())
STRICT_WARNINGS = {"PYTHONWARNINGS": "error::DeprecationWarning"}
SECRET = "s3cret-value"

PREDICTOR = '''import os
from typing import Annotated, Any, Iterator

from pydantic import Field


class Predictor:
    def load(self) -> None:
        pass

    def predict(
        self,
        params: dict[str, Any],
        count: Annotated[int, Field(gt=0, lt=10)] = 1,
        ratio: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.5,
        scale: Annotated[float, Field(ge=1.0, le=4.0)] = 2.0,
        extra: dict[str, Any] | None = None,
        opts: dict = {"a": 1},
    ) -> dict:
        return {"params": params, "count": count, "ratio": ratio, "extra": extra, "opts": opts,
                "key": os.environ.get("API_KEY"), "greeting": os.environ.get("GREETING")}
'''
ENV = {"GREETING": "it's \"quoted\" $HOME and \\ back", "EMPTY": "", "PLAIN": "a:b/c",
       "PADDED": "  padded  ", "SHELLISH": "x ${X} `id` $(id)"}


def write_spec(root: Path, env: dict[str, str], concurrency: int = 1) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "predict.py").write_text(PREDICTOR)
    spec = {"name": "cog-edges", "predictor": "predict.py:Predictor", "secrets": ["API_KEY"],
            "env": env, "scaling": {"concurrency": concurrency}}
    (root / "portapack.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return root


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("cog")
    return {ex: portapack.build(ROOT / "examples" / ex, ["cog"], out / ex)["cog"].path
            for ex in EXAMPLES}


@pytest.fixture(scope="module")
def edges(tmp_path_factory):
    """A spec with what Cog makes hard: dict inputs, gt/lt, a secret, concurrency, and one
    environment value with quotes, `$`, spaces and a backslash."""
    root = write_spec(tmp_path_factory.mktemp("edges"), {"GREETING": ENV["GREETING"]}, 3)
    return portapack.build(root, ["cog"], root / "out")["cog"].path


# -- Cog's own judges (tests/cog_judges.py: no Go CLI here) ---------------------------------------
@pytest.mark.parametrize("example", [*EXAMPLES, "edges"])
def test_openapi_schema_says_what_cogs_inspector_reads_in_the_runner(built, edges, example):
    """Every input's order, type, default, bounds, choices, secret and optionality, and the
    Output, as Cog's SDK reads them from run.py (coglet generates no schema: see below)."""
    project = edges if example == "edges" else built[example]
    ours = json.loads((project / ".cog" / "openapi_schema.json").read_text())
    assert schema_differences(ours, cogs_reading(project)) == []


def test_coglet_serves_only_the_schema_file_so_it_cannot_judge_it(built, tmp_path):
    """Why the inspector is the judge: coglet 0.23 serves .cog/openapi_schema.json as it is and
    generates none from the runner (503 without the file). If a coglet ever does, this fails:
    then compare its /openapi.json with ours instead."""
    copy = tmp_path / "no-cog-folder"
    shutil.copytree(built["text-stats"], copy, ignore=shutil.ignore_patterns(".cog"))
    with get_runtime("cog", copy, env=STRICT_WARNINGS) as runtime:
        status, body = http_json("GET", f"{runtime.url}/openapi.json")
    assert (status, body) == (503, {"error": "OpenAPI schema not available"})


def test_edges_cog_yaml_is_valid_against_cogs_schema(edges):
    """The examples' cog.yaml: tests/test_platforms.py; the adversarial one's: test_adversarial."""
    assert cog_yaml_errors(edges / "cog.yaml") == []


def test_an_optional_secret_defaults_to_null_and_strict_bounds_become_cog_bounds(edges):
    props = json.loads((edges / ".cog/openapi_schema.json").read_text())[
        "components"]["schemas"]["Input"]["properties"]
    assert props["api_key"]["default"] is None and props["api_key"]["x-cog-secret"] is True
    assert (props["count"]["minimum"], props["count"]["maximum"]) == (1, 9)
    # gt=0.0/lt=1.0 on a float: Cog has only ge/le, so Replicate shows the bounds themselves
    # (not 5e-324), and run.py says what they stand for.
    assert (props["ratio"]["minimum"], props["ratio"]["maximum"]) == (0, 1)
    assert "# Cog has no strict bound: ge/le below stand for gt=0, lt=1; " in (edges / "run.py").read_text()
    assert props["params"]["type"] == "object" and props["opts"]["default"] == {"a": 1}


# -- Cog's server (coglet): no deprecation, 422 for every bound, dicts, secrets ----------------
@pytest.mark.parametrize("example", ["text-stats", "numpy-linear", "token-stream"])
def test_coglet_loads_each_example_with_deprecation_warnings_as_errors(built, example):
    proj = portapack.load_project(ROOT / "examples" / example)
    with get_runtime("cog", built[example], env=STRICT_WARNINGS, project=proj) as runtime:
        case = proj.spec.examples[0]
        outcome = runtime.stream(case.input) if proj.predictor.streaming else \
            runtime.predict(case.input)
        log = runtime.log_path.read_text(errors="replace")
    assert outcome.ok, outcome.error + log[-2000:]
    assert outcome.output == case.output
    assert "DeprecationWarning" not in log and "deprecated" not in log.lower()


def test_bounds_are_enforced_and_served_as_written_and_dicts_are_json_objects(edges):
    with get_runtime("cog", edges, env=STRICT_WARNINGS) as runtime:
        ok = runtime.predict({"params": {"k": [1, {"x": None}]}, "count": 9, "ratio": 1e-300})
        edge_ok = runtime.predict({"params": {}, "count": 1, "ratio": 0.9999999})
        refused = [(name, runtime.predict({"params": {}, name: value}))
                   for name, value in (("count", 0), ("count", 10), ("scale", 0.5), ("scale", 4.5))]
        # A float's strict bound passes Cog's ge/le; run.py's Inputs model refuses it.
        at_bound = [(name, runtime.predict({"params": {}, name: value}))
                    for name, value in (("ratio", 0.0), ("ratio", 1.0))]
        not_a_dict = runtime.predict({"params": "{\"k\": 1}"})
        served = json.loads(urllib.request.urlopen(f"{runtime.url}/openapi.json", timeout=10).read())
        log = runtime.log_path.read_text(errors="replace")
    assert ok.ok, ok.error
    assert ok.output["params"] == {"k": [1, {"x": None}]} and ok.output["count"] == 9
    assert ok.output["opts"] == {"a": 1} and ok.output["extra"] is None
    assert edge_ok.ok, edge_ok.error
    for name, outcome in refused:
        assert outcome.status == 422, (name, outcome)
        assert outcome.error.startswith(f"input '{name}': "), outcome.error
    assert not_a_dict.status == 422 and "input 'params'" in not_a_dict.error
    for name, outcome in at_bound:
        assert not outcome.ok and f"input '{name}': Input should be" in outcome.error, outcome
    ratio = served["components"]["schemas"]["Input"]["properties"]["ratio"]
    assert (ratio["minimum"], ratio["maximum"]) == (0, 1)  # what Replicate's form would show
    assert '"num_slots":3' in log  # @concurrent(max=3), as cog build bakes it into the image


def test_a_secret_stays_with_its_own_request_whatever_the_order(edges):
    with get_runtime("cog", edges, env=STRICT_WARNINGS) as runtime:
        first = runtime.predict({"params": {}, "api_key": SECRET})
        second = runtime.predict({"params": {}})
        third = runtime.predict({"params": {}, "api_key": "other"})
    assert first.ok and first.output["key"] == SECRET
    assert second.ok and second.output["key"] is None
    assert third.ok and third.output["key"] == "other"


def test_a_secret_from_the_servers_own_environment_survives_every_request(edges):
    """A request's secret overrides the server's value only while that request runs."""
    env = {**STRICT_WARNINGS, "API_KEY": "from-the-server"}
    with get_runtime("cog", edges, env=env) as runtime:
        first = runtime.predict({"params": {}, "api_key": SECRET})
        second = runtime.predict({"params": {}})
    assert first.ok and first.output["key"] == SECRET
    assert second.ok and second.output["key"] == "from-the-server"


# -- environment values through Cog's Dockerfile and the real engine ---------------------------
def test_cogs_env_line_rule():
    """The rule cog_env_line reproduces (tests/cog_judges.py cites Cog's source)."""
    assert cog_env_line([]) == ""
    assert cog_env_line(["B=2", "A=x=y", "a=", "Z=\\"]) == "ENV A=x=y B=2 Z=\\ a=\n"
    for bad in (["NOEQUALS"], ["=v"], ["A=1", "A=2"], ["PATH=/x"], ["CUDA_HOME=/x"]):
        with pytest.raises(ValueError):
            cog_env_line(bad)


def test_environment_values_reach_the_image_literally(tmp_path):
    """The ENV line `cog build` writes from cog.yaml's environment (Cog's rule, reproduced in
    tests/cog_judges.py) is built by the real Docker engine on the local base image, and the
    container sees every value exactly as the spec wrote it."""
    client = engine_with_base()
    project = portapack.build(write_spec(tmp_path / "proj", ENV), ["cog"], tmp_path / "out")["cog"].path
    config = yaml.safe_load((project / "cog.yaml").read_text())
    line = cog_env_line(config["environment"])
    assert line.count("\n") == 1 and all(f" {k}=" in line for k in ENV), line
    from dockerenv import BASE

    (tmp_path / "ctx").mkdir()
    (tmp_path / "ctx" / "Dockerfile").write_text(f"FROM {BASE}\n{line}")
    tag = f"portapack-cog-env-test:{tmp_path.name.lower()}"
    client.images.build(path=str(tmp_path / "ctx"), tag=tag, rm=True)
    try:
        code = f"import json, os; print(json.dumps({{k: os.environ.get(k) for k in {sorted(ENV)!r}}}))"
        out = client.containers.run(tag, ["python3", "-c", code], remove=True)
    finally:
        client.images.remove(tag, force=True)
    assert json.loads(out) == ENV


# -- Replicate hardware ------------------------------------------------------------------------
def gpu_project(tmp_path: Path, gpu: str, **cog: str) -> portapack.Project:
    root = write_spec(tmp_path, {})
    data = yaml.safe_load((root / "portapack.yaml").read_text())
    data["resources"] = {"gpu": gpu}
    if cog:
        data["targets"] = {"cog": cog}
    (root / "portapack.yaml").write_text(yaml.safe_dump(data))
    return portapack.load_project(root)


@pytest.mark.parametrize("gpu", sorted(CANONICAL))
def test_hardware_never_has_less_gpu_memory_unless_a_note_says_so(tmp_path, gpu):
    project = gpu_project(tmp_path, gpu)
    target = CogTarget()
    sku = target.hardware(project)
    notes = [n.message for n in target.notes(project)]
    if SKU_MEMORY_GB[sku] >= CANONICAL[gpu]:
        assert not any("too small" in n for n in notes), notes
    else:
        assert any(f"{CANONICAL[gpu]} GB" in n and "too small" in n for n in notes), notes


@pytest.mark.parametrize("gpu, sku", [("L4", "gpu-a40-large"), ("A10G", "gpu-a40-large"),
                                      ("RTX-4090", "gpu-a40-large"), ("A6000", "gpu-a40-large"),
                                      ("T4", "gpu-t4"), ("L4:2", "gpu-a40-large-2x")])
def test_named_mappings(tmp_path, gpu, sku):
    assert CogTarget().hardware(gpu_project(tmp_path, gpu)) == sku


def test_h100_is_flagged_as_committed_spend_and_strict_refuses_too_small_gpus(tmp_path):
    h100 = CogTarget().notes(gpu_project(tmp_path / "a", "H100"))
    assert any("committed-spend" in n.message for n in h100)
    for gpu in ("H200", "B200", "RTX-PRO-6000"):
        root = gpu_project(tmp_path / gpu, gpu).root
        with pytest.raises(PortapackError, match="too small"):
            portapack.build(root, ["cog"], root / "out", strict=True)
