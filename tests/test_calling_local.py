"""One call path for the laptop and the cloud: the client against each target's local runtime
(the servers ``portapack serve`` starts: Cog's server, Truss's server, RunPod's local API,
Modal's local front, KServe's model server) gives the same values for every example of the
bundled examples, the same kind of error for a failing model, and recovers after an
interrupted stream.

Each (target, example) starts its runtime once; environments are portapack's cached ones."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

import portapack
from portapack.calling import CallError, Client, PollPolicy, RetryPolicy
from portapack.proof.filecompare import compare
from portapack.proof.runtimes.base import free_port
from portapack.proof.serve import Served
from portapack.spec.files import decode_data_uri, with_example_files

ROOT = Path(__file__).resolve().parent.parent
TARGETS = ["cog", "truss", "runpod", "modal", "kserve"]
FAST = {"retry": RetryPolicy(base=0.05), "poll": PollPolicy(first=0.05, cap=0.5)}


def served(project, target: str, tmp: Path):
    built = portapack.build(project, [target], tmp / "build")
    return Served(target, built[target].path, free_port())


def local_inputs(project, example) -> dict:
    """An example's inputs as a user passes them: files as paths."""
    files = set(project.predictor.file_inputs)
    return {k: project.root / v[1:] if k in files and isinstance(v, str) and v.startswith("@") else v
            for k, v in example.input.items()}


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("example", ["text-stats", "image-filter", "token-stream"])
def test_every_example_gives_the_same_values_on_every_local_runtime(tmp_path, target, example):
    project = portapack.load_project(ROOT / "examples" / example)
    expected = with_example_files(project).spec.examples  # "@file" outputs as data: URIs
    server = served(project, target, tmp_path)
    try:
        client = Client(target, server.url, local=True, project=project,
                        output_dir=tmp_path / "out", **FAST)
        for n, case in enumerate(project.spec.examples):
            inputs = local_inputs(project, case)
            want = expected[n].output
            if project.predictor.streaming:
                items = list(client.stream(inputs))
                if target == "truss":  # Truss streams text as bytes: item bounds are not kept
                    assert "".join(items) == "".join(want)
                else:
                    assert items == want
                continue
            got = client.predict(inputs)
            if isinstance(got, Path):  # a file output: compared by content
                assert want is None or compare(decode_data_uri(want)[0], got.read_bytes()) is None
                assert got.parent == tmp_path / "out"
            else:
                assert got == want
        first = local_inputs(project, project.spec.examples[0])  # the async flavour agrees
        assert same_async(target, server.url, project, first, tmp_path) == same_sync(client, project, first)
    finally:
        server.stop()


def same_sync(client, project, inputs):
    out = list(client.stream(inputs)) if project.predictor.streaming else client.predict(inputs)
    return _comparable(out)


def same_async(target, url, project, inputs, tmp):
    """The async flavour's answer to the same call."""
    import asyncio

    from portapack.calling import AsyncClient

    async def go():
        async with AsyncClient(target, url, local=True, project=project,
                               output_dir=tmp / "out-async", **FAST) as client:
            if project.predictor.streaming:
                return [i async for i in client.stream(inputs)]
            return await client.predict(inputs)

    return _comparable(asyncio.run(go()))


def _comparable(value):
    if isinstance(value, Path):
        return value.read_bytes()
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "".join(value)  # Truss's text stream: chunks are not items
    return value


FAILING = '''
    class Predictor:
        def load(self):
            pass

        def predict(self, text: str) -> str:
            if text == "boom":
                raise ValueError("the model cannot take 'boom'")
            return text.upper()
'''


@pytest.mark.parametrize("target", TARGETS)
def test_a_failing_model_is_one_call_error_of_kind_model(tmp_path, target):
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "predict.py").write_text(textwrap.dedent(FAILING))
    (tmp_path / "proj" / "portapack.yaml").write_text(
        "name: failing\npredictor: predict.py:Predictor\nrequirements: [pydantic>=2]\n")
    project = portapack.load_project(tmp_path / "proj")
    server = served(project, target, tmp_path)
    try:
        client = Client(target, server.url, local=True, project=project, **FAST)
        with pytest.raises(CallError) as err:
            client.predict(text="boom")
        assert err.value.kind == "model", str(err.value)
        # The platform's own message: Truss's server (as Baseten) hides the exception's text.
        said = ("Internal Server Error (in model/chainlet)." if target == "truss"
                else "the model cannot take 'boom'")
        assert said in str(err.value) and "text='boom'" in str(err.value)
        assert client.predict(text="fine") == "FINE"  # and the runtime still answers
    finally:
        server.stop()


@pytest.mark.parametrize("target", TARGETS)
def test_an_interrupted_stream_leaves_the_runtime_answering(tmp_path, target):
    project = portapack.load_project(ROOT / "examples" / "token-stream")
    server = served(project, target, tmp_path)
    try:
        client = Client(target, server.url, local=True, project=project, **FAST)
        stream = client.stream(prompt="one two three four five")
        next(stream)
        stream.close()  # what Ctrl-C in a for loop does: the connection is closed
        assert "".join(client.stream(prompt="a b")) == "a b "
    finally:
        server.stop()


SLOW = '''
    import time


    class Predictor:
        def load(self):
            pass

        def predict(self, seconds: float = 30.0) -> str:
            end = time.time() + seconds
            while time.time() < end:
                time.sleep(0.05)
            return "done"
'''


@pytest.fixture
def slow_cog(tmp_path):
    (tmp_path / "slow").mkdir()
    (tmp_path / "slow" / "predict.py").write_text(textwrap.dedent(SLOW))
    (tmp_path / "slow" / "portapack.yaml").write_text(
        "name: slow\npredictor: predict.py:Predictor\nrequirements: [pydantic>=2]\n")
    project = portapack.load_project(tmp_path / "slow")
    server = served(project, "cog", tmp_path)
    yield project, server
    server.stop()


def test_ctrl_c_cancels_the_local_cog_prediction_then_reraises(slow_cog):
    import signal
    import threading

    project, server = slow_cog
    client = Client("cog", server.url, local=True, project=project, **FAST)
    main = threading.main_thread().ident
    timer = threading.Timer(1.0, lambda: signal.pthread_kill(main, signal.SIGINT))
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        client.predict(seconds=30)
    # Canceled, not left running: the single slot answers the next call (a 30 s prediction
    # still holding it would make this one wait past its timeout).
    assert client.predict(seconds=0.1, timeout=15) == "done"


def test_async_task_cancel_cancels_the_local_cog_prediction(slow_cog):
    import asyncio

    from portapack.calling import AsyncClient

    project, server = slow_cog

    async def go():
        async with AsyncClient("cog", server.url, local=True, project=project, **FAST) as client:
            task = asyncio.create_task(client.predict(seconds=30))
            await asyncio.sleep(1.0)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            return await client.predict(seconds=0.1, timeout=15)

    assert asyncio.run(go()) == "done"
