"""keras-tuner's stock tuners (``RandomSearch``, ``BayesianOptimization``, ``Hyperband``)
with tf_keras models.

keras-tuner 1.4.8 imports Keras 3, and its stock ``Tuner`` fails on a tf_keras model in three
places: ``_try_build`` refuses any model that is not a Keras 3 ``Model`` (``FatalTypeError``);
the callbacks it adds to ``fit`` (``TunerCallback``, ``SaveBestEpoch``) are Keras 3 callbacks
that tf_keras cannot call (``'TunerCallback' object has no attribute
'_implements_train_batch_hooks'``; keras-tuner records the trial as failed and carries on);
and it refuses the tf_keras ``History`` that ``fit`` returns. ``for_tf_keras(kt.RandomSearch)``
is the stock tuner with those three places adapted; nothing else changes (its oracle,
checkpoints, ``get_best_models``).

Use it when a sweep is plain Keras training (e.g. tuning a model's width). A compression
sweep (prune, convert, benchmark) is a recipe's ``sweep`` (``tfcompress.sweep.tuner``).
"""

from __future__ import annotations

from typing import Any

from tfcompress._keras import keras  # noqa: I001 -- before keras-tuner imports TensorFlow
from keras_tuner.src import errors as kt_errors


class _Keras3Callback(keras.callbacks.Callback):
    """A Keras 3 callback called by tf_keras' ``fit``."""

    def __init__(self, inner: Any):
        super().__init__()
        self.inner = inner

    def set_model(self, model: Any) -> None:
        super().set_model(model)
        self.inner.set_model(model)

    def set_params(self, params: dict) -> None:
        super().set_params(params)
        self.inner.set_params(params)

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.inner.on_train_begin(logs)

    def on_train_end(self, logs: dict | None = None) -> None:
        self.inner.on_train_end(logs)

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.inner.on_epoch_begin(epoch, logs)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.inner.on_epoch_end(epoch, logs)

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        self.inner.on_train_batch_begin(batch, logs)

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self.inner.on_train_batch_end(batch, logs)


class TfKerasTuner:
    """Mixin that lets a stock keras-tuner ``Tuner`` build and fit tf_keras models."""

    def _try_build(self, hp: Any) -> Any:
        keras.backend.clear_session()
        model = self._build_hypermodel(hp)
        if not isinstance(model, keras.Model):
            raise kt_errors.FatalTypeError(
                f"the hypermodel must return a tf_keras Model; received {type(model)}")
        return model

    def _build_and_fit_model(self, trial: Any, *args: Any, **kwargs: Any) -> Any:
        """keras-tuner's own, with tf_keras callbacks in and a Keras 3 History out."""
        from keras_tuner.src.backend import keras as keras3

        kwargs["callbacks"] = [c if isinstance(c, keras.callbacks.Callback)
                               else _Keras3Callback(c) for c in kwargs.get("callbacks", [])]
        hp = trial.hyperparameters
        model = self._try_build(hp)
        results = self.hypermodel.fit(hp, model, *args, **kwargs)
        if isinstance(results, keras.callbacks.History):
            history = keras3.callbacks.History()
            history.history, history.epoch = results.history, results.epoch
            results = history
        return results


def for_tf_keras(tuner_class: type) -> type:
    """``tuner_class`` (e.g. ``keras_tuner.Hyperband``) adapted to tf_keras models."""
    return type(f"TfKeras{tuner_class.__name__}", (TfKerasTuner, tuner_class), {})
