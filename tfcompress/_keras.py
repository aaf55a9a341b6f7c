"""The one place where TensorFlow and Keras are imported.

tensorflow-model-optimization works only with Keras 2 (the ``tf_keras`` package), while
TensorFlow >= 2.16 binds ``tf.keras`` to Keras 3. tfcompress and tfmot use ``tf_keras`` directly,
so ``import tensorflow`` may come first (a notebook's first line), even after ``tf.keras`` has
been touched: ``tf.keras`` then stays Keras 3 for the user's own code. ``TF_USE_LEGACY_KERAS=1``
is still set, so that a ``tf.keras`` not yet bound resolves to the same Keras as ours.
"""

from __future__ import annotations

import os

os.environ["TF_USE_LEGACY_KERAS"] = "1"
# C++ INFO/WARNING lines (CUDA probing, oneDNN notices) drown the progress bars on a CPU box.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402
import tensorflow_model_optimization as tfmot  # noqa: E402
import tf_keras as keras  # noqa: E402

# TensorFlow's Python INFO lines (SavedModel tracing during conversion) are noise to our users.
tf.get_logger().setLevel("ERROR")

__all__ = ["tf", "keras", "tfmot"]
