"""Every example's artifacts, checked by each platform's own tools and runtimes.

Static checks for every example (the GPU one included): Cog's config schema (server: ones too)
and Cog's own predictor inspector, Truss's strict config validation, the Modal app imported
with modal.
Runs for every CPU example: each example request through Modal's .local(), Truss's loader,
Cog's HTTP server and RunPod's --test_input and local API, compared with the expected output;
and one invalid request per target, rejected with a message naming the input.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from cog_judges import cog_yaml_errors

import portapack
from portapack.proof.runtimes import get_runtime
from portapack.proof.sandbox import weight_binds, wrap
from portapack.proof.testing import same
from portapack.spec.files import with_example_files
from portapack.targets.artifacts import local_weights

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted(p.name for p in (ROOT / "examples").iterdir() if (p / "portapack.yaml").is_file())


def runnable(example: str) -> bool:
    """A predictor example that runs here: no GPU, every example with its output (a
    ``server:`` example is tested by tests/test_server_mode.py)."""
    project = portapack.load_project(ROOT / "examples" / example)
    return project.spec.server is None and project.spec.resources.gpu is None and all(
        e.output is not None for e in project.spec.examples)


RUNNABLE = [e for e in EXAMPLES if runnable(e)]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("platforms")
    return {ex: portapack.build(ROOT / "examples" / ex, "all", out / ex) for ex in EXAMPLES}


def project(example: str) -> portapack.Project:
    """The example, with every "@file" its examples name inlined as a data: URI (as
    ``portapack test`` sends them), so outputs compare by content through ``same``."""
    return with_example_files(portapack.load_project(ROOT / "examples" / example))


# The checks of a predictor's adapter; a ``server:`` example has none (tests/test_server_mode.py).
PREDICTORS = [e for e in EXAMPLES if project(e).predictor is not None]


def in_sandbox(example: str, argv: list[str]) -> list[str]:
    """``argv`` with the example's local weights at their path (portapack's bubblewrap
    sandbox, as `portapack test` runs it): nothing is linked on the host's /."""
    proj = project(example)
    return wrap(argv, weight_binds(proj.root, local_weights(proj)))


def run_python(code: str, cwd: Path, example: str | None = None) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-c", code]
    argv = in_sandbox(example, argv) if example else argv
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True,
                          timeout=300)


# -- static checks, every example ---------------------------------------------------------------
@pytest.mark.parametrize("example", EXAMPLES)
def test_cog_yaml_is_valid_against_cogs_schema(built, example):
    """Every example, server: ones included (tests/cog_judges.py; the edge spec's in
    tests/test_cog_platform.py, the adversarial values' in tests/test_adversarial.py)."""
    path = built[example]["cog"].path / "cog.yaml"
    assert cog_yaml_errors(path) == []
    config = yaml.safe_load(path.read_text())
    assert config["run"] == "run.py:Runner"
    assert "predict" not in config and "concurrency" not in config  # deprecated in Cog 0.20+


@pytest.mark.parametrize("example", PREDICTORS)
def test_cog_inspector_accepts_the_predictor(built, example):
    """Cog's own inspector reads run.py: every input type and Input() option is legal, and
    nothing it loads is deprecated (deprecation warnings are errors here)."""
    result = run_python(
        "import json, sys, warnings\n"
        "warnings.simplefilter('error', DeprecationWarning)\n"
        "sys.path.insert(0, '.')\n"
        "from cog import _inspector\n"
        "info = _inspector.create_predictor('run', 'Runner')\n"
        "print(json.dumps(sorted(info.inputs)))\n",
        built[example]["cog"].path)
    assert result.returncode == 0, result.stderr
    expected = sorted([i.name for i in project(example).predictor.inputs]
                      + [s.lower() for s in project(example).spec.secrets])
    assert json.loads(result.stdout.strip().splitlines()[-1]) == expected


@pytest.mark.parametrize("example", PREDICTORS)
def test_cog_openapi_schema_matches_the_inputs(built, example):
    schema = json.loads((built[example]["cog"].path / ".cog/openapi_schema.json").read_text())
    props = schema["components"]["schemas"]["Input"]["properties"]
    pred = project(example).predictor
    assert [n for n in props if not props[n].get("x-cog-secret")] == [i.name for i in pred.inputs]
    assert schema["components"]["schemas"]["Input"].get("required", []) == [
        i.name for i in pred.inputs if i.required]
    assert bool(schema["paths"]["/predictions"]["post"].get("x-cog-streaming")) == pred.streaming


@pytest.mark.parametrize("example", PREDICTORS)
def test_truss_config_passes_strict_validation(built, example):
    from truss.base.truss_config import TrussConfig

    config = TrussConfig.from_yaml(built[example]["truss"].path / "config.yaml")
    config.validate_forbid_extra()
    spec = project(example).spec
    assert config.model_name == spec.name
    assert config.python_version == "py" + spec.python.replace(".", "")
    assert bool(config.resources.accelerator.accelerator) == (spec.resources.gpu is not None)


@pytest.mark.parametrize("example", PREDICTORS)
def test_modal_app_imports_offline(built, example):
    spec = project(example).spec
    result = run_python(
        "import json, modal_app\n"
        "print(json.dumps({'name': modal_app.app.name, 'cls': sorted(modal_app.app.registered_classes)}))",
        built[example]["modal"].path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {"name": spec.name, "cls": ["Model"]}


@pytest.fixture(scope="module")
def modal_only_python() -> Path:
    """A uv env with nothing but modal, at pyproject's pin: what `modal deploy` needs on the
    user's machine (the model's and the adapter's own packages install in the image only)."""
    import tomllib

    from portapack.proof.envs import ensure_env

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    env = ensure_env("modal-only", packages=extras["modal"])
    assert subprocess.run([env.python, "-c", "import pydantic"], capture_output=True).returncode != 0
    return env.python


@pytest.mark.parametrize("example", ["text-stats", "image-filter", "kitchen-sink", "tiny-llm"])
def test_modal_app_imports_with_only_modal_installed(built, modal_only_python, example):
    result = subprocess.run(
        [modal_only_python, "-c", "import modal_app; print(modal_app.app.name)"],
        cwd=built[example]["modal"].path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == project(example).spec.name


@pytest.mark.parametrize("example", PREDICTORS)
def test_runpod_handler_and_dockerfile_shape(built, example):
    path = built[example]["runpod"].path
    ast.parse((path / "handler.py").read_text())
    dockerfile = (path / "Dockerfile").read_text().splitlines()
    venv = dockerfile.index("COPY --from=builder /opt/venv /opt/venv")
    assert venv < dockerfile.index("COPY handler.py ."), "dependencies must come before code"
    assert dockerfile.index("COPY requirements.txt .") < venv
    assert any("uv venv /opt/venv" in line for line in dockerfile)
    assert dockerfile[-1] == 'CMD ["python", "-u", "handler.py"]'
    endpoint = json.loads((path / "endpoint.json").read_text())
    assert endpoint["workers"]["max"] == project(example).spec.scaling.max_replicas
    assert endpoint["timeout"] == project(example).spec.scaling.timeout * 1000


# -- real runs, every CPU example ---------------------------------------------------------------
@pytest.mark.parametrize("example", [e for e in RUNNABLE if not project(e).predictor.streaming])
def test_runpod_test_input_returns_each_example_output(built, example):
    for case in project(example).spec.examples:
        result = subprocess.run(in_sandbox(example, [
            sys.executable, "-u", "handler.py", "--test_input", json.dumps({"input": case.input})]),
            cwd=built[example]["runpod"].path, capture_output=True, text=True, timeout=300,
            env=os.environ | project(example).spec.env)  # the image's ENV lines (kitchen-sink reads them)
        assert result.returncode == 0, result.stdout + result.stderr
        line = next(ln for ln in result.stdout.splitlines() if "Job result:" in ln)
        result = ast.literal_eval(line.split("Job result:", 1)[1].strip())
        assert set(result) == {"output"} and same(case.output, result["output"], None), result


def test_runpod_test_input_fails_a_bad_request(built):
    result = subprocess.run(
        [sys.executable, "-u", "handler.py", "--test_input", json.dumps({"input": {"text": ""}})],
        cwd=built["text-stats"]["runpod"].path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1
    assert "input 'text': String should have at least 1 character" in result.stdout


@pytest.mark.parametrize("target", ["modal", "truss", "cog", "runpod", "kserve"])
@pytest.mark.parametrize("example", RUNNABLE)
def test_runtime_returns_each_example_output(built, example, target):
    proj = project(example)
    with get_runtime(target, built[example][target].path, project=proj) as runtime:
        for case in proj.spec.examples:
            outcome = runtime.stream(case.input) if proj.predictor.streaming else \
                runtime.predict(case.input)
            assert outcome.ok, outcome.error
            want = case.output
            if proj.predictor.streaming and runtime.joins_stream:  # Truss: one byte stream
                want = ["".join(want)]
            assert same(want, outcome.output, None), (want, outcome.output)
            if proj.predictor.streaming:
                assert same(want, outcome.items, None)


BAD_REQUESTS = {  # example -> (request, the input its error must name)
    "text-stats": ({"text": "hi", "top_k": 99}, "top_k"),
    "numpy-linear": ({"features": [1.0, 2.0]}, "features"),
    "token-stream": ({"prompt": "go", "max_tokens": 0}, "max_tokens"),
}


@pytest.mark.parametrize("target", ["modal", "truss", "cog", "runpod", "kserve"])
@pytest.mark.parametrize("example", sorted(BAD_REQUESTS))
def test_runtime_rejects_a_bad_request_naming_the_input_and_keeps_serving(built, example, target):
    proj = project(example)
    request, name = BAD_REQUESTS[example]
    with get_runtime(target, built[example][target].path, project=proj) as runtime:
        call = runtime.stream if proj.predictor.streaming else runtime.predict
        bad = call(request)
        assert not bad.ok
        assert f"input '{name}'" in bad.error
        good = call(proj.spec.examples[0].input)
        want = proj.spec.examples[0].output
        if proj.predictor.streaming and runtime.joins_stream:  # Truss: one byte stream
            want = ["".join(want)]
        assert good.ok and good.output == want


def test_cog_server_rejects_with_422(built):
    with get_runtime("cog", built["text-stats"]["cog"].path) as runtime:
        outcome = runtime.predict({"text": "hi", "top_k": 99})
    assert outcome.status == 422
    assert outcome.error == "input 'top_k': 99 is greater than the maximum of 10"


@pytest.mark.parametrize("example", RUNNABLE)
def test_truss_public_api_predict_returns_each_example_output(built, example):
    """truss.load(dir).predict(..., use_docker=False), Truss's documented local check, exactly."""
    proj = project(example)
    cases = json.dumps([c.input for c in proj.spec.examples])
    result = run_python(
        "import json, sys, truss\n"
        "handle = truss.load('.')\n"
        "out = []\n"
        f"for case in json.loads({cases!r}):\n"
        "    r = handle.predict(case, use_docker=False)\n"
        "    out.append(r if isinstance(r, (dict, list, str, int, float)) else list(r))\n"
        "print(json.dumps(out))\n",
        built[example]["truss"].path, example)
    assert result.returncode == 0, result.stderr
    assert same([c.output for c in proj.spec.examples],
                json.loads(result.stdout.strip().splitlines()[-1]), None)


def test_cog_secret_is_only_in_the_environment_during_its_own_request(tmp_path):
    """Replicate passes secrets per request: one caller's value must not reach the next."""
    (tmp_path / "predict.py").write_text(
        "import os\n\n\nclass Predictor:\n    def load(self) -> None:\n        pass\n\n"
        "    def predict(self, text: str) -> dict:\n"
        "        return {'text': text, 'key': os.environ.get('API_KEY')}\n")
    (tmp_path / "portapack.yaml").write_text(
        "name: secret-echo\npredictor: predict.py:Predictor\nsecrets: [API_KEY]\n")
    built = portapack.build(tmp_path, ["cog"], tmp_path / "out")
    with get_runtime("cog", built["cog"].path) as runtime:
        first = runtime.predict({"text": "a", "api_key": "s3cret"})
        second = runtime.predict({"text": "b"})
    assert first.ok and first.output == {"text": "a", "key": "s3cret"}
    assert second.ok and second.output == {"text": "b", "key": None}
