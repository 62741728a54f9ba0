"""``portapack.AsyncClient``: the async flavour of :class:`~portapack.calling.client.Client`,
driving the same transports and flows with ``httpx.AsyncClient``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

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


class _Done(Exception):
    def __init__(self, job: Job):
        self.job = job


class AsyncClient(_Base):
    """``await client.predict(...)``, ``async for item in client.stream(...)``,
    ``job = await client.submit(...)``: see :class:`~portapack.calling.client.Client`."""

    def __init__(self, *args: Any, http: httpx.AsyncClient | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.http = http or httpx.AsyncClient(follow_redirects=False, timeout=httpx.Timeout(
            self.settings.read_timeout, connect=self.settings.connect_timeout))

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def predict(self, inputs: dict[str, Any] | None = None, /, *,
                      timeout: float | None = None, **kwargs: Any) -> Any:
        sent = self._inputs(inputs, kwargs)
        t = self.transport
        job = await self._run(flows.run(t, sent, self.settings.wait, self.settings.poll), sent,
                              timeout)
        return await self._finish(t.check(job, sent).output)

    async def stream(self, inputs: dict[str, Any] | None = None, /, *,
                     timeout: float | None = None, **kwargs: Any) -> AsyncIterator[Any]:
        sent = self._inputs(inputs, kwargs)
        try:
            async for item in self._drive(self.transport.stream(sent), sent, timeout):
                yield await self._finish(item)
        except _Done:
            return

    async def submit(self, inputs: dict[str, Any] | None = None, /, **kwargs: Any) -> AsyncRemoteJob:
        sent = self._inputs(inputs, kwargs)
        job = await self._run(flows.start(self.transport, sent), sent, None)
        return AsyncRemoteJob(self, job, sent)

    def job(self, job_id: str) -> AsyncRemoteJob:
        """A job started earlier, by id."""
        return AsyncRemoteJob(self, self.transport.resume(job_id), {})

    async def post(self, route: str, json: Any = None, **kwargs: Any) -> httpx.Response:
        """A ``server:`` project's own route, passed through with the platform's auth."""
        t = self.transport
        return await self.http.post(t.route_url(route), json=json, headers=t.headers(), **kwargs)

    async def post_lines(self, route: str, json: Any = None, **kwargs: Any) -> AsyncIterator[str]:
        """``post``, streamed: the body's lines as they come (an SSE completion stream)."""
        t = self.transport
        async with self.http.stream("POST", t.route_url(route), json=json, headers=t.headers(),
                                    **kwargs) as resp:
            if resp.status_code >= 400:
                await resp.aread()
                reply = to_reply(resp.status_code, resp.headers, resp.content, str(resp.url))
                raise t.error(reply, None, f"POST {route}")
            async for line in resp.aiter_lines():
                yield line

    # -- driving programs --------------------------------------------------------------------
    async def _run(self, program: Program, inputs: dict[str, Any] | None,
                   timeout: float | None) -> Job:
        try:
            async for _ in self._drive(program, inputs, timeout):
                pass
        except _Done as done:
            return done.job
        raise AssertionError("a call program ended without a job")

    async def _drive(self, program: Program, inputs: dict[str, Any] | None,
                     timeout: float | None) -> AsyncIterator[Any]:
        """Emitted items; the program's final job is raised as _Done (async generators
        cannot return a value)."""
        call = Call(self.transport, self.settings, Deadline(timeout or self.settings.timeout), inputs)
        opened: list[Any] = [None, None]
        value: Any = None
        try:
            while True:
                if call.deadline.left() <= 0:
                    raise call.timed_out(await self._cancel(call))
                try:
                    step = program.send(value)
                except StopIteration as done:
                    raise _Done(done.value) from None
                value = None
                if isinstance(step, Send):
                    value = await self._send(call, step.request)
                elif isinstance(step, Open):
                    value = await self._open(call, step, opened)
                elif isinstance(step, Line):
                    value = await self._line(opened)
                elif isinstance(step, Sleep):
                    await asyncio.sleep(max(0.0, min(step.seconds, call.deadline.left())))
                elif isinstance(step, Seen):
                    call.seen(step.job)
                elif isinstance(step, Emit):
                    yield step.item
        except (KeyboardInterrupt, asyncio.CancelledError):
            await self._cancel(call)
            raise
        except CallTimeout:
            raise
        except CallError as exc:
            if exc.kind == "timeout" and call.deadline.left() <= 0:
                raise call.timed_out(await self._cancel(call)) from None
            raise
        finally:
            program.close()
            if opened[0] is not None:
                await opened[0].aclose()

    async def _send(self, call: Call, req: Request) -> Reply:
        call.pending = req.cancel
        reply = await self._send_once(call, req)
        call.pending = None
        return reply

    async def _send_once(self, call: Call, req: Request) -> Reply:
        attempt = 0
        while True:
            try:
                resp = await self.http.request(req.method, req.url, **call.http_args(req))
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                wait = call.retry_wait(req, None, attempt)
                if wait is None:
                    raise call.unreachable(req, exc) from None
            except httpx.TransportError as exc:
                if call.deadline.left() <= 0:
                    raise call.timed_out(await self._cancel(call)) from None
                wait = call.retry_wait(req, None, attempt) if req.resend else None
                if wait is None:
                    raise call.dropped(req, exc) from None
            else:
                reply = to_reply(resp.status_code, resp.headers, resp.content, str(resp.url))
                wait = call.retry_wait(req, reply, attempt)
                if wait is None:
                    return reply
            await asyncio.sleep(wait)
            attempt += 1

    async def _open(self, call: Call, step: Open, opened: list[Any]) -> Reply:
        req = step.request
        attempt = 0
        while True:
            built = self.http.build_request(req.method, req.url, **call.http_args(req))
            try:
                resp = await self.http.send(built, stream=True)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                wait = call.retry_wait(req, None, attempt)
                if wait is None:
                    raise call.unreachable(req, exc) from None
            except httpx.TransportError as exc:
                raise call.dropped(req, exc) from None
            else:
                if 200 <= resp.status_code < 300:
                    if opened[0] is not None:
                        await opened[0].aclose()
                    opened[0] = resp
                    opened[1] = resp.aiter_text() if step.text else resp.aiter_lines()
                    return Reply(resp.status_code, {k.lower(): v for k, v in resp.headers.items()},
                                 None, str(resp.url))
                await resp.aread()
                await resp.aclose()
                reply = to_reply(resp.status_code, resp.headers, resp.content, str(resp.url))
                wait = call.retry_wait(req, reply, attempt)
                if wait is None:
                    return reply
            await asyncio.sleep(wait)
            attempt += 1

    @staticmethod
    async def _line(opened: list[Any]) -> Any:
        try:
            return await anext(opened[1], None)
        except httpx.TransportError:
            return DROPPED

    async def _cancel(self, call: Call) -> bool:
        req = call.cancel_request()
        if req is None:
            return False
        try:
            await self.http.request(req.method, req.url, json=req.json, headers=req.headers,
                                    timeout=10)
        except httpx.HTTPError:
            return False
        return True

    async def _finish(self, output: Any) -> Any:
        fetched = {}
        for url in self._downloads(output):
            resp = await self.http.get(url, headers=self.transport.download_headers(url),
                                       timeout=300, follow_redirects=True)
            if resp.status_code >= 400:
                raise CallError(self.transport.name, f"cannot download the output {url}: "
                                f"{resp.status_code}", kind="platform", http_status=resp.status_code)
            fetched[url] = (resp.content, resp.headers.get("content-type", ""))
        return decode_output(output, self.output_dir, fetched)


class AsyncRemoteJob:
    """A started call, async: ``await job.status()``, ``await job.result()``, ``await job.cancel()``."""

    def __init__(self, client: AsyncClient, job: Job, inputs: dict[str, Any]):
        self.client, self.job, self.inputs = client, job, inputs

    @property
    def id(self) -> str | None:
        return self.job.id

    async def status(self) -> str:
        self.job = await self.client._run(flows.refresh(self.client.transport, self.job,
                                                        self.inputs), self.inputs, None)
        return self.job.state.value

    async def result(self, timeout: float | None = None) -> Any:
        c = self.client
        self.job = await c._run(flows.follow(c.transport, self.job, self.inputs, c.settings.poll),
                                self.inputs, timeout)
        return await c._finish(c.transport.check(self.job, self.inputs).output)

    async def cancel(self) -> bool:
        if self.job.done or self.job.cancel is None:
            return False
        c = self.client
        reply = await c._send(Call(c.transport, c.settings, Deadline(30), self.inputs),
                              self.job.cancel)
        if not reply.ok:
            raise c.transport.error(reply, self.inputs, self.job.cancel.route)
        if reply.body:
            self.job = c.transport.read(reply, self.inputs, self.job)
        return True
