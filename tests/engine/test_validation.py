"""Validation: every code, all problems at once, never raising, warnings, speed."""


import pytest

from workflows.engine import Graph, Issue, ValidationResult, validate

from .helpers import REGISTRY, chain, document, edge, node


def codes(result: ValidationResult) -> list[str]:
    return [issue.code for issue in result.errors]


def warning_codes(result: ValidationResult) -> list[str]:
    return [issue.code for issue in result.warnings]


def valid_graph() -> dict:
    return document(
        [node("start", "start"),
         node("cond", "condition", expression="input.n > 1"),
         node("t-1", "transform", mapping={"v": "input.n + 1"}),
         node("loop", "loop", items_path="input.rows"),
         node("body", "transform", parent="loop", mapping={"x": "item.x * 2"}),
         node("out", "output", mapping={"v": "{t-1.v}", "items": "loop.items"}),
         node("end", "end")],
        [edge("start", "cond"), edge("cond", "t-1", "true"), edge("cond", "end", "false"),
         edge("t-1", "loop"), edge("loop", "out"), edge("out", "end")],
    )


def test_a_valid_graph_has_no_errors_or_warnings():
    result = validate(valid_graph())
    assert result.valid, result.errors
    assert result.errors == [] and result.warnings == []
    assert result.to_dict() == {"valid": True, "errors": [], "warnings": []}


def test_a_graph_object_validates_like_its_document():
    assert validate(Graph.from_dict(valid_graph())).valid


def test_issue_to_dict_has_the_contract_shape():
    issue = Issue("n1", "CYCLE", "msg")
    assert issue.to_dict() == {"node_id": "n1", "code": "CYCLE", "message": "msg"}


@pytest.mark.parametrize("bad", [None, [], "x", 5, {"nodes": "x"}, {"nodes": [1, None]},
                                 {"nodes": [{"id": 1}]}, {"nodes": [], "edges": 7}])
def test_malformed_input_is_an_invalid_graph_issue_never_an_exception(bad):
    result = validate(bad)
    assert not result.valid
    assert "INVALID_GRAPH" in codes(result)


def test_every_problem_is_reported_at_once():
    bad = document(
        [node("a", "mystery"), node("b", "transform"), node("c", "condition", expression="1 +")],
        [edge("a", "ghost"), edge("c", "b", "maybe")],
    )
    found = set(codes(validate(bad)))
    assert {"UNKNOWN_NODE_TYPE", "EDGE_TARGET_MISSING", "NO_START_NODE", "MISSING_CONFIG",
            "EXPRESSION_SYNTAX", "INVALID_HANDLE", "CONDITION_BRANCH_MISSING"} <= found


def test_no_start_node():
    assert codes(validate(chain(node("t", "transform", mapping={"a": "1"}), node("e", "end")))) \
        == ["NO_START_NODE"]


def test_an_input_node_can_be_the_entry_point():
    assert validate(chain(node("in", "input", fields=[]), node("e", "end"))).valid


def test_multiple_start_nodes():
    graph = document([node("s1", "start"), node("s2", "start"), node("e", "end")],
                     [edge("s1", "e"), edge("s2", "e")])
    result = validate(graph)
    assert codes(result) == ["MULTIPLE_START_NODES"]
    assert result.errors[0].node_id == "s2"


def test_several_input_nodes_without_a_start_are_multiple_entry_points():
    graph = document([node("i1", "input"), node("i2", "input"), node("e", "end")],
                     [edge("i1", "e"), edge("i2", "e")])
    assert codes(validate(graph)) == ["MULTIPLE_START_NODES"]


def test_unknown_node_type_names_the_known_ones():
    result = validate(chain(node("s", "start"), node("x", "teleport"), node("e", "end")))
    assert codes(result) == ["UNKNOWN_NODE_TYPE"]
    assert "teleport" in result.errors[0].message and "transform" in result.errors[0].message


def test_a_registry_with_more_types_accepts_them():
    graph = chain(node("s", "start"), node("z", "sleep", ms=1), node("e", "end"))
    assert not validate(graph).valid
    assert validate(graph, registry=REGISTRY).valid


def test_duplicate_node_and_edge_ids():
    graph = chain(node("s", "start"), node("s", "end"))
    graph["edges"] = [edge("s", "s", edge_id="e"), edge("s", "s", edge_id="e")]
    assert {"DUPLICATE_NODE_ID", "DUPLICATE_EDGE_ID"} <= set(codes(validate(graph)))


def test_edges_to_missing_nodes():
    graph = chain(node("s", "start"), node("e", "end"))
    graph["edges"] += [edge("ghost", "e"), edge("s", "nowhere")]
    assert codes(validate(graph)) == ["EDGE_SOURCE_MISSING", "EDGE_TARGET_MISSING"]


def test_cycle_outside_loop_bodies():
    graph = document(
        [node("s", "start"), node("a", "transform", mapping={"x": "1"}),
         node("b", "transform", mapping={"x": "2"}), node("e", "end")],
        [edge("s", "a"), edge("a", "b"), edge("b", "a"), edge("b", "e")],
    )
    result = validate(graph)
    assert "CYCLE" in codes(result)
    cycle = next(i for i in result.errors if i.code == "CYCLE")
    assert "a" in cycle.message and "b" in cycle.message


def test_a_self_loop_is_a_cycle():
    graph = chain(node("s", "start"), node("e", "end"))
    graph["edges"].append(edge("e", "e"))
    assert "CYCLE" in codes(validate(graph))


def test_cycle_inside_a_loop_body():
    graph = valid_graph()
    graph["nodes"].append(node("body2", "transform", parent="loop", mapping={"y": "1"}))
    graph["edges"] += [edge("body", "body2"), edge("body2", "body")]
    result = validate(graph)
    assert "CYCLE" in codes(result)
    assert "loop 'loop'" in next(i for i in result.errors if i.code == "CYCLE").message


def test_unreachable_node():
    graph = chain(node("s", "start"), node("e", "end"))
    graph["nodes"].append(node("lonely", "output"))
    result = validate(graph)
    assert codes(result) == ["UNREACHABLE_NODE"]
    assert result.errors[0].node_id == "lonely"


def test_condition_needs_both_branches():
    graph = chain(node("s", "start"), node("c", "condition", expression="input.x"),
                  node("e", "end"))
    graph["edges"][1]["sourceHandle"] = "true"
    result = validate(graph)
    assert codes(result) == ["CONDITION_BRANCH_MISSING"]
    assert "'false'" in result.errors[0].message


def test_condition_edges_without_a_handle_are_invalid():
    graph = document([node("s", "start"), node("c", "condition", expression="x"),
                      node("e", "end")],
                     [edge("s", "c"), edge("c", "e"), edge("c", "e", "true"),
                      edge("c", "e", "false")])
    result = validate(graph)
    assert codes(result) == ["INVALID_HANDLE"]
    assert "no sourceHandle" in result.errors[0].message


def test_unknown_handle_of_a_condition_is_invalid():
    graph = valid_graph()
    graph["edges"].append(edge("cond", "end", "maybe"))
    assert codes(validate(graph)) == ["INVALID_HANDLE"]


def test_error_handle_without_on_error_branch_is_invalid():
    graph = chain(node("s", "start"), node("t", "transform", mapping={"a": "1"}),
                  node("e", "end"))
    graph["edges"].append(edge("t", "e", "error"))
    result = validate(graph)
    assert codes(result) == ["INVALID_HANDLE"]
    assert 'on_error "branch"' in result.errors[0].message


def test_on_error_branch_needs_an_error_edge():
    graph = chain(node("s", "start"), node("t", "transform", mapping={"a": "1"},
                                            on_error="branch"), node("e", "end"))
    assert codes(validate(graph)) == ["ERROR_BRANCH_MISSING"]
    graph["edges"].append(edge("t", "e", "error"))
    assert validate(graph).valid


def test_missing_and_invalid_config():
    graph = chain(node("s", "start"), node("t", "transform"),
                  node("l", "loop", items_path="input.rows", error_handling="retry",
                       max_concurrency=0, item_variable="input"),
                  node("c", "condition", expression=5), node("e", "end"))
    graph["nodes"][3]["data"]["expression"] = 5
    graph["edges"][3]["sourceHandle"] = "true"
    graph["edges"].append(edge("c", "e", "false"))
    result = validate(graph)
    found = [(i.node_id, i.code) for i in result.errors]
    assert ("t", "MISSING_CONFIG") in found
    assert found.count(("l", "INVALID_CONFIG")) == 3
    assert ("c", "INVALID_CONFIG") in found
    assert all(i.message.startswith(f"Node '{i.node_id}'") for i in result.errors)


@pytest.mark.parametrize("mapping, code", [
    ({"a": "1 +"}, "EXPRESSION_SYNTAX"), ({"a": 5}, "INVALID_CONFIG"),
    ({"": "1"}, "INVALID_CONFIG"), ("a = 1", "INVALID_CONFIG"),
    ({"a": "__import__('os')"}, "EXPRESSION_SYNTAX"),
])
def test_transform_mapping_problems(mapping, code):
    graph = chain(node("s", "start"), node("t", "transform", mapping=mapping), node("e", "end"))
    assert codes(validate(graph)) == [code]


@pytest.mark.parametrize("fields", [
    "x", [5], [{"type": "string"}], [{"name": "a", "type": "date"}],
    [{"name": "a"}, {"name": "a"}], [{"name": "a", "type": "integer", "default": "x"}],
    [{"name": "a", "required": "yes"}],
])
def test_input_field_specs_are_checked(fields):
    graph = chain(node("in", "input", fields=fields), node("e", "end"))
    assert codes(validate(graph)) == ["INVALID_CONFIG"]


def test_template_syntax_is_checked_for_template_fields():
    registry = REGISTRY.copy()
    from workflows.engine import Field, NodeType

    class Greet(NodeType):
        type_name = "greet"
        config_fields = (Field("prompt", "template", required=True),
                         Field("headers", "template_json"))

    registry.register(Greet)
    graph = chain(node("s", "start"), node("g", "greet", prompt="Hi {input.name",
                                           headers={"a": ["{x"]}), node("e", "end"))
    assert codes(validate(graph, registry)) == ["TEMPLATE_SYNTAX", "TEMPLATE_SYNTAX"]
    graph["nodes"][1]["data"] = {"prompt": "Hi {input.name}", "headers": {"a": "{g-x}"}}
    assert validate(graph, registry).valid


def test_reference_to_a_node_that_runs_later_or_on_another_branch_is_unknown():
    graph = document(
        [node("s", "start"), node("c", "condition", expression="input.x"),
         node("yes", "transform", mapping={"a": "1"}),
         node("no", "transform", mapping={"b": "{yes.a}"}),
         node("e", "end", ), node("late", "transform", mapping={"z": "1"})],
        [edge("s", "c"), edge("c", "yes", "true"), edge("c", "no", "false"), edge("yes", "e"),
         edge("no", "e"), edge("e", "late")],
    )
    graph["nodes"][4] = node("out", "output", mapping={"r": "late.z"})
    graph["nodes"][4]["id"] = "e"
    result = validate(graph)
    refs = [(i.node_id, i.code) for i in result.errors]
    assert refs == [("no", "UNKNOWN_REFERENCE"), ("e", "UNKNOWN_REFERENCE")]
    assert "'yes'" in result.errors[0].message


def test_references_to_ancestors_input_item_variables_and_data_keys_are_fine():
    graph = valid_graph()
    graph["nodes"][4]["data"]["mapping"] = {
        "a": "item.x + input.n + {t-1.v} + len(cond) + t-1.v", "b": "unknown_key"}
    assert validate(graph).valid


def test_self_reference_is_unknown():
    graph = chain(node("s", "start"), node("t", "transform", mapping={"a": "t.a"}),
                  node("e", "end"))
    assert codes(validate(graph)) == ["UNKNOWN_REFERENCE"]


def test_body_node_cannot_read_the_loop_output_or_a_later_node():
    graph = valid_graph()
    graph["nodes"][4]["data"]["mapping"] = {"a": "loop.items", "b": "out.v"}
    assert codes(validate(graph)) == ["UNKNOWN_REFERENCE", "UNKNOWN_REFERENCE"]


def test_loop_parent_missing_and_invalid_parent():
    graph = valid_graph()
    graph["nodes"] += [node("orphan", "transform", parent="nope", mapping={"a": "1"}),
                       node("kid", "transform", parent="t-1", mapping={"a": "1"}),
                       node("s2", "start", parent="loop")]
    found = [(i.node_id, i.code) for i in validate(graph).errors]
    assert ("orphan", "LOOP_PARENT_MISSING") in found
    assert ("kid", "INVALID_PARENT") in found
    assert ("s2", "INVALID_PARENT") in found


def test_edges_across_a_loop_body_boundary_are_invalid():
    graph = valid_graph()
    graph["edges"].append(edge("body", "out"))
    assert codes(validate(graph)) == ["INVALID_EDGE"]


def test_an_edge_from_a_loop_into_its_body_is_allowed_and_not_followed():
    graph = valid_graph()
    graph["edges"].append(edge("loop", "body"))
    assert validate(graph).valid


def test_an_edge_into_a_start_node_is_invalid():
    graph = valid_graph()
    graph["edges"].append(edge("t-1", "start"))
    assert "INVALID_EDGE" in codes(validate(graph))


def test_invalid_policy():
    graph = chain(node("s", "start", retry={"max_attempts": 0}, timeout_ms=-5,
                       on_error="shrug"), node("e", "end"))
    result = validate(graph)
    assert codes(result) == ["INVALID_POLICY"] * 3
    assert all(i.node_id == "s" for i in result.errors)


def test_constant_condition_is_a_dead_branch_warning():
    graph = valid_graph()
    graph["nodes"][1]["data"]["expression"] = "1 > 2"
    result = validate(graph)
    assert result.valid
    assert warning_codes(result) == ["DEAD_BRANCH"]
    assert "'true' branch never runs" in result.warnings[0].message


def test_a_node_whose_output_goes_nowhere_is_an_unused_output_warning():
    graph = valid_graph()
    graph["nodes"].append(node("dangling", "transform", mapping={"a": "1"}))
    graph["edges"].append(edge("t-1", "dangling"))
    result = validate(graph)
    assert result.valid and warning_codes(result) == ["UNUSED_OUTPUT"]


def test_no_end_node_and_empty_loop_warnings():
    graph = document([node("s", "start"), node("l", "loop", items_path="input.rows")],
                     [edge("s", "l")])
    assert set(warning_codes(validate(graph))) == {"NO_END_NODE", "UNUSED_OUTPUT",
                                                    "EMPTY_LOOP"}


def test_a_node_type_whose_validation_crashes_is_reported_not_raised():
    from workflows.engine import NodeType

    class Broken(NodeType):
        type_name = "broken"

        def validate_config(self, config, compiler=None):
            raise RuntimeError("bug")

    registry = REGISTRY.copy()
    registry.register(Broken)
    result = validate(chain(node("s", "start"), node("b", "broken"), node("e", "end")), registry)
    assert codes(result) == ["INVALID_CONFIG"]


def big_graph(size: int) -> dict:
    nodes = [node("start", "start")]
    edges = []
    for index in range(1, size - 1):
        previous = nodes[-1]["id"]
        expression = f"value + {{{previous}.value}} * {index}" if index > 1 else "input.x"
        nodes.append(node(f"n-{index}", "transform", mapping={"value": expression}))
        edges.append(edge(previous, f"n-{index}"))
    edges.append(edge(nodes[-1]["id"], "end"))
    nodes.append(node("end", "end"))
    return document(nodes, edges)


def test_a_thousand_node_graph_validates():
    # How fast is measured by bench/bench_engine.py (bench/RESULTS.md), not here.
    result = validate(big_graph(1000))
    assert result.valid, result.errors[:3]
    assert result.errors == []
