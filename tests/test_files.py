"""File inputs and outputs without a platform: the runtime helper every artifact ships
(portapack_files, loaded from its template), comparison by content, the reader's file kind,
examples naming files and the CLI's ``-i image=@photo.png``."""

from __future__ import annotations

import base64
import hashlib
import http.server
import importlib.util
import io
import json
import re
import threading
import time
from importlib.machinery import SourceFileLoader
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from portapack.proof import filecompare
from portapack.proof.testing import CaseResult, same
from portapack.spec.files import cli_file_input, helper_path, with_example_files, write_file_outputs
from portapack.spec.loader import load_project
from portapack.spec.signature import read_predictor
from portapack.spec.validation import InvalidInput

ROOT = Path(__file__).resolve().parents[1]


def _load_helper():
    loader = SourceFileLoader("portapack_files_under_test", str(helper_path()))
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader(loader.name, loader))
    loader.exec_module(module)
    return module


pf = _load_helper()


def png(size=(4, 3), color=(10, 20, 30), **save) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "PNG", **save)
    return buf.getvalue()


PNG = png()


def uri(data: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64," + base64.b64encode(data).decode()


class Files(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path == "/cat.png":
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(PNG)))
            self.end_headers()
            self.wfile.write(PNG)
        elif self.path == "/noext":
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()
            self.wfile.write(PNG)
        elif self.path == "/big":  # declares a size over the limit
            self.send_response(200)
            self.send_header("Content-Length", str(10**9))
            self.end_headers()
        elif self.path == "/liar":  # no Content-Length, streams past the limit
            self.send_response(200)
            self.end_headers()
            try:
                for _ in range(100):
                    self.wfile.write(b"x" * 4096)
            except OSError:
                pass
        elif self.path == "/slow":
            time.sleep(2)
            self.send_response(200)
            self.end_headers()
        else:
            self.send_error(404)


@pytest.fixture(scope="module")
def url():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Files)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


# -- the runtime helper --------------------------------------------------------------------------
def test_data_uri_becomes_a_temp_file_removed_after():
    path = pf.fetch_input("image", uri(PNG))
    assert path.read_bytes() == PNG and path.suffix == ".png"
    pf.remove(path)
    assert not path.parent.exists()


def test_url_becomes_a_temp_file_named_after_the_url(url):
    path = pf.fetch_input("image", url + "/cat.png")
    assert path.name == "cat.png" and path.read_bytes() == PNG
    assert pf.fetch_input("image", url + "/noext").name == "noext.png"  # from Content-Type


@pytest.mark.parametrize(("value", "words"), [
    (uri(PNG)[:-7], "the data: URI is not valid base64 (truncated or corrupted?)"),
    ("data:image/png;base64,@@@@", "not valid base64"),
    ("data:image/png;base64", "needs a comma before its data"),
    ("data:image/png;base64,", "the file is empty"),
    ("/etc/passwd", "expected an http(s):// URL or a data: URI, got '/etc/passwd'"),
    ("file:///etc/passwd", "expected an http(s):// URL or a data: URI"),
    (12, "expected an http(s):// URL or a data: URI, got int"),
    ("http://127.0.0.1:9/x.png", "cannot download http://127.0.0.1:9/x.png"),  # nothing listens
])
def test_bad_file_inputs_name_the_input(value, words):
    with pytest.raises(pf.FileInputError) as err:
        pf.fetch_input("image", value)
    assert str(err.value).startswith("input 'image': ") and words in str(err.value)


def test_url_errors_and_limits(url):
    cases = [(url + "/gone.png", {}, "downloading " + url + "/gone.png failed: HTTP 404"),
             (url + "/big", {"limit_bytes": 1000}, "is 953.7 MiB, over the 1000 bytes limit"),
             (url + "/liar", {"limit_bytes": 100_000}, "is larger than the 100000 bytes limit"),
             (url + "/slow", {"timeout": 0.3}, "timed out"),
             (uri(PNG), {"limit_bytes": 10}, "larger than the 10 bytes limit")]
    for value, kwargs, words in cases:
        with pytest.raises(pf.FileInputError) as err:
            pf.fetch_input("image", value, **kwargs)
        assert str(err.value).startswith("input 'image': ") and words in str(err.value), value


def test_file_inputs_are_removed_even_when_predict_raises():
    with pytest.raises(RuntimeError), pf.file_inputs({"image": uri(PNG), "n": 1}, ("image",)) as kw:
        seen = kw["image"]
        assert seen.is_file() and kw["n"] == 1
        raise RuntimeError("predict failed")
    assert not seen.exists()
    with pf.file_inputs({"image": None}, ("image",)) as kw:  # an optional file not sent
        assert kw == {"image": None}


def test_check_local_file_is_cogs_same_rules(tmp_path):
    empty, ok = tmp_path / "empty.png", tmp_path / "ok.png"
    empty.write_bytes(b"")
    ok.write_bytes(PNG)
    assert pf.check_local_files({"image": ok, "mask": None}) == {"image": ok}
    for value, words in ((empty, "the file is empty"), ("hello", "expected an http(s):// URL"),
                         (tmp_path / "missing.png", "expected an http(s):// URL")):
        with pytest.raises(pf.FileInputError, match=re.escape(f"input 'image': {words}")):
            pf.check_local_file("image", value)
    with pytest.raises(pf.FileInputError, match="larger than the 10 bytes limit"):
        pf.check_local_file("image", ok, limit_bytes=10)


def test_outputs_become_json_with_files_as_data_uris(tmp_path):
    text = tmp_path / "a.txt"
    text.write_text("hello")
    out = pf.encode_output({"file": text, "more": [text, b"\x00\x01"], "img": Image.new("RGB", (2, 2)),
                            "f": np.float32(0.5), "a": np.arange(4).reshape(2, 2), "b": np.bool_(True)})
    json.dumps(out)  # all JSON now
    assert out["file"] == "data:text/plain;base64,aGVsbG8="
    assert out["more"][1] == "data:application/octet-stream;base64,AAE="
    assert out["img"].startswith("data:image/png;base64,")
    assert Image.open(io.BytesIO(base64.b64decode(out["img"].split(",")[1]))).size == (2, 2)
    assert (out["f"], out["a"], out["b"]) == (0.5, [[0, 1], [2, 3]], True)


def test_other_outputs_are_refused_naming_the_type(tmp_path):
    with pytest.raises(pf.FileOutputError, match="returned a builtins.set, which cannot be sent as JSON"):
        pf.encode_output({"x": {1, 2}})
    with pytest.raises(pf.FileOutputError, match="which is not a file"):
        pf.encode_output(tmp_path / "nothing.png")


# -- comparison by content -----------------------------------------------------------------------
def test_same_pixels_in_another_encoding_are_the_same_file():
    other = png(compress_level=0)
    assert other != PNG
    assert filecompare.compare(PNG, other) is None
    assert same(uri(PNG), uri(other, "image/png"), None)


def test_differences_are_described():
    changed = io.BytesIO()
    img = Image.new("RGB", (4, 3), (10, 20, 30))
    img.putpixel((3, 2), (10, 23, 30))
    img.save(changed, "PNG")
    text = filecompare.compare(PNG, changed.getvalue())
    assert f"expected {len(PNG)} bytes, sha256 {hashlib.sha256(PNG).hexdigest()[:12]}" in text
    assert "1 of 12 pixels differ by more than 0 (max 3); first at (3, 2): expected (10, 20, 30, 255), " \
           "got (10, 23, 30, 255)" in text
    assert filecompare.compare(PNG, changed.getvalue(), pixel_tolerance=3) is None
    assert "image size 4x3 vs 2x2" in filecompare.compare(PNG, png((2, 2)))
    assert "first differing byte at offset 2" in filecompare.compare(b"abc", b"abd")
    assert "only the expected file is an image" in filecompare.compare(PNG, b"hello")


def test_sha256_expectations_and_non_files():
    want = {"sha256": hashlib.sha256(b"hello").hexdigest()}
    assert same(want, uri(b"hello", "application/octet-stream"), None)
    assert not same(want, uri(b"hullo"), None)
    assert filecompare.first_file_difference({"s": want}, {"s": 12}) == "s: expected a file, got 12"
    assert filecompare.first_file_difference([uri(PNG)], ["nope"]) == "[0]: expected a file, got 'nope'"


def test_diff_never_crashes_and_shortens_files():
    result = CaseResult("x", "example 1", False, expected={"img": uri(PNG)},
                        actual={"img": uri(b"x" * 200), "odd": {1, 2}, "n": np.int64(3)})
    text = result.diff()
    assert f"<file image/png {len(PNG)} bytes, sha256 " in text and "<file image/png 200 bytes" in text
    assert "{1, 2}" in text and "base64" not in text


# -- the reader, the CLI, examples ---------------------------------------------------------------
def test_the_reader_knows_file_inputs_and_outputs():
    info = read_predictor(ROOT / "examples/image-filter/predict.py", "predict.py", "Predictor")
    image = info.inputs[0]
    assert (image.kind, image.accept) == ("path", "image/*")
    assert (info.file_inputs, info.output_kind) == (("image",), "path")
    schema = info.inputs_schema()["properties"]["image"]
    assert (schema["type"], schema["format"], schema["contentMediaType"]) == ("string", "uri", "image/*")


@pytest.mark.parametrize(("source", "message"), [
    ("image: Path = 'x.png'", "a file input's default may only be None"),
    ("image: Annotated[str, Field(json_schema_extra={'accept': 'image/*'})]",
     'json_schema_extra may only hold {"accept": "image/*"} on a Path input'),
    ("image: Annotated[Path, Field(min_length=1)]", "min_length= does not apply to path"),
])
def test_the_reader_refuses_bad_file_inputs(tmp_path, source, message):
    (tmp_path / "p.py").write_text(
        "from pathlib import Path\nfrom typing import Annotated\nfrom pydantic import Field\n\n"
        f"class P:\n    def load(self): pass\n    def predict(self, {source}) -> str:\n        return ''\n")
    with pytest.raises(Exception) as err:
        read_predictor(tmp_path / "p.py", "p.py", "P")
    assert message in str(err.value)


def test_an_unsendable_return_annotation_is_refused_at_validate(tmp_path):
    (tmp_path / "p.py").write_text("class P:\n    def load(self): pass\n"
                                   "    def predict(self, x: int) -> set[int]:\n        return {x}\n")
    with pytest.raises(Exception, match=r"predict\(\) returns 'set\[int\]': a set cannot be sent as JSON"):
        read_predictor(tmp_path / "p.py", "p.py", "P")


def test_cli_file_inputs(tmp_path):
    (tmp_path / "photo.png").write_bytes(PNG)
    assert cli_file_input("image", "@photo.png", tmp_path) == uri(PNG)
    assert cli_file_input("image", "https://x/y.png", tmp_path) == "https://x/y.png"
    with pytest.raises(InvalidInput, match=r"input 'image': no file nope.png \(from -i image=@nope.png\)"):
        cli_file_input("image", "@nope.png", tmp_path)


def test_file_outputs_are_written_never_overwriting(tmp_path):
    out, written = write_file_outputs({"a": uri(PNG), "b": [uri(b"hi", "text/plain")], "n": 1}, tmp_path)
    assert out == {"a": str(tmp_path / "output.png"), "b": [str(tmp_path / "output-1.txt")], "n": 1}
    again, _ = write_file_outputs(uri(PNG), tmp_path)
    assert again == str(tmp_path / "output-1.png") and (tmp_path / "output.png").read_bytes() == PNG
    assert [size for _, size in written] == [len(PNG), 2]


def test_examples_name_files_and_missing_ones_are_refused(tmp_path):
    project = with_example_files(load_project(ROOT / "examples/image-filter"))
    first = project.spec.examples[0]
    assert first.input["image"] == uri((ROOT / "examples/image-filter/cat.png").read_bytes())
    assert first.output.startswith("data:image/png;base64,")
    spec = (ROOT / "examples/image-filter/portapack.yaml").read_text().replace("@cat.png", "@dog.png")
    for name in ("predict.py", "cat.png"):
        (tmp_path / name).write_bytes((ROOT / "examples/image-filter" / name).read_bytes())
    (tmp_path / "portapack.yaml").write_text(spec.replace("@expected/fit-32.png", "@cat.png"))
    with pytest.raises(Exception, match="no file dog.png") as err:
        load_project(tmp_path)
    assert "examples[0].input.image" in str(err.value) or "portapack.yaml:" in str(err.value)


IMAGE_PREDICTOR = """\
from pathlib import Path


class Predictor:
    def load(self) -> None:
        pass

    def predict(self, image: Path) -> int:
        return image.stat().st_size
"""


def image_project(root: Path, files: str = "", size: int = 10, env: str = "") -> Path:
    """A file-input project whose example sends samples/cat.png (``size`` bytes, sparse)."""
    (root / "samples").mkdir(parents=True)
    (root / "predict.py").write_text(IMAGE_PREDICTOR)
    with open(root / "samples/cat.png", "wb") as f:
        f.truncate(size)  # sparse: a 100 MiB file costs no disk
    (root / "portapack.yaml").write_text(
        f"name: img\npredictor: predict.py:Predictor\n{files}{env}"
        f"examples:\n  - input: {{image: \"@samples/cat.png\"}}\n    output: {size}\n")
    return root


def test_example_files_are_not_shipped_unless_files_names_them(tmp_path):
    import portapack

    default = load_project(image_project(tmp_path / "default"))
    assert default.files == ("predict.py",)  # the example's file is test data, not code
    built = portapack.build(default, ["runpod"], tmp_path / "out")
    assert not (built["runpod"].path / "samples").exists()
    named = load_project(image_project(tmp_path / "named", 'files: ["predict.py", "samples/"]\n'))
    assert named.files == ("predict.py", "samples/cat.png")
    built = portapack.build(named, ["runpod"], tmp_path / "out2")
    shipped = built["runpod"].path / "samples/cat.png"  # listed: shipped, linked not copied
    assert shipped.stat().st_ino == (tmp_path / "named/samples/cat.png").stat().st_ino


def test_an_example_file_over_the_input_limit_is_refused_naming_it(tmp_path):
    from click.testing import CliRunner

    from portapack.cli import main
    from portapack.errors import SpecError

    root = image_project(tmp_path / "big", size=100 * 1024 * 1024 + 1)
    with pytest.raises(SpecError) as err:
        load_project(root)
    message = str(err.value)
    assert "example 1: input 'image': samples/cat.png is 100.0 MiB, over the 100.0 MiB limit" in message
    result = CliRunner().invoke(main, ["validate", "--spec", str(root)])
    assert result.exit_code == 2 and "samples/cat.png" in result.output
    result = CliRunner().invoke(main, ["build", "--spec", str(root), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "over the 100.0 MiB limit" in result.output
    # The spec's env raises the limit every artifact enforces: then the example is fine.
    raised = image_project(tmp_path / "raised", size=100 * 1024 * 1024 + 1,
                           env="env: {PORTAPACK_MAX_INPUT_BYTES: '200000000'}\n")
    assert load_project(raised).spec.examples
