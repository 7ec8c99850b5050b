"""nnlib.checkpoint: a saved and reloaded model predicts the same; mismatches and missing files are named."""
import numpy as np
import pytest

from nnlib.checkpoint import load_parameters, save_parameters
from nnlib.classification import LogSoftmax
from nnlib.layers import Linear, ReLU
from nnlib.module import Sequential
from nnlib.optim import SGD
from nnlib.testing import assert_close


def mlp(hidden=16, seed=0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    return Sequential(Linear(12, hidden, rng=rng, dtype=dtype), ReLU(), Linear(hidden, 4, rng=rng, dtype=dtype),
                      LogSoftmax())


def train_a_little(model):
    """Make every parameter, biases included, differ from its initial value."""
    rng = np.random.default_rng(5)
    for p in model.parameters():
        p.data += rng.normal(scale=0.1, size=p.data.shape).astype(p.data.dtype)


def test_round_trip_gives_identical_predictions(tmp_path):
    model = mlp(seed=0)
    train_a_little(model)
    path = tmp_path / "model.npz"
    save_parameters(model, path)
    other = mlp(seed=1)
    X = np.random.default_rng(2).standard_normal((30, 12)).astype(np.float32)
    assert not np.array_equal(other(X), model(X))
    load_parameters(other, path)
    assert_close(other(X), model(X), rtol=0, atol=0, check_dtype=True, msg="predictions after loading")
    for (name, p), (_, q) in zip(model.named_parameters(), other.named_parameters()):
        assert_close(q.data, p.data, rtol=0, atol=0, check_dtype=True, msg=name)


def test_the_file_is_written_where_asked_and_holds_named_arrays(tmp_path):
    model = mlp()
    path = tmp_path / "weights.bin"  # no .npz suffix: np.savez on a path would add one
    save_parameters(model, str(path))
    assert [p.name for p in tmp_path.iterdir()] == ["weights.bin"]
    with np.load(path) as saved:
        assert sorted(saved.files) == ["layers.0.bias", "layers.0.weight", "layers.2.bias", "layers.2.weight"]
        assert_close(saved["layers.2.weight"], model[2].weight.data, rtol=0, atol=0, check_dtype=True)


def test_loading_copies_in_place_so_an_optimizer_keeps_working(tmp_path):
    trained = mlp(seed=0)
    train_a_little(trained)
    save_parameters(trained, tmp_path / "m.npz")
    model = mlp(seed=3)
    optimizer = SGD(model.parameters(), lr=0.1)
    load_parameters(model, tmp_path / "m.npz")
    model[0].bias.grad += 1.0
    optimizer.step()
    assert_close(model[0].bias.data, trained[0].bias.data - 0.1, rtol=1e-6, atol=1e-7,
                 msg="the optimizer updates the loaded values")


def test_values_are_cast_to_the_models_dtype(tmp_path):
    source = mlp(dtype=np.float64)
    train_a_little(source)
    save_parameters(source, tmp_path / "m.npz")
    model = mlp(seed=4, dtype=np.float32)
    load_parameters(model, tmp_path / "m.npz")
    for (name, p), (_, q) in zip(source.named_parameters(), model.named_parameters()):
        assert q.data.dtype == np.float32, name
        assert_close(q.data, p.data.astype(np.float32), rtol=0, atol=0, msg=name)


def test_other_shapes_are_refused_naming_both_and_nothing_changes(tmp_path):
    save_parameters(mlp(hidden=16), tmp_path / "m.npz")
    model = mlp(hidden=8, seed=7)
    before = [p.data.copy() for p in model.parameters()]
    with pytest.raises(ValueError, match=r"'layers\.0\.weight' has shape \(12, 16\) in .*m\.npz, "
                                         r"but shape \(12, 8\) in the model"):
        load_parameters(model, tmp_path / "m.npz")
    for p, value in zip(model.parameters(), before):
        assert_close(p.data, value, rtol=0, atol=0, msg="a refused load must change nothing")


def test_other_names_are_refused_naming_them(tmp_path):
    save_parameters(mlp(), tmp_path / "m.npz")
    deeper = Sequential(Linear(12, 16), ReLU(), Linear(16, 4), ReLU(), Linear(4, 4))
    with pytest.raises(ValueError, match=r"missing \['layers\.4\.bias', 'layers\.4\.weight'\], unexpected \[\]"):
        load_parameters(deeper, tmp_path / "m.npz")
    no_bias = Sequential(Linear(12, 16, bias=False), ReLU(), Linear(16, 4, bias=False))
    with pytest.raises(ValueError, match=r"missing \[\], unexpected \['layers\.0\.bias', 'layers\.2\.bias'\]"):
        load_parameters(no_bias, tmp_path / "m.npz")


def test_a_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no saved parameters at .*nothing_here\.npz"):
        load_parameters(mlp(), tmp_path / "nothing_here.npz")
