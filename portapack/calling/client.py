"""``portapack.Client``: call a deployed model (or ``portapack serve``'s local runtime) the
same way on every platform, synchronously. :class:`~portapack.calling.aio.AsyncClient` is the
async flavour; both drive the same transports and flows."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import httpx

from portapack.calling import flows
from portapack.calling.base import _Base
from portapack.calling.driver import Call, Deadline, to_reply
from portapack.calling.errors import CallError, CallTimeout
from portapack.calling.protocol import (
    DROPPED,
    Emit,
    Job,
    Line,
    Open,
    Program,
    Reply,
    Request,
    Seen,
    Send,
    Sleep,
)
from portapack.calling.values import decode_output

if TYPE_CHECKING:
    pass


class Client(_Base):
    """Call a model: ``predict``, ``stream``, ``submit`` (a job), or ``post`` (server mode).

    ``Client("runpod", endpoint="abc123")``; ``Client("truss", url, local=True)`` for
    ``portapack serve``; ``Client.from_deploy("examples/text-stats", "cog")``. The token comes
    from the platform's usual variable unless given. Settings: ``timeout`` (whole call),
    ``wait``, ``retry`` (:class:`~portapack.calling.retry.RetryPolicy`), ``poll``
    (:class:`~portapack.calling.retry.PollPolicy`), ``on_status(job, seconds)``.
    """

    def __init__(self, *args: Any, http: httpx.Client | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.http = http or httpx.Client(follow_redirects=False, timeout=httpx.Timeout(
            self.settings.read_timeout, connect=self.settings.connect_timeout))

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the calls ---------------------------------------------------------------------------
    def predict(self, inputs: dict[str, Any] | None = None, /, *, timeout: float | None = None,
                **kwargs: Any) -> Any:
        """The model's output as Python values (files as local paths)."""
        sent = self._inputs(inputs, kwargs)
        t = self.transport
        job = self._run(flows.run(t, sent, self.settings.wait, self.settings.poll), sent, timeout)
        return self._finish(t.check(job, sent).output)

    def stream(self, inputs: dict[str, Any] | None = None, /, *, timeout: float | None = None,
               **kwargs: Any) -> Iterator[Any]:
        """Items as the model yields them (files as local paths)."""
        sent = self._inputs(inputs, kwargs)
        for item in self._drive(self.transport.stream(sent), sent, timeout):
            yield self._finish(item)

    def submit(self, inputs: dict[str, Any] | None = None, /, **kwargs: Any) -> RemoteJob:
        """Start a job and return at once (where the platform has jobs; elsewhere the call
        runs now and the job is already finished)."""
        sent = self._inputs(inputs, kwargs)
        job = self._run(flows.start(self.transport, sent), sent, None)
        return RemoteJob(self, job, sent)

    def job(self, job_id: str) -> RemoteJob:
        """A job started earlier (by ``submit`` or ``portapack call --async``), by id."""
        return RemoteJob(self, self.transport.resume(job_id), {})

    def post(self, route: str, json: Any = None, *, stream: bool = False,
             **kwargs: Any) -> httpx.Response | Iterator[str]:
        """A ``server:`` project's own route (``/v1/chat/completions``), passed through with
        the platform's auth; ``stream=True`` yields the body's lines as they come."""
        t = self.transport
        req = self.http.build_request("POST", t.route_url(route), json=json, headers=t.headers(),
                                      **kwargs)
        if not stream:
            return self.http.send(req)
        return self._lines(req)

    def _lines(self, req: httpx.Request) -> Iterator[str]:
        resp = self.http.send(req, stream=True)
        try:
            if resp.status_code >= 400:
                resp.read()
                reply = to_reply(resp.status_code, resp.headers, resp.content, str(req.url))
                raise self.transport.error(reply, None, f"{req.method} {req.url.path}")
            yield from resp.iter_lines()
        finally:
            resp.close()

    # -- driving programs --------------------------------------------------------------------
    def _run(self, program: Program, inputs: dict[str, Any] | None, timeout: float | None) -> Job:
        gen = self._drive(program, inputs, timeout)
        while True:
            try:
                next(gen)
            except StopIteration as done:
                return done.value

    def _drive(self, program: Program, inputs: dict[str, Any] | None,
               timeout: float | None) -> Program:
        call = Call(self.transport, self.settings, Deadline(timeout or self.settings.timeout), inputs)
        opened: list[Any] = [None, None]  # the open response and its line iterator
        value: Any = None
        try:
            while True:
                if call.deadline.left() <= 0:
                    raise call.timed_out(self._cancel(call))
                try:
                    step = program.send(value)
                except StopIteration as done:
                    return done.value
                value = None
                if isinstance(step, Send):
                    value = self._send(call, step.request)
                elif isinstance(step, Open):
                    value = self._open(call, step, opened)
                elif isinstance(step, Line):
                    value = self._line(opened)
                elif isinstance(step, Sleep):
                    time.sleep(max(0.0, min(step.seconds, call.deadline.left())))
                elif isinstance(step, Seen):
                    call.seen(step.job)
                elif isinstance(step, Emit):
                    yield step.item
        except KeyboardInterrupt:
            self._cancel(call)
            raise
        except CallTimeout:
            raise
        except CallError as exc:
            if exc.kind == "timeout" and call.deadline.left() <= 0:
                raise call.timed_out(self._cancel(call)) from None
            raise
        finally:
            program.close()
            if opened[0] is not None:
                opened[0].close()

    def _send(self, call: Call, req: Request) -> Reply:
        call.pending = req.cancel
        reply = self._send_once(call, req)
        call.pending = None
        return reply

    def _send_once(self, call: Call, req: Request) -> Reply:
        attempt = 0
        while True:
            try:
                resp = self.http.request(req.method, req.url, **call.http_args(req))
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:  # nothing was sent
                wait = call.retry_wait(req, None, attempt)
                if wait is None:
                    raise call.unreachable(req, exc) from None
            except httpx.TransportError as exc:
                if call.deadline.left() <= 0:
                    raise call.timed_out(self._cancel(call)) from None
                wait = call.retry_wait(req, None, attempt) if req.resend else None
                if wait is None:
                    raise call.dropped(req, exc) from None
            else:
                reply = to_reply(resp.status_code, resp.headers, resp.content, str(resp.url))
                wait = call.retry_wait(req, reply, attempt)
                if wait is None:
                    return reply
            time.sleep(wait)
            attempt += 1

    def _open(self, call: Call, step: Open, opened: list[Any]) -> Reply:
        req = step.request
        attempt = 0
        while True:
            built = self.http.build_request(req.method, req.url, **call.http_args(req))
            try:
                resp = self.http.send(built, stream=True)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                wait = call.retry_wait(req, None, attempt)
                if wait is None:
                    raise call.unreachable(req, exc) from None
            except httpx.TransportError as exc:
                raise call.dropped(req, exc) from None
            else:
                if 200 <= resp.status_code < 300:
                    if opened[0] is not None:
                        opened[0].close()
                    opened[0] = resp
                    opened[1] = resp.iter_text() if step.text else resp.iter_lines()
                    return Reply(resp.status_code, {k.lower(): v for k, v in resp.headers.items()},
                                 None, str(resp.url))
                resp.read()
                resp.close()
                reply = to_reply(resp.status_code, resp.headers, resp.content, str(resp.url))
                wait = call.retry_wait(req, reply, attempt)
                if wait is None:
                    return reply
            time.sleep(wait)
            attempt += 1

    @staticmethod
    def _line(opened: list[Any]) -> Any:
        try:
            return next(opened[1], None)
        except httpx.TransportError:
            return DROPPED

    def _cancel(self, call: Call) -> bool:
        """Ask the platform to cancel the call's job (once, briefly); True if it was asked."""
        req = call.cancel_request()
        if req is None:
            return False
        try:
            self.http.request(req.method, req.url, json=req.json, headers=req.headers, timeout=10)
        except httpx.HTTPError:
            return False
        return True

    def _finish(self, output: Any) -> Any:
        fetched = {}
        for url in self._downloads(output):
            resp = self.http.get(url, headers=self.transport.download_headers(url), timeout=300,
                                 follow_redirects=True)
            if resp.status_code >= 400:
                raise CallError(self.transport.name, f"cannot download the output {url}: "
                                f"{resp.status_code}", kind="platform", http_status=resp.status_code)
            fetched[url] = (resp.content, resp.headers.get("content-type", ""))
        return decode_output(output, self.output_dir, fetched)


class RemoteJob:
    """A started call: ``status()``, ``result(timeout)``, ``cancel()``."""

    def __init__(self, client: Client, job: Job, inputs: dict[str, Any]):
        self.client, self.job, self.inputs = client, job, inputs

    @property
    def id(self) -> str | None:
        return self.job.id

    def status(self) -> str:
        """The job's state now (one request), as a :class:`~portapack.calling.State` value."""
        self.job = self.client._run(flows.refresh(self.client.transport, self.job, self.inputs),
                                    self.inputs, None)
        return self.job.state.value

    def result(self, timeout: float | None = None) -> Any:
        c = self.client
        self.job = c._run(flows.follow(c.transport, self.job, self.inputs, c.settings.poll),
                          self.inputs, timeout)
        return c._finish(c.transport.check(self.job, self.inputs).output)

    def cancel(self) -> bool:
        """Ask the platform to cancel; False where it cannot (a finished job, no job API)."""
        if self.job.done or self.job.cancel is None:
            return False
        reply = self.client._send(Call(self.client.transport, self.client.settings,
                                       Deadline(30), self.inputs), self.job.cancel)
        if not reply.ok:
            raise self.client.transport.error(reply, self.inputs, self.job.cancel.route)
        self.job = self.client.transport.read(reply, self.inputs, self.job) if reply.body else self.job
        return True
