"""The client against stand-ins of each cloud's inference API (tests/calling_standins.py):
the exact requests it sends, cold starts shown as waiting, retries (429 + Retry-After, 503,
dropped connections), failed jobs, cancel on Ctrl-C and on the deadline, streams cut short.
Timings are never asserted beyond "waited at least what the server asked"."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path

import pytest
from calling_standins import (
    REPLICATE_SCHEMA,
    BasetenStandIn,
    ModalStandIn,
    ReplicateStandIn,
    RunpodStandIn,
)

import portapack
from portapack.calling import AsyncClient, CallError, CallTimeout, Client, PollPolicy, RetryPolicy

FAST = {"retry": RetryPolicy(base=0.01), "poll": PollPolicy(first=0.05, factor=1.5, cap=0.3)}
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def no_tokens(monkeypatch):
    for name in ("REPLICATE_API_TOKEN", "RUNPOD_API_KEY", "BASETEN_API_KEY",
                 "BASETEN_TRUSS_AUTH_API_KEY", "MODAL_KEY", "MODAL_SECRET",
                 "PORTAPACK_REPLICATE_API_URL", "PORTAPACK_RUNPOD_JOB_URL",
                 "RUNPOD_ENDPOINT_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def replicate_schema():
    if not REPLICATE_SCHEMA.is_file():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{REPLICATE_SCHEMA} is missing: the Replicate stand-in validates against it")
        pytest.skip(f"{REPLICATE_SCHEMA} is absent: Replicate's OpenAPI document is read from "
                    "there (never copied into the repo)")


def replicate(monkeypatch, api, **kw) -> Client:
    monkeypatch.setenv("PORTAPACK_REPLICATE_API_URL", api.url + "/v1")
    monkeypatch.setenv("REPLICATE_API_TOKEN", api.token)
    return Client("replicate", endpoint="acme/echo", **FAST, **kw)


def runpod(monkeypatch, api, cls=Client, **kw):
    monkeypatch.setenv("PORTAPACK_RUNPOD_JOB_URL", api.url + "/v2")
    monkeypatch.setenv("RUNPOD_API_KEY", api.token)
    return cls("runpod", endpoint="ep1", **FAST, **kw)


# -- Replicate --------------------------------------------------------------------------------
def test_replicate_cold_start_is_waiting_then_the_output(monkeypatch, no_tokens, replicate_schema):
    seen = []
    with ReplicateStandIn(cold=3.0) as api:
        client = replicate(monkeypatch, api, wait=1, on_status=lambda job, s: seen.append(job.state.value))
        assert client.predict(text="hi there") == {"echo": "hi there", "n": 8}
    assert api.refused == [] and api.answered == []
    create, *polls = api.requests
    assert (create.method, create.path) == ("POST", "/v1/deployments/acme/echo/predictions")
    assert create.body == {"input": {"text": "hi there"}}
    assert create.headers["authorization"] == "Bearer r8-tok"
    assert create.headers["prefer"] == "wait=1"
    assert {(p.method, p.path) for p in polls} == {("GET", "/v1/predictions/p1")}
    assert seen[0] == "queued" and seen[-1] == "succeeded" and "running" in seen
    assert len(polls) < 20  # intervals back off (0.05 s up to 0.3 s here): ~3 s is a dozen polls


def test_replicate_429_waits_what_the_body_says_and_resends_the_create(monkeypatch, no_tokens,
                                                                       replicate_schema):
    throttled = (429, {}, {"detail": "Request was throttled. Expected available in 1 second."})
    with ReplicateStandIn() as api:
        api.inject[("POST", r"/v1/deployments/.*")] = [throttled]
        started = time.monotonic()
        assert replicate(monkeypatch, api).predict(text="a")["echo"] == "a"
    creates = api.calls("POST", r"/v1/deployments/.*")
    assert len(creates) == 2 and creates[1].at - creates[0].at >= 1.0
    assert time.monotonic() - started >= 1.0


def test_replicate_500_on_create_is_not_sent_again(monkeypatch, no_tokens, replicate_schema):
    with ReplicateStandIn() as api:
        api.inject[("POST", r"/v1/deployments/.*")] = [(500, {}, {"detail": "boom"})]
        with pytest.raises(CallError) as err:
            replicate(monkeypatch, api).predict(text="a")
    assert len(api.calls("POST", r"/v1/deployments/.*")) == 1
    assert err.value.kind == "platform" and err.value.http_status == 500
    assert "Replicate" in str(err.value) and "boom" in str(err.value)


def test_replicate_polls_survive_503_and_a_dropped_connection(monkeypatch, no_tokens, replicate_schema):
    with ReplicateStandIn(run=0.3) as api:
        api.inject[("GET", r"/v1/predictions/.*")] = [(503, {}, {"detail": "busy"}), "drop"]
        assert replicate(monkeypatch, api).predict(text="ok")["echo"] == "ok"
    assert len(api.calls("POST", r"/v1/deployments/.*")) == 1


def test_replicate_failed_prediction_is_one_error_naming_the_input(monkeypatch, no_tokens,
                                                                   replicate_schema):
    with ReplicateStandIn() as api:
        with pytest.raises(CallError) as err:
            replicate(monkeypatch, api).predict(text="bad", fail=True)
    assert err.value.kind == "model" and err.value.job_id == "p1"
    assert "the model refused 'bad'" in str(err.value) and "text='bad'" in str(err.value)


def test_replicate_stream_recovers_from_a_cut_stream_by_polling(monkeypatch, no_tokens,
                                                                replicate_schema):
    with ReplicateStandIn(streams=True, drop_stream_after=2, run=0.1) as api:
        items = list(replicate(monkeypatch, api).stream(text="one two three four"))
    assert items == ["one ", "two ", "three ", "four "]  # none lost, none twice
    stream = api.calls("GET", r"/v1/stream/.*")
    assert len(stream) == 1 and stream[0].headers["accept"] == "text/event-stream"


def test_replicate_ctrl_c_cancels_the_prediction_then_reraises(monkeypatch, no_tokens,
                                                               replicate_schema):
    def interrupt(job, seconds):
        if job.state.value == "queued":
            raise KeyboardInterrupt

    with ReplicateStandIn(cold=3.0) as api:
        with pytest.raises(KeyboardInterrupt):
            replicate(monkeypatch, api, wait=1, on_status=interrupt).predict(text="x")
    cancel = api.calls("POST", r"/v1/predictions/p1/cancel")
    assert len(cancel) == 1 and cancel[0].headers["authorization"] == "Bearer r8-tok"


def test_replicate_deadline_cancels_and_raises_call_timeout(monkeypatch, no_tokens, replicate_schema):
    with ReplicateStandIn(cold=3.0) as api:
        with pytest.raises(CallTimeout) as err:
            replicate(monkeypatch, api, wait=1).predict(text="x", timeout=1.5)
    assert err.value.canceled and err.value.job_id == "p1"
    assert len(api.calls("POST", r"/v1/predictions/p1/cancel")) == 1


def test_replicate_submit_status_result_and_cancel(monkeypatch, no_tokens, replicate_schema):
    with ReplicateStandIn(cold=0.2) as api:
        client = replicate(monkeypatch, api)
        job = client.submit(text="abc")
        assert job.id == "p1" and job.status() in ("queued", "running", "succeeded")
        assert job.result(timeout=10) == {"echo": "abc", "n": 3}
        other = client.submit(text="zzz")
        assert other.cancel() is True and other.job.state.value == "canceled"
        assert "prefer" not in api.requests[0].headers  # submit does not hold the request


def test_replicate_wrong_token_is_an_auth_error_naming_the_variable(monkeypatch, no_tokens,
                                                                    replicate_schema):
    with ReplicateStandIn() as api:
        monkeypatch.setenv("PORTAPACK_REPLICATE_API_URL", api.url + "/v1")
        client = Client("cog", endpoint="acme/echo", token="wrong", **FAST)
        with pytest.raises(CallError) as err:
            client.predict(text="a")
    assert err.value.kind == "auth" and "REPLICATE_API_TOKEN" in str(err.value)
    assert "wrong" not in str(err.value) and "wrong" not in repr(client.transport)


# -- RunPod -----------------------------------------------------------------------------------
def test_runpod_runsync_that_outlives_its_wait_is_polled(monkeypatch, no_tokens):
    seen = []
    with RunpodStandIn(cold=3.0) as api:
        client = runpod(monkeypatch, api, wait=1, on_status=lambda j, s: seen.append(j.state.value))
        assert client.predict(text="hi") == {"echo": "hi", "n": 2}
    assert api.refused == []
    create, *polls = api.requests
    assert (create.method, create.path, create.query) == ("POST", "/v2/ep1/runsync", {"wait": "1000"})
    assert create.body == {"input": {"text": "hi"}}
    assert create.headers["authorization"] == "Bearer rp-key"
    assert {(p.method, p.path) for p in polls} == {("GET", "/v2/ep1/status/job-1")}
    assert seen[0] == "queued" and seen[-1] == "succeeded"


def test_runpod_429_with_retry_after_is_honoured(monkeypatch, no_tokens):
    with RunpodStandIn() as api:
        api.inject[("POST", r"/v2/ep1/run")] = [
            (429, {"Retry-After": "1", "Content-Type": "application/problem+json"},
             {"title": "Too Many Requests", "status": 429, "detail": "slow down"})]
        job = runpod(monkeypatch, api).submit(text="a")
        assert job.result(timeout=10)["echo"] == "a"
    runs = api.calls("POST", r"/v2/ep1/run")
    assert len(runs) == 2 and runs[1].at - runs[0].at >= 1.0


def test_runpod_failed_job_shows_the_handlers_message(monkeypatch, no_tokens):
    with RunpodStandIn() as api:
        with pytest.raises(CallError) as err:
            runpod(monkeypatch, api, wait=2).predict(text="no", fail=True)
    assert err.value.kind == "model" and err.value.platform == "RunPod"
    assert "RuntimeError: the model refused 'no'" in str(err.value)
    assert "Traceback" not in str(err.value)


def test_runpod_stream_each_item_once_despite_a_dropped_poll(monkeypatch, no_tokens):
    with RunpodStandIn(run=0.4) as api:
        api.inject[("GET", r"/v2/ep1/stream/.*")] = ["drop"]
        items = list(runpod(monkeypatch, api).stream(text="a b c d"))
    assert items == ["a ", "b ", "c ", "d "]
    assert api.calls("POST", r"/v2/ep1/run")[0].body == {"input": {"text": "a b c d"}}


def test_runpod_ctrl_c_cancels_the_job(monkeypatch, no_tokens):
    def interrupt(job, seconds):
        if job.state.value == "queued" and job.id:
            raise KeyboardInterrupt

    with RunpodStandIn(cold=3.0) as api:
        with pytest.raises(KeyboardInterrupt):
            runpod(monkeypatch, api, on_status=interrupt).submit(text="x").result()
    assert [c.method for c in api.calls("POST", r"/v2/ep1/cancel/job-1")] == ["POST"]


def test_runpod_async_client_predict_and_stream(monkeypatch, no_tokens):
    async def go(api):
        async with runpod(monkeypatch, api, cls=AsyncClient, wait=2) as client:
            out = await client.predict(text="x y")
            items = [i async for i in client.stream(text="x y")]
            job = await client.submit(text="q")
            return out, items, await job.result()

    with RunpodStandIn() as api:
        out, items, result = asyncio.run(go(api))
    assert out == {"echo": "x y", "n": 3} and items == ["x ", "y "] and result["echo"] == "q"
    assert api.refused == []


# -- Baseten ----------------------------------------------------------------------------------
def baseten(api, **kw) -> Client:
    return Client("truss", f"{api.url}/environments/production/predict", token=api.token, **FAST, **kw)


def test_baseten_sends_the_bare_inputs_and_retries_503(no_tokens):
    with BasetenStandIn() as api:
        api.inject[("POST", r".*/predict")] = [(503, {}, {"error": "no replica yet"})]
        assert baseten(api).predict(text="hey") == {"echo": "hey", "n": 3}
    first, second = api.requests
    assert first.body == second.body == {"text": "hey"}
    assert second.headers["authorization"] == "Api-Key bt-key" and api.refused == []


def test_baseten_model_error_is_kind_model(no_tokens):
    with BasetenStandIn() as api:
        with pytest.raises(CallError) as err:
            baseten(api).predict(text="x", fail=True)
    assert err.value.kind == "model" and "Internal Server Error (in model/chainlet)." in str(err.value)


def test_baseten_streams_text_or_json_lines_and_reports_a_cut_stream(no_tokens):
    from portapack.spec.signature import InputSpec, PredictorInfo
    from portapack.targets.truss.client import BasetenTransport

    with BasetenStandIn(streams=True, text=True) as api:  # Iterator[str]: the text as it comes
        assert "".join(baseten(api).stream(text="a b")) == "a b "
    # Iterator[dict]: one JSON line per item
    json_items = PredictorInfo("predict.py", "P", (InputSpec("text", "str"),), True, "dict")
    with BasetenStandIn(streams=True) as api:
        t = BasetenTransport(f"{api.url}/production/predict", token=api.token, predictor=json_items)
        assert list(Client(t, **FAST).stream(text="a b")) == ["a ", "b "]
    with BasetenStandIn(streams=True, drop_stream_after=1) as api:
        t = BasetenTransport(f"{api.url}/production/predict", token=api.token, predictor=json_items)
        got = []
        with pytest.raises(CallError) as err:
            for item in Client(t, **FAST).stream(text="a b c"):
                got.append(item)
    assert got == ["a "] and err.value.kind == "model" and "broke off" in str(err.value)


def test_baseten_missing_key_names_the_variable(no_tokens):
    with BasetenStandIn() as api:
        client = Client("truss", f"{api.url}/production/predict", **FAST)
        with pytest.raises(CallError) as err:
            client.predict(text="a")
    assert err.value.kind == "auth" and "BASETEN_API_KEY" in str(err.value)


# -- Modal ------------------------------------------------------------------------------------
def test_modal_follows_303_with_bare_gets_past_urllibs_limit(no_tokens):
    with ModalStandIn(slow=6) as api:
        assert Client("modal", api.url + "/", **FAST).predict(text="slow") == {"echo": "slow", "n": 4}
    post, *gets = api.requests
    assert (post.method, post.body) == ("POST", {"text": "slow"})
    assert len(gets) == 6 and all(g.method == "GET" and g.body is None for g in gets)
    assert api.refused == []


def test_modal_422_is_an_input_error_and_stream_lines_are_items(no_tokens):
    with ModalStandIn() as api:
        with pytest.raises(CallError) as err:
            Client("modal", api.url + "/", **FAST).predict(text=3)
    assert err.value.kind == "input" and "input 'text'" in str(err.value)
    with ModalStandIn(streams=True) as api:
        assert list(Client("modal", api.url + "/", **FAST).stream(text="x y")) == ["x ", "y "]


def test_modal_proxy_auth_headers_come_from_the_environment(monkeypatch, no_tokens):
    with ModalStandIn(proxy_auth=True) as api:
        with pytest.raises(CallError) as err:
            Client("modal", api.url + "/", **FAST).predict(text="a")
        assert err.value.kind == "auth" and "missing credentials" in str(err.value)
        monkeypatch.setenv("MODAL_KEY", "wk-1")
        monkeypatch.setenv("MODAL_SECRET", "ws-1")
        assert Client("modal", api.url + "/", **FAST).predict(text="a")["echo"] == "a"


# -- neutral behaviour ------------------------------------------------------------------------
def test_inputs_are_validated_before_anything_is_sent(no_tokens):
    project = portapack.load_project(ROOT / "examples" / "text-stats")
    with BasetenStandIn() as api:
        client = Client("truss", f"{api.url}/production/predict", token=api.token,
                        project=project, **FAST)
        with pytest.raises(CallError) as err:
            client.predict(text=3, top_k="many")
    assert api.requests == [] and err.value.kind == "input"
    assert "input 'text'" in str(err.value) and "input 'top_k'" in str(err.value)


def test_file_inputs_travel_as_data_uris_and_file_outputs_come_back_as_paths(tmp_path, no_tokens):
    picture = tmp_path / "in.png"
    picture.write_bytes(b"\x89PNG fake")
    with ModalStandIn() as api:
        client = Client("modal", api.url + "/", output_dir=tmp_path / "out", **FAST)
        client.predict(text=picture)
    sent = api.requests[0].body["text"]
    assert sent.startswith("data:image/png;base64,")
    from portapack.calling.values import decode_output

    path = decode_output({"img": sent}, tmp_path / "out")["img"]
    assert isinstance(path, Path) and path.read_bytes() == b"\x89PNG fake"


def test_from_deploy_reads_what_deploy_recorded(tmp_path, monkeypatch, no_tokens):
    from portapack.deploying.record import write_record

    with RunpodStandIn() as api:
        monkeypatch.setenv("PORTAPACK_RUNPOD_JOB_URL", api.url + "/v2")
        write_record(tmp_path, "runpod", {"name": "text-stats", "endpoint_id": "ep1",
                                          "url": "https://api.runpod.ai/v2/ep1/runsync"})
        client = Client.from_deploy(ROOT / "examples" / "text-stats", "runpod", out=tmp_path,
                                    token=api.token, **FAST)
        assert client.predict(text="good")["echo"] == "good"


def test_cli_call_prints_the_cold_start_as_waiting(tmp_path, monkeypatch, no_tokens):
    from click.testing import CliRunner

    from portapack.cli import main
    from portapack.deploying.record import write_record

    with RunpodStandIn(cold=3.0) as api:
        monkeypatch.setenv("PORTAPACK_RUNPOD_JOB_URL", api.url + "/v2")
        monkeypatch.setenv("RUNPOD_API_KEY", api.token)
        write_record(tmp_path / "build", "runpod", {"endpoint_id": "ep1"})
        spec = ROOT / "examples" / "text-stats"
        result = CliRunner().invoke(main, ["call", "--spec", str(spec), "-t", "runpod",
                                           "--out", str(tmp_path / "build"), "-i", "text=nice"])
    assert result.exit_code == 0, result.output
    assert "waiting: queued (cold start?)" in result.output
    assert json.loads(result.stdout[result.stdout.index("{"):])["echo"] == "nice"


def test_cli_call_repeat_prints_percentiles(tmp_path, monkeypatch, no_tokens):
    from click.testing import CliRunner

    from portapack.cli import main

    with BasetenStandIn() as api:
        monkeypatch.setenv("BASETEN_API_KEY", api.token)
        result = CliRunner().invoke(main, [
            "call", "--spec", str(ROOT / "examples" / "text-stats"), "-t", "truss",
            "--url", f"{api.url}/production/predict", "-i", "text=x", "--repeat", "6",
            "--concurrency", "2", "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    assert figures["calls"] == 6 and figures["errors"] == 0
    assert {"p50_ms", "p95_ms", "p99_ms", "per_second"} <= set(figures)


def test_import_portapack_does_not_load_httpx():
    import subprocess
    import sys

    code = "import sys, portapack, portapack.cli; print('httpx' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# -- server: projects (an LLM engine's own routes) --------------------------------------------
def _openai_standin():
    """An OpenAI-style server behind each platform's URL form: answers any POST ending in
    /v1/chat/completions, streaming SSE lines when the body says so."""
    from calling_standins import StandIn, Stream

    class Api(StandIn):
        def answer(self, seen):
            if seen.method != "POST" or not seen.path.endswith("/v1/chat/completions"):
                return 404, {}, {"error": "no route"}
            if seen.body.get("stream"):
                chunks = [f"data: {json.dumps({'choices': [{'delta': {'content': w}}]})}\n\n".encode()
                          for w in ("Hel", "lo")] + [b"data: [DONE]\n\n"]
                return Stream(chunks, "text/event-stream")
            return 200, {}, {"choices": [{"message": {"content": "Hello"}}]}

    return Api()


def test_server_routes_pass_through_with_each_platforms_url_and_auth(monkeypatch, no_tokens):
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    with _openai_standin() as api:
        monkeypatch.setenv("PORTAPACK_RUNPOD_LB_URL", api.url)
        runpod_client = Client("runpod", endpoint="ep1", token="rp-key")
        baseten_client = Client("truss", f"{api.url}/environments/production/predict", token="bt")
        modal_client = Client("modal", api.url)
        for client in (runpod_client, baseten_client, modal_client):
            resp = client.post("/v1/chat/completions", json=body)
            assert resp.json()["choices"][0]["message"]["content"] == "Hello"
        lines = [line for line in modal_client.post("/v1/chat/completions",
                                                    json={**body, "stream": True}, stream=True)
                 if line.startswith("data: {")]
        assert [json.loads(line[6:])["choices"][0]["delta"]["content"] for line in lines] == ["Hel", "lo"]
    rp, bt, md = api.requests[:3]
    assert (rp.path, rp.headers["authorization"]) == ("/v1/chat/completions", "Bearer rp-key")
    assert (bt.path, bt.headers["authorization"]) == (
        "/environments/production/sync/v1/chat/completions", "Api-Key bt")
    assert md.path == "/v1/chat/completions" and "authorization" not in md.headers
    assert baseten_client.openai_base() == f"{api.url}/environments/production/sync/v1"
    assert runpod_client.openai_base() == f"{api.url}/v1"
    assert Client("cog", endpoint="acme/echo", token="t").openai_base() is None


def test_an_unreachable_platform_is_retried_then_reported(no_tokens):
    from portapack.proof.runtimes.base import free_port

    client = Client("truss", f"http://127.0.0.1:{free_port()}/production/predict", token="k",
                    retry=RetryPolicy(attempts=3, base=0.01))
    with pytest.raises(CallError) as err:
        client.predict(text="a")
    assert err.value.kind == "platform" and "cannot reach" in str(err.value)


def test_replicate_uploads_a_large_file_and_inlines_a_small_one(tmp_path, monkeypatch, no_tokens,
                                                                replicate_schema):
    big, small = tmp_path / "big.png", tmp_path / "small.png"
    big.write_bytes(b"\x89PNG" + bytes(range(256)) * 1200)  # ~300 KB: over the 256 KB advice
    small.write_bytes(b"\x89PNG tiny")
    with ReplicateStandIn() as api:
        replicate(monkeypatch, api).predict(text=big, other=small)
    upload, create = api.requests[0], api.requests[1]
    assert (upload.method, upload.path) == ("POST", "/v1/files")
    assert upload.headers["authorization"] == "Bearer r8-tok"
    (name, content, kind), = api.files.values()
    assert (name, content, kind) == ("text", big.read_bytes(), "image/png")
    sent = create.body["input"]
    assert sent["text"] == f"{api.url}/v1/files/f1"  # the upload's urls.get
    assert sent["other"].startswith("data:image/png;base64,")
    assert api.refused == [] and api.answered == []


def test_async_client_streams_sse_and_bytes_as_the_sync_one_does(monkeypatch, no_tokens,
                                                                 replicate_schema):
    async def replicate_items(api):
        async with AsyncClient("cog", endpoint="acme/echo", **FAST) as client:
            return [i async for i in client.stream(text="one two three")]

    async def baseten_text(api):
        async with AsyncClient("truss", f"{api.url}/production/predict", token=api.token,
                               **FAST) as client:
            return "".join([i async for i in client.stream(text="x y z")])

    with ReplicateStandIn(streams=True, drop_stream_after=1, run=0.1) as api:
        monkeypatch.setenv("PORTAPACK_REPLICATE_API_URL", api.url + "/v1")
        monkeypatch.setenv("REPLICATE_API_TOKEN", api.token)
        assert asyncio.run(replicate_items(api)) == ["one ", "two ", "three "]
    with BasetenStandIn(streams=True, text=True) as api:
        assert asyncio.run(baseten_text(api)) == "x y z "


def test_cli_call_async_then_job_and_stream(tmp_path, monkeypatch, no_tokens):
    from click.testing import CliRunner

    from portapack.cli import main

    spec = str(ROOT / "examples" / "text-stats")
    with RunpodStandIn(cold=0.3) as api:
        monkeypatch.setenv("PORTAPACK_RUNPOD_JOB_URL", api.url + "/v2")
        monkeypatch.setenv("RUNPOD_API_KEY", api.token)
        started = CliRunner().invoke(main, ["call", "--spec", spec, "-t", "runpod", "--id", "ep1",
                                            "-i", "text=later", "--async", "--json"])
        assert started.exit_code == 0, started.output
        job = json.loads(started.output)
        assert job["id"] == "job-1" and job["state"] == "queued"
        done = CliRunner().invoke(main, ["call", "--spec", spec, "-t", "runpod", "--id", "ep1",
                                         "--job", "job-1", "--json"])
        assert done.exit_code == 0, done.output
        assert json.loads(done.output)["output"]["echo"] == "later"
        streamed = CliRunner().invoke(main, ["call", "--spec", spec, "-t", "runpod", "--id", "ep1",
                                             "-i", "text=a b", "--stream", "--json"])
        assert json.loads(streamed.output)["output"] == ["a ", "b "]
        bad = CliRunner().invoke(main, ["call", "--spec", spec, "-t", "runpod", "--id", "ep1",
                                        "-i", "top_k=99"])
    assert bad.exit_code == 2 and "input 'text'" in bad.output and "input 'top_k'" in bad.output
    assert [r.path for r in api.requests if r.method == "POST"] == ["/v2/ep1/run", "/v2/ep1/run"]


def test_a_modal_deploy_without_a_web_url_says_what_to_pass(no_tokens):
    with pytest.raises(CallError) as err:
        Client("modal", "https://modal.com/apps (app text-stats)")
    assert err.value.kind == "not_found" and "--url" in str(err.value)
