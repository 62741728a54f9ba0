"""Adversarial strings through every target: they must come out correctly escaped.

One spec + predictor (written into a tmp dir) whose env values, input descriptions, string
defaults, Literal choices, example inputs and build commands hold quotes, triple quotes,
backslashes, newlines, shell and jinja syntax, YAML specials and unicode. Every artifact is read
back with the real parser of its language (``ast``, ``yaml.safe_load``, ``json``, Cog's schema
(tests/cog_judges.py) and inspector, Truss's strict config, Modal's own Dockerfile rendering of
the image, and a Dockerfile reader written here after BuildKit's parser and shell lexer), and
must give back the original values; the copy-paste "run it locally" commands must carry the
example through the shell; then each artifact runs under its platform's local runtime and must answer what the
predictor answers in-process.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import re
import shlex
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import yaml
from cog_judges import cog_yaml_errors

import portapack
from portapack.building.builder import MARKER
from portapack.proof.runtimes import get_runtime
from portapack.targets import TARGETS

ROOT = Path(__file__).resolve().parents[1]
TARGET_NAMES = list(TARGETS)  # the registry's targets, in its order

# -- the adversarial values ----------------------------------------------------------------------
ZWJ = "\u200d"
UNICODE = f"é 中文 😀 שלום עולם مرحبا \u200f 👨{ZWJ}👩{ZWJ}👧 a{ZWJ}b"
# Everything at once, on one line.
NASTY = ("it's \"double\" \"\"\" ''' back\\slash \\n $HOME ${X} `id` $(id) {{ x }} {% if %} "
         f"#not-a-comment a #b key: value - item &anchor *alias !tag > | yes null 0x1F {UNICODE}")

ENV_ONE_LINE = {
    "PPX_QUOTES": "it's \"double\" and 'single'",
    "PPX_TRIPLE": '""" and \'\'\'',
    "PPX_BACKSLASH": "C:\\dir\\sub",
    "PPX_TRAILING_BACKSLASH": "ends with a backslash\\",
    "PPX_ESCAPES_AS_TEXT": "two chars: \\n \\t \\\" \\$",
    "PPX_DOLLAR": "$HOME ${X} $$ $ ${X:-default}",
    "PPX_BACKTICKS": "`id` $(whoami)",
    "PPX_JINJA": "{{ x }} {% if %}{% endif %} {# c #}",
    "PPX_HASH": "# not a comment",
    "PPX_HASH_MID": "value #trailing",
    "PPX_COLON": "key: value",
    "PPX_DASH": "- item",
    "PPX_ANCHOR": "&anchor",
    "PPX_ALIAS": "*alias",
    "PPX_TAG": "!tag",
    "PPX_FOLDED": "> folded",
    "PPX_LITERAL": "| literal",
    "PPX_YES": "yes",
    "PPX_NULL": "null",
    "PPX_HEX": "0x1F",
    "PPX_UNICODE": UNICODE,
    "PPX_EMPTY": "",
    "PPX_PADDED": "  padded  ",
    "PPX_EQUALS": "a=b=c",
    "PPX_ALL": NASTY,
}
ENV_MULTI_LINE = {
    "PPX_NEWLINE": "line one\nline two",
    "PPX_NEWLINE_NASTY": "first \"q\" 'q' $HOME {{ x }}\n\\ last\\\n",
}
ENV = {**ENV_ONE_LINE, **ENV_MULTI_LINE}

DESCRIPTION = (" Line one (a leading blank): it's \"q\" \"\"\" '''\n"
               "line two: \\ \\n $HOME ${X} `id` {{ x }} {% if %} # c &a *a !t > | yes null 0x1F\n"
               f"{UNICODE} trailing backslash, then a newline\\\n")
DEFAULT = ("default: it's \"q\" \"\"\" ''' back\\slash \\n $HOME ${X} `id` {{ x }} {% if %} "
           f"# c : - &a *a !t yes null 0x1F\nsecond line {UNICODE} end\\")
CHOICES = ["it's", 'say "hi"', '"""', "'''", "back\\", "\\n", "$HOME ${X} `id`", "{{ x }}",
           "{% if %}", "# c", "key: v", "- ", "&a", "*a", "!t", "> f", "| l", "yes", "null",
           "0x1F", UNICODE]
BUILD_COMMANDS = [
    "echo \"it's\" '\"q\"' '\"\"\"' \"'''\" > /tmp/portapack-quotes.txt",
    "printf '%s\\n' 'a\\nb' \"C:\\\\dir\" \"$HOME\" \"${X}\" `id -u` $(id -g)",
    "echo '{{ x }}' '{% if %}' # trailing shell comment",
    "echo 'key: v' '- x' '&a' '*a' '!t' '>' '|' yes null 0x1F",
    f"echo '{UNICODE}'",
]
EXAMPLE_INPUTS = [
    {"text": NASTY, "mode": CHOICES[6], "items": CHOICES + [DESCRIPTION, DEFAULT], "flag": True},
    {"text": DESCRIPTION, "mode": CHOICES[-1], "note": NASTY, "items": []},
]
DEFAULTS_ONLY = {"text": "x"}


def predictor_source() -> str:
    """A predictor that echoes its inputs and the env values back (every literal via repr)."""
    return f'''"""Echo predictor for adversarial strings."""

import os
from typing import Annotated, Literal

from pydantic import Field

ENV_KEYS = {sorted(ENV)!r}


class Predictor:
    def load(self) -> None:
        self.keys = ENV_KEYS

    def predict(
        self,
        text: Annotated[str, Field(description={DESCRIPTION!r})],
        mode: Literal[{", ".join(repr(c) for c in CHOICES)}] = {CHOICES[0]!r},
        note: Annotated[str, Field(description={DESCRIPTION!r})] = {DEFAULT!r},
        items: list[str] | None = None,
        flag: bool = False,
    ) -> dict:
        return {{"text": text, "mode": mode, "note": note, "items": items, "flag": flag,
                "env": {{k: os.environ.get(k) for k in self.keys}}}}
'''


def in_process(root: Path, inputs: dict[str, Any]) -> Any:
    """What the predictor returns when called directly, with the spec's env set."""
    module_name = f"adversarial_predictor_{uuid.uuid4().hex}"
    spec = importlib.util.spec_from_file_location(module_name, root / "predict.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with mock.patch.dict(os.environ, ENV):
        predictor = module.Predictor()
        predictor.load()
        return json.loads(json.dumps(predictor.predict(**inputs)))  # as JSON carries it


def write_project(root: Path, env: dict[str, str], build_commands: list[str]) -> Path:
    root.mkdir(parents=True)
    (root / "predict.py").write_text(predictor_source(), encoding="utf-8")
    examples = [{"input": inputs, "output": in_process(root, inputs)} for inputs in EXAMPLE_INPUTS]
    spec = {
        "name": "adversarial",
        "predictor": "predict.py:Predictor",
        "requirements": ["pydantic>=2"],
        "env": env,
        "build_commands": build_commands,
        "examples": examples,
    }
    (root / "portapack.yaml").write_text(
        yaml.safe_dump(spec, allow_unicode=True, sort_keys=False, width=1 << 20), encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def adv(tmp_path_factory) -> dict[str, Any]:
    """The full adversarial project, built for every target."""
    base = tmp_path_factory.mktemp("adversarial")
    root = write_project(base / "project", ENV, BUILD_COMMANDS)
    result = portapack.build(root, "all", base / "out")
    return {"root": root, "result": result, "project": portapack.load_project(root),
            **{t: result[t].path for t in TARGET_NAMES}}


@pytest.fixture(scope="module")
def adv_one_line(tmp_path_factory) -> dict[str, Any]:
    """The same without the multi-line env values (which Cog's schema cannot take)."""
    base = tmp_path_factory.mktemp("adversarial-one-line")
    root = write_project(base / "project", ENV_ONE_LINE, BUILD_COMMANDS)
    result = portapack.build(root, "all", base / "out")
    return {t: result[t].path for t in TARGET_NAMES}


# -- a Dockerfile reader, after BuildKit's parser and shell lexer --------------------------------
_CONTINUATION = re.compile(r"\\[ \t]*$")


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(KEYWORD, arguments) per instruction. A line ending in the escape character ``\\``
    (spaces or tabs may follow) continues on the next; inside a continuation, comment lines
    and empty lines are dropped and the pieces are joined as they are."""
    lines = text.split("\n")
    out: list[tuple[str, str]] = []
    i = 0
    while i < len(lines):
        line = lines[i].rstrip("\r").lstrip(" \t")
        i += 1
        if not line or line.startswith("#"):
            continue
        while _CONTINUATION.search(line):
            line = _CONTINUATION.sub("", line)
            while i < len(lines):
                nxt = lines[i].rstrip("\r")
                i += 1
                if nxt.strip(" \t").startswith("#") or not nxt.strip(" \t"):
                    continue
                line += nxt
                break
            else:
                break
        keyword, _, rest = line.partition(" ")
        out.append((keyword.upper(), rest.lstrip(" \t")))
    return out


def docker_words(rest: str) -> list[str]:
    """BuildKit's parseWords: split on blanks outside quotes, keeping quotes and escapes."""
    words: list[str] = []
    word, quote, in_word, blank_ok = "", "", False, False
    pos = 0
    while pos < len(rest):
        ch = rest[pos]
        if not in_word and not quote:
            if ch.isspace():
                pos += 1
                continue
            in_word = True
        if quote:
            if ch == quote:
                quote = ""
            elif ch == "\\" and quote != "'":
                if pos + 1 == len(rest):
                    pos += 1
                    continue
                word += ch
                pos += 1
                ch = rest[pos]
            word += ch
            pos += 1
            continue
        if ch.isspace():
            if blank_ok or word:
                words.append(word)
            word, in_word, blank_ok = "", False, False
            pos += 1
            continue
        if ch in "'\"":
            quote, blank_ok = ch, True
        elif ch == "\\":
            if pos + 1 == len(rest):
                pos += 1
                continue
            word += ch
            pos += 1
            ch = rest[pos]
        word += ch
        pos += 1
    if quote:
        raise ValueError(f"unterminated quote in {rest!r}")
    if in_word and (blank_ok or word):
        words.append(word)
    return words


def docker_unquote(word: str, env: dict[str, str]) -> str:
    """BuildKit's shell lexer on one word: '...' is literal; in "..." a backslash escapes only
    ``"``, ``$`` and ``\\``; outside quotes it escapes any character; an unescaped ``$NAME`` or
    ``${NAME}`` expands from ``env`` (other ``${...}`` forms are refused: portapack must escape)."""
    out, pos = [], 0

    def dollar(p: int) -> tuple[str, int]:
        if p + 1 < len(word) and word[p + 1] == "{":
            end = word.index("}", p)
            name = word[p + 2:end]
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
                raise ValueError(f"unescaped ${{{name}}} in a Dockerfile word: {word!r}")
            return env.get(name, ""), end + 1
        m = re.match(r"[A-Za-z_][A-Za-z0-9_]*|[0-9]", word[p + 1:])
        if not m:
            return "$", p + 1
        return env.get(m.group(0), ""), p + 1 + m.end()

    while pos < len(word):
        ch = word[pos]
        if ch == "'":
            end = word.index("'", pos + 1)
            out.append(word[pos + 1:end])
            pos = end + 1
        elif ch == '"':
            pos += 1
            while True:
                if pos >= len(word):
                    raise ValueError(f"unterminated double quote in {word!r}")
                ch = word[pos]
                if ch == '"':
                    pos += 1
                    break
                if ch == "$":
                    text, pos = dollar(pos)
                    out.append(text)
                    continue
                if ch == "\\" and pos + 1 < len(word) and word[pos + 1] in '"$\\':
                    pos += 1
                    ch = word[pos]
                out.append(ch)
                pos += 1
        elif ch == "$":
            text, pos = dollar(pos)
            out.append(text)
        elif ch == "\\":
            if pos + 1 < len(word):
                out.append(word[pos + 1])
            pos += 2
        else:
            out.append(ch)
            pos += 1
    return "".join(out)


def dockerfile_env(text: str) -> dict[str, str]:
    """Every variable the Dockerfile's ENV instructions set, in order, with Docker's value
    processing (each instruction expands variables as set before it)."""
    env: dict[str, str] = {}
    for keyword, rest in dockerfile_instructions(text):
        if keyword != "ENV":
            continue
        words = docker_words(rest)
        if "=" not in words[0]:  # the legacy `ENV KEY value` form
            key, value = re.split(r"[ \t]+", rest, maxsplit=1)
            pairs = [(key, value)]
        else:
            pairs = [tuple(w.split("=", 1)) for w in words]
        before = dict(env)
        for key, value in pairs:
            env[key] = docker_unquote(value, before)
    return env


def dockerfile_run_commands(text: str) -> list[str]:
    """The command of every RUN instruction: the shell form as written, or the ``sh -c``
    argument of the exec form."""
    commands = []
    for keyword, rest in dockerfile_instructions(text):
        if keyword != "RUN":
            continue
        if rest.startswith("["):
            try:
                argv = json.loads(rest)
            except ValueError:
                argv = None
            if isinstance(argv, list):
                assert argv[:2] in (["/bin/sh", "-c"], ["sh", "-c"]), argv
                commands.append(argv[2])
                continue
        commands.append(rest)
    return commands


def test_the_dockerfile_reader_follows_dockers_rules():
    """The reader itself, on cases whose meaning Docker's documentation fixes."""
    text = (
        "# comment\n"
        "FROM base\n"
        'ENV A="x \\"y\\" \\\\ \\$HOME $HOME \\n" \\\n'
        "    # a comment inside a continuation\n"
        "\n"
        "    B='it''s' C=plain\\ word D=\"${A}\"\n"
        "ENV OLD legacy form  value\n"
        "RUN echo one \\\n"
        "  two\n"
        'RUN ["/bin/sh", "-c", "echo \\\\"]\n'
    )
    assert dockerfile_env(text) == {"A": 'x "y" \\ $HOME  \\n', "B": "its", "C": "plain word",
                                    "D": "", "OLD": "legacy form  value"}
    assert dockerfile_run_commands(text) == ["echo one   two", "echo \\"]
    with pytest.raises(ValueError):
        dockerfile_env('ENV A="unterminated\n')


# -- helpers ----------------------------------------------------------------------------------------
def parse_py(path: Path) -> ast.Module:
    source = path.read_text(encoding="utf-8")
    # compile() as well: it catches what ast.parse lets through (e.g. duplicate arguments)
    compile(source, str(path), "exec")
    return ast.parse(source, filename=str(path))


def literal(node: ast.AST) -> Any:
    return ast.literal_eval(node)


def literal_choices(annotation: ast.expr) -> list[Any]:
    """The values of ``Literal[...]`` (possibly inside ``... | None`` or ``Optional[...]``)."""
    for node in ast.walk(annotation):
        if isinstance(node, ast.Subscript) and ast.unparse(node.value) == "Literal":
            elts = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
            return [literal(e) for e in elts]
    raise AssertionError(f"no Literal in {ast.unparse(annotation)}")


def inputs_model(module: ast.Module) -> dict[str, dict[str, Any]]:
    """The ``Inputs`` pydantic model: per field, its default, description and choices (Modal's
    sits inside ``with image.imports():``)."""
    cls = next(n for n in ast.walk(module) if isinstance(n, ast.ClassDef) and n.name == "Inputs")
    fields = {}
    for stmt in cls.body:
        if not isinstance(stmt, ast.AnnAssign):
            continue
        info: dict[str, Any] = {"annotation": stmt.annotation}
        value = stmt.value
        if isinstance(value, ast.Call) and ast.unparse(value.func) == "Field":
            info["default"] = literal(value.args[0]) if value.args else ...
            info.update({kw.arg: literal(kw.value) for kw in value.keywords})
        else:
            info["default"] = ... if value is None else literal(value)
        fields[stmt.target.id] = info
    return fields


def calls(module: ast.Module, name: str) -> list[ast.Call]:
    """Every call whose function is ``name`` or ends in ``.name``."""
    return [n for n in ast.walk(module) if isinstance(n, ast.Call)
            and (ast.unparse(n.func) == name or ast.unparse(n.func).endswith("." + name))]


def check_inputs_model(path: Path) -> None:
    fields = inputs_model(parse_py(path))
    assert list(fields) == ["text", "mode", "note", "items", "flag"]
    assert fields["text"]["default"] is ...
    assert fields["text"]["description"] == DESCRIPTION
    assert literal_choices(fields["mode"]["annotation"]) == CHOICES
    assert fields["mode"]["default"] == CHOICES[0]
    assert fields["note"]["default"] == DEFAULT
    assert fields["note"]["description"] == DESCRIPTION
    assert fields["items"]["default"] is None
    assert fields["flag"]["default"] is False


def cog_environment(config: dict[str, Any]) -> dict[str, str]:
    """cog.yaml's ``environment`` (a list of KEY=VALUE) as a dict, order kept."""
    pairs = [entry.split("=", 1) for entry in config.get("environment") or []]
    assert all(len(p) == 2 for p in pairs), config.get("environment")
    return dict(pairs)


# -- the spec itself reads back (else the checks below prove nothing) -----------------------------
def test_the_spec_and_predictor_hold_the_adversarial_values(adv):
    project = adv["project"]
    assert project.spec.env == ENV
    assert project.spec.build_commands == BUILD_COMMANDS
    assert [e.input for e in project.spec.examples] == EXAMPLE_INPUTS
    inputs = {i.name: i for i in project.predictor.inputs}
    assert inputs["text"].description == DESCRIPTION
    assert inputs["mode"].choices == tuple(CHOICES)
    assert inputs["note"].default == DEFAULT and inputs["note"].description == DESCRIPTION
    assert [b.target for b in adv["result"].builds] == TARGET_NAMES


def test_every_generated_python_file_parses(adv):
    for target in TARGET_NAMES:
        for rel in adv["result"][target].files:
            if rel.endswith(".py"):
                parse_py(adv[target] / rel)
    assert (adv["runpod"] / "predict.py").read_bytes() == (adv["root"] / "predict.py").read_bytes()


# -- Python ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("target, rel", [("modal", "modal_app.py"), ("cog", "run.py"),
                                         ("truss", "model/model.py"), ("runpod", "handler.py")])
def test_inputs_model_literals_evaluate_to_the_originals(adv, target, rel):
    check_inputs_model(adv[target] / rel)


def test_modal_app_literals(adv):
    module = parse_py(adv["modal"] / "modal_app.py")
    [env_call] = calls(module, "env")
    assert literal(env_call.args[0]) == ENV_ONE_LINE
    assert list(literal(env_call.args[0])) == list(ENV_ONE_LINE)
    [run_call] = calls(module, "run_commands")
    assert [literal(a) for a in run_call.args] == BUILD_COMMANDS
    model = next(n for n in module.body if isinstance(n, ast.ClassDef) and n.name == "Model")
    predict = next(n for n in model.body if isinstance(n, ast.FunctionDef) and n.name == "predict")
    params = {a.arg: (a, d) for a, d in zip(predict.args.kwonlyargs, predict.args.kw_defaults, strict=True)}
    assert list(params) == ["text", "mode", "note", "items", "flag"]
    assert params["text"][1] is None
    assert literal_choices(params["mode"][0].annotation) == CHOICES
    assert literal(params["mode"][1]) == CHOICES[0]
    assert literal(params["note"][1]) == DEFAULT


MODAL_DOCKERFILE = """\
import json, sys
sys.path.insert(0, ".")
import modal._image as images
from_args, functions = images._Image._from_args, []


def spy(*args, **kwargs):
    if kwargs.get("dockerfile_function") is not None:
        functions.append(kwargs["dockerfile_function"])
    return from_args(*args, **kwargs)


images._Image._from_args = staticmethod(spy)
import modal_app  # noqa: E402  (builds the image chain offline)

commands = [c for f in functions for c in f(sys.argv[1]).commands]
print(json.dumps(commands))
"""


def modal_image_dockerfile(build: Path) -> str:
    """The Dockerfile commands Modal's own SDK writes for every layer of modal_app.image:
    how Image.env(...) and .run_commands(...) reach Modal's image builder."""
    result = subprocess.run([sys.executable, "-c", MODAL_DOCKERFILE, "2025.06"], cwd=build,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return "\n".join(json.loads(result.stdout.strip().splitlines()[-1]))


def test_modal_sdk_renders_the_one_line_env_and_build_commands_intact(adv_one_line):
    dockerfile = modal_image_dockerfile(adv_one_line["modal"])
    env = dockerfile_env(dockerfile)
    assert {k: v for k, v in env.items() if k.startswith("PPX_")} == ENV_ONE_LINE
    assert dockerfile_run_commands(dockerfile)[-len(BUILD_COMMANDS):] == BUILD_COMMANDS


def test_modal_multi_line_env_values_stay_out_of_the_image_and_are_set_by_the_app(adv):
    """Modal renders Image.env() as Dockerfile ENV lines, which cannot hold a newline: the
    image carries the one-line values intact and modal_app.py sets the others at import."""
    env = dockerfile_env(modal_image_dockerfile(adv["modal"]))
    assert {k: v for k, v in env.items() if k.startswith("PPX_")} == ENV_ONE_LINE
    set_calls = [c for c in calls(parse_py(adv["modal"] / "modal_app.py"), "setdefault")]
    assert {literal(c.args[0]): literal(c.args[1]) for c in set_calls} == ENV_MULTI_LINE


def test_cog_predict_input_literals(adv):
    module = parse_py(adv["cog"] / "run.py")
    cls = next(n for n in module.body if isinstance(n, ast.ClassDef) and n.name == "Runner")
    predict = next(n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == "run")
    args = predict.args.args[1:]
    defaults = dict(zip([a.arg for a in args][-len(predict.args.defaults):], predict.args.defaults,
                        strict=True))
    inputs = {}
    for name, call in defaults.items():
        assert isinstance(call, ast.Call) and ast.unparse(call.func) == "Input", name
        inputs[name] = {kw.arg: literal(kw.value) for kw in call.keywords}
    assert inputs["text"] == {"description": DESCRIPTION}
    assert inputs["mode"] == {"default": CHOICES[0], "choices": CHOICES}
    assert inputs["note"] == {"description": DESCRIPTION, "default": DEFAULT}
    assert inputs["items"] == {"default": None}


def test_cogs_own_inspector_reads_the_same_values(adv):
    code = (
        "import json, sys, warnings\n"
        "warnings.simplefilter('error', DeprecationWarning)\n"
        "sys.path.insert(0, '.')\n"
        "from cog import _inspector\n"
        "info = _inspector.create_predictor('run', 'Runner')\n"
        "print(json.dumps({n: {'description': f.description, 'default': f.default,\n"
        "                      'choices': f.choices} for n, f in info.inputs.items()}))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=adv["cog"], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    inputs = json.loads(result.stdout.strip().splitlines()[-1])
    assert inputs["text"]["description"] == DESCRIPTION
    assert inputs["mode"]["choices"] == CHOICES and inputs["mode"]["default"] == CHOICES[0]
    assert inputs["note"]["default"] == DEFAULT and inputs["note"]["description"] == DESCRIPTION


def test_runpod_handler_sets_only_the_multi_line_env_values(adv):
    module = parse_py(adv["runpod"] / "handler.py")
    set_calls = [c for c in calls(module, "setdefault") if ast.unparse(c.func) == "os.environ.setdefault"]
    assert {literal(c.args[0]): literal(c.args[1]) for c in set_calls} == ENV_MULTI_LINE
    # ... before the predictor module is imported (it may read them at import time).
    first_set = min(c.lineno for c in set_calls)
    import_line = next(n.lineno for n in module.body
                       if isinstance(n, ast.ImportFrom) and n.module == "predict")
    assert first_set < import_line
    notes = [n for n in adv["result"]["runpod"].notes if n.feature == "env"]
    assert len(notes) == 1
    assert all(key in notes[0].message for key in ENV_MULTI_LINE)
    assert "the generated code sets it at start-up" in notes[0].message
    assert not any(key in notes[0].message for key in ENV_ONE_LINE)


# -- YAML --------------------------------------------------------------------------------------------
def test_cog_yaml_round_trips(adv):
    config = yaml.safe_load((adv["cog"] / "cog.yaml").read_text(encoding="utf-8"))
    # Cog copies each value into its Dockerfile ENV line as is: values are Dockerfile-quoted.
    assert {k: docker_unquote(v, {}) for k, v in cog_environment(config).items()} == ENV_ONE_LINE
    assert list(cog_environment(config)) == list(ENV_ONE_LINE)
    set_calls = [c for c in calls(parse_py(adv["cog"] / "run.py"), "setdefault")]
    assert {literal(c.args[0]): literal(c.args[1]) for c in set_calls} == ENV_MULTI_LINE
    assert config["build"]["run"] == BUILD_COMMANDS
    assert config["run"] == "run.py:Runner"


def test_cog_yaml_with_one_line_values_validates_against_cogs_schema(adv_one_line):
    assert cog_yaml_errors(adv_one_line["cog"] / "cog.yaml") == []


def test_cog_yaml_with_multi_line_env_values_validates_against_cogs_schema(adv):
    assert cog_yaml_errors(adv["cog"] / "cog.yaml") == []


def test_truss_config_round_trips_and_passes_strict_validation(adv):
    from truss.base.truss_config import TrussConfig

    path = adv["truss"] / "config.yaml"
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert config["environment_variables"] == ENV
    assert config["build_commands"] == BUILD_COMMANDS
    assert config["model_metadata"]["example_model_input"] == EXAMPLE_INPUTS[0]
    truss_config = TrussConfig.from_yaml(path)
    truss_config.validate_forbid_extra()
    assert truss_config.environment_variables == ENV
    assert truss_config.build_commands == BUILD_COMMANDS


# -- JSON --------------------------------------------------------------------------------------------
def test_json_artifacts_hold_the_originals(adv):
    endpoint = json.loads((adv["runpod"] / "endpoint.json").read_text(encoding="utf-8"))
    assert endpoint["env"] == ENV
    deployment = json.loads((adv["cog"] / "replicate-deployment.json").read_text(encoding="utf-8"))
    assert deployment == {"name": "adversarial", "hardware": "cpu", "min_instances": 0,
                          "max_instances": 1}
    schema = json.loads((adv["cog"] / ".cog/openapi_schema.json").read_text(encoding="utf-8"))
    schemas = schema["components"]["schemas"]
    props = schemas["Input"]["properties"]
    assert props["text"]["description"] == DESCRIPTION
    assert props["note"]["default"] == DEFAULT and props["note"]["description"] == DESCRIPTION
    assert props["mode"]["default"] == CHOICES[0]
    assert schemas["mode"]["enum"] == CHOICES
    for target in TARGET_NAMES:
        marker = json.loads((adv[target] / MARKER).read_text(encoding="utf-8"))
        assert marker["target"] == target


# -- Dockerfile --------------------------------------------------------------------------------------
def test_dockerfile_env_values_equal_the_originals(adv):
    env = dockerfile_env((adv["runpod"] / "Dockerfile").read_text(encoding="utf-8"))
    ours = {k: v for k, v in env.items() if k.startswith("PPX_")}
    assert ours == ENV_ONE_LINE  # the multi-line values are left to handler.py
    assert list(ours) == list(ENV_ONE_LINE)
    assert env["PYTHONUNBUFFERED"] == "1"


def assert_tail_intact(dockerfile: str) -> None:
    """Nothing after the build commands was swallowed: the code is still copied after the last
    RUN, and the file still ends with its CMD."""
    keywords = [k for k, _ in dockerfile_instructions(dockerfile)]
    last_run = max(i for i, k in enumerate(keywords) if k == "RUN")
    assert "COPY" in keywords[last_run + 1:], keywords
    assert keywords[-1] == "CMD", keywords


def test_dockerfile_run_commands_equal_the_build_commands(adv):
    text = (adv["runpod"] / "Dockerfile").read_text(encoding="utf-8")
    assert dockerfile_run_commands(text)[-len(BUILD_COMMANDS):] == BUILD_COMMANDS
    assert_tail_intact(text)


@pytest.mark.parametrize("commands", [["echo trailing \\", "echo next"], ["echo last \\"]],
                         ids=["then-another", "last"])
def test_a_build_command_ending_in_a_backslash_is_refused(tmp_path, commands):
    """Image builders read a trailing backslash as a line continuation (it would swallow the
    next instruction), so the spec refuses it, naming the command."""
    root = tmp_path / "project"
    root.mkdir()
    (root / "predict.py").write_text(
        "class Predictor:\n    def load(self):\n        pass\n\n"
        "    def predict(self, text: str) -> str:\n        return text\n", encoding="utf-8")
    (root / "portapack.yaml").write_text(yaml.safe_dump({
        "name": "trailing", "predictor": "predict.py:Predictor", "build_commands": commands}))
    with pytest.raises(portapack.SpecError) as info:
        portapack.build(root, "runpod", tmp_path / "out")
    assert "build_commands" in str(info.value) and "ends with a backslash" in str(info.value)
    assert not (tmp_path / "out").exists()


# -- "run it locally" commands written into the artifacts ----------------------------------------
def _after(text: str, prefix: str) -> str:
    line = next(ln for ln in text.splitlines() if ln.lstrip().startswith(prefix))
    return line.split(prefix, 1)[1].strip() if prefix.startswith("#") else line.strip()


def _call_args(code: str, method: str) -> ast.Call:
    return next(n for n in ast.walk(ast.parse(code)) if isinstance(n, ast.Call)
                and isinstance(n.func, ast.Attribute) and n.func.attr == method)


def command_example(target: str, where: str, build: Path) -> dict[str, Any]:
    """The example input a generated copy-paste command sends, read back through the shell
    (shlex) and the language it carries (Python or JSON)."""
    if where == "modal_app.py":
        code = _after((build / "modal_app.py").read_text(encoding="utf-8"), "# In-process, no account:")
        return {kw.arg: literal(kw.value) for kw in _call_args(code, "local").keywords}
    if where == "handler.py":
        argv = shlex.split(_after((build / "handler.py").read_text(encoding="utf-8"),
                                  "# Run one job locally:"))
        return json.loads(argv[argv.index("--test_input") + 1])["input"]
    readme = (build / "README.md").read_text(encoding="utf-8")
    if target == "modal":
        argv = shlex.split(_after(readme, "python -c 'import modal_app"))
        return {kw.arg: literal(kw.value) for kw in _call_args(argv[2], "local").keywords}
    if target == "truss":
        argv = shlex.split(_after(readme, "python -c 'import truss"))
        return literal(_call_args(argv[2], "predict").args[0])
    if target == "runpod" and where == "README.md curl":
        argv = shlex.split(_after(readme, "curl "))
        return json.loads(argv[argv.index("-d") + 1])["input"]
    if target == "runpod":
        argv = shlex.split(_after(readme, "python -u handler.py --test_input"))
        return json.loads(argv[argv.index("--test_input") + 1])["input"]
    argv = shlex.split(_after(readme, "cog run"))  # `cog predict` is deprecated
    if "--json" in argv:  # lists and objects: the whole input as JSON
        return json.loads(argv[argv.index("--json") + 1])
    pairs = [argv[i + 1].split("=", 1) for i, a in enumerate(argv) if a == "-i"]
    return {k: v if isinstance(EXAMPLE_INPUTS[0][k], str) else json.loads(v) for k, v in pairs}


COMMANDS = [
    ("modal", "modal_app.py"),
    ("cog", "README.md"),
    ("modal", "README.md"),
    ("truss", "README.md"),
    ("runpod", "handler.py"),
    ("runpod", "README.md"),
    ("runpod", "README.md curl"),
]


@pytest.mark.parametrize("target, where", [
    pytest.param(t, w, id=f"{t}-{w.replace(' ', '-')}") for t, w in COMMANDS])
def test_run_locally_commands_carry_the_example(adv, target, where):
    assert command_example(target, where, adv[target]) == EXAMPLE_INPUTS[0]


# -- running the artifacts ---------------------------------------------------------------------------
def platform_env(target: str, build: Path) -> dict[str, str]:
    """The env the platform's container would get from the artifact, read back from it: Modal's
    Image.env({...}), cog.yaml `environment`, the Dockerfile's ENV lines. The local runtimes do
    not apply these (no image is built), so the test passes them to the process. Truss's
    model.py sets config.yaml's values itself, and handler.py its multi-line ones."""
    if target == "modal":
        [env_call] = calls(parse_py(build / "modal_app.py"), "env")
        return literal(env_call.args[0])
    if target == "cog":  # Cog writes `ENV K=V` from each entry: Dockerfile quoting applies
        config = yaml.safe_load((build / "cog.yaml").read_text(encoding="utf-8"))
        return {k: docker_unquote(v, {}) for k, v in cog_environment(config).items()}
    if target == "runpod":
        env = dockerfile_env((build / "Dockerfile").read_text(encoding="utf-8"))
        return {k: v for k, v in env.items() if k.startswith("PPX_")}
    if target == "kserve":  # the InferenceService's container env (YAML quoting applies)
        isvc = yaml.safe_load((build / "inferenceservice.yaml").read_text(encoding="utf-8"))
        return {e["name"]: e["value"] for e in isvc["spec"]["predictor"]["containers"][0]["env"]
                if e["name"].startswith("PPX_")}
    return {}


@pytest.mark.parametrize("target", TARGET_NAMES)
def test_artifact_answers_what_the_predictor_answers_in_process(adv, target):
    assert not any(key in os.environ for key in ENV), "the test's own env must not leak in"
    requests = EXAMPLE_INPUTS + [DEFAULTS_ONLY]
    expected = [e.output for e in adv["project"].spec.examples] + [
        in_process(adv["root"], DEFAULTS_ONLY)]
    assert expected[-1]["note"] == DEFAULT and expected[-1]["env"] == ENV
    with get_runtime(target, adv[target], env=platform_env(target, adv[target])) as runtime:
        for request, want in zip(requests, expected, strict=True):
            outcome = runtime.predict(request)
            assert outcome.ok, outcome.error
            assert outcome.output == want
