"""Proof that an import behaves the same: the examples run on the ORIGINAL project under its
own platform's local runtime (which the platform's :class:`~.importer.Importer` names), and
their outputs become the expected outputs of ``portapack test`` on the imported project
(in-process and every target's runtime).

The original runs from a copy of its folder (its runtime may write there). Its requirements
must be importable here.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from portapack.importing import importer_for
from portapack.importing.base import SKIP_DIRS
from portapack.importing.importer import Importer
from portapack.proof.case_results import CaseResult, TestReport
from portapack.proof.runtimes.base import Runtime
from portapack.proof.testing import REFERENCE, run_tests
from portapack.spec.files import with_example_files
from portapack.spec.loader import Project

ORIGINAL = "original"


def verify(platform: str, src: Path, project: Project, *, targets: list[str] | None = None,
           out: Path | None = None, tolerance: float | None = None,
           on_result: Callable[[CaseResult], None] | None = None) -> TestReport:
    """Run the examples on the original, then ``portapack test`` the import against them."""
    if not project.spec.examples:
        report = TestReport()
        report.results.append(CaseResult(ORIGINAL, "examples", False, error="the imported spec has "
                                         "no examples; pass --example to import, or add some"))
        return report
    importer = importer_for(platform)
    if project.spec.server is not None:  # an imported server: HTTP examples
        return _verify_server(importer, src, project, targets, out, on_result)
    secrets = {name: f"portapack-verify-{name.lower()}" for name in project.spec.secrets}
    project = with_example_files(project)  # "@cat.png" -> a data: URI, for the original too
    work = Path(tempfile.mkdtemp(prefix="portapack-verify-"))
    report = TestReport()
    try:
        copy = work / "original"
        shutil.copytree(src, copy, ignore=shutil.ignore_patterns(*SKIP_DIRS, *importer.tool_dirs))
        if importer.requirements_from_spec and not (copy / "requirements.txt").exists():
            # What the original's image installs from elsewhere (cog.yaml's python_packages, a
            # Dockerfile's `pip install` lines): the local runtime reads requirements.txt.
            (copy / "requirements.txt").write_text("".join(
                f"{r}\n" for r in project.requirements), encoding="utf-8")
        # The platform's image sets its env (its config's environment, Dockerfile ENV); the local
        # runtimes do not, so the original gets them here.
        env = {**project.spec.env, **secrets}
        runtime = importer.original_runtime(copy, {**env, **importer.original_env(project)})
        expected = _original_outputs(importer, runtime, project, secrets, report, on_result)
        if expected is None:
            return report
        # A byte stream (Truss) has no items: the original's text cannot be each target's
        # expected item list. The in-process run then sets the items every target must give,
        # and its items joined must be the original's text (checked below).
        joined = runtime.joins_stream and project.predictor.streaming
        examples = [e.model_copy(update={"output": None if joined else want}) for e, want in
                    zip(project.spec.examples, expected, strict=True)]
        checked = dataclasses.replace(project, spec=project.spec.model_copy(update={"examples": examples}))
        # The imported predictor reads secrets and env from the environment; the platforms'
        # images set `env:`, but most local runtimes do not, so both sides get the same values.
        with _environ(env):
            imported = run_tests(checked, targets or _every_target(),
                                 out or work / "build", tolerance=tolerance, on_result=on_result)
        report.results += imported.results
        if joined:
            _check_joined(expected, imported, report, on_result)
        return report
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _check_joined(texts: list[Any], imported: TestReport, report: TestReport, on_result) -> None:
    """The in-process items of each example, joined, against the original's streamed text."""
    reference = {r.case: r.actual for r in imported.results if r.target == REFERENCE}
    for n, text in enumerate(texts, start=1):
        want = "".join(text) if isinstance(text, list) else text
        items = reference.get(f"example {n}")
        got = "".join(str(i) for i in items) if isinstance(items, list) else items
        result = CaseResult(ORIGINAL, f"example {n} (joined)", got == want, expected=want, actual=got,
                            error=None if got == want else "the in-process items joined are not the "
                            "original's streamed text")
        report.results.append(result)
        if on_result:
            on_result(result)


def _verify_server(importer: Importer, src: Path, project: Project, targets: list[str] | None,
                   out: Path | None, on_result: Callable[[CaseResult], None] | None) -> TestReport:
    report = TestReport()

    def record(result: CaseResult) -> None:
        report.results.append(result)
        if on_result:
            on_result(result)

    work = Path(tempfile.mkdtemp(prefix="portapack-verify-"))
    try:
        examples = importer.server_expectations(src, project, work, record)
        if examples is None:
            return report
        checked = dataclasses.replace(project, spec=project.spec.model_copy(update={"examples": examples}))
        report.results += run_tests(checked, targets or _every_target(),
                                    out or work / "build", on_result=on_result).results
        return report
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _original_outputs(importer: Importer, runtime: Runtime, project: Project, secrets: dict[str, str],
                      report: TestReport, on_result) -> list[Any] | None:
    def record(result: CaseResult) -> None:
        report.results.append(result)
        if on_result:
            on_result(result)

    try:
        runtime.start()
    except Exception as exc:  # noqa: BLE001 (any failure to start is the finding)
        record(CaseResult(ORIGINAL, "start", False, error=str(exc)))
        return None
    outputs = []
    try:
        for n, example in enumerate(project.spec.examples, start=1):
            inputs = importer.original_inputs(example.input, secrets)
            outcome = importer.call_original(runtime, inputs, project.predictor.streaming)
            record(CaseResult(ORIGINAL, f"example {n}", outcome.ok, outcome.seconds,
                              actual=outcome.output, error=outcome.error))
            if not outcome.ok:
                return None
            outputs.append(outcome.output)
    finally:
        runtime.stop()
    return outputs


def _every_target() -> list[str]:
    from portapack.targets import names

    return names()


class _environ:
    def __init__(self, values: dict[str, str]):
        self.values, self.saved = values, {}

    def __enter__(self) -> None:
        import os
        self.saved = {k: os.environ.get(k) for k in self.values}
        os.environ.update(self.values)

    def __exit__(self, *exc: object) -> None:
        import os
        for key, value in self.saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
