"""The safe expression language and `{path}` templates of workflow nodes.

Nothing here calls `eval`, `exec`, `compile` or `ast`: a hand-written tokenizer and Pratt parser
build a small tree that is compiled once into nested closures. Values are only ever read by
indexing dicts and lists; there is no attribute access at all, so `a.b` means `a["b"]` and `a.0`
means `a[0]`.

Names
-----
The first segment of a path is resolved, in this order, as: `input` (the execution's input),
a loop variable (inside a loop body, innermost loop first: the loop's `item_variable`, default
`item`, and `index`, the item's position), the id of a node that has
completed (its output), a key of the data flowing into the node. Then `.key` / `.0` / `[expr]`
step into dicts and lists. A path that names nothing raises `MissingValueError` (an
`ExpressionError`) quoting the path, e.g. `'{input.text}' is missing: input has no key 'text'`.

Node ids often contain hyphens (`llm-1`). In expressions write them braced, `{llm-1.text}`
(always works), or bare, `llm-1.text`, which is recognised when the expression is compiled
for a graph that has a node `llm-1`; otherwise `a-1` is a subtraction. Segments written in
source (names, `.key`) and string subscripts may not start with `_`.

Expression grammar (lowest to highest precedence)
-------------------------------------------------
`a if c else b`; `or`; `and`; `not`; comparisons `== != < <= > >= in not in` (chainable:
`0 < x < 10`); `+ -`; `* / // %`; unary `- +`; `**` (right-assoc); postfix `x[i]`, `x.key`,
`f(args)`. Literals: integers, floats (`1.5`, `1e3`), strings in single or double quotes with
escapes (`\\n \\t \\r \\0 \\\\ \\' \\" \\xHH \\uHHHH \\UHHHHHHHH`), `true false null` (also
`True False None`), lists `[1, 2]`, dicts `{"k": v}`; `{path}` is a braced reference.
`+` adds numbers or concatenates two strings or two lists; `*` multiplies numbers or repeats a
string or list; `%` is only the numeric remainder (no string formatting). There are no lambdas,
comprehensions, f-strings, assignments, imports or method calls.

Functions (the only callables; anything else is refused when compiled)
----------------------------------------------------------------------
| function | result |
| --- | --- |
| `len(x)` | length of a string, list or dict |
| `str(x)` | text of x: strings as they are, anything else as JSON |
| `int(x)`, `float(x)`, `bool(x)` | conversions (from numbers, booleans or numeric text) |
| `round(x, n=0)`, `abs(x)` | rounding (`abs(n) <= 100`) and absolute value |
| `min(...)`, `max(...)`, `sum(list)` | of a list, or of several arguments (min/max) |
| `lower(s)`, `upper(s)`, `strip(s, chars=None)` | string case and trimming |
| `contains(c, x)` | `x in c` |
| `startswith(s, p)`, `endswith(s, p)` | prefix / suffix test |
| `replace(s, old, new)` | every `old` replaced by `new` |
| `split(s, sep=None)` | list of parts (whitespace when no `sep`) |
| `join(list, sep="")` | the items' text joined by `sep` |
| `keys(d)`, `values(d)` | a dict's keys / values as a list |
| `get(c, key, default=null)` | `c[key]` of a dict or list, or `default` when absent |
| `default(x, fallback)` | `x`, or `fallback` when x's path is missing or x is null |
| `json(x)` | x as JSON text |
| `parse_json(s)` | the value of JSON text |
| `now()` | the current UTC time, ISO 8601 |

Bounds (each raises `ExpressionError` saying what to change)
------------------------------------------------------------
Source at most `MAX_SOURCE` characters and `MAX_NODES` tree nodes; nesting at most
`MAX_DEPTH` levels; integers at most `MAX_INT_BITS` bits (checked before computing `**` and
`*`); one string or list built by `+`, `*`, `replace`, `join`... at most `MAX_SIZE`
chars/items; text made by `str`, `json` and templates at most `MAX_TEXT` chars. Every
evaluation has a budget of `MAX_STEPS` work units (calls, items walked, chars and items built):
with no loops or recursion in the language, each tree node runs at most once per evaluation,
so the node cap and this budget bound the time of any evaluation.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from .errors import ExpressionError, MissingValueError

MAX_SOURCE = 10_000
MAX_DEPTH = 50
MAX_NODES = 5_000
MAX_INT_BITS = 4096
MAX_SIZE = 1_000_000
MAX_TEXT = 10_000_000
MAX_STEPS = 2_000_000

_INT_LIMIT = 1 << MAX_INT_BITS
_MISSING: Any = type("_Missing", (), {"__repr__": lambda self: "<missing>"})()
_EMPTY: Mapping[str, Any] = {}

Evaluator = Callable[["Scope", list], Any]


# --------------------------------------------------------------------------------------------
# Scope
# --------------------------------------------------------------------------------------------
class Scope:
    """The names one node can read; built per node cheaply (a chain of views, no copies)."""

    __slots__ = ("data", "input", "outputs", "parent", "variables")

    def __init__(
        self,
        input: Any = _MISSING,
        data: Mapping[str, Any] | None = None,
        outputs: Mapping[str, Any] | None = None,
        variables: Mapping[str, Any] | None = None,
        parent: Scope | None = None,
    ) -> None:
        self.input = input
        self.data = data if data is not None else _EMPTY
        self.outputs = outputs
        self.variables = variables
        self.parent = parent

    @classmethod
    def of(cls, values: Mapping[str, Any] | Scope | None) -> Scope:
        """A scope from a plain mapping (its `input` key is the input); scopes pass through."""
        if isinstance(values, Scope):
            return values
        values = values or _EMPTY
        return cls(input=values.get("input", _MISSING), data=values)

    def lookup(self, name: str) -> Any:
        """The value of a first path segment; raises KeyError when nothing has that name."""
        if name == "input" and self.input is not _MISSING:
            return self.input
        scope: Scope | None = self
        while scope is not None:
            variables = scope.variables
            if variables and name in variables:
                return variables[name]
            scope = scope.parent
        scope = self
        while scope is not None:
            outputs = scope.outputs
            if outputs:
                value = outputs.get(name, _MISSING)
                if value is not _MISSING:
                    return value
            scope = scope.parent
        value = self.data.get(name, _MISSING)
        if value is _MISSING:
            raise KeyError(name)
        return value


# --------------------------------------------------------------------------------------------
# Value helpers
# --------------------------------------------------------------------------------------------
_NUMBERS = frozenset({int, float, bool})
_SEQUENCES = frozenset({list, tuple})


def type_name(value: Any) -> str:
    """The JSON-ish name of a value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "list"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__


def _charge(budget: list, cost: int) -> None:
    budget[0] -= cost
    if budget[0] < 0:
        raise ExpressionError(
            f"The expression does too much work (more than {MAX_STEPS:,} steps); "
            "simplify it or do the work in several nodes."
        )


def _measure(value: Any, budget: list, chars: bool, limit: int) -> int:
    """Deep size of a value (items, or JSON chars when `chars`), shared parts counted each time.

    Shared sub-lists are measured once (memo by id), so measuring `[[1]*1000]*1000` walks about
    2,000 items, not a million; the walk itself is charged to the budget.
    """
    memo: dict[int, int] = {}

    def walk(item: Any) -> int:
        kind = type(item)
        if kind is str:
            return len(item) + 2 if chars else 1
        if kind is int:
            return item.bit_length() // 3 + 2 if chars else 1
        if kind in _SEQUENCES or isinstance(item, Mapping):
            key = id(item)
            known = memo.get(key)
            if known is not None:
                return known
            memo[key] = limit + 1  # a cycle measures as too big
            parts = item.items() if isinstance(item, Mapping) else ((None, x) for x in item)
            total = len(item) + 2 if chars else 1
            _charge(budget, len(item) + 1)
            for k, x in parts:
                if k is not None:
                    total += walk(k)
                total += walk(x)
                if total > limit:
                    break
            memo[key] = total
            return total
        return 8 if chars else 1

    try:
        return walk(value)
    except RecursionError:
        raise ExpressionError("The value is nested too deeply to measure.") from None


def to_text(value: Any, budget: list | None = None) -> str:
    """Text of a value: a string as it is, anything else as JSON (bounded by MAX_TEXT)."""
    if type(value) is str:
        return value
    return _dumps(value, budget if budget is not None else [MAX_STEPS])


def _dumps(value: Any, budget: list) -> str:
    nested = type(value) in _SEQUENCES or isinstance(value, Mapping)
    if nested and _measure(value, budget, True, MAX_TEXT) > MAX_TEXT:
        raise ExpressionError(
            f"The value is too large to write as text (more than {MAX_TEXT:,} characters)."
        )
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (ValueError, TypeError, RecursionError) as exc:
        raise ExpressionError(f"The value cannot be written as JSON: {exc}") from None


def _check_int(value: Any) -> Any:
    if type(value) is int and not -_INT_LIMIT < value < _INT_LIMIT:
        raise ExpressionError(f"Integer too large (more than {MAX_INT_BITS} bits).")
    return value


def _check_size(length: int, what: str) -> None:
    if length > MAX_SIZE:
        raise ExpressionError(
            f"The {what} would have {length:,} items, more than the limit of {MAX_SIZE:,}."
        )


def _number(value: Any, op: str) -> Any:
    if type(value) in _NUMBERS:
        return value
    raise ExpressionError(f"'{op}' needs numbers, not {type_name(value)}.")


def _both_numbers(x: Any, y: Any, op: str) -> None:
    if type(x) not in _NUMBERS or type(y) not in _NUMBERS:
        raise ExpressionError(f"Cannot apply '{op}' to {type_name(x)} and {type_name(y)}.")


# -- operators: (x, y, budget) -> value ------------------------------------------------------
def _add(x: Any, y: Any, budget: list) -> Any:
    tx, ty = type(x), type(y)
    if tx in _NUMBERS and ty in _NUMBERS:
        result = x + y
        if type(result) is int and not -_INT_LIMIT < result < _INT_LIMIT:
            raise ExpressionError(f"Integer too large (more than {MAX_INT_BITS} bits).")
        return result
    if tx is str and ty is str:
        _check_size(len(x) + len(y), "string")
        _charge(budget, len(x) + len(y))
        return x + y
    if tx in _SEQUENCES and ty in _SEQUENCES:
        _check_size(len(x) + len(y), "list")
        _charge(budget, len(x) + len(y))
        return [*x, *y]
    raise ExpressionError(f"Cannot add {type_name(x)} and {type_name(y)}.")


def _sub(x: Any, y: Any, budget: list) -> Any:
    _both_numbers(x, y, "-")
    return _check_int(x - y)


def _mul(x: Any, y: Any, budget: list) -> Any:
    tx, ty = type(x), type(y)
    if tx in _NUMBERS and ty in _NUMBERS:
        if tx is int and ty is int and x.bit_length() + y.bit_length() > MAX_INT_BITS + 1:
            raise ExpressionError(f"Integer too large (more than {MAX_INT_BITS} bits).")
        try:
            return x * y
        except OverflowError:
            raise ExpressionError("Number too large.") from None
    if ty is str or ty in _SEQUENCES:
        x, y, tx, ty = y, x, ty, tx
    if (tx is str or tx in _SEQUENCES) and ty in (int, bool):
        count = max(int(y), 0)
        if tx is str:
            _check_size(len(x) * count, "string")
            _charge(budget, len(x) * count)
            return x * count
        # The deep size counts too: repeating a list of lists multiplies what it holds.
        weight = _measure(x, budget, False, MAX_SIZE + 1) - 1 if x else 0
        _check_size(weight * count if count else 0, "list")
        _charge(budget, weight * count)
        return list(x) * count
    raise ExpressionError(f"Cannot multiply {type_name(x)} and {type_name(y)}.")


def _div(x: Any, y: Any, budget: list) -> Any:
    _both_numbers(x, y, "/")
    if y == 0:
        raise ExpressionError("Division by zero.")
    try:
        return x / y
    except OverflowError:
        raise ExpressionError("Number too large.") from None


def _floordiv(x: Any, y: Any, budget: list) -> Any:
    _both_numbers(x, y, "//")
    if y == 0:
        raise ExpressionError("Division by zero.")
    try:
        return x // y
    except OverflowError:
        raise ExpressionError("Number too large.") from None


def _mod(x: Any, y: Any, budget: list) -> Any:
    _both_numbers(x, y, "%")
    if y == 0:
        raise ExpressionError("Modulo by zero.")
    return x % y


def _pow(x: Any, y: Any, budget: list) -> Any:
    _both_numbers(x, y, "**")
    if type(x) is not float and type(y) is not float and y >= 0:
        x, y = int(x), int(y)
        # |x| >= 2**(bits-1), so the power has at least y*(bits-1)+1 bits: refuse before
        # computing; what passes is at most twice the limit and is checked after.
        if x not in (0, 1, -1) and y * (x.bit_length() - 1) + 1 > MAX_INT_BITS:
            raise ExpressionError(
                f"Integer too large: the power would have more than {MAX_INT_BITS} bits."
            )
        return _check_int(x**y)
    if x == 0 and y < 0:
        raise ExpressionError("Zero cannot be raised to a negative power.")
    try:
        result = float(x) ** float(y)
    except OverflowError:
        raise ExpressionError("Number too large.") from None
    if type(result) is complex:
        raise ExpressionError("The power has no real value.")
    return result


_ARITH = {"+": _add, "-": _sub, "*": _mul, "/": _div, "//": _floordiv, "%": _mod}


def _ordered(name: str, test: Callable[[Any, Any], bool]) -> Callable[[Any, Any, list], bool]:
    def compare(x: Any, y: Any, budget: list) -> bool:
        try:
            return test(x, y)
        except TypeError:
            raise ExpressionError(
                f"Cannot compare {type_name(x)} and {type_name(y)} with '{name}'."
            ) from None

    return compare


def _contains(x: Any, y: Any, budget: list) -> bool:
    if type(y) is str or isinstance(y, str):
        if not isinstance(x, str):
            raise ExpressionError(f"'in' a string needs a string, not {type_name(x)}.")
        return x in y
    if type(y) in _SEQUENCES:
        _charge(budget, len(y))
        return x in y
    if isinstance(y, Mapping):
        try:
            return x in y
        except TypeError:
            return False
    raise ExpressionError(f"'in' needs a string, list or object, not {type_name(y)}.")


_COMPARE = {
    "==": lambda x, y, b: x == y,
    "!=": lambda x, y, b: x != y,
    "<": _ordered("<", lambda x, y: x < y),
    "<=": _ordered("<=", lambda x, y: x <= y),
    ">": _ordered(">", lambda x, y: x > y),
    ">=": _ordered(">=", lambda x, y: x >= y),
    "in": _contains,
    "not in": lambda x, y, b: not _contains(x, y, b),
}


# -- path steps ------------------------------------------------------------------------------
def _step(value: Any, key: str, index: int | None, where: str, path: str) -> Any:
    """`value.key` of a path (dict key, or list index when the segment is digits)."""
    if isinstance(value, Mapping):
        found = value.get(key, _MISSING)
        if found is _MISSING:
            raise MissingValueError(f"'{{{path}}}' is missing: {where} has no key '{key}'.")
        return found
    if type(value) in _SEQUENCES:
        if index is None:
            raise MissingValueError(
                f"'{{{path}}}' is missing: {where} is a list, so '{key}' must be a number."
            )
        if index >= len(value):
            raise MissingValueError(
                f"'{{{path}}}' is missing: {where} has {len(value)} items, no index {index}."
            )
        return value[index]
    raise MissingValueError(
        f"'{{{path}}}' is missing: {where} is {type_name(value)}, not an object or list."
    )


def _subscript(value: Any, key: Any, where: str) -> Any:
    """`value[key]` with the language's rules (dict key, list/string index)."""
    if isinstance(value, Mapping):
        if isinstance(key, str) and key.startswith("_"):
            raise ExpressionError(f"Keys starting with '_' cannot be read ({key!r}).")
        try:
            return value[key]
        except KeyError:
            raise MissingValueError(f"'{where}' is missing: no key {key!r}.") from None
        except TypeError:
            raise ExpressionError(f"{type_name(key)} cannot be a key of {where}.") from None
    if type(value) in _SEQUENCES or type(value) is str:
        if type(key) is not int:
            raise ExpressionError(
                f"The index of {where} must be an integer, not {type_name(key)}."
            )
        try:
            return value[key]
        except IndexError:
            raise MissingValueError(
                f"'{where}' is missing: index {key} out of range ({len(value)} items)."
            ) from None
    raise ExpressionError(f"{where} is {type_name(value)}; only objects and lists have items.")


def _undefined(path: str) -> MissingValueError:
    return MissingValueError(
        f"'{{{path}}}' is missing: '{path.split('.')[0]}' is not the input, a loop variable, "
        "a completed node's id or a key of the data flowing in."
    )


def _path_evaluator(name: str, segments: tuple[str, ...], display: str) -> Evaluator:
    """A closure reading `name.seg.seg...` from a scope."""
    if not segments:

        def read_name(scope: Scope, budget: list) -> Any:
            try:
                return scope.lookup(name)
            except KeyError:
                raise _undefined(display) from None

        return read_name
    steps = []
    where = name
    for segment in segments:
        steps.append((segment, int(segment) if segment.isdigit() else None, where))
        where = f"{where}.{segment}"
    steps_t = tuple(steps)

    def read_path(scope: Scope, budget: list) -> Any:
        try:
            value = scope.lookup(name)
        except KeyError:
            raise _undefined(display) from None
        for key, index, at in steps_t:
            if type(value) is dict:
                found = value.get(key, _MISSING)
                if found is not _MISSING:
                    value = found
                    continue
            value = _step(value, key, index, at, display)
        return value

    return read_path


# --------------------------------------------------------------------------------------------
# Functions
# --------------------------------------------------------------------------------------------
def _text_arg(value: Any, fname: str, position: str = "") -> str:
    if not isinstance(value, str):
        raise ExpressionError(f"{fname}() needs a string{position}, not {type_name(value)}.")
    return value


def _list_arg(value: Any, fname: str) -> list | tuple:
    if type(value) not in _SEQUENCES:
        raise ExpressionError(f"{fname}() needs a list, not {type_name(value)}.")
    return value


def _fn_len(b: list, x: Any) -> int:
    if isinstance(x, str | list | tuple | Mapping):
        return len(x)
    raise ExpressionError(f"len() needs a string, list or object, not {type_name(x)}.")


def _fn_int(b: list, x: Any) -> int:
    if isinstance(x, str):
        text = x.strip()
        if len(text) > MAX_INT_BITS // 3 + 2:
            raise ExpressionError(f"Integer too large (more than {MAX_INT_BITS} bits).")
        try:
            return _check_int(int(text))
        except ValueError:
            try:
                return _fn_int(b, float(text))
            except ValueError:
                raise ExpressionError(f"int() cannot read {x[:40]!r} as a number.") from None
    if isinstance(x, bool | int):
        return int(x)
    if isinstance(x, float):
        if not math.isfinite(x):
            raise ExpressionError(f"int() cannot convert {x}.")
        return _check_int(int(x))
    raise ExpressionError(f"int() needs a number or numeric text, not {type_name(x)}.")


def _fn_float(b: list, x: Any) -> float:
    if isinstance(x, str):
        if len(x) > 400:
            raise ExpressionError("float() text too long.")
        try:
            return float(x.strip())
        except ValueError:
            raise ExpressionError(f"float() cannot read {x[:40]!r} as a number.") from None
    if isinstance(x, bool | int | float):
        try:
            return float(x)
        except OverflowError:
            raise ExpressionError("Number too large for float().") from None
    raise ExpressionError(f"float() needs a number or numeric text, not {type_name(x)}.")


def _fn_round(b: list, x: Any, digits: Any = 0) -> Any:
    _number(x, "round")
    if type(digits) is not int or abs(digits) > 100:
        raise ExpressionError("round() takes a whole number of digits between -100 and 100.")
    try:
        return round(x, digits) if digits else round(x)
    except (OverflowError, ValueError) as exc:
        raise ExpressionError(f"round() failed: {exc}.") from None


def _extreme(fname: str, pick: Callable[..., Any]) -> Callable[..., Any]:
    def extreme(b: list, *args: Any) -> Any:
        values = args[0] if len(args) == 1 else args
        values = _list_arg(values, fname)
        if not values:
            raise ExpressionError(f"{fname}() of an empty list.")
        _charge(b, len(values))
        try:
            return pick(values)
        except TypeError:
            raise ExpressionError(f"{fname}() needs values that can be compared.") from None

    return extreme


def _fn_sum(b: list, values: Any) -> Any:
    values = _list_arg(values, "sum")
    _charge(b, len(values))
    total: Any = 0
    for value in values:
        if type(value) not in _NUMBERS:
            raise ExpressionError(f"sum() needs numbers, not {type_name(value)}.")
        total = _add(total, value, b)
    return total


def _fn_strip(b: list, s: Any, chars: Any = None) -> str:
    _text_arg(s, "strip")
    if chars is not None:
        _text_arg(chars, "strip", " of characters")
    _charge(b, len(s))
    return s.strip(chars)


def _fn_case(fname: str) -> Callable[..., str]:
    def change(b: list, s: Any) -> str:
        _text_arg(s, fname)
        _charge(b, len(s))
        return s.lower() if fname == "lower" else s.upper()

    return change


def _fn_affix(fname: str) -> Callable[..., bool]:
    def test(b: list, s: Any, affix: Any) -> bool:
        _text_arg(s, fname)
        _text_arg(affix, fname, " to look for")
        return s.startswith(affix) if fname == "startswith" else s.endswith(affix)

    return test


def _fn_replace(b: list, s: Any, old: Any, new: Any) -> str:
    _text_arg(s, "replace")
    _text_arg(old, "replace", " to replace")
    _text_arg(new, "replace", " to put in")
    count = s.count(old) if old else len(s) + 1
    _check_size(len(s) + count * (len(new) - len(old)), "string")
    _charge(b, len(s) + count * len(new))
    return s.replace(old, new)


def _fn_split(b: list, s: Any, sep: Any = None) -> list[str]:
    _text_arg(s, "split")
    if sep is not None and (not isinstance(sep, str) or not sep):
        raise ExpressionError("split() needs a non-empty separator string.")
    _charge(b, len(s))
    return s.split(sep)


def _fn_join(b: list, items: Any, sep: Any = "") -> str:
    items = _list_arg(items, "join")
    _text_arg(sep, "join", " as separator")
    _charge(b, len(items))
    parts = [to_text(item, b) for item in items]
    _check_size(sum(map(len, parts)) + len(sep) * max(len(parts) - 1, 0), "string")
    return sep.join(parts)


def _fn_keys(b: list, d: Any) -> list:
    if not isinstance(d, Mapping):
        raise ExpressionError(f"keys() needs an object, not {type_name(d)}.")
    _charge(b, len(d))
    return list(d.keys())


def _fn_values(b: list, d: Any) -> list:
    if not isinstance(d, Mapping):
        raise ExpressionError(f"values() needs an object, not {type_name(d)}.")
    _charge(b, len(d))
    return list(d.values())


def _fn_get(b: list, container: Any, key: Any, fallback: Any = None) -> Any:
    try:
        return _subscript(container, key, "get()")
    except MissingValueError:
        return fallback


def _fn_contains(b: list, container: Any, item: Any) -> bool:
    return _contains(item, container, b)


def _fn_json(b: list, x: Any) -> str:
    return _dumps(x, b)


def _parse_int(text: str) -> int:
    if len(text) > MAX_INT_BITS // 3 + 2:
        raise ExpressionError(f"Integer too large (more than {MAX_INT_BITS} bits).")
    return int(text)


def _fn_parse_json(b: list, s: Any) -> Any:
    _text_arg(s, "parse_json")
    _charge(b, len(s))
    try:
        return json.loads(s, parse_int=_parse_int)
    except (ValueError, RecursionError) as exc:
        raise ExpressionError(f"parse_json() got invalid JSON: {exc}") from None


def _fn_now(b: list) -> str:
    return datetime.now(UTC).isoformat()


def _fn_abs(b: list, x: Any) -> Any:
    return abs(_number(x, "abs"))


def _fn_str(b: list, x: Any) -> str:
    return to_text(x, b)


def _fn_bool(b: list, x: Any) -> bool:
    return bool(x)


# name -> (implementation, min args, max args)
FUNCTIONS: dict[str, tuple[Callable[..., Any], int, int]] = {
    "len": (_fn_len, 1, 1),
    "str": (_fn_str, 1, 1),
    "int": (_fn_int, 1, 1),
    "float": (_fn_float, 1, 1),
    "bool": (_fn_bool, 1, 1),
    "round": (_fn_round, 1, 2),
    "abs": (_fn_abs, 1, 1),
    "min": (_extreme("min", min), 1, 100),
    "max": (_extreme("max", max), 1, 100),
    "sum": (_fn_sum, 1, 1),
    "lower": (_fn_case("lower"), 1, 1),
    "upper": (_fn_case("upper"), 1, 1),
    "strip": (_fn_strip, 1, 2),
    "contains": (_fn_contains, 2, 2),
    "startswith": (_fn_affix("startswith"), 2, 2),
    "endswith": (_fn_affix("endswith"), 2, 2),
    "replace": (_fn_replace, 3, 3),
    "split": (_fn_split, 1, 2),
    "join": (_fn_join, 1, 2),
    "keys": (_fn_keys, 1, 1),
    "values": (_fn_values, 1, 1),
    "get": (_fn_get, 2, 3),
    "default": (lambda b, x, fallback: fallback if x is None else x, 2, 2),
    "json": (_fn_json, 1, 1),
    "parse_json": (_fn_parse_json, 1, 1),
    "now": (_fn_now, 0, 0),
}
_IMPURE_FUNCTIONS = frozenset({"now"})


# --------------------------------------------------------------------------------------------
# Tokenizer
# --------------------------------------------------------------------------------------------
_WS = re.compile(r"\s+")
_NUMBER = re.compile(r"[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_IDENT = re.compile(r"[^\W\d]\w*")
_SEGMENT = re.compile(r"\.(\w+)")
_BRACED = re.compile(r"\{\s*([\w-]+(?:\.[\w-]+)*)\s*\}")
_PATH = re.compile(r"[\w-]+(?:\.[\w-]+)*")
_KEYWORDS = frozenset({"and", "or", "not", "in", "if", "else"})
_LITERALS = {"true": True, "false": False, "null": None, "True": True, "False": False,
             "None": None}
_UNSUPPORTED = frozenset({
    "lambda", "import", "for", "while", "is", "def", "class", "from", "as", "with", "del",
    "global", "nonlocal", "yield", "await", "async", "return", "pass", "raise", "try",
    "except", "finally", "assert", "elif", "break", "continue",
})
_OPERATORS = ("**", "//", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "<", ">", "(", ")",
              "[", "]", "{", "}", ",", ":")
_REFUSED_OPERATORS = {
    "<<": "shift operators are not supported",
    ">>": "shift operators are not supported",
    ":=": "assignment is not supported",
    "=": "assignment is not supported; compare with '=='",
    "&": "bitwise operators are not supported; use 'and'",
    "|": "bitwise operators are not supported; use 'or'",
    "^": "bitwise operators are not supported",
    "~": "bitwise operators are not supported",
    "@": "'@' is not supported",
    ";": "only one expression is allowed",
    "!": "use 'not' or '!='",
    "`": "backticks are not supported",
    "\\": "a backslash is only allowed inside strings",
    "?": "use 'a if condition else b'",
    "#": "comments are not supported",
    "$": "'$' is not supported",
}
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "\\": "\\", "'": "'", '"': '"',
            "\n": ""}
_POSTFIX_BEFORE = frozenset({"name", "ref", "seg", ")", "]"})


def _fail(message: str, source: str, pos: int | None = None) -> ExpressionError:
    where = f" at position {pos + 1}" if pos is not None else ""
    shown = source if len(source) <= 80 else source[:77] + "..."
    return ExpressionError(f"{message}{where} in {shown!r}")


def _check_segment(segment: str, source: str, pos: int) -> None:
    if segment.startswith("_"):
        raise _fail(f"Names starting with '_' are not allowed ({segment!r})", source, pos)


def _read_string(source: str, pos: int) -> tuple[str, int]:
    quote = source[pos]
    out: list[str] = []
    i = pos + 1
    n = len(source)
    while i < n:
        ch = source[i]
        if ch == quote:
            return "".join(out), i + 1
        if ch == "\\":
            if i + 1 >= n:
                break
            esc = source[i + 1]
            if esc in _ESCAPES:
                out.append(_ESCAPES[esc])
                i += 2
                continue
            width = {"x": 2, "u": 4, "U": 8}.get(esc)
            if width:
                digits = source[i + 2:i + 2 + width]
                if len(digits) != width or not all(c in "0123456789abcdefABCDEF" for c in digits):
                    raise _fail(f"Bad \\{esc} escape", source, i)
                code = int(digits, 16)
                if code > 0x10FFFF:
                    raise _fail("Bad unicode escape", source, i)
                out.append(chr(code))
                i += 2 + width
                continue
            out.append("\\" + esc)
            i += 2
            continue
        out.append(ch)
        i += 1
    raise _fail("Unterminated string", source, pos)


class _HyphenNames(dict):
    """Hyphenated node ids by their part before the first '-', longest first."""

    def __init__(self, names: Iterable[str]) -> None:
        super().__init__()
        for name in names:
            if "-" in name:
                self.setdefault(name.split("-", 1)[0], []).append(name)
        for candidates in self.values():
            candidates.sort(key=len, reverse=True)


def _tokenize(source: str, hyphen_names: _HyphenNames) -> list[tuple[str, Any, int]]:
    tokens: list[tuple[str, Any, int]] = []
    i, n = 0, len(source)
    while i < n:
        ch = source[i]
        if ch.isspace():
            i = _WS.match(source, i).end()  # type: ignore[union-attr]
            continue
        previous = tokens[-1][0] if tokens else ""
        if ch == "." and previous in _POSTFIX_BEFORE:
            m = _SEGMENT.match(source, i)
            if not m:
                raise _fail("Expected a key or index after '.'", source, i)
            _check_segment(m.group(1), source, i + 1)
            tokens.append(("seg", m.group(1), i))
            i = m.end()
            continue
        if "0" <= ch <= "9":
            m = _NUMBER.match(source, i)
            text = m.group(0)  # type: ignore[union-attr]
            i = m.end()  # type: ignore[union-attr]
            if i < n and (source[i].isalpha() or source[i] == "_"):
                raise _fail("Invalid number", source, m.start())  # type: ignore[union-attr]
            if m.group(1) or m.group(2):  # type: ignore[union-attr]
                value: Any = float(text)
                if not math.isfinite(value):
                    raise _fail("Number too large", source, i - len(text))
            else:
                if len(text) > MAX_INT_BITS // 3 + 2 or int(text).bit_length() > MAX_INT_BITS:
                    raise _fail(f"Integer too large (more than {MAX_INT_BITS} bits)", source,
                                i - len(text))
                value = int(text)
            tokens.append(("lit", value, i - len(text)))
            continue
        if ch in "'\"":
            if previous == "name" and tokens[-1][2] + len(tokens[-1][1]) == i:
                raise _fail("String prefixes (f-strings, r-strings, b-strings) are not supported",
                            source, tokens[-1][2])
            text, end = _read_string(source, i)
            tokens.append(("lit", text, i))
            i = end
            continue
        m = _IDENT.match(source, i)
        if m:
            word = m.group(0)
            end = m.end()
            if end < n and source[end] == "-" and word in hyphen_names:
                for name in hyphen_names[word]:
                    if source.startswith(name, i):
                        after = i + len(name)
                        if after >= n or not (source[after].isalnum() or source[after] == "_"):
                            word, end = name, after
                            break
            if word in _KEYWORDS:
                tokens.append(("kw", word, i))
            elif word in _LITERALS:
                tokens.append(("lit", _LITERALS[word], i))
            elif word in _UNSUPPORTED:
                raise _fail(f"'{word}' is not supported in expressions", source, i)
            else:
                _check_segment(word, source, i)
                tokens.append(("name", word, i))
            i = end
            continue
        if ch == "{":
            m = _BRACED.match(source, i)
            if m:
                segments = m.group(1).split(".")
                for segment in segments:
                    _check_segment(segment, source, i)
                tokens.append(("ref", tuple(segments), i))
                i = m.end()
                continue
        two = source[i:i + 2]
        if two in _REFUSED_OPERATORS:
            raise _fail(_REFUSED_OPERATORS[two].capitalize(), source, i)
        for op in _OPERATORS:
            if source.startswith(op, i):
                tokens.append((op, op, i))
                i += len(op)
                break
        else:
            reason = _REFUSED_OPERATORS.get(ch)
            if reason:
                raise _fail(reason.capitalize(), source, i)
            raise _fail(f"Unexpected character {ch!r}", source, i)
    tokens.append(("end", None, n))
    return tokens


# --------------------------------------------------------------------------------------------
# Parser: tokens -> tree of tuples
# --------------------------------------------------------------------------------------------
_COMPARISONS = frozenset({"==", "!=", "<", "<=", ">", ">=", "in"})
_BINDING = {"if": 1, "or": 2, "and": 3, "==": 5, "!=": 5, "<": 5, "<=": 5, ">": 5, ">=": 5,
            "in": 5, "+": 6, "-": 6, "*": 7, "/": 7, "//": 7, "%": 7, "**": 9, "[": 10,
            "(": 10, "seg": 10}


class _Parser:
    """Pratt parser producing tuples: ("lit", v), ("path", name, segs, display), ..."""

    def __init__(self, source: str, tokens: list[tuple[str, Any, int]]) -> None:
        self.source = source
        self.tokens = tokens
        self.i = 0
        self.depth = 0
        self.nodes = 0

    def error(self, message: str, token: tuple[str, Any, int] | None = None) -> ExpressionError:
        token = token or self.tokens[self.i]
        return _fail(message, self.source, token[2])

    def next(self) -> tuple[str, Any, int]:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def peek_kind(self) -> str:
        kind, value, _ = self.tokens[self.i]
        return value if kind == "kw" else kind

    def expect(self, kind: str, what: str) -> None:
        if self.peek_kind() != kind:
            raise self.error(f"Expected {what}")
        self.i += 1

    def parse(self) -> tuple:
        if self.tokens[0][0] == "end":
            raise _fail("The expression is empty", self.source)
        tree = self.expression(0)
        if self.tokens[self.i][0] != "end":
            raise self.error(f"Unexpected {self.describe(self.tokens[self.i])}")
        return tree

    @staticmethod
    def describe(token: tuple[str, Any, int]) -> str:
        kind, value, _ = token
        if kind == "end":
            return "end of expression"
        if kind in ("name", "kw"):
            return f"'{value}'"
        if kind == "lit":
            return f"value {value!r}"
        if kind == "ref":
            return "'{" + ".".join(value) + "}'"
        if kind == "seg":
            return f"'.{value}'"
        return f"'{value}'"

    def binding(self) -> int:
        kind = self.peek_kind()
        if kind == "not":
            following = self.tokens[self.i + 1]
            return 5 if following[0] == "kw" and following[1] == "in" else 0
        return _BINDING.get(kind, 0)

    def expression(self, rbp: int) -> tuple:
        self.depth += 1
        if self.depth > 2 * MAX_DEPTH:
            raise self.error(f"The expression is nested too deeply (more than {MAX_DEPTH} levels)")
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise self.error(f"The expression is too long (more than {MAX_NODES} parts)")
        left = self.prefix(self.next())
        while rbp < self.binding():
            left = self.infix(self.next(), left)
        self.depth -= 1
        return left

    def prefix(self, token: tuple[str, Any, int]) -> tuple:
        kind, value, _pos = token
        if kind == "lit":
            return ("lit", value)
        if kind == "name":
            if self.peek_kind() == "(":
                return self.call(value, token)
            return ("path", value, (), value)
        if kind == "ref":
            return ("path", value[0], tuple(value[1:]), ".".join(value))
        if kind == "(":
            if self.peek_kind() == ")":
                raise self.error("Empty parentheses (tuples are not supported)")
            inner = self.expression(0)
            if self.peek_kind() == ",":
                raise self.error("Tuples are not supported; use a list [a, b]")
            self.expect(")", "')'")
            return inner
        if kind == "[":
            items = self.sequence("]")
            return ("list", items)
        if kind == "{":
            return self.mapping()
        if kind in ("-", "+"):
            return ("neg" if kind == "-" else "pos", self.expression(8))
        if kind == "kw" and value == "not":
            return ("not", self.expression(4))
        raise self.error(f"Unexpected {self.describe(token)}", token)

    def sequence(self, closing: str) -> list[tuple]:
        items: list[tuple] = []
        while self.peek_kind() != closing:
            items.append(self.expression(0))
            if self.peek_kind() == "kw" and self.tokens[self.i][1] in ("for", "if"):
                raise self.error("Comprehensions are not supported")
            if self.peek_kind() != ",":
                break
            self.i += 1
        self.expect(closing, f"',' or '{closing}'")
        return items

    def mapping(self) -> tuple:
        pairs: list[tuple[tuple, tuple]] = []
        while self.peek_kind() != "}":
            key = self.expression(0)
            self.expect(":", "':' after a key (sets are not supported)")
            pairs.append((key, self.expression(0)))
            if self.peek_kind() != ",":
                break
            self.i += 1
        self.expect("}", "',' or '}'")
        return ("dict", pairs)

    def call(self, name: str, token: tuple[str, Any, int]) -> tuple:
        if name not in FUNCTIONS:
            raise self.error(
                f"Unknown function '{name}'; the functions are: {', '.join(sorted(FUNCTIONS))}",
                token,
            )
        self.i += 1  # the '('
        args = self.sequence(")")
        _, low, high = FUNCTIONS[name]
        if not low <= len(args) <= high:
            expected = str(low) if low == high else f"{low} to {high}"
            raise self.error(f"{name}() takes {expected} arguments, not {len(args)}", token)
        return ("call", name, args)

    def infix(self, token: tuple[str, Any, int], left: tuple) -> tuple:
        kind, value, _pos = token
        op = value if kind == "kw" else kind
        if op == "seg":
            if left[0] == "path":
                return ("path", left[1], (*left[2], value), f"{left[3]}.{value}")
            return ("seg", left, value)
        if op == "[":
            key = self.expression(0)
            if self.peek_kind() == ":":
                raise self.error("Slices are not supported")
            self.expect("]", "']'")
            return ("sub", left, key)
        if op == "(":
            if left[0] == "path" and left[2]:
                raise self.error(
                    "Methods cannot be called; use a function, e.g. lower(x) not x.lower()",
                    token,
                )
            raise self.error("Only the documented functions can be called", token)
        if op == "if":
            condition = self.expression(2)
            if self.peek_kind() != "else":
                raise self.error("Expected 'else' in 'a if condition else b'")
            self.i += 1
            return ("if", left, condition, self.expression(0))
        if op in ("or", "and"):
            right = self.expression(_BINDING[op])
            if left[0] == op:
                return (op, [*left[1], right])
            return (op, [left, right])
        if op == "**":
            return ("pow", left, self.expression(8))
        if op in _COMPARISONS or op == "not":
            chain = []
            while True:
                if op == "not":
                    self.expect("in", "'in' after 'not'")
                    op = "not in"
                chain.append((op, self.expression(5)))
                following = self.peek_kind()
                if following in _COMPARISONS or (following == "not" and self.binding() == 5):
                    op = following
                    self.i += 1
                    continue
                return ("cmp", left, chain)
        if op in _ARITH:
            group = ("+", "-") if op in ("+", "-") else ("*", "/", "//", "%")
            chain = []
            while True:
                chain.append((op, self.expression(_BINDING[op])))
                if self.peek_kind() in group:
                    op = self.next()[0]
                    continue
                return ("arith", left, chain)
        raise self.error(f"Unexpected {self.describe(token)}", token)


# --------------------------------------------------------------------------------------------
# Compiler: tree -> closures (scope, budget) -> value
# --------------------------------------------------------------------------------------------
def _references(tree: tuple, out: set[str]) -> None:
    tag = tree[0]
    if tag == "path":
        out.add(tree[1])
    elif tag in ("neg", "pos", "not", "seg"):
        _references(tree[1], out)
    elif tag in ("sub", "pow"):
        _references(tree[1], out)
        _references(tree[2], out)
    elif tag in ("arith", "cmp"):
        _references(tree[1], out)
        for _, item in tree[2]:
            _references(item, out)
    elif tag in ("and", "or", "list"):
        for item in tree[1]:
            _references(item, out)
    elif tag == "call":
        for item in tree[2]:
            _references(item, out)
    elif tag == "dict":
        for key, value in tree[1]:
            _references(key, out)
            _references(value, out)
    elif tag == "if":
        for item in tree[1:]:
            _references(item, out)


def _is_constant(tree: tuple) -> bool:
    refs: set[str] = set()
    _references(tree, refs)
    return not refs and not (_calls(tree) & _IMPURE_FUNCTIONS)


def _calls(tree: tuple) -> set[str]:
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, tuple):
            if node and node[0] == "call":
                found.add(node[1])
            for part in node[1:]:
                walk(part)
        elif isinstance(node, list):
            for part in node:
                walk(part)

    walk(tree)
    return found


def _display(tree: tuple) -> str:
    tag = tree[0]
    if tag == "path":
        return tree[3]
    if tag == "seg":
        return f"{_display(tree[1])}.{tree[2]}"
    if tag == "sub":
        key = tree[2]
        inner = repr(key[1]) if key[0] == "lit" else "..."
        return f"{_display(tree[1])}[{inner}]"
    if tag == "call":
        return f"{tree[1]}(...)"
    return "the value"


def _build(tree: tuple) -> Evaluator:
    tag = tree[0]
    if tag == "lit":
        constant = tree[1]
        return lambda scope, budget: constant
    if tag == "path":
        return _path_evaluator(tree[1], tree[2], tree[3])
    if tag == "seg":
        inner = _build(tree[1])
        key = tree[2]
        index = int(key) if key.isdigit() else None
        where = _display(tree[1])
        shown = f"{where}.{key}"
        return lambda scope, budget: _step(inner(scope, budget), key, index, where, shown)
    if tag == "sub":
        obj, key_fn = _build(tree[1]), _build(tree[2])
        where = _display(tree)
        return lambda scope, budget: _subscript(obj(scope, budget), key_fn(scope, budget), where)
    if tag == "neg":
        operand = _build(tree[1])

        def negate(scope: Scope, budget: list) -> Any:
            return -_number(operand(scope, budget), "-")

        return negate
    if tag == "pos":
        operand = _build(tree[1])
        return lambda scope, budget: +_number(operand(scope, budget), "+")
    if tag == "not":
        operand = _build(tree[1])
        return lambda scope, budget: not operand(scope, budget)
    if tag == "arith":
        first = _build(tree[1])
        rest = tuple((_ARITH[op], _build(item)) for op, item in tree[2])
        if len(rest) == 1:
            (op_fn, second), = rest
            return lambda scope, budget: op_fn(first(scope, budget), second(scope, budget), budget)

        def arithmetic(scope: Scope, budget: list) -> Any:
            value = first(scope, budget)
            for apply, operand in rest:
                value = apply(value, operand(scope, budget), budget)
            return value

        return arithmetic
    if tag == "pow":
        base, exponent = _build(tree[1]), _build(tree[2])
        return lambda scope, budget: _pow(base(scope, budget), exponent(scope, budget), budget)
    if tag == "cmp":
        first = _build(tree[1])
        rest = tuple((_COMPARE[op], _build(item)) for op, item in tree[2])
        if len(rest) == 1:
            (test, second), = rest
            return lambda scope, budget: test(first(scope, budget), second(scope, budget), budget)

        def compare(scope: Scope, budget: list) -> bool:
            left = first(scope, budget)
            for test, operand in rest:
                right = operand(scope, budget)
                if not test(left, right, budget):
                    return False
                left = right
            return True

        return compare
    if tag == "and":
        operands = tuple(_build(item) for item in tree[1])

        def all_of(scope: Scope, budget: list) -> Any:
            value: Any = True
            for operand in operands:
                value = operand(scope, budget)
                if not value:
                    return value
            return value

        return all_of
    if tag == "or":
        operands = tuple(_build(item) for item in tree[1])

        def any_of(scope: Scope, budget: list) -> Any:
            value: Any = False
            for operand in operands:
                value = operand(scope, budget)
                if value:
                    return value
            return value

        return any_of
    if tag == "if":
        body, condition, orelse = _build(tree[1]), _build(tree[2]), _build(tree[3])
        return lambda scope, budget: (
            body(scope, budget) if condition(scope, budget) else orelse(scope, budget)
        )
    if tag == "list":
        items = tuple(_build(item) for item in tree[1])
        return lambda scope, budget: [item(scope, budget) for item in items]
    if tag == "dict":
        pairs = tuple((_build(k), _build(v)) for k, v in tree[1])

        def make_dict(scope: Scope, budget: list) -> dict:
            result = {}
            for key_fn, value_fn in pairs:
                key = key_fn(scope, budget)
                if not isinstance(key, str | int | float | bool) and key is not None:
                    raise ExpressionError(f"A {type_name(key)} cannot be a key of an object.")
                result[key] = value_fn(scope, budget)
            return result

        return make_dict
    if tag == "call":
        return _build_call(tree[1], [_build(arg) for arg in tree[2]])
    raise ExpressionError(f"Internal: unknown expression node {tag!r}")  # pragma: no cover


def _build_call(name: str, args: list[Evaluator]) -> Evaluator:
    if name == "default":
        value_fn, fallback_fn = args

        def default(scope: Scope, budget: list) -> Any:
            _charge(budget, 1)
            try:
                value = value_fn(scope, budget)
            except MissingValueError:
                return fallback_fn(scope, budget)
            return fallback_fn(scope, budget) if value is None else value

        return default
    impl = FUNCTIONS[name][0]
    arg_fns = tuple(args)
    if len(arg_fns) == 1:
        (only,) = arg_fns

        def call_one(scope: Scope, budget: list) -> Any:
            _charge(budget, 1)
            return impl(budget, only(scope, budget))

        return call_one

    def call(scope: Scope, budget: list) -> Any:
        _charge(budget, 1)
        return impl(budget, *[arg(scope, budget) for arg in arg_fns])

    return call


def _wrap_unexpected(exc: BaseException, what: str) -> ExpressionError:
    if isinstance(exc, RecursionError):
        return ExpressionError(f"{what}: the value is nested too deeply.")
    if isinstance(exc, MemoryError):
        return ExpressionError(f"{what}: out of memory.")
    return ExpressionError(f"{what}: {type(exc).__name__}: {exc}")


class Expression:
    """A compiled expression: evaluate it many times against different scopes."""

    __slots__ = ("_fn", "is_constant", "references", "source")

    def __init__(self, source: str, fn: Evaluator, references: frozenset[str],
                 is_constant: bool) -> None:
        self.source = source
        self._fn = fn
        self.references = references
        self.is_constant = is_constant

    def __repr__(self) -> str:
        return f"Expression({self.source!r})"

    def evaluate(self, scope: Scope | Mapping[str, Any] | None = None) -> Any:
        """The expression's value in `scope`; raises ExpressionError naming the expression."""
        if type(scope) is not Scope:
            scope = Scope.of(scope)
        try:
            return self._fn(scope, [MAX_STEPS])
        except MissingValueError as exc:
            raise MissingValueError(f"{exc} (in expression {self.source!r})") from None
        except ExpressionError as exc:
            raise ExpressionError(f"In expression {self.source!r}: {exc}") from None
        except Exception as exc:  # e.g. a host object misbehaving; never a raw exception
            raise _wrap_unexpected(exc, f"In expression {self.source!r}") from None


def compile_expression(source: str, names: Iterable[str] = ()) -> Expression:
    """Compile `source` once; `names` are node ids, so hyphenated ones can be written bare."""
    if not isinstance(source, str):
        raise ExpressionError(f"An expression must be text, not {type_name(source)}.")
    if len(source) > MAX_SOURCE:
        raise ExpressionError(
            f"The expression is too long ({len(source):,} characters; at most {MAX_SOURCE:,})."
        )
    hyphen_names = names if isinstance(names, _HyphenNames) else _HyphenNames(names)
    try:
        tree = _Parser(source, _tokenize(source, hyphen_names)).parse()
        fn = _build(tree)
    except ExpressionError:
        raise
    except RecursionError:
        raise ExpressionError("The expression is nested too deeply.") from None
    except Exception as exc:  # a bug of ours must still not escape as a raw exception
        raise ExpressionError(f"Internal error compiling {source[:80]!r}: {exc!r}") from None
    refs: set[str] = set()
    _references(tree, refs)
    return Expression(source, fn, frozenset(refs), _is_constant(tree))


# --------------------------------------------------------------------------------------------
# Templates
# --------------------------------------------------------------------------------------------
class Template:
    """A compiled `{path}` template."""

    __slots__ = ("_parts", "_single", "references", "source")

    def __init__(self, source: str, parts: list[str | Evaluator], references: frozenset[str]
                 ) -> None:
        self.source = source
        self._parts = tuple(parts)
        self._single = parts[0] if len(parts) == 1 and not isinstance(parts[0], str) else None
        self.references = references

    def __repr__(self) -> str:
        return f"Template({self.source!r})"

    @property
    def is_static(self) -> bool:
        """True when the template has no references (it renders to constant text)."""
        return not self.references

    def render(self, scope: Scope | Mapping[str, Any] | None = None) -> str:
        """The text, every reference written as text (non-strings as JSON)."""
        if type(scope) is not Scope:
            scope = Scope.of(scope)
        budget = [MAX_STEPS]
        try:
            out = []
            size = 0
            for part in self._parts:
                text = part if isinstance(part, str) else to_text(part(scope, budget), budget)
                size += len(text)
                if size > MAX_TEXT:
                    raise ExpressionError(
                        f"The text would be longer than {MAX_TEXT:,} characters."
                    )
                out.append(text)
            return "".join(out)
        except MissingValueError as exc:
            raise MissingValueError(f"{exc} (in template {self._shown()})") from None
        except ExpressionError as exc:
            raise ExpressionError(f"In template {self._shown()}: {exc}") from None
        except Exception as exc:
            raise _wrap_unexpected(exc, f"In template {self._shown()}") from None

    def render_value(self, scope: Scope | Mapping[str, Any] | None = None) -> Any:
        """The raw value when the template is exactly one reference, else the text."""
        if self._single is None:
            return self.render(scope)
        if type(scope) is not Scope:
            scope = Scope.of(scope)
        try:
            return self._single(scope, [MAX_STEPS])
        except MissingValueError as exc:
            raise MissingValueError(f"{exc} (in template {self._shown()})") from None
        except ExpressionError as exc:
            raise ExpressionError(f"In template {self._shown()}: {exc}") from None
        except Exception as exc:
            raise _wrap_unexpected(exc, f"In template {self._shown()}") from None

    def _shown(self) -> str:
        return repr(self.source if len(self.source) <= 80 else self.source[:77] + "...")


def compile_template(source: str) -> Template:
    """Compile a `{path}` template; `{{` and `}}` are literal braces."""
    if not isinstance(source, str):
        raise ExpressionError(f"A template must be text, not {type_name(source)}.")
    parts: list[str | Evaluator] = []
    refs: set[str] = set()
    literal: list[str] = []
    i, n = 0, len(source)
    while i < n:
        ch = source[i]
        if ch == "{":
            if source.startswith("{{", i):
                literal.append("{")
                i += 2
                continue
            close = source.find("}", i + 1)
            if close < 0:
                raise _template_error("Unclosed '{'", source, i)
            inner = source[i + 1:close].strip()
            if not _PATH.fullmatch(inner):
                raise _template_error(
                    f"'{{{source[i + 1:close][:40]}}}' is not a dotted path like {{input.text}}",
                    source, i,
                )
            segments = inner.split(".")
            for segment in segments:
                if segment.startswith("_"):
                    raise _template_error(
                        f"Names starting with '_' are not allowed ({segment!r})", source, i
                    )
            if literal:
                parts.append("".join(literal))
                literal = []
            parts.append(_path_evaluator(segments[0], tuple(segments[1:]), inner))
            refs.add(segments[0])
            i = close + 1
            continue
        if ch == "}":
            if source.startswith("}}", i):
                literal.append("}")
                i += 2
                continue
            raise _template_error("Single '}'", source, i)
        nxt = source.find("{", i)
        nxt_close = source.find("}", i)
        stop = min(x for x in (nxt, nxt_close, n) if x >= 0)
        literal.append(source[i:stop])
        i = stop
    if literal or not parts:
        parts.append("".join(literal))
    return Template(source, parts, frozenset(refs))


def _template_error(message: str, source: str, pos: int) -> ExpressionError:
    shown = source if len(source) <= 80 else source[:77] + "..."
    return ExpressionError(
        f"{message} at position {pos + 1} in template {shown!r}; "
        "write '{{' and '}}' for literal braces."
    )


class Compiler:
    """Compiles and caches expressions and templates for one graph (its node ids known)."""

    __slots__ = ("_expressions", "_names", "_templates")

    def __init__(self, names: Iterable[str] = ()) -> None:
        self._names = _HyphenNames(names)
        self._expressions: dict[str, Expression] = {}
        self._templates: dict[str, Template] = {}

    def expression(self, source: str) -> Expression:
        """The compiled expression (cached by source)."""
        compiled = self._expressions.get(source) if isinstance(source, str) else None
        if compiled is None:
            compiled = compile_expression(source, self._names)
            self._expressions[source] = compiled
        return compiled

    def template(self, source: str) -> Template:
        """The compiled template (cached by source)."""
        compiled = self._templates.get(source) if isinstance(source, str) else None
        if compiled is None:
            compiled = compile_template(source)
            self._templates[source] = compiled
        return compiled
