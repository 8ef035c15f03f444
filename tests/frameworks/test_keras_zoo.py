"""Every built-in Keras layer with weights, at its default arguments: ``initialize`` then
``restore`` bit for bit; orthogonal and identity initializers, ``unit_forget_bias``; a small
MobileNetV3 and recurrent models trained a few steps and restored.

Keras runs on the torch backend (tests/conftest.py).
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
from scipy import stats

import reprovar
import reprovar.keras as rk
from reprovar.keras import initializers as ri
from reprovar.recipes import Fill, Recipe, Region

L = keras.layers

#: label -> (layer factory, input shape without the batch axis)
ZOO = {
    "Dense": (lambda: L.Dense(5), (7,)),
    "EinsumDense": (lambda: L.EinsumDense("ab,bc->ac", output_shape=5, bias_axes="c"), (7,)),
    "Embedding": (lambda: L.Embedding(20, 6), (4,)),
    "Conv1D": (lambda: L.Conv1D(4, 3), (10, 3)),
    "Conv2D": (lambda: L.Conv2D(4, 3), (8, 8, 3)),
    "Conv3D": (lambda: L.Conv3D(2, 2), (4, 4, 4, 2)),
    "Conv1DTranspose": (lambda: L.Conv1DTranspose(4, 3), (10, 3)),
    "Conv2DTranspose": (lambda: L.Conv2DTranspose(4, 3), (8, 8, 3)),
    "Conv3DTranspose": (lambda: L.Conv3DTranspose(2, 2), (4, 4, 4, 2)),
    "DepthwiseConv1D": (lambda: L.DepthwiseConv1D(3), (10, 3)),
    "DepthwiseConv2D": (lambda: L.DepthwiseConv2D(3), (8, 8, 3)),
    "SeparableConv1D": (lambda: L.SeparableConv1D(4, 3), (10, 3)),
    "SeparableConv2D": (lambda: L.SeparableConv2D(4, 3), (8, 8, 3)),
    "SimpleRNN": (lambda: L.SimpleRNN(6), (5, 3)),
    "LSTM": (lambda: L.LSTM(6), (5, 3)),
    "GRU": (lambda: L.GRU(6), (5, 3)),
    "Bidirectional": (lambda: L.Bidirectional(L.LSTM(4)), (5, 3)),
    "ConvLSTM1D": (lambda: L.ConvLSTM1D(2, 3), (3, 8, 2)),
    "ConvLSTM2D": (lambda: L.ConvLSTM2D(2, 3), (3, 6, 6, 2)),
    "ConvLSTM3D": (lambda: L.ConvLSTM3D(2, 2), (2, 4, 4, 4, 1)),
    "BatchNormalization": (lambda: L.BatchNormalization(), (6,)),
    "LayerNormalization": (lambda: L.LayerNormalization(), (6,)),
    "GroupNormalization": (lambda: L.GroupNormalization(groups=2), (4, 4, 6)),
    "RMSNormalization": (lambda: L.RMSNormalization(), (6,)),
    "PReLU": (lambda: L.PReLU(), (6,)),
    # Attention layers take several inputs: built through a functional model below.
    "MultiHeadAttention": (None, None),
    "Attention": (None, None),
    "AdditiveAttention": (None, None),
}


def _model(label: str) -> keras.Model:
    x = keras.Input((4, 8))
    if label == "MultiHeadAttention":
        return keras.Model(x, L.MultiHeadAttention(num_heads=2, key_dim=4, name="mha")(x, x), name="zoo_mha")
    if label == "Attention":  # its weights exist only with use_scale and the concat score
        return keras.Model(x, L.Attention(use_scale=True, score_mode="concat", name="att")([x, x]), name="zoo_att")
    if label == "AdditiveAttention":
        return keras.Model(x, L.AdditiveAttention(name="add")([x, x]), name="zoo_add")
    factory, shape = ZOO[label]
    return keras.Sequential([keras.Input(shape), factory()], name="zoo")


def _weights(model) -> list[np.ndarray]:
    return [np.asarray(w).copy() for w in model.get_weights()]


@pytest.mark.parametrize("label", list(ZOO))
def test_every_layer_initializes_and_restores_bit_for_bit(label, tmp_path):
    path = tmp_path / "zoo.db"
    model = _model(label)
    assert model.weights, f"{label} has no weights: it does not belong in the zoo"
    records = rk.initialize(model, seed=17, ledger=path)
    initial = _weights(model)
    model.set_weights([w + 1 for w in initial])
    rk.restore(model, ledger=path)
    after = _weights(model)
    assert all(a.tobytes() == b.tobytes() for a, b in zip(initial, after)), label
    # Every weight of the layer is accounted for: recorded, or a constant that was set.
    paths = {v.path for v in model.weights}
    assert set(records) <= paths


def test_recurrent_defaults_are_orthogonal_draws_and_the_forget_bias_a_recorded_pattern(tmp_path):
    path = tmp_path / "lstm.db"
    model = keras.Sequential([keras.Input((5, 3)), L.LSTM(6, name="lstm")], name="r")
    records = rk.initialize(model, seed=3, ledger=path)
    rk_ = records["r/lstm/lstm_cell/recurrent_kernel"]
    assert (rk_.distribution, rk_.scale, rk_.algorithm) == ("orthogonal", 1.0, "philox4x32-10/orthogonal")
    u = model.layers[0].cell.recurrent_kernel.numpy().astype(np.float64)  # (6, 24): orthonormal rows
    assert np.abs(u @ u.T - np.eye(6)).max() < 1e-5
    bias = records["r/lstm/lstm_cell/bias"]
    assert Recipe.from_json(bias.recipe) == Recipe(base=Fill(0.0), steps=(Fill(1.0, Region(6, (6,), (1,))),))
    assert model.layers[0].cell.bias.numpy().tolist() == [0.0] * 6 + [1.0] * 6 + [0.0] * 12
    assert reprovar.replay("r/lstm/lstm_cell/bias", ledger=path).numpy().tolist() == model.layers[0].cell.bias.numpy().tolist()


def test_conv_lstm_recurrent_kernel_uses_keras_layout(tmp_path):
    model = keras.Sequential([keras.Input((3, 6, 6, 2)), L.ConvLSTM2D(2, 3, name="c")], name="cl")
    records = rk.initialize(model, seed=3, ledger=tmp_path / "c.db")
    name = "cl/c/conv_lstm_cell/recurrent_kernel"
    assert records[name].distribution == "orthogonal_last_axis"
    k = model.layers[0].cell.recurrent_kernel.numpy().astype(np.float64)  # (3, 3, 2, 8): Keras' (18, 8) matrix
    m = k.reshape(-1, k.shape[-1])
    assert np.abs(m.T @ m - np.eye(8)).max() < 1e-5


def test_identity_and_orthogonal_with_a_gain(tmp_path):
    model = keras.Sequential([
        keras.Input((4,)),
        L.Dense(4, kernel_initializer=keras.initializers.Identity(gain=2.0), name="eye"),
        L.Dense(6, kernel_initializer=keras.initializers.Orthogonal(gain=0.5), name="orth"),
        L.Dense(3, kernel_initializer=ri.Orthogonal(gain=3.0, seed=1), name="ours"),
    ], name="g")
    path = tmp_path / "g.db"
    records = rk.initialize(model, seed=5, ledger=path)
    assert model.layers[0].kernel.numpy().tolist() == (2 * np.eye(4)).tolist()
    assert records["g/eye/kernel"].recipe is not None
    w = model.layers[1].kernel.numpy().astype(np.float64)  # (4, 6): orthonormal rows times 0.5
    assert np.abs(w @ w.T - 0.25 * np.eye(4)).max() < 1e-6
    assert (records["g/ours/kernel"].distribution, records["g/ours/kernel"].scale) == ("orthogonal", 3.0)
    initial = _weights(model)
    model.set_weights([x * 0 for x in initial])
    rk.restore(model, ledger=path)
    assert all(a.tobytes() == b.tobytes() for a, b in zip(initial, _weights(model)))


def test_reprovar_orthogonal_initializer_serializes_and_repeats():
    init = ri.Orthogonal(gain=2.0, seed=4)
    a, b = init((8, 3, 3, 4)), init((8, 3, 3, 4))
    assert np.asarray(a).tobytes() == np.asarray(b).tobytes()
    m = np.asarray(a, np.float64).reshape(-1, 4)  # Keras' layout: columns are the last axis
    assert np.abs(m.T @ m - 4 * np.eye(4)).max() < 1e-5
    again = ri.Orthogonal.from_config(init.get_config())
    assert (again.gain, again.seed) == (2.0, 4)
    assert keras.saving.get_registered_name(ri.Orthogonal) == "reprovar>Orthogonal"


def test_orthogonal_agrees_in_law_with_keras():
    n, count = 12, 300
    ours = np.stack([np.asarray(ri.Orthogonal(seed=s)((n, n)), np.float64) for s in range(count)])
    theirs = np.stack([np.asarray(keras.initializers.Orthogonal(seed=s)((n, n)), np.float64) for s in range(count)])
    for f in (lambda q: q[:, 0, 0], lambda q: q[:, 4, 9], lambda q: np.trace(q, axis1=1, axis2=2)):
        assert stats.ks_2samp(f(ours), f(theirs)).pvalue > 1e-3
    # Without the sign correction every q_00 would be <= 0: a perturbed sampler is told apart.
    assert stats.ks_2samp(-np.abs(ours[:, 0, 0]), theirs[:, 0, 0]).pvalue < 1e-6


def test_small_mobilenet_v3_initializes_and_restores(tmp_path):
    model = keras.applications.MobileNetV3Small(
        input_shape=(32, 32, 3), alpha=0.75, minimalistic=True, weights=None, include_top=True, classes=5,
        include_preprocessing=False,
    )
    path = tmp_path / "mn.db"
    records = rk.initialize(model, seed=1, ledger=path)
    depthwise = [r for n, r in records.items() if "depthwise" in n.lower()]
    assert depthwise and all(r is not None for r in depthwise)
    initial = _weights(model)
    model.set_weights([w + 1 for w in initial])
    rk.restore(model, ledger=path)
    assert all(a.tobytes() == b.tobytes() for a, b in zip(initial, _weights(model)))


@pytest.mark.parametrize("cell", [L.LSTM, L.GRU])
def test_recurrent_model_trained_a_few_steps_restores(cell, tmp_path):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((6, 3)), cell(8, name="rnn"), L.Dense(1, name="out")], name="seq")
    path = tmp_path / "t.db"
    rk.initialize(model, seed=21, ledger=path)
    initial = _weights(model)
    model.compile(optimizer="sgd", loss="mse")
    x = np.random.default_rng(0).standard_normal((16, 6, 3)).astype(np.float32)
    y = x.sum(axis=(1, 2))[:, None]
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    assert any(a.tobytes() != b.tobytes() for a, b in zip(initial, _weights(model)))
    rk.restore(model, ledger=path)
    assert all(a.tobytes() == b.tobytes() for a, b in zip(initial, _weights(model)))
