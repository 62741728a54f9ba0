"""The command line: click's CliRunner for each command, plus real subprocess runs of the
installed ``portapack`` console script."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from jsonschema import Draft202012Validator

from portapack.building.builder import MARKER
from portapack.cli import main
from portapack.spec.gpu import CANONICAL
from portapack.targets import TARGETS

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = sorted(p.parent for p in (REPO / "examples").glob("*/portapack.yaml"))
TARGET_NAMES = list(TARGETS)  # modal, cog, truss, runpod, kserve
SDK_MODULES = ("modal", "truss", "cog", "runpod", "docker")

# The brief asks for isolated_filesystem(temp_dir=tmp_path); Click 8.3+ deprecates it.
pytestmark = pytest.mark.filterwarnings("ignore:'isolated_filesystem' is deprecated")

# Four problems, each on its own line.
BAD_SPEC = """\
name: demo
predictor: predict.py:Predictor
resorces:
  cpu: 2
scaling:
  max_replica: 2
python: 3.10
"""
BAD_SPEC_PROBLEMS = [
    "portapack.yaml:7 python: YAML reads 3.10 as 3.1",
    "portapack.yaml:3 resorces: unknown field 'resorces'; did you mean 'resources'?",
    "portapack.yaml:6 scaling.max_replica: unknown field 'max_replica'; "
    "did you mean 'max_replicas'?",
]


# -- helpers --------------------------------------------------------------------------------------
@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def workdir(runner, tmp_path):
    """Run each test inside a fresh, empty directory under tmp_path."""
    with runner.isolated_filesystem(temp_dir=tmp_path) as path:
        yield Path(path)


def invoke(runner: CliRunner, *args: str):
    return runner.invoke(main, list(args), catch_exceptions=False)


def init_project(runner: CliRunner) -> None:
    result = invoke(runner, "init", "--name", "demo")
    assert result.exit_code == 0, result.output


def write_bad_spec(directory: Path) -> None:
    (directory / "portapack.yaml").write_text(BAD_SPEC, encoding="utf-8")
    (directory / "predict.py").write_text(
        "class Predictor:\n    def load(self): ...\n    def predict(self, text: str) -> str:\n"
        "        return text\n", encoding="utf-8")


def copy_example(name: str, dest: Path) -> Path:
    target = dest / name
    shutil.copytree(REPO / "examples" / name, target,
                    ignore=shutil.ignore_patterns("build", "__pycache__"))
    return target


def tree(path: Path) -> list[str]:
    """The files under ``path``; a build/ folder (what `make demo` leaves in an example) and
    bytecode are not part of a project, as copy_example() leaves them out."""
    files = (p.relative_to(path) for p in path.rglob("*") if p.is_file())
    return sorted(f.as_posix() for f in files if f.parts[0] != "build" and "__pycache__" not in f.parts)


def portapack_command() -> list[str]:
    """The installed console script of this environment (or the module, as a fallback)."""
    script = shutil.which("portapack", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "portapack.cli"]


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*portapack_command(), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "NO_COLOR": "1"})


KEY_FILES = {"modal": "modal_app.py", "cog": "cog.yaml", "truss": "config.yaml",
             "runpod": "handler.py", "kserve": "inferenceservice.yaml"}


def assert_built(out: Path, targets: list[str]) -> None:
    """``out`` holds exactly ``targets``, each with its marker, its key file and the user's code."""
    assert sorted(p.name for p in out.iterdir()) == sorted(targets)
    for target in targets:
        marker = json.loads((out / target / MARKER).read_text(encoding="utf-8"))
        assert marker["target"] == target
        assert any(f.endswith("predict.py") for f in marker["files"]), marker["files"]
        assert sorted(marker["files"]) == [f for f in tree(out / target) if f != MARKER]
        assert (out / target / KEY_FILES[target]).is_file()


# -- init, validate, build ------------------------------------------------------------------------
def test_init_validate_build_in_an_empty_directory(runner, workdir):
    result = invoke(runner, "init")
    assert result.exit_code == 0
    assert result.output.splitlines() == ["wrote portapack.yaml", "wrote predict.py",
                                          "next: portapack build --target all"]
    spec = yaml.safe_load((workdir / "portapack.yaml").read_text())
    assert spec["name"] == re.sub(r"[^a-z0-9]+", "-", workdir.name.lower()).strip("-")
    assert spec["predictor"] == "predict.py:Predictor"

    result = invoke(runner, "validate")
    assert result.exit_code == 0
    assert "portapack.yaml: valid" in result.output
    assert "  input text: string (required)" in result.output
    assert "  input style: string (default 'upper')" in result.output
    assert "  output: value" in result.output

    result = invoke(runner, "build", "--target", "all")
    assert result.exit_code == 0, result.output
    for target in TARGET_NAMES:
        assert f"-> build/{target} (" in result.output
    assert_built(workdir / "build", TARGET_NAMES)
    # A fresh starter builds clean: no note that would apply to every project.
    assert "~" not in result.output, result.output


def test_init_with_dir_and_name(runner, workdir):
    result = invoke(runner, "init", "--dir", "sub/model", "--name", "my-model", "--json")
    assert result.exit_code == 0
    assert json.loads(result.output) == {
        "ok": True, "files": ["sub/model/portapack.yaml", "sub/model/predict.py"]}
    assert yaml.safe_load((workdir / "sub/model/portapack.yaml").read_text())["name"] == "my-model"


def test_init_names_the_model_after_the_folder(runner, workdir):
    (workdir / "My_Cool Model").mkdir()
    assert invoke(runner, "init", "--dir", "My_Cool Model").exit_code == 0
    spec = yaml.safe_load((workdir / "My_Cool Model" / "portapack.yaml").read_text())
    assert spec["name"] == "my-cool-model"


def test_init_refuses_to_overwrite(runner, workdir):
    (workdir / "predict.py").write_text("# mine\n", encoding="utf-8")
    result = invoke(runner, "init")
    assert result.exit_code == 1
    assert "error: predict.py already exists; init never overwrites files" in result.stderr
    assert (workdir / "predict.py").read_text() == "# mine\n"
    assert not (workdir / "portapack.yaml").exists()  # nothing half-written


def test_init_twice_refuses_and_keeps_both_files(runner, workdir):
    init_project(runner)
    before = {p: (workdir / p).read_text() for p in ("portapack.yaml", "predict.py")}
    result = invoke(runner, "init", "--json")
    assert result.exit_code == 1
    payload = json.loads(result.output)
    assert payload["ok"] is False and payload["error"] == "BuildError"
    assert payload["problems"] == [
        "portapack.yaml, predict.py already exists; init never overwrites files"]
    assert {p: (workdir / p).read_text() for p in before} == before


def test_init_with_an_invalid_name(runner, workdir):
    result = invoke(runner, "init", "--name", "Bad_Name")
    assert result.exit_code == 1
    assert "'Bad_Name' is not a valid model name" in result.stderr
    assert list(workdir.iterdir()) == []


def test_validate_json_on_a_valid_spec(runner, workdir):
    init_project(runner)
    result = invoke(runner, "validate", "--json")
    assert result.exit_code == 0
    payload = json.loads(result.output)
    assert payload["ok"] is True and payload["name"] == "demo" and payload["streaming"] is False
    assert payload["files"] == ["predict.py"]
    assert payload["inputs"]["required"] == ["text"]
    assert payload["inputs"]["properties"]["style"]["enum"] == ["upper", "lower"]


def test_validate_with_spec_option(runner, workdir):
    project = copy_example("token-stream", workdir)
    result = invoke(runner, "validate", "--spec", str(project / "portapack.yaml"))
    assert result.exit_code == 0
    assert "  output: stream" in result.output


# -- invalid specs --------------------------------------------------------------------------------
def test_validate_bad_spec_exits_2_and_prints_every_problem(runner, workdir):
    write_bad_spec(workdir)
    result = invoke(runner, "validate")
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert lines[0] == "invalid spec:"
    assert len(lines) == 1 + len(BAD_SPEC_PROBLEMS)
    for expected in BAD_SPEC_PROBLEMS:
        assert any(line.startswith(f"  {expected}") for line in lines), (expected, lines)
    assert "Traceback" not in result.output
    assert result.stdout == ""


def test_validate_single_problem_is_on_one_line(runner, workdir):
    write_bad_spec(workdir)
    (workdir / "portapack.yaml").write_text("name: demo\npredictor: predict.py:Predictor\n"
                                            "resources: {gpu: A100}\n")
    result = invoke(runner, "validate")
    assert result.exit_code == 2
    assert result.stderr.startswith(
        "invalid spec: portapack.yaml:3 resources.gpu: 'A100' is ambiguous")
    assert len(result.stderr.splitlines()) == 1


def test_validate_json_carries_the_problems(runner, workdir):
    write_bad_spec(workdir)
    result = invoke(runner, "validate", "--json")
    assert result.exit_code == 2
    payload = json.loads(result.stdout)
    assert payload["ok"] is False and payload["error"] == "SpecError"
    assert len(payload["problems"]) == len(BAD_SPEC_PROBLEMS)
    for expected in BAD_SPEC_PROBLEMS:
        assert any(p.startswith(expected) for p in payload["problems"]), expected


def test_validate_without_a_spec(runner, workdir):
    result = invoke(runner, "validate")
    assert result.exit_code == 2
    assert "portapack.yaml: spec file not found; run 'portapack init'" in result.stderr


def test_build_bad_spec_exits_2_and_writes_nothing(runner, workdir):
    write_bad_spec(workdir)
    result = invoke(runner, "build")
    assert result.exit_code == 2
    assert result.stderr.startswith("invalid spec:")
    assert not (workdir / "build").exists()


def test_build_unknown_target_lists_the_choices(runner, workdir):
    init_project(runner)
    result = invoke(runner, "build", "--target", "nope")
    assert result.exit_code == 2
    assert "unknown target 'nope'; choose from modal, cog, truss, runpod, kserve or all" in result.stderr
    assert not (workdir / "build").exists()


def test_build_unknown_target_json(runner, workdir):
    init_project(runner)
    result = invoke(runner, "build", "-t", "modal", "-t", "heroku", "--json")
    assert result.exit_code == 2
    payload = json.loads(result.stdout)
    assert payload["error"] == "TargetError"
    assert payload["problems"] == [
        "unknown target 'heroku'; choose from modal, cog, truss, runpod, kserve or all "
        "('portapack targets' lists them)"]


# -- build ----------------------------------------------------------------------------------------
def test_build_one_target_json(runner, workdir):
    init_project(runner)
    result = invoke(runner, "build", "-t", "modal", "--out", "dist-x", "--json")
    assert result.exit_code == 0
    payload = json.loads(result.output)
    assert payload["ok"] is True
    assert payload["out"] == str((workdir / "dist-x").resolve())
    (built,) = payload["targets"]
    assert built["target"] == "modal" and built["notes"] == []
    assert {"modal_app.py", "predict.py", "requirements.txt"} <= set(built["files"])
    assert_built(workdir / "dist-x", ["modal"])


def test_build_prints_the_approximations(runner, workdir):
    init_project(runner)  # the starter builds with no notes: ask for something Cog approximates
    spec = workdir / "portapack.yaml"
    spec.write_text(spec.read_text().replace("cpu: 1", "cpu: 4"))
    result = invoke(runner, "build", "-t", "cog")
    assert result.exit_code == 0
    assert "~ resources.cpu: Replicate sizes CPU by hardware SKU" in result.output
    assert "(~ approximated or left out; --strict makes these errors)" in result.output


def test_build_strict_with_approximations_exits_1_and_writes_nothing(runner, workdir):
    project = copy_example("text-stats", workdir)
    out = workdir / "out"
    result = invoke(runner, "build", "--spec", str(project), "--out", str(out), "--strict")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: --strict: these would be approximated or left out:")
    assert "  cog: resources.memory: Replicate sizes memory by hardware SKU" in result.stderr
    assert "  cog: scaling.timeout: Cog has no per-prediction timeout setting" in result.stderr
    assert not out.exists()
    assert tree(project) == tree(REPO / "examples" / "text-stats")


def test_build_strict_passes_when_nothing_is_approximated(runner, workdir):
    project = copy_example("token-stream", workdir)
    result = invoke(runner, "build", "--spec", str(project), "-t", "modal", "--strict",
                    "--out", "out")
    assert result.exit_code == 0, result.stderr
    assert_built(workdir / "out", ["modal"])


def test_build_refuses_an_output_folder_it_did_not_write(runner, workdir):
    init_project(runner)
    (workdir / "build" / "modal").mkdir(parents=True)
    (workdir / "build" / "modal" / "mine.txt").write_text("keep")
    result = invoke(runner, "build", "-t", "modal")
    assert result.exit_code == 1
    assert "was not written by portapack" in result.stderr
    assert tree(workdir / "build") == ["modal/mine.txt"]


def test_build_twice_replaces_its_own_output(runner, workdir):
    init_project(runner)
    assert invoke(runner, "build", "-t", "runpod").exit_code == 0
    (workdir / "build" / "runpod" / "stale.txt").write_text("old")
    assert invoke(runner, "build", "-t", "runpod").exit_code == 0
    assert not (workdir / "build" / "runpod" / "stale.txt").exists()
    assert sorted(p.name for p in (workdir / "build").iterdir()) == ["runpod"]


# -- targets and schema ---------------------------------------------------------------------------
def test_targets_prints_the_gpu_table(runner):
    result = invoke(runner, "targets")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    for name in TARGET_NAMES:
        assert any(line.startswith(name) and f'pip install "portapack[{name}]"' in line
                   for line in lines), name
    header = next(line for line in lines if line.startswith("gpu "))
    assert header.split() == ["gpu", "memory_gb", *TARGET_NAMES]
    body = lines[lines.index(header) + 1:]
    rows = {line.split()[0]: line.split() for line in body if line.strip()}
    for gpu, memory in CANONICAL.items():
        assert rows[gpu][1] == str(memory)
    assert rows["H100"][2] == "H100"  # modal
    assert rows["T4"][3] == "gpu-t4"  # cog
    assert "aliases are case-insensitive" in result.output


def test_targets_json(runner):
    result = invoke(runner, "targets", "--json")
    assert result.exit_code == 0
    payload = json.loads(result.output)
    assert [t["name"] for t in payload["targets"]] == TARGET_NAMES
    assert payload["targets"][0]["install"] == 'pip install "portapack[modal]"'
    assert [row["gpu"] for row in payload["gpus"]] == list(CANONICAL)
    for row in payload["gpus"]:
        assert set(row) == {"gpu", "memory_gb", *TARGET_NAMES}
        assert all(row[t] for t in TARGET_NAMES)
    a100_40 = next(r for r in payload["gpus"] if r["gpu"] == "A100-40GB")
    assert a100_40["cog"].startswith("~")  # nearest match, marked


@pytest.fixture(scope="module")
def spec_schema() -> dict:
    result = CliRunner().invoke(main, ["schema"], catch_exceptions=False)
    assert result.exit_code == 0
    return json.loads(result.output)


def test_schema_is_a_valid_json_schema(spec_schema):
    Draft202012Validator.check_schema(spec_schema)
    assert spec_schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert spec_schema["title"] == "portapack.yaml"
    assert set(spec_schema["required"]) == {"name"}
    validator = Draft202012Validator(spec_schema)
    server = {"command": "python server.py", "port": 8000, "health": "/health", "routes": ["/v1/models"]}
    assert validator.is_valid({"name": "a", "predictor": "predict.py:Predictor"})
    assert validator.is_valid({"name": "a", "server": server})
    assert not validator.is_valid({"name": "a"})  # exactly one of predictor: and server:
    assert not validator.is_valid({"name": "a", "predictor": "predict.py:Predictor", "server": server})


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_schema_validates_every_example(spec_schema, example):
    data = yaml.safe_load((example / "portapack.yaml").read_text(encoding="utf-8"))
    errors = [e.message for e in Draft202012Validator(spec_schema).iter_errors(data)]
    assert errors == []


def test_there_are_examples_to_validate():
    assert {p.name for p in EXAMPLES} >= {"text-stats", "token-stream", "llm-chat", "numpy-linear"}


@pytest.mark.parametrize(("extra", "unexpected"), [
    ({"resorces": {"cpu": 2}}, "'resorces' was unexpected"),
    ({"scaling": {"max_replica": 2}}, "'max_replica' was unexpected"),
])
def test_schema_rejects_unknown_keys(spec_schema, extra, unexpected):
    data = {"name": "demo", "predictor": "predict.py:Predictor", **extra}
    errors = [e.message for e in Draft202012Validator(spec_schema).iter_errors(data)]
    assert len(errors) == 1 and unexpected in errors[0], errors


def test_schema_accepts_the_shorthand_the_loader_accepts(spec_schema):
    data = {"name": "demo", "predictor": "predict.py:Predictor", "python": 3.11,
            "env": {"DEBUG": True, "WORKERS": 3}}
    assert [e.message for e in Draft202012Validator(spec_schema).iter_errors(data)] == []


# -- the real console script ----------------------------------------------------------------------
def test_console_script_init_validate_build(tmp_path):
    work = tmp_path / "proj"
    work.mkdir()
    init = run_cli("init", "--name", "proj", cwd=work)
    assert init.returncode == 0, init.stderr
    validate = run_cli("validate", cwd=work)
    assert validate.returncode == 0, validate.stderr
    assert "portapack.yaml: valid" in validate.stdout
    build = run_cli("build", "--target", "all", cwd=work)
    assert build.returncode == 0, build.stderr
    assert "Traceback" not in build.stderr
    assert_built(work / "build", TARGET_NAMES)


def test_console_script_bad_spec_prints_no_traceback(tmp_path):
    write_bad_spec(tmp_path)
    result = run_cli("validate", cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stderr.splitlines()[0] == "invalid spec:"
    for expected in BAD_SPEC_PROBLEMS:
        assert f"  {expected}" in result.stderr


def test_console_script_version():
    result = run_cli("--version", cwd=REPO)
    assert result.returncode == 0
    assert result.stdout.startswith("portapack, version ")


# -- no platform SDK is imported ------------------------------------------------------------------
NO_SDK_SCRIPT = textwrap.dedent("""\
    import json, shutil, sys
    from pathlib import Path

    from click.testing import CliRunner

    import portapack
    import portapack.cli

    examples, work = Path(sys.argv[1]), Path(sys.argv[2])
    built = []
    for spec in sorted(examples.glob("*/portapack.yaml")):
        project = work / spec.parent.name
        shutil.copytree(spec.parent, project, ignore=shutil.ignore_patterns("build", "__pycache__"))
        result = portapack.build(project, targets="all", out=project / "out-api")
        built += [b.target for b in result.builds]
        cli = CliRunner().invoke(portapack.cli.main, ["build", "--spec", str(project),
                                                      "--out", str(project / "out-cli")])
        assert cli.exit_code == 0, cli.output
        built += [p.name for p in (project / "out-cli").iterdir()]
    sdks = sorted(m for m in sys.modules if m.split(".")[0] in {sdks})
    print(json.dumps({{"built": built, "sdks": sdks}}))
""").format(sdks=repr(set(SDK_MODULES)))


def test_building_never_imports_a_platform_sdk(tmp_path):
    result = subprocess.run([sys.executable, "-c", NO_SDK_SCRIPT, str(REPO / "examples"),
                             str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.splitlines()[-1])
    assert len(report["built"]) == 2 * len(TARGET_NAMES) * len(EXAMPLES)
    assert report["sdks"] == []


def test_the_sdks_are_importable_so_the_check_above_means_something():
    probe = subprocess.run(
        [sys.executable, "-c", "import importlib.util, sys; "
         f"print([m for m in {SDK_MODULES!r} if importlib.util.find_spec(m) is None])"],
        capture_output=True, text=True, timeout=120)
    assert probe.returncode == 0, probe.stderr
    if probe.stdout.strip() != "[]":
        pytest.skip(f"platform SDKs not installed: {probe.stdout.strip()}")
