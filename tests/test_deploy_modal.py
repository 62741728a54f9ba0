"""Modal: specs Modal will not deploy, the concurrency note, and the reachability preflight.

The preflight runs for real: a TCP connect, then the real `modal token info` in a subprocess,
against loopback addresses: a closed port (refused at once) and a listener that accepts and
never answers (what a network that drops packets, or a stalled server, looks like to the
client). No account is needed; nothing reaches Modal.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import threading
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

import portapack
import portapack.targets.modal.deployer as modal_deploy
from portapack.cli import main
from portapack.deploying import DeployOptions, PreflightError, deploy
from portapack.errors import SpecError

ROOT = Path(__file__).resolve().parent.parent


def make_project(where: Path, **changes) -> Path:
    proj = where / "proj"
    shutil.copytree(ROOT / "examples" / "text-stats", proj)
    spec_file = proj / "portapack.yaml"
    data = yaml.safe_load(spec_file.read_text(encoding="utf-8"))
    data.update(name="modal-probe", **changes)
    spec_file.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return proj


# == what build refuses or notes =================================================================
def test_python_310_is_refused_for_modal_with_the_reason(tmp_path):
    proj = make_project(tmp_path, python="3.10")
    out = tmp_path / "out"
    with pytest.raises(SpecError) as info:
        portapack.build(proj, ["modal", "truss"], out)
    assert [str(p) for p in info.value.problems] == [
        'target modal: python: "3.10" cannot deploy on Modal: Modal 1.7 and later will not run '
        'or deploy Images with Python 3.10 (deprecated in Modal 1.6, 2026-11-04); set python: '
        '"3.11" or newer']
    assert not (out / "modal").exists() and not (out / "truss").exists()  # nothing half-written
    built = portapack.build(proj, ["truss"], out)  # other platforms still take 3.10
    assert [b.target for b in built.builds] == ["truss"]


def test_the_cli_names_the_target_and_the_fix(tmp_path):
    proj = make_project(tmp_path, python="3.10")
    result = CliRunner().invoke(main, ["build", "--target", "modal", "--spec", str(proj),
                                       "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert "target modal" in result.output and 'set python: "3.11"' in result.output
    assert "Traceback" not in result.output


def test_target_all_builds_every_target_that_can_carry_the_spec_and_lists_the_rest(tmp_path):
    """python "3.10" is allowed: "all" builds Cog, Truss and RunPod and lists Modal as refused."""
    proj = make_project(tmp_path, python="3.10")
    built = portapack.build(proj, "all", tmp_path / "api")
    assert [b.target for b in built.builds] == ["cog", "truss", "runpod", "kserve"]
    assert [(r.target, r.reasons[0][:28]) for r in built.refused] == [
        ("modal", 'python: "3.10" cannot deploy')]
    result = CliRunner().invoke(main, ["build", "--spec", str(proj), "--out", str(tmp_path / "out")])
    assert result.exit_code == 3, result.output
    assert "runpod  -> " in result.output and "modal   refused: python: \"3.10\"" in result.output
    assert not (tmp_path / "out" / "modal").exists() and (tmp_path / "out" / "cog").is_dir()
    result = CliRunner().invoke(main, ["build", "--spec", str(proj), "--out", str(tmp_path / "j"),
                                       "--json"])
    assert result.exit_code == 3
    assert json.loads(result.output)["refused"][0]["target"] == "modal"


def test_test_all_lists_a_refused_target_as_skipped_and_exits_3(tmp_path):
    proj = make_project(tmp_path, python="3.10")
    result = CliRunner().invoke(main, ["test", "--spec", str(proj), "--out", str(tmp_path / "out"),
                                       "-t", "all"])
    assert result.exit_code == 3, result.output
    assert re.search(r"^modal +build +skip +- +refused: python", result.output, re.M), result.output
    assert re.search(r"^runpod +example 1 +pass", result.output, re.M), result.output


def test_cost_never_calls_a_refusing_target_the_cheapest(tmp_path):
    from portapack.cost import estimate

    report = estimate(portapack.load_project(make_project(tmp_path, python="3.10")), offline=True)
    modal = next(c for c in report.targets if c.target == "modal")
    assert not modal.fits and not modal.cheapest
    assert modal.marks[0].startswith('cannot carry this spec: python: "3.10"')


@pytest.mark.parametrize("concurrency", [1, 4])
def test_concurrency_on_a_sync_predict_says_threads_in_the_app(tmp_path, concurrency):
    """Not a build note (nothing is approximated; --strict still builds): the generated file
    says it above the decorator, where a Modal user looks."""
    proj = make_project(tmp_path, scaling={"concurrency": concurrency})
    result = portapack.build(proj, ["modal"], tmp_path / "out", strict=True)
    assert [n for b in result.builds for n in b.notes] == []
    app = (tmp_path / "out" / "modal" / "modal_app.py").read_text()
    if concurrency == 1:
        assert "@modal.concurrent" not in app and "thread" not in app
    else:
        assert ("# Up to 4 inputs at once per container: Modal runs this sync predict() on "
                "threads,\n# so Predictor.predict must be thread-safe (or guard shared state "
                "with a lock).\n@modal.concurrent(max_inputs=4)\n") in app


# == reachability preflight ======================================================================
@pytest.fixture
def project(tmp_path, monkeypatch):
    for var in ("MODAL_PROFILE", "MODAL_SERVER_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("MODAL_CONFIG_PATH", str(tmp_path / "no-modal.toml"))
    monkeypatch.setenv("MODAL_TOKEN_ID", "ak-not-a-real-token")
    monkeypatch.setenv("MODAL_TOKEN_SECRET", "as-not-a-real-secret")
    proj = make_project(tmp_path)
    portapack.build(proj, ["modal"], tmp_path / "out")
    ran: list = []  # `modal deploy` must never start when preflight fails
    real_run = modal_deploy.subprocess.run
    monkeypatch.setattr(modal_deploy.subprocess, "run",
                        lambda cmd, **kw: ran.append(cmd) or real_run(cmd, **kw))
    return proj, tmp_path / "out", ran


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def silent_server():
    """Accepts TCP connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def test_a_refused_port_fails_preflight_naming_modal(project, monkeypatch):
    proj, out, ran = project
    url = f"http://127.0.0.1:{closed_port()}"
    monkeypatch.setenv("MODAL_SERVER_URL", url)
    with pytest.raises(PreflightError) as info:
        deploy(proj, "modal", out, options=DeployOptions())
    assert str(info.value).startswith(f"modal: cannot reach Modal at {url} (Connection refused)")
    assert ran == []  # not even `modal token info`


def test_a_server_that_never_answers_fails_within_the_budget(project, monkeypatch, silent_server):
    proj, out, ran = project
    monkeypatch.setenv("MODAL_SERVER_URL", silent_server)
    monkeypatch.setattr(modal_deploy, "PREFLIGHT_TIMEOUT", 4.0)  # 15 s in real use
    result = CliRunner().invoke(main, ["deploy", "--target", "modal", "--spec", str(proj),
                                       "--out", str(out)])
    assert result.exit_code == 1, result.output
    assert (f"modal: Modal at {silent_server} did not answer `modal token info` within 4s"
            in result.output)
    assert "Traceback" not in result.output and "as-not-a-real-secret" not in result.output
    assert [cmd[1:] for cmd in ran] == [["-m", "modal", "token", "info"]]  # never `modal deploy`


def test_the_server_url_comes_from_the_active_profile(tmp_path, monkeypatch):
    monkeypatch.delenv("MODAL_SERVER_URL", raising=False)
    monkeypatch.delenv("MODAL_PROFILE", raising=False)
    config = tmp_path / "modal.toml"
    config.write_text('[a]\ntoken_id = "x"\ntoken_secret = "y"\n'
                      '[b]\nactive = true\nserver_url = "http://127.0.0.1:1"\n')
    monkeypatch.setenv("MODAL_CONFIG_PATH", str(config))
    assert modal_deploy.modal_server_url() == "http://127.0.0.1:1"
    monkeypatch.setenv("MODAL_PROFILE", "a")
    assert modal_deploy.modal_server_url() == "https://api.modal.com"
