"""tfmot's "Pruning comprehensive guide", section by section, for a Keras 3 model with
tfcompress.sparsity (TensorFlow backend: its custom loop uses tf.GradientTape).

The guide's code with Keras 3 spellings (``keras.Input`` instead of ``input_shape=``, ``.keras``
and ``.weights.h5`` files) and one change: the guide trains on
one random example (its pruning never reaches the default schedule's first update, at step
100), this on ``N`` (default 1,600: 50 batches of 32, so 2 epochs reach step 100).
docs/usage.md shows it; tests/test_sparsity.py runs it and checks what it prints (JSON, last
line).

    python tests/examples/keras3_comprehensive_guide.py [N] [OUT_DIR]
"""
import gzip
import json
import os
import sys
import tempfile

import keras
import numpy as np
import tensorflow as tf

from tfcompress import sparsity

n = int(sys.argv[1]) if len(sys.argv) > 1 else 1600
out = sys.argv[2] if len(sys.argv) > 2 else tempfile.mkdtemp()
figures = {}

keras.utils.set_random_seed(0)
input_shape = [20]
x_train = np.random.randn(n, 20).astype(np.float32)
y_train = keras.utils.to_categorical(np.random.randint(0, 20, n), num_classes=20)


def setup_model():
    return keras.Sequential([keras.Input(input_shape), keras.layers.Dense(20),
                             keras.layers.Flatten()])


def setup_pretrained_weights():
    model = setup_model()
    model.compile(loss=keras.losses.categorical_crossentropy, optimizer="adam",
                  metrics=["accuracy"])
    model.fit(x_train, y_train, verbose=0)
    pretrained_weights = os.path.join(out, "pretrained.weights.h5")
    model.save_weights(pretrained_weights)
    return pretrained_weights


def get_gzipped_model_size(model):
    """Size of the gzipped model weights, in bytes."""
    path = os.path.join(out, "size.weights.h5")
    model.save_weights(path)
    with open(path, "rb") as f:
        return len(gzip.compress(f.read()))


pretrained_weights = setup_pretrained_weights()

# Prune the whole model.
base_model = setup_model()
base_model.load_weights(pretrained_weights)  # optional but recommended
model_for_pruning = sparsity.prune_low_magnitude(base_model)
figures["whole_model"] = [w.layer.name for w in sparsity.wrappers(model_for_pruning)]


# Prune some layers: keras.models.clone_model with a clone function.
def apply_pruning_to_dense(layer):
    if isinstance(layer, keras.layers.Dense):
        return sparsity.prune_low_magnitude(layer)
    return layer


base_model = setup_model()
base_model.load_weights(pretrained_weights)
model_for_pruning = keras.models.clone_model(base_model, clone_function=apply_pruning_to_dense)
figures["clone_model"] = [type(layer).__name__ for layer in model_for_pruning.layers]

# Readability: wrap layers where the model is defined (functional and Sequential).
i = keras.Input(shape=(20,))
x = sparsity.prune_low_magnitude(keras.layers.Dense(10))(i)
o = keras.layers.Flatten()(x)
model_for_pruning = keras.Model(inputs=i, outputs=o)
model_for_pruning = keras.Sequential([
    keras.Input(input_shape),
    sparsity.prune_low_magnitude(keras.layers.Dense(20)),
    keras.layers.Flatten(),
])


# A custom layer: its kernel and its bias are pruned, each to the target.
class MyDenseLayer(keras.layers.Dense, sparsity.PrunableLayer):

    def get_prunable_weights(self):
        # Prune bias also, though that usually harms model accuracy too much.
        return [self.kernel, self.bias]


model_for_pruning = keras.Sequential([
    keras.Input(input_shape),
    sparsity.prune_low_magnitude(MyDenseLayer(20)),
    keras.layers.Flatten(),
])
model_for_pruning.compile(loss=keras.losses.categorical_crossentropy, optimizer="adam")
model_for_pruning.fit(x_train, y_train, epochs=2, batch_size=32, verbose=0,
                      callbacks=[sparsity.UpdatePruningStep()])
figures["custom_layer"] = sparsity.layer_sparsity(model_for_pruning)

# Train with model.fit, sparsity logged to TensorBoard.
base_model = setup_model()
base_model.load_weights(pretrained_weights)
model_for_pruning = sparsity.prune_low_magnitude(base_model)
log_dir = os.path.join(out, "logs_fit")
callbacks = [
    sparsity.UpdatePruningStep(),
    sparsity.PruningSummaries(log_dir=log_dir),  # sparsity per layer in TensorBoard
]
model_for_pruning.compile(loss=keras.losses.categorical_crossentropy, optimizer="adam",
                          metrics=["accuracy"])
model_for_pruning.fit(x_train, y_train, callbacks=callbacks, epochs=2, batch_size=32,
                      verbose=0)
figures["fit"] = sparsity.layer_sparsity(model_for_pruning)
figures["fit_logs"] = sorted(os.listdir(log_dir))

# A custom training loop, the callbacks called as the guide calls them.
base_model = setup_model()
base_model.load_weights(pretrained_weights)
model_for_pruning = sparsity.prune_low_magnitude(base_model)
loss = keras.losses.categorical_crossentropy
optimizer = keras.optimizers.Adam()
log_dir = os.path.join(out, "logs_loop")
unused_arg = -1
epochs = 2
dataset = tf.data.Dataset.from_tensor_slices((x_train, y_train)).batch(32)

step_callback = sparsity.UpdatePruningStep()
step_callback.set_model(model_for_pruning)
log_callback = sparsity.PruningSummaries(log_dir=log_dir)
log_callback.set_model(model_for_pruning)

step_callback.on_train_begin()
for _ in range(epochs):
    log_callback.on_epoch_begin(epoch=unused_arg)
    for x_batch, y_batch in dataset:
        step_callback.on_train_batch_begin(batch=unused_arg)
        with tf.GradientTape() as tape:
            logits = model_for_pruning(x_batch, training=True)
            loss_value = keras.ops.mean(loss(y_batch, logits))
        grads = tape.gradient(loss_value, model_for_pruning.trainable_variables)
        optimizer.apply_gradients(zip(grads, model_for_pruning.trainable_variables))
    step_callback.on_epoch_end(batch=unused_arg)
figures["custom_loop"] = sparsity.layer_sparsity(model_for_pruning)
figures["custom_loop_logs"] = sorted(os.listdir(log_dir))

# Checkpoint and deserialize: the whole model (with the optimizer), then weights only, and
# training resumes where it stopped.
keras_model_file = os.path.join(out, "pruning.keras")
model_for_pruning.compile(loss=keras.losses.categorical_crossentropy, optimizer=optimizer)
model_for_pruning.save(keras_model_file)
with sparsity.prune_scope():  # not needed in Keras 3; tfmot's code runs as written
    loaded_model = keras.models.load_model(keras_model_file)
figures["loaded"] = sparsity.layer_sparsity(loaded_model)
weights_file = os.path.join(out, "pruning.weights.h5")
model_for_pruning.save_weights(weights_file)
resumed = sparsity.prune_low_magnitude(setup_model())
resumed.load_weights(weights_file)
figures["resumed_step"] = int(keras.ops.convert_to_numpy(
    sparsity.wrappers(resumed)[0].pruning_step))

# Export: strip the wrappers; the gzipped weights and the LiteRT file.
model_for_export = sparsity.strip_pruning(model_for_pruning)
figures["gzip_bytes_unstripped"] = get_gzipped_model_size(model_for_pruning)
figures["gzip_bytes_stripped"] = get_gzipped_model_size(model_for_export)
figures["gzip_bytes_dense"] = get_gzipped_model_size(base_model)
tflite_model = tf.lite.TFLiteConverter.from_keras_model(model_for_export).convert()
with open(os.path.join(out, "pruned.tflite"), "wb") as f:
    f.write(tflite_model)
figures["tflite_gzip_bytes"] = len(gzip.compress(tflite_model))
figures["stripped"] = sparsity.layer_sparsity(model_for_export)

# Block sparsity: 1x16 blocks fit a 128-bit register of 8-bit weights.
base_model = setup_model()
pruning_params = {"block_size": [1, 16]}
model_for_pruning = sparsity.prune_low_magnitude(base_model, **pruning_params)
model_for_pruning.compile(loss=keras.losses.categorical_crossentropy, optimizer="adam")
model_for_pruning.fit(x_train, y_train, epochs=2, batch_size=32, verbose=0,
                      callbacks=[sparsity.UpdatePruningStep()])
kernel = np.asarray(sparsity.strip_pruning(model_for_pruning).layers[0].kernel)
figures["block_1x16_nonzeros"] = sorted({int(np.count_nonzero(kernel[r, c:c + 16]))
                                         for r in range(20) for c in (0, 16)})
figures["block_1x16"] = sparsity.layer_sparsity(model_for_pruning)

print(json.dumps(figures))
