"""Model fields for values that come from outside the platform during a run.

Remote servers, models, files and databases can answer with what PostgreSQL cannot store: NUL
characters (U+0000), in neither `text` nor `jsonb`, and, in JSON, the numbers NaN and ±Infinity
(Python's `json` reads them; `jsonb` and SQLite's JSON check refuse them). These fields store
U+FFFD, the replacement character, for a NUL and null for such a number, on every database, so
that a run or a chat records what it was told instead of failing at the save, and both
deployments keep the same data. Input from API clients is refused earlier instead
(`platform_site.api.parsers`): there, the sender can be told.
"""

import json
import re

from django.db import models

from workflows.engine.values import finite_only

REPLACEMENT = "\N{REPLACEMENT CHARACTER}"

# A `\u0000` escape in encoded JSON, not preceded by an odd number of backslashes (those would
# make it the text "\u0000" rather than a NUL).
_ESCAPED_NUL = re.compile(r"(?<!\\)((?:\\\\)*)\\u0000")


def without_nul(text: str) -> str:
    return text.replace("\x00", REPLACEMENT) if "\x00" in text else text


class StorableJSONEncoder(json.JSONEncoder):
    """The standard encoder, writing U+FFFD for every NUL and null for NaN and ±Infinity."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**{**kwargs, "allow_nan": False})

    def encode(self, o) -> str:
        try:
            encoded = super().encode(o)
        except ValueError:  # a float JSON has no number for
            encoded = super().encode(finite_only(o))
        if "\\u0000" not in encoded:
            return encoded
        return _ESCAPED_NUL.sub(lambda match: match.group(1) + "\\ufffd", encoded)


class NulFreeTextField(models.TextField):
    """A text field that stores every NUL as U+FFFD."""

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return without_nul(value) if isinstance(value, str) else value
