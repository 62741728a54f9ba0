"""``portapack test``: the spec's examples against the predictor in-process and against every
target's artifact under that platform's own local runtime, plus one invalid request each."""

from __future__ import annotations

import copy
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from portapack.building.builder import build
from portapack.errors import PortapackError
from portapack.proof.case_results import CaseResult, TestReport, names_input, record_refused, same
from portapack.proof.causes import has_exception, short_cause
from portapack.proof.filecompare import first_file_difference
from portapack.proof.local import LocalPredictor, PredictorFailed, missing_module
from portapack.proof.runtimes import Runtime, get_runtime
from portapack.spec.files import file_input_error, with_example_files
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
    device: str = "auto",
    base_image: str | None = None,
) -> TestReport:
    """Build ``targets`` into ``out``, then run every example everywhere. ``device="cpu"``
    runs a GPU spec's predictions on this machine's CPU (each row says so) instead of
    skipping them where the GPU is missing."""
    if device not in DEVICES:
        raise PortapackError(f"device must be one of {', '.join(DEVICES)}, not '{device}'")
    if project.spec.server is not None:  # an HTTP server: HTTP examples, server runtimes
        from portapack.proof.server_testing import run_server_tests

        return run_server_tests(project, targets, out, on_result=on_result,
                                extra_runtimes=extra_runtimes, base_image=base_image)
    report = TestReport()

    on_cpu = device == "cpu" and project.spec.resources.gpu is not None
    logs = logs_dir(out)

    weight_paths = [w.path for w in project.spec.weights]

    def record(result: CaseResult) -> None:
        if on_cpu:
            result.device = "cpu"
        if result.error and not result.ok:
            result.cause = short_cause(result.error, weight_paths)
            _append_log(logs, result.target, f"--- portapack: {result.case} failed\n{result.error}")
        report.results.append(result)
        if on_result:
            on_result(result)

    # Built as `portapack build` builds it: the artifacts show "@cat.png" as their samples do,
    # never a test run's inlined data: URI.
    result = build(project, targets, out)
    shutil.rmtree(logs, ignore_errors=True)  # this run's logs only
    record_refused(result, record)
    if on_cpu:  # the artifacts are built as is; only the local runs are told to use no GPU
        report.note = (f"--device cpu: the spec asks for a GPU ({project.spec.resources.gpu}); "
                       "every prediction ran on this machine's CPU and the GPU was not used")
        project = _without_gpu(project)
    project = with_example_files(project)  # "@cat.png" -> the file's data: URI, for every target
    runtimes: dict[str, Callable[[], Runtime]] = {
        b.target: (lambda b=b: get_runtime(b.target, b.path, python=python, project=project))
        for b in result.builds}
    runtimes.update(extra_runtimes or {})
    bad = invalid_request(project)
    missing_gpu = None if on_cpu else gpu_missing(project)
    if missing_gpu:  # what needs no model ran (build, the platforms' checks); say what did not
        _check_invalid_without_model(project, bad, record)
        for target in [REFERENCE, *runtimes]:
            record(CaseResult(target, "examples", False, skipped=missing_gpu))
        return report
    expected = _run_reference(project, bad, tolerance, record, logs)
    for target, make in runtimes.items():
        _run_target(target, make, project, expected, bad, tolerance, record, logs)
    return report


def logs_dir(out: Path) -> Path:
    """Where ``portapack test`` keeps each runtime's whole log (``<target>.log``)."""
    return Path(out) / ".portapack-logs"


def _save_log(logs: Path, target: str, runtime: Runtime | None) -> None:
    """The runtime's own log (its output, tracebacks included) after its failures' errors."""
    if runtime is None:
        return
    try:
        text = runtime.log_path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return
    if text.strip():
        _append_log(logs, target, f"--- {target}: the runtime's own log\n{text}")


def _append_log(logs: Path, target: str, text: str) -> None:
    logs.mkdir(parents=True, exist_ok=True)
    with open(logs / f"{target}.log", "a", encoding="utf-8") as f:
        f.write(text.rstrip("\n") + "\n")


DEVICES = ("auto", "cpu")


def _without_gpu(project: Project) -> Project:
    """The project as the local runs of ``--device cpu`` see it: no CUDA device visible (on a
    GPU machine too), so the predictor takes its CPU path."""
    from dataclasses import replace

    env = {**project.spec.env, "CUDA_VISIBLE_DEVICES": ""}
    return replace(project, spec=project.spec.model_copy(update={"env": env}))


def gpu_missing(project: Project) -> str | None:
    """Why the model cannot be loaded here: the spec asks for a GPU this machine lacks."""
    gpu = project.spec.resources.gpu
    if gpu is None or Path("/dev/nvidia0").exists() or os.environ.get("PORTAPACK_HAS_GPU") == "1":
        return None
    return (f"the spec asks for a GPU ({gpu}) and this machine has none: the model was not "
            "loaded and no prediction ran (run portapack test on a GPU machine, or with "
            "--device cpu to run them on this CPU)")


def _check_invalid_without_model(project: Project, bad: tuple[dict[str, Any], str] | None,
                                 record: Callable[[CaseResult], None]) -> None:
    """The examples and the broken request against the predictor's input rules: no load()."""
    if bad:
        validate = inputs_validator(project.predictor)
        try:
            validate(bad[0])
            # A file input's form is checked by the artifact's file helper, not the Inputs model:
            # the same rule here, so a broken file input is refused without loading the model.
            refused = next((e for name in project.predictor.file_inputs
                            if (e := file_input_error(name, bad[0].get(name)))), None)
            if refused:
                raise InvalidInput(refused)
            record(CaseResult(REFERENCE, "invalid", False, error="accepted an invalid request",
                              expected=f"an error naming input '{bad[1]}'"))
        except InvalidInput as exc:
            record(CaseResult(REFERENCE, "invalid", names_input(str(exc), bad[1]), error=str(exc)))


def _run_reference(project: Project, bad: tuple[dict[str, Any], str] | None,
                   tolerance: float | None, record: Callable[[CaseResult], None],
                   logs: Path) -> list[Any]:
    """The examples on the predictor itself (in its own env): the expected outputs."""
    examples = project.spec.examples
    local = LocalPredictor(project)
    try:
        local.load()
    except (PredictorFailed, PortapackError) as exc:
        _save_log(logs, REFERENCE, local.failed)
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
        _save_log(logs, REFERENCE, local.runtime)
        local.close()
    return expected


def _run_target(target: str, make: Callable[[], Runtime], project: Project, expected: list[Any],
                bad: tuple[dict[str, Any], str] | None, tolerance: float | None,
                record: Callable[[CaseResult], None], logs: Path) -> None:
    runtime = None
    try:
        runtime = make()
        runtime.start()  # stops what it started if it fails or is interrupted
    except (PortapackError, RuntimeError, OSError) as exc:
        module = missing_module(str(exc))
        hint = f"'{module}' is not installed: add it to the spec's requirements\n" if module else ""
        _save_log(logs, target, runtime)
        record(CaseResult(target, "start", False, error=hint + str(exc)))
        return
    try:
        _run_cases(target, runtime, project, expected, bad, tolerance, record)
    except (PortapackError, OSError, ValueError) as exc:  # the artifact died mid-run
        record(CaseResult(target, "crashed", False, error=str(exc)))
    finally:
        runtime.stop()
        _save_log(logs, target, runtime)


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
            outcome = _logged(runtime, call, example.input)
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
                outcome = _logged(runtime, call, project.spec.examples[0].input)
                record(_compare(target, f"after invalid{via}", expected[0], outcome, tolerance))


def _logged(runtime: Runtime, call: Callable[[dict[str, Any]], Any], inputs: dict[str, Any]) -> Any:
    """``call(inputs)``; a failure whose error hides the cause (an HTTP 500's "Internal Server
    Error") gets what the runtime logged meanwhile (the traceback), for its one-line cause."""
    mark = runtime.log_size()
    outcome = call(inputs)
    if not outcome.ok and not has_exception(outcome.error):
        for _ in range(10):  # a server may log the traceback just after it answered
            logged = runtime.log_since(mark)
            if has_exception(logged):
                outcome.error = f"{outcome.error or 'failed'}\n{logged}"
                break
            time.sleep(0.1)
    return outcome


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
    device: str = "auto",
) -> TestReport:
    """Build ``targets`` from ``spec`` (a portapack.yaml, its folder or a loaded Project) into
    ``out``, then run every example in-process and under each target's local runtime, plus one
    invalid request per target. ``report.ok`` says whether every artifact behaved the same.
    ``device="cpu"`` runs a GPU spec's predictions on this machine's CPU (rows marked so);
    by default they are skipped where the GPU is missing (``report.skipped``)."""
    from portapack.errors import SpecError
    from portapack.spec.loader import load_project
    from portapack.targets import resolve_targets

    out = Path(out).resolve()
    project = spec if isinstance(spec, Project) else load_project(spec, exclude=(out,))
    if not project.spec.examples:
        raise SpecError("the spec has no examples: add some under 'examples:' to test against")
    resolve_targets(targets)  # an unknown name fails before anything runs
    return run_tests(project, targets, out, tolerance=tolerance, on_result=on_result, device=device)


test.__test__ = False  # type: ignore[attr-defined]  # a library function, not a pytest test


# Results and comparisons live in case_results.py; callers and tests import them from here too.
__all__ = ["DEVICES", "REFERENCE", "CaseResult", "TestReport", "gpu_missing", "invalid_request",
           "logs_dir", "names_input", "run_tests", "same", "test"]
