"""``portapack predict``, ``portapack test`` and ``portapack serve``, run the way a user runs them.

CliRunner for the quick in-process checks; real subprocesses (``python -m portapack.cli``) for
exit codes, streaming, signals and the servers. Every wait is bounded, and every test that
starts a server checks afterwards that no process is left behind: none whose command line
contains the build folder (``ps -eo pid,args``) and none whose working directory is inside it
(the Cog and RunPod servers run from the build folder with relative arguments, so their
command lines alone would not show them).
"""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

import portapack
from portapack.cli import main
from portapack.proof.envs import cache_root
from portapack.proof.local import LocalPredictor
from portapack.proof.runtimes.base import free_port
from portapack.proof.testing import invalid_request, names_input, same
from portapack.spec.validation import InvalidInput

ROOT = Path(__file__).resolve().parent.parent
TEXT_STATS = ROOT / "examples" / "text-stats"
TOKEN_STREAM = ROOT / "examples" / "token-stream"
CLI = [sys.executable, "-m", "portapack.cli"]


# -- helpers --------------------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def keep_sigterm_handler():
    """``main()`` installs a SIGTERM handler; CliRunner runs it in pytest's own process."""
    before = signal.getsignal(signal.SIGTERM)
    yield
    signal.signal(signal.SIGTERM, before)


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def invoke(runner: CliRunner, cwd: Path, args: list[str], monkeypatch) -> Any:
    monkeypatch.chdir(cwd)
    return runner.invoke(main, args)


def run_cli(args: list[str], cwd: Path, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run(CLI + args, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def make_project(root: Path, predictor: str, examples: list[dict] | None = None,
                 name: str = "tmp-model", **extra: Any) -> Path:
    """A spec (plus ``extra`` keys) and predict.py in ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    spec: dict[str, Any] = {"name": name, "predictor": "predict.py:Predictor",
                            "requirements": ["pydantic>=2"], **extra}
    if examples is not None:
        spec["examples"] = examples
    (root / "portapack.yaml").write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    (root / "predict.py").write_text(textwrap.dedent(predictor), encoding="utf-8")
    return root


def leftovers(path: Path) -> list[str]:
    """Processes (other than this one) whose command line names ``path`` or which run in it,
    or in a Truss build context (Truss's server runs from the context Truss makes of the
    artifact, cached under this session's cache dir)."""
    path_s = str(path.resolve())
    contexts = str(cache_root() / "truss-ctx")
    ps = subprocess.run(["ps", "-ww", "-eo", "pid,args"], capture_output=True, text=True, check=True)
    found = []
    for line in ps.stdout.splitlines()[1:]:
        pid_s, _, args = line.strip().partition(" ")
        pid = int(pid_s)
        if pid == os.getpid():
            continue
        if path_s in args:
            found.append(line.strip())
            continue
        try:
            cwd = os.readlink(f"/proc/{pid}/cwd")
        except OSError:
            continue
        if cwd == path_s or cwd.startswith((path_s + os.sep, contexts + os.sep)):
            found.append(f"{line.strip()}  (cwd {cwd})")
    return found


def settle_leftovers(path: Path, timeout: float = 15) -> list[str]:
    """The processes still left after up to ``timeout`` seconds (stopping takes a moment)."""
    deadline = time.monotonic() + timeout
    while True:
        left = leftovers(path)
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.2)


@pytest.fixture
def reaper():
    """Paths to sweep at teardown: any process a failing test left there is killed, by pid."""
    paths: list[Path] = []
    yield paths
    for path in paths:
        for line in leftovers(path):
            try:
                os.kill(int(line.split()[0]), signal.SIGKILL)
            except (ProcessLookupError, PermissionError, ValueError):
                pass


class Reader:
    """Collects a pipe's output in a thread, so waits on it can be bounded."""

    def __init__(self, stream):
        self.chunks: queue.Queue[str] = queue.Queue()
        self.text = ""
        self.thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self.thread.start()

    def _pump(self, stream) -> None:
        for chunk in iter(lambda: os.read(stream.fileno(), 4096), b""):
            self.chunks.put(chunk.decode("utf-8", errors="replace"))

    def wait_for(self, pattern: str, timeout: float) -> re.Match | None:
        deadline = time.monotonic() + timeout
        while True:
            while not self.chunks.empty():
                self.text += self.chunks.get_nowait()
            match = re.search(pattern, self.text)
            if match or time.monotonic() > deadline:
                return match
            try:
                self.text += self.chunks.get(timeout=0.1)
            except queue.Empty:
                pass

    def rest(self, timeout: float = 5) -> str:
        self.thread.join(timeout)
        while not self.chunks.empty():
            self.text += self.chunks.get_nowait()
        return self.text


def post(url: str, body: Any, timeout: float = 60) -> tuple[int, Any]:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        try:
            return exc.code, json.loads(raw)
        except ValueError:
            return exc.code, raw.decode("utf-8", "replace")


# Predictors used below ------------------------------------------------------------------------
MARKER_PREDICTOR = """\
    from pathlib import Path
    from typing import Annotated

    from pydantic import Field

    MARKER = Path({marker!r})


    class Predictor:
        def load(self) -> None:
            MARKER.write_text("loaded")

        def predict(self, text: Annotated[str, Field(min_length=1, max_length=20)]) -> str:
            return text.upper()
    """

TYPED_PREDICTOR = """\
    class Predictor:
        def load(self) -> None:
            pass

        def predict(self, n: int, x: float, flag: bool, items: list[int], opts: dict,
                    label: str = "none") -> dict:
            return {"n": n, "x": x, "flag": flag, "items": items, "opts": opts, "label": label,
                    "types": [type(v).__name__ for v in (n, x, flag, items, opts, label)]}
    """


# -- portapack predict ----------------------------------------------------------------------------
def test_predict_prints_the_output_as_json(runner, monkeypatch):
    result = invoke(runner, TEXT_STATS, ["predict", "-i", "text=I love it, love it!",
                                         "-i", "top_k=2"], monkeypatch)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"label": "positive", "score": 4, "words": 5,
                                         "top": ["it", "love"]}


def test_predict_json_wraps_the_output(runner, monkeypatch):
    result = invoke(runner, TEXT_STATS, ["predict", "-i", "text=Awful. Just bad", "-i", "top_k=1",
                                         "-i", "case=keep", "--json"], monkeypatch)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"ok": True, "output": {
        "label": "negative", "score": -3, "words": 3, "top": ["Awful"]}}


def test_predict_json_list_input(runner, monkeypatch):
    result = invoke(runner, TEXT_STATS, ["predict", "-i", "text=the cat and the hat",
                                         "-i", 'stopwords=["the", "and"]', "--json"], monkeypatch)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["output"]["top"] == ["cat", "hat"]


@pytest.mark.parametrize("flag_text, flag", [
    ("true", True), ("True", True), ("1", True), ("yes", True),
    ("false", False), ("FALSE", False), ("0", False), ("no", False),
])
def test_predict_converts_each_value_to_its_declared_type(runner, monkeypatch, tmp_path, flag_text,
                                                          flag):
    make_project(tmp_path / "typed", TYPED_PREDICTOR)
    result = invoke(runner, tmp_path / "typed", [
        "predict", "-i", "n=-4", "-i", "x=3", "-i", f"flag={flag_text}", "-i", "items=[1, 2, 3]",
        "-i", 'opts={"a": [1, null]}', "-i", "label=42", "--json"], monkeypatch)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["output"] == {
        "n": -4, "x": 3.0, "flag": flag, "items": [1, 2, 3], "opts": {"a": [1, None]},
        "label": "42", "types": ["int", "float", "bool", "list", "dict", "str"]}


@pytest.mark.parametrize("pair, message", [
    ("n=four", "input 'n': 'four' is not a valid int"),
    ("x=1.5.2", "input 'x': '1.5.2' is not a valid float"),
    ("flag=maybe", "input 'flag': 'maybe' is not a valid bool"),
    ("items=[1, 2", "input 'items': '[1, 2' is not a valid list"),
    ("items=[1, \"two\"]", "input 'items.1'"),
    ("n", "'n': write inputs as name=value"),
])
def test_predict_a_value_that_does_not_convert_exits_2(runner, monkeypatch, tmp_path, pair, message):
    make_project(tmp_path / "typed", TYPED_PREDICTOR)
    good = {"n": "n=1", "x": "x=1.0", "flag": "flag=true", "items": "items=[1]", "opts": "opts={}"}
    name = pair.partition("=")[0]
    pairs = [p for k, p in good.items() if k != name] + [pair]
    result = invoke(runner, tmp_path / "typed",
                    ["predict", *(a for p in pairs for a in ("-i", p))], monkeypatch)
    assert result.exit_code == 2, result.output
    assert "invalid input: " in result.stderr
    assert message in result.stderr
    assert result.stdout == ""


def test_predict_streams_the_token_stream_example(tmp_path):
    result = run_cli(["predict", "-i", "prompt=the quick brown fox"], TOKEN_STREAM)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "the quick brown fox \n"
    result = run_cli(["predict", "-i", "prompt=hello there world", "-i", "max_tokens=2",
                      "-i", "shout=yes", "--json"], TOKEN_STREAM)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"ok": True, "output": ["HELLO ", "THERE "]}


def test_predict_prints_each_stream_item_as_it_comes(tmp_path):
    """The predictor yields one item, then waits for a file only the test creates: the first
    item must reach stdout before the second exists."""
    gate = tmp_path / "gate"
    make_project(tmp_path / "gated", f"""\
        import os
        import time
        from collections.abc import Iterator


        class Predictor:
            def load(self) -> None:
                pass

            def predict(self, words: int = 2) -> Iterator[str]:
                yield "first "
                deadline = time.monotonic() + 60
                while not os.path.exists({str(gate)!r}) and time.monotonic() < deadline:
                    time.sleep(0.05)
                yield "second" if os.path.exists({str(gate)!r}) else "gate-timeout"
        """)
    proc = subprocess.Popen(CLI + ["predict"], cwd=tmp_path / "gated", stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    try:
        out = Reader(proc.stdout)
        assert out.wait_for("first ", timeout=60), proc.stderr.read().decode() if proc.poll() else ""
        assert "second" not in out.text and proc.poll() is None
        gate.write_text("open")
        assert proc.wait(timeout=60) == 0
        assert out.rest() == "first second\n"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_bad_input_exits_2_without_loading_the_predictor(tmp_path):
    marker = tmp_path / "loaded"
    project = make_project(tmp_path / "marked", MARKER_PREDICTOR.format(marker=str(marker)))
    result = run_cli(["predict", "-i", "text="], project)
    assert result.returncode == 2
    assert result.stderr.startswith("invalid input: input 'text': "), result.stderr
    assert "at least 1 character" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert not marker.exists(), "load() ran for a request that was going to be rejected"
    # Too long, or missing altogether: the same.
    for args, name in ((["-i", "text=" + "x" * 21], "text"), ([], "text")):
        result = run_cli(["predict", *args], project)
        assert result.returncode == 2 and f"input '{name}'" in result.stderr, result.stderr
        assert not marker.exists()
    # The marker works: a good request does load.
    result = run_cli(["predict", "-i", "text=ok"], project)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "OK\n"
    assert marker.read_text() == "loaded"


def test_an_unknown_input_is_rejected_by_name(tmp_path):
    marker = tmp_path / "loaded"
    project = make_project(tmp_path / "marked", MARKER_PREDICTOR.format(marker=str(marker)))
    result = run_cli(["predict", "-i", "text=hi", "-i", "temprature=0.5"], project)
    assert result.returncode == 2
    assert "input 'temprature'" in result.stderr
    assert "Traceback" not in result.stderr
    assert not marker.exists()


def test_a_predictor_whose_load_raises_exits_1_naming_the_file(tmp_path):
    project = make_project(tmp_path / "broken", """\
        class Predictor:
            def load(self) -> None:
                raise FileNotFoundError("weights.bin is missing")

            def predict(self, text: str) -> str:
                return text
        """)
    result = run_cli(["predict", "-i", "text=hi"], project)
    assert result.returncode == 1
    assert "predict.py" in result.stderr
    assert "failed to load" in result.stderr
    assert "FileNotFoundError: weights.bin is missing" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    result = run_cli(["predict", "-i", "text=hi", "--json"], project)
    assert result.returncode == 1
    payload = json.loads(result.stdout)
    assert payload["ok"] is False and "weights.bin is missing" in payload["problems"][0]


def test_a_predict_that_raises_exits_1_without_a_traceback(tmp_path):
    project = make_project(tmp_path / "raises", """\
        class Predictor:
            def load(self) -> None:
                pass

            def predict(self, text: str) -> str:
                raise ValueError("cannot handle " + text)
        """)
    result = run_cli(["predict", "-i", "text=this"], project)
    assert result.returncode == 1
    assert "predict() raised ValueError: cannot handle this" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


# -- portapack test: the report -------------------------------------------------------------------
def test_test_text_stats_under_modal_and_runpod(tmp_path, reaper):
    out = tmp_path / "build"
    reaper.append(out)
    result = run_cli(["test", "--target", "modal", "--target", "runpod", "--json", "--out", str(out)],
                     TEXT_STATS)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is True
    rows = [(r["target"], r["case"]) for r in report["results"]]
    examples = [f"example {n}" for n in (1, 2, 3)]
    assert rows == ([("in-process", c) for c in examples + ["invalid"]]
                    + [("modal", c) for c in examples + ["invalid", "after invalid"]]
                    + [("modal", f"{c} (web)") for c in examples + ["invalid", "after invalid"]]
                    + [("runpod", c) for c in examples + ["invalid", "after invalid"]])
    assert all(r["ok"] for r in report["results"])
    invalid = [r for r in report["results"] if r["case"] == "invalid"]
    assert all(names_input(r["error"], "text") for r in invalid), invalid
    assert settle_leftovers(out) == []


def copy_text_stats(tmp_path: Path) -> Path:
    project = tmp_path / "text-stats"
    shutil.copytree(TEXT_STATS, project, ignore=shutil.ignore_patterns("build", "__pycache__"))
    return project


def test_test_a_wrong_expected_output_fails_with_a_diff(tmp_path, reaper):
    project = copy_text_stats(tmp_path)
    spec = project / "portapack.yaml"
    text = spec.read_text()
    assert "output: {label: positive, score: 4," in text
    spec.write_text(text.replace("output: {label: positive, score: 4,",
                                 "output: {label: positive, score: 5,"))
    out = tmp_path / "build"
    reaper.append(out)
    result = run_cli(["test", "--target", "runpod", "--out", str(out)], project)
    assert result.returncode == 1, result.stdout + result.stderr
    human = result.stdout
    assert "Traceback" not in human + result.stderr
    assert re.search(r"in-process\s+example 1\s+FAIL", human)
    assert re.search(r"runpod\s+example 1\s+FAIL", human)
    assert re.search(r"runpod\s+example 2\s+pass", human)
    # The diff: expected vs actual, unified.
    assert "--- expected\n+++ actual\n" in human
    assert '-  "score": 5,' in human and '+  "score": 4,' in human
    # in-process: example 1 fails (of 4 rows); runpod: example 1 and "after invalid" (the
    # same request) fail (of 5 rows).
    assert re.search(r"^6 passed, 3 failed$", human, re.M), human
    assert settle_leftovers(out) == []


FLOAT_PREDICTOR = """\
    class Predictor:
        def load(self) -> None:
            pass

        def predict(self, a: float, b: float) -> dict:
            return {"sum": a + b, "pair": [a, b]}
    """


def float_project(tmp_path: Path) -> Path:
    # 0.1 + 0.2 == 0.30000000000000004; the spec says 0.300000001: off by about 1e-9.
    return make_project(tmp_path / "floats", FLOAT_PREDICTOR, examples=[
        {"input": {"a": 0.1, "b": 0.2}, "output": {"sum": 0.300000001, "pair": [0.1, 0.2]}}])


def test_test_exact_comparison_fails_a_float_off_by_1e9(tmp_path, reaper):
    out = tmp_path / "build"
    reaper.append(out)
    result = run_cli(["test", "--target", "modal", "--out", str(out), "--json"],
                     float_project(tmp_path))
    assert result.returncode == 1, result.stdout + result.stderr
    rows = {(r["target"], r["case"]): r for r in json.loads(result.stdout)["results"]}
    assert rows["in-process", "example 1"]["ok"] is False
    assert rows["in-process", "example 1"]["actual"] == {"sum": 0.30000000000000004,
                                                        "pair": [0.1, 0.2]}
    assert rows["modal", "example 1"]["ok"] is False
    assert rows["modal", "invalid"]["ok"] is True


def test_test_tolerance_passes_a_float_off_by_1e9(tmp_path, reaper):
    out = tmp_path / "build"
    reaper.append(out)
    result = run_cli(["test", "--target", "modal", "--out", str(out), "--tolerance", "1e-6"],
                     float_project(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    # in-process 2 + modal .local() 3 + modal's web endpoint 3
    assert re.search(r"^8 passed, 0 failed$", result.stdout, re.M), result.stdout


def test_test_a_spec_without_examples_exits_2(tmp_path):
    project = make_project(tmp_path / "bare", FLOAT_PREDICTOR)
    out = tmp_path / "build"
    result = run_cli(["test", "--out", str(out)], project)
    assert result.returncode == 2
    assert "the spec has no examples" in result.stderr
    assert "examples:" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert not out.exists(), "nothing should be built or started without examples"
    result = run_cli(["test", "--out", str(out), "--json"], project)
    assert result.returncode == 2
    assert json.loads(result.stdout)["ok"] is False


# -- portapack test: a target that does not start -------------------------------------------------
def fails_off_home_predictor(home: Path) -> str:
    """A predictor whose load() works in its own folder and raises anywhere else (a build dir)."""
    return f"""\
        from pathlib import Path

        HOME = Path({str(home.resolve())!r})


        class Predictor:
            def load(self) -> None:
                if Path(__file__).resolve().parent != HOME:
                    raise RuntimeError("weights missing on this target")

            def predict(self, text: str) -> str:
                return text.upper()
        """


@pytest.mark.parametrize("target", [
    "runpod",
    "cog",
    "modal",
    "truss",
])
def test_test_reports_a_target_that_fails_to_start_and_stops_it(tmp_path, reaper, target):
    home = tmp_path / "proj"
    make_project(home, fails_off_home_predictor(home), examples=[
        {"input": {"text": "hi"}, "output": "HI"}])
    out = tmp_path / "build"
    reaper.append(out)
    result = run_cli(["test", "--target", target, "--out", str(out), "--json"], home, timeout=240)
    assert result.returncode == 1, result.stdout + result.stderr
    rows = json.loads(result.stdout)["results"]
    assert [(r["target"], r["case"], r["ok"]) for r in rows if r["target"] == "in-process"] == [
        ("in-process", "example 1", True), ("in-process", "invalid", True)]
    target_rows = [r for r in rows if r["target"] == target]
    assert [(r["case"], r["ok"]) for r in target_rows] == [("start", False)], target_rows
    assert "weights missing on this target" in target_rows[0]["error"]
    assert settle_leftovers(out) == [], "a server outlived 'portapack test'"


def test_test_a_predictor_that_cannot_load_at_all_exits_1_cleanly(tmp_path, reaper):
    project = make_project(tmp_path / "proj", """\
        class Predictor:
            def load(self) -> None:
                raise RuntimeError("no weights anywhere")

            def predict(self, text: str) -> str:
                return text
        """, examples=[{"input": {"text": "hi"}, "output": "hi"}])
    out = tmp_path / "build"
    reaper.append(out)
    result = run_cli(["test", "--target", "runpod", "--target", "modal", "--out", str(out)], project)
    assert result.returncode == 1
    # A row per side, each naming the failure: the reference and both targets' starts.
    for target in ("in-process", "runpod", "modal"):
        assert re.search(rf"^{target} +start +FAIL", result.stdout, re.M), result.stdout
    assert "predict.py:Predictor failed to load: RuntimeError: no weights anywhere" in result.stdout
    assert result.stdout.count("no weights anywhere") >= 3, result.stdout
    assert "Traceback" not in result.stderr
    assert settle_leftovers(out) == []


# -- portapack test: failures in one line each, the logs in files (issue 17) -----------------------
def test_test_a_missing_requirement_is_one_line_per_row_and_the_logs_go_to_files(tmp_path, reaper):
    """Before: the clear line, then 40 lines of runtime logs and four tracebacks."""
    project = make_project(tmp_path / "proj", """\
        import humanize


        class Predictor:
            def load(self) -> None:
                pass

            def predict(self, n: int) -> str:
                return humanize.intcomma(n)
        """, examples=[{"input": {"n": 1000}, "output": "1,000"}])
    out = tmp_path / "build"
    reaper.append(out)
    result = run_cli(["test", "--target", "runpod", "--target", "modal", "--out", str(out)], project)
    assert result.returncode == 1, result.stdout + result.stderr
    hint = "'humanize' is not installed: add it to the spec's requirements"
    for target in ("in-process", "runpod", "modal"):
        assert f"{target} / start: {hint}\n" in result.stdout, result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    assert "No module named" not in result.stdout  # the raw error stays in the log
    assert f"runtime logs: {out}/.portapack-logs/<target>.log" in result.stdout
    for target in ("in-process", "runpod", "modal"):
        log = (out / ".portapack-logs" / f"{target}.log").read_text()
        assert "No module named 'humanize'" in log, (target, log)
    verbose = run_cli(["test", "--target", "runpod", "--out", str(out), "-v"], project)
    assert verbose.returncode == 1
    assert "Traceback" in verbose.stdout and f"--- {out}/.portapack-logs/runpod.log" in verbose.stdout
    assert settle_leftovers(out) == []


def test_test_a_predict_that_raises_on_runpod_shows_its_message_not_json(tmp_path, reaper):
    project = make_project(tmp_path / "proj", """\
        class Predictor:
            def load(self) -> None:
                pass

            def predict(self, n: int) -> int:
                raise ValueError(f"n={n} is too big")
        """, examples=[{"input": {"n": 5}, "output": 5}])
    out = tmp_path / "build"
    reaper.append(out)
    result = run_cli(["test", "--target", "runpod", "--out", str(out)], project)
    assert result.returncode == 1
    assert "runpod / example 1: predict() raised ValueError: n=5 is too big\n" in result.stdout, \
        result.stdout
    assert "error_traceback" not in result.stdout and "Traceback" not in result.stdout
    assert 'raise ValueError(f"n={n} is too big")' in (out / ".portapack-logs/runpod.log").read_text()
    assert settle_leftovers(out) == []


def test_test_skip_reasons_keep_the_table_aligned(tmp_path):
    project = make_project(tmp_path / "gpu", """\
        class Predictor:
            def load(self) -> None:
                pass

            def predict(self, text: str) -> str:
                return text
        """, examples=[{"input": {"text": "hi"}, "output": "hi"}], resources={"gpu": "L4"})
    if Path("/dev/nvidia0").exists():
        pytest.skip("this machine has a GPU")
    done = subprocess.run(CLI + ["test", "--target", "runpod", "--out", str(tmp_path / "build")],
                          cwd=project, capture_output=True, text=True, timeout=240,
                          env={**os.environ, "COLUMNS": "90"})
    assert done.returncode == 3, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    header = lines[0]
    latency_end = header.index("latency") + len("latency")
    rows = [line for line in lines[1:] if line.startswith(("in-process", "runpod"))]
    assert len(rows) == 3
    for row in rows:  # the latency column ends where its header does; the reason after it
        assert len(row) <= 90, row
        assert row[latency_end - 1] in "-s", (row, header)  # "... ms" or "-"
    assert "skip" in rows[1] and rows[1].endswith("...")
    reason = "the spec asks for a GPU (L4) and this machine has none"
    assert sum(line.startswith("skipped: " + reason) for line in lines) == 1  # in full, once
    assert "--device cpu" in done.stdout


def test_test_a_runtime_that_is_not_ready_says_what_was_seen_and_the_fix(tmp_path, reaper):
    """Before: "truss runtime not ready after 120s:" and nothing after the colon."""
    project = make_project(tmp_path / "proj", """\
        import time


        class Predictor:
            def load(self) -> None:
                time.sleep(60)

            def predict(self, n: int) -> int:
                return n
        """, examples=[{"input": {"n": 5}, "output": 5}])
    out = tmp_path / "build"
    reaper.append(out)
    done = subprocess.run(CLI + ["test", "--target", "truss", "--out", str(out), "--json"],
                          cwd=project, capture_output=True, text=True, timeout=300,
                          stdin=subprocess.DEVNULL, env={**os.environ, "PORTAPACK_START_TIMEOUT": "8"})
    assert done.returncode == 1, done.stdout + done.stderr
    rows = {(r["target"], r["case"]): r for r in json.loads(done.stdout)["results"]}
    error = rows["truss", "start"]["error"]
    assert error.startswith("truss runtime not ready after 8s (still running, never answered its "
                            "readiness check"), error
    assert "PORTAPACK_START_TIMEOUT" in error.splitlines()[0]
    assert (out / ".portapack-logs" / "truss.log").is_file()
    assert settle_leftovers(out) == []


@pytest.mark.parametrize("target", [
    "runpod", "cog", "modal",
    "truss",
])
def test_each_target_loads_the_predictor_once(tmp_path, reaper, target):
    log = tmp_path / "loads.log"
    make_project(tmp_path / "proj", f"""\
        from pathlib import Path


        class Predictor:
            def load(self) -> None:
                with open({str(log)!r}, "a") as f:
                    f.write(str(Path(__file__).resolve().parent) + "\\n")

            def predict(self, text: str) -> str:
                return text.upper()
        """, examples=[{"input": {"text": "a"}, "output": "A"},
                       {"input": {"text": "b"}, "output": "B"}])
    out = tmp_path / "build"
    reaper.append(out)
    result = run_cli(["test", "--target", target, "--out", str(out), "--json"], tmp_path / "proj")
    assert result.returncode == 0, result.stdout + result.stderr
    loads = log.read_text().splitlines()
    # Four requests to the target (2 examples, invalid, after invalid); one load each side:
    # the reference from the project, the target from its artifact (Truss's server runs from
    # the build context Truss makes, in the cache).
    project = str((tmp_path / "proj").resolve())
    assert loads.count(project) == 1, loads
    assert len([p for p in loads if p != project]) == 1, loads
    assert settle_leftovers(out) == []


# -- testing.same() and testing.invalid_request() -------------------------------------------------
@pytest.mark.parametrize("expected, actual, tolerance, equal", [
    (True, 1, None, False),
    (1, True, None, False),
    (False, 0, None, False),
    (0, False, 1.0, False),  # no tolerance makes a bool a number
    (True, True, None, True),
    (1, 1.0, None, True),  # JSON numbers: compared by value
    (1.0, 1, None, True),
    (2, 2.0000001, None, False),
    (2, 2.0000001, 1e-6, True),
    (100, 101, 0.001, False),
    (100, 101, 0.1, True),
    ("1", 1, None, False),
    (None, None, None, True),
    (None, 0, None, False),
    ([], {}, None, False),
    ({"a": 1, "b": [1, 2]}, {"b": [1, 2], "a": 1}, None, True),  # key order does not matter
    ({"a": 1}, {"a": 1, "b": 2}, None, False),
    ({"a": 1, "b": 2}, {"a": 1}, None, False),
    ([1, 2], [2, 1], None, False),
    ([1, 2], [1, 2, 3], None, False),
    ({"a": [{"x": 0.1 + 0.2}]}, {"a": [{"x": 0.3}]}, None, False),
    ({"a": [{"x": 0.1 + 0.2}]}, {"a": [{"x": 0.3}]}, 1e-9, True),
    ({"a": [{"x": 1, "ok": True}]}, {"a": [{"x": 1.0, "ok": 1}]}, 1e-9, False),
    (["it", "love"], ["it", "love"], None, True),
])
def test_same(expected, actual, tolerance, equal):
    assert same(expected, actual, tolerance) is equal


INVALID_CASES = [  # (predict's parameters, example input, the input broken, the breaking value)
    ("choice: Literal['a', 'b']", {"choice": "a"}, "choice", "not-a-choice"),
    ("level: Literal[1, 2, 3]", {"level": 2}, "level", 4),
    ("k: Annotated[int, Field(ge=1, le=10)]", {"k": 3}, "k", 11),
    ("t: Annotated[float, Field(ge=0.5)]", {"t": 1.0}, "t", -0.5),
    ("s: Annotated[str, Field(max_length=4)]", {"s": "ab"}, "s", "xxxxx"),
    ("xs: Annotated[list[int], Field(max_length=2)]", {"xs": [1]}, "xs", [0, 0, 0]),
    ("s: Annotated[str, Field(min_length=1)]", {"s": "ab"}, "s", ""),
    ("xs: Annotated[list[str], Field(min_length=2)]", {"xs": ["a", "b"]}, "xs", []),
    ("s: str", {"s": "ab"}, "s", 12345),
    ("n: int", {"n": 1}, "n", "not a number"),
    ("x: float", {"x": 1.5}, "x", "not a number"),
    ("flag: bool", {"flag": True}, "flag", "maybe"),
    ("xs: list[float]", {"xs": [1.0]}, "xs", "not a list"),
    ("d: dict", {"d": {}}, "d", 12345),
    ("s: str | None = None", {}, "s", 12345),
    ("x: Annotated[float, Field(gt=0, lt=1)]", {"x": 0.5}, "x", "not a number"),
]


def typed_project(root: Path, params: str, example: dict | None) -> portapack.Project:
    make_project(root, f"""\
        from typing import Annotated, Literal

        from pydantic import Field


        class Predictor:
            def load(self) -> None:
                pass

            def predict(self, {params}) -> str:
                return "ok"
        """, examples=None if example is None else [{"input": example}])
    return portapack.load_project(root)


@pytest.mark.parametrize("params, example, name, bad", INVALID_CASES,
                         ids=[c[0] for c in INVALID_CASES])
def test_invalid_request_breaks_one_input_and_every_validator_rejects_it(tmp_path, params, example,
                                                                         name, bad):
    project = typed_project(tmp_path / "p", params, example)
    validate = LocalPredictor(project).validate
    validate(example)  # the example itself is fine
    request, broken = invalid_request(project)
    assert broken == name
    assert request == {**example, name: bad}
    with pytest.raises(InvalidInput) as info:
        validate(request)
    assert names_input(str(info.value), name), str(info.value)


def test_invalid_request_breaks_the_first_input_and_keeps_the_rest(tmp_path):
    project = typed_project(tmp_path / "p", "text: str, top_k: Annotated[int, Field(le=5)] = 3",
                            {"text": "hi", "top_k": 2})
    assert invalid_request(project) == ({"text": 12345, "top_k": 2}, "text")
    assert project.spec.examples[0].input == {"text": "hi", "top_k": 2}, "the example was mutated"


def test_invalid_request_without_examples_still_names_the_input(tmp_path):
    project = typed_project(tmp_path / "p", "k: Annotated[int, Field(ge=1)], name: str = 'x'", None)
    request, name = invalid_request(project)
    assert (request, name) == ({"k": 0}, "k")
    with pytest.raises(InvalidInput) as info:
        LocalPredictor(project).validate(request)
    assert names_input(str(info.value), "k")


def test_invalid_request_of_the_examples_matches_their_specs():
    assert invalid_request(portapack.load_project(TEXT_STATS)) == ({"text": "x" * 5001}, "text")
    assert invalid_request(portapack.load_project(TOKEN_STREAM)) == ({"prompt": ""}, "prompt")


# -- portapack serve ------------------------------------------------------------------------------
class Server:
    """``portapack serve`` as a subprocess; always stopped."""

    def __init__(self, target: str, cwd: Path, out: Path, *extra: str):
        self.target, self.out = target, out
        self.port = free_port()
        self.proc = subprocess.Popen(
            CLI + ["serve", "--target", target, "--port", str(self.port), "--out", str(out),
                   *extra], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL)
        self.output = Reader(self.proc.stdout)
        match = self.output.wait_for(r"serving (\S+) at (http://\S+)\n\s+try: (.+)\n", timeout=180)
        if not match:
            self.kill()
            raise AssertionError(f"no URL line from serve:\n{self.output.rest()}")
        self.build_dir, self.url, self.sample = Path(match.group(1)), match.group(2), match.group(3)

    def predict(self, inputs: dict) -> tuple[int, Any]:
        if self.target == "runpod":
            return post(f"{self.url}/runsync", {"input": inputs})
        if self.target == "truss":  # Truss's own server, as on Baseten
            return post(f"{self.url}/v1/models/model:predict", inputs)
        return post(f"{self.url}/predict", {"input": inputs})

    def output_of(self, inputs: dict) -> Any:
        status, body = self.predict(inputs)
        assert status == 200, body
        if self.target == "runpod":
            assert body["status"] == "COMPLETED", body
        if self.target == "truss":  # the server answers the model's output itself
            return body
        return body["output"]

    def error_of(self, inputs: dict) -> str:
        status, body = self.predict(inputs)
        if self.target == "runpod":
            assert body["status"] == "FAILED", body
        elif self.target == "truss":  # Truss's server: 400 "Input Parsing Error"
            assert status == 400, body
        else:
            assert status == 422, body
        return body["error"]

    def terminate(self, timeout: float = 60) -> int:
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError("serve did not exit within 60 s of SIGTERM") from None

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)


@pytest.fixture
def serving(reaper):
    started: list[Server] = []

    def start(*args: Any) -> Server:
        reaper.append(args[2])
        server = Server(*args)
        started.append(server)
        return server

    yield start
    for server in started:
        server.kill()


@pytest.mark.parametrize("target", ["runpod", "truss", "modal"])
def test_serve_answers_requests_and_stops_on_sigterm(tmp_path, serving, target):
    out = tmp_path / "build"
    server = serving(target, TEXT_STATS, out)
    assert server.build_dir == out.resolve() / target
    assert server.url == f"http://127.0.0.1:{server.port}"
    assert server.sample.startswith(f"curl -s {server.url}/")
    assert server.output_of({"text": "I love it, love it!", "top_k": 2}) == {
        "label": "positive", "score": 4, "words": 5, "top": ["it", "love"]}
    # Truss's own server words it "Input Parsing Error:\n  `top_k`: ..." (as on Baseten).
    named = "`{}`" if target == "truss" else "input '{}'"
    error = server.error_of({"text": "hi", "top_k": 99})
    assert named.format("top_k") in error, error
    error = server.error_of({"txt": "hi"})
    # Modal's method rejects an unknown keyword itself ("unexpected keyword argument 'txt'").
    assert ("'txt'" if target == "modal" else named.format("txt")) in error, error
    # Still serving after the bad requests.
    assert server.output_of({"text": "Awful. Just bad"})["label"] == "negative"
    children = [p for p in leftovers(out) if int(p.split()[0]) != server.proc.pid]
    assert children, "the runtime is not visible to leftovers(): the check below would prove nothing"
    assert server.terminate() == 0
    assert "stopping" in server.output.rest()
    assert settle_leftovers(out) == []


EDIT_FROM, EDIT_TO = 'return {"label": label,', 'return {"edited": True, "label": label,'


def served_output(server: Server, request: dict) -> Any:
    """The output, or None while the server restarts."""
    try:
        status, body = server.predict(request)
    except (urllib.error.URLError, ConnectionError, TimeoutError, ValueError):
        return None
    if status != 200 or not isinstance(body, dict):
        return None
    return body if server.target == "truss" else body.get("output")  # Truss: the output itself


@pytest.mark.parametrize("target", ["runpod", "truss"])
def test_serve_reload_picks_up_an_edit(tmp_path, serving, target):
    project = copy_text_stats(tmp_path)
    out = tmp_path / "build"
    server = serving(target, project, out, "--reload")
    request = {"text": "I love it"}
    before = server.output_of(request)
    assert "edited" not in before
    predictor = project / "predict.py"
    source = predictor.read_text()
    assert EDIT_FROM in source
    edited = source.replace(EDIT_FROM, EDIT_TO)
    deadline = time.monotonic() + 30
    after, written = None, 0.0
    while time.monotonic() < deadline:
        # Saved again every 3 s until the rebuild starts. BUG (not tested: a race): the watcher
        # takes its first snapshot only after the URL line, so an edit saved in the moment
        # after it is part of the baseline and never triggers a rebuild.
        if time.monotonic() - written > 3 and not server.output.wait_for("change detected", 0):
            predictor.write_text(edited)
            written = time.monotonic()
        output = served_output(server, request)
        if isinstance(output, dict) and "edited" in output:
            after = output
            break
        time.sleep(0.3)
    assert after == {"edited": True, **before}, server.output.rest(0)
    # The new server answers a moment before serve has seen it ready and printed its URL: a
    # Wait for the URL line: the server is up and answering from then on.
    assert server.output.wait_for(r"change detected: rebuilding\n(.*\n)*.*serving \S+ at http\S+\n"
                                  r"\s+try: .+\n", timeout=30), server.output.text
    assert server.terminate() == 0
    assert settle_leftovers(out) == []


def gated_load_predictor(home: Path, gate: Path) -> str:
    """load() blocks (up to 60 s) outside ``home`` until ``gate`` exists: a slow model load."""
    return f"""\
        import os
        import time
        from pathlib import Path


        class Predictor:
            def load(self) -> None:
                if Path(__file__).resolve().parent != Path({str(home.resolve())!r}):
                    deadline = time.monotonic() + 60
                    while not os.path.exists({str(gate)!r}) and time.monotonic() < deadline:
                        time.sleep(0.05)

            def predict(self, text: str) -> str:
                return text.upper()
        """


@pytest.mark.parametrize("command", ["serve", "test"])
def test_sigterm_while_the_target_is_starting_stops_it(tmp_path, reaper, command):
    home, gate = tmp_path / "proj", tmp_path / "gate"
    make_project(home, gated_load_predictor(home, gate),
                 examples=[{"input": {"text": "hi"}, "output": "HI"}])
    out = tmp_path / "build"
    reaper.append(out)
    proc = subprocess.Popen(CLI + [command, "--target", "runpod", "--out", str(out)], cwd=home,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)
    try:
        output = Reader(proc.stdout)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None and not any(
                "handler.py" in line for line in leftovers(out)):
            time.sleep(0.1)
        assert any("handler.py" in line for line in leftovers(out)), output.rest(0)
        assert not output.wait_for("serving|FAIL", 0), "the target is not blocked in load()"
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        assert settle_leftovers(out) == [], output.rest()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)


def test_serve_an_unknown_target_exits_2(tmp_path):
    result = run_cli(["serve", "--target", "heroku", "--out", str(tmp_path / "b")], TEXT_STATS)
    assert result.returncode == 2
    assert "unknown target 'heroku'; choose from modal, cog, truss, runpod, kserve or all" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "b").exists()


def test_serve_on_a_busy_port_fails_before_loading(tmp_path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "portapack.cli", "serve", "--target", "runpod", "--port",
             str(port), "--out", str(tmp_path / "b")], cwd=ROOT / "examples" / "text-stats",
            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert f"port {port} is in use" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "b").exists()


@pytest.mark.parametrize(("error", "line"), [
    ("runpod runtime exited with code 1 before it was ready:\nTraceback (most recent call last):\n"
     '  File "predict.py", line 1\nModuleNotFoundError: No module named \'humanize.sub\'',
     "'humanize' is not installed: add it to the spec's requirements"),
    ("input 'image': the file is larger than the 100.0 MiB limit",
     "input 'image': the file is larger than the 100.0 MiB limit: send a smaller file (or raise "
     "PORTAPACK_MAX_INPUT_BYTES in the spec's env)"),
    ("predict.py:Predictor failed to load: NotADirectoryError: [Errno 20] Not a directory: "
     "'/weights/iris/iris.joblib'",
     "NotADirectoryError: [Errno 20] Not a directory: '/weights/iris/iris.joblib': check the spec's "
     "weights path /weights/iris (a local file's path is the file itself, a local folder's the "
     "folder)"),
    ("Internal Server Error (in model/chainlet).\nTraceback (most recent call last):\n  File \"x\"\n"
     "ValueError: boom", "Internal Server Error (in model/chainlet): ValueError: boom"),
    ("boom\nTraceback (most recent call last):\nValueError: boom", "ValueError: boom"),
    ("cog runtime exited with code 1 before it was ready:\nsome log\nbwrap: cannot mount",
     "cog runtime exited with code 1 before it was ready: bwrap: cannot mount"),
])
def test_short_cause_is_one_line_with_the_fix(error, line):
    from portapack.proof.causes import short_cause

    assert short_cause(error, ["/weights/iris"]) == line
