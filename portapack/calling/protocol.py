"""What a platform's transport is: requests it describes, answers it reads. No I/O here.

A transport (``portapack/targets/<name>/client.py``) never sends anything itself: it turns
inputs into :class:`Request` values and :class:`Reply` values into :class:`Job` states. The
client (:mod:`.client` sync, :mod:`.aio` async) does the sending, retries, waiting and
deadlines, so one transport serves both flavours and the laptop as well as the cloud.

A stream is a small program: a generator that yields steps (:class:`Send`, :class:`Open`,
:class:`Line`, :class:`Sleep`, :class:`Seen`, :class:`Emit`) and receives what each gave.
"""

from __future__ import annotations

import json
import os
from collections.abc import Generator
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar

from portapack.calling.errors import CallError, kind_of
from portapack.calling.retry import CREATE, TRANSIENT

if TYPE_CHECKING:
    from portapack.spec.signature import PredictorInfo


class State(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"
    TIMED_OUT = "timed_out"

    @property
    def done(self) -> bool:
        return self not in (State.QUEUED, State.RUNNING)


@dataclass(frozen=True)
class Request:
    method: str
    url: str
    json: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    files: dict[str, tuple[str, bytes, str]] | None = None  # multipart parts: name -> (filename, bytes, type)
    params: dict[str, str] | None = None
    timeout: float | None = None  # read timeout, when the server holds the request (a wait)
    retry_on: frozenset[int] = TRANSIENT  # statuses worth another try
    resend: bool = True  # False: the request starts work; only "provably nothing done" retries
    pause: float | None = None  # the wait before another try when the server names none
    # What cancels the work this request starts while its answer is awaited (a client-chosen
    # id, as Cog's PUT /predictions/{id}); Ctrl-C or the deadline send it.
    cancel: Request | None = None

    @property
    def route(self) -> str:
        """Method and path for messages (never the host's query string or a token)."""
        from urllib.parse import urlsplit

        return f"{self.method} {urlsplit(self.url).path or '/'}"


def create(method: str, url: str, **kwargs: Any) -> Request:
    """A request that starts work: sent again only on 429 (or what the transport adds)."""
    kwargs.setdefault("retry_on", CREATE)
    return Request(method, url, resend=False, **kwargs)


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]  # lower-case names
    body: Any  # parsed JSON, else text
    url: str = ""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


@dataclass(frozen=True)
class Job:
    """A call's state on the platform. ``id`` is None where the platform has no jobs."""

    state: State
    id: str | None = None
    output: Any = None
    error: str | None = None
    raw_status: str | None = None
    raw: Any = None
    next: Request | None = None  # the request that reads this job again
    cancel: Request | None = None  # the request that cancels it

    @property
    def done(self) -> bool:
        return self.state.done

    def but(self, **changes: Any) -> Job:
        return replace(self, **changes)


# -- stream program steps -------------------------------------------------------------------
@dataclass(frozen=True)
class Send:
    request: Request  # -> Reply (errors included; retries done)


@dataclass(frozen=True)
class Open:
    request: Request  # -> Reply whose body is None when 2xx (then read with Line)
    text: bool = False  # chunks of text as they come, not lines


@dataclass(frozen=True)
class Line:
    """-> the next line (or text chunk) of the open response; None at its end, DROPPED if
    the connection broke."""


DROPPED = object()


@dataclass(frozen=True)
class Sleep:
    seconds: float


@dataclass(frozen=True)
class Seen:
    job: Job  # the job's latest state (progress, and what Ctrl-C cancels)


@dataclass(frozen=True)
class Emit:
    item: Any


Program = Generator[Any, Any, Job]


class Transport:
    """One platform's wire format, cloud and local. Subclasses set the class attributes and
    implement :meth:`create`, :meth:`read` and, where the platform has them, :meth:`poll`
    and :meth:`cancel_request`; :meth:`stream` has a default (the whole output, item by item).
    """

    platform: ClassVar[str]  # "Replicate", as messages name it
    local_name: ClassVar[str]  # "Cog's server", for the local runtime
    token_env: ClassVar[tuple[str, ...]] = ()  # where the token comes from, first set wins
    has_jobs: ClassVar[bool] = False  # submit() gives a job that can be polled and canceled

    def __init__(self, url: str | None = None, *, endpoint: str | None = None,
                 token: str | None = None, local: bool = False,
                 predictor: PredictorInfo | None = None, headers: dict[str, str] | None = None,
                 model: str | None = None):
        self.local, self.predictor, self.endpoint = local, predictor, endpoint
        self.model = model  # the spec's name, for a platform whose routes carry the model's
        self.token = token if token is not None else self.env_token()
        self.url = self.resolve_url(url).rstrip("/")
        self.extra_headers = headers or {}

    # -- configuration -------------------------------------------------------------------------
    def env_token(self) -> str | None:
        return next((os.environ[n] for n in self.token_env if os.environ.get(n)), None)

    def resolve_url(self, url: str | None) -> str:
        """The URL calls go to: ``url`` as given, else one made from the endpoint id."""
        return url or self.default_url()

    def default_url(self) -> str:
        raise CallError(self.platform, "no URL: pass url= (or the endpoint id where the "
                        "platform has one), or deploy first", kind="not_found")

    def auth(self) -> dict[str, str]:
        """Headers carrying the token (local runtimes need none)."""
        return {}

    def headers(self, **more: str) -> dict[str, str]:
        return {**({} if self.local else self.auth()), **self.extra_headers, **more}

    def download_headers(self, url: str) -> dict[str, str]:
        """Headers for downloading an output file at ``url`` (a token only to its own hosts)."""
        return {}

    @property
    def name(self) -> str:
        return self.local_name if self.local else self.platform

    # -- the calls -----------------------------------------------------------------------------
    def create(self, inputs: dict[str, Any], *, wait: float | None = None) -> Request:
        raise NotImplementedError

    def read(self, reply: Reply, inputs: dict[str, Any], job: Job | None = None) -> Job:
        """The job an answer describes; raises :class:`CallError` for an error answer."""
        raise NotImplementedError

    def prepare(self, inputs: dict[str, Any]) -> Generator[Any, Any, dict[str, Any]]:
        """Sub-program run before a create: the inputs as this platform wants them (a platform
        that prefers large files uploaded rather than inlined swaps them here)."""
        return inputs
        yield  # a generator

    def resume(self, job_id: str) -> Job:
        """A job started earlier (``submit``, ``portapack call --async``), by its id."""
        raise CallError(self.name, "this platform has no jobs to resume: calls answer at once",
                        kind="input")

    def stream(self, inputs: dict[str, Any]) -> Program:
        """Items as the platform sends them. Default: run the job, then emit each item of the
        output (a platform that only answers with the whole list)."""
        reply = yield Send(self.create(inputs))
        job = self.read(reply, inputs)
        yield Seen(job)
        while not job.done:
            yield Sleep(0.5)
            job = self.read((yield Send(job.next)), inputs, job)
            yield Seen(job)
        self.check(job, inputs)
        for item in job.output if isinstance(job.output, list) else [job.output]:
            yield Emit(item)
        return job

    # -- server mode (an HTTP server of the user's, e.g. an LLM engine) ------------------------
    def route_url(self, route: str) -> str:
        """The URL of a route of a ``server:`` project's own server."""
        return self.url + "/" + route.lstrip("/")

    def openai_base(self) -> str | None:
        """The OpenAI-compatible base URL of a ``server:`` deployment, where there is one."""
        return self.route_url("/v1")

    # -- errors --------------------------------------------------------------------------------
    def detail(self, body: Any) -> str:
        """The platform's own message in an error body."""
        if isinstance(body, dict):
            for key in ("detail", "error", "message", "title"):
                value = body.get(key)
                if value:
                    return value if isinstance(value, str) else json.dumps(value)
        if isinstance(body, str):
            return body.strip()[:1000] or "(empty body)"
        return json.dumps(body)[:1000]

    def error(self, reply: Reply, inputs: dict[str, Any] | None, route: str | None = None,
              kind: str | None = None) -> CallError:
        from portapack.calling.retry import retry_after

        found = kind or kind_of(reply.status)
        detail = self.detail(reply.body)
        if found == "auth" and not self.local:
            names = " or ".join(self.token_env) or "a token"
            detail += f" (check {names})"
        return CallError(self.name, detail, kind=found, http_status=reply.status, inputs=inputs,
                         raw=reply.body, route=route,
                         retry_after=retry_after(reply.headers, reply.body))

    def check(self, job: Job, inputs: dict[str, Any]) -> Job:
        """A finished job, or the :class:`CallError` saying why it did not succeed."""
        if job.state is State.SUCCEEDED:
            return job
        kind = {State.FAILED: "model", State.CANCELED: "canceled",
                State.TIMED_OUT: "timeout"}.get(job.state, "protocol")
        detail = job.error or f"the job ended {job.raw_status or job.state.value}"
        raise CallError(self.name, detail, kind=kind, job_id=job.id, inputs=inputs, raw=job.raw)

    def __repr__(self) -> str:  # never the token
        return f"{type(self).__name__}({self.url!r}, local={self.local})"


def sse_events(program_lines: list[str]) -> tuple[str | None, str]:
    """One SSE record's event name and data (data lines joined with newlines)."""
    event, data = None, []
    for line in program_lines:
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "event":
            event = value
        elif name == "data":
            data.append(value)
    return event, "\n".join(data)


def read_sse() -> Generator[Any, Any, tuple[str | None, str] | None]:
    """Sub-program: the next SSE record of the open response (None at its end)."""
    lines: list[str] = []
    while True:
        line = yield Line()
        if line is DROPPED:
            return ("__dropped__", "")
        if line is None:
            return sse_events(lines) if lines else None
        if line == "":
            if lines:
                return sse_events(lines)
            continue
        lines.append(line)
