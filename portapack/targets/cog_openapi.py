"""The OpenAPI schema Cog's HTTP server reads from ``.cog/openapi_schema.json``.

``cog build`` writes this file from predict.py; portapack writes the same document from the
predictor's inputs, so the artifact also runs under ``python -m cog.server.http`` without
the cog CLI or Docker, with Cog's own input validation (422) and SSE streaming.
"""

from __future__ import annotations

from typing import Any

from ..signature import InputSpec, PredictorInfo

_JSON = {"str": "string", "int": "integer", "float": "number", "bool": "boolean", "dict": "object"}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _input_property(i: InputSpec, order: int, cog_default: Any) -> tuple[dict[str, Any], dict | None]:
    if i.kind == "list":
        base: dict[str, Any] = {"type": "array", "items": {"type": _JSON[i.item or "str"]}}
    elif i.kind == "dict":
        base = {"type": "string"}  # dict inputs travel as a JSON string on Cog
    else:
        base = {"type": _JSON[i.kind]}
    prop: dict[str, Any] = {"x-order": order}
    enum = None
    if i.choices is not None and len(i.choices) >= 2:
        enum = {"title": i.name, "description": "An enumeration.", "enum": list(i.choices), **base}
        prop["allOf"] = [_ref(i.name)]
    else:
        prop["title"] = i.name.replace("_", " ").title()
        prop.update(base)
        for key, schema_key in (("ge", "minimum"), ("le", "maximum")):
            if key in i.constraints:
                prop[schema_key] = i.constraints[key]
        if i.kind == "str":
            for key, schema_key in (("min_length", "minLength"), ("max_length", "maxLength"),
                                    ("pattern", "pattern")):
                if key in i.constraints:
                    prop[schema_key] = i.constraints[key]
    if cog_default is not None:
        prop["default"] = cog_default
    if i.optional:
        prop["nullable"] = True
    if i.description:
        prop["description"] = i.description
    return prop, enum


def _output_schema(pred: PredictorInfo) -> dict[str, Any]:
    if pred.streaming:
        item = {"type": _JSON[pred.output_kind]} if pred.output_kind in _JSON else {}
        return {"title": "Output", "type": "array", "items": item,
                "x-cog-array-type": "iterator"}
    if pred.output_kind == "list":
        return {"title": "Output", "type": "array",
                "items": {"type": _JSON[pred.output_item]} if pred.output_item else {}}
    if pred.output_kind in _JSON:
        return {"title": "Output", "type": _JSON[pred.output_kind]}
    return {"title": "Output"}


def openapi_schema(pred: PredictorInfo, secrets: list[str], defaults: dict[str, Any]) -> dict[str, Any]:
    """The document Cog's CLI would write for cog_predict.py. ``defaults`` are Cog-side defaults."""
    props: dict[str, Any] = {}
    enums: dict[str, Any] = {}
    required = []
    for order, i in enumerate(pred.inputs):
        prop, enum = _input_property(i, order, defaults.get(i.name))
        props[i.name] = prop
        if enum:
            enums[i.name] = enum
        if i.required:
            required.append(i.name)
    for n, secret in enumerate(secrets, start=len(pred.inputs)):
        props[secret.lower()] = {"x-order": n, "title": secret.lower().replace("_", " ").title(),
                                 "type": "string", "format": "password", "writeOnly": True,
                                 "x-cog-secret": True, "nullable": True,
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
