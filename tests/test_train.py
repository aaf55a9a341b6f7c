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


@pytest.mark.parametrize("keras_version", ["2", "3"])
def test_unfreeze_trains_the_frozen_layers_and_leaves_batch_norms_as_they_were(tmp_path,
                                                                                keras_version):
    """``TrainSpec(unfreeze=True)``: a nested backbone frozen but for its top trains whole,
    while its frozen batch norm keeps its statistics; through a distiller, only the student
    changes."""
    import numpy as np

    from tfcompress import flavor
    from tfcompress.distill import distiller_of
    from tfcompress.pipeline.artifacts import as_keras

    data = load(DataSpec("digits", train_limit=64, test_limit=16))

    def model():
        keras.utils.set_random_seed(0)
        L = keras.layers
        inp = keras.Input(data.input_shape)
        x = L.Conv2D(4, 3, name="low")(inp)
        x = L.BatchNormalization(name="bn")(x)
        x = L.Conv2D(4, 3, name="top")(x)
        backbone = keras.Model(inp, L.GlobalAveragePooling2D()(x), name="backbone")
        outer_in = keras.Input(data.input_shape)
        out = L.Dense(10, activation="softmax", name="head")(backbone(outer_in))
        m = as_keras(keras.Model(outer_in, out), keras_version)
        inner = m.get_layer("backbone")
        for layer in inner.layers:  # as a transfer recipe leaves it: unfrozen from "top"
            layer.trainable = layer.name == "top"
        return m

    def weights(m):
        inner = m.get_layer("backbone") if "backbone" in [x.name for x in m.layers] else m
        return {n: [np.array(w) for w in inner.get_layer(n).get_weights()]
                for n in ("low", "bn", "top")}

    for unfreeze, moved in ((False, {"top"}), (True, {"low", "top"})):
        m = model()
        before = weights(m)
        loop.fit(m, data, TrainSpec(epochs=1, batch_size=32, learning_rate=0.05,
                                    unfreeze=unfreeze), work_dir=tmp_path / str(unfreeze))
        after = weights(m)
        changed = {n for n in before
                   if any(not np.array_equal(a, b) for a, b in zip(before[n], after[n]))}
        assert changed == moved, unfreeze
        assert m.get_layer("backbone").get_layer("bn").trainable is False

    # the distiller's student flat, as structured pruning and resolution hand it over
    from tfcompress.structured.flatten import flatten

    student, teacher = flatten(model()), flatten(model())
    assert not student.get_layer("low").trainable
    kept = [np.array(w) for w in teacher.get_weights()]
    before = weights(student)
    distiller = distiller_of(student)(student, teacher, alpha=1.0, temperature=4.0)
    assert flavor.module(student) is flavor.module(teacher)
    loop.fit(distiller, data, TrainSpec(epochs=1, batch_size=32, learning_rate=0.05,
                                        unfreeze=True), work_dir=tmp_path / "kd")
    assert all(np.array_equal(a, np.array(b)) for a, b in zip(kept, teacher.get_weights()))
    after = weights(student)
    assert not np.array_equal(before["low"][0], after["low"][0])
    assert all(np.array_equal(a, b) for a, b in zip(before["bn"], after["bn"]))


def test_unfreeze_is_a_bool():
    from tfcompress.errors import InputError

    with pytest.raises(InputError, match="unfreeze must be true or false; received 'yes'"):
        TrainSpec(epochs=1, unfreeze="yes")
