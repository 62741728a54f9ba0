"""``portapack test``: the spec's examples against the predictor in-process and against every
target's artifact under that platform's own local runtime, plus one invalid request each."""

from __future__ import annotations

import copy
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from portapack.building.builder import build
from portapack.errors import PortapackError
from portapack.proof.case_results import CaseResult, TestReport, names_input, record_refused, same
from portapack.proof.filecompare import first_file_difference
from portapack.proof.local import LocalPredictor, PredictorFailed, missing_module
from portapack.proof.runtimes import Runtime, get_runtime
from portapack.spec.files import with_example_files
from portapack.spec.loader import Project
from portapack.spec.signature import InputSpec
from portapack.spec.validation import InvalidInput, inputs_validator

REFERENCE = "in-process"
NO_REFERENCE = object()  # an example whose expected output is unknown (the reference failed)


def invalid_request(project: Project) -> tuple[dict[str, Any], str] | None:
    """A request every target must reject: the first example with one input broken."""
    base = copy.deepcopy(project.spec.examples[0].input) if project.spec.examples else {}
    for spec in project.predictor.inputs:
        bad = _breaking_value(spec)
        if bad is not _NONE:
            base[spec.name] = bad
            return base, spec.name
    return None


_NONE = object()


def _breaking_value(i: InputSpec) -> Any:
    if i.choices is not None:
        return "not-a-choice" if i.kind == "str" else max(i.choices) + 1
    c = i.constraints
    if "le" in c:
        return c["le"] + 1
    if "ge" in c:
        return c["ge"] - 1
    if "max_length" in c:
        item = {"str": "x", "int": 0, "float": 0.0, "bool": False}.get(i.item or "str")
        return "x" * (c["max_length"] + 1) if i.kind == "str" else [item] * (c["max_length"] + 1)
    if c.get("min_length", 0) > 0:
        return "" if i.kind == "str" else []
    return {"str": 12345, "int": "not a number", "float": "not a number", "bool": "maybe",
            "list": "not a list", "dict": 12345,
            # Every target's adapter refuses it naming the input (Cog passes it through as a str).
            "path": "not-a-url"}.get(i.kind, _NONE)


def run_tests(
    project: Project,
    targets: str | list[str],
    out: Path,
    *,
    tolerance: float | None = None,
    python: str | None = None,
    on_result: Callable[[CaseResult], None] | None = None,
    extra_runtimes: dict[str, Callable[[], Runtime]] | None = None,
    base_image: str | None = None,
) -> TestReport:
    """Build ``targets`` into ``out``, then run every example everywhere."""
    if project.spec.server is not None:  # an HTTP server: HTTP examples, server runtimes
        from portapack.proof.server_testing import run_server_tests

        return run_server_tests(project, targets, out, on_result=on_result,
                                extra_runtimes=extra_runtimes, base_image=base_image)
    report = TestReport()

    def record(result: CaseResult) -> None:
        report.results.append(result)
        if on_result:
            on_result(result)

    # Built as `portapack build` builds it: the artifacts show "@cat.png" as their samples do,
    # never a test run's inlined data: URI.
    result = build(project, targets, out)
    record_refused(result, record)
    project = with_example_files(project)  # "@cat.png" -> the file's data: URI, for every target
    runtimes: dict[str, Callable[[], Runtime]] = {
        b.target: (lambda b=b: get_runtime(b.target, b.path, python=python, project=project))
        for b in result.builds}
    runtimes.update(extra_runtimes or {})
    bad = invalid_request(project)
    missing_gpu = gpu_missing(project)
    if missing_gpu:  # what needs no model ran (build, the platforms' checks); say what did not
        _check_invalid_without_model(project, bad, record)
        for target in [REFERENCE, *runtimes]:
            record(CaseResult(target, "examples", False, skipped=missing_gpu))
        return report
    expected = _run_reference(project, bad, tolerance, record)
    for target, make in runtimes.items():
        _run_target(target, make, project, expected, bad, tolerance, record)
    return report


def gpu_missing(project: Project) -> str | None:
    """Why the model cannot be loaded here: the spec asks for a GPU this machine lacks."""
    gpu = project.spec.resources.gpu
    if gpu is None or Path("/dev/nvidia0").exists() or os.environ.get("PORTAPACK_HAS_GPU") == "1":
        return None
    return (f"the spec asks for a GPU ({gpu}) and this machine has none: the model was not "
            "loaded and no prediction ran (run portapack test on a GPU machine)")


def _check_invalid_without_model(project: Project, bad: tuple[dict[str, Any], str] | None,
                                 record: Callable[[CaseResult], None]) -> None:
    """The examples and the broken request against the predictor's input rules: no load()."""
    if bad:
        validate = inputs_validator(project.predictor)
        try:
            validate(bad[0])
            record(CaseResult(REFERENCE, "invalid", False, error="accepted an invalid request",
                              expected=f"an error naming input '{bad[1]}'"))
        except InvalidInput as exc:
            record(CaseResult(REFERENCE, "invalid", names_input(str(exc), bad[1]), error=str(exc)))


def _run_reference(project: Project, bad: tuple[dict[str, Any], str] | None,
                   tolerance: float | None, record: Callable[[CaseResult], None]) -> list[Any]:
    """The examples on the predictor itself (in its own env): the expected outputs."""
    examples = project.spec.examples
    local = LocalPredictor(project)
    try:
        local.load()
    except (PredictorFailed, PortapackError) as exc:
        record(CaseResult(REFERENCE, "start", False, error=str(exc)))
        _check_invalid_without_model(project, bad, record)
        return [e.output if e.output is not None else NO_REFERENCE for e in examples]
    expected: list[Any] = []
    try:
        for n, example in enumerate(examples, start=1):
            started = time.perf_counter()
            try:
                actual = local.predict_all(example.input)
                error = None
            except (InvalidInput, PredictorFailed) as exc:
                actual, error = None, str(exc)
            want = example.output if example.output is not None else actual
            expected.append(want)
            ok = error is None and same(want, actual, tolerance)
            if not ok and error is None:
                error = first_file_difference(want, actual)
            record(CaseResult(REFERENCE, f"example {n}", ok, time.perf_counter() - started, want,
                              actual, error))
        if bad:
            try:
                local.predict_all(bad[0])
                record(CaseResult(REFERENCE, "invalid", False, error="accepted an invalid request",
                                  expected=f"an error naming input '{bad[1]}'"))
            except InvalidInput as exc:
                record(CaseResult(REFERENCE, "invalid", names_input(str(exc), bad[1]), error=str(exc)))
    finally:
        local.close()
    return expected


def _run_target(target: str, make: Callable[[], Runtime], project: Project, expected: list[Any],
                bad: tuple[dict[str, Any], str] | None, tolerance: float | None,
                record: Callable[[CaseResult], None]) -> None:
    runtime = None
    try:
        runtime = make()
        runtime.start()  # stops what it started if it fails or is interrupted
    except (PortapackError, RuntimeError, OSError) as exc:
        module = missing_module(str(exc))
        hint = f"'{module}' is not installed: add it to the spec's requirements\n" if module else ""
        record(CaseResult(target, "start", False, error=hint + str(exc)))
        return
    try:
        _run_cases(target, runtime, project, expected, bad, tolerance, record)
    except (PortapackError, OSError, ValueError) as exc:  # the artifact died mid-run
        record(CaseResult(target, "crashed", False, error=str(exc)))
    finally:
        runtime.stop()


def _run_cases(target: str, runtime: Runtime, project: Project, expected: list[Any],
               bad: tuple[dict[str, Any], str] | None, tolerance: float | None,
               record: Callable[[CaseResult], None]) -> None:
    streaming = project.predictor.streaming
    if streaming and runtime.joins_stream:  # a byte stream (Truss): the items joined, one text
        expected = [["".join(str(i) for i in want)] if isinstance(want, list) else want
                    for want in expected]
    for label, call in runtime.endpoints().items():
        via = f" ({label})" if label else ""
        for n, (example, want) in enumerate(zip(project.spec.examples, expected, strict=False),
                                            start=1):
            outcome = call(example.input)
            record(_compare(target, f"example {n}{via}", want, outcome, tolerance))
            if streaming and not label:
                outcome = runtime.stream(example.input)
                outcome.output = outcome.items
                record(_compare(target, f"example {n} (stream)", want, outcome, tolerance))
        if bad:
            outcome = call(bad[0])
            named = not outcome.ok and names_input(outcome.error, bad[1])
            record(CaseResult(target, f"invalid{via}", named, outcome.seconds,
                              f"an error naming input '{bad[1]}'", outcome.output, outcome.error))
            if project.spec.examples:  # and it keeps serving
                outcome = call(project.spec.examples[0].input)
                record(_compare(target, f"after invalid{via}", expected[0], outcome, tolerance))


def _compare(target: str, case: str, want: Any, outcome: Any, tolerance: float | None) -> CaseResult:
    if want is NO_REFERENCE:
        return CaseResult(target, case, False, outcome.seconds, None, outcome.output, outcome.error
                          or "no expected output: the in-process run failed and the example has none")
    ok = outcome.ok and same(want, outcome.output, tolerance)
    error = outcome.error or (None if ok else first_file_difference(want, outcome.output))
    return CaseResult(target, case, ok, outcome.seconds, want, outcome.output, error)


def test(
    spec: str | Path | Project | None = None,
    targets: str | list[str] | tuple[str, ...] = "all",
    out: str | Path = "build",
    *,
    tolerance: float | None = None,
    on_result: Callable[[CaseResult], None] | None = None,
) -> TestReport:
    """Build ``targets`` from ``spec`` (a portapack.yaml, its folder or a loaded Project) into
    ``out``, then run every example in-process and under each target's local runtime, plus one
    invalid request per target. ``report.ok`` says whether every artifact behaved the same."""
    from portapack.errors import SpecError
    from portapack.spec.loader import load_project
    from portapack.targets import resolve_targets

    out = Path(out).resolve()
    project = spec if isinstance(spec, Project) else load_project(spec, exclude=(out,))
    if not project.spec.examples:
        raise SpecError("the spec has no examples: add some under 'examples:' to test against")
    resolve_targets(targets)  # an unknown name fails before anything runs
    return run_tests(project, targets, out, tolerance=tolerance, on_result=on_result)


test.__test__ = False  # type: ignore[attr-defined]  # a library function, not a pytest test


# Results and comparisons live in case_results.py; callers and tests import them from here too.
__all__ = ["REFERENCE", "CaseResult", "TestReport", "gpu_missing", "invalid_request", "names_input",
           "run_tests", "same", "test"]
