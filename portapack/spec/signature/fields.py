"""The ``Inputs`` model's fields as template data: the one description of each input that the
shared template (``templates/_shared/inputs.py.j2``) writes into every artifact and that
:mod:`.model` executes in-process."""

from __future__ import annotations

from typing import Any

from portapack.spec.signature.contract import InputSpec, PredictorInfo


def pydantic_fields(pred: PredictorInfo) -> list[dict[str, Any]]:
    """Each input as data for a pydantic field (templates/_shared/inputs.py.j2 writes it):
    its type (kind, item, choices, optional), its default unless required, and ``rules``,
    the keywords of its ``Field(...)``."""
    return [{"name": i.name, "kind": i.kind, "item": i.item, "choices": i.choices,
             "optional": i.optional, "required": i.required,
             "default": None if i.required else i.default, "rules": _field_rules(i)}
            for i in pred.inputs]


def annotation(i: InputSpec) -> str:
    """The input's annotation in the generated Inputs model (for messages), from the same
    macro the template uses."""
    from portapack.building.render import environment

    field = pydantic_fields(PredictorInfo("", "", (i,), False, None))[0]
    return str(environment().get_template("_shared/py.j2").module.annotation(field))


def _field_rules(i: InputSpec) -> dict[str, Any]:
    rules: dict[str, Any] = dict(i.constraints)
    if i.description:
        rules["description"] = i.description
    if i.kind == "path":  # JSON Schema's way to say "a URL"; the hint as contentMediaType
        rules["json_schema_extra"] = {"format": "uri"} | ({"contentMediaType": i.accept} if i.accept else {})
    return rules
