"""``reprovar.keras`` on a real Keras 3 (torch backend, set in tests/conftest.py)."""

from __future__ import annotations

import json
import math

import keras
import numpy as np
import pytest
from scipy import stats

import reprovar
import reprovar.keras as rk
from reprovar.errors import ArgumentTypeError, ArgumentValueError, ShapeMismatchError, UnknownVariableError
from reprovar.keras import initializers as ri
from reprovar.seeding import derive_seed

P_MIN = 1e-4


def flat(x) -> np.ndarray:
    return np.asarray(keras.ops.convert_to_numpy(x), np.float64).reshape(-1)


def test_backend_is_torch():
    assert keras.backend.backend() == "torch"


@pytest.mark.parametrize("shape", [(60, 50), (3, 3, 16, 24)])
@pytest.mark.parametrize(
    "cls,scale,mode,distribution",
    [
        (ri.GlorotUniform, 1.0, "fan_avg", "uniform"),
        (ri.GlorotNormal, 1.0, "fan_avg", "truncated_normal"),
        (ri.HeNormal, 2.0, "fan_in", "truncated_normal"),
        (ri.HeUniform, 2.0, "fan_in", "uniform"),
        (ri.LecunNormal, 1.0, "fan_in", "truncated_normal"),
        (ri.LecunUniform, 1.0, "fan_in", "uniform"),
    ],
)
def test_variance_scaling_family_formulas(shape, cls, scale, mode, distribution):
    fan_in, fan_out = ri.compute_fans(shape)
    n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]
    x = flat(cls(seed=3)(shape))
    if distribution == "uniform":
        limit = math.sqrt(3.0 * scale / n)
        assert stats.kstest(x, "uniform", args=(-limit, 2 * limit)).pvalue > P_MIN
    else:
        std = math.sqrt(scale / n) / 0.87962566103423978
        assert stats.kstest(x, "truncnorm", args=(-2, 2, 0, std)).pvalue > P_MIN
        assert abs(x.std() / math.sqrt(scale / n) - 1) < 0.05  # Keras' correction: std after truncation
    assert ri.compute_fans(shape) == keras.src.initializers.random_initializers.compute_fans(shape)


def test_random_normal_uniform_truncated():
    assert stats.kstest(flat(ri.RandomNormal(1.0, 2.0, seed=1)((4000,))), "norm", args=(1.0, 2.0)).pvalue > P_MIN
    assert stats.kstest(flat(ri.RandomUniform(-1.0, 3.0, seed=1)((4000,))), "uniform", args=(-1.0, 4.0)).pvalue > P_MIN
    x = flat(ri.TruncatedNormal(0.5, 1.0, seed=1)((4000,)))
    assert x.min() >= -1.5 and x.max() <= 2.5
    assert stats.kstest(x, "truncnorm", args=(-2, 2, 0.5, 1.0)).pvalue > P_MIN
    vs = ri.VarianceScaling(scale=0.5, mode="fan_out", distribution="untruncated_normal", seed=2)
    assert stats.kstest(flat(vs((30, 40))), "norm", args=(0, math.sqrt(0.5 / 40))).pvalue > P_MIN


def test_seeds_as_keras():
    init = ri.HeUniform(seed=11)
    assert np.array_equal(flat(init((5, 6))), flat(init((5, 6))))  # an int seed: same values every call
    assert np.array_equal(flat(init((5, 6))), flat(ri.HeUniform(seed=11)((5, 6))))
    unseeded = ri.HeUniform()
    assert np.array_equal(flat(unseeded((5, 6))), flat(unseeded((5, 6))))  # as Keras 3: one seed per instance
    assert not np.array_equal(flat(unseeded((5, 6))), flat(ri.HeUniform()((5, 6))))
    assert unseeded.get_config()["seed"] is None
    # The values are those of the reprovar variable of that shape and seed.
    v = reprovar.random_normal_variable((5, 6), 0.0, 0.05, seed=4, record=False).numpy()
    assert np.array_equal(keras.ops.convert_to_numpy(ri.RandomNormal(seed=4)((5, 6))), v)


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
def test_dtypes(dtype):
    x = ri.GlorotNormal(seed=1)((4, 5), dtype=dtype)
    assert keras.backend.standardize_dtype(x.dtype) == dtype


@pytest.mark.parametrize(
    "init",
    [
        ri.RandomNormal(0.5, 2.0, seed=1),
        ri.RandomUniform(-2.0, 1.0, seed=2),
        ri.TruncatedNormal(stddev=0.1, seed=3),
        ri.VarianceScaling(2.0, "fan_out", "uniform", seed=4, input_axes=[0], output_axes=[1]),
        ri.GlorotUniform(seed=5),
        ri.HeNormal(),
        ri.LecunUniform(seed=2**64 - 1),
    ],
)
def test_config_round_trip(init):
    config = init.get_config()
    again = type(init).from_config(config)
    assert again.get_config() == config
    serialized = keras.initializers.serialize(init)
    assert serialized["registered_name"] == f"reprovar>{type(init).__name__}"
    back = keras.initializers.deserialize(serialized)
    assert type(back) is type(init) and back.get_config() == config
    if config["seed"] is not None:
        assert np.array_equal(flat(back((3, 4))), flat(init((3, 4))))


@pytest.mark.parametrize(
    "make,error,match",
    [
        (lambda: ri.VarianceScaling(mode="fan_sum"), ArgumentValueError, "mode must be one of"),
        (lambda: ri.VarianceScaling(distribution="laplace"), ArgumentValueError, "distribution must be one of"),
        (lambda: ri.VarianceScaling(scale=0.0), ArgumentValueError, "scale must be a positive"),
        (lambda: ri.GlorotUniform(seed=-3), ArgumentValueError, "seed must be an int"),
        (lambda: ri.GlorotUniform(seed=keras.random.SeedGenerator(1)), ArgumentTypeError, "SeedGenerator"),
        (lambda: ri.RandomUniform(1.0, 0.0, seed=1)((3,)), ArgumentValueError, "low must be < high"),
        (lambda: ri.RandomNormal(stddev=-1.0, seed=1)((3,)), ArgumentValueError, "scale must be >= 0"),
        (lambda: ri.RandomNormal(seed=1)((3,), dtype="int32"), ArgumentValueError, "not supported"),
    ],
)
def test_bad_input(make, error, match):
    with pytest.raises(error, match=match):
        make()


def mlp(name: str = "mlp", extra: bool = False, kernel=None) -> keras.Model:
    layers = [keras.Input((6,)), keras.layers.Dense(8, activation="relu", name="hidden", kernel_initializer=kernel or "glorot_uniform")]
    if extra:
        layers.append(keras.layers.Dense(8, name="inserted"))
    layers += [keras.layers.BatchNormalization(name="bn"), keras.layers.Dense(3, name="out", bias_initializer="random_normal")]
    return keras.Sequential(layers, name=name)


def weights(model) -> dict:
    return {v.path: keras.ops.convert_to_numpy(v).copy() for v in model.weights}


def test_initialize_follows_configured_initializers_and_records_each_path(tmp_path):
    path = tmp_path / "k.db"
    model = mlp(kernel=ri.HeNormal(seed=99))
    records = rk.initialize(model, seed=21, ledger=path)
    assert set(records) == {"mlp/hidden/kernel", "mlp/out/kernel", "mlp/out/bias"}
    led = reprovar.Ledger(path)
    w = weights(model)
    for name, r in records.items():
        assert r == led.get(name) and r.seed == derive_seed(21, name)
        assert np.array_equal(reprovar.replay(name, ledger=path).numpy(), w[name])
    # glorot_uniform (Dense's default, by name) is drawn as reprovar's GlorotUniform
    assert records["mlp/out/kernel"].distribution == "uniform"
    expected = ri.GlorotUniform(seed=derive_seed(21, "mlp/out/kernel"))((8, 3))
    assert np.array_equal(keras.ops.convert_to_numpy(expected), w["mlp/out/kernel"])
    assert records["mlp/hidden/kernel"].distribution == "truncated_normal"  # HeNormal, its own seed unused
    assert records["mlp/out/bias"].distribution == "normal"
    # Constants stay constants and are not recorded.
    assert np.array_equal(w["mlp/bn/gamma"], np.ones(8)) and np.array_equal(w["mlp/bn/moving_mean"], np.zeros(8))
    assert np.array_equal(w["mlp/hidden/bias"], np.zeros(8))
    assert led.count() == 3


def test_same_seed_same_weights_and_inserting_a_layer_changes_no_other():
    a, b, c = mlp(), mlp(), mlp(extra=True)
    for m in (a, b, c):
        rk.initialize(m, seed=5, record=False)
    wa, wb, wc = weights(a), weights(b), weights(c)
    assert all(np.array_equal(wa[k], wb[k]) for k in wa)
    assert all(np.array_equal(wa[k], wc[k]) for k in wa)


def test_trains_saves_and_loads_back_with_reprovar_initializers(tmp_path):
    model = keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.Dense(8, activation="relu", kernel_initializer=ri.HeUniform(seed=1), name="h"),
            keras.layers.Dense(1, kernel_initializer=ri.VarianceScaling(0.5, "fan_avg", "uniform", seed=2),
                               bias_initializer=ri.RandomNormal(stddev=0.01, seed=3), name="o"),
        ],
        name="net",
    )
    model.compile(optimizer="sgd", loss="mse")
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((64, 6)).astype("float32"), rng.standard_normal((64, 1)).astype("float32")
    history = model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    file = tmp_path / "net.keras"
    model.save(file)
    loaded = keras.saving.load_model(file)
    assert json.dumps(loaded.get_config()) == json.dumps(model.get_config())  # lists and tuples alike
    kernel_init = loaded.get_layer("o").kernel_initializer
    assert type(kernel_init) is ri.VarianceScaling and kernel_init.get_config() == model.get_layer("o").kernel_initializer.get_config()
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), loaded.get_weights()))
    np.testing.assert_array_equal(model.predict(x, verbose=0), loaded.predict(x, verbose=0))


def test_initialize_then_restore_round_trips(tmp_path):
    path = tmp_path / "k.db"
    model = mlp()
    rk.initialize(model, seed=8, ledger=path)
    initial = weights(model)
    model.compile(optimizer="sgd", loss="mse")
    rng = np.random.default_rng(1)
    model.fit(rng.standard_normal((32, 6)), rng.standard_normal((32, 3)), epochs=1, verbose=0)
    assert not all(np.array_equal(initial[k], v) for k, v in weights(model).items())
    restored = rk.restore(model, ledger=path)
    assert set(restored) == {"mlp/hidden/kernel", "mlp/out/kernel", "mlp/out/bias"}
    after = weights(model)
    assert all(np.array_equal(initial[k], after[k]) for k in initial)


def test_restore_failures_change_nothing(tmp_path):
    path = tmp_path / "k.db"
    rk.initialize(mlp(), seed=8, ledger=path)
    wider = keras.Sequential([keras.Input((7,)), keras.layers.Dense(8, name="hidden"), keras.layers.BatchNormalization(name="bn"),
                              keras.layers.Dense(3, name="out", bias_initializer="random_normal")], name="mlp")
    before = weights(wider)
    with pytest.raises(ShapeMismatchError, match=r"mlp/hidden/kernel: recorded \(6, 8\), model has \(7, 8\)"):
        rk.restore(wider, ledger=path)
    assert all(np.array_equal(before[k], v) for k, v in weights(wider).items())
    other = mlp(name="other")
    with pytest.raises(UnknownVariableError, match="3 weight\\(s\\) have no record"):
        rk.restore(other, ledger=path)


class _Mine(keras.initializers.Initializer):
    def __call__(self, shape, dtype=None):
        return keras.ops.zeros(shape, dtype)


def test_unknown_initializers_are_listed():
    i = keras.Input((3, 2))
    lstm = keras.layers.LSTM(4, recurrent_initializer=_Mine(), bias_initializer="random_normal", name="lstm")
    model = keras.Model(i, lstm(i), name="rnn")
    with pytest.raises(ArgumentValueError, match=r"lstm/lstm_cell/recurrent_kernel \(LSTMCell: _Mine\).*"
                       r"lstm_cell/bias \(LSTMCell: RandomNormal with unit_forget_bias"):
        rk.initialize(model, seed=1, record=False)
    records = rk.initialize(model, seed=1, record=False, on_unknown="skip")
    assert set(records) == {"lstm/lstm_cell/kernel"}  # a functional model's paths omit its name
    with pytest.raises(ArgumentTypeError, match="model must be a Keras model"):
        rk.initialize(object())
    with pytest.raises(ArgumentValueError, match="not built"):
        rk.initialize(keras.Sequential([keras.layers.Dense(2)]))


def test_layer_state_without_initializer_is_left_alone():
    norm = keras.layers.Normalization(name="norm")
    norm.adapt(np.arange(12.0).reshape(3, 4))
    inp = keras.Input((4,))
    model = keras.Model(inp, keras.layers.Dense(2, name="d")(norm(inp)))
    before = {v.path: keras.ops.convert_to_numpy(v).copy() for v in norm.weights}
    records = rk.initialize(model, seed=1, record=False)
    assert set(records) == {"d/kernel"}
    assert all(np.array_equal(before[v.path], keras.ops.convert_to_numpy(v)) for v in norm.weights)
