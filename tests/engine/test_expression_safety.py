"""The evaluator is a sandbox: escape attempts and resource bombs only raise ExpressionError.

Each case must fail fast (well under 100 ms; asserted with a margin for slow machines) and must
never reach a dangerous builtin: those are replaced by tripwires raising a BaseException, which
the evaluator does not swallow.
"""

import builtins
import contextlib
import os
import subprocess
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workflows.engine import ExpressionError, Scope, compile_expression, compile_template
from workflows.engine.expressions import FUNCTIONS, MAX_SOURCE

TIME_LIMIT_S = 0.1


class Escaped(BaseException):
    """Raised by a tripwire: something reached a builtin the sandbox must never touch."""


@contextlib.contextmanager
def tripwires():
    """Dangerous builtins replaced, only while the evaluator runs (pytest itself needs them)."""

    def trip(*args, **kwargs):
        raise Escaped(args)

    targets = [(builtins, "open"), (builtins, "exec"), (builtins, "eval"),
               (builtins, "compile"), (builtins, "__import__"), (builtins, "breakpoint"),
               (os, "system"), (os, "popen"), (subprocess, "Popen")]
    saved = [(target, name, getattr(target, name)) for target, name in targets]
    for target, name, _ in saved:
        setattr(target, name, trip)
    try:
        yield
    finally:
        for target, name, original in saved:
            setattr(target, name, original)


class Secret:
    """A host object in scope: the sandbox must never reach its attributes."""

    password = "hunter2"

    def __str__(self) -> str:
        return "Secret()"


SCOPE = Scope(input={"text": "hi", "rows": [1, 2], "obj": Secret()}, data={"x": {"a": 1}},
              outputs={"llm-1": {"text": "t"}})

ESCAPES = [
    "().__class__.__bases__[0].__subclasses__()",
    "x.__class__",
    "x.__class__.__mro__",
    "input.__class__",
    "input._private",
    "input.obj.password",
    "input.obj.__dict__",
    "x['__class__']",
    "get(x, '__globals__')",
    "get(x, '\\x5f\\x5fclass\\x5f\\x5f')",
    "[].__class__",
    "str.__mro__",
    "len.__self__",
    "x[0].__globals__",
    '"{0.__class__}".format(x)',
    "'{0}'.format",
    "'%s' % x",
    "'%999999999d' % 1",
    "lambda: 1",
    "(lambda: 1)()",
    "__import__('os')",
    "__import__('os').system('id')",
    "import os",
    "from os import system",
    "exec('print(1)')",
    "eval('1')",
    "compile('1', '', 'eval')",
    "open('/etc/passwd')",
    "open('/etc/passwd').read()",
    "getattr(x, 'a')",
    "globals()",
    "locals()",
    "vars()",
    "dir()",
    "type(x)",
    "breakpoint()",
    "9**9**9",
    "10**10**10",
    "2**100000",
    "10**100000",
    "(2**4000) * (2**4000)",
    "2 << 10000",
    "1 >> 1",
    '"a" * 10**9',
    "[1] * 10**9",
    "[[1] * 1000] * 1000",
    "json([[[[1] * 100] * 100] * 100] * 100)",
    "str(2**4000) * 1000",
    "join(['a'] * 1000000, 'bbbbbbbbbb')",
    "replace('a' * 100000, 'a', 'aaaaaaaaaaaaaaaaaaaa')",
    "int('9' * 5000)",
    "parse_json('[' * 100000 + ']' * 100000)",
    "round(5, -10**9)",
    "(" * 4000 + "1" + ")" * 4000,
    "(" * 10000 + "1" + ")" * 10000,
    "-" * 4000 + "1",
    "-" * 10000 + "1",
    "not " * 2000 + "1",
    "[" * 3000 + "]" * 3000,
    "2" + "**2" * 2000,
    "1 if " * 1000 + "1" + " else 1" * 1000,
    '"' + "a" * 10_000_000 + '"',
    "a" * 20_000,
    "[x for x in [1, 2]]",
    "{k: 1 for k in 'ab'}",
    "(y := 1)",
    "f'{x}'",
    "rb'x'",
    "yield 1",
    "await x",
    "x if True else __import__('os')",
    "\uff4f\uff50\uff45\uff4e('x')",  # fullwidth "open"
    "\uff3f\uff3fimport\uff3f\uff3f('os')",  # fullwidth underscores
    "len\u200b(x)",
    "x\u202e.a",
    "`x`",
    "x; open('f')",
    "x # comment",
    "del x",
    "assert False",
    "raise Exception()",
    "x.a.__class__",
    "{llm-1.__class__}",
    "{llm-1._x}",
]


@pytest.mark.parametrize("source", ESCAPES, ids=lambda s: repr(s[:40]))
def test_escape_attempts_raise_expression_error_quickly_without_executing_anything(source):
    started = time.perf_counter()
    with pytest.raises(ExpressionError), tripwires():
        compile_expression(source, ["llm-1"]).evaluate(SCOPE)
    assert time.perf_counter() - started < TIME_LIMIT_S


def test_the_corpus_has_at_least_thirty_cases():
    assert len(ESCAPES) >= 30


def test_expression_source_longer_than_the_limit_is_refused_before_parsing():
    with pytest.raises(ExpressionError, match="too long"):
        compile_expression("1+" * MAX_SOURCE + "1")


def test_the_evaluation_step_budget_stops_long_work():
    # Many list repetitions within the size limit each, but too much work in total.
    source = " + ".join(["len([0] * 900000)"] * 5)
    with pytest.raises(ExpressionError, match="too much work"):
        compile_expression(source).evaluate()


def test_templates_cannot_reach_attributes_either():
    for source in ("{x.__class__}", "{input._secret}", "{__import__}"):
        with pytest.raises(ExpressionError):
            compile_template(source)
    with pytest.raises(ExpressionError):
        compile_template("{input.obj.password}").render(SCOPE)


def _check_json_like(value, depth=0):
    """Only data comes out: no callables, classes or host objects built by the evaluator."""
    assert depth < 200
    if isinstance(value, dict):
        for key, item in value.items():
            _check_json_like(key, depth + 1)
            _check_json_like(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_json_like(item, depth + 1)
    else:
        assert value is None or isinstance(value, bool | int | float | str | Secret), type(value)


def _evaluate_or_expression_error(source: str):
    try:
        value = compile_expression(source, ["llm-1"]).evaluate(SCOPE)
    except ExpressionError as exc:
        assert "Internal error" not in str(exc)
        assert ": TypeError" not in str(exc) and ": AttributeError" not in str(exc)
        return
    _check_json_like(value)


FAST = settings(max_examples=300, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(st.text(max_size=200))
def test_arbitrary_text_only_evaluates_or_raises_expression_error(source):
    _evaluate_or_expression_error(source)


TOKENS = st.sampled_from([
    "1", "0", "-", "+", "*", "**", "/", "//", "%", "(", ")", "[", "]", "{", "}", ",", ":", ".",
    "'a'", '"b"', "x", "a", "input", "text", "rows", "0", "1.5", "true", "null", "not", "and",
    "or", "in", "if", "else", "==", "<", ">=", "!=", "len", "str", "join", "split", "max", " ",
    "{llm-1.text}", "llm-1", "_", "__class__", "9", "e", "'", "\\", "default", "get",
])


@FAST
@given(st.lists(TOKENS, max_size=30).map("".join))
def test_token_soup_only_evaluates_or_raises_expression_error(source):
    _evaluate_or_expression_error(source)


LEAVES = st.one_of(
    st.integers(-10**6, 10**6).map(str),
    st.floats(allow_nan=False, allow_infinity=False, width=32).map(repr),
    st.text(max_size=8).map(lambda s: repr(s)),
    st.sampled_from(["true", "false", "null", "x", "x.a", "input", "input.text",
                     "input.rows", "input.rows.1", "{llm-1.text}", "missing", "[]", "{}"]),
)
BINARY = ["+", "-", "*", "/", "//", "%", "**", "==", "!=", "<", "<=", ">", ">=", "in", "not in",
          "and", "or"]


def _extend(children):
    return st.one_of(
        st.tuples(children, st.sampled_from(BINARY), children).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(st.sampled_from(["-", "not "]), children).map(lambda t: f"{t[0]}({t[1]})"),
        st.tuples(children, children, children).map(lambda t: f"({t[0]} if {t[1]} else {t[2]})"),
        st.lists(children, max_size=3).map(lambda items: "[" + ", ".join(items) + "]"),
        st.tuples(children, children).map(lambda t: f"{{{t[0]}: {t[1]}}}"),
        st.tuples(children, children).map(lambda t: f"{t[0]}[{t[1]}]"),
        st.tuples(st.sampled_from(sorted(FUNCTIONS)), st.lists(children, max_size=3)).map(
            lambda t: f"{t[0]}({', '.join(t[1])})"),
    )


EXPRESSIONS = st.recursive(LEAVES, _extend, max_leaves=25)


@FAST
@given(EXPRESSIONS)
def test_generated_expressions_only_evaluate_or_raise_expression_error(source):
    _evaluate_or_expression_error(source)


@FAST
@given(st.text(max_size=120))
def test_arbitrary_templates_only_render_or_raise_expression_error(source):
    try:
        template = compile_template(source)
        text = template.render(SCOPE)
        template.render_value(SCOPE)
    except ExpressionError:
        return
    assert isinstance(text, str)
