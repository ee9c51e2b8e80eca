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



# Links: how an id that one answer returns feeds the next call. They are derived from the URL
# layout, so a new route is linked as soon as it follows it: `.../<things>/{id}` and
# `{<thing>_id}` name a thing, whose id is the `id` of the answers that create or read one and the
# `<thing>_id` of other answers; any other path parameter takes the answer field of its name.
HTTP_METHODS = ("get", "put", "patch", "post", "delete")
# Path parameters that take a field of another name, from the answers about their parent.
PARAMETER_FIELDS = {"number": "version"}


def add_links(result: dict, generator, request, public) -> dict:
    """drf-spectacular hook: OpenAPI links from the answers that make or read an object to the
    operations on it, for clients and for Schemathesis' stateful mode."""
    _Linker(result).link()
    return result


class _Linker:
    def __init__(self, result: dict) -> None:
        self.components = result.get("components", {}).get("schemas", {})
        self.operations = [(path, method, operation)
                           for path, item in result.get("paths", {}).items()
                           for method, operation in item.items() if method in HTTP_METHODS]
        # Item prefix (".../agents/{id}") → the schemas of answers that describe one such item.
        self.item_schemas: dict[str, set[str]] = {}
        # Thing ("agent") → its item prefix, for the `{id}` prefixes only.
        self.things: dict[str, str] = {}
        for path, _method, _operation in self.operations:
            for prefix, segment, parameter in _item_prefixes(path):
                self.item_schemas.setdefault(prefix, set())
                if parameter == "id":
                    self.things.setdefault(_thing(segment), prefix)
        for path, method, operation in self.operations:
            answer = _success_schema(operation)
            collection = path.rstrip("/")
            if answer and method == "get" and collection in self.item_schemas:
                self.item_schemas[collection].add(answer[1])
            if answer and method == "post" and answer[0] == "201":
                for prefix, schemas in self.item_schemas.items():
                    if prefix.rsplit("/", 1)[0] == collection:
                        schemas.add(answer[1])

    def properties(self, schema_name: str) -> dict:
        return self.components.get(schema_name, {}).get("properties", {})

    def fields(self, prefix: str, parameter: str) -> dict[str, str]:
        """Schema name → the field of its answers that gives `parameter` of the item at `prefix`."""
        found: dict[str, str] = {}

        def take(schema_names, field: str) -> None:
            for schema_name in schema_names:
                if field in self.properties(schema_name):
                    found.setdefault(schema_name, field)

        own = PARAMETER_FIELDS.get(parameter, parameter)
        take(self.item_schemas.get(prefix, ()), own)
        if parameter == "id":
            segment = prefix.rsplit("/", 2)[-2]
            take(self.components, f"{_thing(segment)}_id")
        elif parameter.endswith("_id") and parameter[:-3] in self.things:
            take(self.item_schemas[self.things[parameter[:-3]]], "id")
            take(self.components, parameter)
        elif not parameter.endswith("_id"):
            # The id of an unknown thing (a batch's `task_id`) comes only from its own answers;
            # anything else (a webhook's `token`) from any answer with a field of its name.
            take(self.components, parameter)
        if parameter in PARAMETER_FIELDS:
            parent = prefix.rsplit("/", 2)[0]
            take(self.item_schemas.get(parent, ()), own)
        return found

    def producers(self):
        """Operations whose answer is a source of links: those that create an object (201), read
        one, or answer with something other than the object they act on (a chat reply, say).
        The rest give back the object they were called on, and linking them would only repeat."""
        for path, method, operation in self.operations:
            answer = _success_schema(operation)
            if not answer or method not in ("get", "post"):
                continue
            prefixes = [prefix for prefix, _segment, _parameter in _item_prefixes(path)]
            acted_on = self.item_schemas[prefixes[-1]] if prefixes else set()
            is_item_read = method == "get" and path.rstrip("/") in self.item_schemas
            if answer[0] == "201" or is_item_read or answer[1] not in acted_on:
                yield operation, answer

    def body_fields(self, operation: dict) -> dict[str, dict[str, str]]:
        """Body field (`workflow_id`) → {schema name: answer field} for the ids a body names."""
        content = operation.get("requestBody", {}).get("content", {})
        reference = content.get("application/json", {}).get("schema", {}).get("$ref", "")
        found = {}
        for field in self.properties(reference.rsplit("/", 1)[-1]):
            if field.endswith("_id") and field[:-3] in self.things:
                found[field] = {schema_name: "id"
                                for schema_name in self.item_schemas[self.things[field[:-3]]]}
        return found

    def link(self) -> None:
        producers = list(self.producers())
        for path, _method, target in self.operations:
            parameters = [p["name"] for p in target.get("parameters", []) if p.get("in") == "path"]
            fields = {parameter: self.fields(_prefix_of(path, parameter), parameter)
                      for parameter in parameters}
            body_fields = self.body_fields(target)
            for operation, (status, schema_name) in producers:
                if operation is target:
                    continue
                link = {"operationId": target["operationId"]}
                link_parameters = {f"path.{parameter}": f"$response.body#/{found[schema_name]}"
                                   for parameter, found in fields.items() if schema_name in found}
                body = {field: f"$response.body#/{found[schema_name]}"
                        for field, found in body_fields.items() if schema_name in found}
                if link_parameters:
                    link["parameters"] = link_parameters
                if body:
                    link["requestBody"] = body
                if len(link) > 1:
                    links = operation["responses"][status].setdefault("links", {})
                    links[target["operationId"]] = link


def _success_schema(operation: dict) -> tuple[str, str] | None:
    """The first 2xx status of an operation and the component its JSON answer refers to."""
    for status, response in operation.get("responses", {}).items():
        if status.startswith("2"):
            schema = response.get("content", {}).get("application/json", {}).get("schema", {})
            if "$ref" in schema:
                return status, schema["$ref"].rsplit("/", 1)[-1]
    return None


def _prefix_of(path: str, parameter: str) -> str:
    """`.../workflows/{id}` of `.../workflows/{id}/versions/{number}/` for `id`."""
    placeholder = "{" + parameter + "}"
    return path.split(placeholder, 1)[0] + placeholder


def _item_prefixes(path: str):
    """(`.../agents/{id}`, `agents`, `id`) for every `<collection>/{parameter}` of a path."""
    parts = path.split("/")
    for index, part in enumerate(parts):
        if part.startswith("{") and index > 0 and not parts[index - 1].startswith("{"):
            yield "/".join(parts[: index + 1]), parts[index - 1], part[1:-1]


def _thing(segment: str) -> str:
    """`data-sources` → `data_source`: the name of one of what a collection holds."""
    name = segment.replace("-", "_")
    return name[:-1] if name.endswith("s") else name
