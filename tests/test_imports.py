"""The project's own modules import one another in one direction only.

The import graph is read from the source (ast), not by importing: every `import` and `from ...
import` of a module counts, at its top, inside a function or under `if TYPE_CHECKING:`, because
each is a dependency a reader has to follow. A cycle fails, and so does an import against the
pipeline's direction:

    autograder.authoring   solutions/ -> chapters/, nnlib/, the class edition: imports neither
                           the execution layer nor the learner's commands nor grading
    autograder.execution   a notebook through the grading path (under `check`, `grade` and the
                           audit): imports neither the learner's commands nor grading
    autograder.learner     check, export, restore, status: does not import grading
    autograder.grading     course.py grade: does not import the learner's commands
    autograder.audit       on top of grading: only course.py (its entry point) imports it
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("autograder", "nnlib")
# {layer: layers it must not import}
FORBIDDEN = {
    "autograder.authoring": ("autograder.execution", "autograder.learner", "autograder.grading",
                             "autograder.audit"),
    "autograder.execution": ("autograder.learner", "autograder.grading", "autograder.audit"),
    "autograder.learner": ("autograder.grading", "autograder.audit"),
    "autograder.grading": ("autograder.learner", "autograder.audit"),
    "nnlib": ("autograder",),
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    """{dotted name: file} of every module of the project: its packages and course.py."""
    found = {"course": ROOT / "course.py"}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "__pycache__" not in path.parts and not any(part.startswith(".") for part in path.parts):
                found[module_name(path)] = path
    return found


def resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The project module an imported name stands for (the longest known prefix), or None."""
    parts = name.split(".")
    while parts:
        if ".".join(parts) in modules:
            return ".".join(parts)
        parts.pop()
    return None


def imports_of(module: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The project modules that `module` imports, anywhere in its source."""
    is_package = path.name == "__init__.py"
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")[:len(module.split(".")) - node.level + is_package]
                base = ".".join(anchor + ([base] if base else []))
            # `from package import module` imports the module; `from module import name`, the module
            names = [f"{base}.{alias.name}" for alias in node.names]
            if not any(resolve(name, modules) not in (None, resolve(base, modules)) for name in names):
                names.append(base)
        for name in names:
            target = resolve(name, modules)
            if target and target != module:
                found.add(target)
    return found - package_chain(module)


def package_chain(module: str) -> set[str]:
    """The packages that hold `module` (importing it imports them: not a dependency of its own)."""
    parts = module.split(".")
    return {".".join(parts[:end]) for end in range(1, len(parts))}


def import_graph() -> dict[str, set[str]]:
    modules = project_modules()
    return {module: imports_of(module, path, modules) for module, path in modules.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph, as [a, b, ..., a], or None (depth-first, iterative)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for start in sorted(graph):
        if state.get(start):
            continue
        path, stack = [start], [iter(sorted(graph[start]))]
        state[start] = 1
        while stack:
            following = next(stack[-1], None)
            if following is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(following) == 1:
                return path[path.index(following):] + [following]
            elif not state.get(following):
                state[following] = 1
                path.append(following)
                stack.append(iter(sorted(graph.get(following, ()))))
    return None


def in_layer(module: str, layer: str) -> bool:
    return module == layer or module.startswith(layer + ".")


def test_the_graph_reads_the_imports_it_should():
    graph = import_graph()
    assert "autograder.cells" in graph["autograder.authoring.export"]
    assert "autograder.grading.worker" in graph["autograder.grading.grade"]  # (a function-level import)
    assert "autograder.execution.sandbox" in graph["autograder.execution.guarded_execute"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_no_module_of_the_project_takes_part_in_an_import_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_imports_go_one_way_between_the_layers(layer):
    wrong = sorted(f"{module} imports {target}" for module, targets in import_graph().items()
                   if in_layer(module, layer) for target in targets
                   if any(in_layer(target, banned) for banned in FORBIDDEN[layer]))
    assert not wrong, f"{layer} must not import {', '.join(FORBIDDEN[layer])}:\n" + "\n".join(wrong)
