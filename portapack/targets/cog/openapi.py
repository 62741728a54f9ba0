"""The OpenAPI schema Cog's HTTP server reads from ``.cog/openapi_schema.json``.

``cog build`` regenerates this file from run.py (a static parse); portapack writes the same
document from the predictor's ``Inputs`` model (its JSON Schema, in Cog's shape), so the
artifact also runs under ``python -m cog.server.http`` without the cog CLI or Docker, with
Cog's own input validation (422) and SSE streaming. The tests compare it with what Cog's own generator writes.
"""

from __future__ import annotations

import math
from typing import Any

from portapack.spec.signature import PredictorInfo

_JSON = {"str": "string", "int": "integer", "float": "number", "bool": "boolean", "dict": "object"}
# A string rule: the key in pydantic's JSON Schema -> Cog's Input(...) keyword.
_STRING_RULES = {"minLength": "min_length", "maxLength": "max_length", "pattern": "regex"}
# Cog's Input(...) keyword -> the key Cog's schema generator writes for it.
_OPENAPI_KEYS = {"ge": "minimum", "le": "maximum", "min_length": "minLength",
                 "max_length": "maxLength", "regex": "pattern"}


def value_schema(prop: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """An input's JSON Schema without its ``| None``: ``(schema of a value, nullable)``."""
    branches = prop.get("anyOf")
    if not branches:
        return prop, False
    (value,) = [b for b in branches if b.get("type") != "null"]  # the reader allows T | None only
    return value, True


def cog_rules(pred: PredictorInfo) -> dict[str, dict[str, Any]]:
    """Each input's rules as Cog's ``Input(...)`` keywords (choices; ge/le on numbers;
    min_length/max_length/regex on strings), derived from the ``Inputs`` model's JSON Schema.

    Cog takes choices only with 2 or more values and not beside other rules; list lengths and
    object shapes are none of Cog's: run.py's Inputs model enforces those."""
    props = pred.inputs_schema()["properties"]
    return {name: _rules(value_schema(prop)[0]) for name, prop in props.items()}


def _rules(value: dict[str, Any]) -> dict[str, Any]:
    if "enum" in value or "const" in value:
        choices = value.get("enum", [])
        return {"choices": choices} if len(choices) >= 2 else {}
    if value.get("type") in ("integer", "number"):
        return cog_bounds(value)
    if value.get("type") == "string":
        return {cog: value[key] for key, cog in _STRING_RULES.items() if key in value}
    return {}


def cog_bounds(value: dict[str, Any]) -> dict[str, int | float]:
    """A number's JSON Schema bounds as Cog's ``ge``/``le`` (its only ones). An integer's
    strict bound becomes n+1 / n-1 (the same numbers). A float's strict bound stays that
    number: Cog cannot say "greater than", and any float just beyond it (5e-324 for gt=0) would
    show in Replicate's UI as a meaningless minimum. The bound itself then passes Cog's check,
    and run.py's Inputs model (which every target ships) refuses it, naming the input."""
    integer = value.get("type") == "integer"
    lower = [value["minimum"]] if "minimum" in value else []
    upper = [value["maximum"]] if "maximum" in value else []
    if "exclusiveMinimum" in value:
        gt = value["exclusiveMinimum"]
        lower.append(math.floor(gt) + 1 if integer else gt)
    if "exclusiveMaximum" in value:
        lt = value["exclusiveMaximum"]
        upper.append(math.ceil(lt) - 1 if integer else lt)
    bounds: dict[str, int | float] = {}
    if lower:
        bounds["ge"] = max(lower)
    if upper:
        bounds["le"] = min(upper)
    return bounds


def strict_float_bounds(pred: PredictorInfo) -> dict[str, list[str]]:
    """Each float input's strict bounds, e.g. ``{"ratio": ["gt=0", "lt=1"]}``: Cog shows
    them as ge/le (see :func:`cog_bounds`), run.py says so beside the input."""
    found = {}
    for name, prop in pred.inputs_schema()["properties"].items():
        value = value_schema(prop)[0]
        if value.get("type") == "number":
            strict = [f"{op}={_number(value[key])}" for key, op in
                      (("exclusiveMinimum", "gt"), ("exclusiveMaximum", "lt")) if key in value]
            if strict:
                found[name] = strict
    return found


def _number(value: Any) -> Any:
    """Numbers as Cog's Go generator writes them: a whole float is an integer (2.0 -> 2),
    except from 1e21 on, where Go's encoding/json writes an exponent (floatEncoder: 'e' format
    for abs >= 1e21), so 1e300 stays the float 1e+300."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return int(value)
    if isinstance(value, list):
        return [_number(v) for v in value]
    if isinstance(value, dict):
        return {k: _number(v) for k, v in value.items()}
    return value


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _input_property(name: str, prop: dict[str, Any], rules: dict[str, Any],
                    order: int) -> tuple[dict[str, Any], dict | None]:
    """One input as Cog's generator writes it: its key order, its title, choices as an enum
    component, Input(...)'s rules as OpenAPI keys, then default, nullable and description."""
    value, nullable = value_schema(prop)
    base: dict[str, Any] = {"type": value["type"]}
    if "uri" in (value.get("format"), prop.get("format")):  # a file input (cog.Path)
        base["format"] = "uri"
    if value["type"] == "array":
        base["items"] = {"type": value["items"]["type"]}
    out: dict[str, Any] = {"x-order": order}
    enum = None
    if "choices" in rules:
        enum = {"title": name, "description": "An enumeration.",
                "enum": _number(rules["choices"]), **base}
        out["allOf"] = [_ref(name)]
    else:
        out["title"] = name.replace("_", " ").title()  # Cog's title (not pydantic's)
        out.update(base)
        out.update({_OPENAPI_KEYS[key]: _number(v) for key, v in rules.items()})
    if "default" in prop:  # Cog writes every Input(default=...), None as null
        out["default"] = _number(prop["default"])
    if nullable:
        out["nullable"] = True
    if prop.get("description"):
        out["description"] = prop["description"]
    return out, enum


def _output_schema(pred: PredictorInfo) -> dict[str, Any]:
    if pred.streaming:
        item = {"type": _JSON[pred.output_kind]} if pred.output_kind in _JSON else {}
        out = {"title": "Output", "type": "array", "items": item, "x-cog-array-type": "iterator"}
        if pred.output_kind == "str":  # ConcatenateIterator[str]: shown as one string
            out["x-cog-array-display"] = "concatenate"
        return out
    if pred.output_kind == "path":  # cog.Path: a URL (a data: URI when run locally)
        return {"title": "Output", "type": "string", "format": "uri"}
    if pred.output_kind == "list":
        items = ({"type": "string", "format": "uri"} if pred.output_item == "path"
                 else {"type": _JSON[pred.output_item]} if pred.output_item else {})
        return {"title": "Output", "type": "array", "items": items}
    if pred.output_kind in _JSON:
        return {"title": "Output", "type": _JSON[pred.output_kind]}
    return {"title": "Output"}


def openapi_schema(pred: PredictorInfo, secrets: list[str]) -> dict[str, Any]:
    """The document Cog's CLI would write for run.py."""
    schema = pred.inputs_schema()
    rules = cog_rules(pred)
    props: dict[str, Any] = {}
    enums: dict[str, Any] = {}
    for order, (name, prop) in enumerate(schema["properties"].items()):
        props[name], enum = _input_property(name, prop, rules[name], order)
        if enum:
            enums[name] = enum
    required = schema.get("required", [])
    for n, secret in enumerate(secrets, start=len(pred.inputs)):
        props[secret.lower()] = {"x-order": n, "title": secret.lower().replace("_", " ").title(),
                                 "type": "string", "format": "password", "writeOnly": True,
                                 "x-cog-secret": True, "nullable": True, "default": None,
                                 "description": f"Secret {secret}, exported to the environment"}
    inputs: dict[str, Any] = {"title": "Input", "type": "object", "properties": props}
    if required:
        inputs["required"] = required
    ok = {"description": "Successful Response", "content": {"application/json": {"schema": {}}}}
    invalid = {"description": "Validation Error",
               "content": {"application/json": {"schema": _ref("HTTPValidationError")}}}
    date = {"type": "string", "format": "date-time"}
    predict_op: dict[str, Any] = {
        "summary": "Predict", "description": "Run a single prediction on the model",
        "operationId": "predict_predictions_post",
        "requestBody": {"content": {"application/json": {"schema": _ref("PredictionRequest")}}},
        "responses": {"200": {"description": "Successful Response", "content": {
            "application/json": {"schema": _ref("PredictionResponse")}}}, "422": invalid},
    }
    if pred.streaming:
        predict_op["x-cog-streaming"] = True
    schemas = {
        "Input": inputs,
        "Output": _output_schema(pred),
        **enums,
        "PredictionRequest": {"title": "PredictionRequest", "type": "object", "properties": {
            "id": {"title": "Id", "type": "string"}, "input": _ref("Input")}},
        "PredictionResponse": {"title": "PredictionResponse", "type": "object", "properties": {
            "input": _ref("Input"), "output": _ref("Output"),
            "id": {"title": "Id", "type": "string"},
            "version": {"title": "Version", "type": "string"},
            "created_at": {"title": "Created At", **date},
            "started_at": {"title": "Started At", **date},
            "completed_at": {"title": "Completed At", **date},
            "status": {"title": "Status", "type": "string"},
            "error": {"title": "Error", "type": "string"},
            "logs": {"title": "Logs", "type": "string"},
            "metrics": {"title": "Metrics", "type": "object"}}},
        "Status": {"title": "Status", "description": "An enumeration.", "type": "string",
                   "enum": ["starting", "processing", "succeeded", "canceled", "failed"]},
        "HTTPValidationError": {"title": "HTTPValidationError", "type": "object", "properties": {
            "detail": {"title": "Detail", "type": "array", "items": _ref("ValidationError")}}},
        "ValidationError": {"title": "ValidationError", "required": ["loc", "msg", "type"],
                            "type": "object", "properties": {
                                "loc": {"title": "Location", "type": "array", "items": {
                                    "anyOf": [{"type": "string"}, {"type": "integer"}]}},
                                "msg": {"title": "Message", "type": "string"},
                                "type": {"title": "Error Type", "type": "string"}}},
    }
    paths = {
        "/": {"get": {"summary": "Root", "operationId": "root__get", "responses": {"200": ok}}},
        "/health-check": {"get": {"summary": "Healthcheck",
                                  "operationId": "healthcheck_health_check_get",
                                  "responses": {"200": ok}}},
        "/predictions": {"post": predict_op},
        "/predictions/{prediction_id}/cancel": {"post": {
            "summary": "Cancel", "operationId": "cancel_predictions__prediction_id__cancel_post",
            "parameters": [{"required": True, "schema": {"title": "Prediction Id", "type": "string"},
                            "name": "prediction_id", "in": "path"}],
            "responses": {"200": ok, "422": invalid}}},
    }
    return {"openapi": "3.0.2", "info": {"title": "Cog", "version": "0.1.0"}, "paths": paths,
            "components": {"schemas": schemas}}
