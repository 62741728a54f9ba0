"""Importing an artifact portapack itself built: the round trip back to a portapack project.

``portapack build`` leaves its marker (``.portapack-build.json``, naming the target) in every
artifact, copies the user's predictor file unchanged beside the adapter it generates, and
renders the target's templates around it. An importer that finds the marker still maps the
platform's config (requirements, env, resources, scaling) as for any project, but takes the
predictor the adapter imports as it is (its signature is the inputs, with their types,
defaults and rules) and leaves the generated files out, instead of converting the adapter.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

from portapack.errors import Problem, SpecError
from portapack.importing.base import Imported

MARKER = ".portapack-build.json"  # portapack.building.builder.MARKER (not imported: no cycle)
# Files every target writes beside the user's code that are no template of its own.
SHARED = {"requirements.txt", MARKER}


def built_target(src: Path) -> str | None:
    """The target whose artifact ``src`` is (from portapack's build marker), else None."""
    marker = src / MARKER
    if not marker.is_file():
        return None
    try:
        data = json.loads(marker.read_text(encoding="utf-8"))
    except ValueError:
        return None
    return data.get("target") if isinstance(data, dict) and isinstance(data.get("target"), str) else None


def wrapped_predictor(adapter: Path, code_dir: Path) -> tuple[str, str] | None:
    """``(module, class)`` of the user's predictor the generated adapter imports
    (``from predict import Predictor``): a module file in ``code_dir`` other than the shared
    helpers."""
    try:
        tree = ast.parse(adapter.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return None
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and not node.level and node.module and \
                node.module != "portapack_files" and len(node.names) == 1 and \
                (code_dir / (node.module.replace(".", "/") + ".py")).is_file():
            return node.module, node.names[0].name
    return None


def unwrap(src: Path, target: str, imported: Imported, spec: dict[str, Any], adapter_rel: str,
           code_rel: str = "") -> None:
    """Make ``imported`` the project a portapack artifact was built from: the user's predictor
    file kept as is (``spec['predictor']``), the target's generated files left out of the
    copies. ``code_rel`` is the folder the adapter imports the user's code from."""
    from portapack.targets import target_class

    code_dir = src / code_rel if code_rel else src
    found = wrapped_predictor(src / adapter_rel, code_dir)
    if found is None:
        raise SpecError(Problem(adapter_rel, "a portapack-built artifact (it has "
                                f"{MARKER}) whose adapter imports no predictor beside it"))
    module, class_name = found
    name = json.loads((src / MARKER).read_text(encoding="utf-8")).get("name")
    if isinstance(name, str) and name:
        spec["name"] = name  # the spec's own name (the artifact's folder is the target's)
    rel = module.replace(".", "/") + ".py"
    generated = set(target_class(target).templates) | SHARED
    imported.predictor_file = rel
    imported.predictor_source = (code_dir / rel).read_text(encoding="utf-8")
    spec["predictor"] = f"{rel}:{class_name}"
    for dest, path in list(imported.copies.items()):
        if dest == rel or path.relative_to(src).as_posix() in generated:
            del imported.copies[dest]
    imported.notes[:] = [n for n in imported.notes if not n.where.startswith(adapter_rel)]
    imported.note(adapter_rel, f"a {target} artifact portapack built: the predictor it wraps "
                  f"({rel}:{class_name}) is imported as it is, and the generated files are left "
                  "out (portapack generates them again)")


__all__ = ["built_target", "unwrap", "wrapped_predictor"]
