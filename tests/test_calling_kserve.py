"""The KServe transport: the exact requests against a stand-in of an InferenceService
(tests/calling_standins.py: KserveStandIn), and a bad input against KServe's real model server
(the kserve target's local runtime). Every example against the real server, a failing model
and an interrupted stream are in tests/test_calling_local.py, as for the other targets."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest
from calling_standins import KserveStandIn, StandIn, Stream

import portapack
from portapack.calling import AsyncClient, CallError, Client, PollPolicy, RetryPolicy

FAST = {"retry": RetryPolicy(base=0.01), "poll": PollPolicy(first=0.05, factor=1.5, cap=0.3)}
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def no_token(monkeypatch):
    monkeypatch.delenv("KSERVE_TOKEN", raising=False)


def kserve(api, **kw) -> Client:
    kw.setdefault("endpoint", "models/echo")  # what deploy records: namespace/name
    return Client("kserve", api.url, **FAST, **kw)


# -- the wire format --------------------------------------------------------------------------
def test_predict_sends_one_instance_and_reads_the_prediction():
    with KserveStandIn() as api:
        assert kserve(api).predict(text="hey") == {"echo": "hey", "n": 3}
    (seen,) = api.requests
    assert (seen.method, seen.path) == ("POST", "/v1/models/echo:predict")
    assert seen.body == {"instances": [{"text": "hey"}]}
    assert seen.headers["content-type"] == "application/json"
    assert "authorization" not in seen.headers and api.refused == []


def test_the_model_name_comes_from_the_url_the_endpoint_or_the_spec():
    project = portapack.load_project(ROOT / "examples" / "text-stats")
    with KserveStandIn(name="text-stats") as api:
        by_url = Client("kserve", f"{api.url}/v1/models/text-stats:predict", **FAST)
        by_spec = Client("kserve", api.url + "/", project=project, **FAST)
        assert by_url.predict(text="a") == {"echo": "a", "n": 1}
        assert by_spec.predict(text="b") == {"echo": "b", "n": 1}
        assert [r.path for r in api.requests] == ["/v1/models/text-stats:predict"] * 2
        with pytest.raises(CallError) as err:
            kserve(api).predict(text="c")  # endpoint models/echo: not served here
    assert err.value.kind == "not_found" and err.value.http_status == 404
    assert "Model with name echo does not exist." in str(err.value)
    assert "endpoint='NAME'" in str(err.value)
    with pytest.raises(CallError) as err:
        Client("kserve", "http://127.0.0.1:9", **FAST).predict(text="d")
    assert err.value.kind == "not_found" and "no model name" in str(err.value)
    with pytest.raises(CallError) as err:
        Client("kserve", endpoint="models/echo")
    assert err.value.kind == "not_found" and "status.url" in str(err.value)


def test_429_with_retry_after_is_waited_for_then_sent_again():
    with KserveStandIn() as api:
        api.inject[("POST", r".*:predict")] = [(429, {"Retry-After": "1"}, {"error": "slow down"})]
        started = time.monotonic()
        assert kserve(api).predict(text="hey")["echo"] == "hey"
        waited = time.monotonic() - started
    first, second = api.requests
    assert waited >= 1.0 and first.body == second.body == {"instances": [{"text": "hey"}]}


def test_503_is_sent_again_but_a_model_failure_and_4xx_are_not():
    with KserveStandIn() as api:  # 503: KServe's ModelNotReady, an ingress with no replica yet
        api.inject[("POST", r".*:predict")] = [
            (503, {}, {"error": "Model with name echo is not ready."}),
            (503, {}, "no healthy upstream")]
        assert kserve(api).predict(text="hey")["echo"] == "hey"
        assert len(api.requests) == 3
    with KserveStandIn() as api:  # 500: the predictor raised; it may have done its work
        with pytest.raises(CallError) as err:
            kserve(api).predict(text="no", fail=True)
        assert len(api.requests) == 1
    assert err.value.kind == "model" and err.value.http_status == 500
    assert "RuntimeError: the model refused 'no'" in str(err.value) and "text='no'" in str(err.value)
    for status, kind in ((502, "platform"), (504, "timeout")):
        with KserveStandIn() as api:
            api.inject[("POST", r".*:predict")] = [(status, {}, "upstream failed")]
            with pytest.raises(CallError) as err:
                kserve(api).predict(text="x")
            assert len(api.requests) == 1 and err.value.kind == kind
    with KserveStandIn() as api:  # the server's own 400 names the input; never sent again
        with pytest.raises(CallError) as err:
            kserve(api).predict(text=3)
        assert len(api.requests) == 1
    assert err.value.kind == "input" and err.value.http_status == 400
    assert "input 'text': Input should be a valid string" in str(err.value)


def test_a_bearer_token_for_an_auth_proxy_comes_from_kserve_token(monkeypatch):
    with KserveStandIn(token="k-1") as api:
        with pytest.raises(CallError) as err:
            kserve(api).predict(text="a")
        assert err.value.kind == "auth" and "KSERVE_TOKEN" in str(err.value)
        monkeypatch.setenv("KSERVE_TOKEN", "k-1")
        assert kserve(api).predict(text="a")["echo"] == "a"
        assert kserve(api, token="k-1", local=True).transport.headers() == {}  # serve: no auth
    assert api.requests[-1].headers["authorization"] == "Bearer k-1"
    assert "k-1" not in repr(kserve(api).transport)


def test_streams_are_server_sent_events_with_an_error_event_and_a_cut():
    with KserveStandIn(streams=True) as api:
        assert list(kserve(api).stream(text="a b c")) == ["a ", "b ", "c "]
        assert kserve(api).predict(text="a b") == ["a ", "b "]  # a stream read whole
        got = []
        with pytest.raises(CallError) as err:
            for item in kserve(api).stream(text="a b c", fail=True):
                got.append(item)
    assert got == ["a "] and err.value.kind == "model"
    assert "RuntimeError: the model refused 'a b c'" in str(err.value)
    assert api.requests[0].body == {"instances": [{"text": "a b c"}]}
    with KserveStandIn(streams=True) as api:
        with pytest.raises(CallError) as err:
            kserve(api).predict(text="a b", fail=True)
    assert err.value.kind == "model" and "refused" in str(err.value)
    with KserveStandIn(streams=True, drop_stream_after=1) as api:
        got = []
        with pytest.raises(CallError) as err:
            for item in kserve(api).stream(text="a b c"):
                got.append(item)
    assert got == ["a "] and err.value.kind == "model" and "broke off" in str(err.value)
    with KserveStandIn() as api:  # not a generator: the one answer as one item
        assert list(kserve(api).stream(text="x")) == [{"echo": "x", "n": 1}]


def test_async_client_predicts_and_streams_as_the_sync_one():
    async def go(url):
        async with AsyncClient("kserve", url, endpoint="echo", **FAST) as client:
            return [i async for i in client.stream(text="x y")], await client.predict(text="z")

    with KserveStandIn(streams=True) as api:
        items, whole = asyncio.run(go(api.url))
    assert items == ["x ", "y "] and whole == ["z "]


def test_submit_runs_the_call_at_once_there_is_no_job_api():
    with KserveStandIn() as api:
        client = kserve(api)
        job = client.submit(text="now")
        assert job.id is None and job.status() == "succeeded" and not job.cancel()
        assert job.result() == {"echo": "now", "n": 3} and len(api.requests) == 1
        with pytest.raises(CallError) as err:
            client.job("abc")
    assert err.value.kind == "input" and "no jobs" in str(err.value)


def test_from_deploy_reads_status_url_and_the_namespaced_name(tmp_path):
    from portapack.deploying.record import write_record

    with KserveStandIn(name="text-stats") as api:
        write_record(tmp_path, "kserve", {"name": "text-stats", "url": api.url,
                                          "endpoint_id": "team-a/text-stats"})
        client = Client.from_deploy(ROOT / "examples" / "text-stats", "kserve", out=tmp_path, **FAST)
        assert client.predict(text="good")["echo"] == "good"
    assert api.requests[0].path == "/v1/models/text-stats:predict"


def test_cli_call_with_url_and_token(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from portapack.cli import main

    with KserveStandIn(name="text-stats", token="k-2") as api:
        monkeypatch.setenv("KSERVE_TOKEN", "k-2")
        result = CliRunner().invoke(main, [
            "call", "--spec", str(ROOT / "examples" / "text-stats"), "-t", "kserve",
            "--url", api.url, "-i", "text=nice", "--out", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["output"] == {"echo": "nice", "n": 4}


# -- server: projects -------------------------------------------------------------------------
class OpenAiStandIn(StandIn):
    """A server: project's engine behind the InferenceService's host: every route as it is."""

    def answer(self, seen):
        if self.token and seen.headers.get("authorization") != f"Bearer {self.token}":
            return 401, {}, "Jwt is missing"
        if seen.method != "POST" or seen.path != "/v1/chat/completions":
            return 404, {}, {"error": "no route"}
        if seen.body.get("stream"):
            chunks = [f"data: {json.dumps({'choices': [{'delta': {'content': w}}]})}\n\n".encode()
                      for w in ("Hel", "lo")] + [b"data: [DONE]\n\n"]
            return Stream(chunks, "text/event-stream")
        return 200, {}, {"choices": [{"message": {"content": "Hello"}}]}


def test_server_routes_pass_through_and_the_openai_base_is_url_v1(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from portapack.cli import main

    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    with OpenAiStandIn("k-3") as api:
        client = Client("kserve", api.url, endpoint="llm", token="k-3")
        assert client.openai_base() == f"{api.url}/v1"
        resp = client.post("/v1/chat/completions", json=body)
        assert resp.json()["choices"][0]["message"]["content"] == "Hello"
        lines = [line for line in client.post("/v1/chat/completions", json={**body, "stream": True},
                                              stream=True) if line.startswith("data: {")]
        assert len(lines) == 2
        monkeypatch.setenv("KSERVE_TOKEN", "k-3")
        result = CliRunner().invoke(main, [
            "call", "--spec", str(ROOT / "examples" / "vllm-chat"), "-t", "kserve", "--url",
            api.url, "--post", "/v1/chat/completions", "--data", json.dumps(body),
            "--out", str(tmp_path)])
    assert all(r.headers["authorization"] == "Bearer k-3" for r in api.requests)
    assert [r.path for r in api.requests] == ["/v1/chat/completions"] * 3
    assert result.exit_code == 0, result.output
    assert f"OpenAI-compatible base URL: {api.url}/v1" in result.stderr


# -- KServe's real model server ---------------------------------------------------------------
def test_a_bad_input_is_one_call_error_naming_it_from_the_real_model_server(tmp_path):
    from portapack.deploying.record import write_record
    from portapack.proof.runtimes.base import free_port
    from portapack.proof.serve import Served

    project = portapack.load_project(ROOT / "examples" / "text-stats")
    built = portapack.build(project, ["kserve"], tmp_path / "build")
    server = Served("kserve", built["kserve"].path, free_port())
    try:
        # Without the spec nothing is checked before sending: KServe's own 400 names the input.
        raw = Client("kserve", server.url, endpoint="text-stats", local=True, **FAST)
        with pytest.raises(CallError) as err:
            raw.predict(text=3)
        assert err.value.kind == "input" and err.value.http_status == 400
        assert "input 'text'" in str(err.value) and "text=3" in str(err.value)
        # With it, the same Inputs model refuses it before anything is sent.
        with pytest.raises(CallError) as err:
            Client("kserve", server.url, local=True, project=project, **FAST).predict(text=3)
        assert err.value.kind == "input" and err.value.http_status is None
        assert "input 'text'" in str(err.value)
        # What `portapack serve --target kserve` records is what --local calls.
        write_record(tmp_path / "build", "kserve", {"url": server.url}, local=True)
        client = Client.from_deploy(project, "kserve", out=tmp_path / "build", local=True, **FAST)
        assert client.predict(text="I love it")["label"] == "positive"
        job = client.submit(text="I love it")
        assert job.id is None and job.result()["label"] == "positive"
    finally:
        server.stop()
