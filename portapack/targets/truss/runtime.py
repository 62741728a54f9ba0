"""Truss's real HTTP server, the one Baseten runs (``server/main.py``, shipped in the truss
wheel under truss/templates/server/), in an env made from what the Dockerfile installs.

The build context comes from Truss's public API, ``truss.load(dir).docker_build_setup(ctx)``
(what ``truss image build-context`` runs, truss 0.18.36): ``server/``, ``model/``,
``packages/``, ``config.yaml`` with defaults filled in, and ``requirements.txt`` (the server's
requirements merged with the model's) plus ``constraints.txt``, installed exactly as the
image does: ``uv pip install -r requirements.txt -c constraints.txt``.

Streaming: Truss streams a generator as one byte stream (``application/octet-stream``,
chunked), as Baseten does. A text stream (``Iterator[str]``) goes out as the text itself, so
item boundaries are lost on the wire and it is compared as the items joined into one text,
like Cog's ConcatenateIterator. Any other stream goes out as JSON lines (one per item: the
generated model.py says so), read back here into the items.
"""

from __future__ import annotations

import hashlib
import http.client
import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from portapack.errors import PortapackError
from portapack.proof.envs import cache_root, ensure_env
from portapack.proof.runtimes.base import Outcome, Runtime, http_json

MODEL = "/v1/models/model"


class TrussRuntime(Runtime):
    target = "truss"
    description = "Truss's model server (server/main.py, as on Baseten): POST /v1/models/model:predict"
    isolated = True

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.context: Path | None = None

    def prepare(self) -> None:
        if self._python:
            self.context = build_context(self.build_dir)
            return
        self.context = build_context(self.build_dir)
        self.environment = ensure_env("truss", requirements=self.context / "requirements.txt",
                                      constraints=self.context / "constraints.txt")
        self.python = str(self.environment.python)

    def workdir(self) -> Path:
        assert self.context
        return self.context  # the server reads config.yaml and model/ from its working dir

    def command(self) -> list[str]:
        return [self.python, "server/main.py"]

    def sandbox_tmpfs(self) -> tuple[str, ...]:
        return ("/secrets",)  # the server reads /secrets/<name> when it exists: never the host's

    def process_env(self) -> dict[str, str]:
        env = super().process_env()
        assert self.context
        env["INFERENCE_SERVER_PORT"] = str(self.port)
        # The server appends the image's /packages to sys.path; the same imports, locally.
        env["PYTHONPATH"] = str(self.context / "packages")
        secrets = self.project.spec.secrets if self.project else []
        for name in secrets:  # how Baseten hands secrets[name] to the model
            if name in env:
                env[f"TRUSS_SECRET_{name}"] = env[name]
        return env

    def ready(self) -> bool:
        status, _ = http_json("GET", f"{self.url}{MODEL}", timeout=5)
        return status == 200

    @property
    def joins_stream(self) -> bool:  # type: ignore[override]
        """A text stream arrives joined; other streams arrive as JSON lines, item by item."""
        predictor = self.project.predictor if self.project else None
        return predictor is None or predictor.output_kind == "str"

    def _streamed(self, text: str) -> list[Any]:
        """A streamed body read whole -> its items (see the module docstring)."""
        if self.joins_stream:
            return [text]
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    def predict(self, inputs: dict[str, Any]) -> Outcome:
        started = time.perf_counter()
        streaming = bool(self.project and self.project.predictor.streaming)
        if streaming:  # the whole stream, read at once
            outcome = self.stream(inputs)
            outcome.items = None
            return outcome
        status, body = http_json("POST", f"{self.url}{MODEL}:predict", inputs)
        seconds = time.perf_counter() - started
        if status == 200:
            return Outcome(True, body, status=status, seconds=seconds)
        return Outcome(False, error=_truss_error(body), status=status, seconds=seconds)

    def stream(self, inputs: dict[str, Any]) -> Outcome:
        """The byte stream, joined: one text item (see the module docstring)."""
        started = time.perf_counter()
        req = urllib.request.Request(f"{self.url}{MODEL}:predict", data=json.dumps(inputs).encode(),
                                     method="POST", headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=600) as resp:
                text = resp.read().decode("utf-8")
            items = self._streamed(text)
        except urllib.error.HTTPError as exc:
            body = exc.read()
            try:
                parsed = json.loads(body)
            except ValueError:
                parsed = body.decode("utf-8", "replace")
            return Outcome(False, error=_truss_error(parsed), status=exc.code,
                           seconds=time.perf_counter() - started)
        except (http.client.HTTPException, OSError, ValueError) as exc:  # cut short, or not JSON lines
            return Outcome(False, error=f"the stream broke off: {type(exc).__name__}: {exc}; "
                           f"the server log says why:\n{self.log_tail(10)}",
                           seconds=time.perf_counter() - started)
        return Outcome(True, items, status=200, items=items, seconds=time.perf_counter() - started)

    def sample_request(self, inputs: dict[str, Any]) -> str:
        return (f"curl -s {self.url}{MODEL}:predict -H 'Content-Type: application/json' "
                f"-d {shlex.quote(json.dumps(inputs))}")


def _truss_error(body: Any) -> str:
    """The server's 400 ``Input Parsing Error:`` lines -> "input 'x': msg; ..."."""
    error = body.get("error") if isinstance(body, dict) else body
    text = error if isinstance(error, str) else json.dumps(body)
    named = re.findall(r"^\s*`([\w.]+)`: (.*)$", text, re.MULTILINE)
    if named:
        return "; ".join(f"input '{name}': {msg}" for name, msg in named)
    return text


def build_context(build_dir: Path) -> Path:
    """The Docker build context Truss makes from ``build_dir``, cached by the files' hash."""
    digest = hashlib.sha256()
    for path in sorted(p for p in build_dir.rglob("*") if p.is_file()):
        digest.update(path.relative_to(build_dir).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    ctx = cache_root() / "truss-ctx" / digest.hexdigest()[:16]
    if (ctx / "server" / "main.py").is_file():
        return ctx
    if importlib.util.find_spec("truss") is None:
        raise PortapackError('the Truss runtime needs the truss package to make its server: '
                             'pip install "portapack[truss]"')
    tmp = ctx.with_name(f"{ctx.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    # In a subprocess, like `truss image build-context`: truss's import (~1 s) and its own
    # warnings stay out of portapack's process.
    code = ("import sys, pathlib, truss; "
            "truss.load(sys.argv[1]).docker_build_setup(pathlib.Path(sys.argv[2]))")
    done = subprocess.run([sys.executable, "-c", code, str(build_dir), str(tmp)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        tail = "\n".join(done.stderr.strip().splitlines()[-10:])
        raise PortapackError(f"Truss could not make the build context of {build_dir}:\n{tail}")
    shutil.rmtree(tmp / "build_hash", ignore_errors=True)  # a stray copy Truss leaves
    try:
        tmp.rename(ctx)
    except OSError:  # another run made it first
        shutil.rmtree(tmp, ignore_errors=True)
    return ctx
