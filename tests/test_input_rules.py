"""The input rules have one source: the pydantic ``Inputs`` model every artifact ships.

``validate --json``, Cog's OpenAPI inputs (and run.py's ``Input(...)`` rules), the check of
each declared default and ``portapack predict``'s request validation are all derived from it.
The proof: a rule added to the model alone (the reader and InputSpec never see it) reaches
every one of them, and the model each golden artifact ships gives the very schema that
``validate --json`` prints.
"""

from __future__ import annotations

import ast
import json
import sys
import textwrap
import types
from pathlib import Path

import pytest
from click.testing import CliRunner

import portapack
import portapack.spec.signature.model as model_module
from portapack import SpecError
from portapack.cli import main
from portapack.spec.signature import read_predictor
from portapack.spec.signature.fields import pydantic_fields
from portapack.spec.validation import InvalidInput, inputs_validator
from portapack.targets.cog.openapi import cog_bounds, cog_rules, openapi_schema

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden"
HEADER = "from typing import Any, Literal\nfrom pydantic import BaseModel, ConfigDict, Field\n"
PREDICTOR = """\
from typing import Annotated

from pydantic import Field


class Predictor:
    def load(self):
        pass

    def predict(self, word: str, count: Annotated[int, Field(ge=1)] = {count},
                ratio: float = 0.5) -> str:
        return word * count
"""
SPEC = "name: demo\npredictor: predict.py:Predictor\n"
# Rules the model gets that the predictor never declared.
ADDED = {"count": "le=5", "word": "max_length=3", "ratio": "gt=0"}


def write_project(directory: Path, count: int = 3) -> Path:
    (directory / "predict.py").write_text(PREDICTOR.format(count=count), encoding="utf-8")
    (directory / "portapack.yaml").write_text(SPEC, encoding="utf-8")
    return directory


@pytest.fixture
def added_rules(monkeypatch):
    """Give the Inputs model (only the model: artifacts render their own) the ADDED rules."""
    def fields(pred):
        out = pydantic_fields(pred)
        for f in out:
            if f["name"] in ADDED:
                key, value = ADDED[f["name"]].split("=")
                f["rules"][key] = float(value) if "." in value else int(value)
        return out

    monkeypatch.setattr(model_module, "pydantic_fields", fields)


def test_a_rule_added_to_the_model_reaches_validate_json(added_rules, tmp_path, monkeypatch):
    monkeypatch.chdir(write_project(tmp_path))
    result = CliRunner().invoke(main, ["validate", "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    props = json.loads(result.output)["inputs"]["properties"]
    assert (props["count"]["minimum"], props["count"]["maximum"]) == (1, 5)
    assert props["word"]["maxLength"] == 3
    assert props["ratio"]["exclusiveMinimum"] == 0


def test_a_rule_added_to_the_model_reaches_cogs_schema(added_rules, tmp_path):
    pred = portapack.load_project(write_project(tmp_path)).predictor
    assert cog_rules(pred) == {"word": {"max_length": 3}, "count": {"ge": 1, "le": 5},
                               "ratio": {"ge": 0}}
    props = openapi_schema(pred, [])["components"]["schemas"]["Input"]["properties"]
    assert props["count"] == {"x-order": 1, "title": "Count", "type": "integer", "minimum": 1,
                              "maximum": 5, "default": 3}
    assert props["word"] == {"x-order": 0, "title": "Word", "type": "string", "maxLength": 3}
    assert props["ratio"]["minimum"] == 0  # gt=0 shown as 0, never 5e-324


def test_a_rule_added_to_the_model_reaches_the_default_check(added_rules, tmp_path):
    write_project(tmp_path, count=7)
    with pytest.raises(SpecError) as info:
        read_predictor(tmp_path / "predict.py", "predict.py", "Predictor")
    (problem,) = [str(p) for p in info.value.problems]
    assert problem.startswith("predict.py:10: input 'count': default 7 breaks its own rule le=5")


def test_a_rule_added_to_the_model_reaches_request_validation(added_rules, tmp_path):
    validate = inputs_validator(portapack.load_project(write_project(tmp_path)).predictor)
    assert validate({"word": "abc", "count": 5}) == {"word": "abc", "count": 5, "ratio": 0.5}
    with pytest.raises(InvalidInput, match="input 'count': Input should be less than or equal"):
        validate({"word": "abc", "count": 6})
    with pytest.raises(InvalidInput, match="input 'word': String should have at most 3"):
        validate({"word": "abcd"})


def test_without_the_added_rules_nothing_of_it_shows(tmp_path):
    """The control: the same project without the patch has none of the ADDED rules."""
    pred = portapack.load_project(write_project(tmp_path, count=7)).predictor
    assert cog_rules(pred) == {"word": {}, "count": {"ge": 1}, "ratio": {}}
    assert "maximum" not in pred.inputs_schema()["properties"]["count"]


def shipped_inputs_model(source: str):
    """The ``Inputs`` class exactly as a generated file defines it, executed on its own (Modal's
    sits inside ``with image.imports():``)."""
    tree = ast.parse(source)
    (node,) = [n for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and n.name == "Inputs"]
    module = types.ModuleType("shipped_inputs")  # a module, as pydantic resolves names there
    sys.modules[module.__name__] = module
    try:
        code = textwrap.dedent(" " * node.col_offset + ast.get_source_segment(source, node))
        exec(HEADER + code, module.__dict__)  # noqa: S102
        return module.Inputs
    finally:
        del sys.modules[module.__name__]


def predictor_examples() -> list[str]:
    """Golden examples with a predictor (a ``server:`` project has no Inputs model)."""
    return sorted(p.name for p in GOLDEN.iterdir()
                  if "predictor:" in (ROOT / "examples" / p.name / "portapack.yaml").read_text())


@pytest.mark.parametrize("example", predictor_examples())
def test_every_artifact_ships_the_model_validate_json_prints(example):
    printed = portapack.load_project(ROOT / "examples" / example).predictor.inputs_schema()
    shipped = {path.relative_to(GOLDEN / example): shipped_inputs_model(path.read_text())
               for path in sorted((GOLDEN / example).rglob("*.py"))
               if "class Inputs(BaseModel)" in path.read_text()}
    assert {p.parts[0] for p in shipped} >= {"modal", "cog", "truss", "runpod"}
    for path, inputs in shipped.items():
        assert inputs.model_json_schema() == printed, path


@pytest.mark.parametrize(("schema", "bounds"), [
    ({"type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 10}, {"ge": 1, "le": 9}),
    ({"type": "integer", "minimum": 2, "exclusiveMinimum": 0}, {"ge": 2}),
    ({"type": "number", "exclusiveMinimum": 0}, {"ge": 0}),
    ({"type": "number", "exclusiveMaximum": 1}, {"le": 1}),
    ({"type": "number", "exclusiveMinimum": 0.5, "maximum": 2.5}, {"ge": 0.5, "le": 2.5}),
    ({"type": "number", "minimum": 0.5, "maximum": 2.0}, {"ge": 0.5, "le": 2.0}),
    ({"type": "string", "maxLength": 3}, {}),
])
def test_cog_bounds_from_the_models_json_schema(schema, bounds):
    assert cog_bounds(schema) == bounds


@pytest.mark.parametrize(("default", "value"), [("1e309", "inf"), ("-1e309", "-inf"),
                                                ('float("nan")', "nan"), ("float('inf')", "inf")])
def test_a_default_json_cannot_carry_is_refused(tmp_path, monkeypatch, default, value):
    """1e309 (inf) and NaN are floats Python takes, but no target could send or show them."""
    (tmp_path / "predict.py").write_text(
        "class Predictor:\n    def load(self):\n        pass\n\n"
        f"    def predict(self, ok: float = -0.0, bad: float = {default}) -> float:\n"
        "        return bad\n", encoding="utf-8")
    (tmp_path / "portapack.yaml").write_text(SPEC, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["validate"])
    assert result.exit_code != 0
    assert f"predict.py:5: input 'bad': the default {ast.unparse(ast.parse(default))} is {value}, " \
           "which JSON cannot carry" in result.output
    assert "input 'ok'" not in result.output  # -0.0 is a finite default like any other
    assert "Traceback" not in result.output
