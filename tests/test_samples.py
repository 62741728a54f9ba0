"""Sample commands and file notes in the generated artifacts (issue 10's leftovers).

An example names a file as "@cat.png"; only Cog's CLI reads that. The READMEs' JSON samples
(RunPod, Modal, Truss) are run here exactly as written, by bash, in the built artifact beside
cat.png, under the real runpod/modal/truss packages: each must return the example's image.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import test_local_cli
from click.testing import CliRunner

import portapack
from portapack.building.builder import build
from portapack.cli import main
from portapack.proof.filecompare import file_difference
from portapack.spec.files import data_uri
from portapack.targets.samples import placeholder, served_example, shell_word

ROOT = Path(__file__).resolve().parent.parent
IMAGE = ROOT / "examples" / "image-filter"
EXPECTED = IMAGE / "expected" / "fit-32.png"
reaper, serving = test_local_cli.reaper, test_local_cli.serving  # portapack serve, reaped


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("samples")
    build(IMAGE / "portapack.yaml", ["all"], out)
    return out


def readme_lines(readme: Path, *starts: str) -> list[str]:
    """The README's indented command lines that start with one of ``starts``."""
    lines = [line[4:] for line in readme.read_text().splitlines() if line.startswith("    ")]
    return [line for line in lines if line.startswith(starts)]


@pytest.mark.parametrize("target, command", [
    ("runpod", "python -u handler.py --test_input"),
    ("modal", "python -c"),
    ("truss", "python -c"),
])
def test_readme_sample_runs_as_written_with_the_example_file(built, target, command):
    artifact = built / target
    shutil.copy(IMAGE / "cat.png", artifact / "cat.png")  # "beside portapack.yaml", as it says
    lines = readme_lines(artifact / "README.md", "IMAGE_URI=", command)
    assert [line.split("=", 1)[0] for line in lines[:1]] == ["IMAGE_URI"], lines
    assert len(lines) == 2 and "@cat.png" not in "".join(lines)
    script = "\n".join(line.replace("python ", f"{sys.executable} ", 1) for line in lines)
    env = {**os.environ, "PYTHONWARNINGS": "error::DeprecationWarning"}
    done = subprocess.run(["bash", "-c", script], cwd=artifact, capture_output=True, text=True,
                          env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    uris = re.findall(r"data:image/png;base64,[A-Za-z0-9+/=]+", done.stdout + done.stderr)
    assert uris, (done.stdout + done.stderr)[-2000:]
    assert file_difference(data_uri(EXPECTED), uris[-1]) is None


def test_readme_json_samples_splice_the_file_variable(built):
    for target in ("runpod", "modal", "truss"):
        text = (built / target / "README.md").read_text()
        assert "\"'\"$IMAGE_URI\"'\"" in text, target
        assert "@cat.png" not in text, target
    curl = readme_lines(built / "runpod" / "README.md", "curl -s localhost:8000/runsync")
    assert curl == ["curl -s localhost:8000/runsync -H 'Content-Type: application/json' -d "
                    "'{\"input\": {\"image\": \"'\"$IMAGE_URI\"'\"}}'"]


def test_cog_readme_keeps_cogs_own_at_file_and_says_where_to_run_it(built):
    text = (built / "cog" / "README.md").read_text()
    assert "    cog run -i image=@cat.png\n" in text
    assert "run this where `cat.png` is (beside `portapack.yaml`)" in text


def test_comments_show_a_marked_placeholder_not_at_file(built):
    handler = (built / "runpod" / "handler.py").read_text()
    app = (built / "modal" / "modal_app.py").read_text()
    assert placeholder("cat.png") == "<data: URI of cat.png>"
    assert "--test_input '{\"input\": {\"image\": \"<data: URI of cat.png>\"}}'" in handler
    assert 'Model().predict.local(image="<data: URI of cat.png>")' in app
    assert "@cat.png" not in handler + app


def test_truss_config_example_is_the_placeholder_not_at_file(built):
    import yaml

    config = yaml.safe_load((built / "truss" / "config.yaml").read_text())
    assert config["model_metadata"]["example_model_input"]["image"] == "<data: URI of cat.png>"


def test_artifacts_of_a_test_run_are_those_of_a_build(built, tmp_path):
    """`portapack test` sends the example file as a data: URI; its artifacts still show the
    placeholder (identical to `portapack build`'s), never that URI inlined."""
    from portapack.proof.testing import run_tests

    run_tests(portapack.load_project(IMAGE), ["modal", "truss", "runpod"], tmp_path)
    for target in ("modal", "truss", "runpod"):
        for name in ("README.md", "config.yaml", "modal_app.py", "handler.py"):
            if (built / target / name).is_file():
                assert (tmp_path / target / name).read_text() == (built / target / name).read_text()
        assert "data:image/png;base64,iVBOR" not in "".join(
            p.read_text() for p in (tmp_path / target).rglob("*") if p.suffix in (".md", ".py", ".yaml"))


def test_a_data_uri_written_in_the_spec_is_shown_short(tmp_path):
    project = tmp_path / "inline"
    shutil.copytree(IMAGE, project, ignore=shutil.ignore_patterns("build"))
    spec = project / "portapack.yaml"
    spec.write_text(spec.read_text().replace('"@cat.png"', '"' + data_uri(IMAGE / "cat.png") + '"'))
    build(spec, ["all"], tmp_path / "out")
    for target in ("modal", "truss", "runpod", "cog"):
        text = "".join(p.read_text() for p in (tmp_path / "out" / target).rglob("*")
                       if p.suffix in (".md", ".py", ".yaml") and p.name != "portapack_files.py")
        assert "iVBOR" not in text and "<data: URI, image/png>" in text, target
    assert served_example(portapack.load_project(project)) == {"image": data_uri(IMAGE / "cat.png")}


@pytest.mark.parametrize("target, says", [
    ("cog", ["are `cog.Path`", "Replicate each file is uploaded",
             "a local Cog server returns a `data:` URI"]),
    ("runpod", ["`BUCKET_ENDPOINT_URL`, `BUCKET_ACCESS_KEY_ID`, `BUCKET_SECRET_ACCESS_KEY`",
                "`rp_upload`", "`BUCKET_NAME`", "presigned", "each file is a `data:` URI"]),
    ("truss", ["File outputs: a `data:` URI (base64) in the JSON response"]),
    ("modal", ["File outputs: a `data:` URI (base64) in the result and in the endpoint's JSON"]),
])
def test_readme_says_how_files_come_back(built, target, says):
    text = (built / target / "README.md").read_text()
    assert "## Files" in text and "File inputs (`image`)" in text
    for phrase in says:
        assert phrase in text, phrase


def test_files_section_only_with_files(tmp_path):
    build(ROOT / "examples" / "text-stats" / "portapack.yaml", ["all"], tmp_path / "plain")
    build(ROOT / "examples" / "multi-file" / "portapack.yaml", ["all"], tmp_path / "multi")
    for target in ("cog", "runpod", "truss", "modal"):
        assert "## Files" not in (tmp_path / "plain" / target / "README.md").read_text()
        multi = (tmp_path / "multi" / target / "README.md").read_text()
        # `-> dict` whose example expects files: outputs described, no file inputs
        assert "## Files" in multi and "File outputs" in multi and "File inputs" not in multi


def test_shell_word_quotes_every_piece_and_splices_variables():
    assert shell_word("plain") == "plain"
    assert shell_word("") == "''"
    assert shell_word('{"a": "it\'s", "f": "@@F_URI@@"}') == (
        "'{\"a\": \"it'\"'\"'s\", \"f\": \"'\"$F_URI\"'\"}'")
    done = subprocess.run(["bash", "-c", "F_URI='data:x;base64,AA=='; printf %s "
                           + shell_word('{"a": "it\'s", "f": "@@F_URI@@"}')],
                          capture_output=True, text=True, check=True)
    assert done.stdout == '{"a": "it\'s", "f": "data:x;base64,AA=="}'


# -- portapack validate -------------------------------------------------------------------------
def test_validate_names_file_inputs_and_outputs():
    result = CliRunner().invoke(main, ["validate", "--spec", str(IMAGE)])
    assert result.exit_code == 0, result.output
    assert "  input image: file (image/*) (required)\n" in result.output
    assert "  input mode: string (default 'fit')\n" in result.output
    assert "  output: file\n" in result.output


def test_validate_a_server_project():
    spec = ROOT / "examples" / "tiny-llm"
    result = CliRunner().invoke(main, ["validate", "--spec", str(spec)])
    assert result.exit_code == 0, result.output
    assert "  route /v1/chat/completions\n" in result.output
    result = CliRunner().invoke(main, ["validate", "--spec", str(spec), "--json"])
    assert result.exit_code == 0, result.output
    assert '"routes"' in result.output and '"inputs"' not in result.output


# -- portapack serve's sample curl ----------------------------------------------------------------
def test_served_example_inlines_small_files_only(tmp_path):
    project = portapack.load_project(IMAGE)
    assert served_example(project) == {"image": data_uri(IMAGE / "cat.png")}
    assert served_example(project, limit_bytes=10) == {"image": "<data: URI of cat.png>"}


@pytest.mark.parametrize("target", ["runpod", "modal"])
def test_serve_prints_a_curl_that_sends_the_file_as_a_data_uri(tmp_path, serving, target):
    server = serving(target, IMAGE, tmp_path / "build")
    assert data_uri(IMAGE / "cat.png") in server.sample and "@cat.png" not in server.sample
    done = subprocess.run(["bash", "-c", server.sample], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    uris = re.findall(r"data:image/png;base64,[A-Za-z0-9+/=]+", done.stdout)
    assert uris and file_difference(data_uri(EXPECTED), uris[-1]) is None, done.stdout[-500:]
    assert server.terminate() == 0
