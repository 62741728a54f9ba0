"""The one registry of targets: every registered target is complete (it builds, runs under its
local runtime and plans a deploy), aliases resolve, and a third-party target installed as a
real entry point (tests/plugin_target) builds, tests and dry-run-deploys like a built-in."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import portapack
from portapack.errors import TargetError
from portapack.proof.runtimes import get_runtime
from portapack.targets import TARGETS, canonical_name, get_target, names, registered

ROOT = Path(__file__).resolve().parent.parent
PLUGIN = Path(__file__).resolve().parent / "plugin_target"


def copy_example(name: str, dest: Path) -> Path:
    shutil.copytree(ROOT / "examples" / name, dest, ignore=shutil.ignore_patterns("__pycache__", "build"))
    return dest


def test_built_ins_are_registered_in_order_and_load_lazily():
    assert names()[:4] == ["modal", "cog", "truss", "runpod"]
    assert {registered()[n].origin for n in names()[:4]} == {"built-in"}
    assert list(TARGETS) == names()


@pytest.mark.parametrize("alias,name", [("replicate", "cog"), ("baseten", "truss"), ("cog", "cog")])
def test_aliases_resolve_to_their_target(alias, name):
    assert canonical_name(alias) == name
    assert get_target(alias).name == name


def test_an_unknown_target_suggests_the_nearest_name():
    with pytest.raises(TargetError, match="did you mean 'runpod'"):
        get_target("runpd")


@pytest.mark.parametrize("name", ["modal", "cog", "truss", "runpod", "kserve"])
def test_every_registered_target_is_complete(tmp_path, name):
    """Each target declares everything the core needs, and each piece works on a real example."""
    target = get_target(name)
    for attribute in ("title", "extra", "templates", "gpu_names", "runtime", "deployer"):
        assert getattr(target, attribute), attribute
    assert target.options.model_fields is not None  # a pydantic model, in `portapack schema`
    assert name in type(portapack.load_project(ROOT / "examples" / "text-stats").spec.targets).model_fields
    project = portapack.load_project(copy_example("text-stats", tmp_path / "proj"))
    built = portapack.build(project, [name], tmp_path / "out")[name]
    assert sorted(target.templates) == sorted(f for f in built.files if f in target.templates)
    example = project.spec.examples[0]
    with get_runtime(name, built.path) as runtime:
        outcome = runtime.predict(example.input)
    assert outcome.ok and outcome.output == example.output, outcome.error
    plan = portapack.deploy(project, name, tmp_path / "out", dry_run=True)
    assert plan.target == name and plan.steps


def plugin_env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(PLUGIN), str(ROOT), env.get("PYTHONPATH", "")])
    env["ECHO_DEPLOY_DIR"] = str(tmp_path / "deployed")
    return env


def portapack_cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "portapack.cli", *args], capture_output=True,
                          text=True, env=env, cwd=cwd, timeout=300)


def test_a_plugin_target_is_listed_built_tested_and_deployed(tmp_path):
    project = copy_example("text-stats", tmp_path / "proj")
    spec = yaml.safe_load((project / "portapack.yaml").read_text())
    spec["targets"] = {"echo": {"greeting": "from the plugin"}}
    (project / "portapack.yaml").write_text(yaml.safe_dump(spec))
    env = plugin_env(tmp_path)

    listed = portapack_cli("targets", "--json", env=env, cwd=project)
    assert listed.returncode == 0, listed.stderr
    echo = next(t for t in json.loads(listed.stdout)["targets"] if t["name"] == "echo")
    assert echo["origin"] == "plugin: portapack-echo 0.1"
    assert echo["install"] == "pip install portapack-echo"

    built = portapack_cli("build", "--target", "echo", "--json", env=env, cwd=project)
    assert built.returncode == 0, built.stderr
    server = (project / "build" / "echo" / "server.py").read_text()
    assert '"from the plugin"' in server and "class Inputs(BaseModel)" in server

    tested = portapack_cli("test", "--target", "echo", "--json", env=env, cwd=project)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    rows = json.loads(tested.stdout)["results"]
    assert {r["target"] for r in rows} == {"in-process", "echo"}
    assert all(r["ok"] for r in rows)
    assert any(r["target"] == "echo" and r["case"] == "invalid" for r in rows)

    planned = portapack_cli("deploy", "--target", "echo", "--dry-run", "--json", env=env, cwd=project)
    assert planned.returncode == 0, planned.stderr
    plan = json.loads(planned.stdout)["plan"]
    assert plan["settings"] == {"greeting": "from the plugin", "price": (
        "cpu at $0.05/hour (bundled table, checked 2026-12-01, low confidence, "
        "https://example.invalid/echo-pricing); bills per second of server time, idle included")}
    assert [s["action"] for s in plan["steps"]] == ["copy artifact"]

    deployed = portapack_cli("deploy", "--target", "echo", "--json", env=env, cwd=project)
    assert deployed.returncode == 0, deployed.stderr
    assert (tmp_path / "deployed" / "text-stats" / "server.py").is_file()


def test_a_plugin_brings_its_importer_and_prices_through_the_same_entry_point(tmp_path):
    src = tmp_path / "echo-project"
    src.mkdir()
    (src / "model.py").write_text("class Model:\n    def load(self) -> None:\n        pass\n\n"
                                  "    def predict(self, text: str) -> str:\n        return text[::-1]\n")
    (src / "echo.json").write_text(json.dumps({"name": "Reverser", "predictor": "model.py:Model",
                                               "examples": [{"text": "abc"}]}))
    env = plugin_env(tmp_path)
    listed = json.loads(portapack_cli("targets", "--json", env=env, cwd=tmp_path).stdout)["targets"]
    assert {t["name"]: t["imports"] for t in listed}["echo"] is True

    done = portapack_cli("import", "ECHO", str(src), "--out", str(tmp_path / "out"), env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    spec = yaml.safe_load((tmp_path / "out" / "portapack.yaml").read_text())
    assert (spec["name"], spec["predictor"], spec["examples"]) == ("reverser", "model.py:Model",
                                                                     [{"input": {"text": "abc"}}])
    tested = portapack_cli("test", "--target", "echo", "--json", env=env, cwd=tmp_path / "out")
    assert tested.returncode == 0, tested.stdout + tested.stderr

    priced = portapack_cli("cost", "--busy-hours-per-day", "2", "--offline", "--json", env=env,
                           cwd=tmp_path / "out")
    assert priced.returncode == 0, priced.stderr
    echo = next(c for c in json.loads(priced.stdout)["targets"] if c["target"] == "echo")
    assert (echo["platform"], echo["hardware"]) == ("Echo", "cpu")
    # one 2 h burst plus the default 300 s idle before scale-down, which this rule bills
    assert echo["usd_per_month"] == pytest.approx((7200 + 300) / 3600 * 0.05 * 30, abs=0.005)


def test_a_plugin_options_section_is_validated_like_a_built_in_one(tmp_path):
    project = copy_example("text-stats", tmp_path / "proj")
    spec = yaml.safe_load((project / "portapack.yaml").read_text())
    spec["targets"] = {"echo": {"greting": "typo"}}
    (project / "portapack.yaml").write_text(yaml.safe_dump(spec))
    result = portapack_cli("validate", env=plugin_env(tmp_path), cwd=project)
    assert result.returncode == 2
    assert "targets.echo.greting: unknown field 'greting'; did you mean 'greeting'?" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_schema_includes_a_plugin_targets_options(tmp_path):
    result = portapack_cli("schema", env=plugin_env(tmp_path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    schema = json.loads(result.stdout)
    assert "echo" in schema["$defs"]["TargetOptions"]["properties"]


def test_a_plugin_that_reuses_a_built_in_name_is_refused(tmp_path):
    dist = tmp_path / "bad_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: bad-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[portapack.targets]\nmodal = os:path\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), str(ROOT)]))
    result = portapack_cli("targets", env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert "registers target 'modal', which is already built-in" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_plugin_that_is_not_a_target_is_named(tmp_path):
    dist = tmp_path / "odd_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: odd-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[portapack.targets]\nodd = os:path\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), str(ROOT)]))
    result = portapack_cli("build", "--target", "odd", env=env, cwd=ROOT / "examples" / "text-stats")
    assert result.returncode == 2
    assert "target 'odd' (plugin: odd-plugin 1.0): os:path must be a portapack.targets.Target" \
        in result.stderr


def test_target_names_are_case_insensitive_and_comma_lists_work():
    from portapack.targets import means_all, resolve_targets

    assert canonical_name("Modal") == "modal" and canonical_name("REPLICATE") == "cog"
    assert [t.name for t in resolve_targets(["modal,Cog"])] == ["modal", "cog"]
    assert [t.name for t in resolve_targets(["cog", "truss, runpod", "COG"])] == ["cog", "truss", "runpod"]
    assert means_all(["modal,ALL"]) and not means_all("modal")


def test_the_cli_takes_mixed_case_names_and_comma_lists(tmp_path):
    from click.testing import CliRunner

    from portapack.cli import main

    spec = Path(__file__).resolve().parent.parent / "examples" / "text-stats"
    for args, built in ((["-t", "Modal"], ["modal"]), (["--target", "modal,cog"], ["modal", "cog"]),
                        (["-t", "cog", "-t", "TRUSS"], ["cog", "truss"])):
        out = tmp_path / "-".join(built)
        result = CliRunner().invoke(main, ["build", "--spec", str(spec), "--out", str(out), *args])
        assert result.exit_code == 0, result.output
        assert sorted(p.name for p in out.iterdir()) == sorted(built)
