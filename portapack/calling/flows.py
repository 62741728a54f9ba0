"""The call flows every platform shares, as programs of steps (see :mod:`.protocol`):
run a job to its end, follow a job already started. Sync and async clients drive the same
programs, so they cannot drift apart."""

from __future__ import annotations

from typing import Any

from portapack.calling.protocol import Job, Program, Seen, Send, Sleep, Transport
from portapack.calling.retry import PollPolicy


def run(t: Transport, inputs: dict[str, Any], wait: float | None, polls: PollPolicy) -> Program:
    """Create the job (holding the request up to ``wait`` s where the platform can), then
    poll it to its end."""
    inputs = yield from t.prepare(inputs)
    job = t.read((yield Send(t.create(inputs, wait=wait))), inputs)
    yield Seen(job)
    return (yield from follow(t, job, inputs, polls))


def start(t: Transport, inputs: dict[str, Any]) -> Program:
    """Create the job and return at once (a platform without jobs answers the whole call)."""
    inputs = yield from t.prepare(inputs)
    job = t.read((yield Send(t.create(inputs, wait=None))), inputs)
    yield Seen(job)
    return job


def follow(t: Transport, job: Job, inputs: dict[str, Any], polls: PollPolicy) -> Program:
    """Poll ``job`` with backing-off intervals until it ends."""
    intervals = polls.intervals()
    while not job.done:
        if job.next is None:
            raise AssertionError(f"{t.name}: an unfinished job with no way to read it again")
        yield Sleep(next(intervals))
        job = t.read((yield Send(job.next)), inputs, job)
        yield Seen(job)
    return job


def refresh(t: Transport, job: Job, inputs: dict[str, Any]) -> Program:
    """Read the job's state once."""
    if job.done or job.next is None:
        return job
    job = t.read((yield Send(job.next)), inputs, job)
    yield Seen(job)
    return job
