# Generated from solutions/02_autograd/autograd.ipynb: the course's reference solution.
# Do not edit: edit the notebook, then run `python3 course.py build`.

"""Drawing the expression graph of a `Value`: with Graphviz where it is installed, as text where it is not."""
from __future__ import annotations

import html
import shutil

try:
    import graphviz
except ImportError:  # pictures need the graphviz package; the text drawing works without it
    graphviz = None


def trace(root) -> tuple[list, list[tuple]]:
    """The nodes and edges of the graph that produced `root`, found without recursion.

    Args:
        root: a Value (anything with `data`, `grad`, `label`, `_op` and `_prev` works).

    Returns:
        nodes: every node once, `root` first.
        edges: (child, parent) pairs, once per use: `a + a` gives the edge (a, a + a) twice.
    """
    nodes, edges, seen, stack = [], [], {id(root)}, [root]
    while stack:
        node = stack.pop()
        nodes.append(node)
        for child in node._prev:
            edges.append((child, node))
            if id(child) not in seen:
                seen.add(id(child))
                stack.append(child)
    return nodes, edges


class TextGraph:
    """A text drawing of an expression graph; Jupyter shows it like the picture it replaces."""

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return self.text

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(self.text)}</pre>"


def _describe(node) -> str:
    name = f"{node.label} | " if node.label else ""
    made_by = f"   ← {node._op}" if node._op else ""
    return f"{name}data {node.data:.4f} | grad {node.grad:.4f}{made_by}"


def draw_text(root, max_lines: int = 200) -> TextGraph:
    """The graph that produced `root` as a text tree: each node above its children, at most `max_lines` lines."""
    lines, shown = [], set()
    stack = [(root, "", "")]  # (node, prefix of its line, prefix of its children's lines)
    while stack and len(lines) < max_lines:
        node, prefix, child_prefix = stack.pop()
        if id(node) in shown:
            lines.append(f"{prefix}{_describe(node)}   (shown above)")
            continue
        shown.add(id(node))
        lines.append(prefix + _describe(node))
        children = node._prev
        for i in reversed(range(len(children))):
            last = i == len(children) - 1
            stack.append((children[i], child_prefix + ("└── " if last else "├── "),
                          child_prefix + ("    " if last else "│   ")))
    if stack:
        lines.append(f"... (cut at {max_lines} lines)")
    return TextGraph("\n".join(lines))


def _record(text: str) -> str:
    """`text` escaped for a field of a Graphviz record label."""
    for special in "\\{}|<>":
        text = text.replace(special, "\\" + special)
    return text


def draw_dot(root, format: str = "svg", rankdir: str = "LR"):
    """Draw the expression graph that produced `root`: a box per Value (label, data, grad), an oval per operation.

    Args:
        root: a Value (anything with `data`, `grad`, `label`, `_op` and `_prev` works).
        format: the picture format Graphviz renders, e.g. 'svg' or 'png'.
        rankdir: 'LR' draws from left to right, 'TB' from top to bottom.

    Returns:
        A graphviz.Digraph, which Jupyter shows as a picture, when the graphviz package and Graphviz's `dot`
        program are installed. Otherwise a TextGraph (see draw_text), which shows the same graph as text.
        A missing `dot` never raises.
    """
    if graphviz is None or shutil.which("dot") is None:
        return draw_text(root)
    nodes, edges = trace(root)
    dot = graphviz.Digraph(format=format, graph_attr={"rankdir": rankdir})
    for node in nodes:
        uid = str(id(node))
        dot.node(uid, shape="record",
                 label=f"{{ {_record(node.label)} | data {node.data:.4f} | grad {node.grad:.4f} }}")
        if node._op:
            dot.node(uid + node._op, label=node._op)
            dot.edge(uid + node._op, uid)
    for child, parent in edges:
        dot.edge(str(id(child)), str(id(parent)) + parent._op)
    return dot
