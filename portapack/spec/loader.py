"""Load a portapack.yaml into a :class:`Project`, reporting every problem at once.

Errors name the file, the line, the field path, the bad value and the fix; unknown keys get
"did you mean ...?".
"""

from __future__ import annotations

import copy
import fnmatch
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from portapack.errors import Problem, SpecError
from portapack.spec.model import Spec, cross_field_problems
from portapack.spec.server import NO_ENTRY
from portapack.spec.signature import PredictorInfo, read_predictor
from portapack.spec.yamlfile import clean_loc, problem_at, read_utf8, read_yaml, where

SPEC_FILENAME = "portapack.yaml"
# Never copied by the default `files:` (hidden files are skipped as well).
DEFAULT_EXCLUDES = ("__pycache__", "*.pyc", "build", "dist", "venv", "env", "node_modules",
                    "*.egg-info", "README.md", SPEC_FILENAME)


@dataclass(frozen=True)
class Project:
    """A validated spec, its predictor's contract and the files to ship."""

    spec: Spec
    predictor: PredictorInfo | None  # None for a server: project (an HTTP server command)
    root: Path  # the directory of the spec file
    spec_path: Path
    requirements: tuple[str, ...]
    files: tuple[str, ...]  # POSIX paths relative to root, sorted
    # What with_options() merged over the file (part of the build digest), and how it was loaded.
    overrides: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)
    exclude: tuple[Path, ...] = field(default=(), compare=False, repr=False)

    def with_options(self, mapping: Mapping[str, Any]) -> Project:
        """This project with ``mapping`` deep-merged into its spec (a nested dict, as the YAML
        is written) and validated again as a spec file is: a bad value raises the usual
        :class:`SpecError` naming the field. The spec file itself is not changed::

            project.with_options({"targets": {"runpod": {"container_disk_gb": 40}}})
        """
        if not isinstance(mapping, Mapping):
            raise SpecError(Problem("with_options", "expects a mapping shaped like portapack.yaml, "
                                    "such as {'scaling': {'max_replicas': 4}}"))
        overrides = _deep_merge(self.overrides, mapping)
        return _load(self.spec_path, overrides, self.exclude)


def find_spec(path: str | Path | None = None) -> Path:
    """The spec file: ``path`` itself, ``path/portapack.yaml``, or ./portapack.yaml."""
    candidate = Path(path) if path else Path.cwd()
    if candidate.is_dir():
        candidate = candidate / SPEC_FILENAME
    if not candidate.is_file():
        raise SpecError(Problem(str(candidate), "spec file not found; run 'portapack init' to "
                                "create one, or pass --spec PATH"))
    return candidate


def load_project(path: str | Path | None = None, *, exclude: tuple[Path, ...] = ()) -> Project:
    """Load and validate the spec at ``path`` (file or directory) and read its predictor.

    ``exclude`` lists directories never copied (the build output, typically).
    """
    return _load(find_spec(path), {}, tuple(exclude))


def _deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``over`` merged in: mappings merge key by key, anything else replaces."""
    merged = copy.deepcopy(dict(base))
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _from_overrides(problem: Problem, loc: tuple, overrides: Mapping[str, Any]) -> Problem:
    """A problem with a value that with_options() set is located there, not in the file."""
    node: Any = overrides
    for part in loc:
        if not isinstance(node, Mapping) or part not in node:
            return problem
        node = node[part]
    dotted = problem.where.partition(" ")[2]
    return Problem(f"with_options {dotted}".strip(), problem.message)


def _load(spec_path: Path, overrides: Mapping[str, Any], exclude: tuple[Path, ...]) -> Project:
    rel_name = spec_path.name
    data, lines = read_yaml(spec_path)
    data = _deep_merge(data, overrides)
    try:
        spec = Spec.model_validate(data, context={"cross_checks": False})
    except ValidationError as exc:
        problems = [_from_overrides(problem_at(rel_name, lines, err, Spec), clean_loc(err["loc"]),
                                    overrides) for err in exc.errors()]
        if "predictor" not in data and "server" not in data:  # the other rules did not run
            problems.append(Problem(where(rel_name, lines, ()), NO_ENTRY))
        raise SpecError(problems) from None
    cross = [_from_overrides(Problem(where(rel_name, lines, loc), msg), loc, overrides)
             for loc, msg in cross_field_problems(spec)]
    if cross:
        raise SpecError(cross)
    root = spec_path.parent.resolve()
    problems: list[Problem] = []
    requirements = _requirements(spec, root, rel_name, lines, problems)
    predictor = None if spec.server else _predictor(spec, root, rel_name, lines, problems)
    from portapack.spec.files import example_file_problems, example_fixtures

    # Files the examples send ("@cat.png") are test data: shipped only when `files:` names them.
    fixtures = example_fixtures(spec, predictor) if predictor is not None else set()
    files = _files(spec, root, rel_name, lines, problems, exclude, fixtures)
    files = sorted(set(files) | _local_weights(spec, root, rel_name, lines, problems, exclude))
    if predictor is not None and spec.predictor_file not in files:
        problems.append(Problem(where(rel_name, lines, ("files",)),
                                f"the predictor file {spec.predictor_file} is not in 'files'; add it"))
    if predictor is not None:
        problems += _check_examples(spec, predictor, rel_name, lines)
        # "@cat.png" must exist, within the size limit every target enforces
        problems += example_file_problems(spec, predictor, root, lambda loc: where(rel_name, lines, loc))
    if problems:
        raise SpecError(problems)
    return Project(spec, predictor, root, spec_path, tuple(requirements), tuple(files),
                   overrides=dict(overrides), exclude=exclude)


def _predictor(spec: Spec, root: Path, rel_name: str, lines: dict,
               problems: list[Problem]) -> PredictorInfo | None:
    """The predictor class's contract, read statically (problems appended, None on failure)."""
    if not all(part.isidentifier() for part in spec.predictor_module.split(".")):
        problems.append(Problem(where(rel_name, lines, ("predictor",)),
                                f"'{spec.predictor_file}' cannot be imported as a Python module; "
                                "use a file name made of letters, digits and '_'"))
    try:
        return read_predictor(root / spec.predictor_file, spec.predictor_file, spec.predictor_class)
    except SpecError as exc:
        problems += exc.problems
        return None


# -- requirements, files, examples --------------------------------------------------------------
def _requirements(spec: Spec, root: Path, name: str, lines: dict, problems: list[Problem]) -> list[str]:
    if isinstance(spec.requirements, list):
        reqs = spec.requirements
    else:
        path = root / spec.requirements
        if not path.is_file():
            problems.append(Problem(where(name, lines, ("requirements",)),
                                    f"requirements file '{spec.requirements}' not found"))
            return []
        try:
            text = read_utf8(path, spec.requirements)
        except SpecError as exc:
            problems += exc.problems
            return []
        reqs = [ln.split(" #")[0].strip() for ln in text.splitlines()]
        reqs = [r for r in reqs if r and not r.startswith("#")]
    for i, req in enumerate(reqs):
        if not req.strip() or "\n" in req or req.strip().startswith("-"):
            problems.append(Problem(where(name, lines, ("requirements", i)),
                                    f"{req!r} is not a pip requirement (options such as "
                                    "'--index-url' are not supported)"))
    return [r.strip() for r in reqs]


def _files(spec: Spec, root: Path, name: str, lines: dict, problems: list[Problem],
           exclude: tuple[Path, ...], fixtures: set[str] = frozenset()) -> list[str]:
    excluded = {p.resolve() for p in exclude}
    if isinstance(spec.requirements, str):
        excluded.add((root / spec.requirements).resolve())
    found: set[str] = set()
    if spec.files is None:
        for path in _walk(root, excluded):
            rel = path.relative_to(root).as_posix()
            if not any(fnmatch.fnmatch(part, pat) for part in rel.split("/")
                       for pat in DEFAULT_EXCLUDES) and not any(
                    part.startswith(".") for part in rel.split("/")) and rel not in fixtures:
                found.add(rel)
        return sorted(found)
    for i, pattern in enumerate(spec.files):
        if pattern.startswith("/") or ".." in pattern.split("/"):
            problems.append(Problem(where(name, lines, ("files", i)),
                                    f"'{pattern}' must be relative to the spec file, inside its folder"))
            continue
        matched = False
        for path in _walk(root, excluded):
            rel = path.relative_to(root).as_posix()
            if (pattern.endswith("/") and rel.startswith(pattern)) or fnmatch.fnmatch(rel, pattern):
                found.add(rel)
                matched = True
        if not matched:
            problems.append(Problem(where(name, lines, ("files", i)),
                                    f"'{pattern}' matches no file; fix or remove it"))
    return sorted(found)


def _local_weights(spec: Spec, root: Path, name: str, lines: dict, problems: list[Problem],
                   exclude: tuple[Path, ...]) -> set[str]:
    """Files of local ``weights:`` sources: always shipped, whatever ``files`` says."""
    found: set[str] = set()
    for i, weight in enumerate(spec.weights):
        if weight.scheme != "local":
            continue
        path = (root / weight.source).resolve()
        if not path.is_relative_to(root) or not path.exists():
            problems.append(Problem(where(name, lines, ("weights", i, "source")),
                                    f"'{weight.source}' must be an existing file or folder "
                                    "inside the spec's folder"))
            continue
        if path.is_file():
            found.add(path.relative_to(root).as_posix())
        else:
            found |= {p.relative_to(root).as_posix() for p in _walk(path, {e.resolve() for e in exclude})}
    return found


def _walk(root: Path, excluded: set[Path]):
    """Files below ``root``, skipping hidden folders, caches, virtualenvs and ``excluded``."""
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames[:] = sorted(
            d for d in dirnames
            if not d.startswith(".") and d not in ("__pycache__", "node_modules")
            and (here / d).resolve() not in excluded and not (here / d / "pyvenv.cfg").exists()
        )
        for filename in sorted(filenames):
            path = here / filename
            if not path.is_symlink() and path.resolve() not in excluded:
                yield path


def _check_examples(spec: Spec, predictor: PredictorInfo, name: str, lines: dict) -> list[Problem]:
    """Each example's input against the predictor's rules (the same Inputs model every target
    validates requests with), numbered "example N" as ``portapack test`` numbers them."""
    known = {i.name for i in predictor.inputs}
    required = {i.name for i in predictor.inputs if i.required}
    problems = []
    for n, example in enumerate(spec.examples):
        at = where(name, lines, ("examples", n, "input"))
        unknown = sorted(set(example.input) - known)
        missing = sorted(required - set(example.input))
        if unknown:
            problems.append(Problem(at, f"example {n + 1}: predict() has no input "
                                    f"{', '.join(unknown)}; inputs: {', '.join(sorted(known)) or 'none'}"))
        if missing:
            problems.append(Problem(at, f"example {n + 1}: required input "
                                    f"{', '.join(missing)} is missing"))
        if not unknown and not missing:
            inputs = predictor.inputs_model
            try:
                inputs.model.model_validate(example.input)
            except inputs.error as exc:
                problems.append(Problem(at, f"example {n + 1}: {inputs.message(exc)}; every "
                                        "target would refuse this request"))
    return problems
