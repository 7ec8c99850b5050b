"""Runs inside every grading kernel, before any submitted code, to keep the tests' tools honest.

The course's test cells rely on `assert_close` (from `nnlib.testing`), numpy, `math`, Python's
builtins and IPython's error reporting. A submission runs in the same interpreter, so one line
could replace any of them: `np.allclose = lambda *a, **k: True`, `assert_close = lambda *a, **k:
None`, `nnlib.testing.assert_close.__code__ = ...`, `builtins.isinstance = ...`, an IPython AST
transformer that deletes asserts, `get_ipython().set_custom_exc(...)`, `sys.settrace(...)`.

`install()` (run by the kernel at start-up, through `IPKernelApp.exec_lines`) takes a snapshot of
all of these. Right before each graded test cell, the grader evaluates

    [c for c in ().__class__.__base__.__subclasses__() if c.__name__ == "_CourseGuard"][0].restore()

which looks up no name a submission could rebind (the first class of that name is this one: it
exists before any submitted code runs). `restore()` puts back everything that was replaced and
returns what it restored, which the grader reports as tampering.

This is a guard, not a wall: code in the same process can always reach further (the garbage
collector, ctypes, rewriting ipykernel's message loop). It stops the one-line ways to cheat; the
deliberate ones stay visible in the submission itself.
"""
from __future__ import annotations

import sys
import types

TRUSTED_MODULES = ("builtins", "math", "numbers", "numpy", "nnlib.testing")
MISSING = object()


def _trusted(name: str) -> bool:
    return name in TRUSTED_MODULES or name.startswith("numpy.")


class _CourseGuard:
    """The snapshot, and `restore()`. Made once per kernel by `install()`."""
    modules: dict = {}  # module name -> (module, copy of its namespace)
    functions: dict = {}  # id -> (function, __code__, __defaults__, __kwdefaults__)
    classes: dict = {}  # id -> (class, copy of its namespace)
    names: dict = {}  # user-namespace name -> trusted object (np, math, assert_close)
    shell = None
    shell_state: dict = {}

    @staticmethod
    def restore() -> list[str]:
        """Put back every trusted object the submission replaced; return their names."""
        guard, restored = _CourseGuard, []
        sys.settrace(None)
        sys.setprofile(None)
        for name, (module, contents) in guard.modules.items():
            if sys.modules.get(name) is not module:
                sys.modules[name] = module
                restored.append(f"sys.modules[{name!r}]")
            _restore_namespace(vars(module), contents, name, restored)
        for function, code, defaults, kwdefaults in guard.functions.values():
            if (function.__code__, function.__defaults__, function.__kwdefaults__) != \
                    (code, defaults, kwdefaults):
                function.__code__, function.__defaults__ = code, defaults
                function.__kwdefaults__ = kwdefaults
                restored.append(f"{function.__module__}.{function.__qualname__}.__code__")
        for cls, contents in guard.classes.values():
            for key, value in contents.items():
                if cls.__dict__.get(key, MISSING) is not value:
                    setattr(cls, key, value)
                    restored.append(f"{cls.__module__}.{cls.__qualname__}.{key}")
            for key in set(cls.__dict__) - set(contents):
                delattr(cls, key)
                restored.append(f"{cls.__module__}.{cls.__qualname__}.{key}")
        user_ns = guard.shell.user_ns
        for name, value in guard.names.items():
            if user_ns.get(name, value) is not value:
                restored.append(name)
            user_ns[name] = value
        _restore_shell(guard.shell, guard.shell_state, restored)
        return restored


def _restore_namespace(current: dict, snapshot: dict, where: str, restored: list[str]) -> None:
    """Put back the values of `snapshot` that were replaced in `current` (additions are kept:
    modules legitimately gain attributes, e.g. lazily imported submodules)."""
    for key, value in snapshot.items():
        now = current.get(key, MISSING)
        if now is not MISSING and now is not value:
            current[key] = value
            restored.append(f"{where}.{key}")


def _restore_shell(shell, state: dict, restored: list[str]) -> None:
    """Undo changes to IPython's execution and error reporting."""
    for name in ("ast_transformers", "input_transformers_cleanup", "input_transformers_post"):
        if getattr(shell, name) != state[name]:
            getattr(shell, name)[:] = state[name]
            restored.append(f"get_ipython().{name}")
    if shell.custom_exceptions != state["custom_exceptions"]:
        shell.custom_exceptions = state["custom_exceptions"]
        restored.append("get_ipython().set_custom_exc")
    for obj, attributes in ((shell, state["shell_attributes"]),
                            (shell.kernel, state["kernel_attributes"])):
        # A method replaced on the instance: shell.showtraceback = ..., kernel.do_execute = ...
        for key in [key for key, value in vars(obj).items()
                    if isinstance(getattr(type(obj), key, None), types.FunctionType)
                    and attributes.get(key, MISSING) is not value]:
            if key in attributes:
                setattr(obj, key, attributes[key])
            else:
                delattr(obj, key)
            restored.append(f"{type(obj).__name__}.{key}")


def _remember(value, guard=_CourseGuard) -> None:
    """Add a function, or a class defined in Python and its methods, to the snapshot."""
    if isinstance(value, (staticmethod, classmethod)):
        value = value.__func__
    if isinstance(value, property):
        for accessor in (value.fget, value.fset, value.fdel):
            _remember(accessor)
    elif isinstance(value, types.FunctionType) and id(value) not in guard.functions:
        guard.functions[id(value)] = (value, value.__code__, value.__defaults__, value.__kwdefaults__)
    elif isinstance(value, type) and id(value) not in guard.classes and value is not object \
            and not value.__flags__ & (1 << 8):  # Py_TPFLAGS_IMMUTABLETYPE: C types cannot change
        guard.classes[id(value)] = (value, dict(value.__dict__))
        for member in list(value.__dict__.values()):
            _remember(member)


def install() -> None:
    """Take the snapshot. Runs at kernel start-up, before the submission's first cell."""
    import math

    import numpy
    from IPython import get_ipython

    from nnlib.testing import assert_close

    guard, shell = _CourseGuard, get_ipython()
    # Keep the guard alive: object.__subclasses__() holds only weak references.
    sys.modules["_course_guard"] = types.SimpleNamespace(guard=guard)
    for name, module in list(sys.modules.items()):
        if module is not None and _trusted(name):
            contents = dict(vars(module))
            guard.modules[name] = (module, contents)
            for value in contents.values():
                _remember(value)
    for cls in (*type(shell).__mro__, *type(shell.kernel).__mro__):
        _remember(cls)
    guard.names = {"np": numpy, "math": math, "assert_close": assert_close}
    guard.shell = shell
    guard.shell_state = {
        "ast_transformers": list(shell.ast_transformers),
        "input_transformers_cleanup": list(shell.input_transformers_cleanup),
        "input_transformers_post": list(shell.input_transformers_post),
        "custom_exceptions": shell.custom_exceptions,
        "shell_attributes": dict(vars(shell)),
        "kernel_attributes": dict(vars(shell.kernel)),
    }
