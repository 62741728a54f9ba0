"""Cog server mode: Replicate has no HTTP pass-through, so a runner starts the server in
``setup()`` and exposes typed inputs for the first route (an OpenAI chat or completions route),
streaming the tokens as ``ConcatenateIterator[str]`` (cog docs/python.md, cog 0.23.1).

The typed inputs are a fixed contract; portapack's Cog machinery (cog.yaml, Input(...) rules,
.cog/openapi_schema.json) is reused by describing it as a predictor contract.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from portapack.proof.server_runtime import HttpReply, ServerFailed, ServerRuntime, kill_group, request
from portapack.spec.server import HttpExample
from portapack.spec.signature import InputSpec, PredictorInfo
from portapack.targets.artifacts import hf_requirement
from portapack.targets.base import Feature, Note
from portapack.targets.cog.target import CogTarget
from portapack.targets.servers import common_problems, route_kind, server_context, server_of

if TYPE_CHECKING:
    from portapack.spec.loader import Project


def runner_contract(kind: str) -> PredictorInfo:
    """The typed inputs of the proxy runner, as a predictor contract."""
    inputs = [InputSpec("prompt", "str", constraints={"min_length": 1},
                        description="User message" if kind == "chat" else "Prompt")]
    if kind == "chat":
        inputs.append(InputSpec("system_prompt", "str", optional=True, default=None,
                                description="System message"))
    inputs += [InputSpec("max_tokens", "int", default=256, constraints={"ge": 1, "le": 8192},
                         description="Most tokens to generate"),
               InputSpec("temperature", "float", default=0.7, constraints={"ge": 0.0, "le": 2.0},
                         description="Sampling temperature")]
    return PredictorInfo("run.py", "Runner", tuple(inputs), streaming=True, output_kind="str")


class CogServerTarget(CogTarget):
    runtime = ".server:CogServerRuntime"
    templates: ClassVar[dict[str, str]] = {
        **{k: v for k, v in CogTarget.templates.items() if k != "portapack_files.py"},
        "run.py": "cog/server/run.py.j2",
        "README.md": "cog/server/README.md.j2",
    }

    def typed(self, project: Project) -> Project:
        """The project as Cog sees it: the runner's contract, and no secret inputs (the server
        starts in setup(), before any request could carry one)."""
        kind = route_kind(server_of(project).routes[0]) or "chat"
        spec = project.spec.model_copy(update={"secrets": [], "examples": []})
        return dataclasses.replace(project, spec=spec, predictor=runner_contract(kind))

    def context(self, project: Project) -> dict[str, Any]:
        ctx = super().context(self.typed(project))
        server = server_context(project)
        kind = route_kind(server_of(project).routes[0]) or "chat"
        ctx.update(server)
        ctx.update(kind=kind, prompt_description="User message" if kind == "chat" else "Prompt",
                   requirements=list(project.requirements) + hf_requirement(project))
        return ctx

    def validate(self, project: Project) -> list[str]:
        problems = common_problems(project)
        if route_kind(server_of(project).routes[0]) is None:
            problems.append("cog: server.routes[0] must be /v1/chat/completions or "
                            "/v1/completions (Replicate has no HTTP pass-through)")
        return problems

    def notes(self, project: Project) -> list[Note]:
        server, spec = server_of(project), project.spec
        found = [n for n in super().notes(self.typed(project))]
        if server.routes[1:]:
            found.append(Note(self.name, "server.routes", f"{', '.join(server.routes[1:])} not "
                              "reachable on Replicate (no HTTP pass-through); run() takes typed "
                              f"inputs for {server.routes[0]} only"))
        if spec.secrets:
            found.append(Note(self.name, Feature.SECRETS.value, "not passed to the server process "
                              "on Replicate (no secret store; the server starts before any "
                              "request)"))
        if "HF_TOKEN" in spec.secrets and any(w.scheme == "hf" for w in spec.weights):
            found += self.build_time_weights_note(project)
        return found


class CogServerRuntime(ServerRuntime):
    """Cog's own HTTP server (coglet) on the generated runner: setup() starts the user's
    server; examples for the first route go through POST /predictions as typed inputs."""

    description = "Cog's HTTP server (coglet) with the proxy runner: POST /predictions"

    def __init__(self, build_dir: Path, **kwargs: Any):
        super().__init__(build_dir, **kwargs)
        self.proc: subprocess.Popen | None = None
        self.port = 0
        self.kind = route_kind(self.server.routes[0]) or "chat"

    def cannot_run(self) -> str | None:
        if self.project.spec.resources.gpu is not None:
            return f"the server needs a GPU ({self.project.spec.resources.gpu}); none here"
        return None

    def start(self) -> None:
        from portapack.proof.runtimes.base import free_port

        self.port = free_port()
        env = dict(os.environ, COG_PREDICT_TYPE_STUB="run.py:Runner", PORT=str(self.port),
                   PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
        self.proc = subprocess.Popen(
            [sys.executable, "-W", "error::DeprecationWarning", "-m", "cog.server.http",
             "--host", "127.0.0.1"], cwd=self.build_dir, env=env, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True)  # the user's server is a grandchild
        deadline = time.monotonic() + self.server.startup_timeout + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerFailed(f"Cog's server exited with code {self.proc.returncode}")
            try:
                body = request(f"{self.base_url}/health-check", timeout=5).json or {}
            except OSError:
                body = {}
            if body.get("status") == "READY":
                return
            if body.get("status") == "SETUP_FAILED":
                logs = (body.get("setup") or {}).get("logs", "")
                self.stop()
                raise ServerFailed(f"Cog setup failed:\n{logs[-2000:]}")
            time.sleep(0.3)
        self.stop()
        raise ServerFailed("Cog's server was not READY in time")

    def stop(self) -> None:
        kill_group(self.proc)
        self.proc = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def unreachable(self, example: HttpExample) -> str | None:
        if example.route != self.server.routes[0]:
            return (f"{example.route} is not reachable on Replicate (no HTTP pass-through; the "
                    "build notes say so)")
        return None

    def inputs(self, body: dict[str, Any]) -> dict[str, Any]:
        """An OpenAI request body as the runner's typed inputs."""
        out: dict[str, Any] = {}
        if self.kind == "chat":
            messages = body.get("messages") or []
            users = [m.get("content") for m in messages if m.get("role") == "user"]
            systems = [m.get("content") for m in messages if m.get("role") == "system"]
            out["prompt"] = users[-1] if users else ""
            if systems:
                out["system_prompt"] = systems[-1]
        else:
            out["prompt"] = body.get("prompt", "")
        out |= {k: body[k] for k in ("max_tokens", "temperature") if k in body}
        return out

    def send(self, example: HttpExample) -> HttpReply:
        """POST /predictions; the joined token stream stands for the reply's text, so the
        example's content field (or 'contains') is checked against it."""
        body = {"input": self.inputs(example.body or {})}
        if example.stream:  # Cog's own SSE: `event: output` lines, each data holding a chunk
            reply = self._predict(body, {"Accept": "text/event-stream"})
            chunks = [e["chunk"] for e in reply.events if isinstance(e, dict) and "chunk" in e]
            if reply.status == 200 and "text/event-stream" in reply.content_type:
                return _openai_view(self.kind, "".join(chunks), example, reply)
            return reply
        reply = self._predict(body)
        data = reply.json or {}
        if reply.status == 200 and data.get("status") == "succeeded":
            text = "".join(data.get("output") or [])
            return _openai_view(self.kind, text, example, reply)
        return reply

    def _predict(self, body: dict[str, Any], headers: dict[str, str] | None = None) -> HttpReply:
        for _ in range(100):  # 409: the previous prediction's slot is not free yet
            reply = request(f"{self.base_url}/predictions", "POST", body, headers=headers,
                            timeout=600)
            if reply.status != 409:
                break
            time.sleep(0.05)
        return reply

    def bad_request(self) -> tuple[str, HttpReply]:
        body = {"input": {"prompt": ""}}
        return f"POST /predictions {body}", self._predict(body)

    def bad_ok(self, reply: HttpReply) -> bool:
        return reply.status == 422  # Cog refuses typed inputs that break their rules


def _openai_view(kind: str, text: str, example: HttpExample, reply: HttpReply) -> HttpReply:
    """The runner's text in the shape the example checks (the only field it can show)."""
    import json

    if example.stream:
        chunk = {"choices": [{"delta": {"content": text}} if kind == "chat" else {"text": text}]}
        return HttpReply(200, reply.text, "text/event-stream", [chunk], True, reply.seconds)
    choice = {"message": {"content": text}} if kind == "chat" else {"text": text}
    return HttpReply(200, json.dumps({"choices": [choice]}), "application/json",
                     seconds=reply.seconds)
