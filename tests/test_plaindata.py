"""nnlib.plaindata: what a probe's result may be, read back exactly, and nothing else read at all."""
import json

import numpy as np
import pytest

from nnlib.plaindata import Limits, PlainDataError, dumps, loads


def test_round_trip_keeps_values_and_types():
    value = {"x": 1.5, "n": 3, "flag": True, "none": None, "name": "a", "pair": (1, [2.0, "b"]),
             "f32": np.float32(0.25), "i64": np.int64(-7), "nan": float("nan"),
             "arrays": [np.arange(6, dtype=np.float32).reshape(2, 3), np.array([True, False]),
                        np.zeros((0, 4)), np.array(3.5)]}
    back = loads(dumps(value))
    assert type(back["pair"]) is tuple and type(back["pair"][1]) is list
    assert type(back["flag"]) is bool and type(back["n"]) is int and type(back["x"]) is float
    assert back["f32"].dtype == np.float32 and back["i64"].dtype == np.int64
    assert np.isnan(back["nan"])
    for got, sent in zip(back["arrays"], value["arrays"]):
        assert got.dtype == sent.dtype and got.shape == sent.shape and np.array_equal(got, sent)
        assert got.flags.writeable


@pytest.mark.parametrize("value", [object(), np.array([object()]), {1: 2.0}, 1 + 2j, b"bytes",
                                   np.array([1 + 1j]), np.ma.masked_array([1.0]), {"f": print}])
def test_anything_else_is_refused_when_written(value):
    with pytest.raises(PlainDataError):
        dumps(value)


@pytest.mark.parametrize("text", [
    "", "not json", '["pickle", "gASVAAAA"]', '["float", "1.0"]', '["int", 1.5]', '["bool", 1]',
    '["array", "object", [1], "AA=="]', '["array", "float64", [2], "AAAAAAAA8D8="]',
    '["array", "float64", [1], "***"]', '["dict", [["a", ["none"]], ["a", ["none"]]]]',
    '["dict", [[1, ["none"]]]]', '["tuple", ["none"]]', '{"a": 1}', '["scalar", "float64", "x"]',
    '["array", "float64", [-1], ""]', '["none", 1]'])
def test_malformed_text_is_refused(text):
    with pytest.raises(PlainDataError):
        loads(text)


def test_limits_stop_large_or_deep_input():
    deep = '["list", [' * 100 + '["none"]' + ']]' * 100
    with pytest.raises(PlainDataError):
        loads(deep)
    with pytest.raises(PlainDataError):
        loads(dumps(list(range(50))), Limits(values=10))
    with pytest.raises(PlainDataError):
        loads(dumps(np.zeros(1000)), Limits(elements=999))
    with pytest.raises(PlainDataError):
        loads(dumps("x" * 1000), Limits(chars=100))
    very_deep = "[" * 100_000 + "]" * 100_000  # json's own recursion limit
    with pytest.raises(PlainDataError):
        loads(very_deep)


def test_the_text_is_plain_json():
    assert json.loads(dumps({"a": (1, 2.0)})) == ["dict", [["a", ["tuple", [["int", 1], ["float", 2.0]]]]]]
