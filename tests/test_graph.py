"""nnlib.graph.draw_dot: a Graphviz picture where `dot` is installed, a text drawing where it is not."""
import graphviz
import pytest

import nnlib.graph
from nnlib.engine import Value
from nnlib.graph import TextGraph, draw_dot, draw_text, trace


@pytest.fixture
def no_dot(monkeypatch):
    """As on a machine without Graphviz's `dot` program."""
    monkeypatch.setattr(nnlib.graph.shutil, "which", lambda name: None)


@pytest.fixture
def fake_dot(monkeypatch):
    """As on a machine with `dot` (building a Digraph does not run it)."""
    monkeypatch.setattr(nnlib.graph.shutil, "which", lambda name: f"/usr/bin/{name}")


def expression():
    a, b, c, f = Value(2.0, label="a"), Value(-3.0, label="b"), Value(10.0, label="c"), Value(-2.0, label="f")
    e = a * b
    e.label = "e"
    d = e + c
    d.label = "d"
    L = d * f
    L.label = "L"
    L.backward()
    return L


def test_without_dot_the_drawing_is_a_text_tree_of_labels_data_grads_and_operations(no_dot):
    drawing = draw_dot(expression())
    assert isinstance(drawing, TextGraph)
    assert repr(drawing).splitlines() == [
        "L | data -8.0000 | grad 1.0000   ← *",
        "├── d | data 4.0000 | grad -2.0000   ← +",
        "│   ├── e | data -6.0000 | grad -2.0000   ← *",
        "│   │   ├── a | data 2.0000 | grad 6.0000",
        "│   │   └── b | data -3.0000 | grad -4.0000",
        "│   └── c | data 10.0000 | grad -2.0000",
        "└── f | data -2.0000 | grad 4.0000",
    ]
    html = drawing._repr_html_()
    assert html.startswith("<pre>") and html.endswith("</pre>") and "L | data -8.0000" in html


def test_without_the_graphviz_package_the_drawing_is_text(monkeypatch, fake_dot):
    monkeypatch.setattr(nnlib.graph, "graphviz", None)
    assert isinstance(draw_dot(expression()), TextGraph)


def test_text_escapes_html_and_shows_a_shared_node_once(no_dot):
    a = Value(3.0, label="<a>")
    y = a * a + a
    text = repr(draw_dot(y))
    assert text.count("<a> | data 3.0000") == 3
    assert text.count("(shown above)") == 2
    assert "&lt;a&gt;" in draw_dot(y)._repr_html_() and "<a>" not in draw_dot(y)._repr_html_()


def test_text_of_a_very_deep_graph_is_cut(no_dot):
    y = Value(1.0)
    for _ in range(100_000):
        y = y + 1.0
    lines = repr(draw_dot(y)).splitlines()
    assert len(lines) == 201 and lines[-1] == "... (cut at 200 lines)"
    assert len(repr(draw_text(y, max_lines=10)).splitlines()) == 11


def test_unlabelled_values_are_drawn_too(no_dot):
    assert repr(draw_dot(Value(1.5))) == "data 1.5000 | grad 0.0000"


def test_with_dot_the_drawing_is_a_graphviz_digraph(fake_dot):
    L = expression()
    dot = draw_dot(L, format="png", rankdir="TB")
    assert isinstance(dot, graphviz.Digraph)
    assert dot.format == "png" and "rankdir=TB" in dot.source
    source = dot.source
    for label, data, grad in [("L", -8, 1), ("d", 4, -2), ("e", -6, -2), ("a", 2, 6), ("b", -3, -4), ("c", 10, -2),
                              ("f", -2, 4)]:
        assert f"{{ {label} | data {data:.4f} | grad {grad:.4f} }}" in source
    assert source.count("shape=record") == 7
    assert source.count("->") == 6 + 3, "6 edges into operations, 3 from operations to their results"
    assert source.count('label="*"') == 2 and source.count('label="+"') == 1


def test_record_labels_are_escaped(fake_dot):
    source = draw_dot(Value(1.0, label="a|b{c}")).source
    assert r"a\|b\{c\}" in source


def test_trace_lists_each_node_once_and_each_use_as_an_edge():
    a = Value(2.0)
    b = a * a
    c = b + a
    nodes, edges = trace(c)
    assert nodes[0] is c and len(nodes) == 3 and len({id(n) for n in nodes}) == 3
    assert sorted((id(child), id(parent)) for child, parent in edges) == sorted(
        [(id(b), id(c)), (id(a), id(c)), (id(a), id(b)), (id(a), id(b))])
