"""Cog names a runner may use beyond its signature, carried by :func:`.runner.rewrite`.

- ``class Output(cog.BaseModel)``: Cog 0.23 turns every such subclass into a dataclass
  (cog/model.py ``__init_subclass__``) and sends an instance as the dict of its fields
  (cog/_adt.py ``OutputType.json_encode``). The class becomes ``@dataclasses.dataclass`` (no
  base) and each value ``predict()`` returns or yields goes through ``_output_dict`` (templates/
  importers/output_dict.py.j2), so every target sends the same dict.
- ``cog.emit_metric(name, value)`` / ``cog.current_scope()``: Replicate's per-prediction
  metrics and request context exist on no other platform. They become ``_emit_metric`` and
  ``_current_scope()`` (templates/importers/cog_scope.py.j2): metrics are logged, not kept;
  ``context`` is empty, as Cog gives it when a request sends none.
"""

from __future__ import annotations

import ast

import libcst as cst

from portapack.errors import Problem
from portapack.importing.base import Note
from portapack.importing.source import resolve

SCOPE_NAMES = {"emit_metric": "_emit_metric", "current_scope": "_current_scope"}


def _ast_name(node: ast.expr, bound: dict[str, str]) -> str | None:
    if isinstance(node, ast.Name) and node.id in bound and bound[node.id] != "*":
        return bound[node.id]
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and \
            bound.get(node.value.id) == "*":
        return node.attr
    return None


def model_classes(tree: ast.Module, bound: dict[str, str], rel: str) -> tuple[set[str], list[Problem]]:
    """Top-level classes that are cog.BaseModel subclasses (directly or through one of them)."""
    classes = [n for n in tree.body if isinstance(n, ast.ClassDef)]
    found: set[str] = set()
    problems: list[Problem] = []
    grew = True
    while grew:
        grew = False
        for cls in classes:
            if cls.name in found:
                continue
            if any(_ast_name(b, bound) == "BaseModel" or (isinstance(b, ast.Name) and b.id in found)
                   for b in cls.bases):
                found.add(cls.name)
                grew = True
                if cls.keywords:
                    problems.append(Problem(f"{rel}:{cls.lineno}", f"class {cls.name}: cog.BaseModel's "
                                            f"options ({', '.join(k.arg or '**' for k in cls.keywords)}) "
                                            "are not carried; remove them, then import again"))
    return found, problems


class ModelsToDataclasses(cst.CSTTransformer):
    """``class X(BaseModel)`` (top level) -> ``@dataclasses.dataclass`` ``class X`` (Cog 0.23's
    own reading of it), other bases kept."""

    def __init__(self, names: set[str], bound: dict[str, str]):
        self.names, self.bound = names, bound
        self.depth = 0

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.depth += 1

    def leave_ClassDef(self, original, updated):
        self.depth -= 1
        if self.depth or updated.name.value not in self.names:
            return updated
        bases = [b for b in updated.bases if resolve(b.value, self.bound) != "BaseModel"]
        if bases:
            bases[-1] = bases[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        changes: dict = {"bases": bases, "decorators": [
            cst.Decorator(cst.parse_expression("dataclasses.dataclass")), *updated.decorators]}
        if not bases:
            changes.update(lpar=cst.MaybeSentinel.DEFAULT, rpar=cst.MaybeSentinel.DEFAULT)
        return updated.with_changes(**changes)


class ModelAnnotation(cst.CSTTransformer):
    """Each name of a model class in a return annotation -> ``dict`` (what predict() sends)."""

    def __init__(self, names: set[str]):
        self.names = names

    def leave_Name(self, original, updated):
        return cst.Name("dict") if updated.value in self.names else updated


def model_notes(tree: ast.Module, names: set[str], rel: str) -> list[Note]:
    return [Note(f"{rel}:{n.lineno}", f"class {n.name}(cog.BaseModel) became a dataclass (as Cog "
                 "makes it) and predict() returns it as the dict of its fields, as Cog sent it; "
                 "the fields' types are not checked when it is returned")
            for n in tree.body if isinstance(n, ast.ClassDef) and n.name in names]


def scope_notes(tree: ast.Module, bound: dict[str, str], rel: str) -> list[Note]:
    notes = []
    seen: set[tuple[str, int]] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Name | ast.Attribute) or isinstance(node.ctx, ast.Store):
            continue
        name = _ast_name(node, bound)
        if name not in SCOPE_NAMES or (name, node.lineno) in seen:
            continue
        seen.add((name, node.lineno))
        if name == "emit_metric":
            message = ("cog.emit_metric() became _emit_metric(), which logs the metric: Replicate's "
                       "prediction metrics exist on no other platform")
        else:
            message = ("cog.current_scope() became _current_scope(): its metrics are logged, not "
                       "kept (Replicate's prediction metrics exist on no other platform), and its "
                       "context is always empty (as Cog gives it when a request sends none)")
        notes.append(Note(f"{rel}:{node.lineno}", message, lost=True))
    return sorted(notes, key=lambda n: int(n.where.rpartition(":")[2]))


__all__ = ["SCOPE_NAMES", "ModelAnnotation", "ModelsToDataclasses", "model_classes", "model_notes",
           "scope_notes"]
