"""The Cog target against Cog itself: Replicate's real cog CLI (../shared/cogcli, built from
Cog's source) judges every generated project as `cog build` would; coglet (Cog's HTTP server)
runs them with deprecation warnings as errors; Cog's own Dockerfile ENV line goes through the
real Docker engine; Replicate hardware never has less GPU memory than the spec asks for.
"""

from __future__ import annotations

import json
import subprocess
import urllib.request
from pathlib import Path

import pytest
import yaml
from dockerenv import engine_with_base

import portapack
from portapack.errors import PortapackError
from portapack.proof.runtimes import get_runtime
from portapack.spec.gpu import CANONICAL
from portapack.targets.cog.target import SKU_MEMORY_GB, CogTarget

ROOT = Path(__file__).resolve().parent.parent
COGCLI = ROOT.parent / "shared" / "cogcli"
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


def judge(project: Path, *args: str) -> str:
    script = COGCLI / "judge.sh"
    if not script.is_file():
        pytest.skip(f"{script} not found: Replicate's cog CLI sits in ../shared beside the repo")
    result = subprocess.run([str(script), *args, str(project)], capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


# -- cog build's own checks ---------------------------------------------------------------------
@pytest.mark.parametrize("example", EXAMPLES)
def test_every_example_survives_cog_builds_checks(built, example):
    """cog.yaml validation and deprecations, the ENV line, the static schema (equal to ours),
    `cog doctor` and `cog debug`: no error, no deprecation, no schema difference."""
    out = judge(built[example])
    assert "schema: Input/Output components and paths match cog's static schema" in out
    assert "DEPRECATED" not in out and "SCHEMA-DIFF" not in out


def test_dicts_bounds_secrets_and_concurrency_survive_cog_builds_checks(edges):
    out = judge(edges, "--json", json.dumps({"params": {"k": [1, 2]}, "count": 9}))
    assert "schema: Input/Output components and paths match cog's static schema" in out
    assert "DEPRECATED" not in out and "SCHEMA-DIFF" not in out


@pytest.mark.parametrize("example", [*EXAMPLES, "edges"])
def test_openapi_schema_equals_what_cog_build_writes(built, edges, example, tmp_path):
    """`cog build` regenerates .cog/openapi_schema.json: ours must be the same document."""
    project = edges if example == "edges" else built[example]
    tool = COGCLI / "bin" / "cogcli-schema"
    if not tool.is_file():
        pytest.skip(f"{tool} not found: Replicate's cog CLI sits in ../shared beside the repo")
    subprocess.run([str(tool), "-o", str(tmp_path / "cog.json"), str(project)],
                   capture_output=True, text=True, timeout=300)
    theirs = json.loads((tmp_path / "cog.json").read_text())
    ours = json.loads((project / ".cog" / "openapi_schema.json").read_text())
    theirs["info"].pop("version"), ours["info"].pop("version")  # Cog's CLI version
    assert ours == theirs


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
def test_environment_values_reach_the_image_literally(tmp_path):
    """`cog debug` writes the Dockerfile `cog build` would; its ENV line (Cog's, unchanged)
    is built by the real Docker engine on the local base image, and the container sees every
    value exactly as the spec wrote it."""
    cog = COGCLI / "bin" / "cog"
    if not cog.is_file():
        pytest.skip(f"{cog} not found: Replicate's cog CLI sits in ../shared beside the repo")
    client = engine_with_base()
    project = portapack.build(write_spec(tmp_path / "proj", ENV), ["cog"], tmp_path / "out")["cog"].path
    debug = subprocess.run([str(cog), "debug"], cwd=project, capture_output=True, text=True,
                           timeout=300, env={"PATH": "/usr/bin:/bin", "COG_NO_UPDATE_CHECK": "1",
                                             "HOME": str(tmp_path)})
    assert debug.returncode == 0, debug.stderr
    env_lines = [ln for ln in debug.stdout.splitlines()
                 if ln.startswith("ENV ") and "GREETING=" in ln]
    assert len(env_lines) == 1, debug.stdout
    from dockerenv import BASE

    (tmp_path / "ctx").mkdir()
    (tmp_path / "ctx" / "Dockerfile").write_text(f"FROM {BASE}\n{env_lines[0]}\n")
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
