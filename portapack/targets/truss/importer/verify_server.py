"""The proof for a ``docker_server`` Truss imported as a ``server:`` project: the ORIGINAL
Truss runs under Truss's own docker_server machinery (``truss image build-context``: its nginx
proxy and supervisord, in a local image), each example is sent to it twice, and what came back
becomes the example's expectation (status, every JSON leaf that was the same both times, or
the streamed text); ``portapack test`` then checks the import's four targets against that.
Leaves that differ between two identical requests (ids, timestamps) are not compared. On an
OpenAI route (chat/completions, completions) only the generated text is: Cog's server mode
gives its clients that text alone (Replicate has no HTTP pass-through), so ids, usage and the
model name are not part of what every target returns.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from portapack.importing.base import SKIP_DIRS
from portapack.proof.case_results import CaseResult
from portapack.proof.server_runtime import HttpReply, stream_text
from portapack.spec.loader import Project
from portapack.spec.server import CHAT_ROUTE, COMPLETIONS_ROUTE, HttpExample

ORIGINAL = "original"
GENERATED_TEXT = re.compile(r"^choices\.\d+\.(message\.content|text)$")


def leaves(data: Any, prefix: str = "") -> dict[str, Any]:
    """Every scalar of a JSON value by dotted path ('choices.0.message.content')."""
    if isinstance(data, dict):
        items = data.items()
    elif isinstance(data, list):
        items = ((str(i), v) for i, v in enumerate(data))
    else:
        return {prefix: data} if prefix else {}
    out: dict[str, Any] = {}
    for key, value in items:
        if isinstance(key, str) and "." in key:
            continue  # a dotted key cannot be named by a dotted path
        out.update(leaves(value, f"{prefix}.{key}" if prefix else str(key)))
    return out


def expectation(example: HttpExample, first: HttpReply, second: HttpReply) -> HttpExample:
    """The example with what the original answered (the stable part of two replies)."""
    update: dict[str, Any] = {"status": first.status}
    if example.stream or first.events:
        update.update(stream=True, contains=stream_text(first.events), json_fields={})
    elif first.json is not None:
        again = leaves(second.json)
        fields = {k: v for k, v in leaves(first.json).items() if again.get(k, ...) == v}
        if example.route in (CHAT_ROUTE, COMPLETIONS_ROUTE):
            fields = {k: v for k, v in fields.items() if GENERATED_TEXT.match(k)}
        update["json_fields"] = fields
    else:
        update["contains"] = first.text
    return example.model_copy(update=update)


def original_expectations(src: Path, project: Project, work: Path,
                          record: Callable[[CaseResult], None]) -> list[HttpExample] | None:
    """Run the original Truss and return its answers as examples (None if it did not run)."""
    from portapack.targets.truss.server import TrussServerRuntime

    copy = work / "original"
    shutil.copytree(src, copy, ignore=shutil.ignore_patterns(*SKIP_DIRS))
    runtime = TrussServerRuntime(copy, project=project)
    why = runtime.cannot_run()
    if why:
        record(CaseResult(ORIGINAL, "start", False, skipped=why))
        return None
    try:
        runtime.start()
    except Exception as exc:  # noqa: BLE001 (any failure to start is the finding)
        record(CaseResult(ORIGINAL, "start", False, error=str(exc)))
        return None
    examples = []
    try:
        for n, example in enumerate(project.spec.examples, start=1):
            first, second = runtime.send(example), runtime.send(example)
            want = expectation(example, first, second)
            ok = first.status < 400
            record(CaseResult(ORIGINAL, f"example {n} {example.method} {example.route}", ok,
                              first.seconds, actual={"status": first.status, "body": first.json
                                                     if first.json is not None else first.text[:300]},
                              error=None if ok else f"HTTP {first.status}: {first.text[:300]}"))
            if not ok:
                return None
            examples.append(want)
    finally:
        runtime.stop()
    return examples


__all__ = ["expectation", "leaves", "original_expectations"]
