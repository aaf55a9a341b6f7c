import pytest

from tfcompress._keras import keras
from tfcompress.data import load
from tfcompress.models import MODELS
from tfcompress.recipe import DataSpec, TrainSpec
from tfcompress.train import loop


def stop_at_epoch(kmod, epoch=None):
    """A callback of ``kmod``'s Keras that interrupts (Ctrl-C) as epoch ``epoch`` begins and
    records the epochs it saw begin."""

    class StopAtEpoch(kmod.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.begun = []

        def on_epoch_begin(self, e, logs=None):
            if e == epoch:
                raise KeyboardInterrupt
            self.begun.append(e)

    return StopAtEpoch()


@pytest.mark.parametrize("keras_version", ["2", "3"])
def test_interrupted_training_resumes_from_the_last_finished_epoch(tmp_path, keras_version,
                                                                   capsys):
    """The epoch backup (model and optimizer state) of either Keras: a run killed after an
    epoch continues from it and ends exactly as an uninterrupted one."""
    from tfcompress import flavor
    from tfcompress.pipeline.artifacts import as_keras

    data = load(DataSpec("digits", train_limit=100, test_limit=20))

    def model():
        keras.utils.set_random_seed(0)
        return as_keras(MODELS.get("digits_cnn")(data.input_shape, 10, filters=[2, 2],
                                                 dense_units=8), keras_version)

    kmod = flavor.module(model())
    assert (kmod is keras) == (keras_version == "2")
    spec = TrainSpec(epochs=3, batch_size=50)
    with pytest.raises(KeyboardInterrupt):
        loop.fit(model(), data, spec, work_dir=tmp_path, callbacks=[stop_at_epoch(kmod, 2)])
    assert (tmp_path / "backup" / "state.json").is_file()
    seen = stop_at_epoch(kmod)
    capsys.readouterr()
    history = loop.fit(model(), data, spec, work_dir=tmp_path, callbacks=[seen])
    assert seen.begun == [2]  # only the third epoch was left to run
    shown = capsys.readouterr().out
    assert "Epoch 3/3" in shown and "Epoch 1/3" not in shown and "Epoch 1/1" not in shown
    assert len(history["loss"]) == 3  # the history restored with the weights
    assert not (tmp_path / "backup").exists()
    assert list((tmp_path / "logs").rglob("events.out.tfevents*"))
    straight = loop.fit(model(), data, spec, work_dir=tmp_path / "straight")
    assert straight == history  # the same epochs, to the last digit
    lines = capsys.readouterr().out.splitlines()
    # the real total from the first epoch on (each epoch is its own fit), 2 steps of 50
    assert [l for l in lines if l.startswith("Epoch")] == ["Epoch 1/3", "Epoch 2/3", "Epoch 3/3"]
    assert sum(l.startswith("  2/2 steps - ") and "val_loss: " in l for l in lines) == 3


@pytest.mark.parametrize("interactive", [False, True])
def test_progress_in_a_log_and_on_a_terminal(interactive):
    """In a log: a line per epoch and one every ``every`` seconds of a long epoch; on a
    terminal: Keras' bar, finished with the validation metrics."""
    import io

    from tfcompress.train import progress

    class Out(io.StringIO):
        def isatty(self):
            return interactive

    data = load(DataSpec("digits", train_limit=100, test_limit=20))
    keras.utils.set_random_seed(0)
    model = MODELS.get("digits_cnn")(data.input_shape, 10, filters=[2, 2], dense_units=8)
    loop.compile_model(model, TrainSpec(epochs=1))
    out = Out()
    shown = progress.callback(keras, 4, 9, 4, "finetune", every=0.0, out=out)
    import sys
    stdout, sys.stdout = sys.stdout, out  # Keras' bar writes to sys.stdout
    try:
        model.fit(data.x_train, data.y_train, batch_size=25, epochs=1, verbose=0,
                  validation_data=(data.x_val, data.y_val), callbacks=[shown])
    finally:
        sys.stdout = stdout
    text = out.getvalue()
    assert text.startswith("finetune Epoch 5/9\n")
    if interactive:
        assert "4/4" in text and "val_accuracy" in text and "steps -" not in text
    else:
        lines = text.splitlines()[1:]
        assert [l.split(" steps")[0].strip() for l in lines] == ["1/4", "2/4", "3/4", "4/4"]
        assert "left in this epoch" in lines[0] and "val_accuracy" in lines[-1]


def test_the_loss_reads_probabilities_or_logits_through_every_wrapper():
    """A model ending in a softmax trains on probabilities also when it is wrapped for
    pruning (tfmot or Keras 3) or QAT; one ending in a plain Dense trains on logits."""
    import keras as keras3

    from tfcompress import sparsity
    from tfcompress._keras import keras as tf_keras
    from tfcompress._keras import tfmot
    from tfcompress.train.loop import ends_in_softmax

    k2 = tf_keras.Sequential([tf_keras.Input((4,)), tf_keras.layers.Dense(3, activation="softmax")])
    k3 = keras3.Sequential([keras3.Input((4,)), keras3.layers.Dense(3, activation="softmax")])
    logits = keras3.Sequential([keras3.Input((4,)), keras3.layers.Dense(3)])
    assert ends_in_softmax(tfmot.sparsity.keras.prune_low_magnitude(k2))
    assert ends_in_softmax(tfmot.quantization.keras.quantize_model(k2))
    assert ends_in_softmax(sparsity.prune_low_magnitude(k3, sparsity.ConstantSparsity(0.5)))
    assert not ends_in_softmax(sparsity.prune_low_magnitude(logits,
                                                            sparsity.ConstantSparsity(0.5)))
