"""The README's notebook example, run as a user would (tests/test_api.py runs it)."""
import sys

import tensorflow as tf  # noqa: F401 (a notebook's first line: before tfcompress, and that is fine)
import tf_keras as keras
from sklearn.datasets import load_digits

import tfcompress

digits = load_digits()
x, y = digits.images[..., None] / 16.0, digits.target  # 8x8x1 pixels in 0..1, labels 0..9
x_train, y_train, x_test, y_test = x[:1400], y[:1400], x[1400:], y[1400:]

model = keras.Sequential([
    keras.Input((8, 8, 1)),
    keras.layers.Conv2D(16, 3, activation="relu"),
    keras.layers.Flatten(),
    keras.layers.Dense(32, activation="relu"),
    keras.layers.Dense(10, activation="softmax"),
])
model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x_train, y_train, epochs=3, verbose=0)

result = tfcompress.compress(model, (x_train, y_train), test=(x_test, y_test), sparsity=0.8,
                             exports=["int8"], epochs=2,
                             output_dir=sys.argv[1] if len(sys.argv) > 1 else "saved_models")
pruned = result.models["pruned80_int8"]          # the pruned Keras model
for r in result.rows:                            # each file's accuracy and gzipped size
    print(f"{r.variant:15s} {r.tflite_accuracy:.2%} {r.tflite_gzip_bytes / 1024:.1f} KiB")
print("ship:", result.ship, result.ship_file)    # the file the report says to ship
print(result.report)
