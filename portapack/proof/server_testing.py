"""``portapack test`` for a ``server:`` project: the HTTP examples against every target's
artifact, each run the closest honest way this machine allows, plus one bad request each.

There is no in-process reference (the server is the user's own program): each example says
what must come back (status, JSON fields, a stream, text it contains).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from portapack.building.builder import build
from portapack.errors import PortapackError
from portapack.proof.case_results import CaseResult, TestReport, record_refused
from portapack.proof.server_runtime import HttpReply, ServerRuntime, lookup_text, stream_text
from portapack.spec.loader import Project
from portapack.spec.server import HttpExample, lookup


def check(example: HttpExample, reply: HttpReply) -> str | None:
    """What is wrong with ``reply`` for ``example`` (None: it is as expected)."""
    if reply.status != example.status:
        return f"HTTP {reply.status}, expected {example.status}: {reply.text[:300]}"
    if example.stream:
        if "text/event-stream" not in reply.content_type:
            return f"expected a text/event-stream, got {reply.content_type or 'no content type'}"
        if not reply.done:
            return "the stream did not end with data: [DONE]"
        text = stream_text(reply.events)
    else:
        text = reply.text
    data = reply.json
    for path, want in example.json_fields.items():
        try:
            got = lookup(data, path)
        except KeyError:
            return f"no {path} in the reply: {reply.text[:300]}"
        if got != want:
            return f"{path} is {got!r}, expected {want!r}"
    if example.contains is not None and example.contains not in text:
        return f"{example.contains!r} is not in the reply: {text[:300]!r}"
    return None


def run_server_tests(project: Project, targets: str | list[str], out: Path, *,
                     on_result: Callable[[CaseResult], None] | None = None,
                     extra_runtimes: dict[str, Callable[[], Any]] | None = None,
                     base_image: str | None = None) -> TestReport:
    """Build ``targets`` into ``out``, then send every example and a bad request to each
    (the artifacts that are images built FROM ``base_image``, else their own default)."""
    from portapack.proof.runtimes import get_runtime

    report = TestReport()

    def record(result: CaseResult) -> None:
        report.results.append(result)
        if on_result:
            on_result(result)

    result = build(project, targets, out)
    record_refused(result, record)
    runtimes: dict[str, Callable[[], Any]] = {
        b.target: (lambda b=b: get_runtime(b.target, b.path, project=project, base_image=base_image))
        for b in result.builds}
    runtimes.update(extra_runtimes or {})
    for target, make in runtimes.items():
        _run_target(target, make, project, record)
    return report


def _run_target(target: str, make: Callable[[], ServerRuntime], project: Project,
                record: Callable[[CaseResult], None]) -> None:
    try:
        runtime = make()
    except PortapackError as exc:
        record(CaseResult(target, "start", False, error=str(exc)))
        return
    why_not = getattr(runtime, "cannot_run", lambda: None)()
    if why_not:  # listed with the reason, never passed
        record(CaseResult(target, "examples", False, skipped=why_not))
        return
    started = time.perf_counter()
    try:
        runtime.start()
    except (PortapackError, OSError, RuntimeError) as exc:
        record(CaseResult(target, "start", False, time.perf_counter() - started, error=str(exc)))
        return
    try:
        record(CaseResult(target, "start", True, time.perf_counter() - started,
                          actual=runtime.description))
        _run_cases(target, runtime, project, record)
    except (PortapackError, OSError, ValueError) as exc:  # it died mid-run
        record(CaseResult(target, "crashed", False, error=str(exc)))
    finally:
        runtime.stop()


def _run_cases(target: str, runtime: ServerRuntime, project: Project,
               record: Callable[[CaseResult], None]) -> None:
    examples = [e for e in project.spec.examples if isinstance(e, HttpExample)]
    for n, example in enumerate(examples, start=1):
        case = f"example {n} {example.method} {example.route}"
        reason = runtime.unreachable(example)
        if reason:
            record(CaseResult(target, case, False, skipped=reason))
            continue
        reply = runtime.send(example)
        error = check(example, reply)
        record(CaseResult(target, case, error is None, reply.seconds,
                          expected=_expected(example), actual=lookup_text(reply), error=error))
    sent, reply = runtime.bad_request()
    ok = runtime.bad_ok(reply)
    record(CaseResult(target, "invalid", ok, reply.seconds, expected=f"a 4xx for {sent}",
                      actual=f"HTTP {reply.status}: {reply.text[:200]}",
                      error=None if ok else "the malformed request was not refused"))
    first = next((e for e in examples if not runtime.unreachable(e)), None)
    if first is not None:  # and it keeps serving
        reply = runtime.send(first)
        error = check(first, reply)
        record(CaseResult(target, "after invalid", error is None, reply.seconds,
                          expected=_expected(first), actual=lookup_text(reply), error=error))


def _expected(example: HttpExample) -> dict[str, Any]:
    want: dict[str, Any] = {"status": example.status}
    if example.json_fields:
        want["json"] = example.json_fields
    if example.stream:
        want["stream"] = True
    if example.contains is not None:
        want["contains"] = example.contains
    return want
