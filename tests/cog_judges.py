"""Cog's own judges of a generated Cog project, without Cog's Go CLI (no Go toolchain here).

- ``cog_yaml_errors``: cog.yaml against Cog's config schema (Draft 7, strict), the document in
  ../shared/schemas (tests/vendor_docs.py).
- ``cogs_reading`` / ``schema_differences``: ``.cog/openapi_schema.json`` against Cog's own
  reading of the runner. ``cog build`` writes that file with its Go static generator (tree-
  sitter); coglet, Cog's server, does not generate one: it serves the file (worker.rs
  ``load_bundled_schema``: "No runtime generation — if the file doesn't exist, no schema";
  replicate/cog 6110c912, 2026-08-21, and coglet 0.23.1 answers 503 "OpenAPI schema not
  available" without it). So the judge is the Cog SDK's inspector (``cog._inspector``, what
  coglet's worker loads the runner with), run in the artifact's own env: every input's order,
  type (``FieldType.json_type()``, the SDK's JSON schema of a field), default, description,
  bounds, lengths, regex, choices, deprecation and optionality, and the Output component
  (``OutputType.json_type()``), must be what our document says.
- ``cog_env_line``: the Dockerfile ENV line ``cog build`` writes from cog.yaml's environment.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from vendor_docs import vendor_json

from portapack.targets.cog.runtime import CogRuntime


def cog_yaml_errors(path: Path) -> list[str]:
    """Cog's config schema's complaints about the cog.yaml at ``path`` (skips without it)."""
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    validator = jsonschema.Draft7Validator(vendor_json("cog-config-schema-v1.0.json"))
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(config)]


# -- the Dockerfile ENV line --------------------------------------------------------------------
# The rule, read in github.com/replicate/cog at 6110c912 (v0.22.0-5, 2026-08-21; both files last
# changed 2026-03-30): pkg/config/env.go parseAndValidateEnvironment splits each `environment:`
# entry at its first "=" (an entry without "=" or with an empty name is an error, a name given
# twice is an error, a name on environmentVariableDenyList is an error: exact names, or a prefix
# for the patterns ending in "*"); pkg/dockerfile/env.go envLineFromConfig then writes ONE line,
# "ENV" followed by " NAME=VALUE" for every name in sorted order (slices.Sorted: byte order),
# the value copied as is (no quoting, no escaping), and no line at all when there is none.
COG_ENV_DENY_LIST = ("PATH", "LD_LIBRARY_PATH", "PYTHONPATH", "VIRTUAL_ENV", "PYTHONUNBUFFERED",
                     "R8_*", "REPLICATE_*", "LIBRARY_PATH", "CUDA_*", "NVIDIA_*", "NV_*", "PGET_*",
                     "HF_ENDPOINT", "HF_HUB_ENABLE_HF_TRANSFER", "KUBERNETES_*")


def cog_env_line(environment: list[str]) -> str:
    """The ENV line `cog build` puts in its Dockerfile for cog.yaml's ``environment`` (the rule
    above); ValueError where Cog refuses the entries."""
    parsed: dict[str, str] = {}
    for entry in environment:
        name, sep, value = entry.partition("=")
        if not sep or not name:
            raise ValueError(f"environment variable {entry!r} is not in the KEY=VALUE format")
        if any(name == p or (p.endswith("*") and name.startswith(p[:-1]))
               for p in COG_ENV_DENY_LIST):
            raise ValueError(f"environment variable {name!r} is not allowed")
        if name in parsed:
            raise ValueError(f"environment variable {name!r} is already defined")
        parsed[name] = value
    if not parsed:
        return ""
    names = sorted(parsed, key=lambda n: n.encode())
    return "ENV" + "".join(f" {n}={parsed[n]}" for n in names) + "\n"


# -- the OpenAPI document against Cog's reading of the runner ----------------------------------
_READ = """
import dataclasses, json, sys, warnings
warnings.simplefilter('error', DeprecationWarning)
sys.path.insert(0, '.')
from cog import _adt, _inspector
info = _inspector.create_predictor('run', 'Runner')
def plain(value):
    if isinstance(value, dataclasses.Field) or dataclasses.is_dataclass(value):
        return {'unserialisable': repr(value)}
    return value
inputs = [{'name': f.name, 'order': f.order, 'json_type': f.type.json_type(),
           'optional': f.type.repetition in (_adt.Repetition.OPTIONAL,
                                             _adt.Repetition.OPTIONAL_REPEATED),
           'default': plain(f.default), 'description': f.description, 'ge': f.ge, 'le': f.le,
           'min_length': f.min_length, 'max_length': f.max_length, 'regex': f.regex,
           'choices': f.choices, 'deprecated': f.deprecated} for f in info.inputs.values()]
print(json.dumps({'inputs': inputs, 'output': info.output.json_type()}))
"""


def cogs_reading(project: Path) -> dict[str, Any]:
    """The Cog SDK inspector's reading of ``project``'s run.py:Runner, in the artifact's own
    env (the one coglet runs in), deprecation warnings as errors."""
    runtime = CogRuntime(project)
    runtime.prepare()
    done = subprocess.run([runtime.python, "-c", _READ], cwd=project, capture_output=True,
                          text=True, timeout=300, env=runtime.process_env())
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def _resolved(prop: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    """A property with the type and enum of its ``allOf: [{$ref}]`` (how Cog writes choices)
    merged in; the enum component's title and description ("An enumeration.") are Cog's
    presentation, not a fact of the runner."""
    out = {k: v for k, v in prop.items() if k != "allOf"}
    for part in prop.get("allOf", []):
        component = components[part["$ref"].removeprefix("#/components/schemas/")]
        out.update({k: component[k] for k in ("type", "enum") if k in component})
    return out


def _same(a: Any, b: Any) -> bool:
    """JSON equality: a number is a number (JSON has no int/float: Go writes float64 1.0 as 1),
    but a bool is never a number."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


# Keys of an input's schema that carry no fact of the runner (Cog's presentation of it).
_PRESENTATION = {"title"}
_FACTS = {"ge": "minimum", "le": "maximum", "min_length": "minLength",
          "max_length": "maxLength", "regex": "pattern", "choices": "enum",
          "description": "description", "deprecated": "deprecated"}


def schema_differences(document: dict[str, Any], reading: dict[str, Any]) -> list[str]:
    """Where ``document`` (.cog/openapi_schema.json) says something Cog's reading does not."""
    components = document["components"]["schemas"]
    found = []
    props = components["Input"]["properties"]
    names = [f["name"] for f in reading["inputs"]]
    ordered = sorted(props, key=lambda n: props[n].get("x-order", -1))
    if ordered != names:
        found.append(f"Input properties {ordered} (by x-order), Cog reads {names}")
    required = [f["name"] for f in reading["inputs"]
                if f["default"] is None and not f["optional"]]
    if components["Input"].get("required", []) != required:
        found.append(f"Input.required {components['Input'].get('required')}, Cog: {required}")
    for field in reading["inputs"]:
        name = field["name"]
        if name not in props:
            continue
        prop = _resolved(props[name], components)
        expected = {"x-order": field["order"], **field["json_type"]}
        for fact, key in _FACTS.items():
            if field[fact] is not None:
                expected[key] = field[fact]
        if field["optional"]:
            expected["nullable"] = True
        if field["default"] is not None or (field["optional"] and "default" in prop):
            expected["default"] = field["default"]
        if field["choices"] is not None:  # the enum's component carries the type
            expected["type"] = prop.get("type")
        ours = {k: v for k, v in prop.items() if k not in _PRESENTATION}
        for key in sorted(set(ours) | set(expected)):
            if not _same(ours.get(key, "(absent)"), expected.get(key, "(absent)")):
                found.append(f"{name}.{key}: ours {ours.get(key, '(absent)')!r}, "
                             f"Cog's {expected.get(key, '(absent)')!r}")
    output = dict(components["Output"])
    if not _same(output, reading["output"]):
        found.append(f"Output: ours {output}, Cog's {reading['output']}")
    return found
