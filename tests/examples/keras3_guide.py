"""tfmot's "Pruning in Keras" guide, for a Keras 3 model with tfcompress.sparsity.

The README shows this code; tests/test_sparsity.py runs it on the TensorFlow and the JAX
backend (KERAS_BACKEND=jax) and checks the figures it prints. MNIST comes from
$TFCOMPRESS_DATA_DIR/mnist.npz (the layout keras.datasets.mnist downloads).
"""
import gzip
import json
import os
import sys

import keras
import numpy as np

from tfcompress import sparsity

with np.load(os.path.join(os.environ.get("TFCOMPRESS_DATA_DIR", "data"), "mnist.npz")) as f:
    x_train, y_train = f["x_train"] / 255.0, f["y_train"]
    x_test, y_test = f["x_test"] / 255.0, f["y_test"]
n = int(sys.argv[1]) if len(sys.argv) > 1 else len(x_train)  # the test uses fewer images
out = sys.argv[2] if len(sys.argv) > 2 else "."
x_train, y_train = x_train[:n], y_train[:n]

# 1. A model trained as usual (the guide: 4 epochs).
model = keras.Sequential([
    keras.Input((28, 28)),
    keras.layers.Reshape((28, 28, 1)),
    keras.layers.Conv2D(12, 3, activation="relu"),
    keras.layers.MaxPooling2D(),
    keras.layers.Flatten(),
    keras.layers.Dense(10),
])
loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
model.compile("adam", loss, metrics=["accuracy"])
model.fit(x_train, y_train, epochs=4, validation_split=0.1, verbose=0)
_, baseline_accuracy = model.evaluate(x_test, y_test, verbose=0)

# 2. Fine-tune with pruning: 50% -> 80% sparsity over 2 epochs.
batch_size, epochs = 128, 2
end_step = int(np.ceil(len(x_train) * 0.9 / batch_size)) * epochs
schedule = sparsity.PolynomialDecay(initial_sparsity=0.50, final_sparsity=0.80,
                                    begin_step=0, end_step=end_step)
pruned = sparsity.prune_low_magnitude(model, schedule)
pruned.compile("adam", loss, metrics=["accuracy"])
pruned.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, validation_split=0.1,
           callbacks=[sparsity.UpdatePruningStep()], verbose=0)
_, pruned_accuracy = pruned.evaluate(x_test, y_test, verbose=0)

# 3. Strip the wrappers: a plain Keras 3 model whose kernels hold the zeros.
final = sparsity.strip_pruning(pruned)
final.save(os.path.join(out, "pruned.keras"))  # keras.saving.load_model opens it as it is


def gzipped_weights(m: keras.Model) -> int:
    """The model's weights as raw bytes, gzipped: what sparsity saves in a download."""
    return len(gzip.compress(b"".join(np.asarray(w).tobytes() for w in m.get_weights())))


print(json.dumps({
    "backend": keras.backend.backend(),
    "baseline_accuracy": baseline_accuracy,
    "pruned_accuracy": pruned_accuracy,
    "sparsity": sparsity.layer_sparsity(final),
    "gzip_bytes_baseline": gzipped_weights(model),
    "gzip_bytes_pruned": gzipped_weights(final),
}))
