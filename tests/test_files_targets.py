"""File inputs and outputs on every target's own local runtime (Modal's .local() and web
endpoint, Cog's server, Truss's server, RunPod's local API): the same pixels everywhere, bad
file inputs refused naming the input while the server keeps serving, and RunPod's bucket
upload (rp_upload) against moto's real S3 server on loopback."""

from __future__ import annotations

import base64
import functools
import http.server
import io
import threading
from pathlib import Path

import pytest
from PIL import Image

import portapack
from portapack.proof.filecompare import compare, file_bytes
from portapack.proof.runtimes import get_runtime
from portapack.spec.loader import load_project

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples/image-filter"
CAT = (EXAMPLE / "cat.png").read_bytes()
EXPECTED = (EXAMPLE / "expected/fit-32.png").read_bytes()
LIMIT = 2000  # PORTAPACK_MAX_INPUT_BYTES in every artifact under test (cat.png is 360 bytes)
TARGETS = ["modal", "cog", "truss", "runpod"]


def uri(data: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64," + base64.b64encode(data).decode()


@pytest.fixture(scope="module")
def files_url():
    """A loopback HTTP server with cat.png; anything else is a 404."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(EXAMPLE))
    handler.log_message = lambda *a: None  # type: ignore[method-assign]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("files-build")
    return out, portapack.build(EXAMPLE, TARGETS, out)


def run(target: str, built, env: dict[str, str]):
    out, result = built
    project = load_project(EXAMPLE, exclude=(out,))
    return get_runtime(target, result[target].path, project=project, env=env)


@pytest.mark.parametrize("target", TARGETS)
def test_files_on_every_target(target, built, files_url):
    runtime = run(target, built, {"PORTAPACK_MAX_INPUT_BYTES": str(LIMIT)})
    runtime.start()
    try:
        for label, call in runtime.endpoints().items():
            where = f"{target}{f' ({label})' if label else ''}"
            for sent in (uri(CAT), f"{files_url}/cat.png"):
                outcome = call({"image": sent})
                assert outcome.ok, (where, outcome.error)
                got = file_bytes(outcome.output)
                assert got is not None and compare(EXPECTED, got) is None, (where, outcome.output[:80])
            outcome = call({"image": uri(CAT), "mode": "fill", "width": 16, "blur": 0.0})
            assert outcome.ok and Image.open(io.BytesIO(file_bytes(outcome.output))).size == (16, 12)
            bad = {
                "404": f"{files_url}/gone.png",
                "not an image": uri(b"hello", "text/plain"),
                "truncated": uri(CAT)[:-7],
                "over the limit": uri(bytes(LIMIT + 500)),
                "not a URL": "hello.png",
            }
            for case, value in bad.items():
                outcome = call({"image": value})
                assert not outcome.ok, (where, case)
                if target == "cog" and case in ("404", "truncated"):
                    # Cog's server downloads/decodes before run(): its own words, no input name.
                    assert "Input validation error" in outcome.error, (where, case, outcome.error)
                    assert ("404" if case == "404" else "base64") in outcome.error
                elif where in ("modal (web)", "truss") and case == "not an image":
                    # The predictor itself raised (not the adapter): these HTTP servers answer a
                    # bare 500 and keep its message in the log (FastAPI's and Truss's way).
                    assert outcome.status == 500, outcome
                else:
                    assert "input 'image'" in (outcome.error or ""), (where, case, outcome.error)
                assert call({"image": uri(CAT)}).ok, f"{where} stopped serving after {case}"
    finally:
        runtime.stop()


@pytest.fixture
def s3():
    """moto's real S3 server (moto[s3] from PyPI) on loopback, with a bucket 'outputs'."""
    boto3 = pytest.importorskip("boto3")
    server_mod = pytest.importorskip("moto.server")
    server = server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    client = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="test",
                          aws_secret_access_key="test", region_name="us-east-1")
    client.create_bucket(Bucket="outputs")
    yield endpoint, client
    server.stop()


def test_runpod_uploads_file_outputs_to_the_bucket(built, s3):
    endpoint, client = s3
    runtime = run("runpod", built, {"BUCKET_ENDPOINT_URL": endpoint, "BUCKET_ACCESS_KEY_ID": "test",
                                    "BUCKET_SECRET_ACCESS_KEY": "test", "BUCKET_NAME": "outputs"})
    runtime.start()
    try:
        outcome = runtime.predict({"image": uri(CAT)})
        assert outcome.ok, outcome.error
        assert outcome.output.startswith(f"{endpoint}/outputs/") and "X-Amz-Signature=" in outcome.output
        keys = [o["Key"] for o in client.list_objects_v2(Bucket="outputs")["Contents"]]
        assert len(keys) == 1 and keys[0].endswith("/0-filtered.png"), keys
        stored = client.get_object(Bucket="outputs", Key=keys[0])["Body"].read()
        assert compare(EXPECTED, stored) is None
        assert compare(EXPECTED, file_bytes(outcome.output)) is None  # the presigned URL works
    finally:
        runtime.stop()


def test_runpod_missing_bucket_is_a_failed_job_not_a_local_path(built, s3):
    endpoint, _ = s3
    runtime = run("runpod", built, {"BUCKET_ENDPOINT_URL": endpoint, "BUCKET_ACCESS_KEY_ID": "test",
                                    "BUCKET_SECRET_ACCESS_KEY": "test", "BUCKET_NAME": "no-such"})
    runtime.start()
    try:
        outcome = runtime.predict({"image": uri(CAT)})
        assert not outcome.ok and "uploading the output file filtered.png failed" in outcome.error
        assert "NoSuchBucket" in outcome.error
    finally:
        runtime.stop()
