"""The libcst transformer that rewrites a Cog runner class into a portapack predictor.

:class:`RunnerRewriter` does the class's part of :func:`.cog_runner.rewrite`: ``setup()`` ->
``load()`` (added if missing), ``run()``/``predict()`` -> ``predict()``, Cog's decorators
dropped (``@concurrent(max=N)`` -> ``scaling.concurrency``), an ``async`` method kept behind a
synchronous wrapper, ``ConcatenateIterator`` -> ``Iterator``, and each input converted:
``x: T = Input(...)`` -> ``x: Annotated[T, Field(...)] = default``, a ``cog.Secret`` -> an
``os.environ`` read, a ``cog.File`` -> a ``Path`` (:mod:`.cog_files`). What it found goes in
:class:`Runner`.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

import libcst as cst

from portapack.errors import Problem
from portapack.importing.base import Note, env_name
from portapack.importing.source import code, resolve
from portapack.targets.cog.importer import files as cog_files
from portapack.targets.cog.importer import outputs as cog_outputs
from portapack.targets.cog.importer.cst import (
    SecretReads,
    is_file,
    is_none,
    is_secret,
    unwrap_optional,
    yields,
)

FIELD_OPTIONS = {"description": "description", "ge": "ge", "le": "le", "min_length": "min_length",
                 "max_length": "max_length", "regex": "pattern"}


@dataclass
class Runner:
    """The rewritten runner's source, and what the spec takes from it."""

    source: str
    notes: list[Note] = field(default_factory=list)
    secrets: list[str] = field(default_factory=list)
    concurrency: int | None = None
    uses_field: bool = False
    class_name: str = ""


class RunnerRewriter(cst.CSTTransformer):
    """Rewrites the class named ``class_name``: its methods and inputs (see the module's
    docstring), the notes in ``result``, what cannot go in ``problems``, the imports the new
    code needs in ``imports``."""

    def __init__(self, class_name: str, bound: dict[str, str], rel: str, cls: ast.ClassDef,
                 path: str = "Path"):
        self.class_name, self.bound, self.rel, self.path = class_name, bound, rel, path
        self.files = False  # a cog.File became a Path somewhere
        self.file_bytes = False  # a -> File output returns _file_bytes(...)
        self.result = Runner("")
        self.problems: list[Problem] = []
        self.imports: list[tuple[str, str]] = []
        self.drain = False
        self.lines = {n.name: n.lineno for n in cls.body
                      if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
        self.depth = 0
        self.constants: dict[str, tuple[str, object]] = {}  # module-level literal names
        self.models: set[str] = set()  # cog.BaseModel subclasses (dataclasses once rewritten)
        self.output_dict = False  # predict()'s values go through _output_dict(...)

    def _choices(self, node: cst.BaseExpression) -> list[str] | None:
        """Literal choices, also from a module constant: NAME, NAME.keys(), list(NAME[.keys()])."""
        if isinstance(node, cst.List | cst.Tuple):
            return [code(e.value) for e in node.elements]
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and \
                node.func.value == "list" and len(node.args) == 1:
            return self._choices(node.args[0].value)
        keys = False
        if isinstance(node, cst.Call) and not node.args and isinstance(node.func, cst.Attribute) \
                and node.func.attr.value == "keys":
            node, keys = node.func.value, True
        if not isinstance(node, cst.Name) or node.value not in self.constants:
            return None
        _, value = self.constants[node.value]
        if isinstance(value, dict) or (keys and isinstance(value, dict)):
            items = list(value)
        elif isinstance(value, list | tuple) and not keys:
            items = list(value)
        else:
            return None
        if not all(isinstance(i, str | int | float | bool) for i in items):
            return None
        return [repr(i) if not isinstance(i, str) else '"' + i.replace("\\", "\\\\").replace('"', '\\"') + '"'
                for i in items]

    def note(self, where: str, message: str, lost: bool = False) -> None:
        self.result.notes.append(Note(where, message, lost))

    def want(self, module: str, name: str) -> None:
        if (module, name) not in self.imports:
            self.imports.append((module, name))

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.depth += 1

    def leave_ClassDef(self, original, updated):
        self.depth -= 1
        if self.depth or updated.name.value != self.class_name:
            return updated
        bases = [b for b in updated.bases
                 if resolve(b.value, self.bound) not in ("BasePredictor", "BaseRunner")]
        if bases:
            bases[-1] = bases[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        body = []
        for stmt in updated.body.body:
            if isinstance(stmt, cst.FunctionDef) and stmt.name.value in ("setup", "run", "predict"):
                body += self._method(stmt)
            else:
                body.append(stmt)
        if not {"setup", "load"} & set(self.lines):  # setup() is optional in Cog, load() is not
            first = next((i for i, s in enumerate(body) if isinstance(s, cst.FunctionDef)), len(body))
            load = cst.parse_statement('def load(self) -> None:\n    """Nothing to load: the Cog '
                                       'runner had no setup()."""\n')
            gap = [cst.EmptyLine(indent=False)] if first else []
            body.insert(first, load.with_changes(leading_lines=gap))
            if first < len(body) - 1:
                body[first + 1] = body[first + 1].with_changes(
                    leading_lines=[cst.EmptyLine(indent=False)])
        changes = {"bases": bases, "body": updated.body.with_changes(body=body)}
        if not bases:
            changes.update(lpar=cst.MaybeSentinel.DEFAULT, rpar=cst.MaybeSentinel.DEFAULT)
        return updated.with_changes(**changes)

    # -- methods ---------------------------------------------------------------------------------
    def _method(self, fn: cst.FunctionDef) -> list[cst.BaseStatement]:
        old = fn.name.value
        where = f"{self.rel}:{self.lines.get(old, 0)}"
        is_setup = old == "setup"
        new = "load" if is_setup else "predict"
        if old != new:
            self.note(where, f"{old}() became {new}()")
        fn = fn.with_changes(decorators=[d for d in fn.decorators if not self._decorator(d, where)])
        if is_setup:
            params = fn.params
            if len(params.params) > 1 or params.kwonly_params:
                extra = [*params.params[1:], *params.kwonly_params]
                names = [p.name.value for p in extra]
                self.note(where, f"setup()'s {', '.join(names)} (Cog passes the weights of a "
                          "trained version) is not carried: load() takes no arguments, so "
                          f"{' and '.join(names)} keep(s) the default as the first line of load(); "
                          "read weights from a 'weights:' path instead", lost=True)
                lines = [cst.parse_statement(
                    f"{p.name.value} = {code(p.default) if p.default is not None else 'None'}"
                    "  # was a setup() argument (Cog's weights)\n") for p in extra]
                body = list(fn.body.body)
                at = 1 if body and isinstance(body[0], cst.SimpleStatementLine) and isinstance(
                    body[0].body[0], cst.Expr) and isinstance(body[0].body[0].value, cst.SimpleString) else 0
                fn = fn.with_changes(params=params.with_changes(
                    params=[params.params[0].with_changes(comma=cst.MaybeSentinel.DEFAULT)],
                    kwonly_params=[], star_arg=cst.MaybeSentinel.DEFAULT),
                    body=fn.body.with_changes(body=body[:at] + lines + body[at:]))
            call_args: list[str] = []
        else:
            fn, call_args = self._inputs(fn, where)
            fn = self._returns(fn, where)
        if not fn.asynchronous:
            return [fn.with_changes(name=cst.Name(new))]
        helper = f"_{new}_async"
        streaming = yields(fn)
        self.want("", "asyncio")
        returns = code(fn.returns.annotation) if fn.returns else None
        sync_ret = returns
        if streaming and returns:
            head = returns.split("[", 1)
            sync_ret = "Iterator[" + head[1] if len(head) == 2 else "Iterator"
            self.want("collections.abc", "Iterator")
        args = ", ".join(f"{a}={a}" for a in call_args)
        params = "".join(f"\n    {code(p.with_changes(comma=cst.MaybeSentinel.DEFAULT)).strip()},"
                         for p in fn.params.kwonly_params or fn.params.params[1:])
        star = "\n    *," if fn.params.kwonly_params else ""
        params = f"\n    self,{star}{params}\n" if params else "self"
        if streaming:
            self.drain = True
            body = f"yield from _drain(self.{helper}({args}))"
        elif is_setup:
            body = f"asyncio.run(self.{helper}())"
        else:
            body = f"return asyncio.run(self.{helper}({args}))"
        ret = f" -> {sync_ret}" if sync_ret else (" -> None" if is_setup else "")
        wrapper = cst.parse_statement(f"def {new}({params}){ret}:\n    {body}\n").with_changes(
            leading_lines=fn.leading_lines)
        self.note(where, f"async {old}() is kept as {helper}() and driven by a synchronous "
                  f"{new}() ({'an event loop per stream' if streaming else 'asyncio.run() per call'}): "
                  "portapack's predictor contract is synchronous; concurrent requests run on "
                  "threads, each with its own event loop" + (
                      "; objects load() binds to an event loop cannot be shared" if is_setup else ""),
                  lost=is_setup)
        return [wrapper, fn.with_changes(name=cst.Name(helper),
                                         leading_lines=[cst.EmptyLine(indent=False)])]

    def _decorator(self, dec: cst.Decorator, where: str) -> bool:
        """True if the decorator is Cog's (and is dropped)."""
        target = dec.decorator.func if isinstance(dec.decorator, cst.Call) else dec.decorator
        name = resolve(target, self.bound)
        if name == "concurrent" and isinstance(dec.decorator, cst.Call):
            for arg in dec.decorator.args:
                if (arg.keyword and arg.keyword.value == "max") and isinstance(arg.value, cst.Integer):
                    self.result.concurrency = int(arg.value.value)
                    self.note(where, f"@concurrent(max={arg.value.value}) became scaling.concurrency")
        return name in ("streaming", "concurrent")

    def _returns(self, fn: cst.FunctionDef, where: str) -> cst.FunctionDef:
        if self.models:  # a cog.BaseModel value anywhere in the output is sent as a dict
            wrap = cog_files.WrapReturns(fn, "_output_dict", yields=True)
            fn = fn.visit(wrap)
            self.output_dict = self.output_dict or bool(wrap.count)
            if fn.returns is not None:
                fn = fn.with_changes(returns=fn.returns.visit(cog_outputs.ModelAnnotation(self.models)))
        fn, wrapped = cog_files.file_output(fn, self.bound)
        if wrapped:
            self.file_bytes = True
            self.note(where, "the cog.File output became bytes (a file output on every target): "
                      "its file name is not kept", lost=True)
        if fn.returns is None or not isinstance(fn.returns.annotation, cst.Subscript):
            return fn
        sub = fn.returns.annotation
        name = resolve(sub.value, self.bound)
        if name not in ("ConcatenateIterator", "AsyncConcatenateIterator"):
            return fn
        plain = "AsyncIterator" if name.startswith("Async") else "Iterator"
        self.want("collections.abc", plain)
        self.note(where, f"{name} became {plain}: the tokens stream on every target, but Replicate "
                  "no longer shows them as one growing string", lost=True)
        return fn.with_changes(returns=fn.returns.with_changes(
            annotation=sub.with_changes(value=cst.Name(plain))))

    def _inputs(self, fn: cst.FunctionDef, where: str) -> tuple[cst.FunctionDef, list[str]]:
        params = fn.params
        converted: list[cst.Param] = []
        secrets: dict[str, str] = {}
        opened: dict[str, bool] = {}  # former cog.File inputs -> optional
        for param in [*params.params[1:], *params.kwonly_params]:
            ann = param.annotation.annotation if param.annotation else None
            if ann is not None and is_secret(ann, self.bound):
                secrets[param.name.value] = env_name(param.name.value)
                continue
            param, was_file = cog_files.file_input(param, self.bound, self.path)
            converted.append(self._input(param, where))
            if was_file:
                self.files = True
                ann = converted[-1].annotation.annotation
                optional = "None" in code(ann) or is_none(converted[-1].default)
                opened[param.name.value] = optional
                self.note(where, f"input '{param.name.value}': cog.File became a Path file input, "
                          "opened in binary mode as predict()'s first statement (Cog passed an "
                          "open file object)")
        if converted and len(converted) < len(params.params) - 1 + len(params.kwonly_params):
            last = [*params.params, *params.kwonly_params][-1]  # a dropped Secret was last
            converted[-1] = converted[-1].with_changes(comma=last.comma)
        keyword_only = bool(params.kwonly_params) or any(
            p.default is None and any(q.default is not None for q in converted[:i])
            for i, p in enumerate(converted))
        if keyword_only:  # required after optional: keyword-only keeps every input's order
            converted = [p.with_changes(comma=cst.MaybeSentinel.DEFAULT) for p in converted]
            new_params = params.with_changes(params=params.params[:1], kwonly_params=converted,
                                             star_arg=cst.ParamStar())
        else:
            new_params = params.with_changes(params=[params.params[0], *converted])
        fn = fn.with_changes(params=new_params)
        if secrets:
            fn = self._secret_body(fn, secrets, where)
        if opened:
            fn = cog_files.open_inputs(fn, opened)
        return fn, [p.name.value for p in converted]

    def _secret_body(self, fn: cst.FunctionDef, secrets: dict[str, str], where: str) -> cst.FunctionDef:
        reads = SecretReads(secrets)
        fn = fn.with_changes(body=fn.body.visit(reads))
        self.want("", "os")
        for name, env in secrets.items():
            self.result.secrets.append(env)
            self.note(where, f"the Secret input '{name}' became the secret {env} (spec 'secrets:'), "
                      f"read from os.environ; set it in each platform's secret store")
        if reads.bare:
            lines = [cst.parse_statement(f'{n} = os.environ.get("{secrets[n]}")') for n in sorted(reads.bare)]
            body = list(fn.body.body)
            at = 1 if body and isinstance(body[0], cst.SimpleStatementLine) and isinstance(
                body[0].body[0], cst.Expr) and isinstance(body[0].body[0].value, cst.SimpleString) else 0
            fn = fn.with_changes(body=fn.body.with_changes(body=body[:at] + lines + body[at:]))
            self.note(where, f"{', '.join(sorted(reads.bare))} is now the secret's text (or None), "
                      "not a cog.Secret")
        return fn

    def _input(self, param: cst.Param, where: str) -> cst.Param:
        default = param.default
        if not (isinstance(default, cst.Call) and resolve(default.func, self.bound) == "Input"):
            return param
        name = param.name.value
        options: dict[str, cst.BaseExpression] = {}
        for n, arg in enumerate(default.args):
            key = arg.keyword.value if arg.keyword else ("default" if n == 0 else None)
            if key is None:
                self.problems.append(Problem(where, f"input '{name}': Input() takes one positional "
                                             "argument (the default)"))
                return param
            options[key] = arg.value
        for key in ("deprecated", "accept"):
            if key in options and not (key == "accept" and is_file(param, self.bound, self.path)):
                self.note(where, f"input '{name}': Input({key}=...) is not carried", lost=True)
        if "default_factory" in options:
            self.problems.append(Problem(where, f"input '{name}': Input(default_factory=...) "
                                         "cannot be read statically; give a literal default"))
            return param
        ann = param.annotation.annotation if param.annotation else None
        if ann is None:
            self.problems.append(Problem(where, f"input '{name}' has no type annotation"))
            return param
        inner, optional = unwrap_optional(ann)
        base = code(inner)
        if "choices" in options:
            choices = self._choices(options["choices"])
            if choices is None:
                self.problems.append(Problem(where, f"input '{name}': choices {code(options['choices'])} "
                                             "is not a literal list, nor a module constant read "
                                             "exactly without running the code"))
                return param
            if not isinstance(options["choices"], cst.List | cst.Tuple):
                self.note(where, f"input '{name}': choices {code(options['choices'])} read from the "
                          "module's constant")
            base = "Literal[" + ", ".join(choices) + "]"
            self.want("typing", "Literal")
        has_default = "default" in options
        if has_default and isinstance(options["default"], cst.Name) and \
                options["default"].value in self.constants and self.constants[options["default"].value][0]:
            source = self.constants[options["default"].value][0]
            self.note(where, f"input '{name}': default {options['default'].value} became its literal "
                      "value (builds read defaults without running the code)")
            options["default"] = cst.parse_expression(source)
        if has_default and isinstance(options["default"], cst.Name) and options["default"].value == "None":
            optional = True
        typ = f"{base} | None" if optional else base
        fields = [f"{FIELD_OPTIONS[k]}={code(v)}" for k, v in options.items() if k in FIELD_OPTIONS]
        if "accept" in options and is_file(param, self.bound, self.path):  # the file's content-type hint
            fields.append(f'json_schema_extra={{"accept": {code(options["accept"])}}}')
        if fields:
            typ = f"Annotated[{typ}, Field({', '.join(fields)})]"
            self.want("typing", "Annotated")
            self.want("pydantic", "Field")
            self.result.uses_field = True
        changes: dict = {"annotation": param.annotation.with_changes(annotation=cst.parse_expression(typ))}
        if has_default:
            changes["default"] = options["default"]
        elif optional:  # Cog: an Optional input without a default defaults to None
            changes["default"] = cst.Name("None")
        else:
            changes.update(default=None, equal=cst.MaybeSentinel.DEFAULT)
        return param.with_changes(**changes)


__all__ = ["FIELD_OPTIONS", "Runner", "RunnerRewriter"]
