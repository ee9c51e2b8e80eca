"""The expression language: literals, operators, paths, functions, errors."""

import math
import re

import pytest

from workflows.engine import ExpressionError, MissingValueError, Scope, compile_expression
from workflows.engine.expressions import MAX_INT_BITS, Compiler


def ev(source: str, scope=None, names=()):
    return compile_expression(source, names).evaluate(scope)


@pytest.mark.parametrize("source, expected", [
    ("1", 1), ("1.5", 1.5), ("1e3", 1000.0), ("2.5E-1", 0.25), ("'a'", "a"), ('"b"', "b"),
    ("true", True), ("false", False), ("null", None), ("True", True), ("None", None),
    ("[1, 'x', [2]]", [1, "x", [2]]), ("[]", []), ("[1, 2,]", [1, 2]),
    ('{"a": 1, "b": [true]}', {"a": 1, "b": [True]}), ("{}", {}),
    ("'it\\'s'", "it's"), (r"'a\nb\tc'", "a\nb\tc"), (r"'\u00e9\x41\U0001F600'", "éA😀"),
    (r"'back\\slash'", "back\\slash"), ("'\\q'", "\\q"),
])
def test_literals(source, expected):
    assert ev(source) == expected


@pytest.mark.parametrize("source, expected", [
    ("1 + 2 * 3", 7), ("(1 + 2) * 3", 9), ("7 / 2", 3.5), ("7 // 2", 3), ("-7 // 2", -4),
    ("7 % 3", 1), ("2 ** 10", 1024), ("2 ** 3 ** 2", 512), ("-2 ** 2", -4), ("2 ** -1", 0.5),
    ("--3", 3), ("+3", 3), ("1 - 2 - 3", -4), ("100 / 10 / 5", 2.0), ("'a' + 'b'", "ab"),
    ("[1] + [2]", [1, 2]), ("'ab' * 3", "ababab"), ("3 * 'ab'", "ababab"), ("[0] * 3", [0, 0, 0]),
    ("'x' * -1", ""), ("true + 1", 2), ("0.1 + 0.2 > 0.3", True), ("2.0 ** 0.5", math.sqrt(2)),
])
def test_arithmetic(source, expected):
    assert ev(source) == expected


@pytest.mark.parametrize("source, expected", [
    ("1 < 2", True), ("1 < 2 < 3", True), ("1 < 3 < 2", False), ("3 > 2 >= 2", True),
    ("1 == 1.0", True), ("'a' != 'b'", True), ("[1] == [1]", True), ("'b' in 'abc'", True),
    ("2 in [1, 2]", True), ("'k' in {'k': 1}", True), ("3 not in [1, 2]", True),
    ("'z' not in 'abc'", True), ("not 1 == 2", True), ("not []", True),
    ("1 and 2", 2), ("0 and 2", 0), ("0 or 'x'", "x"), ("null or 5", 5),
    ("true and false or true", True), ("1 < 2 and 2 < 3", True), ("(1 < 2) == true", True),
    ("'yes' if 1 > 0 else 'no'", "yes"), ("'yes' if 0 else 'no'", "no"),
    ("1 if false else 2 if false else 3", 3), ("[1, 2] < [1, 3]", True),
])
def test_comparisons_and_logic(source, expected):
    assert ev(source) == expected


def test_and_or_short_circuit_so_missing_paths_on_the_other_side_are_not_read():
    assert ev("false and input.nothing", {"input": {}}) is False
    assert ev("true or input.nothing", {"input": {}}) is True
    assert ev("1 if true else input.nothing", {"input": {}}) == 1


SCOPE = Scope(
    input={"text": "Hi", "rows": [{"name": "a"}, {"name": "b"}], "n": 3, "nested": {"k": {"v": 1}}},
    data={"value": 11, "list": [10, 20, 30], "with-dash": 1, "from": "me"},
    outputs={"llm-1": {"text": "out"}, "node_2": {"n": 2}},
    variables={"item": {"id": 7}},
)


@pytest.mark.parametrize("source, expected", [
    ("input", SCOPE.input), ("input.text", "Hi"), ("input.rows.1.name", "b"),
    ("input.rows[0]['name']", "a"), ("input['rows'][-1].name", "b"), ("input.nested.k.v", 1),
    ("value", 11), ("{value} > 10", True), ("{input.rows.0.name}", "a"), ("list[1]", 20),
    ("list[-1]", 30), ("item.id", 7), ("node_2.n", 2), ("{llm-1.text}", "out"),
    ("{ llm-1.text }", "out"), ("{with-dash}", 1), ("{from}", "me"), ("input.text[0]", "H"),
    ("[input.n, value][1]", 11), ("{'a': {'b': 5}}['a'].b", 5), ("(input.rows)[1].name", "b"),
])
def test_paths_read_dicts_and_lists(source, expected):
    assert ev(source, SCOPE) == expected


def test_bare_hyphenated_node_ids_are_names_only_when_the_graph_has_that_node():
    assert ev("llm-1.text", SCOPE, names=["llm-1"]) == "out"
    assert ev("value-1", SCOPE) == 10  # no node "value-1": a subtraction
    assert ev("value - 1", SCOPE, names=["value-1"]) == 10  # spaces: always a subtraction
    assert ev("llm-1-1", Scope(outputs={"llm-1": 5}), names=["llm-1"]) == 4


def test_name_resolution_order_is_input_then_loop_variable_then_node_then_data():
    scope = Scope(input={"i": 1}, data={"input": "data", "a": "data", "b": "data", "c": "data"},
                  outputs={"a": "node", "b": "node"}, variables={"a": "variable"})
    assert ev("[input.i, a, b, c]", scope) == [1, "variable", "node", "data"]


def test_inner_loop_variables_shadow_outer_ones_and_outputs_chain_to_the_parent():
    outer = Scope(input={}, outputs={"n1": {"x": 1}}, variables={"item": "outer", "row": 2})
    inner = Scope(input={}, data={}, outputs={"n2": {"y": 2}}, variables={"item": "inner"},
                  parent=outer)
    assert ev("[item, row, n1.x, n2.y]", inner) == ["inner", 2, 1, 2]


@pytest.mark.parametrize("source, fragment", [
    ("nothing", "'{nothing}' is missing: 'nothing' is not the input"),
    ("input.missing", "'{input.missing}' is missing: input has no key 'missing'"),
    ("input.rows.5", "'{input.rows.5}' is missing: input.rows has 2 items, no index 5"),
    ("input.rows.name", "input.rows is a list, so 'name' must be a number"),
    ("input.text.x", "input.text is string, not an object or list"),
    ("list[9]", "index 9 out of range"),
    ("{llm-1.missing}", "'{llm-1.missing}' is missing"),
])
def test_missing_paths_raise_missing_value_error_quoting_the_path(source, fragment):
    with pytest.raises(MissingValueError) as caught:
        ev(source, SCOPE)
    assert fragment in str(caught.value)
    assert repr(source) in str(caught.value)


@pytest.mark.parametrize("source, expected", [
    ("len('abc')", 3), ("len([1, 2])", 2), ("len({'a': 1})", 1), ("str(5)", "5"),
    ("str({'a': [1]})", '{"a": [1]}'), ("str(null)", "null"), ("str(true)", "true"),
    ("str('x')", "x"), ("int('42')", 42), ("int(' 7 ')", 7), ("int(3.9)", 3), ("int('2.5')", 2),
    ("float('1.5')", 1.5), ("float(2)", 2.0), ("bool(0)", False), ("bool('x')", True),
    ("round(2.567, 2)", 2.57), ("round(2.5)", 2), ("abs(-3)", 3), ("min(3, 1, 2)", 1),
    ("max([1, 5, 2])", 5), ("sum([1, 2, 3.5])", 6.5), ("lower('AbC')", "abc"),
    ("upper('abc')", "ABC"), ("strip('  a  ')", "a"), ("strip('xxaxx', 'x')", "a"),
    ("contains([1, 2], 2)", True), ("contains('abc', 'd')", False),
    ("startswith('hello', 'he')", True), ("endswith('hello', 'lo')", True),
    ("replace('a-b-c', '-', '+')", "a+b+c"), ("split('a b  c')", ["a", "b", "c"]),
    ("split('a,b', ',')", ["a", "b"]), ("join(['a', 1, null], ',')", "a,1,null"),
    ("join(['a', 'b'])", "ab"), ("keys({'a': 1, 'b': 2})", ["a", "b"]),
    ("values({'a': 1})", [1]), ("get({'a': 1}, 'a')", 1), ("get({'a': 1}, 'b', 0)", 0),
    ("get([1, 2], 5, 'none')", "none"), ("default(input.missing, 'fb')", "fb"),
    ("default(null, 3)", 3), ("default(0, 3)", 0), ("json({'a': 'é'})", '{"a": "é"}'),
    ("json('x')", '"x"'), ("parse_json('{\"a\": [1, 2]}')", {"a": [1, 2]}),
])
def test_functions(source, expected):
    assert ev(source, {"input": {}}) == expected


def test_now_returns_an_iso_utc_timestamp_and_is_not_constant():
    expression = compile_expression("now()")
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", expression.evaluate())
    assert expression.evaluate().endswith("+00:00")
    assert not expression.is_constant


@pytest.mark.parametrize("source, fragment", [
    ("1 / 0", "Division by zero"), ("1 // 0", "Division by zero"), ("1 % 0", "Modulo by zero"),
    ("0 ** -1", "negative power"), ("'a' + 1", "Cannot add string and number"),
    ("[1] + 'a'", "Cannot add list and string"), ("'a' - 'b'", "Cannot apply '-'"),
    ("{} * 2", "Cannot multiply"), ("-'a'", "'-' needs numbers"), ("'a' < 1", "Cannot compare"),
    ("1 in 5", "'in' needs a string, list or object"), ("1 in 'abc'", "'in' a string needs"),
    ("len(5)", "len() needs"), ("int('abc')", "cannot read"), ("int([1])", "int() needs"),
    ("float('x')", "float() cannot read"), ("min([])", "empty list"), ("sum(['a'])", "numbers"),
    ("lower(1)", "lower() needs a string"), ("split('a', '')", "non-empty separator"),
    ("join('ab')", "join() needs a list"), ("keys([1])", "keys() needs an object"),
    ("parse_json('{')", "invalid JSON"), ("round(1.5, 'x')", "round() takes"),
    ("(-8) ** 0.5", "no real value"), ("10.0 ** 400", "too large"), ("int(1e308 * 10)", "int()"),
    ("[1, 2]['a']", "must be an integer"), ("5[0]", "only objects and lists have items"),
    ("{[1]: 2}", "cannot be a key"), ("max(1, 'a')", "can be compared"),
    ("replace('a', 1, 'b')", "replace() needs a string"),
])
def test_runtime_errors_are_expression_errors_naming_the_expression(source, fragment):
    with pytest.raises(ExpressionError) as caught:
        ev(source)
    assert fragment in str(caught.value)
    assert repr(source) in str(caught.value)


@pytest.mark.parametrize("source, fragment", [
    ("", "empty"), ("1 +", "Unexpected end"), ("(1", "Expected ')'"), ("[1, 2", "Expected"),
    ("1 2", "Unexpected value 2"), ("a b", "Unexpected 'b'"), ("'abc", "Unterminated string"),
    ("x = 1", "compare with '=='"), ("a if b", "Expected 'else'"), ("not", "Unexpected end"),
    ("1 not 2", "Unexpected 'not'"), ("len(1, 2)", "len() takes 1 arguments, not 2"),
    ("now(1)", "now() takes 0 arguments"), ("foo(1)", "Unknown function 'foo'"),
    ("x.lower()", "Methods cannot be called"), ("(len)(1)", "Only the documented functions"),
    ("x[1:2]", "Slices are not supported"), ("(1, 2)", "Tuples are not supported"),
    ("()", "Empty parentheses"), ("{1, 2}", "sets are not supported"), ("a.", "Expected a key"),
    ("1abc", "Invalid number"), ("'\\x4'", "Bad \\x escape"), ("a & b", "bitwise"),
    ("a ; b", "only one expression"), ("1e999", "Number too large"), ("x is None", "'is'"),
    ("a ? b : c", "a if condition else b"), ("from", "'from' is not supported"),
])
def test_syntax_errors_say_what_is_wrong_and_where(source, fragment):
    with pytest.raises(ExpressionError) as caught:
        compile_expression(source)
    assert fragment.lower() in str(caught.value).lower()


def test_references_are_the_first_segments_read():
    expression = compile_expression("{llm-1.text} + input.a + len(item) + x[y.z]", ["llm-1"])
    assert expression.references == {"llm-1", "input", "item", "x", "y"}
    assert compile_expression("len('abc') + 1").references == frozenset()


def test_constant_expressions_are_detected():
    assert compile_expression("1 > 2").is_constant
    assert compile_expression("len([1]) == 1").is_constant
    assert not compile_expression("x > 2").is_constant


def test_compile_once_evaluate_many_with_different_scopes():
    expression = compile_expression("value * 2")
    assert [expression.evaluate({"value": n}) for n in range(3)] == [0, 2, 4]


def test_compiler_caches_compiled_expressions_and_templates():
    compiler = Compiler(["a-b"])
    assert compiler.expression("x + 1") is compiler.expression("x + 1")
    assert compiler.template("{x}") is compiler.template("{x}")
    assert compiler.expression("a-b").references == {"a-b"}


def test_ints_up_to_the_bit_limit_are_fine_and_one_bit_more_is_refused():
    assert ev(f"2 ** {MAX_INT_BITS - 1}") == 2 ** (MAX_INT_BITS - 1)
    assert ev("9 ** 9") == 9**9
    with pytest.raises(ExpressionError, match="Integer too large"):
        ev(f"2 ** {MAX_INT_BITS}")
    with pytest.raises(ExpressionError, match="Integer too large"):
        ev(f"3 ** {MAX_INT_BITS - 100}")


def test_unicode_names_and_keys_work_as_plain_dict_keys():
    assert ev("名字", {"名字": "值"}) == "值"
    assert ev("{input.名字}", {"input": {"名字": 1}}) == 1


def test_a_plain_mapping_can_be_the_scope():
    assert ev("input.a + b", {"input": {"a": 1}, "b": 2}) == 3
    assert ev("1 + 1", None) == 2
