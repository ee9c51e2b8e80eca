"""A workflow graph as a server-rendered SVG picture (no JavaScript needed to see it).

Layered layout: each node's column is its longest path from the scope's first nodes (the start,
or a loop body's first nodes), so every edge points right. A loop is drawn as a box holding its
body, laid out the same way. Nodes are labelled boxes coloured by type; edges are arrows labelled
with their `sourceHandle` ("true", "approved", "error"...). Passing `states` ({node_id: status})
colours nodes by how their run went; the classes it sets (`state-<status>`) are what the admin's
live page switches as events arrive. Every text is escaped, and the renderer never raises on a
malformed (draft) graph: it draws what it can.
"""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass, field
from html import escape
from typing import Any

NODE_W = 168
NODE_H = 54
GAP_X = 64
GAP_Y = 26
PAD = 16
LOOP_HEADER = 30
MAX_LABEL = 24

TYPE_COLOURS = {
    "start": "#d1fae5", "input": "#d1fae5", "end": "#e5e7eb", "output": "#e5e7eb",
    "llm": "#ede9fe", "agent": "#f3e8ff", "condition": "#fef3c7", "transform": "#dbeafe",
    "loop": "#f8fafc", "http": "#ffedd5", "datasource": "#cffafe", "approval": "#fce7f3",
}
DEFAULT_COLOUR = "#f1f5f9"
STATES = ("pending", "running", "completed", "failed", "skipped", "waiting")

STYLE = """
.cx-node rect.box{stroke:#64748b;stroke-width:1.2}
.cx-node text{font:12px sans-serif;fill:#0f172a}
.cx-node text.type{font-size:10px;fill:#475569}
.cx-node text.state{font-size:10px;font-weight:bold}
.cx-loop>rect.box{stroke-dasharray:5 3;fill-opacity:.6}
.cx-edge path{fill:none;stroke:#64748b;stroke-width:1.3}
.cx-edge text{font:10px sans-serif;fill:#334155}
.cx-edge.handle-error path{stroke:#dc2626;stroke-dasharray:4 2}
.state-pending rect.box{fill:#f8fafc;stroke:#94a3b8}
.state-running rect.box{fill:#bfdbfe;stroke:#2563eb;stroke-width:2.5}
.state-completed rect.box{fill:#bbf7d0;stroke:#16a34a;stroke-width:2}
.state-failed rect.box{fill:#fecaca;stroke:#dc2626;stroke-width:2.5}
.state-skipped rect.box{fill:#f1f5f9;stroke:#cbd5e1;stroke-dasharray:3 3}
.state-waiting rect.box{fill:#fef08a;stroke:#ca8a04;stroke-width:2.5}
.cx-loop.state-completed>rect.box,.cx-loop.state-running>rect.box{fill-opacity:.35}
"""


@dataclass
class _Box:
    node_id: str
    type: str
    label: str
    parent: str | None
    width: float = NODE_W
    height: float = NODE_H
    x: float = 0.0  # relative to its scope until `_place` makes it absolute
    y: float = 0.0
    children: list[str] = field(default_factory=list)


def _text(value: Any) -> str:
    return escape(str(value), quote=True)


def _short(label: str) -> str:
    return label if len(label) <= MAX_LABEL else label[:MAX_LABEL - 1] + "\u2026"


def _boxes(nodes: Any) -> dict[str, _Box]:
    boxes: dict[str, _Box] = {}
    for raw in nodes if isinstance(nodes, list) else []:
        if not isinstance(raw, dict) or not isinstance(raw.get("id"), str) or not raw["id"]:
            continue
        data = raw.get("data") if isinstance(raw.get("data"), dict) else {}
        label = data.get("label") if isinstance(data.get("label"), str) else ""
        node_type = raw.get("type") if isinstance(raw.get("type"), str) else "?"
        parent = raw.get("parentId") if isinstance(raw.get("parentId"), str) else None
        boxes.setdefault(raw["id"], _Box(raw["id"], node_type, label or raw["id"], parent))
    # A parent that is missing, or a parent chain that loops, puts the node at the top level.
    for box in boxes.values():
        seen, parent = {box.node_id}, box.parent
        while parent is not None:
            if parent not in boxes or parent in seen:
                box.parent = None
                break
            seen.add(parent)
            parent = boxes[parent].parent
    for box in boxes.values():
        if box.parent is not None:
            boxes[box.parent].children.append(box.node_id)
    return boxes


def _edges(edges: Any, boxes: dict[str, _Box]) -> list[tuple[str, str, str | None]]:
    found = []
    for raw in edges if isinstance(edges, list) else []:
        if not isinstance(raw, dict):
            continue
        source, target = raw.get("source"), raw.get("target")
        if source in boxes and target in boxes and source != target:
            handle = raw.get("sourceHandle")
            found.append((source, target, handle if isinstance(handle, str) else None))
    return found


def _layers(members: list[str], edges: list[tuple[str, str, str | None]]) -> dict[str, int]:
    """Longest path from the scope's sources; nodes caught in a cycle go after the rest."""
    inside = set(members)
    successors: dict[str, list[str]] = defaultdict(list)
    indegree = dict.fromkeys(members, 0)
    for source, target, _ in edges:
        if source in inside and target in inside:
            successors[source].append(target)
            indegree[target] += 1
    layer = dict.fromkeys(members, 0)
    ready = deque(m for m in members if indegree[m] == 0)
    done = 0
    while ready:
        node_id = ready.popleft()
        done += 1
        for target in successors[node_id]:
            layer[target] = max(layer[target], layer[node_id] + 1)
            indegree[target] -= 1
            if indegree[target] == 0:
                ready.append(target)
    if done < len(members):
        last = max((layer[m] for m in members if indegree[m] == 0), default=0) + 1
        for member in members:
            if indegree[member] > 0:
                layer[member] = last
    return layer


def _layout(scope: list[str], boxes: dict[str, _Box],
            edges: list[tuple[str, str, str | None]]) -> tuple[float, float]:
    """Place a scope's boxes relative to the scope; returns the scope's width and height."""
    for node_id in scope:  # loop boxes are sized by their bodies first
        box = boxes[node_id]
        if box.children:
            width, height = _layout(box.children, boxes, edges)
            box.width = max(NODE_W, width + 2 * PAD)
            box.height = height + LOOP_HEADER + PAD
    layer = _layers(scope, edges)
    columns: dict[int, list[str]] = defaultdict(list)
    for node_id in scope:
        columns[layer[node_id]].append(node_id)
    x = 0.0
    total_height = 0.0
    for index in sorted(columns):
        column = columns[index]
        width = max(boxes[n].width for n in column)
        y = 0.0
        for node_id in column:
            box = boxes[node_id]
            box.x, box.y = x + (width - box.width) / 2, y
            y += box.height + GAP_Y
        total_height = max(total_height, y - GAP_Y)
        x += width + GAP_X
    # Centre short columns against the tallest one, so chains read as a straight line.
    for column in columns.values():
        height = sum(boxes[n].height for n in column) + GAP_Y * (len(column) - 1)
        for node_id in column:
            boxes[node_id].y += (total_height - height) / 2
    return max(x - GAP_X, 0.0), total_height


def _place(scope: list[str], boxes: dict[str, _Box], dx: float, dy: float) -> None:
    for node_id in scope:
        box = boxes[node_id]
        box.x += dx
        box.y += dy
        if box.children:
            _place(box.children, boxes, box.x + PAD, box.y + LOOP_HEADER)


def _node_svg(box: _Box, boxes: dict[str, _Box], states: dict[str, str]) -> list[str]:
    state = states.get(box.node_id)
    classes = ["cx-node", f"type-{box.type}"]
    if box.children or box.type == "loop":
        classes.append("cx-loop")
    if state in STATES:
        classes.append(f"state-{state}")
    fill = TYPE_COLOURS.get(box.type, DEFAULT_COLOUR)
    parts = [
        f'<g class="{_text(" ".join(classes))}" data-node-id="{_text(box.node_id)}" '
        f'data-node-type="{_text(box.type)}">',
        f"<title>{_text(box.label)} ({_text(box.type)}, id {_text(box.node_id)})</title>",
        f'<rect class="box" x="{box.x:.1f}" y="{box.y:.1f}" width="{box.width:.1f}" '
        f'height="{box.height:.1f}" rx="8" fill="{fill}"/>',
    ]
    top = box.y + (18 if box.children or box.type == "loop" else 22)
    parts.append(f'<text class="label" x="{box.x + 10:.1f}" y="{top:.1f}">'
                 f"{_text(_short(box.label))}</text>")
    parts.append(f'<text class="type" x="{box.x + 10:.1f}" y="{top + 16:.1f}">'
                 f"{_text(box.type)}</text>" if not box.children else "")
    # The state sits on the second line (under the label) except on loops, which have one.
    state_y = top if box.children else top + 16
    parts.append(f'<text class="state" x="{box.x + box.width - 8:.1f}" y="{state_y:.1f}" '
                 f'text-anchor="end">{_text(state or "")}</text>')
    parts.append("</g>")
    for child in box.children:
        parts += _node_svg(boxes[child], boxes, states)
    return parts


def _edge_svg(source: _Box, target: _Box, handle: str | None) -> str:
    if target.parent == source.node_id:
        # A loop pointing into its own body: enter the child from the loop's header.
        x1, y1 = source.x + PAD / 2, source.y + LOOP_HEADER / 2
    else:
        x1, y1 = source.x + source.width, source.y + source.height / 2
    x2, y2 = target.x, target.y + target.height / 2
    bend = max(abs(x2 - x1) / 2, 30)
    path = (f"M{x1:.1f},{y1:.1f} C{x1 + bend:.1f},{y1:.1f} "
            f"{x2 - bend:.1f},{y2:.1f} {x2:.1f},{y2:.1f}")
    label = ""
    if handle:
        mx, my = (x1 + x2) / 2, (y1 + y2) / 2 - 4
        label = (f'<text x="{mx:.1f}" y="{my:.1f}" text-anchor="middle">'
                 f"{_text(handle)}</text>")
    handle_class = f" handle-{_text(handle)}" if handle else ""
    return (f'<g class="cx-edge{handle_class}"><path d="{path}" '
            f'marker-end="url(#cx-arrow)"/>{label}</g>')


def render_svg(nodes: Any, edges: Any, states: dict[str, str] | None = None) -> str:
    """The graph as a standalone SVG document (a string of well-formed XML)."""
    boxes = _boxes(nodes)
    links = _edges(edges, boxes)
    top = [b.node_id for b in boxes.values() if b.parent is None]
    width, height = _layout(top, boxes, links)
    _place(top, boxes, PAD, PAD)
    width, height = max(width + 2 * PAD, 200), max(height + 2 * PAD, 80)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="cx-graph" width="{width:.0f}" '
        f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" role="img" '
        # In a page, a wide graph shrinks to fit (down to half its size, then it scrolls).
        f'style="max-width:100%;height:auto;min-width:{min(width, max(width / 2, 600)):.0f}px" '
        f'aria-label="Workflow graph">',
        f"<style>{STYLE}</style>",
        '<defs><marker id="cx-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        'fill="#64748b"/></marker></defs>',
    ]
    if not boxes:
        parts.append('<text x="16" y="40" font-family="sans-serif" font-size="13">'
                     "This workflow has no nodes yet.</text>")
    states = states or {}
    for node_id in top:
        parts += _node_svg(boxes[node_id], boxes, states)
    for source, target, handle in links:
        parts.append(_edge_svg(boxes[source], boxes[target], handle))
    parts.append("</svg>")
    return "".join(part for part in parts if part)


def svg_html(nodes: Any, edges: Any, states: dict[str, str] | None = None,
             element_id: str = "") -> str:
    """The picture as safe HTML for templates and admin fields (fits, or scrolls when wide)."""
    from django.utils.html import format_html
    from django.utils.safestring import mark_safe

    # render_svg escapes every text it draws, so its markup is safe to embed as is.
    svg = mark_safe(render_svg(nodes, edges, states))  # noqa: S308
    return format_html('<div class="conflux-graph" id="{}" style="overflow:auto;'
                       'max-width:100%">{}</div>', element_id or "", svg)
