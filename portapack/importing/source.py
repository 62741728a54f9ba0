"""Reading and rewriting the user's Python without running it.

``ast`` answers questions (which names come from ``cog``? on which line?);
``libcst`` does the rewriting, because a concrete syntax tree gives the code back with the
user's comments, blank lines, helpers and formatting intact, which ``ast.unparse`` loses.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import libcst as cst

from portapack.errors import Problem, SpecError

EMPTY = cst.Module(body=[])


def code(node: cst.CSTNode) -> str:
    """The source text of one libcst node."""
    return EMPTY.code_for_node(node)


def parse(path: Path, rel: str) -> tuple[cst.Module, ast.Module]:
    """Both trees of one file; a clear error naming the file and line if it does not parse."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(Problem(rel, f"cannot read: {exc}")) from None
    try:
        tree = ast.parse(text, filename=rel)
    except SyntaxError as exc:
        raise SpecError(Problem(f"{rel}:{exc.lineno}", f"syntax error: {exc.msg}; fix it, "
                                "then import again")) from None
    return cst.parse_module(text), tree


def dotted(node: cst.BaseExpression) -> str | None:
    """``cog.Input`` -> "cog.Input", ``Input`` -> "Input"; None for anything else."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        head = dotted(node.value)
        return f"{head}.{node.attr.value}" if head else None
    return None


def platform_bindings(tree: ast.Module, package: str) -> dict[str, str]:
    """Names the module binds to ``package``: {"Input": "Input", "cog": "*"} (for attribute use)."""
    bound: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == package:
                    bound[alias.asname or alias.name.split(".")[0]] = "*"
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == package:
            for alias in node.names:
                bound[alias.asname or alias.name] = alias.name
    return bound


def resolve(expr: cst.BaseExpression, bound: dict[str, str]) -> str | None:
    """The platform name an expression refers to (``cog.Secret`` or ``Secret`` -> "Secret")."""
    name = dotted(expr)
    if name is None:
        return None
    head, _, rest = name.partition(".")
    if head in bound:
        if bound[head] == "*":
            return rest.rsplit(".", 1)[-1] if rest else None
        return bound[head] if not rest else None
    return None


class StripImports(cst.CSTTransformer):
    """Remove every import of ``package`` (``import cog``, ``from cog.types import Path``)."""

    def __init__(self, package: str):
        self.package = package

    def _ours(self, name: str | None) -> bool:
        return bool(name) and name.split(".")[0] == self.package

    def leave_SimpleStatementLine(self, original, updated):
        kept = []
        for stmt in updated.body:
            if isinstance(stmt, cst.Import):
                names = [a for a in stmt.names if not self._ours(dotted(a.name))]
                if not names:
                    continue
                if len(names) != len(stmt.names):
                    names[-1] = names[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
                    stmt = stmt.with_changes(names=names)
            elif isinstance(stmt, cst.ImportFrom) and stmt.module is not None and self._ours(
                    dotted(stmt.module)):
                continue
            kept.append(stmt)
        if not kept:
            return cst.RemovalSentinel.REMOVE
        return updated.with_changes(body=kept)


def bound_names(tree: ast.Module) -> set[str]:
    """Top-level names a module binds by import, def, class or assignment."""
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return names


def add_imports(module: cst.Module, wanted: list[tuple[str, str]],
                local: set[str] = frozenset()) -> cst.Module:
    """Add ``(module, name)`` imports ("" module: ``import name``) the code does not bind yet.

    New names join an existing ``from module import ...`` line; otherwise the leading import
    block is regrouped as isort/ruff would (standard library, third party, ``local`` modules),
    so the result stays ruff-clean. A block with comments inside is left in its order, and the
    new lines go on top of it."""
    have = bound_names(ast.parse(module.code))
    wanted = [(m, n) for m, n in dict.fromkeys(wanted) if n not in have]
    body = list(module.body)
    start = 0
    while start < len(body) and isinstance(body[start], cst.SimpleStatementLine) and (
            _is_docstring(body[start]) or _is_future(body[start].body[0])):
        start += 1
    end = start
    while end < len(body) and isinstance(body[end], cst.SimpleStatementLine) and isinstance(
            body[end].body[0], cst.Import | cst.ImportFrom) and not _is_future(body[end].body[0]):
        end += 1
    block = body[start:end]
    texts = [code(stmt.with_changes(leading_lines=[])).strip() for stmt in block]
    texts += [f"import {name}" if not mod else f"from {mod} import {name}" for mod, name in wanted]
    used = {n.id for n in ast.walk(ast.parse(code(module.with_changes(body=body[end:]))))
            if isinstance(n, ast.Name)}
    texts = _merge_from_lines(texts, used)
    if not wanted and len(texts) == len(block):
        return module  # nothing added, nothing dropped: leave the user's imports as they are
    lead = block[0].leading_lines if block else []
    clean = all(not any(line.comment for line in stmt.leading_lines) for stmt in block[1:]) and all(
        "#" not in t and "\n" not in t for t in texts)
    if clean:
        groups: dict[int, list[str]] = {0: [], 1: [], 2: []}
        for text in texts:
            top = text.split()[1].split(".")[0]
            group = 0 if top in sys.stdlib_module_names else 2 if top in local or top == "" else 1
            groups[group].append(text)
        lines = []
        for group in (0, 1, 2):
            if groups[group]:
                lines += sorted(groups[group], key=lambda t: (t.startswith("from "), t.split()[1].lower()))
                lines.append("")
        text = "\n".join(lines)
    else:
        text = "\n".join(texts) + "\n"
    if not text.strip():
        return module.with_changes(body=body[:start] + body[end:])
    new = list(cst.parse_module(text.strip("\n") + "\n").body)
    if new:
        new[0] = new[0].with_changes(leading_lines=lead)
    rest = body[end:]
    if rest and not rest[0].leading_lines:
        gap = 2 if isinstance(rest[0], cst.ClassDef | cst.FunctionDef) else 1
        blank = [cst.EmptyLine(indent=False)] * gap
        rest[0] = rest[0].with_changes(leading_lines=blank)
    return module.with_changes(body=body[:start] + new + rest)


def _merge_from_lines(texts: list[str], used: set[str]) -> list[str]:
    """Join ``from m import a`` lines of one module, and drop typing names nothing uses any
    more (the rewrite replaced ``Optional[T]`` with ``T | None``, for example)."""
    out: list[str] = []
    seen: dict[str, int] = {}
    for text in texts:
        simple = text.startswith("from ") and " import " in text and not any(c in text for c in "(#\n")
        if not simple:
            out.append(text)
            continue
        mod, _, names = text[5:].partition(" import ")
        items = [n.strip() for n in names.split(",") if n.strip()]
        if mod in ("typing", "collections.abc"):
            items = [n for n in items if n.split(" as ")[-1] in used]
        if mod in seen:
            i = seen[mod]
            old = out[i][5:].partition(" import ")[2].split(", ")
            items = old + [n for n in items if n not in old]
        if not items:
            continue
        line = f"from {mod} import {', '.join(sorted(items, key=lambda n: (not n[0].isupper(), n.lower())))}"
        if mod in seen:
            out[seen[mod]] = line
        else:
            seen[mod] = len(out)
            out.append(line)
    return out


def _is_docstring(stmt: cst.SimpleStatementLine) -> bool:
    first = stmt.body[0]
    return isinstance(first, cst.Expr) and isinstance(first.value, cst.SimpleString | cst.ConcatenatedString)


def _is_future(stmt: cst.BaseSmallStatement) -> bool:
    return isinstance(stmt, cst.ImportFrom) and stmt.module is not None and \
        dotted(stmt.module) == "__future__"


def uses(tree: ast.AST, names: set[str]) -> list[tuple[str, int]]:
    """Where the code still refers to ``names`` (as a Name or an attribute base), in order."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in names:
            found.append((node.id, node.lineno))
    return sorted(found, key=lambda x: x[1])
