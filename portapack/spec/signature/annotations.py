"""Input type hints, read from the ``ast``: each becomes :class:`~.contract.InputSpec` fields.

Supported: the kinds of :data:`KIND_OF` (``str``, ``int``, ``float``, ``bool``, ``dict``, and
``Path`` / ``pathlib.Path``: a file, sent as an http(s) URL or a data: URI),
``list[T]`` of a scalar, ``T | None`` / ``Optional[T]``, ``Literal[...]`` choices and
``Annotated[T, Field(...)]`` rules. A new input kind is one entry in :data:`KIND_OF` (plus
its annotation in ``targets/artifacts.py`` and, if it takes rules, :data:`RULES_BY_KIND`).
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import Any

# Type names (as written, bare or dotted) -> input kind.
KIND_OF = {"str": "str", "int": "int", "float": "float", "bool": "bool",
           "dict": "dict", "Dict": "dict", "Path": "path"}
SCALARS = ("str", "int", "float", "bool")  # kinds a list item or a Literal value may have
LIST_NAMES = ("list", "List")
FIELD_KEYS = ("ge", "le", "gt", "lt", "min_length", "max_length", "pattern", "description", "default",
              "json_schema_extra")
RULE_KEYS = FIELD_KEYS[:7]
# Which Field(...) rules apply to which kind (pydantic would accept the others and fail on
# every request instead, so the reader refuses them with the input's line).
RULES_BY_KIND = {"int": ("ge", "le", "gt", "lt"), "float": ("ge", "le", "gt", "lt"),
                 "str": ("min_length", "max_length", "pattern"), "list": ("min_length", "max_length")}

Fail = Callable[[ast.AST | None, str], None]
SUPPORTED = ("str, int, float, bool, Path, list[str|int|float|bool], dict, Literal[...], T | None "
             "or Annotated[T, Field(...)]")
# Names that are the supported forms themselves: never looked up as the user's aliases.
_OWN_NAMES = {*KIND_OF, *LIST_NAMES, "Optional", "Union", "Literal", "Annotated", "None"}


def module_aliases(tree: ast.Module) -> dict[str, ast.expr]:
    """Simple module-level type aliases: ``Cm = float`` or ``Cm: TypeAlias = float``."""
    found: dict[str, ast.expr] = {}
    for node in tree.body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)):
            name, value = node.targets[0].id, node.value
        elif (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
              and type_name(node.annotation) == "TypeAlias" and node.value is not None):
            name, value = node.target.id, node.value
        else:
            continue
        if name not in _OWN_NAMES and isinstance(value, ast.Name | ast.Attribute | ast.Subscript | ast.BinOp):
            found[name] = value
    return found


class AnnotationReader:
    """Turns one annotation into InputSpec keyword arguments, reporting problems to ``fail``."""

    def __init__(self, fail: Fail, aliases: dict[str, ast.expr] | None = None):
        self.fail = fail
        self.aliases = aliases or {}  # module-level type aliases, followed (module_aliases)
        self._following: set[str] = set()

    def read(self, node: ast.expr, name: str) -> dict[str, Any] | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):  # "str" forward ref
            try:
                node = ast.parse(node.value, mode="eval").body
            except SyntaxError:
                self.fail(node, f"input '{name}': cannot read the annotation {node.value!r}")
                return None
        if isinstance(node, ast.Name) and node.id in self.aliases and node.id not in self._following:
            self._following.add(node.id)  # Cm = float: read float (an alias cycle stops here)
            try:
                return self.read(self.aliases[node.id], name)
            finally:
                self._following.discard(node.id)
        head = type_name(node.value) if isinstance(node, ast.Subscript) else type_name(node)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            return self._union(node, [node.left, node.right], name)
        if not isinstance(node, ast.Subscript):
            if head in KIND_OF:
                return {"kind": KIND_OF[head]}
            if head in LIST_NAMES:
                self.fail(node, f"input '{name}': give the item type, e.g. list[str]")
            else:
                self.fail(node, f"input '{name}': unsupported type '{ast.unparse(node)}'; use "
                          f"{SUPPORTED} (a type alias is followed only as a plain module-level "
                          "assignment, e.g. Cm = float)")
            return None
        args = subscript_args(node)
        if head in LIST_NAMES:
            item = type_name(args[0]) if len(args) == 1 else None
            if item not in SCALARS:
                self.fail(node, f"input '{name}': list items must be str, int, float or bool, "
                          f"not '{ast.unparse(args[0]) if args else ''}'")
                return None
            return {"kind": "list", "item": item}
        if KIND_OF.get(head or "") == "dict":  # dict[str, T]: any JSON object
            return {"kind": "dict"}
        if head == "Optional":
            return self._union(node, [args[0], ast.Constant(None)], name)
        if head == "Union":
            return self._union(node, args, name)
        if head == "Literal":
            return self._literal(node, args, name)
        if head == "Annotated":
            return self._annotated(node, args, name)
        self.fail(node, f"input '{name}': unsupported type '{ast.unparse(node)}'; use {SUPPORTED}")
        return None

    def _union(self, node: ast.expr, parts: list[ast.expr], name: str) -> dict[str, Any] | None:
        flat: list[ast.expr] = []
        for part in parts:  # flatten a | b | None
            if isinstance(part, ast.BinOp) and isinstance(part.op, ast.BitOr):
                flat += [part.left, part.right]
            else:
                flat.append(part)
        rest = [p for p in flat if type_name(p) != "None"]
        if len(rest) != 1 or len(rest) == len(flat):
            self.fail(node, f"input '{name}': only 'T | None' unions are supported, "
                      f"not '{ast.unparse(node)}'")
            return None
        inner = self.read(rest[0], name)
        return None if inner is None else {**inner, "optional": True}

    def _literal(self, node: ast.expr, args: list[ast.expr], name: str) -> dict[str, Any] | None:
        try:
            values = tuple(ast.literal_eval(a) for a in args)
        except ValueError:
            self.fail(node, f"input '{name}': Literal[...] values must be literals")
            return None
        kinds = {type(v).__name__ for v in values}
        if not values or len(kinds) != 1 or next(iter(kinds)) not in SCALARS:
            self.fail(node, f"input '{name}': Literal[...] values must all be str, or all int")
            return None
        return {"kind": next(iter(kinds)), "choices": values}

    def _annotated(self, node: ast.expr, args: list[ast.expr], name: str) -> dict[str, Any] | None:
        inner = self.read(args[0], name)
        if inner is None:
            return None
        for meta in args[1:]:
            if not (isinstance(meta, ast.Call) and type_name(meta.func) == "Field"):
                self.fail(meta, f"input '{name}': Annotated metadata must be Field(...)")
                return None
            kwargs = self._field_kwargs(meta, name)
            if kwargs is None:
                return None
            extra = kwargs.pop("json_schema_extra", None)
            if extra is not None:
                # Only a file's content-type hint (schema and docs; no target sniffs content).
                if (inner["kind"] != "path" or not isinstance(extra, dict) or set(extra) != {"accept"}
                        or not isinstance(extra["accept"], str)):
                    self.fail(meta, f"input '{name}': json_schema_extra may only hold "
                              '{"accept": "image/*"} on a Path input')
                    return None
                inner["accept"] = extra["accept"]
            inner.update(kwargs)
        return inner

    def _field_kwargs(self, call: ast.Call, name: str) -> dict[str, Any] | None:
        out: dict[str, Any] = {}
        if call.args:
            self.fail(call, f"input '{name}': pass Field options by keyword")
            return None
        for kw in call.keywords:
            if kw.arg not in FIELD_KEYS:
                self.fail(kw.value, f"input '{name}': Field option '{kw.arg}' is not supported; "
                          f"use {', '.join(FIELD_KEYS)}")
                return None
            try:
                out[kw.arg] = ast.literal_eval(kw.value)
            except ValueError:
                self.fail(kw.value, f"input '{name}': Field({kw.arg}=...) must be a literal "
                          "(build reads it without running your code)")
                return None
        return out


def type_name(node: ast.expr) -> str | None:
    """The last name of ``x`` / ``a.b.x``; ``"None"`` for the constant None."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Constant) and node.value is None:
        return "None"
    return None


def subscript_args(node: ast.Subscript) -> list[ast.expr]:
    return list(node.slice.elts) if isinstance(node.slice, ast.Tuple) else [node.slice]
