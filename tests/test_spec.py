"""Spec loading and validation: ``portapack.load_project`` on specs written into tmp_path.

Every test writes a ``portapack.yaml`` (and a minimal ``predict.py``) into its own folder and
checks either the validated :class:`Project` or the exact problems of the ``SpecError``.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

import portapack
from portapack import Problem, SpecError
from portapack.spec.gpu import ALIASES, CANONICAL, MAX_COUNT, GpuRequest, parse_gpu

PREDICTOR = """\
class Predictor:
    def load(self) -> None:
        self.ready = True

    def predict(self, text: str, n: int = 1) -> str:
        return text * n
"""

HEAD = "name: demo\npredictor: predict.py:Predictor\n"
ALL_GPUS = ", ".join(CANONICAL)


# -- helpers --------------------------------------------------------------------------------------
def write_project(root: Path, spec: str, files: dict[str, str] | None = None) -> Path:
    """Write portapack.yaml (dedented), predict.py and ``files`` (relative path -> text)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "portapack.yaml").write_text(textwrap.dedent(spec), encoding="utf-8")
    (root / "predict.py").write_text(PREDICTOR, encoding="utf-8")
    for rel, text in (files or {}).items():
        path = root / rel
        assert root.resolve() in path.resolve().parents, f"{rel} must stay inside {root}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def load(root: Path, spec: str, files: dict[str, str] | None = None) -> portapack.Project:
    return portapack.load_project(write_project(root, spec, files))


def problems_of(root: Path, spec: str, files: dict[str, str] | None = None) -> list[Problem]:
    """The problems of a spec that must fail to load."""
    with pytest.raises(SpecError) as info:
        load(root, spec, files)
    assert info.value.problems, "a SpecError must carry at least one problem"
    return info.value.problems


def only_problem(root: Path, spec: str, files: dict[str, str] | None = None) -> Problem:
    problems = problems_of(root, spec, files)
    assert len(problems) == 1, [str(p) for p in problems]
    return problems[0]


def by_where(problems: list[Problem]) -> dict[str, str]:
    return {p.where: p.message for p in problems}


# -- a valid spec and its defaults ----------------------------------------------------------------
def test_minimal_spec_defaults(tmp_path):
    project = load(tmp_path, HEAD)
    spec = project.spec
    assert spec.name == "demo"
    assert (spec.predictor_file, spec.predictor_class, spec.predictor_module) == (
        "predict.py", "Predictor", "predict")
    assert spec.python == "3.11"
    assert spec.requirements == [] and project.requirements == ()
    assert spec.system_packages == [] and spec.build_commands == []
    assert spec.env == {} and spec.secrets == [] and spec.weights == [] and spec.examples == []
    assert spec.files is None
    assert spec.resources.gpu is None
    assert spec.resources.cpu == 1
    assert spec.resources.memory == "2Gi" and spec.resources.memory_mib == 2048
    s = spec.scaling
    assert (s.min_replicas, s.max_replicas, s.idle_timeout, s.concurrency, s.timeout) == (
        0, 1, 300, 1, 600)
    assert spec.targets.modal.memory_snapshot is None
    assert spec.targets.runpod.container_disk_gb == 20 and spec.targets.runpod.flashboot is True
    assert project.root == tmp_path.resolve()
    assert project.spec_path.name == "portapack.yaml"
    assert [i.name for i in project.predictor.inputs] == ["text", "n"]


def test_load_project_accepts_the_spec_file_path_too(tmp_path):
    write_project(tmp_path, HEAD)
    project = portapack.load_project(tmp_path / "portapack.yaml")
    assert project.spec.name == "demo"


def test_default_files_skip_spec_hidden_caches_and_build_output(tmp_path):
    project = load(tmp_path, HEAD, {
        "assets/lexicon.txt": "good 1\n",
        "README.md": "# readme\n",
        ".env": "SECRET=1\n",
        ".git/config": "[core]\n",
        "__pycache__/predict.cpython-311.pyc": "x",
        "build/modal/app.py": "x = 1\n",
        "venv/lib/site.py": "x = 1\n",
    })
    assert project.files == ("assets/lexicon.txt", "predict.py")


def test_explicit_files_and_folder_pattern(tmp_path):
    project = load(tmp_path, HEAD + "files: [predict.py, 'assets/']\n",
                   {"assets/a.txt": "a", "assets/sub/b.txt": "b", "other.txt": "o"})
    assert project.files == ("assets/a.txt", "assets/sub/b.txt", "predict.py")


def test_full_valid_spec_is_normalised(tmp_path):
    project = load(tmp_path, HEAD + """\
python: "3.12"
requirements: [numpy>=1.26, ' pydantic>=2 ']
system_packages: [git, libgl1]
build_commands: ['  echo hi  ']
env: {LOG_LEVEL: info}
secrets: [HF_TOKEN]
resources: {gpu: 'h100:2', cpu: 4, memory: 512Mi}
scaling: {min_replicas: 1, max_replicas: 3, idle_timeout: 60, concurrency: 2, timeout: 30}
weights:
  - {source: 'hf://org/repo@main', path: /weights/model/}
examples:
  - input: {text: hi, n: 2}
    output: hihi
targets:
  runpod: {container_disk_gb: 50, flashboot: false}
""")
    spec = project.spec
    assert spec.python == "3.12"
    assert project.requirements == ("numpy>=1.26", "pydantic>=2")
    assert spec.build_commands == ["echo hi"]
    assert spec.resources.gpu == GpuRequest("H100", 2)
    assert spec.resources.memory_mib == 512
    assert spec.weights[0].path == "/weights/model"
    assert spec.weights[0].scheme == "hf"
    assert spec.weights[0].hf_repo == ("org/repo", "main")
    assert spec.examples[0].input == {"text": "hi", "n": 2} and spec.examples[0].output == "hihi"
    assert spec.targets.runpod.container_disk_gb == 50


# -- every problem at once, with file, line and field path ----------------------------------------
BROKEN = """\
name: demo
predictor: predict.py:Predictor
python: 3.10
resources:
  gpu: V100
  cpu: 0
  memory: 16GB
scaling:
  max_replica: 2
weights:
  - source: ftp://host/model.bin
    path: weights/model
"""


def test_every_problem_is_reported_at_once(tmp_path):
    problems = problems_of(tmp_path, BROKEN)
    assert len(problems) == 7, [str(p) for p in problems]
    assert set(by_where(problems)) == {
        "portapack.yaml:3 python",
        "portapack.yaml:5 resources.gpu",
        "portapack.yaml:6 resources.cpu",
        "portapack.yaml:7 resources.memory",
        "portapack.yaml:9 scaling.max_replica",
        "portapack.yaml:11 weights.0.source",
        "portapack.yaml:12 weights.0.path",
    }


def test_problem_text_joins_where_and_message(tmp_path):
    problems = problems_of(tmp_path, BROKEN)
    gpu = next(p for p in problems if p.where.endswith("resources.gpu"))
    assert str(gpu).startswith("portapack.yaml:5 resources.gpu: unknown GPU 'V100'")
    with pytest.raises(SpecError) as info:
        load(tmp_path, BROKEN)
    assert str(info.value).splitlines() == [str(p) for p in problems]


def test_post_validation_problems_are_also_reported_together(tmp_path):
    problems = problems_of(tmp_path, HEAD + """\
requirements: missing-reqs.txt
files: [predict.py, 'data/*.bin']
weights:
  - {source: weights/model.npz, path: /weights/m}
examples:
  - input: {zz: 1}
""")
    assert [(p.where, p.message) for p in problems] == [
        ("portapack.yaml:3 requirements", "requirements file 'missing-reqs.txt' not found"),
        ("portapack.yaml:4 files.1", "'data/*.bin' matches no file; fix or remove it"),
        ("portapack.yaml:6 weights.0.source",
         "'weights/model.npz' must be an existing file or folder inside the spec's folder"),
        ("portapack.yaml:8 examples.0.input", "example 1: predict() has no input zz; inputs: n, text"),
        ("portapack.yaml:8 examples.0.input", "example 1: required input text is missing"),
    ]


# -- unknown keys: did you mean -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("extra", "where", "message"),
    [
        ("resorces: {cpu: 2}\n", "portapack.yaml:3 resorces",
         "unknown field 'resorces'; did you mean 'resources'?"),
        ("requirement: [numpy]\n", "portapack.yaml:3 requirement",
         "unknown field 'requirement'; did you mean 'requirements'?"),
        ("scaling: {max_replica: 2}\n", "portapack.yaml:3 scaling.max_replica",
         "unknown field 'max_replica'; did you mean 'max_replicas'?"),
        ("scaling:\n  min_replicas: 0\n  idle_timout: 60\n", "portapack.yaml:5 scaling.idle_timout",
         "unknown field 'idle_timout'; did you mean 'idle_timeout'?"),
        ("targets: {modal: {memory_snapshots: true}}\n",
         "portapack.yaml:3 targets.modal.memory_snapshots",
         "unknown field 'memory_snapshots'; did you mean 'memory_snapshot'?"),
        ("weights:\n  - {source: 's3://b/k', path: /w, pth: /x}\n",
         "portapack.yaml:4 weights.0.pth",
         "unknown field 'pth'; did you mean 'path'?"),
    ],
)
def test_unknown_key_suggests_the_nearest_field(tmp_path, extra, where, message):
    problem = only_problem(tmp_path, HEAD + extra)
    assert (problem.where, problem.message) == (where, message)


def test_unknown_key_without_a_near_match_lists_the_allowed_fields(tmp_path):
    problem = only_problem(tmp_path, HEAD + "resources: {zzzz: 1}\n")
    assert problem.where == "portapack.yaml:3 resources.zzzz"
    assert problem.message == "unknown field 'zzzz'; allowed: gpu, cpu, memory"


# -- GPUs -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("h100:2", GpuRequest("H100", 2)),
        ("a10", GpuRequest("A10G", 1)),
        ("RTX4090", GpuRequest("RTX-4090", 1)),
        ("a100-80gb", GpuRequest("A100-80GB", 1)),
        ("t4", GpuRequest("T4", 1)),
    ],
)
def test_gpu_aliases_are_case_insensitive(tmp_path, written, expected):
    spec = load(tmp_path, HEAD + f"resources: {{gpu: '{written}'}}\n").spec
    assert spec.resources.gpu == expected


def test_bad_gpu_lists_the_valid_names(tmp_path):
    problem = only_problem(tmp_path, HEAD + "resources:\n  gpu: V100\n")
    assert problem.where == "portapack.yaml:4 resources.gpu"
    assert f"unknown GPU 'V100'; valid: {ALL_GPUS}" in problem.message
    assert "(got 'V100')" in problem.message


def test_plain_a100_is_ambiguous(tmp_path):
    problem = only_problem(tmp_path, HEAD + "resources: {gpu: A100}\n")
    assert problem.where == "portapack.yaml:3 resources.gpu"
    assert "'A100' is ambiguous: write A100-40GB or A100-80GB" in problem.message


@pytest.mark.parametrize("written", ["H100:0", "H100:9", "H100:two", "H100:-1"])
def test_gpu_count_out_of_range(tmp_path, written):
    problem = only_problem(tmp_path, HEAD + f"resources: {{gpu: '{written}'}}\n")
    assert problem.where == "portapack.yaml:3 resources.gpu"
    assert f"GPU count in '{written}' must be a whole number from 1 to 8" in problem.message


# -- python, memory, cpu, name, predictor ---------------------------------------------------------
@pytest.mark.parametrize(("written", "expected"), [("3.11", "3.11"), ("3.12", "3.12"),
                                                   ('"3.10"', "3.10"), ("'3.13'", "3.13")])
def test_python_version_forms_accepted(tmp_path, written, expected):
    assert load(tmp_path, HEAD + f"python: {written}\n").spec.python == expected


def test_python_3_10_as_a_float_gets_the_quoting_hint(tmp_path):
    problem = only_problem(tmp_path, HEAD + "python: 3.10\n")
    assert problem.where == "portapack.yaml:3 python"
    assert problem.message == 'YAML reads 3.10 as 3.1: quote it, python: "3.10" (got 3.1)'


def test_unsupported_python_version_lists_the_choices(tmp_path):
    problem = only_problem(tmp_path, HEAD + "python: '3.9'\n")
    assert problem.message == "must be one of \"3.10\", \"3.11\", \"3.12\", \"3.13\" (got '3.9')"


def test_unsupported_python_float_does_not_suggest_a_bogus_version(tmp_path):
    problem = only_problem(tmp_path, HEAD + "python: 3.9\n")
    assert "3.90" not in problem.message
    assert '"3.10", "3.11", "3.12", "3.13"' in problem.message


@pytest.mark.parametrize(("written", "hint"), [("16GB", "'16Gi' instead of '16GB'"),
                                               ("16G", "'16Gi' instead of '16G'"),
                                               ("512mb", "'512Mi' instead of '512mb'")])
def test_memory_with_decimal_unit_gets_the_binary_hint(tmp_path, written, hint):
    problem = only_problem(tmp_path, HEAD + f"resources:\n  memory: {written}\n")
    assert problem.where == "portapack.yaml:4 resources.memory"
    assert problem.message.startswith(f"use a binary unit: {hint}")


def test_memory_without_unit_is_refused(tmp_path):
    problem = only_problem(tmp_path, HEAD + "resources: {memory: 'lots'}\n")
    assert problem.message == ("must be a number with a binary unit, such as '512Mi' or '16Gi' "
                               "(got 'lots')")


@pytest.mark.parametrize(("extra", "where", "message"), [
    ("resources: {cpu: 0}\n", "portapack.yaml:3 resources.cpu", "greater than 0"),
    ("resources: {cpu: 65}\n", "portapack.yaml:3 resources.cpu", "less than or equal to 64"),
    ("scaling: {concurrency: 0}\n", "portapack.yaml:3 scaling.concurrency",
     "greater than or equal to 1"),
    ("scaling: {timeout: 100000}\n", "portapack.yaml:3 scaling.timeout",
     "less than or equal to 86400"),
])
def test_numeric_bounds(tmp_path, extra, where, message):
    problem = only_problem(tmp_path, HEAD + extra)
    assert problem.where == where and message in problem.message


def test_bad_name_and_predictor_get_their_hints(tmp_path):
    problems = problems_of(tmp_path, "name: My_Model\npredictor: predict:Predictor\n")
    assert by_where(problems) == {
        "portapack.yaml:1 name": "must be lowercase letters, digits and '-', starting and ending "
                                 "with a letter or digit (got 'My_Model')",
        "portapack.yaml:2 predictor": "must be in the form 'predict.py:Predictor' (FILE.py:Class) "
                                      "(got 'predict:Predictor')",
    }


def test_missing_required_fields_are_named(tmp_path):
    problems = problems_of(tmp_path, "python: '3.11'\n")
    assert [p.message for p in problems] == [
        "'name' is required", "'predictor' is required (or a server: block: command, port, routes)"]
    assert all(p.where.startswith("portapack.yaml:1") for p in problems)


def test_missing_required_field_where_has_no_stray_space(tmp_path):
    problem = problems_of(tmp_path, "predictor: predict.py:Predictor\n")[0]
    assert not problem.where.endswith(" ")
    assert " : " not in str(problem)


def test_predictor_file_that_is_not_a_module_name(tmp_path):
    problem = only_problem(tmp_path, "name: demo\npredictor: my-model.py:Predictor\n",
                           {"my-model.py": PREDICTOR})
    assert problem.where == "portapack.yaml:2 predictor"
    assert "'my-model.py' cannot be imported as a Python module" in problem.message


def test_missing_predictor_file_and_class(tmp_path):
    problem = only_problem(tmp_path / "a", "name: demo\npredictor: nope.py:Predictor\n")
    assert str(problem) == "nope.py: predictor file not found; fix 'predictor:' in the spec"
    problem = only_problem(tmp_path / "b", "name: demo\npredictor: predict.py:Model\n")
    assert problem.where == "predict.py"
    assert "no class 'Model' at the top level (classes found: Predictor)" in problem.message


# -- scaling --------------------------------------------------------------------------------------
def test_min_replicas_above_max_replicas(tmp_path):
    problem = only_problem(tmp_path, HEAD + "scaling:\n  min_replicas: 3\n  max_replicas: 2\n")
    assert problem.where == "portapack.yaml:3 scaling"
    assert problem.message == ("min_replicas (3) is larger than max_replicas (2); raise "
                               "max_replicas or lower min_replicas")


# -- env and secrets ------------------------------------------------------------------------------
def test_env_values_become_strings(tmp_path):
    spec = load(tmp_path, HEAD + "env: {DEBUG: true, QUIET: false, WORKERS: 3, RATIO: 0.5, "
                                 "NAME: x}\n").spec
    assert spec.env == {"DEBUG": "true", "QUIET": "false", "WORKERS": "3", "RATIO": "0.5",
                        "NAME": "x"}


@pytest.mark.parametrize("value", ["null", "[1, 2]", "{a: 1}"])
def test_env_values_that_are_not_scalars_are_refused(tmp_path, value):
    problem = only_problem(tmp_path, HEAD + f"env:\n  A: {value}\n")
    assert problem.where == "portapack.yaml:4 env.A"
    assert "valid string" in problem.message


@pytest.mark.parametrize("name", ["1BAD", "MY-VAR", "A B"])
def test_bad_env_names(tmp_path, name):
    problem = only_problem(tmp_path, HEAD + f"env:\n  OK: x\n  '{name}': y\n")
    assert problem.where.startswith(f"portapack.yaml:5 env.{name}")
    assert problem.message == ("must be an environment variable name: letters, digits and '_' "
                               f"(got '{name}')")


def test_bad_env_name_field_path_is_clean(tmp_path):
    problem = only_problem(tmp_path, HEAD + "env:\n  '1BAD': y\n")
    assert problem.where == "portapack.yaml:4 env.1BAD"


def test_env_key_that_yaml_reads_as_a_bool_is_named(tmp_path):
    problem = only_problem(tmp_path, HEAD + "env:\n  OFF: x\n")
    # The hint lists OFF whatever the key was: check the whole message, with the value YAML read.
    assert str(problem) == ("portapack.yaml:3 env: an env name was read by YAML as the boolean "
                            "False: quote names such as OFF, ON, YES, NO (e.g. 'OFF': value)")
    problem = only_problem(tmp_path / "yes", HEAD + "env:\n  yes: x\n")
    assert "read by YAML as the boolean True" in str(problem)


def test_bad_secret_name(tmp_path):
    problem = only_problem(tmp_path, HEAD + "secrets: [HF_TOKEN, 'bad-name']\n")
    assert problem.where == "portapack.yaml:3 secrets.1"
    assert problem.message.startswith("must be an environment variable name")


def test_env_and_secrets_clash(tmp_path):
    problem = only_problem(tmp_path, HEAD + "env: {HF_TOKEN: x, A: y}\nsecrets: [HF_TOKEN]\n")
    assert problem.message == "HF_TOKEN is both in env and in secrets; keep it in one"


def test_duplicate_secret(tmp_path):
    problem = only_problem(tmp_path, HEAD + "secrets: [A, B, A]\n")
    assert problem.message == "secrets lists A more than once"


def test_env_and_secrets_clash_names_a_field_and_its_line(tmp_path):
    problem = only_problem(tmp_path, HEAD + "env: {HF_TOKEN: x}\nsecrets: [HF_TOKEN]\n")
    assert problem.where in ("portapack.yaml:3 env", "portapack.yaml:3 env.HF_TOKEN",
                             "portapack.yaml:4 secrets")


# -- weights --------------------------------------------------------------------------------------
def weights_spec(source: str, path: str = "/weights/m") -> str:
    return HEAD + f"weights:\n  - source: '{source}'\n    path: '{path}'\n"


def test_weight_with_unknown_scheme(tmp_path):
    problem = only_problem(tmp_path, weights_spec("ftp://host/model.bin"))
    assert problem.where == "portapack.yaml:4 weights.0.source"
    assert problem.message.startswith("unknown scheme 'ftp://'; use one of hf://, https://, s3://, "
                                      "gs:// or a local path")


@pytest.mark.parametrize("path", ["weights/m", "/weights/../etc"])
def test_weight_path_must_be_absolute(tmp_path, path):
    problem = only_problem(tmp_path, weights_spec("s3://bucket/key", path))
    assert problem.where == "portapack.yaml:5 weights.0.path"
    assert problem.message.startswith(
        f"must be an absolute path such as /weights/model, not '{path}'")


@pytest.mark.parametrize("source", ["hf://org/repo", "hf://org/repo@v1.0", "hf://Org-1/re.po_2@abc123",
                                    "https://example.com/m.bin", "s3://bucket/key", "gs://b/k"])
def test_remote_weight_sources_accepted(tmp_path, source):
    weight = load(tmp_path, weights_spec(source)).spec.weights[0]
    assert weight.scheme == source.split("://")[0]


@pytest.mark.parametrize("source", ["hf://repo-only", "hf://org/repo/extra", "hf://"])
def test_hf_source_must_be_org_slash_repo(tmp_path, source):
    problem = only_problem(tmp_path, weights_spec(source))
    assert problem.where == "portapack.yaml:4 weights.0.source"
    if source == "hf://":
        assert problem.message.startswith("'hf://' is not a valid hf:// source")
    else:
        assert problem.message.startswith(
            f"write hf://org/repo or hf://org/repo@revision, not '{source}'")


def test_hf_repo_and_revision(tmp_path):
    weights = load(tmp_path, HEAD + "weights:\n  - {source: 'hf://a/b@rev', path: /w1}\n"
                                    "  - {source: 'hf://a/c', path: /w2}\n").spec.weights
    assert [w.hf_repo for w in weights] == [("a/b", "rev"), ("a/c", None)]


def test_local_weight_file_is_shipped_even_outside_files(tmp_path):
    project = load(tmp_path, HEAD + "files: [predict.py]\n"
                                    "weights: [{source: weights/model.npz, path: /weights/m}]\n",
                   {"weights/model.npz": "bytes"})
    assert project.spec.weights[0].scheme == "local"
    assert project.files == ("predict.py", "weights/model.npz")


def test_missing_local_weight_file(tmp_path):
    problem = only_problem(tmp_path, weights_spec("weights/model.npz"))
    assert problem.where == "portapack.yaml:4 weights.0.source"
    assert problem.message == ("'weights/model.npz' must be an existing file or folder inside the "
                               "spec's folder")


def test_local_weight_outside_the_spec_folder(tmp_path):
    (tmp_path / "outside.bin").write_text("x")
    problem = only_problem(tmp_path / "proj", weights_spec("../outside.bin"))
    assert problem.where == "portapack.yaml:4 weights.0.source"
    assert "inside the spec's folder" in problem.message


# -- requirements and files -----------------------------------------------------------------------
def test_requirements_from_a_file(tmp_path):
    project = load(tmp_path, HEAD + "requirements: requirements.txt\n",
                   {"requirements.txt": "# deps\nnumpy>=1.26  # fast\n\nrequests==2.32.3\n"})
    assert project.requirements == ("numpy>=1.26", "requests==2.32.3")
    assert "requirements.txt" not in project.files


def test_missing_requirements_file(tmp_path):
    problem = only_problem(tmp_path, HEAD + "requirements: requirements.txt\n")
    assert str(problem) == ("portapack.yaml:3 requirements: requirements file 'requirements.txt' "
                            "not found")


def test_pip_options_are_not_requirements(tmp_path):
    problem = only_problem(tmp_path, HEAD + "requirements:\n  - numpy\n  - --index-url https://x\n")
    assert problem.where == "portapack.yaml:5 requirements.1"
    assert "'--index-url https://x' is not a pip requirement" in problem.message


def test_files_pattern_matching_nothing(tmp_path):
    problem = only_problem(tmp_path, HEAD + "files:\n  - predict.py\n  - 'models/*.bin'\n")
    assert str(problem) == ("portapack.yaml:5 files.1: 'models/*.bin' matches no file; "
                            "fix or remove it")


def test_files_must_stay_inside_the_spec_folder(tmp_path):
    problem = only_problem(tmp_path, HEAD + "files: [predict.py, ../secrets.txt]\n")
    assert problem.where == "portapack.yaml:3 files.1"
    assert "must be relative to the spec file" in problem.message


def test_files_without_the_predictor(tmp_path):
    problem = only_problem(tmp_path, HEAD + "files: [data.txt]\n", {"data.txt": "x"})
    assert str(problem) == ("portapack.yaml:3 files: the predictor file predict.py is not in "
                            "'files'; add it")


# -- build commands -------------------------------------------------------------------------------
def test_build_command_with_a_newline(tmp_path):
    problem = only_problem(
        tmp_path, HEAD + "build_commands:\n  - \"apt-get update\\napt-get install x\"\n")
    assert problem.where == "portapack.yaml:3 build_commands"
    assert "each build command must be one non-empty line" in problem.message
    assert "'apt-get update\\napt-get install x'" in problem.message


def test_empty_build_command(tmp_path):
    problem = only_problem(tmp_path, HEAD + "build_commands: ['echo ok', '  ']\n")
    assert "each build command must be one non-empty line" in problem.message


# -- examples -------------------------------------------------------------------------------------
def test_example_naming_an_unknown_input(tmp_path):
    problem = only_problem(tmp_path, HEAD + "examples:\n  - input: {text: hi, colour: red}\n")
    assert str(problem) == ("portapack.yaml:4 examples.0.input: example 1: predict() has no input "
                            "colour; inputs: n, text")


def test_example_missing_a_required_input(tmp_path):
    problem = only_problem(tmp_path, HEAD + "examples:\n  - input: {text: ok}\n  - input: {n: 2}\n")
    assert str(problem) == "portapack.yaml:5 examples.1.input: example 2: required input text is missing"


def test_example_breaking_an_input_rule_is_refused_before_any_build(tmp_path):
    """validate and build check each example against the Inputs model every target ships."""
    problem = only_problem(tmp_path, HEAD + "examples:\n  - input: {text: ok}\n"
                           "  - input: {text: ok, n: 'many'}\n")
    assert str(problem) == ("portapack.yaml:5 examples.1.input: example 2: input 'n': Input should "
                            "be a valid integer, unable to parse string as an integer; every target "
                            "would refuse this request")


# -- the YAML document itself ---------------------------------------------------------------------
@pytest.mark.parametrize(("text", "line", "message"), [
    (HEAD + "resources:\n  gpu: [T4\n  cpu: 2\n", 5, "invalid YAML: expected ',' or ']'"),
    (HEAD + "resources:\n  gpu: T4\n cpu: 2\n", 5, "invalid YAML: expected <block end>"),
    (HEAD + "resources:\n\tgpu: T4\n", 4, "invalid YAML: found character '\\t'"),
])
def test_malformed_yaml_reports_the_line(tmp_path, text, line, message):
    problem = only_problem(tmp_path, text)
    assert problem.where == f"portapack.yaml:{line}"
    assert problem.message.startswith(message)


@pytest.mark.parametrize("text", ["- name: demo\n- predictor: predict.py:Predictor\n", "demo\n", "",
                                  "# only a comment\n"])
def test_a_document_that_is_not_a_mapping(tmp_path, text):
    problem = only_problem(tmp_path, text)
    assert str(problem) == ("portapack.yaml: the spec must be a mapping with at least 'name:' and "
                            "'predictor:'; run 'portapack init' for a starter")


def test_missing_spec_file(tmp_path):
    with pytest.raises(SpecError) as info:
        portapack.load_project(tmp_path)
    (problem,) = info.value.problems
    assert problem.where == str(tmp_path / "portapack.yaml")
    assert problem.message.startswith("spec file not found; run 'portapack init'")
    assert info.value.exit_code == 2


def test_missing_spec_file_given_by_path(tmp_path):
    with pytest.raises(SpecError) as info:
        portapack.load_project(tmp_path / "other.yaml")
    assert info.value.problems[0].where == str(tmp_path / "other.yaml")


# -- gpu.parse_gpu --------------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "expected"), [
    ("T4", GpuRequest("T4")),
    ("h100:2", GpuRequest("H100", 2)),
    ("  H100 : 8 ", GpuRequest("H100", 8)),
    ("a10", GpuRequest("A10G")),
    ("RTX4090", GpuRequest("RTX-4090")),
    ("rtx_4090", GpuRequest("RTX-4090")),
    ("geforce rtx 4090", GpuRequest("RTX-4090")),
    ("4090:4", GpuRequest("RTX-4090", 4)),
    ("A100-80G", GpuRequest("A100-80GB")),
    ("a100-40gb:2", GpuRequest("A100-40GB", 2)),
    ("rtx pro 6000", GpuRequest("RTX-PRO-6000")),
])
def test_parse_gpu(text, expected):
    assert parse_gpu(text) == expected


@pytest.mark.parametrize("name", list(CANONICAL))
def test_parse_gpu_accepts_every_canonical_name_in_any_case(name):
    assert parse_gpu(name.lower()) == GpuRequest(name)


@pytest.mark.parametrize("alias", list(ALIASES))
def test_every_alias_maps_to_a_canonical_gpu(alias):
    assert parse_gpu(alias).type == ALIASES[alias] in CANONICAL


@pytest.mark.parametrize(("text", "message"), [
    ("V100", f"unknown GPU 'V100'; valid: {ALL_GPUS} (append ':N' for N GPUs)"),
    ("", f"unknown GPU ''; valid: {ALL_GPUS}"),
    ("a100", "'a100' is ambiguous: write A100-40GB or A100-80GB"),
    ("A100:2", "'A100' is ambiguous"),
    ("H100:0", f"GPU count in 'H100:0' must be a whole number from 1 to {MAX_COUNT}"),
    ("H100:9", "GPU count in 'H100:9' must be a whole number from 1 to 8"),
    ("H100:", "GPU count in 'H100:' must be a whole number"),
    ("H100:1.5", "GPU count in 'H100:1.5' must be a whole number"),
    ("H100:2:2", "GPU count in 'H100:2:2' must be a whole number"),
])
def test_parse_gpu_errors(text, message):
    with pytest.raises(ValueError) as info:
        parse_gpu(text)
    assert message in str(info.value)


def test_gpu_request_str():
    assert str(GpuRequest("T4")) == "T4"
    assert str(GpuRequest("H100", 2)) == "H100:2"
    assert parse_gpu(str(GpuRequest("A100-80GB", 4))) == GpuRequest("A100-80GB", 4)


def test_secret_that_would_clash_with_an_input_on_cog(tmp_path):
    """Only Cog turns secrets into inputs: its build is refused, the other targets build."""
    (tmp_path / "predict.py").write_text(
        "class Predictor:\n    def load(self):\n        pass\n\n"
        "    def predict(self, hf_token: str) -> str:\n        return hf_token\n")
    (tmp_path / "portapack.yaml").write_text(
        "name: demo\npredictor: predict.py:Predictor\nsecrets: [HF_TOKEN]\n")
    project = portapack.load_project(tmp_path)
    built = portapack.build(project, "all", tmp_path / "all")  # every target that can carry it
    assert [b.target for b in built.builds] == ["modal", "truss", "runpod", "kserve"]
    assert [r.target for r in built.refused] == ["cog"]
    with pytest.raises(SpecError) as info:  # named on purpose: an error
        portapack.build(project, "cog", tmp_path / "out")
    [problem] = info.value.problems
    assert problem.where == "target cog"
    assert "HF_TOKEN would clash with predict()'s input 'hf_token' on Cog" in problem.message
    assert not (tmp_path / "out").exists()  # refused before anything was written
    built = portapack.build(project, ["modal", "truss", "runpod"], tmp_path / "out")
    assert [b.target for b in built.builds] == ["modal", "truss", "runpod"]

# -- files that are not UTF-8 -------------------------------------------------------------------
@pytest.mark.parametrize("broken", ["portapack.yaml", "predict.py", "requirements.txt"])
def test_a_file_that_is_not_utf8_names_the_file_the_line_and_the_fix(tmp_path, broken):
    from portapack.building.starter import write_starter

    write_starter(tmp_path, "demo")
    spec = tmp_path / "portapack.yaml"
    if broken == "requirements.txt":
        (tmp_path / "requirements.txt").write_text("# pins\npydantic>=2\nclick\n")
        spec.write_text(re.sub(r"requirements:\n(  - .*\n)+", "requirements: requirements.txt\n",
                               spec.read_text()))
    path = tmp_path / broken
    lines = path.read_bytes().split(b"\n")
    lines[2] += " # caf\xe9".encode("latin-1")  # Latin-1, as an old editor saves it
    path.write_bytes(b"\n".join(lines))
    offset = len(b"\n".join(lines[:2])) + 1 + len(lines[2]) - 1
    with pytest.raises(SpecError) as info:
        portapack.load_project(tmp_path)
    assert [str(p) for p in info.value.problems] == [
        f"{broken}:3: not UTF-8: byte 0xe9 at offset {offset} cannot be decoded; save the file as UTF-8"]
