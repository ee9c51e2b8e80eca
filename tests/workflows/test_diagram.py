"""The SVG picture of a graph: well-formed, every label, escaped, states, loops, bad input."""

import json
import xml.etree.ElementTree as ET

import pytest

from templates.services import BUILTIN_DIR
from tests.factories import edge, node, simple_graph
from workflows.diagram import render_svg

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # raises on anything that is not well-formed XML


def texts(root: ET.Element) -> list[str]:
    return [t.text or "" for t in root.iter(f"{SVG}text")]


@pytest.mark.parametrize("path", sorted(BUILTIN_DIR.glob("*.json")), ids=lambda p: p.stem)
def test_every_builtin_renders_with_every_label(path):
    document = json.loads(path.read_text())
    root = parse(render_svg(document["nodes"], document["edges"]))
    shown = texts(root)
    for item in document["nodes"]:
        label = item["data"]["label"]
        assert label in shown or any(t.endswith("\u2026") and label.startswith(t[:-1])
                                     for t in shown), label
    groups = [g for g in root.iter(f"{SVG}g") if g.get("data-node-id")]
    assert {g.get("data-node-id") for g in groups} == {n["id"] for n in document["nodes"]}


def test_text_is_escaped():
    nasty = '<script>alert("x")</script> & </svg>'
    svg = render_svg([node("a&b", "start", label=nasty), node("e", "end", label="e")],
                     [edge("a&b", "e", '"><x')])
    root = parse(svg)
    assert "<script>" not in svg
    assert nasty[:23] in "".join(texts(root))
    assert any(g.get("data-node-id") == "a&b" for g in root.iter(f"{SVG}g"))


def test_branch_labels_loops_and_layers():
    graph = {
        "nodes": [node("start", "start"), node("check", "condition", expression="1"),
                  node("each", "loop", items_path="input.xs", label="Each x"),
                  node("body", "transform", parent="each", mapping={"y": "item"}),
                  node("out", "output")],
        "edges": [edge("start", "check"), edge("check", "each", "true"),
                  edge("check", "out", "false"), edge("each", "out")],
    }
    root = parse(render_svg(graph["nodes"], graph["edges"]))
    assert {"true", "false"} <= set(texts(root))
    boxes = {g.get("data-node-id"): g.find(f"{SVG}rect") for g in root.iter(f"{SVG}g")
             if g.get("data-node-id")}
    x = {k: float(v.get("x")) for k, v in boxes.items()}
    assert x["start"] < x["check"] < x["each"] < x["out"]
    # The loop's box holds its body.
    loop, body = boxes["each"], boxes["body"]
    assert float(loop.get("x")) < float(body.get("x"))
    assert float(body.get("x")) + float(body.get("width")) < \
        float(loop.get("x")) + float(loop.get("width"))


def test_states_colour_nodes_by_class():
    graph = simple_graph()
    root = parse(render_svg(graph["nodes"], graph["edges"],
                            {"start": "completed", "double": "waiting", "end": "nonsense"}))
    classes = {g.get("data-node-id"): g.get("class") for g in root.iter(f"{SVG}g")
               if g.get("data-node-id")}
    assert "state-completed" in classes["start"]
    assert "state-waiting" in classes["double"]
    assert "state-" not in classes["end"]


@pytest.mark.parametrize("nodes,edges", [
    ([], []), (None, None), ("x", 5), ([{"id": 1}, {"type": "x"}, "junk"], [{"source": "a"}]),
    ([node("a", "start"), node("b", "transform", parent="b")], [edge("a", "zzz")]),
    ([node("a", "start"), node("b", "end"), node("c", "end")],
     [edge("a", "b"), edge("b", "c"), edge("c", "b")]),
])
def test_malformed_drafts_still_render(nodes, edges):
    parse(render_svg(nodes, edges))
