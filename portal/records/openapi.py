"""The OpenAPI 3.1 document of the register API, generated from the extract models.

The ``http`` record source validates answers with the same models, so the document,
the demo API and the client cannot drift apart. A copy is committed as
``docs/register-api.openapi.json`` (regenerate it with ``flask demo openapi``).
"""

from __future__ import annotations

from typing import Any

from pydantic.json_schema import models_json_schema

from portal.records.schema import PERSON_KEY_PATTERN, REGISTERS, ErrorDocument, ExtractDocument

API_PREFIX = "/demo-registers/v1"
SCHEMA_REF = "#/components/schemas/{model}"


def _error_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            "application/json": {"schema": {"$ref": SCHEMA_REF.format(model="ErrorDocument")}}
        },
    }


def openapi_document() -> dict[str, Any]:
    """Describe the register API: one read of a person's registers, and this document."""
    _, definitions = models_json_schema(
        [(ExtractDocument, "validation"), (ErrorDocument, "validation")],
        ref_template=SCHEMA_REF,
    )
    unauthorized = _error_response("No bearer token, or not the right one.")
    unauthorized["headers"] = {
        "WWW-Authenticate": {"description": "Bearer", "schema": {"type": "string"}}
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Madoguchi register API",
            "version": "1",
            "description": (
                "Reads what a city's registers hold about a person, for the once-only "
                "pre-filling of Madoguchi's forms. The portal serves it for its demo "
                "registers; a city's register gateway serves it for the real ones and the "
                "portal's `http` record source reads it. Only the registers the resident "
                "agreed to are asked for, all in one request."
            ),
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        "servers": [{"url": API_PREFIX}],
        "paths": {
            "/persons/{person_key}": {
                "get": {
                    "operationId": "getPersonExtract",
                    "summary": "Read a person's records from the registers named",
                    "description": (
                        "Answers with the records of the person and of the related persons "
                        "(household members, deceased relatives, persons they hold a power of "
                        "attorney for). A register with no record about any of them is listed "
                        "in `missing_sources`."
                    ),
                    "security": [{"bearerAuth": []}],
                    "parameters": [
                        {
                            "name": "person_key",
                            "in": "path",
                            "required": True,
                            "description": "The person's key in the registers.",
                            "schema": {"type": "string", "pattern": PERSON_KEY_PATTERN},
                        },
                        {
                            "name": "sources",
                            "in": "query",
                            "required": True,
                            "description": "The registers to read, separated by commas.",
                            "style": "form",
                            "explode": False,
                            "schema": {
                                "type": "array",
                                "items": {"type": "string", "enum": list(REGISTERS)},
                                "minItems": 1,
                                "uniqueItems": True,
                            },
                        },
                    ],
                    "responses": {
                        "200": {
                            "description": "The extract.",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": SCHEMA_REF.format(model="ExtractDocument")}
                                }
                            },
                        },
                        "400": _error_response("`sources` missing or naming an unknown register."),
                        "401": unauthorized,
                        "404": _error_response("The registers know no such person."),
                    },
                }
            },
            "/openapi.json": {
                "get": {
                    "operationId": "getOpenApiDocument",
                    "summary": "This document",
                    "security": [],
                    "responses": {
                        "200": {
                            "description": "The OpenAPI document of this API.",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        }
                    },
                }
            },
        },
        "components": {
            "schemas": definitions["$defs"],
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
        },
    }
