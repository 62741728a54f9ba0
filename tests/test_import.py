"""``portapack import``: each fixture (written as the platforms' docs show) is converted, the
result validates and builds for all four targets, and what cannot be carried is refused or
listed. The slow proof (original vs imported, under real runtimes) is in test_import_verify.py."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from portapack.building.builder import build
from portapack.cli import main
from portapack.spec.loader import load_project

FIXTURES = Path(__file__).parent / "fixtures" / "import"
RUFF = Path(sys.executable).parent / "ruff"
IMPORTABLE = [
    ("cog", "hello-world"), ("cog", "stream-runner"), ("cog", "async-runner"),
    ("cog", "secret-runner"), ("cog", "gpu-model"), ("cog", "path-filter"), ("cog", "file-upper"),
    ("cog", "metrics-output"), ("cog", "model-version"),
    ("truss", "typed-model"), ("truss", "streaming-model"), ("truss", "weights-model"),
    ("truss", "docker-server"), ("truss", "docker-server-cpu"), ("truss", "flow-model"),
    ("truss", "async-pre-model"), ("truss", "async-stream-model"),
    ("runpod", "plain-handler"), ("runpod", "generator-handler"), ("runpod", "async-stream-handler"),
    ("runpod", "main-worker"),
]


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), \
        result.exception
    return result.exit_code, result.output


def imported(tmp_path: Path, platform: str, name: str, *extra: str) -> Path:
    out = tmp_path / name
    code, output = run("import", platform, str(FIXTURES / platform / name), "--out", str(out), *extra)
    assert code == 0, output
    return out


@pytest.mark.parametrize(("platform", "name"), IMPORTABLE)
def test_import_validates_builds_everywhere_and_reads_as_plain_python(tmp_path, platform, name):
    out = imported(tmp_path, platform, name)
    project = load_project(out)
    if project.spec.server is not None:  # a docker_server Truss: no predictor to read
        result = build(project, "all", tmp_path / "build")
        assert sorted(b.target for b in result.builds) == ["cog", "kserve", "modal", "runpod", "truss"]
        return
    source = (out / project.spec.predictor_file).read_text(encoding="utf-8")
    for node in ast.walk(ast.parse(source)):  # no platform import survives
        if isinstance(node, ast.Import | ast.ImportFrom):
            mods = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            assert not any(m.split(".")[0] in ("cog", "truss", "runpod") for m in mods), source
    result = build(project, "all", tmp_path / "build")
    assert sorted(b.target for b in result.builds) == ["cog", "kserve", "modal", "runpod", "truss"]
    if RUFF.exists():
        lint = subprocess.run([str(RUFF), "check", "--isolated", "--line-length", "110", "--select",
                               "E,F,I,B", str(out / project.spec.predictor_file)],
                              capture_output=True, text=True)
        assert lint.returncode == 0, lint.stdout + source


def test_cog_runner_keeps_comments_helpers_and_becomes_typed(tmp_path):
    out = imported(tmp_path, "cog", "hello-world")
    source = (out / "predict.py").read_text(encoding="utf-8")
    original = (FIXTURES / "cog/hello-world/predict.py").read_text(encoding="utf-8")
    helper = original[original.index("def shout"):original.index("class Predictor")]
    assert helper in source  # untouched, byte for byte
    assert "# keep this comment" in source and "# Prediction interface for Cog" in source
    assert "class Predictor:" in source and "def load(self) -> None:" in source
    assert 'style: Annotated[Literal["plain", "fancy"], Field(description="Greeting style")] = "plain"' \
        in source
    inputs = {i.name: i for i in load_project(out).predictor.inputs}
    assert inputs["repeat"].constraints == {"ge": 1, "le": 3} and inputs["repeat"].default == 1
    assert inputs["name"].required and inputs["name"].constraints == {"min_length": 1, "max_length": 40}
    spec = yaml.safe_load((out / "portapack.yaml").read_text())
    assert "cog" not in " ".join(spec.get("requirements", []))


def test_cog_streaming_async_and_secret_runners(tmp_path):
    stream = load_project(imported(tmp_path, "cog", "stream-runner"))
    assert stream.predictor.streaming and stream.spec.predictor == "predict.py:Runner"  # run.py clashes
    assert "def _tokens(self, prompt: str, n: int) -> Iterator[str]:" in (
        stream.root / "predict.py").read_text()  # a helper's ConcatenateIterator hint too
    concurrent = load_project(imported(tmp_path, "cog", "async-runner"))
    assert concurrent.spec.scaling.concurrency == 4
    source = (concurrent.root / "predict.py").read_text()
    assert "async def _predict_async(" in source
    assert "asyncio.run(self._predict_async(x=x, delay=delay))" in source
    secret = load_project(imported(tmp_path, "cog", "secret-runner"))
    assert secret.spec.secrets == ["API_TOKEN"]
    assert [i.name for i in secret.predictor.inputs] == ["text"]
    assert 'os.environ.get("API_TOKEN")' in (secret.root / "predict.py").read_text()


def test_cog_gpu_default_is_noted_and_gpu_option_chooses(tmp_path):
    code, output = run("import", "cog", str(FIXTURES / "cog/gpu-model"), "--out", str(tmp_path / "a"),
                       "--json")
    data = json.loads(output)
    assert code == 0 and data["ok"]
    assert any(n["where"] == "cog.yaml build.gpu" and n["lost"] for n in data["notes"])
    spec = load_project(tmp_path / "a").spec
    assert str(spec.resources.gpu) == "L40S" and spec.system_packages == ["libgl1"]
    assert spec.env == {"HF_HUB_ENABLE_HF_TRANSFER": "1"} and spec.build_commands == ["echo warming caches"]
    chosen = load_project(imported(tmp_path, "cog", "gpu-model", "--gpu", "h100"))
    assert str(chosen.spec.resources.gpu) == "H100"


def test_truss_config_maps_to_the_spec(tmp_path):
    typed = load_project(imported(tmp_path, "truss", "typed-model"))
    assert [(i.name, i.kind, i.required) for i in typed.predictor.inputs] == [
        ("text", "str", True), ("lowercase", "bool", False), ("top_k", "int", False)]
    assert typed.spec.scaling.concurrency == 2 and typed.spec.env == {"GREETING": "hello"}
    assert "data/stopwords.txt" in typed.files and typed.spec.examples[0].input["top_k"] == 2
    weights = load_project(imported(tmp_path, "truss", "weights-model"))
    assert [(w.source, w.path) for w in weights.spec.weights] == [(
        "hf://mistralai/Mistral-7B-Instruct-v0.3@e0bc86c23ce5aae1db576c8cca6f06f1f73af2db",
        "/app/model_cache/mistral")]
    assert str(weights.spec.resources.gpu) == "A10G" and weights.spec.resources.memory == "16Gi"
    assert weights.spec.secrets == ["HF_ACCESS_TOKEN"]
    source = (weights.root / "predict.py").read_text()
    assert 'os.environ["HF_ACCESS_TOKEN"]' in source
    # lazy_data_resolver: waiting for model_cache before load() goes (weights are in place)
    assert "lazy_data_resolver" not in source and "def __init__(self):" in source


def test_runpod_dockerfile_maps_to_the_spec(tmp_path):
    plain = load_project(imported(tmp_path, "runpod", "plain-handler"))
    assert plain.spec.python == "3.11" and plain.spec.system_packages == ["libgomp1"]
    assert plain.spec.env == {"SENTIMENT_MODE": "lexicon"} and plain.spec.requirements == []
    assert [(i.name, i.kind) for i in plain.predictor.inputs] == [("text", "str"), ("scale", "float")]
    gen = load_project(imported(tmp_path, "runpod", "generator-handler"))
    assert gen.predictor.streaming and gen.spec.requirements == ["numpy==2.1.3"]
    assert gen.spec.targets.runpod.base_image == "runpod/base:0.6.2-cuda12.2.0"


def test_cog_path_and_file_become_file_inputs_and_outputs(tmp_path):
    blur = load_project(imported(tmp_path, "cog", "path-filter"))
    source = (blur.root / "predict.py").read_text(encoding="utf-8")
    assert "from pathlib import Path" in source and "cog" not in source
    assert 'Field(description="Image to blur", json_schema_extra={"accept": "image/*"})' in source
    image = blur.predictor.inputs[0]
    assert (image.name, image.kind, image.required, image.accept) == ("image", "path", True, "image/*")
    assert "def load(self) -> None:" in source  # Cog's setup() is optional, portapack's load() is not
    upper = load_project(imported(tmp_path, "cog", "file-upper"))
    source = (upper.root / "predict.py").read_text(encoding="utf-8")
    assert [(i.name, i.kind, i.required) for i in upper.predictor.inputs] == [
        ("document", "path", True), ("notes", "path", False)]
    assert 'document = document.open("rb")' in source
    assert 'notes = notes.open("rb") if notes is not None else None' in source
    assert ") -> bytes:" in source and "return _file_bytes(io.BytesIO(self.marker + text))" in source


def test_truss_docker_server_becomes_a_server_project(tmp_path):
    vllm = load_project(imported(tmp_path, "truss", "docker-server"))
    server = vllm.spec.server
    assert vllm.predictor is None and server.command == "vllm serve Qwen/Qwen2.5-3B-Instruct --port 8000"
    assert (server.port, server.health, server.routes) == (8000, "/health", ["/v1/chat/completions"])
    assert str(vllm.spec.resources.gpu) == "L4" and vllm.spec.scaling.concurrency == 16
    assert vllm.spec.targets.truss.base_image == "vllm/vllm-openai:v0.7.3"
    cpu = load_project(imported(tmp_path, "truss", "docker-server-cpu"))
    assert cpu.spec.server.command == "python3 openai_server.py --port 9473 --model chat"
    assert "openai_server.py" in cpu.files  # data/ (Truss's /app/data) lands beside the spec
    example = cpu.spec.examples[0]
    assert example.route == "/v1/chat/completions" and example.body["max_tokens"] == 8
    given = load_project(imported(tmp_path / "x", "truss", "docker-server", "--example",
                                  '{"model": "m", "messages": []}'))
    assert [(e.route, e.body) for e in given.spec.examples] == [
        ("/v1/chat/completions", {"model": "m", "messages": []})]


def test_truss_docker_server_secrets_and_app_paths(tmp_path):
    src = tmp_path / "src"
    (src / "data").mkdir(parents=True)
    (src / "data" / "serve.sh").write_text("exec python3 -m http.server $1\n")
    config = yaml.safe_load((FIXTURES / "truss/docker-server/config.yaml").read_text())
    config["docker_server"]["start_command"] = (
        'sh -c "HF_TOKEN=$(cat /secrets/hf_access_token) sh /app/data/serve.sh --port 8000"')
    config["docker_server"]["liveness_endpoint"] = "/live"
    config["secrets"] = {"hf_access_token": None}
    (src / "config.yaml").write_text(yaml.safe_dump(config))
    code, output = run("import", "truss", str(src), "--out", str(tmp_path / "out"), "--json")
    data = json.loads(output)
    spec = load_project(tmp_path / "out").spec
    assert code == 0 and spec.secrets == ["HF_ACCESS_TOKEN"]
    assert spec.server.command == 'sh -c "HF_TOKEN=${HF_ACCESS_TOKEN} sh serve.sh --port 8000"'
    assert (tmp_path / "out" / "serve.sh").is_file()
    assert any(n["where"].endswith("liveness_endpoint") and n["lost"] for n in data["notes"])


@pytest.mark.parametrize(("platform", "edit", "where", "words"), [
    ("cog", ("predict.py", "from cog import BasePredictor, Input, Path", "from cog import "
             "BasePredictor, Input, Path, URLPath\nX = URLPath"), "predict.py:4",
     "cog.URLPath is Cog's internal deferred download"),
    ("truss", ("config.yaml", "docker_server:", "trt_llm:\n  build: {base_model: llama}\nx:"),
     "config.yaml:4 trt_llm", "TensorRT-LLM engine is built by Baseten's engine builder"),
])
def test_what_cannot_be_imported_is_refused_clearly(tmp_path, platform, edit, where, words):
    name = "path-filter" if platform == "cog" else "docker-server"
    src = tmp_path / "src"
    shutil.copytree(FIXTURES / platform / name, src)
    rel, old, new = edit
    (src / rel).write_text((src / rel).read_text().replace(old, new, 1))
    out = tmp_path / "out"
    code, output = run("import", platform, str(src), "--out", str(out))
    assert code == 2 and where in output and words in output, output
    assert "Traceback" not in output and not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["src"]  # no temp folder left behind


def test_bad_sources_fail_clearly_and_write_nothing(tmp_path):
    out = tmp_path / "out"
    code, output = run("import", "cog", str(tmp_path / "missing"), "--out", str(out))
    assert code == 2 and "not a folder" in output
    code, output = run("import", "cog", str(FIXTURES / "truss/typed-model"), "--out", str(out))
    assert code == 2 and "no cog.yaml" in output
    broken = tmp_path / "broken"
    shutil.copytree(FIXTURES / "cog/hello-world", broken)
    (broken / "predict.py").write_text("class Predictor(:\n    pass\n")
    code, output = run("import", "cog", str(broken), "--out", str(out))
    assert code == 2 and "predict.py:1: syntax error" in output
    assert not out.exists() and "Traceback" not in output


def test_never_overwrites_and_strict_refuses_losses(tmp_path):
    out = tmp_path / "taken"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    code, output = run("import", "cog", str(FIXTURES / "cog/hello-world"), "--out", str(out))
    assert code == 1 and "not empty" in output and [p.name for p in out.iterdir()] == ["keep.txt"]
    code, output = run("import", "cog", str(FIXTURES / "cog/stream-runner"), "--out",
                       str(tmp_path / "s"), "--strict")
    assert code == 1 and "ConcatenateIterator" in output and not (tmp_path / "s").exists()
    imported(tmp_path, "cog", "hello-world", "--strict")  # nothing lost: strict is fine


def test_runpod_dockerfile_is_read_as_docker_reads_it(tmp_path):
    """Each RUN's shell text stays whole (quotes with ';', if/then/fi), a cache mount is dropped,
    ARG defaults fill ENV, ${PATH} is refused by name, -r follows COPY, index options carry."""
    out = imported(tmp_path, "runpod", "dockerfile-worker")
    spec = load_project(out).spec
    assert spec.build_commands == [
        'python -c "import sys; print(sys.version)"',
        'if [ -n "$MODEL_NAME" ]; then         echo "model: $MODEL_NAME";     fi']
    assert spec.requirements == ["numpy==2.1.3", "runpod"]  # -r /app/... found through COPY
    assert spec.extra_index_urls == ["https://download.pytorch.org/whl/cpu"]
    assert spec.system_packages == ["libgomp1"]
    assert spec.env == {"HF_HOME": "/runpod-volume/hf", "MODEL_NAME": "", "GREETING": "hello"}
    assert str(spec.resources.gpu) == "RTX-4090"  # .runpod/hub.json gpuIds ADA_24
    assert [e.input for e in spec.examples] == [{"payload": {"text": "hi"}},
                                                 {"payload": {"text": "hello world"}}]
    source = (out / "predict.py").read_text(encoding="utf-8")
    assert "from runpod.serverless.utils.rp_validator import validate" in source  # a library call
    assert 'result.pop("refresh_worker", None)' in source
    code, output = run("import", "runpod", str(FIXTURES / "runpod/dockerfile-worker"), "--out",
                       str(tmp_path / "again"), "--json")
    notes = json.loads(output)["notes"]
    assert any("${PATH}" in n["message"] and n["lost"] for n in notes)
    assert any("cache mount" in n["message"] for n in notes)
    result = build(load_project(out), "all", tmp_path / "build")
    for b in result.builds:  # every target installs from the extra index
        text = "\n".join(p.read_text() for p in b.path.rglob("*") if p.name in (
            "requirements.txt", "modal_app.py", "config.yaml"))
        assert "https://download.pytorch.org/whl/cpu" in text, b.target


def test_runpod_handler_from_another_module_in_src(tmp_path):
    out = imported(tmp_path, "runpod", "src-layout")
    assert {p.name for p in out.iterdir()} >= {"predict.py", "engine.py", "utils.py"}
    source = (out / "predict.py").read_text(encoding="utf-8")
    assert "import engine" in source and 'engine.handler({"input": payload})' in source
    assert [i.name for i in load_project(out).predictor.inputs] == ["text"]
    sys.path.insert(0, str(out))
    try:
        import importlib
        predict = importlib.import_module("predict")
        assert predict.Predictor().predict(text="hi") == {"text": "HI!"}
    finally:
        sys.path.remove(str(out))
        for name in ("predict", "engine", "utils"):
            sys.modules.pop(name, None)


def test_runpod_worker_machinery_and_start_in_a_function_are_refused_by_line(tmp_path):
    src = tmp_path / "src"
    shutil.copytree(FIXTURES / "runpod/src-layout", src)
    (src / "src/main.py").write_text("import runpod\n\nimport engine\n\n\ndef main():\n"
                                     "    runpod.serverless.start({\"handler\": engine.handler})\n"
                                     "    print('after')\n")
    code, output = run("import", "runpod", str(src), "--out", str(tmp_path / "a"))
    assert code != 0 and "src/main.py:7" in output and "not the last statement of main()" in output
    (src / "src/main.py").write_text("import runpod\n\nimport engine\n\n\ndef main():\n"
                                     "    runpod.serverless.start({\"handler\": engine.handler})\n\n\n"
                                     "main()\n")
    code, output = run("import", "runpod", str(src), "--out", str(tmp_path / "a2"))
    assert code != 0 and "src/main.py:10" in output and "outside" in output
    (src / "src/main.py").write_text(
        "import runpod\nfrom runpod.serverless.modules import rp_http\n"
        "import engine\n\nrunpod.serverless.start({\"handler\": engine.handler})\n")
    code, output = run("import", "runpod", str(src), "--out", str(tmp_path / "b"))
    assert code != 0 and "src/main.py:2" in output and "rp_http" in output


def _call(out: Path, **inputs):
    sys.path.insert(0, str(out))
    try:
        import importlib
        predict = importlib.import_module("predict")
        predictor = predict.Predictor()
        predictor.load()
        return predictor.predict(**inputs)
    finally:
        sys.path.remove(str(out))
        sys.modules.pop("predict", None)


def test_cog_function_predictor_becomes_a_class_with_constants_resolved(tmp_path):
    out = imported(tmp_path, "cog", "function-run")
    project = load_project(out)
    spec = project.spec
    assert spec.predictor == "predict.py:Predictor"
    assert spec.python == "3.11"  # 3.9 -> the oldest every target accepts, not 3.13
    assert spec.requirements == ["numpy==1.26.4", "pydantic>=2"]
    assert spec.extra_index_urls == ["https://download.pytorch.org/whl/cpu"]
    assert spec.build_commands == ['echo "ready; set"']  # cache mount dropped, text whole
    inputs = {i.name: i for i in project.predictor.inputs}
    assert inputs["text"].default == "hello" and inputs["style"].default == "plain"
    assert _call(out, text="hi", style="loud") == "HI"
    code, output = run("import", "cog", str(FIXTURES / "cog/function-run"), "--out",
                       str(tmp_path / "again"), "--json")
    notes = json.loads(output)["notes"]
    assert any("numpy==1.26.4" in n["message"] and n["lost"] for n in notes)  # pins named
    build(project, "all", tmp_path / "build")


def test_cog_setup_weights_stay_defined_in_load(tmp_path):
    out = imported(tmp_path, "cog", "setup-weights")
    source = (out / "predict.py").read_text(encoding="utf-8")
    assert "def load(self):" in source and "weights = None" in source
    assert _call(out, text="world") == "hello world"


def test_truss_init_kwargs_forms_are_carried(tmp_path):
    """Annotated kwargs attributes, kwargs["secrets"].get(...), kwargs["environment"], and a
    kept attribute read inside __init__ itself."""
    out = imported(tmp_path, "truss", "kwargs-model")
    spec = load_project(out).spec
    assert spec.secrets == ["HF_ACCESS_TOKEN"]
    source = (out / "predict.py").read_text(encoding="utf-8")
    assert 'os.environ.get("HF_ACCESS_TOKEN", None)' in source
    assert 'TRUSS_CONFIG["model_metadata"]["name"]' in source
    assert _call(out, text="hi") == {"name": "tiny", "text": "hi", "env": None, "has_token": False}


def test_cog_base_model_output_and_metrics_are_carried(tmp_path):
    """A cog.BaseModel output is sent as the dict of its fields (as Cog sends it); emit_metric
    and current_scope() become logged no-ops, each noted by line."""
    code, output = run("import", "cog", str(FIXTURES / "cog/metrics-output"), "--out",
                       str(tmp_path / "out"), "--json")
    assert code == 0, output
    notes = json.loads(output)["notes"]
    lost = {n["where"] for n in notes if n["lost"]}
    assert {"predict.py:20", "predict.py:21", "predict.py:22", "predict.py:23"} <= lost
    assert any(n["where"] == "predict.py:7" and "dataclass" in n["message"] for n in notes)
    out = tmp_path / "out"
    assert load_project(out).predictor.output_kind == "dict"
    assert _call(out, text="x y") == {"words": [">x", ">y"], "language": "en", "count": 0,
                                      "report": None}
    assert _call(out, text=" ") == {"words": [], "language": None, "count": None, "report": None}


def test_truss_secrets_tested_for_truth_and_membership(tmp_path, monkeypatch):
    """``if self._secrets``, ``"x" in self._secrets``, ``self._secrets._base_secrets`` and an
    annotated ``self.x: T = self._secrets.get(...)`` inside __init__ are carried."""
    out = imported(tmp_path, "truss", "secrets-model")
    assert load_project(out).spec.secrets == ["HF_ACCESS_TOKEN"]
    # environment_variables as Truss sets them: str(v), a bool lower-cased (null noted)
    assert load_project(out).spec.env == {"USE_FAST": "true", "hf_token": "None"}
    source = (out / "predict.py").read_text(encoding="utf-8")
    assert "TRUSS_SECRETS = {'hf_access_token': None}" in source
    assert 'if TRUSS_SECRETS and bool(os.environ.get("HF_ACCESS_TOKEN")):' in source
    monkeypatch.setenv("HF_ACCESS_TOKEN", "t0k")
    assert _call(out, text="hi") == {"text": "hi", "token": "t0k", "declared": True,
                                     "empty": False, "got": "t0k"}
    monkeypatch.delenv("HF_ACCESS_TOKEN")
    assert _call(out, text="hi")["token"] is None


def test_truss_async_preprocess_is_awaited_and_async_generators_stream(tmp_path):
    pre = imported(tmp_path, "truss", "async-pre-model")
    assert _call(pre, text=" ab ") == {"upper": "AB"}  # preprocess awaited, as Truss does
    stream = imported(tmp_path, "truss", "async-stream-model")
    assert load_project(stream).predictor.streaming
    assert list(_call(stream, text="a b c")) == ["a ", "b ", "c "]


def test_truss_predict_returning_an_inner_generator_is_refused_by_line(tmp_path):
    src = tmp_path / "src"
    shutil.copytree(FIXTURES / "truss/async-stream-model", src)
    (src / "model/model.py").write_text(
        "class Model:\n    def __init__(self, **kwargs):\n        pass\n\n"
        "    def load(self):\n        pass\n\n"
        "    async def predict(self, model_input):\n"
        "        async def generator():\n            yield model_input[\"text\"]\n\n"
        "        if model_input.get(\"stream\"):\n            return generator()\n"
        "        return model_input[\"text\"]\n")
    code, output = run("import", "truss", str(src), "--out", str(tmp_path / "out"))
    assert code == 2 and "model/model.py:9" in output and "generator()" in output, output
    text = (src / "model/model.py").read_text()
    (src / "model/model.py").write_text(text.replace('        return model_input["text"]\n', ""))
    code, output = run("import", "truss", str(src), "--out", str(tmp_path / "falls"))
    assert code == 2 and "model/model.py:9" in output, output  # may fall through to None
    (src / "model/model.py").write_text(text.replace(
        '        if model_input.get("stream"):\n            return generator()\n', "").replace(
        'return model_input["text"]', "return generator()"))
    (src / "model/model.py").write_text((src / "model/model.py").read_text().replace(
        "        return generator()", "        with open(__file__):\n            return generator()"))
    code, output = run("import", "truss", str(src), "--out", str(tmp_path / "always"))
    assert code == 0, output  # every return (here inside a with) hands back the generator
    assert list(_call(tmp_path / "always", text="x")) == ["x"]


def test_truss_external_data_is_fetched_where_truss_puts_it(tmp_path):
    out = imported(tmp_path, "truss", "external-data-model")
    spec = load_project(out).spec
    assert spec.build_commands == [
        "mkdir -p /app/data/assets && python -c 'import sys, urllib.request; urllib.request."
        "urlretrieve(*sys.argv[1:])' https://example.com/files/vocab.txt /app/data/assets/vocab.txt",
        "mkdir -p /app/data/assets && python -c 'import sys, urllib.request; urllib.request."
        "urlretrieve(*sys.argv[1:])' https://example.com/files/mel_filters.npz "
        "/app/data/assets/filters.npz"]
    assert 'DATA_DIR = Path("/app/data")' in (out / "predict.py").read_text(encoding="utf-8")
    assert _call(out, text="a") == {"text": "a", "assets": "/app/data/assets"}
    build(load_project(out), "all", tmp_path / "build")


def test_runpod_start_inside_main_runs_main_in_load(tmp_path):
    """start() as main()'s last statement (main() called under __main__): main() returns the
    options, load() runs it, the handler a factory made is read for typed inputs."""
    out = imported(tmp_path, "runpod", "main-worker")
    project = load_project(out)
    assert [i.name for i in project.predictor.inputs] == ["text"]
    source = (out / "predict.py").read_text(encoding="utf-8")
    assert "def main():" in source and "self._worker = main()" in source
    assert project.spec.scaling.concurrency == 4
    assert _call(out, text="hi") == {"text": "> hi"}


@pytest.mark.parametrize(("pin", "kept"), [("runpod~=1.7.0", "runpod"),
                                           ("runpod>=1.7.9", "runpod>=1.7.9"),
                                           ("runpod==1.12.0", "runpod==1.12.0")])
def test_runpod_worker_pin_kept_only_where_the_target_handler_can_run(tmp_path, pin, kept):
    src = tmp_path / "src"
    shutil.copytree(FIXTURES / "runpod/dockerfile-worker", src)
    with (src / "builder/requirements.txt").open("a") as f:
        f.write(f"{pin}\n")
    code, output = run("import", "runpod", str(src), "--out", str(tmp_path / "out"), "--json")
    assert code == 0, output
    assert load_project(tmp_path / "out").spec.requirements[-1] == kept
    lost = [n for n in json.loads(output)["notes"] if n["where"] == "requirements"]
    assert lost and any(n["lost"] for n in lost) == (pin != kept)
    built = build(load_project(tmp_path / "out"), "runpod", tmp_path / "build").builds[0].path
    runpod_line = [ln for ln in (built / "requirements.txt").read_text().splitlines()
                   if ln.startswith("runpod")]
    assert runpod_line == ["runpod>=1.12,<2" if kept == "runpod" else kept]


def test_cog_input_named_model_version_is_carried(tmp_path):
    """pydantic's protected model_ namespace: an input named model_version (musicgen) keeps its
    name; only BaseModel's own attributes (model_dump, ...) are refused."""
    import warnings

    out = imported(tmp_path, "cog", "model-version")
    project = load_project(out)
    assert [i.name for i in project.predictor.inputs] == ["model_version", "text"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = project.predictor.inputs_model.model
        assert model.model_validate({"model_version": "large"}).model_version == "large"
    assert _call(out, model_version="large") == "large:hi"
    result = build(project, "all", tmp_path / "build")
    for b in result.builds:
        text = "\n".join(p.read_text() for p in b.path.rglob("*.py"))
        assert "protected_namespaces=()" in text, b.target


EXAMPLES = Path(__file__).parent.parent / "examples"


@pytest.mark.parametrize("platform", ["cog", "truss", "runpod"])
@pytest.mark.parametrize("example", ["text-stats", "token-stream"])
def test_round_trip_of_an_artifact_portapack_built(tmp_path, example, platform):
    """Build an example for a target, import the artifact back: the same predictor (inputs with
    types, defaults and rules), the example inputs and scaling the format carries, and
    `portapack test` on that target passes with the original's examples."""
    original = load_project(EXAMPLES / example)
    built = build(original, platform, tmp_path / "build").builds[0].path
    out = tmp_path / "back"
    code, output = run("import", platform, str(built), "--out", str(out), "--json")
    assert code == 0, output
    back = load_project(out)
    assert back.spec.name == original.spec.name
    assert back.spec.predictor == original.spec.predictor
    assert (out / back.spec.predictor_file).read_bytes() == (
        EXAMPLES / example / original.spec.predictor_file).read_bytes()
    assert back.predictor.inputs == original.predictor.inputs
    assert back.predictor.streaming == original.predictor.streaming
    assert back.spec.requirements == original.spec.requirements
    assert back.spec.env == original.spec.env
    # What each format carries: concurrency everywhere; replica counts in Cog's deployment and
    # RunPod's endpoint.json (Truss's lives in Baseten's autoscaling, not config.yaml); idle
    # timeout and request timeout in endpoint.json; cpu and memory in Truss's resources.
    carried = {"cog": ["min_replicas", "max_replicas"], "truss": [],
               "runpod": ["min_replicas", "max_replicas", "idle_timeout", "timeout"]}[platform]
    for key in ["concurrency", *carried]:
        assert getattr(back.spec.scaling, key) == getattr(original.spec.scaling, key), key
    if platform == "truss":
        assert (back.spec.resources.cpu, back.spec.resources.memory) == (
            original.spec.resources.cpu, original.spec.resources.memory)
    wanted = [e.input for e in original.spec.examples]
    assert all(e.input in wanted for e in back.spec.examples)
    assert not any(p.name in ("run.py", "handler.py", "portapack_files.py", "model.py")
                   for p in out.rglob("*"))
    spec = yaml.safe_load((out / "portapack.yaml").read_text())
    spec["examples"] = [e.model_dump(exclude_none=True) for e in original.spec.examples]
    (out / "portapack.yaml").write_text(yaml.safe_dump(spec))
    code, output = run("test", "--spec", str(out), "-t", platform, "--out", str(tmp_path / "t"))
    assert code == 0, output


def test_runpod_worker_that_is_a_package_module_keeps_its_package(tmp_path):
    """A start file with relative imports (run as python -m pkg.handler): its siblings go into
    pkg/ and its relative imports become pkg.x ones (sub-modules keep theirs)."""
    out = imported(tmp_path, "runpod", "package-worker")  # the Dockerfile runs -m worker.handler
    assert (out / "worker/util.py").is_file() and (out / "worker/sub/words.py").is_file()
    source = (out / "predict.py").read_text(encoding="utf-8")
    assert "from worker import util" in source and "from worker.sub.words import count" in source
    try:
        assert _call(out, text="a b") == {"text": "A B", "words": 2}
    finally:
        for name in [m for m in sys.modules if m == "worker" or m.startswith("worker.")]:
            sys.modules.pop(name)
    src = tmp_path / "src"
    shutil.copytree(FIXTURES / "runpod/package-worker", src)
    (src / "handler.py").write_text((src / "handler.py").read_text().replace(
        "from . import util", "from .. import util"))
    code, output = run("import", "runpod", str(src), "--out", str(tmp_path / "up"))
    assert code == 2 and "handler.py:3" in output and "beyond its own package" in output, output
