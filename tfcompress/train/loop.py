"""The fit loop shared by baseline training and fine-tuning.

Every run logs to TensorBoard and backs up after each epoch, so an interrupted training step
continues from its last finished epoch when the run is repeated, and ends exactly where an
uninterrupted one would: each epoch starts from a random state that depends only on the seed
and the epoch (``set_random_seed``), draws its own data order, and runs in its own ``fit``
call, so nothing random carries over from one epoch to the next except what the backup holds
(weights, optimizer state, the history so far).
"""

from __future__ import annotations

import json
import logging
import math
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tfcompress import atomic, flavor
from tfcompress._keras import keras, tf
from tfcompress.data.augment import training_data
from tfcompress.train import OPTIMIZERS, freeze, progress

if TYPE_CHECKING:
    from tfcompress.data import Dataset
    from tfcompress.recipe import TrainSpec

LOSS = "sparse_categorical_crossentropy"
STATE = "state.json"

log = logging.getLogger("tfcompress")


def steps_per_epoch(num_examples: int, batch_size: int) -> int:
    return math.ceil(num_examples / batch_size)


def total_steps(data: Dataset, spec: TrainSpec) -> int:
    """The optimizer steps ``fit`` makes on ``data`` with ``spec``: what pruning schedules span."""
    return spec.epochs * steps_per_epoch(len(data.y_train), spec.batch_size)


def ends_in_softmax(model: Any) -> bool:
    """True when the model outputs probabilities (a softmax last, nested models too); a model
    that does not is taken to output logits (as Keras 3 tutorials build them)."""
    last = model.layers[-1] if getattr(model, "layers", None) else None
    while last is not None and (getattr(last, "layers", None) or hasattr(last, "layer")):
        # into nested models, and through pruning / QAT / clustering wrappers
        last = last.layers[-1] if getattr(last, "layers", None) else last.layer
    if last is None:
        return True  # a subclassed model: as before
    if type(last).__name__ == "Softmax":
        return True
    activation = getattr(last, "activation", None)
    activation = getattr(activation, "activation", activation)  # QAT's QuantizeAwareActivation
    return getattr(activation, "__name__", "") == "softmax"


def loss_for(model: Any) -> Any:
    """Sparse cross-entropy on probabilities, or on logits for a model that outputs them. A
    model that trains another (a distiller) says which it takes (``outputs_probabilities``,
    ``outputs_logits``)."""
    if not getattr(model, "outputs_logits", False) and (
            getattr(model, "outputs_probabilities", False) or ends_in_softmax(model)):
        return LOSS

    return flavor.module(model).losses.SparseCategoricalCrossentropy(from_logits=True)


def compile_model(model: keras.Model, spec: TrainSpec, steps: int = 1) -> keras.Model:
    """Compiles with the spec's optimizer (of the model's Keras); ``steps`` per epoch drive
    learning-rate schedules."""
    model.compile(optimizer=OPTIMIZERS.get(spec.optimizer)(spec, steps, flavor.module(model)),
                  loss=loss_for(model), metrics=["accuracy"])
    return model


def epoch_seed(seed: int, epoch: int) -> int:
    """The seed of one epoch's random state (data order, augmentation, dropout)."""
    return (seed * 1_000_003 + 7919 * (epoch + 1)) % (2**31 - 1)


class EpochBackup:
    """The state after the last finished epoch, in ``folder``: a TensorFlow checkpoint of the
    model (its optimizer included) and ``state.json`` naming it with the epoch and history.
    ``state.json`` is replaced only once its checkpoint is complete, so a kill at any moment
    leaves the previous epoch's backup usable."""

    def __init__(self, folder: Path, model: keras.Model):
        self.folder = folder
        self.checkpoint = tf.train.Checkpoint(model=model)

    def restore(self) -> tuple[int, dict[str, list[float]]]:
        """The epoch to continue from and the history so far ((0, {}) without a backup)."""
        state = self.folder / STATE
        if not state.is_file():
            return 0, {}
        saved = json.loads(state.read_text())
        model = self.checkpoint.model
        model.optimizer.build(model.trainable_variables)  # its slots, to restore into
        self.checkpoint.read(str(self.folder / saved["checkpoint"])).assert_consumed()
        return saved["epoch"], saved["history"]

    def save(self, epoch: int, history: dict[str, list[float]]) -> None:
        name = f"epoch-{epoch}"
        self.checkpoint.write(str(self.folder / name))
        atomic.write_json(self.folder / STATE, {"epoch": epoch, "checkpoint": name,
                                                "history": history})
        for old in self.folder.glob("epoch-*"):
            if not old.name.startswith(f"{name}."):
                old.unlink(missing_ok=True)

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def fit(model: keras.Model, data: Dataset, spec: TrainSpec, *, work_dir: Path,
        phase: str | None = None, callbacks: Sequence[keras.callbacks.Callback] = (),
        tensorboard: keras.callbacks.TensorBoard | None = None,
        seed: int = 0) -> dict[str, list[float]]:
    """Compiles and trains ``model`` on ``data.train``, validating on ``data.val``.

    Args:
      work_dir: TensorBoard logs go to ``work_dir/logs``; the epoch backup to
        ``work_dir/backup`` (removed when training completes).
      phase: one of several trainings in the same step (e.g. ``head`` then ``finetune``):
        logs and backup go to a sub-folder of that name.
      callbacks: extra callbacks (e.g. tfmot's ``UpdatePruningStep``), run after the backup
        has been restored.
      tensorboard: a TensorBoard callback to use instead of the default one (e.g. tfmot's
        ``PruningSummaries``, which also logs sparsity).
      seed: with the epoch, decides each epoch's data order and random state.

    Returns:
      The Keras history (loss, accuracy, val_loss, val_accuracy per epoch).
    """
    kmod = flavor.module(model)  # tf_keras, or Keras 3 for a model on the Keras 3 path
    steps = steps_per_epoch(len(data.y_train), spec.batch_size)
    if spec.unfreeze:
        freeze.unfreeze_all(model)
    compile_model(model, spec, steps)
    sub = phase or ""
    backup = EpochBackup(work_dir / "backup" / sub, model)
    start, history = backup.restore()
    if start:
        log.info("resuming %s from its backup after epoch %d of %d",
                 phase or "training", start, spec.epochs)
    all_callbacks = [
        tensorboard or kmod.callbacks.TensorBoard(str(work_dir / "logs" / sub),
                                                  profile_batch=0, write_graph=False),
        *callbacks,
    ]
    for epoch in range(start, spec.epochs):
        kmod.utils.set_random_seed(epoch_seed(seed, epoch))
        shown = progress.callback(kmod, epoch, spec.epochs, steps, phase or "")
        done = model.fit(
            **_epoch_inputs(data, spec.batch_size, epoch_seed(seed, epoch)),
            validation_data=(data.x_val, data.y_val), validation_batch_size=256,
            initial_epoch=epoch, epochs=epoch + 1, callbacks=[*all_callbacks, shown],
            verbose=0,  # progress: Keras would number each one-epoch fit "Epoch 2/2"
        )
        for k, values in done.history.items():
            history.setdefault(k, []).extend(float(v) for v in values)
        if model.stop_training:
            break
        backup.save(epoch + 1, history)
    backup.remove()
    return history


def _epoch_inputs(data: Dataset, batch_size: int, seed: int) -> dict[str, Any]:
    """One epoch of training examples in an order drawn from ``seed``."""
    if data.augment != "none":
        return {"x": training_data(data, batch_size, seed=seed)}
    order = np.random.default_rng(seed).permutation(len(data.y_train))
    return {"x": data.x_train[order], "y": data.y_train[order], "batch_size": batch_size,
            "shuffle": False}


def accuracy(model: keras.Model, x: np.ndarray, y: np.ndarray, batch_size: int = 256) -> float:
    """Top-1 accuracy of a Keras model (its outputs are class scores)."""
    preds = model.predict(x, batch_size=batch_size, verbose=0)
    return float(np.mean(np.argmax(preds, axis=-1) == y))
