"""Each artifact in its own environment (issue 9's "done when"), under the real runtimes.

- A requirement the spec omits fails every target (and the reference), naming the module;
  with it added, everything passes.
- The spec's ``env`` reaches every runtime and the reference run alike; stray variables of
  the developer's shell do not.
- Two projects with the same weights path and different weights each see their own, as root
  and as a non-root user, and nothing is created on the host's ``/``.
- A warm env is reused without uv.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from pathlib import Path

import numpy as np
import pytest
import yaml

import portapack
from portapack.proof.envs import cache_root, ensure_env
from portapack.proof.sandbox import SandboxUnavailable, bwrap_argv, check_bwrap, clean_env

ROOT = Path(__file__).resolve().parent.parent
TARGETS = ["modal", "cog", "truss", "runpod"]


def make_project(root: Path, predictor: str, **spec_extra) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    spec = {"name": root.name, "predictor": "predict.py:Predictor",
            "requirements": ["pydantic>=2"], **spec_extra}
    (root / "portapack.yaml").write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    (root / "predict.py").write_text(textwrap.dedent(predictor), encoding="utf-8")
    return root


HUMANIZE = """\
    import humanize


    class Predictor:
        def load(self) -> None:
            pass

        def predict(self, n: int) -> str:
            return humanize.intcomma(n)
    """


def rows(report) -> dict[tuple[str, str], object]:
    return {(r.target, r.case): r for r in report.results}


def test_a_requirement_missing_from_the_spec_fails_every_target_naming_the_module(tmp_path):
    project = make_project(tmp_path / "human", HUMANIZE,
                           examples=[{"input": {"n": 1234567}, "output": "1,234,567"}])
    report = portapack.test(project, TARGETS, tmp_path / "build")
    assert not report.ok
    found = rows(report)
    for target in ["in-process", *TARGETS]:
        start = found[target, "start"]
        assert not start.ok and "humanize" in start.error, (target, start.error)
        assert "No module named 'humanize'" in start.error, start.error
    # With the requirement added, every target passes: the env is made from the spec.
    spec = yaml.safe_load((project / "portapack.yaml").read_text())
    spec["requirements"].append("humanize>=4")
    (project / "portapack.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    report = portapack.test(project, TARGETS, tmp_path / "build")
    assert report.ok, [(r.target, r.case, r.error) for r in report.failures]
    assert {r.target for r in report.results} == {"in-process", *TARGETS}


def test_portapack_itself_and_other_sdks_are_not_in_an_artifact_env(tmp_path):
    project = make_project(tmp_path / "probe", """\
        import importlib.util


        class Predictor:
            def load(self) -> None:
                pass

            def predict(self, name: str) -> bool:
                return importlib.util.find_spec(name) is not None
        """, examples=[{"input": {"name": "portapack"}, "output": False},
                       {"input": {"name": "truss"}, "output": False}])
    report = portapack.test(project, ["modal", "cog", "runpod"], tmp_path / "build")
    assert report.ok, [(r.target, r.case, r.actual, r.error) for r in report.failures]


ENV_PROBE = """\
    import os


    class Predictor:
        def load(self) -> None:
            self.seen = {k: os.environ.get(k) for k in ("GREETING", "MULTI", "PP_SECRET",
                                                        "PP_STRAY")}

        def predict(self, key: str) -> dict:
            return {"load": self.seen, "call": os.environ.get(key)}
    """


def test_the_spec_env_reaches_every_runtime_and_the_reference_alike(tmp_path, monkeypatch):
    monkeypatch.setenv("PP_SECRET", "s3cr3t")
    monkeypatch.setenv("PP_STRAY", "from-the-developer-shell")
    env = {"GREETING": "hello 'world' \"quoted\"", "MULTI": "line one\nline two"}
    project = make_project(tmp_path / "envprobe", ENV_PROBE, env=env, secrets=["PP_SECRET"],
                           examples=[{"input": {"key": "GREETING"}}, {"input": {"key": "HOME"}}])
    report = portapack.test(project, TARGETS, tmp_path / "build")
    found = rows(report)
    reference = found["in-process", "example 1"].actual
    assert reference == {"load": {**env, "PP_SECRET": "s3cr3t", "PP_STRAY": None},
                         "call": env["GREETING"]}
    # Same output on every target (example 2: HOME is a fresh folder per run, not the user's).
    for target in TARGETS:
        result = found[target, "example 1"]
        assert result.ok and result.actual == reference, (target, result.actual, result.error)
    assert found["in-process", "example 2"].actual["call"] != os.environ["HOME"]


WEIGHT_PROBE = """\
    from pathlib import Path


    class Predictor:
        def load(self) -> None:
            self.text = Path("/weights/shared/w.txt").read_text()

        def predict(self, x: int = 0) -> str:
            return self.text
    """


@pytest.fixture(scope="module")
def bwrap() -> str:
    try:
        return check_bwrap()
    except SandboxUnavailable as exc:
        if os.environ.get("PORTAPACK_REQUIRE_SANDBOX") == "1":
            raise
        pytest.skip(str(exc))


def test_two_projects_with_the_same_weights_path_each_see_their_own(tmp_path, bwrap):
    before = sorted(os.listdir("/"))
    outputs = {}
    for which in ("A", "B"):
        project = make_project(tmp_path / f"proj-{which.lower()}", WEIGHT_PROBE,
                               weights=[{"source": "w", "path": "/weights/shared"}],
                               examples=[{"input": {"x": 1}, "output": f"weights {which}"}])
        (project / "w").mkdir()
        (project / "w" / "w.txt").write_text(f"weights {which}")
        report = portapack.test(project, TARGETS, tmp_path / f"build{which}")
        assert report.ok, [(r.target, r.case, r.actual, r.error) for r in report.failures]
        outputs[which] = {r.target: r.actual for r in report.results if r.case == "example 1"}
    assert set(outputs["A"].values()) == {"weights A"} and set(outputs["B"].values()) == {"weights B"}
    assert sorted(os.listdir("/")) == before
    assert not os.path.exists("/weights/shared")


def test_the_sandbox_as_a_non_root_user(tmp_path, bwrap):
    """As the unprivileged user: bwrap with user namespaces, two projects, one path; nothing
    created on the host. (CI runs as root: there a user is needed, else the test skips.)"""
    try:
        user = pwd.getpwnam(os.environ.get("PORTAPACK_TEST_USER", "pp"))
    except KeyError:
        pytest.skip("no non-root user 'pp' here (set PORTAPACK_TEST_USER to one)")
    if os.geteuid() != 0:
        pytest.skip("needs root to switch to the test user; as a non-root user the other "
                    "sandbox tests already run unprivileged")
    python = shutil.which("python3", path="/usr/bin:/bin")
    assert python, "a system python3 the user can run"
    shared = Path(tempfile.mkdtemp(prefix="portapack-nonroot-"))  # pytest's tmp is root-only
    shared.chmod(0o755)
    outputs = []
    for which in ("A", "B"):
        source = shared / which
        source.mkdir()
        (source / "w.txt").write_text(f"weights {which}")
        source.chmod(0o755)
        (source / "w.txt").chmod(0o644)
        argv = bwrap_argv({"/weights/shared": str(source)}, bwrap=bwrap)
        done = subprocess.run(argv + [python, "-c", "print(open('/weights/shared/w.txt').read())"],
                              user=user.pw_uid, group=user.pw_gid, capture_output=True, text=True,
                              timeout=60, env=clean_env(None, shared / f"run{which}"), cwd="/")
        outputs.append(done.stdout.strip() if done.returncode == 0 else done.stderr)
    shutil.rmtree(shared)
    assert outputs == ["weights A", "weights B"]
    assert not os.path.exists("/weights/shared")


def test_local_weights_are_hard_linked_into_build(tmp_path):
    project = make_project(tmp_path / "linked", WEIGHT_PROBE,
                           weights=[{"source": "w", "path": "/weights/shared"}])
    (project / "w").mkdir()
    np.save(project / "w" / "big.npy", np.zeros(1000))
    portapack.build(project, "all", tmp_path / "build")
    source = (project / "w" / "big.npy").stat()
    copies = list((tmp_path / "build").rglob("big.npy"))
    from portapack.targets import names

    assert len(copies) == len(names())  # one per target, each a hard link
    assert all(c.stat().st_ino == source.st_ino for c in copies)
    # User code stays a real copy: it is theirs to edit in build/.
    assert all(c.stat().st_ino != (project / "predict.py").stat().st_ino
               for c in (tmp_path / "build").rglob("predict.py"))


def test_a_warm_env_is_reused_without_uv(tmp_path, monkeypatch):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("pydantic>=2\n")
    first = ensure_env("probe", requirements=requirements)
    assert first.python.is_file() and str(first.path).startswith(str(cache_root()))
    monkeypatch.setenv("PATH", "/nonexistent")  # no uv reachable: a warm env needs none
    monkeypatch.setattr("portapack.proof.envs.uv_bin", lambda: pytest.fail("uv was called"))
    started = time.perf_counter()
    again = ensure_env("probe", requirements=requirements)
    assert again.path == first.path and not again.created
    assert time.perf_counter() - started < 5  # generous: the point is no uv run at all
    requirements.write_text("pydantic>=2\nhumanize>=4\n")  # other inputs: another env
    monkeypatch.undo()
    assert ensure_env("probe", requirements=requirements).path != first.path


def test_a_gpu_spec_without_a_gpu_is_never_a_clean_pass(tmp_path):
    project = make_project(tmp_path / "gpu", """\
        class Predictor:
            def load(self) -> None:
                raise RuntimeError("must not load here")

            def predict(self, text: str) -> str:
                return text
        """, resources={"gpu": "A100-80GB"}, examples=[{"input": {"text": "hi"}, "output": "hi"}])
    if Path("/dev/nvidia0").exists():
        pytest.skip("this machine has a GPU")
    report = portapack.test(project, ["modal", "runpod"], tmp_path / "build")
    assert not report.ok and report.failures == []
    assert {r.target for r in report.skipped} == {"in-process", "modal", "runpod"}
    assert all("A100-80GB" in r.skipped for r in report.skipped)
    assert (tmp_path / "build" / "modal" / "modal_app.py").is_file()  # the build still ran
    assert rows(report)["in-process", "invalid"].ok  # input rules checked without load()


def test_the_cli_exits_3_on_a_skipped_run(tmp_path):
    project = make_project(tmp_path / "gpu", """\
        class Predictor:
            def load(self) -> None:
                pass

            def predict(self, text: str) -> str:
                return text
        """, resources={"gpu": "A100-80GB"}, examples=[{"input": {"text": "hi"}, "output": "hi"}])
    if Path("/dev/nvidia0").exists():
        pytest.skip("this machine has a GPU")
    done = subprocess.run([sys.executable, "-m", "portapack.cli", "test", "--target", "runpod",
                           "--out", str(tmp_path / "build")], cwd=project, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 3, done.stdout + done.stderr
    assert "skipped" in done.stdout and "A100-80GB" in done.stdout


def test_a_single_file_weight_is_placed_as_the_file_on_every_target(tmp_path, bwrap):
    """Issue 17: ``source: iris.joblib``, ``path: /weights/.../iris.joblib`` put the file at
    ``.../iris.joblib/iris.joblib`` (IsADirectoryError on open()). A local file's path is the
    file itself, a local folder's the folder: every target, the sandbox and link_weights."""
    # Not under /tmp: the sandbox rebuilds each folder on the way, and /tmp changes under it.
    where = f"/weights/portapack-test-{uuid.uuid4().hex}"
    project = make_project(tmp_path / "iris", f"""\
        class Predictor:
            def load(self) -> None:
                with open("{where}/iris.joblib", "rb") as f:
                    self.file = f.read().decode()
                with open("{where}/folder/inner.txt") as f:
                    self.folder = f.read()

            def predict(self, n: int) -> str:
                return self.file * n + self.folder
        """, weights=[{"source": "iris.joblib", "path": f"{where}/iris.joblib"},
                      {"source": "ckpt", "path": f"{where}/folder"}],
        examples=[{"input": {"n": 2}, "output": "irisiris+folder"}])
    (project / "iris.joblib").write_text("iris")
    (project / "ckpt").mkdir()
    (project / "ckpt" / "inner.txt").write_text("+folder")
    report = portapack.test(project, TARGETS, tmp_path / "build")
    assert report.ok, [(r.target, r.case, r.error) for r in report.failures]
    assert {r.target for r in report.results} == {"in-process", *TARGETS}
    # The generated link_weights code (images that keep the files beside the code) links the
    # file as the file: run it for real with the path outside any sandbox.
    handler = (tmp_path / "build" / "runpod" / "handler.py").read_text()
    assert f'["iris.joblib", "{where}/iris.joblib"]' in handler
    assert not os.path.exists(where)  # nothing was created on the host


def test_link_weights_links_a_file_as_the_file(tmp_path):
    """templates/_shared/link_weights.py.j2, rendered and run outside any sandbox."""
    from portapack.building.render import render

    where = tmp_path / "weights"
    code = render("_shared/link_weights.py.j2", {
        "local_weights": True, "root_depth": 0,
        "weight_links": [["iris.joblib", f"{where}/iris.joblib"], ["ckpt", f"{where}/folder"]]})
    app = tmp_path / "app"
    (app / "ckpt").mkdir(parents=True)
    (app / "iris.joblib").write_text("iris")
    (app / "ckpt" / "inner.txt").write_text("inner")
    (app / "user.py").write_text("class Predictor:\n    pass\n")
    done = subprocess.run([sys.executable, "-c", "import os, sys\nfrom pathlib import Path\n"
                           + code + "\nsys.path.insert(0, sys.argv[1])\nimport user\n"
                           "link_local_weights(user.Predictor)\n"
                           "print(open(sys.argv[2]).read() + open(sys.argv[3]).read())",
                           str(app), f"{where}/iris.joblib", f"{where}/folder/inner.txt"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "irisinner"


FILE_INPUT_GPU = """\
    from pathlib import Path


    class Predictor:
        def load(self) -> None:
            pass

        def predict(self, image: Path) -> int:
            return len(image.read_bytes())
    """


def test_a_gpu_spec_with_a_file_input_refuses_the_invalid_request_without_a_gpu(tmp_path):
    """Issue 17: the in-process "invalid" row of a GPU spec (no model loaded) accepted the
    broken file input ("not-a-url"): the Inputs model does not check a file's form, the file
    helper does. Now the same rule runs there, and the run is a skip (exit 3), never a FAIL."""
    if Path("/dev/nvidia0").exists():
        pytest.skip("this machine has a GPU")
    project = make_project(tmp_path / "gpuimg", FILE_INPUT_GPU, resources={"gpu": "L4"},
                           examples=[{"input": {"image": "@cat.png"}, "output": 3}])
    (project / "cat.png").write_bytes(b"abc")
    report = portapack.test(project, ["runpod"], tmp_path / "build")
    assert report.failures == [], [(r.target, r.case, r.error) for r in report.failures]
    invalid = rows(report)["in-process", "invalid"]
    assert invalid.ok and "input 'image'" in invalid.error
    done = subprocess.run([sys.executable, "-m", "portapack.cli", "test", "--target", "runpod",
                           "--out", str(tmp_path / "build")], cwd=project, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 3, done.stdout + done.stderr


def test_device_cpu_runs_a_gpu_specs_predictions_on_the_cpu(tmp_path):
    """Issue 17: ``--device cpu`` (``portapack.test(..., device="cpu")``) runs every
    prediction of a GPU spec here, each row marked "(cpu)", no CUDA device visible."""
    project = make_project(tmp_path / "gpucpu", FILE_INPUT_GPU.replace(
        "return len(image.read_bytes())",
        'import os\n            return len(image.read_bytes()) + len(os.environ["CUDA_VISIBLE_DEVICES"])'),
        resources={"gpu": "L4"}, examples=[{"input": {"image": "@cat.png"}, "output": 3}])
    (project / "cat.png").write_bytes(b"abc")
    report = portapack.test(project, ["runpod", "modal"], tmp_path / "build", device="cpu")
    assert report.ok, [(r.target, r.case, r.error) for r in report.failures]
    assert not report.skipped and {r.device for r in report.results} == {"cpu"}
    assert rows(report)["runpod", "example 1"].ok and rows(report)["modal", "example 1"].ok
    assert "GPU was not used" in report.note and "L4" in report.note
    # The artifacts are built for the GPU all the same: only the local run used none.
    assert "CUDA_VISIBLE_DEVICES" not in (tmp_path / "build/runpod/handler.py").read_text()
    done = subprocess.run([sys.executable, "-m", "portapack.cli", "test", "--target", "runpod",
                           "--device", "cpu", "--out", str(tmp_path / "build")], cwd=project,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "pass (cpu)" in done.stdout and "the GPU was not used" in done.stdout


def test_the_reference_env_has_pydantic_as_every_artifact_does(tmp_path):
    """A predictor that imports pydantic (for Annotated[..., Field(...)]) without listing it
    runs in-process as it does on the targets, whose artifacts all ship pydantic."""
    (tmp_path / "predict.py").write_text(
        "from typing import Annotated\n\nfrom pydantic import Field\n\n\n"
        "class Predictor:\n    def load(self) -> None:\n        pass\n\n"
        "    def predict(self, text: Annotated[str, Field(min_length=1)]) -> str:\n"
        "        return text.upper()\n")
    (tmp_path / "portapack.yaml").write_text(
        "name: ref\npredictor: predict.py:Predictor\nexamples:\n  - input: {text: hi}\n    output: HI\n")
    report = portapack.test(tmp_path, targets=["runpod"], out=tmp_path / "out")
    assert report.ok, [(r.target, r.case, r.error) for r in report.failures]


def test_weights_under_a_busy_folder_skip_what_was_removed_since_the_listing(bwrap, tmp_path):
    """A weight path inside a folder whose entries come and go (/tmp): the sandbox lists the
    folder and binds its entries back; one removed before bwrap starts must be skipped, not
    fail the start (it failed every start before --bind-try). bwrap itself still races with an
    entry removed during its own mount calls: rare, and not what this checks."""
    weight = tmp_path / "w.txt"
    weight.write_text("hi")
    busy = Path(tempfile.gettempdir())
    gone = [busy / f"portapack-gone-{uuid.uuid4().hex}" for _ in range(3)]
    for path in gone:
        path.touch()
    target = f"{busy}/portapack-weights-{uuid.uuid4().hex}/w.txt"
    try:
        argv = bwrap_argv({target: str(weight)}, bwrap=bwrap)
        assert all(str(path) in argv for path in gone)  # listed, so bound back
    finally:
        for path in gone:
            path.unlink()
    done = subprocess.run(argv + ["cat", target], capture_output=True, text=True)
    assert (done.returncode, done.stdout) == (0, "hi"), done.stderr
