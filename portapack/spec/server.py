"""The ``server:`` block of portapack.yaml: an engine (vLLM, SGLang, TGI) behind its own HTTP API,
and ``examples:`` written as HTTP requests for it.

A project has either ``predictor:`` (a Python class) or ``server:`` (a command that starts an
HTTP server), never both: see ``spec.cross_field_problems``.
"""

from __future__ import annotations

import re
import shlex
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from portapack.spec.strict import StrictModel

ROUTE = r"^/[A-Za-z0-9._~:@!$&'()*+,;=/%-]*$"
# Routes of OpenAI-compatible servers whose bodies portapack knows (Cog's typed inputs).
CHAT_ROUTE, COMPLETIONS_ROUTE = "/v1/chat/completions", "/v1/completions"
NO_ENTRY = "'predictor' is required (or a server: block: command, port, routes)"


class Server(StrictModel):
    """An HTTP server started by a command: an engine (vLLM, SGLang, TGI) behind its own API."""

    command: str = Field(
        min_length=1,
        description="Shell command that starts the server in the foreground, e.g. 'vllm serve "
        "/weights/model --port 8000'. Runs in the project folder.",
    )
    port: int = Field(ge=1, le=65535, description="Port the server listens on.")
    health: str = Field("/health", pattern=ROUTE, description="GET route answering 200 when ready.")
    routes: list[Annotated[str, Field(pattern=ROUTE)]] = Field(
        min_length=1,
        description="Routes clients may call; the first is the main one (a platform that serves "
        "a single route, or typed inputs for one, serves this one).",
    )
    startup_timeout: int = Field(600, ge=10, le=3600, description="Seconds to wait for health.")

    @field_validator("command")
    @classmethod
    def _one_line(cls, value: str) -> str:
        value = value.strip()
        if not value or "\n" in value:
            raise ValueError("must be one non-empty line; put a longer script in a file and run it")
        if value.endswith("\\"):
            raise ValueError("ends with a backslash (a line continuation); remove it")
        try:
            shlex.split(value)
        except ValueError as exc:
            raise ValueError(f"cannot be split into words like a shell would: {exc}") from None
        return value

    @model_validator(mode="after")
    def _checks(self) -> Server:
        for i, route in enumerate(self.routes):
            if route in self.routes[:i]:
                raise ValueError(f"routes lists {route} twice")
        said = re.search(r"--port[= ]+(\d+)", self.command)
        if said and int(said.group(1)) != self.port:
            raise ValueError(f"command listens on port {said.group(1)} but port is {self.port}; "
                             "make them the same")
        return self

    @property
    def argv(self) -> list[str]:
        return shlex.split(self.command)


class HttpExample(StrictModel):
    """A request to one route of the server, and what must come back."""

    route: str = Field(pattern=ROUTE, description="One of server.routes.")
    method: Literal["GET", "POST"] = "POST"
    body: dict[str, Any] | None = Field(None, description="JSON body of a POST.")
    status: int = Field(200, ge=100, le=599, description="Expected HTTP status.")
    json_fields: dict[str, Any] = Field(
        default_factory=dict, alias="json",
        description="Dotted paths that must equal these values, e.g. "
        "{'choices.0.message.content': 'world hello'}.",
    )
    stream: bool = Field(
        False, description="Expect text/event-stream: 'data:' events ending in [DONE]; "
        "'contains' is checked on the streamed text.",
    )
    contains: str | None = Field(None, description="Text the reply (or streamed text) must hold.")

    @model_validator(mode="after")
    def _shape(self) -> HttpExample:
        if self.method == "GET" and self.body is not None:
            raise ValueError("a GET example has no body; remove body or use method: POST")
        if self.stream and self.json_fields:
            raise ValueError("a stream has no single JSON reply: check it with 'contains'")
        return self


def example_kind(value: Any) -> str:
    """The discriminator of ``examples:`` items: HTTP requests have a route."""
    if isinstance(value, HttpExample) or (isinstance(value, dict) and "route" in value):
        return "HttpExample"
    return "Example"


def lookup(data: Any, dotted: str) -> Any:
    """The value at a dotted path ('choices.0.message.content'); KeyError when absent."""
    for part in dotted.split("."):
        if isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        elif isinstance(data, dict) and part in data:
            data = data[part]
        else:
            raise KeyError(dotted)
    return data


def server_problems(spec: Any) -> list[tuple[tuple, str]]:
    """Rules tying ``predictor:``, ``server:`` and ``examples:`` together."""
    from portapack.spec.model import Example

    problems: list[tuple[tuple, str]] = []
    if spec.predictor and spec.server:
        problems.append((("server",), "give either predictor: (a Python class) or server: (an "
                         "HTTP server command), not both"))
    elif not spec.predictor and not spec.server:
        problems.append(((), NO_ENTRY))
    for n, example in enumerate(spec.examples):
        if spec.server and isinstance(example, Example):
            problems.append((("examples", n), "use route/body/status with a server: block "
                             "(input/output is for predictors)"))
        elif spec.server is None and isinstance(example, HttpExample):
            problems.append((("examples", n), "route/body/status examples need a server: block; "
                             "a predictor's examples use input/output"))
        elif spec.server and example.route not in spec.server.routes:
            problems.append((("examples", n, "route"), f"{example.route} is not in server.routes "
                             f"({', '.join(spec.server.routes)})"))
    return problems
