"""The one place where TensorFlow and Keras are imported.

tensorflow-model-optimization works only with Keras 2 (the ``tf_keras`` package), while
TensorFlow >= 2.16 defaults to Keras 3. ``TF_USE_LEGACY_KERAS=1`` must be set *before*
TensorFlow is first imported so that ``tf.keras`` and tfmot agree on ``tf_keras``; every
other module gets ``tf``, ``keras`` and ``tfmot`` from here.
"""

from __future__ import annotations

import os
import sys

if "tensorflow" in sys.modules and os.environ.get("TF_USE_LEGACY_KERAS") != "1":
    # Too late to switch: tf.keras is already bound to Keras 3 and tfmot would fail obscurely.
    raise ImportError(
        "tensorflow was imported before tfcompress with TF_USE_LEGACY_KERAS unset; "
        "import tfcompress first or export TF_USE_LEGACY_KERAS=1"
    )
os.environ["TF_USE_LEGACY_KERAS"] = "1"
# C++ INFO/WARNING lines (CUDA probing, oneDNN notices) drown the progress bars on a CPU box.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402
import tensorflow_model_optimization as tfmot  # noqa: E402
import tf_keras as keras  # noqa: E402

# TensorFlow's Python INFO lines (SavedModel tracing during conversion) are noise to our users.
tf.get_logger().setLevel("ERROR")

__all__ = ["tf", "keras", "tfmot"]
