"""The spec file as text: YAML read with the line of every key, and validation errors put
back at their line in words ("portapack.yaml:5 resources.gpu: ...", "did you mean ...?")."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from portapack.errors import Problem, SpecError


def decode_problem(rel: str, data: bytes, exc: UnicodeDecodeError) -> Problem:
    """Where a file stops being UTF-8 (line and byte offset), and the fix."""
    line = data[:exc.start].count(b"\n") + 1
    return Problem(f"{rel}:{line}", f"not UTF-8: byte 0x{data[exc.start]:02x} at offset {exc.start} "
                   "cannot be decoded; save the file as UTF-8")


def read_utf8(path: Path, rel: str) -> str:
    """The text of ``path``; a file that is not UTF-8 is a :class:`SpecError` at its line."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError(decode_problem(rel, data, exc)) from None


def read_yaml(path: Path) -> tuple[Any, dict[tuple, int]]:
    """The document and the line of every key path in it (``("resources", "gpu")`` -> 5)."""
    try:
        text = read_utf8(path, path.name)
    except OSError as exc:
        raise SpecError(Problem(path.name, f"cannot read the spec: {exc}")) from None
    try:
        node, data = _parse(text, getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:
        # libyaml words some errors differently: the pure-Python parser says what is wrong,
        # so the message is the same whether or not PyYAML was built with libyaml.
        try:
            node, data = _parse(text, yaml.SafeLoader)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"{path.name}:{mark.line + 1}" if mark else path.name
            problem = getattr(exc, "problem", None) or str(exc)
            raise SpecError(Problem(where, f"invalid YAML: {problem}")) from None
    if not isinstance(data, dict):
        raise SpecError(Problem(path.name, "the spec must be a mapping with at least "
                                "'name:' and 'predictor:'; run 'portapack init' for a starter"))
    lines: dict[tuple, int] = {}
    _index(node, (), lines)
    return data, lines


def _parse(text: str, loader_class: type) -> tuple[yaml.Node | None, Any]:
    """One pass: compose the node tree (kept for line numbers), then construct from it.
    libyaml's CSafeLoader when PyYAML has it: about ten times faster than pure Python."""
    loader = loader_class(text)
    try:
        node = loader.get_single_node()
        return node, (loader.construct_document(node) if node is not None else None)
    finally:
        loader.dispose()


def _index(node: yaml.Node | None, path: tuple, out: dict[tuple, int]) -> None:
    if node is None:
        return
    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            out[path + (key.value,)] = key.start_mark.line + 1
            _index(value, path + (key.value,), out)
            out[path + (key.value,)] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _index(item, path + (i,), out)


def where(name: str, lines: dict[tuple, int], loc: tuple) -> str:
    """``portapack.yaml:5 resources.gpu``: the nearest line known for ``loc``, and the path."""
    for cut in range(len(loc), -1, -1):
        if loc[:cut] in lines:
            line = lines[loc[:cut]]
            break
    else:
        line = None
    dotted = ".".join(str(p) for p in loc)
    where = f"{name}:{line}" if line else name
    return f"{where} {dotted}" if dotted else where


def clean_loc(raw_loc: tuple) -> tuple:
    """A pydantic error's location as the spec's key path (its validator steps left out)."""
    return tuple(p for p in raw_loc if not (isinstance(p, str) and p.startswith(
        ("function-", "list[", "str", "[key]", "Example", "HttpExample"))))


def problem_at(name: str, lines: dict[tuple, int], err: dict[str, Any],
               model: type[BaseModel]) -> Problem:
    """One pydantic error of validating ``model`` -> a :class:`Problem` at its line, in words."""
    raw_loc = err["loc"]
    loc = clean_loc(raw_loc)
    kind, value = err["type"], err.get("input")
    if kind == "extra_forbidden":
        allowed = _fields_at(model, loc[:-1])
        guess = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f"did you mean '{guess[0]}'?" if guess else f"allowed: {', '.join(allowed)}"
        return Problem(where(name, lines, loc), f"unknown field '{loc[-1]}'; {hint}")
    if kind == "missing":
        return Problem(where(name, lines, loc[:-1]), f"'{loc[-1]}' is required")
    msg = err["msg"].removeprefix("Value error, ")
    if kind == "string_pattern_mismatch":
        msg = _PATTERN_HINTS.get(loc[-1] if loc and isinstance(loc[-1], str) else "", msg)
        if "[key]" in raw_loc or (len(loc) >= 2 and loc[0] in ("env", "secrets")):
            msg = "must be an environment variable name: letters, digits and '_'"
    if kind == "literal_error" and loc == ("python",):
        msg = "must be one of \"3.10\", \"3.11\", \"3.12\", \"3.13\""
    shown = "" if isinstance(value, dict | list) or value is None else f" (got {value!r})"
    return Problem(where(name, lines, loc), msg + shown)


_PATTERN_HINTS = {
    "name": "must be lowercase letters, digits and '-', starting and ending with a letter or digit",
    "predictor": "must be in the form 'predict.py:Predictor' (FILE.py:Class)",
    "memory": "must be a number with a binary unit, such as '512Mi' or '16Gi'",
}


def _fields_at(model: type[BaseModel], loc: tuple) -> list[str]:
    """The field names of the model found by walking ``loc`` down from ``model``."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        field = current.model_fields.get(part) if isinstance(current, type) and issubclass(
            current, BaseModel) else None
        if field is None:
            return []
        current = _model_in(field.annotation)
    return list(current.model_fields) if current else []


def _model_in(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found:
            return found
    return None
