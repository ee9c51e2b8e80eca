"""Request body parsers, and reading JSON from files and bodies the way they do."""

import json

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser as DRFJSONParser

NUL = "\x00"


class JSONParser(DRFJSONParser):
    """DRF's JSON parser, refusing the NUL character (`\\u0000`) anywhere in the document.

    PostgreSQL stores neither text nor `jsonb` with a NUL in it ("unsupported Unicode escape
    sequence"), so a body carrying one would fail at the database, deep in a save, instead of
    being refused up front with a reason. SQLite would take it: refusing it in both deployments
    keeps them alike.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        if holds_nul(data):
            raise ParseError("JSON strings may not contain the NUL character (\\u0000).")
        return data


def holds_nul(data) -> bool:
    """Whether a parsed document has a NUL character in any string or key."""
    pending = [data]
    while pending:
        value = pending.pop()
        if isinstance(value, str):
            if NUL in value:
                return True
        elif isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    return False


def refuse_constant(token: str):
    """For `json.loads(parse_constant=...)`: NaN and ±Infinity are not JSON numbers."""
    raise ValueError(f"{token} is not a JSON number")


def loads_storable(text: str | bytes):
    """Parse JSON as the API does: no NaN or ±Infinity, no NUL; ValueError says what is wrong."""
    data = json.loads(text, parse_constant=refuse_constant)
    if holds_nul(data):
        raise ValueError("a string holds the NUL character (\\u0000)")
    return data
