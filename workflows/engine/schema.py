"""Declarative config fields of node types, and their default validation.

Kinds: `string`, `int`, `float`, `bool`, `dict`, `list`, `enum` (one of `choices`),
`expression` (an expression's source), `template` (a `{path}` template string),
`mapping` (a dict of key -> expression), `template_json` (any JSON value whose strings are
templates, e.g. HTTP headers or a body).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import ExpressionError, Issue
from .expressions import Compiler

KINDS = frozenset({"string", "int", "float", "bool", "dict", "list", "enum", "expression",
                   "template", "mapping", "template_json"})
_MISSING = object()


@dataclass(frozen=True, slots=True)
class Field:
    """One config key of a node type."""

    name: str
    kind: str
    required: bool = False
    default: Any = None
    choices: tuple[Any, ...] = ()
    description: str = ""
    min_value: float | None = None
    max_value: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"Unknown field kind {self.kind!r}; use one of {sorted(KINDS)}.")

    def to_dict(self) -> dict[str, Any]:
        """A JSON description for front ends."""
        out: dict[str, Any] = {"name": self.name, "kind": self.kind, "required": self.required,
                               "default": self.default, "description": self.description}
        if self.choices:
            out["choices"] = list(self.choices)
        if self.min_value is not None:
            out["min"] = self.min_value
        if self.max_value is not None:
            out["max"] = self.max_value
        return out


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _template_strings(value: Any) -> Iterator[str]:
    """Every string inside a JSON value (keys excluded)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _template_strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _template_strings(item)


def check_field(spec: Field, value: Any, compiler: Compiler) -> list[Issue]:
    """Problems of one present value against its field spec (node_id left for the caller)."""
    name, kind = spec.name, spec.kind

    def invalid(message: str) -> list[Issue]:
        return [Issue(None, "INVALID_CONFIG", f"'{name}' {message}")]

    if kind in ("string", "template", "expression") and not isinstance(value, str):
        return invalid(f"must be text, not {type(value).__name__}.")
    if kind == "int" and not _is_int(value):
        return invalid("must be a whole number.")
    if kind == "float" and (not isinstance(value, int | float) or isinstance(value, bool)):
        return invalid("must be a number.")
    if kind in ("int", "float"):
        if spec.min_value is not None and value < spec.min_value:
            return invalid(f"must be at least {spec.min_value}.")
        if spec.max_value is not None and value > spec.max_value:
            return invalid(f"must be at most {spec.max_value}.")
    if kind == "bool" and not isinstance(value, bool):
        return invalid("must be true or false.")
    if kind in ("dict", "mapping") and not isinstance(value, dict):
        return invalid("must be an object.")
    if kind == "list" and not isinstance(value, list):
        return invalid("must be a list.")
    if kind == "enum" and value not in spec.choices:
        return invalid(f"must be one of {', '.join(map(str, spec.choices))}.")
    if kind == "expression":
        try:
            compiler.expression(value)
        except ExpressionError as exc:
            return [Issue(None, "EXPRESSION_SYNTAX", f"'{name}': {exc}")]
    if kind == "template":
        try:
            compiler.template(value)
        except ExpressionError as exc:
            return [Issue(None, "TEMPLATE_SYNTAX", f"'{name}': {exc}")]
    if kind == "template_json":
        for text in _template_strings(value):
            try:
                compiler.template(text)
            except ExpressionError as exc:
                return [Issue(None, "TEMPLATE_SYNTAX", f"'{name}': {exc}")]
    if kind == "mapping":
        issues: list[Issue] = []
        for key, source in value.items():
            if not isinstance(key, str) or not key:
                issues += invalid("keys must be non-empty text.")
            elif not isinstance(source, str):
                issues += invalid(f"value of '{key}' must be an expression (text), e.g. \"1\".")
            else:
                try:
                    compiler.expression(source)
                except ExpressionError as exc:
                    issues.append(Issue(None, "EXPRESSION_SYNTAX", f"'{name}.{key}': {exc}"))
        return issues
    return []


def validate_fields(fields: tuple[Field, ...], config: Mapping[str, Any], compiler: Compiler
                    ) -> list[Issue]:
    """MISSING_CONFIG / INVALID_CONFIG / EXPRESSION_SYNTAX / TEMPLATE_SYNTAX issues."""
    issues: list[Issue] = []
    for spec in fields:
        value = config.get(spec.name, _MISSING)
        if value is _MISSING or value is None or (value == "" and spec.kind != "bool"):
            if spec.required:
                issues.append(Issue(None, "MISSING_CONFIG", f"'{spec.name}' is required."))
            continue
        issues += check_field(spec, value, compiler)
    return issues


def field_references(fields: tuple[Field, ...], config: Mapping[str, Any], compiler: Compiler
                     ) -> set[str]:
    """First path segments read by the config's expressions and templates (invalid ones skipped)."""
    names: set[str] = set()
    for spec in fields:
        value = config.get(spec.name)
        if value is None:
            continue
        sources: list[tuple[str, str]] = []
        if spec.kind == "expression" and isinstance(value, str):
            sources.append(("e", value))
        elif spec.kind == "template" and isinstance(value, str):
            sources.append(("t", value))
        elif spec.kind == "mapping" and isinstance(value, dict):
            sources += [("e", v) for v in value.values() if isinstance(v, str)]
        elif spec.kind == "template_json":
            sources += [("t", v) for v in _template_strings(value)]
        for how, source in sources:
            try:
                compiled = compiler.expression(source) if how == "e" else compiler.template(source)
            except ExpressionError:
                continue
            names |= compiled.references
    return names
