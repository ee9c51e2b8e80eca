"""`{path}` templates: text rendering, raw values, literal braces, missing paths."""

import pytest

from workflows.engine import ExpressionError, MissingValueError, Scope, compile_template

SCOPE = Scope(input={"text": "hello", "n": 3, "rows": [{"name": "a"}], "flag": True,
                     "none": None},
              data={"value": 10, "obj": {"k": [1, 2]}},
              outputs={"llm-1": {"text": "answer"}},
              variables={"item": {"id": 1}})


@pytest.mark.parametrize("source, expected", [
    ("plain", "plain"), ("", ""), ("{input.text} world", "hello world"),
    ("Q: {input}", 'Q: {"text": "hello", "n": 3, "rows": [{"name": "a"}], "flag": true, '
                   '"none": null}'),
    ("n={input.n}", "n=3"), ("{input.rows.0.name}", "a"), ("{llm-1.text}!", "answer!"),
    ("{value}/{item.id}", "10/1"), ("{obj}", '{"k": [1, 2]}'), ("{ input.n }", "3"),
    ("{{literal}} {{{value}}}", "{literal} {10}"), ("}}{{", "}{"), ("{input.flag}", "true"),
    ("{input.none}", "null"), ("请回答:{input.text}", "请回答:hello"),
])
def test_render_writes_every_reference_as_text(source, expected):
    assert compile_template(source).render(SCOPE) == expected


@pytest.mark.parametrize("source, expected", [
    ("{input.n}", 3), ("{obj}", {"k": [1, 2]}), ("{input.rows}", [{"name": "a"}]),
    ("{input.none}", None), (" {input.n}", " 3"), ("n={input.n}", "n=3"), ("text", "text"),
])
def test_render_value_keeps_the_raw_value_of_a_single_reference(source, expected):
    assert compile_template(source).render_value(SCOPE) == expected


def test_a_missing_path_is_an_error_quoting_it_never_an_empty_string():
    with pytest.raises(MissingValueError, match=r"'\{input.nothing\}' is missing"):
        compile_template("Hi {input.nothing}").render(SCOPE)
    with pytest.raises(MissingValueError, match=r"'\{ghost\}'"):
        compile_template("{ghost}").render_value(SCOPE)


@pytest.mark.parametrize("source, fragment", [
    ("{input", "Unclosed '{'"), ("a } b", "Single '}'"), ("{}", "not a dotted path"),
    ("{input.x + 1}", "not a dotted path"), ("{a..b}", "not a dotted path"),
    ("{_x}", "starting with '_'"), ("{input.__class__}", "starting with '_'"),
])
def test_template_syntax_errors_explain_literal_braces(source, fragment):
    with pytest.raises(ExpressionError) as caught:
        compile_template(source)
    assert fragment in str(caught.value)
    assert "write '{{' and '}}' for literal braces" in str(caught.value)


def test_references_and_static_templates():
    template = compile_template("{input.a} {llm-1.text} {item}")
    assert template.references == {"input", "llm-1", "item"}
    assert compile_template("no refs").is_static
    assert not template.is_static


def test_templates_compile_once_and_render_with_many_scopes():
    template = compile_template("v={value}")
    assert [template.render({"value": n}) for n in range(3)] == ["v=0", "v=1", "v=2"]


def test_non_text_template_is_refused():
    with pytest.raises(ExpressionError, match="must be text"):
        compile_template(5)  # type: ignore[arg-type]
