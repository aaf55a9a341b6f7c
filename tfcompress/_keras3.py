"""The one place Keras 3 (the ``keras`` package) is imported; ``_keras.py`` is the one for
TensorFlow, tf_keras and tfmot. This module imports no TensorFlow, so ``tfcompress.sparsity``
runs on any Keras 3 backend (``KERAS_BACKEND=jax`` too). Which Keras a given model belongs to
is decided in ``flavor.py``."""

import keras
from keras import ops
from keras.src.backend.common.masking import get_keras_mask  # not public: a tensor's padding mask
from keras.src.layers.layer import CallSpec  # not public: a call's arguments, as Keras binds them
from keras.src.models.functional import Functional  # not public; Sequential is one too

__all__ = ["CallSpec", "Functional", "get_keras_mask", "keras", "ops"]
