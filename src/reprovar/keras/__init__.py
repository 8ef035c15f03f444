"""Keras 3 through reprovar: initializers, and whole models initialized, recorded and restored.
Imports Keras (``pip install 'reprovar[keras]'``); works on any Keras backend.

* :mod:`reprovar.keras.initializers`: ``RandomNormal``, ``RandomUniform``, ``TruncatedNormal``,
  ``VarianceScaling``, ``GlorotNormal``, ``GlorotUniform``, ``HeNormal``, ``HeUniform``,
  ``LecunNormal``, ``LecunUniform``, ``Orthogonal``, with Keras' arguments and formulas, serializable;
* :func:`initialize`: every weight of a built model (re)initialized as its layer's
  initializer says, recorded under its ``variable.path`` with a per-path seed, in one
  transaction; :func:`restore`: the initial state back from the ledger.

Name your models and layers: paths such as ``mlp/hidden/kernel`` are the ledger names, and
Keras' automatic names (``sequential_1``, ``dense_3``) depend on how many were made before.

Example:
    >>> import keras, tempfile, os
    >>> import reprovar.keras as rk
    >>> path = os.path.join(tempfile.mkdtemp(), "keras.db")
    >>> model = keras.Sequential([
    ...     keras.Input((8,)),
    ...     keras.layers.Dense(4, kernel_initializer=rk.initializers.HeNormal(), name="hidden"),
    ...     keras.layers.Dense(1, name="out"),
    ... ], name="mlp")
    >>> sorted(rk.initialize(model, seed=2024, ledger=path))
    ['mlp/hidden/kernel', 'mlp/out/kernel']
"""

from . import initializers
from .model import initialize, restore

__all__ = ["initialize", "initializers", "restore"]
