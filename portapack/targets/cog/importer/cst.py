"""Small libcst questions the Cog runner rewrite asks, and the secret-read transformer.

The questions are pure functions of one node (is this annotation optional, a ``cog.Secret``,
a file? does this function yield?); :class:`SecretReads` turns ``key.get_secret_value()`` into
an ``os.environ`` read. :class:`.cog_rewriter.RunnerRewriter` uses all of them.
"""

from __future__ import annotations

import libcst as cst

from portapack.importing.source import code, dotted, resolve


class SecretReads(cst.CSTTransformer):
    """``key.get_secret_value()`` -> ``os.environ.get("KEY")``; notes other uses of ``key``."""

    def __init__(self, secrets: dict[str, str]):
        self.secrets = secrets
        self.bare: set[str] = set()

    def visit_Call(self, node: cst.Call) -> bool:
        return not self._reads_secret(node)

    def _reads_secret(self, node: cst.Call) -> bool:
        func = node.func
        return isinstance(func, cst.Attribute) and func.attr.value == "get_secret_value" and \
            isinstance(func.value, cst.Name) and func.value.value in self.secrets

    def leave_Call(self, original, updated):
        func = updated.func
        if isinstance(func, cst.Attribute) and func.attr.value == "get_secret_value" and \
                isinstance(func.value, cst.Name) and func.value.value in self.secrets:
            return cst.parse_expression(f'os.environ.get("{self.secrets[func.value.value]}")')
        return updated

    def visit_Name(self, node: cst.Name) -> None:
        if node.value in self.secrets:
            self.bare.add(node.value)


def is_secret(ann: cst.BaseExpression, bound: dict[str, str]) -> bool:
    """Whether an annotation is ``cog.Secret`` (also ``Optional[Secret]``, ``Secret | None``)."""
    if resolve(ann, bound) == "Secret":
        return True
    if isinstance(ann, cst.Subscript) and dotted(ann.value) in ("Optional", "typing.Optional"):
        return any(isinstance(e.slice, cst.Index) and resolve(e.slice.value, bound) == "Secret"
                   for e in ann.slice)
    if isinstance(ann, cst.BinaryOperation) and isinstance(ann.operator, cst.BitOr):
        return is_secret(ann.left, bound) or is_secret(ann.right, bound)
    return False


def is_file(param: cst.Param, bound: dict[str, str], path: str) -> bool:
    """Whether the input is a file (cog.Path, or a cog.File already made a Path): ``path`` is
    how the rewritten runner names ``pathlib.Path``."""
    if param.annotation is None:
        return False
    inner, _ = unwrap_optional(param.annotation.annotation)
    return resolve(inner, bound) == "Path" or code(inner) == path


def is_none(node: cst.BaseExpression | None) -> bool:
    return isinstance(node, cst.Name) and node.value == "None"


def unwrap_optional(ann: cst.BaseExpression) -> tuple[cst.BaseExpression, bool]:
    """``Optional[T]`` or ``T | None`` -> (T, True); anything else -> (ann, False)."""
    if isinstance(ann, cst.Subscript) and dotted(ann.value) in ("Optional", "typing.Optional") and \
            len(ann.slice) == 1 and isinstance(ann.slice[0].slice, cst.Index):
        return ann.slice[0].slice.value, True
    if isinstance(ann, cst.BinaryOperation) and isinstance(ann.operator, cst.BitOr):
        for keep, other in ((ann.left, ann.right), (ann.right, ann.left)):
            if isinstance(other, cst.Name) and other.value == "None":
                return keep, True
    return ann, False


def yields(fn: cst.FunctionDef) -> bool:
    """Whether ``fn`` itself (not a function nested in it) yields: a generator."""
    found = False

    class Finder(cst.CSTVisitor):
        def visit_Yield(self, node: cst.Yield) -> None:
            nonlocal found
            found = True

        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return node is fn

        def visit_Lambda(self, node: cst.Lambda) -> bool:
            return False

    fn.visit(Finder())
    return found


__all__ = ["SecretReads", "is_file", "is_none", "is_secret", "unwrap_optional", "yields"]
