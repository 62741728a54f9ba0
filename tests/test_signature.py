"""The static predictor reader: ``read_predictor`` on predictor files written into tmp_path.

Nothing here imports the predictor: the reader works from the source text alone (a predictor
importing a module that does not exist must still be readable).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from portapack import SpecError
from portapack.spec.signature import REQUIRED, InputSpec, PredictorInfo, read_predictor

IMPORTS = """\
import collections.abc
import typing
from collections.abc import Generator, Iterator
from typing import Annotated, Dict, List, Literal, Optional, Union

import pydantic
import not_installed_anywhere  # never imported by the reader
from pydantic import Field
"""


# -- helpers --------------------------------------------------------------------------------------
def predictor_source(*params: str, returns: str | None = None, body: str = "return None",
                     extra: str = "") -> str:
    """A predictor module whose predict() takes ``params``, one per line."""
    lines = [IMPORTS, "", "class Predictor:", "    def load(self) -> None:",
             "        self.ready = True", "", "    def predict(", "        self,"]
    lines += [f"        {p}," for p in params]
    lines += [f"    ){f' -> {returns}' if returns else ''}:"]
    lines += [f"        {line}" for line in body.splitlines()]
    return "\n".join(lines) + "\n" + extra


def write(tmp_path: Path, source: str, name: str = "predict.py") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source, encoding="utf-8")
    return path


def read(tmp_path: Path, source: str, class_name: str = "Predictor",
         rel: str = "predict.py") -> PredictorInfo:
    return read_predictor(write(tmp_path, source, rel), rel, class_name)


def read_inputs(tmp_path: Path, *params: str) -> dict[str, InputSpec]:
    return {i.name: i for i in read(tmp_path, predictor_source(*params)).inputs}


def read_one(tmp_path: Path, param: str) -> InputSpec:
    (spec,) = read(tmp_path, predictor_source(param)).inputs
    return spec


def problems(tmp_path: Path, source: str, class_name: str = "Predictor",
             rel: str = "predict.py") -> list[str]:
    with pytest.raises(SpecError) as info:
        read(tmp_path, source, class_name, rel)
    assert info.value.problems
    return [str(p) for p in info.value.problems]


def line_of(source: str, text: str) -> int:
    """1-based number of the first line of ``source`` containing ``text``."""
    for number, line in enumerate(source.splitlines(), 1):
        if text in line:
            return number
    raise AssertionError(f"{text!r} not in source")


def assert_single_problem(tmp_path: Path, source: str, at: str, message: str,
                          rel: str = "predict.py") -> None:
    """Exactly one problem, at ``rel``:<line of ``at``>, whose message contains ``message``."""
    found = problems(tmp_path, source, rel=rel)
    assert len(found) == 1, found
    prefix = f"{rel}:{line_of(source, at)}: "
    assert found[0].startswith(prefix), (found[0], prefix)
    assert message in found[0].removeprefix(prefix), found[0]


# -- input kinds ----------------------------------------------------------------------------------
def test_scalar_inputs(tmp_path):
    inputs = read_inputs(tmp_path, "text: str", "count: int = 2", "ratio: float = 0.5",
                         "loud: bool = False")
    assert [(i.name, i.kind, i.default) for i in inputs.values()] == [
        ("text", "str", REQUIRED), ("count", "int", 2), ("ratio", "float", 0.5),
        ("loud", "bool", False)]
    assert inputs["text"].required and not inputs["count"].required
    assert not any(i.optional for i in inputs.values())


def test_float_input_accepts_an_int_default(tmp_path):
    assert read_one(tmp_path, "ratio: float = 1").default == 1


def test_list_and_dict_inputs(tmp_path):
    inputs = read_inputs(tmp_path, "words: list[str]", "ids: List[int] = [1, 2]", "opts: dict = {}",
                         "meta: dict[str, int] = {'a': 1}", "legacy: Dict[str, str] = {}")
    assert (inputs["words"].kind, inputs["words"].item) == ("list", "str")
    ids = inputs["ids"]
    assert (ids.kind, ids.item, ids.default) == ("list", "int", [1, 2])
    assert [inputs[n].kind for n in ("opts", "meta", "legacy")] == ["dict"] * 3
    assert inputs["meta"].default == {"a": 1}


@pytest.mark.parametrize("param", ["x: str | None = None", "x: None | str = None",
                                   "x: Optional[str] = None", "x: Union[str, None] = None",
                                   "x: typing.Optional[str] = None"])
def test_optional_inputs(tmp_path, param):
    spec = read_one(tmp_path, param)
    assert (spec.kind, spec.optional, spec.default, spec.required) == ("str", True, None, False)


def test_optional_list(tmp_path):
    spec = read_one(tmp_path, "stop: list[str] | None = None")
    assert (spec.kind, spec.item, spec.optional) == ("list", "str", True)


def test_literal_choices(tmp_path):
    inputs = read_inputs(tmp_path, "n: Literal[1, 2, 4]", "mode: Literal['fast', 'slow'] = 'fast'",
                         "case: typing.Literal['a'] | None = None")
    assert (inputs["mode"].kind, inputs["mode"].choices, inputs["mode"].default) == (
        "str", ("fast", "slow"), "fast")
    assert (inputs["n"].kind, inputs["n"].choices, inputs["n"].required) == ("int", (1, 2, 4), True)
    assert (inputs["case"].choices, inputs["case"].optional) == (("a",), True)


def test_annotated_field_constraints(tmp_path):
    inputs = read_inputs(
        tmp_path,
        "text: Annotated[str, Field(min_length=1, max_length=50, pattern='^[a-z ]+$', "
        "description='Some text')]",
        "k: Annotated[int, Field(ge=1, le=10, description='How many')] = 3",
        "t: Annotated[float, Field(gt=0, lt=2.5)] = 0.7",
        "tags: Annotated[list[str], Field(min_length=1, max_length=3)] = ['a']",
    )
    assert inputs["text"].constraints == {"min_length": 1, "max_length": 50, "pattern": "^[a-z ]+$"}
    assert inputs["text"].description == "Some text" and inputs["text"].required
    assert (inputs["k"].constraints, inputs["k"].description, inputs["k"].default) == (
        {"ge": 1, "le": 10}, "How many", 3)
    assert inputs["t"].constraints == {"gt": 0, "lt": 2.5}
    assert inputs["tags"].constraints == {"min_length": 1, "max_length": 3}


def test_pydantic_field_by_attribute_access(tmp_path):
    spec = read_one(tmp_path, "k: Annotated[int, pydantic.Field(ge=1, description='d')] = 2")
    assert (spec.constraints, spec.description, spec.default) == ({"ge": 1}, "d", 2)


def test_field_default_is_the_input_default(tmp_path):
    spec = read_one(tmp_path, "k: Annotated[int, Field(default=5, ge=0)]")
    assert (spec.default, spec.required, spec.constraints) == (5, False, {"ge": 0})


@pytest.mark.parametrize("param", ["k: Annotated[int | None, Field(ge=1)] = None",
                                   "k: Annotated[int, Field(ge=1)] | None = None"])
def test_optional_with_constraints(tmp_path, param):
    spec = read_one(tmp_path, param)
    assert (spec.kind, spec.optional, spec.constraints, spec.default) == (
        "int", True, {"ge": 1}, None)


def test_keyword_only_parameters(tmp_path):
    inputs = read_inputs(tmp_path, "text: str", "*", "n: int = 1", "flag: bool")
    assert [(i.name, i.required) for i in inputs.values()] == [
        ("text", True), ("n", False), ("flag", True)]


def test_string_forward_references(tmp_path):
    inputs = read_inputs(tmp_path, "text: 'str'", "ids: 'list[int] | None' = None",
                         "mode: \"Literal['a', 'b']\" = 'a'")
    assert inputs["text"].kind == "str"
    assert (inputs["ids"].kind, inputs["ids"].item, inputs["ids"].optional) == ("list", "int", True)
    assert inputs["mode"].choices == ("a", "b")


def test_input_lines_are_recorded(tmp_path):
    source = predictor_source("text: str", "n: int = 1")
    info = read(tmp_path, source)
    assert [i.line for i in info.inputs] == [line_of(source, "text: str"),
                                             line_of(source, "n: int = 1")]


def test_init_with_defaults_only_and_other_classes_are_fine(tmp_path):
    source = predictor_source("text: str", extra="class Helper:\n    pass\n").replace(
        "class Predictor:",
        "class Predictor:\n    def __init__(self, debug=False):\n        pass\n")
    info = read(tmp_path, source)
    assert (info.class_name, info.file, info.module) == ("Predictor", "predict.py", "predict")


def test_file_in_a_package_gives_a_dotted_module(tmp_path):
    info = read(tmp_path, predictor_source("text: str"), class_name="Predictor", rel="pkg/model.py")
    assert (info.file, info.module) == ("pkg/model.py", "pkg.model")


# -- outputs and streaming ------------------------------------------------------------------------
@pytest.mark.parametrize(("returns", "body", "expected"), [
    ("Iterator[str]", "yield 'a'", (True, "str", None)),
    ("typing.Iterator[int]", "yield 1", (True, "int", None)),
    ("collections.abc.Iterator[str]", "yield 'a'", (True, "str", None)),
    ("Generator[str, None, None]", "yield 'a'", (True, "str", None)),
    ("typing.Iterable[dict]", "yield {}", (True, "dict", None)),
    ("Iterator[str]", "return iter(['a'])", (True, "str", None)),  # annotation alone
    (None, "yield 'a'", (True, None, None)),  # bare yield, no annotation
    (None, "yield from ['a']", (True, None, None)),
    ("str", "return 'a'", (False, "str", None)),
    ("int", "return 1", (False, "int", None)),
    ("dict", "return {}", (False, "dict", None)),
    ("dict[str, float]", "return {}", (False, "dict", None)),
    ("list[float]", "return []", (False, "list", "float")),
    ("list", "return []", (False, "list", None)),
    (None, "return 1", (False, None, None)),
    ("SomeModel", "return 1", (False, None, None)),
    ("list[str]", "def gen():\n    yield 'a'\nreturn list(gen())", (False, "list", "str")),
])
def test_output_kinds_and_streaming(tmp_path, returns, body, expected):
    info = read(tmp_path, predictor_source("text: str", returns=returns, body=body))
    assert (info.streaming, info.output_kind, info.output_item) == expected


# -- errors: each names the file and the line -----------------------------------------------------
@pytest.mark.parametrize(("param", "message"), [
    ("text", "input 'text' needs a type hint, e.g. 'text: str'"),
    ("tags: set[str]", "input 'tags': unsupported type 'set[str]'"),
    ("pair: tuple", "input 'pair': unsupported type 'tuple'; use str, int, float, bool, Path, "
                    "list[str|int|float|bool], dict, Literal[...], T | None or Annotated[T, Field(...)] "
                    "(a type alias is followed only as a plain module-level assignment, e.g. Cm = float)"),
    ("pair: tuple[int, int]", "input 'pair': unsupported type 'tuple[int, int]'"),
    ("x: bytes", "input 'x': unsupported type 'bytes'"),
    ("words: list", "input 'words': give the item type, e.g. list[str]"),
    ("rows: list[dict]", "input 'rows': list items must be str, int, float or bool, not 'dict'"),
    ("x: int | str", "input 'x': only 'T | None' unions are supported, not 'int | str'"),
    ("x: Literal['a', 1]", "input 'x': Literal[...] values must all be str, or all int"),
    ("x: Annotated[int, 'meta']", "input 'x': Annotated metadata must be Field(...)"),
    ("x: Annotated[int, Field(3)]", "input 'x': pass Field options by keyword"),
    ("x: int = compute()", "input 'x': the default must be a literal (build reads it without "
                           "running your code)"),
    ("x: Annotated[int, Field(ge=LIMIT)] = 1", "input 'x': Field(ge=...) must be a literal"),
    ("x: Annotated[int, Field(gte=1)] = 1",
     "input 'x': Field option 'gte' is not supported; use ge, le, gt, lt, min_length, max_length, "
     "pattern, description, default"),
    ("x: Annotated[int, Field(alias='y')] = 1", "input 'x': Field option 'alias' is not supported"),
    ("x: Annotated[str, Field(ge=1)]", "input 'x': ge= does not apply to str"),
    ("x: Annotated[int, Field(pattern='^a')] = 1", "input 'x': pattern= does not apply to int"),
    ("x: Annotated[float, Field(max_length=3)] = 1.0",
     "input 'x': max_length= does not apply to float"),
    ("x: Annotated[bool, Field(le=1)] = True", "input 'x': le= does not apply to bool"),
    # defaults are validated (strictly) by the Inputs model's own field: pydantic's message
    ("x: int = 'many'",
     "input 'x': default 'many' does not fit its type int (Input should be a valid integer)"),
    ("x: int = True", "input 'x': default True does not fit its type int"),
    ("x: float = True", "input 'x': default True does not fit its type float"),
    ("x: str = 1",
     "input 'x': default 1 does not fit its type str (Input should be a valid string)"),
    ("x: list[int] = ['a']", "input 'x': default ['a'] does not fit its type list[int] "
                             "(at 0: Input should be a valid integer)"),
    ("x: list[int] = (1,)", "input 'x': default (1,) does not fit its type list[int]"),
    ("x: dict = {1: 2}", "input 'x': default {1: 2} does not fit its type dict[str, Any] "
                         "(at 1.[key]: Input should be a valid string)"),
    ("x: Annotated[int, Field(default='x')]", "input 'x': default 'x' does not fit its type int"),
    ("x: int = None",
     "input 'x': default None needs an optional type, e.g. 'x: int | None = None'"),
    ("x: Literal['a', 'b'] = 'c'", "input 'x': default 'c' does not fit its type "
                                   'Literal["a", "b"] (Input should be \'a\' or \'b\')'),
    ("json: str", "input 'json': this name is reserved by the generated code"),
    ("_x: str", "input '_x': this name is reserved by the generated code"),
    ("model_dump: str", "input 'model_dump': this name is reserved by the generated code"),
    ("input: str", "input 'input': this name is reserved"),
    ("request: str", "input 'request': this name is reserved"),
])
def test_input_errors_name_file_and_line(tmp_path, param, message):
    source = predictor_source("ok: str", param)
    assert_single_problem(tmp_path, source, at=f"        {param},", message=message)


@pytest.mark.parametrize(("param", "message"), [
    ("k: Annotated[int, Field(ge=5)] = 1",
     "input 'k': default 1 breaks its own rule ge=5 (Input should be greater than or equal to 5)"),
    ("k: Annotated[int | None, Field(lt=5)] = 5", "input 'k': default 5 breaks its own rule lt=5"),
    ("t: Annotated[float, Field(gt=0)] = 0.0", "input 't': default 0.0 breaks its own rule gt=0"),
    ("s: Annotated[str, Field(pattern='^a')] = 'b'",
     "input 's': default 'b' breaks its own rule pattern='^a' (String should match pattern '^a')"),
    ("s: Annotated[str, Field(min_length=2)] = 'b'",
     "input 's': default 'b' breaks its own rule min_length=2"),
    ("tags: Annotated[list[str], Field(max_length=1)] = ['a', 'b']",
     "input 'tags': default ['a', 'b'] breaks its own rule max_length=1"),
])
def test_default_violating_its_constraint(tmp_path, param, message):
    source = predictor_source("ok: str", param)
    assert_single_problem(tmp_path, source, at=param, message=message)


@pytest.mark.parametrize("param", [
    "k: Annotated[int, Field(ge=5)] = 5", "t: Annotated[float, Field(gt=0, le=1)] = 1",
    "s: Annotated[str | None, Field(pattern='^a')] = None", "ratio: float = 2",
    "tags: Annotated[list[str], Field(min_length=1)] = ['a']", "opts: dict = {'a': [1]}",
    "mode: Literal['a', 'b'] = 'b'",
])
def test_defaults_the_model_accepts(tmp_path, param):
    assert not read_one(tmp_path, param).required


def test_every_input_problem_is_reported_at_once(tmp_path):
    source = predictor_source("a", "b: set[int]", "json: str", "c: int = 'x'", "ok: str = 'fine'")
    assert problems(tmp_path, source) == [
        f"predict.py:{line_of(source, '        a,')}: input 'a' needs a type hint, e.g. 'a: str'",
        f"predict.py:{line_of(source, 'b: set')}: input 'b': unsupported type 'set[int]'; use str, "
        "int, float, bool, Path, list[str|int|float|bool], dict, Literal[...], T | None or "
        "Annotated[T, Field(...)]",
        f"predict.py:{line_of(source, 'json: str')}: input 'json': this name is reserved by the "
        "generated code (pydantic or the platforms); rename the parameter",
        f"predict.py:{line_of(source, 'c: int')}: input 'c': default 'x' does not fit its type "
        "int (Input should be a valid integer)",
    ]


def test_problem_on_a_multi_line_annotation_names_the_parameter_line(tmp_path):
    source = predictor_source("c: Annotated[\n            str, Field(ge=1)\n        ] = 'x'")
    assert_single_problem(tmp_path, source, at="c: Annotated[", message="ge= does not apply to str")


def test_problems_use_the_relative_path_given(tmp_path):
    source = predictor_source("x: set[str]")
    assert_single_problem(tmp_path, source, at="x: set[str]", message="unsupported type",
                          rel="models/llm.py")


@pytest.mark.parametrize("params", [("*args",), ("text: str", "**kwargs"), ("text: str", "/")])
def test_varargs_kwargs_and_positional_only(tmp_path, params):
    source = predictor_source(*params)
    assert_single_problem(tmp_path, source, at="def predict(",
                          message="predict() takes named keyword inputs only (no *args, **kwargs "
                                  "or positional-only parameters)")


def test_async_predict(tmp_path):
    source = predictor_source("text: str").replace("def predict(", "async def predict(")
    assert_single_problem(tmp_path, source, at="async def predict(",
                          message="predict() must be a plain 'def' "
                                  "(async predict is not supported)")


def test_missing_class_lists_the_classes_found(tmp_path):
    source = predictor_source("text: str", extra="\nclass Helper:\n    pass\n")
    found = problems(tmp_path, source, class_name="Model")
    assert found == ["predict.py: no class 'Model' at the top level (classes found: Predictor, "
                     "Helper); fix 'predictor:' in the spec"]


def test_missing_class_in_a_file_without_classes(tmp_path):
    found = problems(tmp_path, "def predict(text: str) -> str:\n    return text\n")
    assert found == ["predict.py: no class 'Predictor' at the top level (classes found: none); "
                     "fix 'predictor:' in the spec"]


def test_nested_class_is_not_found(tmp_path):
    source = "class Outer:\n    class Predictor:\n        def load(self): ...\n" \
             "        def predict(self, text: str): ...\n"
    assert "(classes found: Outer)" in problems(tmp_path, source)[0]


def test_missing_load(tmp_path):
    source = predictor_source("text: str").replace(
        "    def load(self) -> None:\n        self.ready = True\n", "")
    assert_single_problem(tmp_path, source, at="class Predictor:",
                          message="class 'Predictor' has no load() method; define 'def load(self)'")


def test_missing_load_and_predict_are_both_reported(tmp_path):
    source = "\n\nclass Predictor:\n    pass\n"
    assert problems(tmp_path, source) == [
        "predict.py:3: class 'Predictor' has no load() method; define 'def load(self)' in the "
        "class body",
        "predict.py:3: class 'Predictor' has no predict() method; define "
        "'def predict(self, text: str, top_k: int = 3) -> dict', each input a typed keyword "
        "parameter (no *args or **kwargs) in the class body",
    ]


def test_the_missing_predict_hint_is_a_signature_the_reader_takes(tmp_path):
    """The hint used to say 'def predict(self, **inputs)', which is then refused."""
    hint = problems(tmp_path, "class Predictor:\n    def load(self): ...\n")[0]
    signature = hint.split("define '")[1].split("'")[0]
    info = read(tmp_path, f"class Predictor:\n    def load(self): ...\n    {signature}: ...\n")
    assert [i.name for i in info.inputs] == ["text", "top_k"]


@pytest.mark.parametrize("alias", ["Cm = float", "Cm: TypeAlias = float",
                                   "Cm = Annotated[float, Field(gt=0)]", "Cm = float | None"])
def test_a_module_level_type_alias_is_followed(tmp_path, alias):
    source = ("from typing import Annotated, TypeAlias\nfrom pydantic import Field\n\n" + alias
              + "\n\n\nclass Predictor:\n    def load(self): ...\n"
              "    def predict(self, width: Cm = 1.5) -> float: ...\n")
    (width,) = read(tmp_path, source).inputs
    assert width.kind == "float" and width.default == 1.5


def test_an_alias_that_is_not_plain_says_so(tmp_path):
    source = ("def make():\n    return float\n\nCm = make()\n\n\nclass Predictor:\n"
              "    def load(self): ...\n    def predict(self, width: Cm) -> float: ...\n")
    (message,) = problems(tmp_path, source)
    assert "unsupported type 'Cm'" in message and "a type alias is followed only as a plain" in message


def test_init_with_required_arguments(tmp_path):
    source = predictor_source("text: str").replace(
        "class Predictor:\n",
        "class Predictor:\n    def __init__(self, path):\n        self.path = path\n\n")
    assert_single_problem(tmp_path, source, at="def __init__",
                          message="Predictor.__init__ must take no arguments besides self")


def test_load_with_required_arguments(tmp_path):
    source = predictor_source("text: str").replace("def load(self)", "def load(self, device)")
    assert_single_problem(tmp_path, source, at="def load(",
                          message="load() must take no arguments besides self")


def test_syntax_error(tmp_path):
    source = predictor_source("text: str", returns="str", body="return text +")
    assert_single_problem(tmp_path, source, at="return text +", message="syntax error: ")


def test_missing_predictor_file(tmp_path):
    with pytest.raises(SpecError) as info:
        read_predictor(tmp_path / "nope.py", "nope.py", "Predictor")
    assert [str(p) for p in info.value.problems] == [
        "nope.py: predictor file not found; fix 'predictor:' in the spec"]


# -- inputs_schema(): the Inputs model's JSON Schema, against requests ----------------------------
SCHEMA_PARAMS = (
    "text: Annotated[str, Field(min_length=1, max_length=5, pattern='^[a-z]*$', description='T')]",
    "k: Annotated[int, Field(ge=1, le=10)] = 3",
    "temperature: Annotated[float, Field(gt=0, lt=2)] = 0.7",
    "mode: Literal['fast', 'slow'] = 'fast'",
    "tags: Annotated[list[str], Field(max_length=2)] = []",
    "options: dict | None = None",
    "seed: int | None = None",
    "loud: bool = False",
)


@pytest.fixture
def validator(tmp_path) -> Draft202012Validator:
    schema = read(tmp_path, predictor_source(*SCHEMA_PARAMS)).inputs_schema()
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def test_inputs_schema_shape(tmp_path):
    info = read(tmp_path, predictor_source(*SCHEMA_PARAMS))
    schema = info.inputs_schema()
    assert schema == info.inputs_model.model.model_json_schema()  # pydantic's, unedited
    assert schema["type"] == "object" and schema["additionalProperties"] is False
    assert schema["required"] == ["text"]
    assert list(schema["properties"]) == ["text", "k", "temperature", "mode", "tags", "options",
                                          "seed", "loud"]
    assert schema["properties"]["text"] == {
        "type": "string", "minLength": 1, "maxLength": 5, "pattern": "^[a-z]*$", "title": "Text",
        "description": "T"}
    assert schema["properties"]["k"] == {"type": "integer", "minimum": 1, "maximum": 10,
                                         "title": "K", "default": 3}
    assert schema["properties"]["temperature"] == {
        "type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 2, "title": "Temperature",
        "default": 0.7}
    assert schema["properties"]["mode"]["enum"] == ["fast", "slow"]
    assert schema["properties"]["tags"]["maxItems"] == 2
    assert schema["properties"]["seed"] == {"anyOf": [{"type": "integer"}, {"type": "null"}],
                                            "title": "Seed", "default": None}


@pytest.mark.parametrize("request_body", [
    {"text": "abc"},
    {"text": "a", "k": 1, "temperature": 1.5, "mode": "slow", "tags": ["x", "y"],
     "options": {"any": [1, 2]}, "seed": 7, "loud": True},
    {"text": "abcde", "k": 10, "options": None, "seed": None},
])
def test_inputs_schema_accepts_good_requests(validator, request_body):
    assert [e.message for e in validator.iter_errors(request_body)] == []


@pytest.mark.parametrize(("request_body", "error"), [
    ({}, "'text' is a required property"),
    ({"k": 2}, "'text' is a required property"),
    ({"text": "abc", "mode": "medium"}, "'medium' is not one of ['fast', 'slow']"),
    ({"text": "abc", "k": 0}, "0 is less than the minimum of 1"),
    ({"text": "abc", "k": 11}, "11 is greater than the maximum of 10"),
    ({"text": "abc", "k": 2.5}, "2.5 is not of type 'integer'"),
    ({"text": "abc", "temperature": 0}, "0 is less than or equal to the minimum of 0"),
    ({"text": ""}, "'' should be non-empty"),
    ({"text": "abcdef"}, "'abcdef' is too long"),
    ({"text": "ABC"}, "'ABC' does not match '^[a-z]*$'"),
    ({"text": "abc", "tags": ["a", "b", "c"]}, "['a', 'b', 'c'] is too long"),
    ({"text": "abc", "tags": [1]}, "1 is not of type 'string'"),
    ({"text": "abc", "extra": 1}, "Additional properties are not allowed ('extra' was unexpected)"),
    ({"text": "abc", "k": None}, "None is not of type 'integer'"),
    ({"text": "abc", "loud": "yes"}, "'yes' is not of type 'boolean'"),
    ({"text": "abc", "options": []}, "is not valid under any of the given schemas"),
])
def test_inputs_schema_rejects_bad_requests(validator, request_body, error):
    messages = [e.message for e in validator.iter_errors(request_body)]
    assert len(messages) == 1, messages
    assert error in messages[0]


def test_schema_of_a_predictor_without_inputs(tmp_path):
    schema = read(tmp_path, predictor_source()).inputs_schema()
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema)
    assert validator.is_valid({})
    assert not validator.is_valid({"anything": 1})
