"""The documentation stays true to the code: every field of portapack.yaml (the spec model, its
nested models and every built-in target's options) is described in docs/spec.md, and every
relative link in README.md and docs/ points at a file that exists."""

from __future__ import annotations

import re
import typing
from pathlib import Path

import pytest
from pydantic import BaseModel

import portapack  # noqa: F401  (connects the target registry to the spec's targets: section)
from portapack import targets
from portapack.spec.model import Example, Resources, Scaling, Spec, Weight
from portapack.spec.server import HttpExample, Server

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
SPEC_PAGE = DOCS / "spec.md"
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def nested_models(annotation: object) -> list[type[BaseModel]]:
    """The pydantic models inside a field annotation (through Optional, list, Annotated...)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for arg in typing.get_args(annotation):
        found += nested_models(arg)
    return found


def walk(model: type[BaseModel], seen: dict[type[BaseModel], None]) -> None:
    if model in seen:
        return
    seen[model] = None
    for field in model.model_fields.values():
        for inner in nested_models(field.annotation):
            walk(inner, seen)


def spec_models() -> list[type[BaseModel]]:
    seen: dict[type[BaseModel], None] = {}
    walk(Spec, seen)
    return list(seen)


def builtin_options() -> dict[str, type[BaseModel]]:
    return {name: targets.target_class(name).options
            for name, entry in targets.registered().items() if entry.origin == "built-in"}


def field_names(model: type[BaseModel]) -> list[str]:
    """The keys a user writes: the alias where a field has one (``json`` for ``json_fields``)."""
    return [field.alias or name for name, field in model.model_fields.items()]


def documented(name: str, text: str) -> bool:
    """Named as code: `name`, or the last part of a dotted path such as `snapshot_sleep.wake`."""
    return re.search(rf"`(?:[\w<>-]+\.)*{re.escape(name)}`", text) is not None


def test_the_walk_reaches_every_nested_model_and_target_option():
    models = spec_models()
    for model in (Resources, Scaling, Weight, Example, HttpExample, Server):
        assert model in models, model
    options = builtin_options()
    assert set(options) >= {"modal", "cog", "truss", "runpod"}
    for model in options.values():
        assert model in models, model


@pytest.mark.parametrize("model", spec_models(), ids=lambda m: m.__name__)
def test_every_spec_field_is_in_docs_spec_md(model):
    text = SPEC_PAGE.read_text()
    missing = [name for name in field_names(model) if not documented(name, text)]
    assert not missing, f"{model.__name__} fields not described in docs/spec.md: {missing}"


@pytest.mark.parametrize("target", sorted(builtin_options()))
def test_every_target_has_its_options_section_in_docs_spec_md(target):
    text = SPEC_PAGE.read_text()
    assert f"### targets.{target}" in text
    section = text.split(f"### targets.{target}", 1)[1].split("\n## ", 1)[0].split("\n### ", 1)[0]
    model = builtin_options()[target]
    missing = [name for name in field_names(model) if not documented(name, section)]
    assert not missing, f"targets.{target} options not in its docs/spec.md section: {missing}"


def relative_links(page: Path) -> list[str]:
    links = []
    for target in LINK.findall(page.read_text()):
        if re.match(r"^[a-z]+:", target) or target.startswith("#"):
            continue
        links.append(target.split("#", 1)[0])
    return links


@pytest.mark.parametrize("page", [ROOT / "README.md", *sorted(DOCS.glob("*.md"))],
                         ids=lambda p: p.relative_to(ROOT).as_posix())
def test_relative_links_resolve(page):
    broken = [link for link in relative_links(page) if not (page.parent / link).exists()]
    assert not broken, f"{page.name} links to missing files: {broken}"


def test_the_readme_links_every_docs_page():
    linked = {(ROOT / link).resolve() for link in relative_links(ROOT / "README.md")}
    unlinked = [p.name for p in sorted(DOCS.glob("*.md")) if p.resolve() not in linked]
    assert not unlinked, f"README.md does not link: {unlinked}"


def test_the_readme_test_command_is_make_test():
    # CI runs the README's test command: keep it `make test`, in a code block.
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```[^\n]*\n(.*?)```", readme, flags=re.S)
    assert any(re.search(r"^make test\b", block, flags=re.M) for block in blocks)
