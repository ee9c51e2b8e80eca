"""OpenAPI post-processing: every operation documents the contract's error answers."""

ERROR_SCHEMA = {
    "type": "object",
    "description": "The error document of every 4xx and 5xx answer.",
    "properties": {
        "detail": {"type": "string"},
        "error_code": {"type": "string", "example": "VALIDATION_ERROR"},
        "status_code": {"type": "integer"},
        "errors": {
            "description": "Field errors of a 400, or the problems of a 422.",
            "oneOf": [
                {"type": "object", "additionalProperties": True},
                {"type": "array", "items": {"type": "object", "additionalProperties": True}},
            ],
        },
    },
    "required": ["detail", "error_code", "status_code"],
}

ERROR_STATUSES = {
    "400": "Invalid input (field errors in `errors`).",
    "401": "Missing or invalid credentials.",
    "403": "Authenticated but not allowed.",
    "404": "Missing, or another user's.",
    "405": "Method not allowed.",
    "409": "The object's state does not allow this.",
    "413": "The request body is too large.",
    "415": "Unsupported media type.",
    "422": "Well-formed but unusable (e.g. executing an invalid graph).",
    "429": "Throttled.",
    "500": "Unexpected error (logged; no details leak).",
    "502": "An upstream service failed.",
    "503": "A service the platform depends on is unavailable.",
    "504": "An upstream service timed out.",
}


def add_error_responses(result: dict, generator, request, public) -> dict:
    """drf-spectacular hook: add the Error component and the error answers to every operation."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    reference = {"$ref": "#/components/schemas/Error"}
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            responses = operation.setdefault("responses", {})
            for status, description in ERROR_STATUSES.items():
                responses.setdefault(status, {
                    "description": description,
                    "content": {"application/json": {"schema": reference}},
                })
    return result
