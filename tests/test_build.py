"""The build pipeline through the Python API: ``portapack.build`` and ``portapack.load_project``.

Every example is built for every target into tmp_path and its file list checked; then the
guarantees of ``build``: a rebuild replaces the old tree, a directory portapack did not write
is refused untouched, a build that fails midway leaves nothing behind, ``strict`` writes
nothing, the notes and GPU names each target emits, byte-identical rebuilds, no write outside
OUT, and which files the default ``files:`` ships.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest
import yaml

import portapack
from portapack import BuildError
from portapack.building.builder import MARKER, project_digest
from portapack.targets import TARGETS

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES_DIR = ROOT / "examples"
EXAMPLES = sorted(p.name for p in EXAMPLES_DIR.iterdir() if (p / "portapack.yaml").is_file())
# server: examples generate other files: tests/test_server_mode.py lists theirs.
PREDICTOR_EXAMPLES = [e for e in EXAMPLES
                      if "\nserver:" not in (EXAMPLES_DIR / e / "portapack.yaml").read_text()]
TARGET_NAMES = list(TARGETS)  # the registry's targets, in its order

# What portapack itself writes for each target (the user's files come on top).
GENERATED = {
    "modal": {"modal_app.py", "requirements.txt", "README.md", "portapack_files.py"},
    "cog": {"cog.yaml", "run.py", "requirements.txt", "replicate-deployment.json",
            ".dockerignore", ".cog/openapi_schema.json", "README.md", "portapack_files.py"},
    "truss": {"config.yaml", "model/__init__.py", "model/model.py", "README.md",
              "packages/portapack_files.py"},
    "runpod": {"handler.py", "Dockerfile", ".dockerignore", "requirements.txt", "endpoint.json",
               "README.md", "portapack_files.py"},
    "kserve": {"model.py", "Dockerfile", ".dockerignore", "requirements.txt",
               "inferenceservice.yaml", "README.md", "portapack_files.py"},
}
CODE_DIR = {"modal": "", "cog": "", "truss": "packages/", "runpod": "", "kserve": ""}
# The user files each example ships (the default `files:` or its own list, plus local weights).
EXAMPLE_FILES = {
    "llm-chat": {"predict.py"},
    "numpy-linear": {"predict.py", "weights/model.npz"},
    "text-stats": {"predict.py", "assets/lexicon.txt"},
    "token-stream": {"predict.py"},
}

PREDICTOR = """\
class Predictor:
    def load(self) -> None:
        self.ready = True

    def predict(self, text: str, n: int = 1) -> str:
        return text * n
"""
HEAD = "name: demo\npredictor: predict.py:Predictor\n"


# -- helpers --------------------------------------------------------------------------------------
def write_project(root: Path, spec: str = HEAD, files: dict[str, str | bytes] | None = None) -> Path:
    """portapack.yaml (dedented), predict.py and ``files`` (relative path -> content)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "portapack.yaml").write_text(textwrap.dedent(spec), encoding="utf-8")
    (root / "predict.py").write_text(PREDICTOR, encoding="utf-8")
    for rel, content in (files or {}).items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


def tree(root: Path) -> set[str]:
    """Every file below ``root`` (POSIX, relative), hidden ones included."""
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() or p.is_symlink()}


def snapshot(root: Path) -> dict[str, tuple]:
    """Every entry below ``root`` (dirs included) -> (kind, size, mtime_ns, content of files)."""
    if not root.exists():
        return {}
    out: dict[str, tuple] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            st = path.lstat()
            rel = path.relative_to(root).as_posix()
            if path.is_dir():
                out[rel] = ("dir", st.st_mtime_ns)
            else:
                out[rel] = ("file", st.st_size, st.st_mtime_ns, path.read_bytes())
    out["."] = ("dir", root.stat().st_mtime_ns)
    return out


def leftovers(out: Path) -> list[str]:
    """Staging or swap dirs a build must never leave behind."""
    return sorted(p.name for p in out.iterdir() if p.name.startswith(".portapack-tmp-")
                  or p.name.endswith(".old")) if out.is_dir() else []


def expected_files(target: str, user_files: set[str]) -> set[str]:
    return GENERATED[target] | {CODE_DIR[target] + f for f in user_files}


def weights_dir() -> str:
    """A weights path under /tmp unique to this test run (builds never create it)."""
    return f"/tmp/portapack-test-build-{uuid.uuid4().hex}/weights"


def copy_example(name: str, dest: Path) -> Path:
    shutil.copytree(EXAMPLES_DIR / name, dest, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


# -- every example, every target --------------------------------------------------------------------
@pytest.mark.parametrize("example", PREDICTOR_EXAMPLES)
def test_every_example_builds_every_target_with_the_expected_files(tmp_path, example):
    project = portapack.load_project(EXAMPLES_DIR / example)
    user_files = EXAMPLE_FILES.get(example, set(project.files))
    assert set(project.files) == user_files
    out = tmp_path / "out"
    result = portapack.build(EXAMPLES_DIR / example, "all", out)

    assert result.out == out.resolve()
    assert [b.target for b in result.builds] == TARGET_NAMES
    assert sorted(p.name for p in out.iterdir()) == sorted(TARGET_NAMES)  # no staging left
    for b in result.builds:
        want = expected_files(b.target, user_files)
        assert b.path == out.resolve() / b.target
        assert b.files == sorted(want)
        assert tree(b.path) == want | {MARKER}
        assert result[b.target] is b
        marker = json.loads((b.path / MARKER).read_text(encoding="utf-8"))
        assert marker["target"] == b.target
        assert marker["name"] == project.spec.name
        assert marker["portapack"] == portapack.__version__
        assert marker["files"] == b.files
        assert marker["digest"] == project_digest(project)  # what deploy checks freshness by
        for rel in user_files:  # the user's files are shipped as they are
            assert (b.path / (CODE_DIR[b.target] + rel)).read_bytes() == \
                (EXAMPLES_DIR / example / rel).read_bytes()


@pytest.mark.parametrize("form", ["dir", "file", "project"])
def test_build_accepts_a_folder_a_spec_file_or_a_loaded_project(tmp_path, form):
    root = write_project(tmp_path / "proj")
    spec = {"dir": root, "file": root / "portapack.yaml",
            "project": portapack.load_project(root)}[form]
    result = portapack.build(spec, ["truss", "modal", "truss"], tmp_path / "out")
    assert sorted(b.target for b in result.builds) == ["modal", "truss"]  # no duplicate
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["modal", "truss"]
    assert tree(result["truss"].path) == expected_files("truss", {"predict.py"}) | {MARKER}


def test_an_unknown_target_is_refused_before_anything_is_written(tmp_path):
    root = write_project(tmp_path / "proj")
    with pytest.raises(portapack.TargetError, match="unknown target 'heroku'"):
        portapack.build(root, ["modal", "heroku"], tmp_path / "out")
    assert not (tmp_path / "out").exists()


# -- rebuilds --------------------------------------------------------------------------------------
def test_rebuild_replaces_the_previous_build(tmp_path):
    out = tmp_path / "out"
    first = portapack.build(EXAMPLES_DIR / "text-stats", "all", out)
    for b in first.builds:
        (b.path / "stale.txt").write_text("from an older build")
        (b.path / "old-dir").mkdir()
        (b.path / "old-dir" / "stale.bin").write_bytes(b"\0")
    second = portapack.build(EXAMPLES_DIR / "text-stats", "all", out)
    for b in second.builds:
        assert not (b.path / "stale.txt").exists()
        assert not (b.path / "old-dir").exists()
        assert tree(b.path) == expected_files(b.target, EXAMPLE_FILES["text-stats"]) | {MARKER}
    assert sorted(p.name for p in out.iterdir()) == sorted(TARGET_NAMES)
    assert leftovers(out) == []


def test_rebuilding_one_target_leaves_the_others_alone(tmp_path):
    out = tmp_path / "out"
    portapack.build(EXAMPLES_DIR / "text-stats", "all", out)
    (out / "cog" / "mine.txt").write_text("kept")
    (out / "modal" / "stale.txt").write_text("replaced")
    others = {t: snapshot(out / t) for t in ("cog", "truss", "runpod")}
    portapack.build(EXAMPLES_DIR / "text-stats", "modal", out)
    assert not (out / "modal" / "stale.txt").exists()
    assert {t: snapshot(out / t) for t in others} == others
    assert leftovers(out) == []


def test_rebuild_picks_up_a_changed_spec(tmp_path):
    root = write_project(tmp_path / "proj", HEAD + "env:\n  LEVEL: one\n")
    out = tmp_path / "out"
    portapack.build(root, "truss", out)
    digest = json.loads((out / "truss" / MARKER).read_text())["digest"]
    write_project(root, HEAD + "env:\n  LEVEL: two\n")
    portapack.build(root, "truss", out)
    config = yaml.safe_load((out / "truss" / "config.yaml").read_text())
    assert config["environment_variables"] == {"LEVEL": "two"}
    assert json.loads((out / "truss" / MARKER).read_text())["digest"] != digest


# -- refusing a directory portapack did not write ---------------------------------------------------
@pytest.mark.parametrize("foreign", ["modal", "runpod"])
def test_a_target_dir_without_marker_is_refused_and_nothing_is_written(tmp_path, foreign):
    out = tmp_path / "out"
    portapack.build(EXAMPLES_DIR / "text-stats", ["cog", "truss"], out)  # ours, with markers
    (out / foreign).mkdir()
    (out / foreign / "precious.txt").write_text("the user's own work")
    (out / "notes.md").write_text("beside the builds")
    before = snapshot(out)
    with pytest.raises(BuildError) as info:
        portapack.build(EXAMPLES_DIR / "text-stats", "all", out)
    assert str(out.resolve() / foreign) in str(info.value)
    assert "not written by portapack" in str(info.value)
    assert snapshot(out) == before  # same entries, same bytes, same mtimes


def test_a_file_in_place_of_a_target_dir_is_refused(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "truss").write_text("a file, not a build")
    before = snapshot(out)
    with pytest.raises(BuildError, match="truss"):
        portapack.build(EXAMPLES_DIR / "text-stats", "truss", out)
    assert snapshot(out) == before


def test_out_being_a_file_is_refused(tmp_path):
    out = tmp_path / "out"
    out.write_text("not a directory")
    with pytest.raises(BuildError, match="is a file"):
        portapack.build(EXAMPLES_DIR / "text-stats", "modal", out)
    assert out.read_text() == "not a directory"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


# -- a build that fails midway --------------------------------------------------------------------
# A user file named like a generated one: every target before the clashing one has already been
# rendered into the staging dir when the build fails.
CLASHES = [("handler.py", "runpod"), ("run.py", "cog"), ("Dockerfile", "runpod"),
           ("modal_app.py", "modal")]


@pytest.mark.parametrize(("clash", "target"), CLASHES)
def test_a_failing_build_removes_the_out_dir_it_created(tmp_path, clash, target):
    root = write_project(tmp_path / "proj", files={clash: "# the user's own file\n"})
    out = tmp_path / "out"
    with pytest.raises(BuildError) as info:
        portapack.build(root, "all", out)
    assert clash in str(info.value)
    assert target in str(info.value)
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["proj"]


@pytest.mark.parametrize(("clash", "target"), CLASHES[:2])
def test_a_failing_build_keeps_the_previous_build_and_leaves_no_staging(tmp_path, clash, target):
    root = write_project(tmp_path / "proj")
    out = tmp_path / "out"
    portapack.build(root, "all", out)
    (out / "unrelated.txt").write_text("kept")
    before = snapshot(out)
    (root / clash).write_text("# now clashes\n")
    with pytest.raises(BuildError, match=clash.replace(".", r"\.")):
        portapack.build(root, "all", out)
    assert leftovers(out) == []
    after = snapshot(out)
    # OUT's own mtime moves (the staging dir came and went); every entry inside is unchanged:
    # no partial target dir, the previous builds byte-identical.
    assert {k: v for k, v in after.items() if k != "."} == \
        {k: v for k, v in before.items() if k != "."}


def test_a_failing_build_into_an_existing_empty_out_leaves_it_empty(tmp_path):
    root = write_project(tmp_path / "proj", files={"handler.py": "# mine\n"})
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(BuildError, match=r"handler\.py"):
        portapack.build(root, "all", out)
    assert out.is_dir() and list(out.iterdir()) == []


def test_a_failing_build_removes_the_parent_dirs_it_created(tmp_path):
    root = write_project(tmp_path / "proj", files={"handler.py": "# mine\n"})
    with pytest.raises(BuildError):
        portapack.build(root, "all", tmp_path / "new" / "deeper" / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["proj"]


# -- strict ----------------------------------------------------------------------------------------
STRICT_CASES = {
    # cpu: 1 and min_replicas: 0 are the defaults written out: they ask for nothing
    "text-stats": {
        "cog": ["resources.memory", "scaling.idle_timeout", "scaling.timeout"],
        "truss": ["scaling.max_replicas", "scaling.idle_timeout", "scaling.timeout"],
        "runpod": ["resources.memory"],
        # Knative: idle_timeout is the scale-to-zero pod retention period
        "kserve": ["scaling.idle_timeout"],
    },
    "llm-chat": {
        "cog": ["resources.cpu", "resources.memory", "scaling.idle_timeout", "scaling.timeout",
                "secrets", "env", "weights"],
        "truss": ["scaling.max_replicas", "scaling.idle_timeout", "scaling.timeout"],
        # GPU workers: CPUs come with the GPU type; hf:// at build has no HF_TOKEN
        "runpod": ["resources.memory", "resources.cpu", "weights"],
        "kserve": ["scaling.idle_timeout"],
    },
}


@pytest.mark.parametrize("example", sorted(STRICT_CASES))
def test_strict_lists_every_approximation_per_target_and_writes_nothing(tmp_path, example):
    loose = portapack.build(EXAMPLES_DIR / example, "all", tmp_path / "loose")
    found = {b.target: [n.feature for n in b.notes] for b in loose.builds if b.notes}
    assert found == STRICT_CASES[example]

    out = tmp_path / "strict"
    with pytest.raises(BuildError) as info:
        portapack.build(EXAMPLES_DIR / example, "all", out, strict=True)
    message = str(info.value)
    lines = [ln for ln in message.splitlines() if ln.startswith("  ")]
    assert lines == [f"  {b.target}: {n}" for b in loose.builds for n in b.notes]
    assert "modal:" not in message
    assert not out.exists()


def test_strict_failure_leaves_an_existing_build_untouched(tmp_path):
    out = tmp_path / "out"
    portapack.build(EXAMPLES_DIR / "text-stats", "all", out)
    before = snapshot(out)
    with pytest.raises(BuildError, match="--strict"):
        portapack.build(EXAMPLES_DIR / "text-stats", "all", out, strict=True)
    assert snapshot(out) == before


def test_strict_only_counts_the_chosen_targets(tmp_path):
    result = portapack.build(EXAMPLES_DIR / "text-stats", "modal", tmp_path / "out", strict=True)
    assert result["modal"].notes == []
    assert tree(tmp_path / "out" / "modal") == \
        expected_files("modal", EXAMPLE_FILES["text-stats"]) | {MARKER}


def test_strict_passes_a_spec_every_target_expresses(tmp_path):
    root = write_project(tmp_path / "proj")
    result = portapack.build(root, "all", tmp_path / "out", strict=True)
    assert result.notes == []
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(TARGET_NAMES)


# -- notes -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("cpu", ["2", "1", "0.5"])
def test_resources_cpu_set_yields_the_cog_note_and_the_runpod_vcpu_count(tmp_path, cpu):
    root = write_project(tmp_path / "proj", HEAD + f"resources:\n  cpu: {cpu}\n")
    result = portapack.build(root, "all", tmp_path / "out")
    # cpu: 1 is the default written out: it asks for nothing, so nothing is noted (as unset).
    # RunPod takes a power of two from 2: 0.5 becomes 2 (a note).
    assert [(n.target, n.feature) for n in result.notes] == {
        "2": [("cog", "resources.cpu")], "1": [],
        "0.5": [("cog", "resources.cpu"), ("runpod", "resources.cpu")]}[cpu]
    if cpu != "1":
        assert "resources.cpu is not applied" in str(result["cog"].notes[0])
    endpoint = json.loads((result["runpod"].path / "endpoint.json").read_text())
    assert endpoint["cpu"] == [{"id": "cpu5c", "vcpuCount": 2}] and "gpu" not in endpoint
    config = yaml.safe_load((result["truss"].path / "config.yaml").read_text())
    expected = {"2": "2", "1": "1", "0.5": "500m"}[cpu]
    assert config["resources"]["cpu"] == expected


def test_resources_cpu_unset_yields_no_notes(tmp_path):
    root = write_project(tmp_path / "proj")
    result = portapack.build(root, "all", tmp_path / "out")
    assert result.notes == []
    assert all(b.notes == [] for b in result.builds)


# -- GPU mapping -----------------------------------------------------------------------------------
GPU_CASES = {
    "H100:2": {
        "modal": "H100:2", "truss": "H100:2", "runpod": ({"pools": ["ADA_80_PRO"], "count": 2}),
        "cog": "gpu-h100-2x",
        "notes": [("cog", "gpu-h100-2x is reserved by Replicate for committed-spend contracts: an "
                   "account without one cannot run it (deploy checks the account's hardware list "
                   "first)")],
    },
    "A100-80GB": {
        "modal": "A100-80GB", "truss": "A100", "runpod": ({"pools": ["AMPERE_80"], "count": 1}),
        "cog": "gpu-a100-large", "notes": [],
    },
    "RTX-4090": {
        "modal": "A10", "truss": "A10G", "runpod": ({"pools": ["ADA_24"], "count": 1}),
        "cog": "gpu-a40-large",  # never less GPU memory than asked: 48 GB for a 24 GB card
        "notes": [("modal", "Modal has no RTX-4090; using the nearest, A10"),
                  ("cog", "Cog has no RTX-4090; using the nearest, gpu-a40-large"),
                  ("truss", "Truss has no RTX-4090; using the nearest, A10G")],
    },
}


def modal_cls_options(modal_app: Path) -> dict:
    """The keyword arguments of the ``@app.cls(...)`` decorator, evaluated as literals."""
    tree_ = ast.parse(modal_app.read_text(encoding="utf-8"))
    model = next(n for n in tree_.body if isinstance(n, ast.ClassDef) and n.name == "Model")
    call = next(d for d in model.decorator_list
                if isinstance(d, ast.Call) and ast.unparse(d.func) == "app.cls")
    return {kw.arg: (ast.literal_eval(kw.value) if kw.arg != "secrets" else ast.unparse(kw.value))
            for kw in call.keywords}


@pytest.mark.parametrize("gpu", sorted(GPU_CASES))
def test_gpu_maps_to_each_platforms_name(tmp_path, gpu):
    case = GPU_CASES[gpu]
    root = write_project(tmp_path / "proj", HEAD + f"resources:\n  gpu: '{gpu}'\n")
    result = portapack.build(root, "all", tmp_path / "out")

    options = modal_cls_options(result["modal"].path / "modal_app.py")
    assert options["gpu"] == case["modal"]
    assert "enable_memory_snapshot" not in options  # load() may touch CUDA

    from truss.base.truss_config import TrussConfig

    truss_yaml = result["truss"].path / "config.yaml"
    assert yaml.safe_load(truss_yaml.read_text())["resources"]["accelerator"] == case["truss"]
    truss_config = TrussConfig.from_yaml(truss_yaml)
    truss_config.validate_forbid_extra()
    accelerator = truss_config.resources.accelerator
    name, _, count = case["truss"].partition(":")
    assert (accelerator.accelerator.value, accelerator.count) == (name, int(count or 1))

    endpoint = json.loads((result["runpod"].path / "endpoint.json").read_text())
    assert endpoint["gpu"] == case["runpod"] and "cpu" not in endpoint  # serverless pools

    deployment = json.loads((result["cog"].path / "replicate-deployment.json").read_text())
    assert deployment["hardware"] == case["cog"]
    assert yaml.safe_load((result["cog"].path / "cog.yaml").read_text())["build"]["gpu"] is True

    assert [(n.target, n.message) for n in result.notes] == case["notes"]
    assert all(n.feature == "resources.gpu" for n in result.notes)


def test_no_gpu_is_cpu_everywhere(tmp_path):
    root = write_project(tmp_path / "proj")
    result = portapack.build(root, "all", tmp_path / "out")
    assert "gpu" not in modal_cls_options(result["modal"].path / "modal_app.py")
    config = yaml.safe_load((result["truss"].path / "config.yaml").read_text())
    assert "accelerator" not in config["resources"]
    endpoint = json.loads((result["runpod"].path / "endpoint.json").read_text())
    assert "cpu" in endpoint and "gpu" not in endpoint
    deployment = json.loads((result["cog"].path / "replicate-deployment.json").read_text())
    assert deployment["hardware"] == "cpu"
    assert yaml.safe_load((result["cog"].path / "cog.yaml").read_text())["build"]["gpu"] is False


# -- determinism -----------------------------------------------------------------------------------
def read_tree(root: Path) -> dict[str, bytes]:
    """Files -> bytes, the marker with its ``spec`` path dropped (it names where the spec was)."""
    files = {}
    for rel in sorted(tree(root)):
        data = (root / rel).read_bytes()
        if rel.endswith(MARKER):
            marker = json.loads(data)
            assert marker.pop("spec").endswith("portapack.yaml")
            data = json.dumps(marker, sort_keys=True).encode()
        files[rel] = data
    return files


@pytest.mark.parametrize("example", EXAMPLES)
def test_building_twice_gives_byte_identical_trees(tmp_path, example):
    """Two copies of the example in different folders, built in two processes with different
    hash seeds: the artifacts may not depend on paths, set order or time."""
    a = copy_example(example, tmp_path / "a" / example)
    b = copy_example(example, tmp_path / "elsewhere" / "b" / example)
    portapack.build(a, "all", tmp_path / "out-a")
    script = ("import sys, portapack; "
              "portapack.build(sys.argv[1], 'all', sys.argv[2])")
    package_root = str(Path(portapack.__file__).resolve().parents[1])  # this very portapack
    env = {**os.environ, "PYTHONHASHSEED": "4242",
           "PYTHONPATH": os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))}
    subprocess.run([sys.executable, "-c", script, str(b), str(tmp_path / "out-b")], check=True,
                   env=env, cwd=tmp_path, capture_output=True, timeout=300)
    first, second = read_tree(tmp_path / "out-a"), read_tree(tmp_path / "out-b")
    assert sorted(first) == sorted(second)
    for rel in first:
        assert first[rel] == second[rel], f"{rel} differs between two builds"


# -- writes nothing outside OUT --------------------------------------------------------------------
@pytest.mark.parametrize("example", EXAMPLES)
def test_build_never_writes_outside_out(tmp_path, monkeypatch, example):
    project = copy_example(example, tmp_path / "project")
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    before = snapshot(tmp_path)
    portapack.build(project, "all", tmp_path / "out")
    after = snapshot(tmp_path)
    new = {k for k in after if k == "out" or k.startswith("out/")}
    changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)} - new
    assert changed == {"."}  # only tmp_path's own mtime: it gained "out"
    assert set(before) == set(after) - new


def test_build_with_out_inside_the_project_only_touches_out(tmp_path):
    project = copy_example("text-stats", tmp_path / "project")
    out = project / "dist-portapack"
    before = snapshot(project)
    portapack.build(project, "all", out)
    portapack.build(project, "all", out)  # a rebuild must not ship the first build
    after = snapshot(project)
    inside = {k for k in after if k.startswith("dist-portapack")}
    assert {k for k in after if k not in inside} == set(before)
    assert {k: after[k] for k in before if k != "."} == {k: v for k, v in before.items() if k != "."}
    for target in TARGET_NAMES:
        assert tree(out / target) == expected_files(target, EXAMPLE_FILES["text-stats"]) | {MARKER}


# -- `files:` default and local weights ------------------------------------------------------------
def test_default_files_exclude_hidden_caches_venvs_and_the_build_output(tmp_path):
    root = write_project(tmp_path / "proj", files={
        "data/keep.txt": "shipped",
        "lib/helpers.py": "X = 1\n",
        ".env": "SECRET=1",
        ".git/config": "[core]",
        "data/.hidden": "no",
        "lib/.cache/blob": "no",
        "__pycache__/predict.cpython-311.pyc": b"\0",
        "lib/__pycache__/helpers.cpython-311.pyc": b"\0",
        "stale.pyc": b"\0",
        "myvenv/pyvenv.cfg": "home = /usr/bin\n",
        "myvenv/lib/python3.11/site-packages/pkg.py": "",
        "lib/inner-venv/pyvenv.cfg": "home = /usr/bin\n",
        "lib/inner-venv/bin/python": "",
        "node_modules/x/index.js": "",
        "README.md": "# docs",
    })
    out = root / "artifacts"  # not a default-excluded name: excluded because it is OUT
    wanted = {"data/keep.txt", "lib/helpers.py", "predict.py"}
    first = portapack.build(root, "all", out)
    assert set(portapack.load_project(root, exclude=(out,)).files) == wanted
    second = portapack.build(root, "all", out)  # OUT now exists inside the project
    for result in (first, second):
        for b in result.builds:
            assert tree(b.path) == expected_files(b.target, wanted) | {MARKER}
    # Without the exclusion, the build output would be shipped: the rule is not vacuous.
    assert any(f.startswith("artifacts/") for f in portapack.load_project(root).files)


def test_explicit_files_and_local_weights_are_shipped_even_when_files_omits_them(tmp_path):
    path = weights_dir()
    root = write_project(tmp_path / "proj", HEAD + textwrap.dedent(f"""\
        files: ["predict.py"]
        weights:
          - source: weights/model.bin
            path: {path}/single
          - source: checkpoints/
            path: {path}/folder
        """), files={
        "weights/model.bin": b"\x00\x01weights",
        "checkpoints/a.safetensors": b"a",
        "checkpoints/sub/b.json": "{}",
        "extra.txt": "not listed, not shipped",
    })
    shipped = {"predict.py", "weights/model.bin", "checkpoints/a.safetensors",
               "checkpoints/sub/b.json"}
    assert set(portapack.load_project(root).files) == shipped
    result = portapack.build(root, "all", tmp_path / "out")
    for b in result.builds:
        assert tree(b.path) == expected_files(b.target, shipped) | {MARKER}
        assert (b.path / CODE_DIR[b.target] / "weights/model.bin").read_bytes() == \
            b"\x00\x01weights"
    # Each target places them at the spec's path: the runpod image copies them there.
    copies = [json.loads(line[len("COPY "):]) for line in
              (result["runpod"].path / "Dockerfile").read_text().splitlines()
              if line.startswith("COPY [")]
    assert ["weights/model.bin", f"{path}/single"] in copies  # a file: path is the file itself
    assert ["checkpoints", f"{path}/folder/"] in copies
    assert not Path(path).exists()  # building never creates the weights path


def test_a_deleted_template_cache_folder_never_fails_a_build(tmp_path, monkeypatch):
    """The compiled-template cache outlives its folder in a long process (a cleaned ~/.cache,
    a test's temporary home): a template compiled after that must still render."""
    from portapack.building import render

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    render.environment.cache_clear()
    try:
        portapack.build(ROOT / "examples" / "text-stats", ["runpod"], tmp_path / "a")
        shutil.rmtree(tmp_path / "cache")
        (tmp_path / "cache").write_text("not a folder")  # and nothing can recreate it
        built = portapack.build(ROOT / "examples" / "text-stats", ["cog"], tmp_path / "b")  # new templates
    finally:
        render.environment.cache_clear()
    assert (built["cog"].path / "run.py").is_file()
