"""Plain data: the only values that cross between a learner's process and the grader's.

A probe (see `nnlib.testing.check`) receives its inputs and returns its results as plain data:
None, booleans, integers, floats, strings, numpy scalars and arrays of numbers or booleans, and
lists, tuples and string-keyed dicts of these. `dumps` writes such a value as JSON text in which
every value is tagged with its type, so that `loads` gives back exactly the same types: a tuple
stays a tuple, a float32 array stays a float32 array of the same shape.

`loads` is strict, because in grading the text comes from a process the learner's code controls:
it parses JSON (never pickle, never eval), refuses anything that is not one of the tags below,
and stops at `Limits` (text size, nesting depth, number of values, array size).

    ["none"]  ["bool", b]  ["int", i]  ["float", x]  ["str", s]
    ["scalar", dtype, x]                   a numpy scalar, e.g. np.float32(0.5)
    ["array", dtype, shape, base64 bytes]  a numpy array, C order, little-endian
    ["list", [...]]  ["tuple", [...]]  ["dict", [[key, value], ...]]
"""
from __future__ import annotations

import base64
import json
import math
from dataclasses import dataclass

import numpy as np

__all__ = ["PlainDataError", "Limits", "dumps", "loads"]

DTYPES = ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
          "float16", "float32", "float64")


class PlainDataError(ValueError):
    """A value that is not plain data, or a text that is not a plain-data encoding."""


@dataclass(frozen=True)
class Limits:
    """How much `loads` accepts: characters of text, nesting depth, values, array elements."""
    chars: int = 64 << 20
    depth: int = 32
    values: int = 100_000
    elements: int = 20_000_000


def _encode(value, depth: int):
    if depth > 64:
        raise PlainDataError("plain data nested more than 64 levels deep")
    if value is None:
        return ["none"]
    if isinstance(value, (bool, np.bool_)) and not isinstance(value, np.ndarray):
        return ["bool", bool(value)]
    if isinstance(value, np.generic):
        if value.dtype.name not in DTYPES:
            raise PlainDataError(f"a numpy scalar of dtype {value.dtype} is not plain data")
        return ["scalar", value.dtype.name, value.item()]
    if type(value) is int:
        return ["int", value]
    if type(value) is float:
        return ["float", value]
    if type(value) is str:
        return ["str", value]
    if type(value) is np.ndarray:
        if value.dtype.name not in DTYPES:
            raise PlainDataError(f"a numpy array of dtype {value.dtype} is not plain data "
                                 f"(only {', '.join(DTYPES)})")
        data = np.ascontiguousarray(value, dtype=value.dtype.newbyteorder("<"))
        return ["array", value.dtype.name, list(value.shape), base64.b64encode(data.tobytes()).decode()]
    if type(value) in (list, tuple):
        return [type(value).__name__, [_encode(item, depth + 1) for item in value]]
    if type(value) is dict:
        if not all(type(key) is str for key in value):
            raise PlainDataError("a dict with keys that are not strings is not plain data")
        return ["dict", [[key, _encode(item, depth + 1)] for key, item in value.items()]]
    raise PlainDataError(f"a {type(value).__name__} is not plain data: return numbers, booleans, "
                         "strings, None, numpy arrays, or lists, tuples and dicts of these")


def dumps(value) -> str:
    """`value` as plain-data JSON text; PlainDataError if it holds anything else."""
    return json.dumps(_encode(value, 0), separators=(",", ":"))


class _Reader:
    def __init__(self, limits: Limits):
        self.limits, self.values, self.elements = limits, 0, 0

    def read(self, node, depth: int):
        self.values += 1
        if depth > self.limits.depth or self.values > self.limits.values:
            raise PlainDataError("plain data nested too deep or too many values")
        if not isinstance(node, list) or not node or not isinstance(node[0], str):
            raise PlainDataError("not a tagged plain-data value")
        tag, args = node[0], node[1:]
        if tag == "none" and not args:
            return None
        if len(args) == 1:
            (arg,) = args
            if tag == "bool" and isinstance(arg, bool):
                return arg
            if tag == "int" and type(arg) is int:
                return arg
            if tag == "float" and type(arg) in (int, float):
                return float(arg)
            if tag == "str" and isinstance(arg, str):
                return arg
            if tag in ("list", "tuple") and isinstance(arg, list):
                items = [self.read(item, depth + 1) for item in arg]
                return items if tag == "list" else tuple(items)
            if tag == "dict" and isinstance(arg, list):
                pairs = {}
                for pair in arg:
                    if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str)) \
                            or pair[0] in pairs:
                        raise PlainDataError("a dict entry is not a unique [string, value] pair")
                    pairs[pair[0]] = self.read(pair[1], depth + 1)
                return pairs
        if tag == "scalar" and len(args) == 2 and args[0] in DTYPES \
                and type(args[1]) in (bool, int, float):
            try:
                return np.array(args[1], dtype=args[0])[()]
            except (OverflowError, ValueError):
                raise PlainDataError(f"{args[1]!r} is not a {args[0]}") from None
        if tag == "array" and len(args) == 3:
            return self.array(*args)
        raise PlainDataError(f"not a plain-data value: tag {tag[:20]!r} with {len(args)} argument(s)")

    def array(self, dtype, shape, data) -> np.ndarray:
        if dtype not in DTYPES or not isinstance(shape, list) or len(shape) > 32 \
                or not all(type(n) is int and n >= 0 for n in shape) or not isinstance(data, str):
            raise PlainDataError("an array with a bad dtype, shape or data")
        size = math.prod(shape)
        self.elements += size
        if self.elements > self.limits.elements:
            raise PlainDataError(f"arrays of more than {self.limits.elements} elements in all")
        try:
            raw = base64.b64decode(data, validate=True)
        except ValueError:
            raise PlainDataError("array data that is not base64") from None
        kind = np.dtype(dtype).newbyteorder("<")
        if len(raw) != size * kind.itemsize:
            raise PlainDataError(f"array data of {len(raw)} bytes for shape {tuple(shape)} of {dtype}")
        return np.frombuffer(raw, dtype=kind).astype(dtype).reshape(shape)


def loads(text: str, limits: Limits = Limits()):
    """The value that `dumps` wrote as `text`; PlainDataError for anything else."""
    if not isinstance(text, str) or len(text) > limits.chars:
        raise PlainDataError(f"plain data must be a text of at most {limits.chars} characters")
    try:
        tree = json.loads(text)
    except (ValueError, RecursionError):
        raise PlainDataError("plain data that is not valid JSON") from None
    return _Reader(limits).read(tree, 0)
