"""The OpenAPI schema Cog's HTTP server reads from ``.cog/openapi_schema.json``.

``cog build`` regenerates this file from run.py (a static parse); portapack writes the same
document from the predictor's inputs, so the artifact also runs under
``python -m cog.server.http`` without the cog CLI or Docker, with Cog's own input validation
(422) and SSE streaming. The tests compare it with what Cog's own generator writes.
"""

from __future__ import annotations

import math
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

from ...signature import REQUIRED, InputSpec, PredictorInfo

_JSON = {"str": "string", "int": "integer", "float": "number", "bool": "boolean", "dict": "object"}


def cog_bounds(i: InputSpec) -> dict[str, int | float]:
    """Numeric rules as Cog's ``ge``/``le`` (its only ones), so that Cog's server answers 422
    for gt/lt too. An int's strict bound becomes n+1 / n-1 (the same numbers). A float's
    becomes the nearest 15-significant-digit decimal inside it: coglet's JSON parser rounds
    longer numbers (0.9999999999999999 reads as 1.0), so the very next double would not hold;
    only values within ~1e-15 (relative) of the bound are refused that the spec would take."""
    if i.kind not in ("int", "float"):
        return {}
    c = i.constraints
    lower = [c["ge"]] if "ge" in c else []
    upper = [c["le"]] if "le" in c else []
    if "gt" in c:
        lower.append(math.floor(c["gt"]) + 1 if i.kind == "int" else _short_beyond(c["gt"], 1))
    if "lt" in c:
        upper.append(math.ceil(c["lt"]) - 1 if i.kind == "int" else _short_beyond(c["lt"], -1))
    bounds: dict[str, int | float] = {}
    if lower:
        bounds["ge"] = max(lower)
    if upper:
        bounds["le"] = min(upper)
    return bounds


def _short_beyond(bound: float, direction: int) -> float:
    """The float with at most 15 significant digits nearest to ``bound`` strictly beyond it
    (direction +1: above, -1: below). Zero's neighbour is the smallest double, 5e-324."""
    if bound == 0:
        return direction * 5e-324
    exact = Decimal(bound)
    quantum = Decimal(1).scaleb(exact.adjusted() - 14)
    rounding = ROUND_FLOOR if direction > 0 else ROUND_CEILING
    candidate = exact.quantize(quantum, rounding=rounding)
    while (float(candidate) - bound) * direction <= 0:  # the double itself may lie beyond
        candidate += direction * quantum
    value = float(candidate)
    return int(value) if value.is_integer() else value


def _number(value: Any) -> Any:
    """Numbers as Cog's Go generator writes them: a whole float is an integer (2.0 -> 2)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_number(v) for v in value]
    if isinstance(value, dict):
        return {k: _number(v) for k, v in value.items()}
    return value


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _input_property(i: InputSpec, order: int) -> tuple[dict[str, Any], dict | None]:
    if i.kind == "list":
        base: dict[str, Any] = {"type": "array", "items": {"type": _JSON[i.item or "str"]}}
    else:
        base = {"type": _JSON[i.kind]}
    prop: dict[str, Any] = {"x-order": order}
    enum = None
    if i.choices is not None and len(i.choices) >= 2:
        enum = {"title": i.name, "description": "An enumeration.", "enum": _number(list(i.choices)), **base}
        prop["allOf"] = [_ref(i.name)]
    else:
        prop["title"] = i.name.replace("_", " ").title()
        prop.update(base)
        for key, value in cog_bounds(i).items():
            prop["minimum" if key == "ge" else "maximum"] = _number(value)
        if i.kind == "str":
            for key, schema_key in (("min_length", "minLength"), ("max_length", "maxLength"),
                                    ("pattern", "pattern")):
                if key in i.constraints:
                    prop[schema_key] = i.constraints[key]
    if i.default is not REQUIRED:  # Cog writes every Input(default=...), None as null
        prop["default"] = _number(i.default)
    if i.optional:
        prop["nullable"] = True
    if i.description:
        prop["description"] = i.description
    return prop, enum


def _output_schema(pred: PredictorInfo) -> dict[str, Any]:
    if pred.streaming:
        item = {"type": _JSON[pred.output_kind]} if pred.output_kind in _JSON else {}
        out = {"title": "Output", "type": "array", "items": item, "x-cog-array-type": "iterator"}
        if pred.output_kind == "str":  # ConcatenateIterator[str]: shown as one string
            out["x-cog-array-display"] = "concatenate"
        return out
    if pred.output_kind == "list":
        return {"title": "Output", "type": "array",
                "items": {"type": _JSON[pred.output_item]} if pred.output_item else {}}
    if pred.output_kind in _JSON:
        return {"title": "Output", "type": _JSON[pred.output_kind]}
    return {"title": "Output"}


def openapi_schema(pred: PredictorInfo, secrets: list[str]) -> dict[str, Any]:
    """The document Cog's CLI would write for run.py."""
    props: dict[str, Any] = {}
    enums: dict[str, Any] = {}
    required = []
    for order, i in enumerate(pred.inputs):
        prop, enum = _input_property(i, order)
        props[i.name] = prop
        if enum:
            enums[i.name] = enum
        if i.required:
            required.append(i.name)
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
