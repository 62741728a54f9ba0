"""Cog's file types in a runner, as portapack file inputs and outputs.

``cog.Path`` subclasses ``pathlib.PosixPath`` (cog/types.py, Cog 0.23.1, read 2026-12-01), so
every use of it becomes ``pathlib.Path``: a ``Path`` input is a file input, a ``Path`` output
(alone, in a list or dict, or streamed) a file output. ``cog.File`` (deprecated in Cog) hands
predict() an open binary file object and may return one: the input becomes a ``Path`` opened
with ``.open("rb")`` as predict()'s first statement, and a ``-> File`` output returns the
object's bytes (a file output everywhere). ``URLPath``/``URLFile`` are Cog internals: refused.
"""

from __future__ import annotations

import ast

import libcst as cst

from portapack.importing.source import resolve


def path_expr(tree: ast.Module, bound: dict[str, str]) -> tuple[str, tuple[str, str]]:
    """How the rewritten runner names ``pathlib.Path``, and the import it needs: ``Path``
    unless the module binds ``Path`` to something else than Cog's or pathlib's."""
    for node in tree.body:
        taken = False
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] not in ("cog", "pathlib"):
            taken = any((a.asname or a.name) == "Path" for a in node.names)
        elif isinstance(node, ast.Import):
            taken = any((a.asname or a.name) == "Path" for a in node.names)
        elif isinstance(node, ast.ClassDef | ast.FunctionDef | ast.Assign):
            names = [node.name] if not isinstance(node, ast.Assign) else [
                t.id for t in node.targets if isinstance(t, ast.Name)]
            taken = "Path" in names
        if taken and bound.get("Path") != "Path":
            return "pathlib.Path", ("", "pathlib")
    return "Path", ("pathlib", "Path")


class Replace(cst.CSTTransformer):
    """Every reference to one of Cog's names (``Path``, ``cog.Path``, an alias) -> ``expr``."""

    def __init__(self, bound: dict[str, str], names: set[str], expr: str):
        self.bound, self.names, self.expr = bound, names, expr
        self.count = 0
        self.attrs: set[int] = set()  # the ``x`` of ``a.x``: a member's name, never Cog's

    def visit_Attribute(self, node: cst.Attribute) -> None:
        self.attrs.add(id(node.attr))

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        return False  # the import itself goes (StripImports): leave its names alone

    def visit_Import(self, node: cst.Import) -> bool:
        return False

    def _swap(self, updated: cst.BaseExpression) -> cst.BaseExpression:
        if resolve(updated, self.bound) in self.names:
            self.count += 1
            return cst.parse_expression(self.expr)
        return updated

    def leave_Name(self, original, updated):
        return updated if id(original) in self.attrs else self._swap(updated)

    def leave_Attribute(self, original, updated):
        return self._swap(updated)


def file_input(param: cst.Param, bound: dict[str, str], expr: str) -> tuple[cst.Param, bool]:
    """A ``cog.File`` input's annotation with ``Path`` instead; True if it had one."""
    if param.annotation is None:
        return param, False
    swap = Replace(bound, {"File"}, expr)
    annotation = param.annotation.visit(swap)
    return param.with_changes(annotation=annotation), bool(swap.count)


def open_inputs(fn: cst.FunctionDef, names: dict[str, bool]) -> cst.FunctionDef:
    """``name = name.open("rb")`` first in ``fn`` (after its docstring) for each former
    ``cog.File`` input (``{name: optional}``): the body keeps getting a file object."""
    lines = []
    for name, optional in names.items():
        opened = f'{name}.open("rb")'
        if optional:
            opened += f" if {name} is not None else None"
        lines.append(cst.parse_statement(f"{name} = {opened}  # was a cog.File: a file object\n"))
    body = list(fn.body.body)
    at = 1 if body and isinstance(body[0], cst.SimpleStatementLine) and isinstance(
        body[0].body[0], cst.Expr) and isinstance(body[0].body[0].value, cst.SimpleString) else 0
    return fn.with_changes(body=fn.body.with_changes(body=body[:at] + lines + body[at:]))


class WrapReturns(cst.CSTTransformer):
    """``return x`` -> ``return helper(x)`` in one function, not in nested ones (with
    ``yields``, ``yield x`` -> ``yield helper(x)`` too)."""

    def __init__(self, fn: cst.FunctionDef, helper: str = "_file_bytes", yields: bool = False):
        self.fn, self.helper, self.yields = fn, helper, yields
        self.count = 0

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return node is self.fn

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False

    def _wrap(self, updated):
        self.count += 1
        return updated.with_changes(value=cst.Call(cst.Name(self.helper), [cst.Arg(updated.value)]))

    def leave_Return(self, original, updated):
        if updated.value is None:
            return updated
        return self._wrap(updated)

    def leave_Yield(self, original, updated):
        if not self.yields or updated.value is None or isinstance(updated.value, cst.From):
            return updated
        return self._wrap(updated)


def file_output(fn: cst.FunctionDef, bound: dict[str, str]) -> tuple[cst.FunctionDef, bool]:
    """``-> File`` becomes ``-> bytes`` and each return hands back the file's bytes; True if
    so (the caller appends templates/importers/file_bytes.py.j2)."""
    if fn.returns is None or resolve(fn.returns.annotation, bound) != "File":
        return fn, False
    fn = fn.visit(WrapReturns(fn))
    return fn.with_changes(returns=fn.returns.with_changes(annotation=cst.Name("bytes"))), True


__all__ = ["Replace", "WrapReturns", "file_input", "file_output", "open_inputs", "path_expr"]
