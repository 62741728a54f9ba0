"""What the sync and async clients share: deadlines, the retry decision, progress and the
conversion of httpx answers. The I/O itself is in :mod:`.client` and :mod:`.aio`."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from portapack.calling.errors import CallError, CallTimeout
from portapack.calling.protocol import Job, Reply, Request, Transport
from portapack.calling.retry import PollPolicy, RetryPolicy, retry_after

# Called with each new state of a job and the seconds since the call began.
StatusCallback = Callable[[Job, float], None]


@dataclass
class Settings:
    timeout: float = 600.0  # the whole call, polls and retries included
    wait: float = 5.0  # how long the platform may hold a create (Prefer: wait, runsync?wait)
    connect_timeout: float = 10.0
    read_timeout: float = 120.0  # one request without a hold (a sync platform's predict)
    retry: RetryPolicy = RetryPolicy()
    poll: PollPolicy = PollPolicy()
    on_status: StatusCallback | None = None


class Deadline:
    def __init__(self, seconds: float):
        self.started = time.monotonic()
        self.at = self.started + seconds
        self.seconds = seconds

    def left(self) -> float:
        return self.at - time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.started


class Call:
    """One call's bookkeeping: the latest job (what Ctrl-C and the deadline cancel)."""

    def __init__(self, transport: Transport, settings: Settings, deadline: Deadline,
                 inputs: dict[str, Any] | None):
        self.t, self.settings, self.deadline, self.inputs = transport, settings, deadline, inputs
        self.job: Job | None = None
        self.pending: Request | None = None  # cancels a create whose answer is awaited
        self.last_state = None

    def seen(self, job: Job) -> None:
        self.job = job
        if self.settings.on_status and (job.state != self.last_state or not job.done):
            self.settings.on_status(job, self.deadline.elapsed())
        self.last_state = job.state

    def timeout_for(self, req: Request) -> float:
        """Read timeout: the request's own hold plus a margin, never past the deadline."""
        wanted = (req.timeout + 10) if req.timeout else self.settings.read_timeout
        return max(0.1, min(wanted, self.deadline.left() + 1))

    def http_args(self, req: Request) -> dict[str, Any]:
        """httpx keyword arguments of ``req`` (a JSON body or multipart parts)."""
        return {"json": req.json, "files": req.files, "params": req.params,
                "headers": req.headers, "timeout": self.timeout_for(req)}

    def cancel_request(self) -> Request | None:
        job = self.job
        if job is not None and not job.done and job.cancel is not None:
            return job.cancel
        return self.pending

    def timed_out(self, canceled: bool) -> CallTimeout:
        job_id = self.job.id if self.job else None
        what = " (the job was canceled)" if canceled else ""
        return CallTimeout(self.t.name, f"no answer within {self.deadline.seconds:g}s{what}",
                           canceled=canceled, job_id=job_id)

    def unreachable(self, req: Request, exc: Exception) -> CallError:
        return CallError(self.t.name, f"cannot reach {req.url}: {type(exc).__name__}: {exc}",
                         kind="platform", route=req.route, inputs=self.inputs)

    def dropped(self, req: Request, exc: Exception) -> CallError:
        return CallError(self.t.name, f"the connection broke before an answer "
                         f"({type(exc).__name__}: {exc}); not sent again, since the model may "
                         "have run", kind="protocol", route=req.route, inputs=self.inputs)

    def retry_wait(self, req: Request, reply: Reply | None, attempt: int) -> float | None:
        """Seconds to wait before sending ``req`` again, or None: give this answer back."""
        policy = self.settings.retry
        if attempt + 1 >= (policy.attempts if req.pause is None else 200):
            return None
        if reply is not None:
            if reply.status not in req.retry_on:
                return None
            asked = retry_after(reply.headers, reply.body)
            wait = req.pause if asked is None and req.pause is not None else policy.delay(attempt, asked)
        else:
            wait = policy.delay(attempt)
        return wait if wait < self.deadline.left() else None


def to_reply(status: int, headers: Any, content: bytes, url: str = "") -> Reply:
    lowered = {k.lower(): v for k, v in headers.items()}
    text = content.decode("utf-8", "replace")
    body: Any = text
    kind = lowered.get("content-type", "")
    if text and ("json" in kind or (not kind and text[:1] in "{[\"")):
        try:
            body = json.loads(text)
        except ValueError:
            pass
    elif not text:
        body = None
    return Reply(status, lowered, body, url)
